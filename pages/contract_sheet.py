"""Эффективный контракт — расчёт сотрудника: one person's score for a month (a head of an organisation: a
quarter) — each part of the period if the position changed, each criterion's value with the rule, the band met,
the points and a link to the data behind the value; the totals; the history of disagreement marks and, for the
HR departments, the form to mark or resolve a disagreement; the sheet as a one-page PDF and as XLSX.

URL: ``/contract/sheet?mo=<organisation>&person=<personnel number>&period=<YYYY-MM or YYYY-Qn>``.
"""
from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from components import contract as CC
from components import contract_sheet as CS
from components.guard import refused, scoped
from components.period import ids, page_state
from components.tablespec import TableParamError, TableSpec, datatable
from core import fmt
from data_access import units as U
from data_access.scope import ScopeError
from security import current_user
from services import contract as C

dash.register_page(__name__, path="/contract/sheet", name="Эффективный контракт: расчёт",
                   title="Расчёт по эффективному контракту — ИАМ")

PAGE = "contract-sheet"
STATE, PERIOD = ids(PAGE)["state"], ids(PAGE)["value"]
KEY, MSG, MARKS, STATUS = "sheet-key", "sheet-mark-msg", "sheet-marks", "sheet-status"
COMMENT, CRITERION, DISAGREE, RESOLVE = "sheet-comment", "sheet-criterion", "sheet-disagree", "sheet-resolve"


def layout(mo=None, person=None, period=None, **_):
    return _layout({"mo": mo, "person": person, "period": period})


def export_url(fmt_: str, key: dict) -> str:
    return f"/export/contract/sheet.{fmt_}?" + urlencode(key)


@scoped
def _layout(params: dict):
    a, refused = CC.admitted("any")
    if refused:
        return refused
    back = "/contract" if a.staff else "/contract/heads"
    try:
        sh, view, p = CS.sheet_of(params)
        if not params.get("period") and sh.person.get("is_head"):  # a head is scored by the quarter
            params = {**params, "period": CC.latest_quarter()}
            sh, view, p = CS.sheet_of(params)
    except (TableParamError, U.UnitError) as exc:
        return html.Div([CC.tabs(a, ""), CC.problem(str(exc), back, "Вернуться к списку")])
    person = sh.person
    key = {"mo": int(person["mo_id"]), "person": str(person["personnel_no"]), "period": p.key}
    is_head = bool(person.get("is_head"))
    list_url = ("/contract/heads?" + urlencode({"period": p.key}) if is_head
                else "/contract?" + urlencode({"mo": key["mo"], "period": p.key}))
    right = dbc.Row([
        dbc.Col(dcc.Dropdown(id=PERIOD, options=CC.period_options("quarter" if is_head else "month"), value=p.key,
                             clearable=False, searchable=False, style={"minWidth": "180px"}), width="auto"),
        dbc.Col([html.A([html.I(className="bi bi-file-earmark-pdf me-1"), "PDF"], href=export_url("pdf", key),
                        className="btn btn-sm btn-outline-secondary me-2", id="sheet-pdf"),
                 html.A([html.I(className="bi bi-file-earmark-excel me-1"), "XLSX"], href=export_url("xlsx", key),
                        className="btn btn-sm btn-outline-secondary", id="sheet-xlsx")], width="auto"),
    ], className="g-2 align-items-center justify-content-lg-end")
    figures = dbc.Row([
        CC.figure("Баллы", f"{fmt.number(sh.points, 2)} из {fmt.number(sh.max_points, 2)}", "sheet-points",
                  "взвешены по дням в должностях" if len(sh.parts) > 1 else None),
        CC.figure("Доля премии", fmt.percent(CC.share_pct(sh.share)), "sheet-share", None, "success"),
        CC.figure("Дней в периоде", f"{fmt.number(person.get('days'))} из {fmt.number(person.get('period_days'))}",
                  "sheet-days", None, "secondary"),
        dbc.Col(dbc.Card(dbc.CardBody([html.Div("Отметка", className="small text-muted text-uppercase fw-semibold"),
                                       html.Div(_status(person), id=STATUS)]), className="h-100 shadow-sm"),
                xs=6, md=3, className="mb-3"),
    ])
    parts = [_part(i, title, subtitle, rows, p.key) for i, (title, subtitle, rows) in enumerate(view.parts)]
    return html.Div([
        page_state(PAGE, "/contract/sheet", key),
        dcc.Store(id=KEY, data=key),
        CC.tabs(a, "heads" if is_head else "staff"),
        dbc.Breadcrumb(items=[{"label": "Руководители организаций" if is_head else "Сотрудники", "href": list_url},
                              {"label": person["mo_name"], "href": list_url},
                              {"label": person["full_name"], "active": True}], className="mb-1", id="sheet-breadcrumbs"),
        CC.title_row(person["full_name"], f"{person['mo_name']} · табельный номер {person['personnel_no']} · "
                     f"{person.get('position_name', '')} · {p.label}", right, "sheet"),
        figures,
        *parts,
        html.H5("Отметки о несогласии", className="mt-4"),
        html.Div(_marks(view.marks), id=MARKS),
        _form(view) if a.mark else html.Div("Отмечать несогласие с оценкой может кадровая служба.",
                                            className="small text-muted", id="sheet-no-mark"),
    ])


