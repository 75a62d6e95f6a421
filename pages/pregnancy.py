"""Мониторинг беременных: the register, timeliness of care against the norms, risk, and the
worklist «требуют внимания» — city → district → women's consultation → doctor."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import charts, fmt, kpi
from components.guard import scoped
from components.period import ids, page_state, picker
from components.scorecard import LIGHT
from components.shell import NAV
from components.table import drilled_row
from components.tablespec import TableParamError, build, section
from data_access import pregnancy as P
from data_access import units as U
from metrics import evaluate as E
from metrics.periods import PeriodError, parse_period
from reports.pregnancy import as_of_param
from security import current_scope

dash.register_page(__name__, path="/pregnancy", name="Беременные", title="Мониторинг беременных — ИАМ", order=50,
                   menu="Беременные")

DATE, WEEKS = "preg-date", "preg-weeks"
STATE = ids("pregnancy")["state"]
REGISTER, STATUS = "preg-register-table", "preg-status-table"


def preg_url(level, unit_id=None, period=None, date=None, weeks=None) -> str:
    q = {"level": level}
    for k, v in (("id", unit_id), ("period", period), ("date", date), ("weeks", weeks)):
        if v not in (None, ""):
            q[k] = v
    return "/pregnancy?" + urlencode(q)


def layout(level=None, id=None, period=None, date=None, weeks=None, **_):  # noqa: A002
    return _layout(level or "region", id, period, date, weeks)


@scoped
def _layout(level, unit_id, period, date, weeks):
    span = E.data_span()
    if span is None:
        return dbc.Alert("Витрины ещё не построены.", color="info")
    first, last = span
    scope = current_scope()
    try:
        per = parse_period(period) if period else parse_period(f"{last:%Y-%m}")
        u = P.check(level, unit_id, scope)
        d = as_of_param({"date": date}, per.clip(last))
        w = int(weeks or 4)
        if not 1 <= w <= 12:
            raise TableParamError("Число недель — от 1 до 12")
    except (PeriodError, ValueError, LookupError, TableParamError) as exc:
        return dbc.Alert([str(exc), " ", dcc.Link("Открыть город", href=preg_url("region"))], color="warning",
                         id="preg-problem")
    uid = None if level == "region" else u.id
    params = {"level": level, "id": uid, "period": per.key}
    sparams = {"level": level, "id": uid, "date": d.isoformat(), "weeks": w}
    crumbs = [{"label": x.name, "href": preg_url(x.level, None if x.level == "region" else x.id, per.key)}
              for x in U.lineage(u)]
    crumbs[-1] = {"label": crumbs[-1]["label"], "active": True}
    cards = []
    for code in ("mat_registered_12w", "mat_screening1", "mat_screening2", "mat_screening3", "mat_5visits"):
        ind = E.registry()[code]
        v = E.unit_value(code, level, uid, per, scope)
        spark = E.trend(code, level, uid, per.last, 12, scope)
        cards.append(dbc.Col(kpi.card(ind, v, spark, f"/indicator/{code}", per.label), md=4, xl=True, className="mb-3"))
    obs = P.observed(level, uid, d, scope)
    risk = obs["risk_group"].value_counts() if len(obs) else None
    risk_fig = charts.empty("Никто не наблюдается")
    if risk is not None:
        order = [r for r in ("low", "medium", "high") if r in risk.index]
        risk_fig = {"data": [{"type": "pie", "labels": [P.RISK_NAMES[r].capitalize() for r in order],
                              "values": [int(risk[r]) for r in order], "hole": 0.5,
                              "marker": {"colors": ["#198754", "#e0a800", "#dc3545"][:len(order)]},
                              "textinfo": "label+value"}],
                    "layout": charts._layout(height=260, showlegend=False)}
    child = P.CHILD[level]
    style = [{"if": {"column_id": "name"}, "color": "#0d6efd", "cursor": "pointer"}] if child else []
    blocks = [
        section(build("preg-register", params, scope), REGISTER, row_id="child_id",
                style_data_conditional=style + [{"if": {"filter_query": "{lt12} is num && {lt12} < 85", "column_id": "lt12"},
                                                 "backgroundColor": LIGHT["bad"]}]),
        dbc.Row([
            dbc.Col([html.H5(f"Группы риска на {fmt.date(d)}", className="mt-3"),
                     dcc.Graph(figure=risk_fig, config={"displayModeBar": False}, id="preg-risk")], lg=4),
            dbc.Col([dbc.Row([dbc.Col(html.Span("Снимок на дату"), width="auto"),
                              dbc.Col(dcc.DatePickerSingle(id=DATE, date=d.isoformat(), display_format="DD.MM.YYYY",
                                                           first_day_of_week=1), width="auto"),
                              dbc.Col(html.Span("высокий риск без явки, недель:"), width="auto"),
                              dbc.Col(dcc.Dropdown(id=WEEKS, options=list(range(1, 13)), value=w, clearable=False,
                                                   style={"width": "80px"}), width="auto")],
                             className="g-2 mt-3 align-items-center"),
                     section(build("preg-status", sparams, scope), STATUS, row_id="child_id",
                             style_data_conditional=style)], lg=8),
        ]),
    ]
    if scope.patients:
        blocks.append(section(build("preg-worklist", sparams, scope), "preg-worklist-table", page_size=25,
                              style_data_conditional=[{"if": {"filter_query": '{risk_code} = "high"'},
                                                       "backgroundColor": LIGHT["bad"]}]))
    else:
        blocks.append(dbc.Alert("Список пациенток, требующих внимания, доступен руководителям районов и медицинских "
                                "организаций: у вашей роли нет доступа к персональным спискам.", color="secondary",
                                className="mt-3", id="preg-no-patients"))
    return html.Div([
        page_state("pregnancy", "/pregnancy", {**params, "date": date or None, "weeks": weeks or None}, child=child,
                   as_of=d.isoformat(), weeks_shown=w, reset_on_period=["date"]),
        dbc.Breadcrumb(items=crumbs, className="mb-1", id="preg-breadcrumbs"),
        dbc.Row([
            dbc.Col([html.H3("Мониторинг беременных", className="mb-0"),
                     html.Div(f"{u.name} · {per.label}", className="text-muted", id="preg-subtitle")], lg=7),
            dbc.Col(picker("pregnancy", per, first, last), lg=5, className="align-self-end"),
        ], className="mb-3"),
        html.P("Нормы (приказ № 747н): постановка на учёт до 12 недель; скрининги в 11–14, 19–21 и 30–34 недели; не менее "
               "5 явок.", className="small text-muted"),
        dbc.Row(cards),
        html.Div("Нажмите на название, чтобы перейти на уровень ниже." if child else "", className="small text-muted"),
    ] + blocks)


@callback(Output(NAV, "href", allow_duplicate=True), Input(DATE, "date"), Input(WEEKS, "value"), State(STATE, "data"),
          prevent_initial_call=True)
def change_snapshot(date, weeks, state):
    if not state or (date or "")[:10] == state["as_of"] and weeks == state["weeks_shown"]:
        return no_update
    q = state["query"]
    return preg_url(q["level"], q["id"], q["period"], (date or "")[:10], weeks)


@callback(Output(NAV, "href", allow_duplicate=True), Input(REGISTER, "active_cell"), State(STATE, "data"),
          prevent_initial_call=True)
def drill_register(cell, state):
    return _drill(cell, state)


@callback(Output(NAV, "href", allow_duplicate=True), Input(STATUS, "active_cell"), State(STATE, "data"),
          prevent_initial_call=True)
def drill_status(cell, state):
    return _drill(cell, state)


def _drill(cell, state):
    rid = drilled_row(cell, state)
    if rid is None:
        return no_update
    return preg_url(state["child"], rid, state["query"]["period"], None, state["query"]["weeks"])
