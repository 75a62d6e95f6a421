"""Профилактика: vaccination by the national calendar, dispensarisation against plan, cancer screening
and the worklist «кого пригласить» — city → district → organisation → участок."""
from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import charts
from components.guard import scoped
from components.kpi import group_cards
from components.period import ids, picker
from components.scorecard import LIGHT
from components.shell import NAV
from components.tablespec import TableParamError, build, section
from components.view import PageState, Problem, View, drill_table, page, state_url
from core import fmt
from core import prevention as R
from metrics import evaluate as E
from security import current_scope

dash.register_page(__name__, path="/prevention", name="Профилактика", title="Профилактика и скрининг — ИАМ", order=45,
                   menu="Профилактика")

log = logging.getLogger(__name__)
TABS = {"vaccination": "Вакцинация", "dispensary": "Диспансеризация", "screening": "Онкоскрининг",
        "worklist": "Кого пригласить"}
TAB_GROUP = {"vaccination": "vaccination", "dispensary": "prevention", "screening": "screening"}
STATE = ids("prevention")["state"]
TAB_ID, PROGRAM = "prev-tab", "prev-program"
VIEW = View(page="prevention", path="/prevention", drill="prevention", prefix="prev",
            extra=("tab", "program", "date", "kinds"))


def layout(level=None, id=None, period=None, tab=None, program=None, date=None, kinds=None, **_):  # noqa: A002
    return _layout({"level": level, "id": id, "period": period, "tab": tab, "program": program, "date": date,
                    "kinds": kinds})


@scoped
def _layout(params: dict):
    return page(VIEW, params, _render, current_scope(), E.data_span())


def _tab(st: PageState) -> str:
    tab = st.extra.get("tab") or "vaccination"
    if tab not in TABS:
        raise Problem(f"Раздела «{tab}» нет: выберите один из разделов — {', '.join(TABS.values())}")
    return tab


def _table(st: PageState, name: str, tid: str, params: dict | None = None, **kw):
    """A builder's table: drillable when its rows are the unit's children."""
    try:
        spec = build(name, params or st.params, st.scope)
    except TableParamError as exc:
        raise Problem(str(exc)) from exc
    if spec.records and "child_id" in spec.records[0] and st.child and spec.records[0]["child_id"] != (st.unit.key or 0):
        return drill_table(spec, "prevention", tid, row_id="child_id", **kw)
    return section(spec, tid, **kw)


def _off_target(col: str, code: str) -> dict:
    """Colour a column's cells that miss the registry target of an indicator (the same judgement as the cards)."""
    ind = E.registry()[code]
    op = "<" if ind.higher_is_better else ">"
    return {"if": {"filter_query": f"{{{col}}} is num && {{{col}}} {op} {ind.target}", "column_id": col},
            "backgroundColor": LIGHT["bad"]}


def _coverage_chart(spec) -> dict:
    rows = [r for r in spec.records if r["cohort"]]
    if not rows:
        return charts.empty("В периоде нет детей, достигших возраста оценки")
    x = [r["name"] for r in rows]
    return {"data": [
        {"type": "bar", "name": "к возрасту оценки", "x": x, "y": [r["covered"] for r in rows], "marker": {"color": "#0d6efd"},
         "hovertemplate": "%{x}: %{y:.1f} %<extra>к возрасту оценки</extra>"},
        {"type": "bar", "name": "в срок", "x": x, "y": [r["timely"] for r in rows], "marker": {"color": "#9ec5fe"},
         "hovertemplate": "%{x}: %{y:.1f} %<extra>в срок</extra>"}],
        "layout": charts._layout(height=320, barmode="group", yaxis={"title": "%", "range": [0, 105]},
                                 legend={"orientation": "h", "y": 1.12},
                                 shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 95, "y1": 95,
                                          "line": {"color": "#dc3545", "dash": "dash", "width": 1.5}}],
                                 annotations=[{"xref": "paper", "x": 1, "y": 95, "yanchor": "bottom", "xanchor": "right",
                                               "text": "цель 95 %", "showarrow": False, "font": {"size": 11}}])}


