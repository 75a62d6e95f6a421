"""Мониторинг беременных: the register, timeliness of care against the norms, risk, and the
worklist «требуют внимания» — city → district → women's consultation → doctor."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import charts
from components.guard import scoped
from components.period import ids, picker
from components.scorecard import LIGHT
from components.shell import NAV
from components.tablespec import TableParamError, build, section
from components.view import PageState, Problem, View, drill_table, page, state_url
from core import fmt
from data_access import pregnancy as P
from metrics import evaluate as E
from reports.common import as_of_param
from security import current_scope

dash.register_page(__name__, path="/pregnancy", name="Беременные", title="Мониторинг беременных — ИАМ", order=50,
                   menu="Беременные")

DATE, WEEKS = "preg-date", "preg-weeks"
STATE = ids("pregnancy")["state"]
REGISTER, STATUS = "preg-register-table", "preg-status-table"
VIEW = View(page="pregnancy", path="/pregnancy", drill="pregnancy", prefix="preg", group="maternity", extra=("date", "weeks"),
            reset_on_drill=("date",))


def layout(level=None, id=None, period=None, date=None, weeks=None, **_):  # noqa: A002
    return _layout({"level": level, "id": id, "period": period, "date": date, "weeks": weeks})


@scoped
def _layout(params: dict):
    return page(VIEW, params, _render, current_scope(), E.data_span())


def _render(st: PageState):
    u, per, scope, params = st.unit, st.period, st.scope, st.params
    level, uid = u.level, u.key
    try:
        d = as_of_param(st.extra, per.clip(st.last))
        w = int(st.extra["weeks"] or 4)
        if not 1 <= w <= 12:
            raise TableParamError("Число недель — от 1 до 12")
    except (ValueError, TableParamError) as exc:
        raise Problem(str(exc) if isinstance(exc, TableParamError) else "Число недель — от 1 до 12") from exc
    sparams = {"level": level, "id": uid, "date": d.isoformat(), "weeks": w}
    if level == "mo" and not P.observes_pregnancies(uid):
        return _no_pregnancies(st)
    cards = st.cards(md=4, xl=True)
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
    child = st.child
    table = (lambda spec, tid, **kw: drill_table(spec, "pregnancy", tid, **kw)) if child else section
    blocks = [
        table(build("preg-register", params, scope), REGISTER, row_id="child_id",
              style_data_conditional=[{"if": {"filter_query": "{lt12} is num && {lt12} < 85", "column_id": "lt12"},
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
                     table(build("preg-status", sparams, scope), STATUS, row_id="child_id")], lg=8),
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
        st.store(as_of=d.isoformat(), weeks_shown=w, reset_on_period=["date"]),
        st.breadcrumb(),
        dbc.Row([
            dbc.Col([html.H3("Мониторинг беременных", className="mb-0"),
                     html.Div(st.title, className="text-muted", id="preg-subtitle")], lg=7),
            dbc.Col(picker("pregnancy", per, st.first, st.last), lg=5, className="align-self-end"),
        ], className="mb-3"),
        html.P("Нормы (приказ № 747н): постановка на учёт до 12 недель; скрининги в 11–14, 19–21 и 30–34 недели; не менее "
               "5 явок.", className="small text-muted"),
        dbc.Row(cards),
        html.Div("Нажмите на название, чтобы перейти на уровень ниже." if child else "", className="small text-muted"),
    ] + blocks)


def _no_pregnancies(st: PageState):
    """An organisation that does not observe pregnancies (an adult polyclinic): say why the page is empty."""
    return html.Div([
        st.breadcrumb(),
        html.H3("Мониторинг беременных", className="mb-0"),
        html.Div(st.title, className="text-muted mb-3", id="preg-subtitle"),
        dbc.Alert([html.B(f"«{st.unit.name}» не ведёт наблюдение беременных."), html.Br(),
                   "Беременные состоят на учёте в женских консультациях; у этой организации их нет за всё время "
                   "данных, поэтому показателей здесь нет. Город и район — в строке навигации выше."],
                  color="info", id="preg-not-observed"),
    ])


@callback(Output(NAV, "href", allow_duplicate=True), Input(DATE, "date"), Input(WEEKS, "value"), State(STATE, "data"),
          prevent_initial_call=True)
def change_snapshot(date, weeks, state):
    if not state or (date or "")[:10] == state["as_of"] and weeks == state["weeks_shown"]:
        return no_update
    return state_url(state, date=(date or "")[:10] or None, weeks=weeks)