def _status(person: dict):
    if person.get("disputed"):
        return dbc.Badge("не согласен", color="danger", className="fs-6", id="sheet-disputed")
    return dbc.Badge("нет", color="secondary", className="fs-6", id="sheet-undisputed")


def _part(i: int, title: str, subtitle: str, rows: list[dict], period: str):
    if not rows:
        table = html.Div("Критериев нет: должность не оценивается по эффективному контракту.",
                         className="text-muted small")
    else:
        records = [{**r, "data": f"[данные]({r['link']})" if r["link"] else ""} for r in rows]
        cols = CS.SHEET_COLS + [{"name": "Данные", "id": "data", "presentation": "markdown"}]
        spec = TableSpec("contract-sheet", title, subtitle, cols, records)
        table = datatable(spec, f"sheet-part-{i}", page_size=40, style_data_conditional=[
            {"if": {"filter_query": "{points} < 0", "column_id": "points"}, "backgroundColor": "#f8d7da"},
            {"if": {"filter_query": "{points} > 0", "column_id": "points"}, "backgroundColor": "#d1e7dd"},
            {"if": {"filter_query": '{met} = "мало наблюдений" || {met} = "нет данных"', "column_id": "met"},
             "color": "#6c757d", "fontStyle": "italic"}])
    return html.Div([html.H5(title, className="mt-3 mb-1"), html.Div(subtitle, className="small text-muted mb-2"),
                     table], id=f"sheet-part-{i}-box", className="sheet-part")


def _marks(marks: list[dict]):
    if not marks:
        return html.P("Отметок нет.", className="text-muted", id="sheet-no-marks")
    rows = [html.Tr([html.Td(m["at"], className="small text-nowrap"), html.Td(m["author"], className="small"),
                     html.Td(dbc.Badge(m["state"], color="danger" if m["state_code"] == "disagree" else "success")),
                     html.Td(m["criterion"], className="small"), html.Td(m["comment"], className="small")])
            for m in marks]
    return html.Table([html.Thead(html.Tr([html.Th(c["name"]) for c in CS.MARK_COLS])), html.Tbody(rows)],
                      className="table table-sm", id="sheet-marks-table")


def _form(view):
    options = [{"label": "Весь расчёт", "value": ""}] + [{"label": n, "value": c} for c, n in view.criteria.items()]
    return dbc.Card(dbc.CardBody([
        html.H6("Не согласны с оценкой?"),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id=CRITERION, options=options, value="", clearable=False), md=4),
            dbc.Col(dbc.Textarea(id=COMMENT, rows=2, maxLength=1000,
                                 placeholder="Комментарий (обязательно): что не так с оценкой или почему отметка снята"),
                    md=8),
        ], className="g-2"),
        html.Div([dbc.Button("Не согласен", id=DISAGREE, color="danger", className="me-2 mt-2"),
                  dbc.Button("Снять отметку", id=RESOLVE, color="success", outline=True, className="mt-2")]),
        html.Div(id=MSG, className="mt-2"),
    ]), className="mt-2", id="sheet-form")


@callback(Output(MSG, "children"), Output(MARKS, "children"), Output(STATUS, "children"),
          Output(COMMENT, "value"), Input(DISAGREE, "n_clicks"), Input(RESOLVE, "n_clicks"), State(KEY, "data"),
          State(COMMENT, "value"), State(CRITERION, "value"), prevent_initial_call=True)
def mark(disagree, resolve, key, comment, criterion):
    """Record «не согласен» or its resolution with the comment; a refusal or a bad comment saves nothing."""
    if not key or ctx.triggered_id not in (DISAGREE, RESOLVE) or not (disagree or resolve):
        return no_update, no_update, no_update, no_update
    state = "disagree" if ctx.triggered_id == DISAGREE else "resolved"
    user = current_user()
    try:
        if user is None:
            raise ScopeError("Требуется вход в систему")
        a = C.access_of(user)
        _, mo, person, p = CC.sheet_params(key)
        C.mark(p, mo.id, person, state, comment if isinstance(comment, str) else "", a, criterion or None)
        sh, view, _ = CS.sheet_of(key)
    except ScopeError as exc:
        return refused(exc), no_update, no_update, no_update
    except (C.ContractError, TableParamError, U.UnitError) as exc:
        return dbc.Alert(str(exc), color="warning", id="sheet-mark-problem"), no_update, no_update, no_update
    done = "Отметка «не согласен» сохранена" if state == "disagree" else "Отметка снята"
    return (dbc.Alert(done, color="success", duration=4000, id="sheet-mark-saved"), _marks(view.marks),
            _status(sh.person), "")