def _months_chart(spec) -> dict:
    if not spec.records:
        return charts.empty("Нет данных за год")
    x = [r["month"] for r in spec.records]
    return {"data": [
        {"type": "bar", "name": "прошли I этап", "x": x, "y": [r["done"] for r in spec.records], "marker": {"color": "#0d6efd"}},
        {"type": "scatter", "mode": "lines+markers", "name": "план месяца", "x": x, "y": [r["plan"] for r in spec.records],
         "line": {"color": "#212529", "dash": "dash"}},
        {"type": "scatter", "mode": "lines+markers", "name": "с начала года, % плана", "x": x,
         "y": [r["cum_pct"] for r in spec.records], "yaxis": "y2", "line": {"color": "#198754"}}],
        "layout": charts._layout(height=320, legend={"orientation": "h", "y": 1.15}, yaxis={"title": "человек"},
                                 yaxis2={"title": "% годового плана", "overlaying": "y", "side": "right", "range": [0, 110],
                                         "showgrid": False})}


def _vaccination(st: PageState) -> list:
    cal = build("prev-calendar", st.params, st.scope)
    return [
        dcc.Graph(figure=_coverage_chart(cal), config={"displayModeBar": False}, id="prev-coverage-chart"),
        _table(st, "prev-vacc-units", "prev-vacc-units-table",
               style_data_conditional=[_off_target("dtp3", "prev_dtp3_coverage"), _off_target("mmr1", "prev_mmr_coverage"),
                                       _off_target("mmr2", "prev_mmr2_coverage"),
                                       _off_target("dropout_dtp3", "prev_dtp_dropout"),
                                       _off_target("dropout_mmr2", "prev_mmr_dropout")])
        if st.child else None,
        section(cal, "prev-calendar-table", page_size=25,
                style_data_conditional=[_off_target("covered", "prev_mmr_coverage")]),
    ]


def _by_organisation(st: PageState) -> list | None:
    """At an участок: dispensarisation and screening are counted per organisation — say so, with a link."""
    from data_access import units as U
    from reports.prevention import LEVEL_PROBLEM
    if st.unit.level != "doctor":
        return None
    mo = U.unit("mo", st.unit.mo_id)
    return [dbc.Alert([LEVEL_PROBLEM, ": ", dcc.Link(mo.name, href=st.url(mo))], color="info", id="prev-level-note")]


def _dispensary(st: PageState) -> list:
    if (note := _by_organisation(st)) is not None:
        return note
    program = st.extra.get("program") or "adult"
    params = {**st.params, "program": program}
    try:
        months = build("prev-disp-months", params, st.scope)
    except TableParamError as exc:
        raise Problem(str(exc)) from exc
    options = [{"label": "Взрослые (диспансеризация и профосмотры)", "value": "adult"},
               *[{"label": name, "value": code} for code, name in R.PROGRAMS.items()]]
    blocks = [
        dbc.Row([dbc.Col(html.Span("Программа:"), width="auto"),
                 dbc.Col(dcc.Dropdown(id=PROGRAM, options=options, value=program, clearable=False,
                                      style={"minWidth": "360px"}), width="auto")], className="g-2 align-items-center"),
        _table(st, "prev-disp-units", "prev-disp-units-table", params,
               style_data_conditional=[_off_target("pct", "prev_adult_plan"), _off_target("full", "prev_stage2_completion")]),
        html.H5("Ход выполнения плана", className="mt-3"),
        dcc.Graph(figure=_months_chart(months), config={"displayModeBar": False}, id="prev-months-chart"),
        section(months, "prev-disp-months-table"),
    ]
    if program in ("adult", "disp", "prof", "deep"):
        blocks.append(section(build("prev-form1000", st.params, st.scope), "prev-form1000-table", page_size=30))
    if program in ("adult", "child_prof"):
        blocks.append(section(build("prev-children", st.params, st.scope), "prev-children-table"))
    return blocks


