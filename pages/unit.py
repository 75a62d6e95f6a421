"""Карточка района или организации: place in the rating and why, every indicator against its target
with its trend, the tasks on it, and the dialog that puts an off-target indicator «на контроль»."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from flask import current_app

from components import charts, urls
from components.badges import task_badges
from components.guard import refusal, scoped
from components.view import Problem, View, overview_period, page
from core import fmt
from core.periods import parse_period
from data_access import tasks as T
from data_access import units as U
from data_access.reference import MO_KINDS
from data_access.scope import ScopeError
from metrics import evaluate as E
from metrics.scoring import STATUS_COLORS, STATUS_NAMES, gap
from security import current_scope, current_user
from services import rating as R

dash.register_page(__name__, path="/unit", name="Карточка", title="Карточка — ИАМ")

STATE, TABLE_BOX = "unit-state", "unit-indicators"
DLG = {k: f"task-dlg-{k}" for k in ("modal", "title", "facts", "mo", "assignee", "due", "descr", "save", "msg", "code")}
ON_CONTROL = "unit-control"


VIEW = View(page="unit", path="/unit", drill=("region", "district", "mo"), prefix="unit", extra=("kind",),
            default_period=overview_period)


def layout(level=None, id=None, period=None, kind=None, **_):  # noqa: A002 (URL parameter name)
    return _layout({"level": level, "id": id, "period": period, "kind": kind})


@scoped
def _layout(params):
    return page(VIEW, params, _render, current_scope(), E.data_span())


def _render(st):
    u, per, scope, kind = st.unit, st.period, st.scope, st.extra["kind"]
    level = u.level
    if level not in ("district", "mo"):
        raise Problem("Карточка есть у района и у организации: откройте её из рейтинга или со страницы показателя.",
                      link=False)
    if level == "mo":
        kind = U.organisations().set_index("mo_id").loc[u.id, "kind"]
    kind = kind if kind in MO_KINDS else R.MO_KIND_DEFAULT
    return html.Div([
        dcc.Store(id=STATE, data={"level": level, "unit_id": u.id, "period": per.key, "kind": kind,
                                  "district_id": u.district_id}),
        dbc.Breadcrumb(items=[{"label": "Рейтинг", "href": "/rating?" + urlencode({"period": per.key})}] + (
            [{"label": U.unit("district", u.district_id).name,
              "href": "/rating?" + urlencode({"level": "mo", "parent": u.district_id, "period": per.key, "kind": kind})}]
            if level == "mo" else []) + [{"label": u.name, "active": True}], className="mb-1"),
        html.H3(u.name if level == "district" else U.organisations().set_index("mo_id").loc[u.id, "name"],
                id="unit-title", className="mb-0"),
        html.Div(f"{'Район' if level == 'district' else MO_KINDS[kind]} · {per.label}", className="text-muted mb-3"),
        html.Div(body(level, u, per, kind, scope), id=TABLE_BOX),
        dialog(),
    ])


def body(level, u, per, kind, scope):
    user = current_user()
    reg = E.registry()
    parent = None if level == "district" else u.district_id
    r = R.compute(level, per, parent, scope, kind)
    try:
        ex = R.explain(r, u.id)
    except ScopeError:
        ex = None
    db = current_app.extensions["iam"]["db"]
    tasks = T.search(db, scope, unit=(level, u.id))
    place_block = html.Div()
    if ex is not None:
        if ex["flag"]:
            head = f"Места нет: {R.FLAG_TEXT[ex['flag']]}. Интегральный балл {fmt.number(ex['integral'], 1)} — справочно."
        else:
            head = (f"{int(ex['place'])}-е место из {ex['count']}: интегральный балл {fmt.number(ex['integral'], 1)} "
                    f"при цели {fmt.number(ex['target'], 0)}.")
        why = "; ".join(f"«{x['name']}» −{fmt.number(x['lost'], 1)}" for x in ex["top"])
        lost_df = [x for x in ex["lines"] if x["lost"] == x["lost"]]
        fig = {"data": [{"type": "bar", "orientation": "h", "x": [x["lost"] for x in lost_df][::-1],
                         "y": [x["name"] for x in lost_df][::-1],
                         "marker": {"color": [STATUS_COLORS[x["status"]] for x in lost_df][::-1]},
                         "hovertemplate": "%{y}: −%{x:,.1f} балла<extra></extra>"}],
               "layout": {**charts._layout(height=max(220, 22 * len(lost_df) + 80),
                                           margin={"l": 10, "r": 10, "t": 10, "b": 50}),
                          "xaxis": {"title": {"text": "потеря баллов до 100"}, "gridcolor": "#e9ecef", "automargin": True}}}
        place_block = dbc.Card(dbc.CardBody([
            html.H5("Почему это место", className="mb-1"),
            html.P([head, html.Br(), f"Больше всего баллов теряется на: {why}." if why else "Потерь почти нет."],
                   id="unit-explain"),
            dcc.Graph(figure=fig, config={"displayModeBar": False}, id="unit-lost"),
        ]), className="mb-3")
    rows = []
    for ind in reg:
        if not ind.valid_at(level):
            continue
        v = E.unit_value(ind.code, level, u.id, per, scope)
        spark = E.trend(ind.code, level, u.id, per.last, 12, scope)
        cell = next((x for x in (ex["lines"] if ex else []) if x["code"] == ind.code), None)
        st = v["status"]
        ind_tasks = tasks[tasks["code"] == ind.code] if len(tasks) else tasks
        can = user.role_info.create_tasks and st in ("bad", "warn")
        child = U.CHILD_LEVEL[level]
        link = urls.indicator(ind.code, child if ind.valid_at(child) else level,
                              u.id if ind.valid_at(child) else (None if level == "district" else u.district_id), per.key)
        rows.append(html.Tr([
            html.Td([dcc.Link(ind.short, href=link), html.Div(reg.groups[ind.group], className="small text-muted")]),
            html.Td(fmt.number(v["value"], ind.decimals), className="text-end fw-semibold"),
            html.Td(fmt.number(v["target"], ind.decimals), className="text-end"),
            html.Td(ind.unit, className="small text-muted"),
            html.Td(html.Span(STATUS_NAMES[st], style={"color": STATUS_COLORS[st]}), className="small"),
            html.Td(fmt.number(cell["score"], 0) if cell and cell["score"] == cell["score"] else "—", className="text-end"),
            html.Td(charts.sparkline(spark, STATUS_COLORS[st], width="140px")),
            html.Td([task_badges(ind_tasks),
                     dbc.Button("На контроль", id={"type": ON_CONTROL, "code": ind.code}, size="sm", color="danger",
                                outline=True, className="ms-1") if can else None]),
        ], id={"type": "unit-row", "code": ind.code}))
    table = html.Table([html.Thead(html.Tr([html.Th("Показатель"), html.Th("Значение", className="text-end"),
                                            html.Th("Цель", className="text-end"), html.Th(""), html.Th("Оценка"),
                                            html.Th("Балл", className="text-end"), html.Th("12 месяцев"),
                                            html.Th("Контроль")])), html.Tbody(rows)],
                       className="table table-sm align-middle", id="unit-table")
    task_list = html.Ul([html.Li([dcc.Link(t["title"], href=f"/task/{int(t['task_id'])}"), " — ",
                                  T.STATUSES[t["status"]], f", срок {t['due_date']:%d.%m.%Y}",
                                  html.Span(" · просрочена", className="text-danger") if t["overdue"] else None])
                         for t in tasks.to_dict("records")]) if len(tasks) else html.P("Задач нет.", className="text-muted")
    extra = []
    if level == "district":
        extra.append(dcc.Link("Рейтинг организаций района →",
                              href="/rating?" + urlencode({"level": "mo", "parent": u.id, "period": per.key})))
    return html.Div([place_block, html.H5("Показатели против целей"), table,
                     html.H5("Задачи на контроле", className="mt-3"), task_list] + extra)


def dialog():
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Поставить на контроль", id=DLG["title"])),
        dbc.ModalBody([
            html.Div(id=DLG["facts"], className="mb-3"),
            dcc.Store(id=DLG["code"]),
            dbc.Label("Ответственная организация"),
            dcc.Dropdown(id=DLG["mo"], placeholder="Организация района", className="mb-2"),
            dbc.Label("Исполнитель"),
            dbc.Input(id=DLG["assignee"], placeholder="ФИО и должность", className="mb-2"),
            dbc.Label("Срок"),
            html.Div(dcc.DatePickerSingle(id=DLG["due"], display_format="DD.MM.YYYY", first_day_of_week=1,
                                          placeholder="ДД.ММ.ГГГГ"), className="mb-2"),
            dbc.Label("Что нужно сделать"),
            dbc.Textarea(id=DLG["descr"], rows=4),
            html.Div(id=DLG["msg"], className="mt-2"),
        ]),
        dbc.ModalFooter(dbc.Button("Поставить на контроль", id=DLG["save"], color="danger")),
    ], id=DLG["modal"], is_open=False, size="lg")


@callback(Output(DLG["modal"], "is_open"), Output(DLG["facts"], "children"), Output(DLG["mo"], "options"),
          Output(DLG["mo"], "value"), Output(DLG["mo"], "disabled"), Output(DLG["code"], "data"),
          Output(DLG["msg"], "children"), Output(DLG["due"], "date"),
          Input({"type": ON_CONTROL, "code": ALL}, "n_clicks"), State(STATE, "data"), prevent_initial_call=True)
def open_dialog(clicks, state):
    trig = ctx.triggered_id
    if not state or not trig or not any(c for c in clicks if c):
        return (no_update,) * 8
    code = trig["code"]
    ind = E.registry()[code]
    per = parse_period(state["period"])
    try:
        v = E.unit_value(code, state["level"], state["unit_id"], per, current_scope())
    except ScopeError as exc:
        return True, refusal(str(exc)), [], None, True, None, None, None
    g = gap(v["value"], v["target"], ind.higher_is_better)
    u = U.unit(state["level"], state["unit_id"])
    link = _data_link(code, state["level"], state["unit_id"], per.key)
    facts = dbc.Alert([
        html.Div([html.B(ind.name)]),
        html.Div(f"{u.name}, {per.label}: {fmt.number(v['value'], ind.decimals)} {ind.unit} при цели "
                 f"{fmt.number(v['target'], ind.decimals)}; отставание "
                 f"{fmt.number(abs(g) if g is not None else None, ind.decimals)} {ind.unit}"),
        dcc.Link("Данные на момент постановки →", href=link, target="_blank"),
    ], color="light", id="task-dlg-facts-box")
    orgs = U.in_scope(current_scope(), "mo")
    options = [{"label": r.short_name, "value": int(r.mo_id)} for r in orgs[orgs["district_id"] == u.district_id].itertuples()]
    fixed = state["level"] == "mo"
    due = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    return True, facts, options, (u.id if fixed else None), fixed, code, None, due


def _data_link(code, level, unit_id, period):
    from api.tasks import data_link
    return data_link(code, level, unit_id, period)


@callback(Output(DLG["msg"], "children", allow_duplicate=True), Output(TABLE_BOX, "children"),
          Output(DLG["modal"], "is_open", allow_duplicate=True),
          Input(DLG["save"], "n_clicks"), State(DLG["code"], "data"), State(STATE, "data"), State(DLG["mo"], "value"),
          State(DLG["assignee"], "value"), State(DLG["due"], "date"), State(DLG["descr"], "value"),
          prevent_initial_call=True)
def save_task(_n, code, state, mo_id, assignee, due, descr):
    if not state or not code:
        return no_update, no_update, no_update
    user = current_user()
    per = parse_period(state["period"])
    try:
        due_date = dt.date.fromisoformat(due[:10]) if due else None
    except ValueError:
        due_date = None
    if due_date is None:
        return dbc.Alert("Укажите срок (ДД.ММ.ГГГГ)", color="warning"), no_update, no_update
    try:
        v = E.unit_value(code, state["level"], state["unit_id"], per, current_scope())
        T.create(current_app.extensions["iam"]["db"], user, code=code, level=state["level"], unit_id=state["unit_id"],
                 period=per.key, assignee=assignee or "", due_date=due_date, description=descr or "", mo_id=mo_id,
                 value=v["value"], target=v["target"],
                 data_link=_data_link(code, state["level"], state["unit_id"], per.key))
    except (T.TaskError, ScopeError) as exc:
        return dbc.Alert(str(exc), color="warning"), no_update, no_update
    u = U.unit(state["level"], state["unit_id"])
    return None, body(state["level"], u, per, state["kind"], current_scope()), False