def _screening(st: PageState) -> list:
    if (note := _by_organisation(st)) is not None:
        return note
    return [
        section(build("prev-screening", st.params, st.scope), "prev-screening-table",
                style_data_conditional=[_off_target("followed", "prev_screening_followup")]),
        _table(st, "prev-screen-units", "prev-screen-units-table",
               style_data_conditional=[_off_target("pct", "prev_screening_plan"),
                                       _off_target("followed", "prev_screening_followup")]) if st.child else None,
    ]


STATUS, COMMENT, SAVE, SAVED, DATE, KINDS = ("prev-status", "prev-comment", "prev-save-status", "prev-status-result",
                                             "prev-date", "prev-kinds")
WORKLIST = "prev-worklist-table"


def _worklist(st: PageState) -> list:
    from data_access import prevention as P
    from reports.common import as_of_param
    from reports.prevention import kinds_param
    if st.unit.level not in P.LEVELS:
        return [dbc.Alert("Список «кого пригласить» составляется для медицинской организации или участка: выберите "
                          "организацию в таблицах других разделов или в строке навигации.", color="info",
                          id="prev-worklist-level")]
    try:
        d = as_of_param(st.extra)
        kinds = kinds_param(st.extra)
    except TableParamError as exc:
        raise Problem(str(exc)) from exc
    params = {"level": st.unit.level, "id": st.unit.key, "date": d.isoformat(), "kinds": ",".join(kinds)}
    blocks = [dbc.Row([
        dbc.Col(html.Span("На дату"), width="auto"),
        dbc.Col(dcc.DatePickerSingle(id=DATE, date=d.isoformat(), display_format="DD.MM.YYYY", first_day_of_week=1),
                width="auto"),
        dbc.Col(dcc.Checklist(id=KINDS, options=[{"label": f" {v}", "value": k} for k, v in P.KINDS.items()],
                              value=list(kinds), inline=True, inputClassName="ms-2"), width="auto"),
    ], className="g-2 align-items-center")]
    if st.unit.level == "mo":
        blocks.append(_table(st, "prev-areas", "prev-areas-table", params))
    if not st.scope.patients:
        blocks.append(dbc.Alert("Поимённый список доступен руководителям районов и медицинских организаций: у вашей "
                                "роли нет доступа к персональным спискам.", color="secondary", className="mt-3",
                                id="prev-no-patients"))
        return blocks
    spec = build("prev-worklist", params, st.scope)
    if not spec.records:
        return blocks + [dbc.Alert(f"На {fmt.date(d)} приглашать некого: по выбранным мероприятиям всё сделано или "
                                   "ещё не наступил срок.", color="success", className="mt-3", id="prev-worklist-empty")]
    blocks += [
        section(spec, WORKLIST, page_size=25, row_selectable="multi",
                style_data_conditional=[{"if": {"filter_query": '{state_code} = "overdue"', "column_id": "state"},
                                         "backgroundColor": LIGHT["bad"]}]),
        dbc.Row([
            dbc.Col(html.Span("Отметить выбранных:"), width="auto"),
            dbc.Col(dcc.Dropdown(id=STATUS, options=[{"label": v, "value": k} for k, v in P.STATUSES.items()],
                                 value="invited", clearable=False, style={"minWidth": "220px"}), width="auto"),
            dbc.Col(dbc.Input(id=COMMENT, placeholder="Комментарий (необязательно)", maxLength=P.COMMENT_LIMIT),
                    width=4),
            dbc.Col(dbc.Button("Сохранить отметку", id=SAVE, color="primary"), width="auto"),
        ], className="g-2 align-items-center mt-2"),
        html.Div(id=SAVED, className="mt-2"),
    ]
    return blocks


RENDER = {"vaccination": _vaccination, "dispensary": _dispensary, "screening": _screening, "worklist": _worklist}


def _render(st: PageState):
    tab = _tab(st)
    cards = group_cards(TAB_GROUP[tab], st.unit, st.period, st.scope, md=4, xl=3) if tab in TAB_GROUP else []
    return html.Div([
        st.store(tab=tab),
        st.breadcrumb(),
        dbc.Row([
            dbc.Col([html.H3("Профилактика и скрининг", className="mb-0"),
                     html.Div(st.title, className="text-muted", id="prev-subtitle")], lg=7),
            dbc.Col(picker("prevention", st.period, st.first, st.last), lg=5, className="align-self-end"),
        ], className="mb-2"),
        dbc.Tabs([dbc.Tab(label=name, tab_id=code) for code, name in TABS.items()], id=TAB_ID, active_tab=tab,
                 className="mb-3"),
        html.P("Национальный календарь прививок — приказ № 1122н; диспансеризация и профосмотры — приказ № 404н; "
               "форма № 131/о — приказ № 1207н.", className="small text-muted"),
        dbc.Row(cards),
        html.Div("Нажмите на название, чтобы перейти на уровень ниже." if st.child and tab != "worklist" else "",
                 className="small text-muted"),
        html.Div(RENDER[tab](st), id=f"prev-{tab}"),
    ])


@callback(Output(NAV, "href", allow_duplicate=True), Input(TAB_ID, "active_tab"), State(STATE, "data"),
          prevent_initial_call=True)
def change_tab(tab, state):
    if not state or not tab or tab == state.get("tab"):
        return no_update
    return state_url(state, tab=tab, program=None)


@callback(Output(NAV, "href", allow_duplicate=True), Input(DATE, "date"), Input(KINDS, "value"), State(STATE, "data"),
          prevent_initial_call=True)
def change_worklist(date, kinds, state):
    if not state:
        return no_update
    q = state["query"]
    new_kinds = ",".join(k for k in (kinds or []))
    if (date or "")[:10] == (q.get("date") or "")[:10] and new_kinds == (q.get("kinds") or ""):
        return no_update
    return state_url(state, date=(date or "")[:10] or None, kinds=new_kinds or None)


@callback(Output(SAVED, "children"), Output(WORKLIST, "data"), Input(SAVE, "n_clicks"), State(WORKLIST, "data"),
          State(WORKLIST, "selected_rows"), State(STATUS, "value"), State(COMMENT, "value"), prevent_initial_call=True)
def save_status(_, rows, selected, status, comment):
    """Record the chosen status for the selected people's items; nothing is lost on a refusal."""
    from flask import current_app

    from data_access import prevention as P
    from data_access import units as U
    from data_access.scope import ScopeError
    from security import audit_event, current_user
    rows = list(rows or [])
    chosen = [rows[i] for i in (selected or []) if isinstance(i, int) and 0 <= i < len(rows)]
    if not chosen:
        return dbc.Alert("Выберите строки списка (флажки слева).", color="warning", id="prev-status-saved"), no_update
    user = current_user()
    if user is None:
        return dbc.Alert("Сессия закончилась: войдите снова — отметки не сохранены.", color="warning",
                         id="prev-status-saved"), no_update
    saved, problems = 0, []
    for r in chosen:
        try:
            P.set_status(current_app.extensions["iam"]["db"], r.get("patient_id"), r.get("item"), status, comment,
                         user.login, r.get("mo_id"), scope=current_scope())
        except (P.StatusError, ScopeError, U.UnitError) as exc:
            problems.append(str(exc))
            continue
        except Exception:  # a failed write of one row must not hide the rows already saved
            log.exception("invitation status not saved")
            problems.append("ошибка записи; попробуйте ещё раз")
            continue
        audit_event("invitation_status", obj=f"patient:{r['patient_id']}",
                    details={"item": r["item"], "status": status})
        saved += 1
        r.update(status="" if status == "none" else P.STATUSES[status], status_code=status,
                 comment=(comment or "").strip())
    msg = [f"Сохранено отметок: {fmt.number(saved)}."] + ([" Не сохранено: " + "; ".join(sorted(set(problems)))]
                                                          if problems else [])
    return dbc.Alert(msg, color="success" if not problems else "warning", id="prev-status-saved"), rows


@callback(Output(NAV, "href", allow_duplicate=True), Input(PROGRAM, "value"), State(STATE, "data"),
          prevent_initial_call=True)
def change_program(program, state):
    if not state or not program or program == (state["query"].get("program") or "adult"):
        return no_update
    return state_url(state, program=program)

