"""Качество данных: how far each number can be trusted (issue 22), along the WHO data-quality review's dimensions —
the score of each unit with its reasons, the outliers against the units' own seasonal baselines (acknowledged with a
comment, with history), the consistency rules, the completeness and timeliness of reporting, the population
denominators — city → district → organisation, for a period (a month by default; the rating links here with its
quarter, so that the score is the one beside its place). Outliers are values of one month: of a longer period,
its last month.

URL: ``/data-quality?level=<region|district|mo>&id=<unit>&period=<YYYY-MM|YYYY-Qn|…>&tab=<scores|outliers|…>``.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from components import kpi
from components.guard import refusal, refused, role_refusal, scoped
from components.period import ids, picker
from components.scorecard import LIGHT
from components.shell import NAV
from components.tablespec import TableParamError, build, section
from components.view import PageState, Problem, View, drill_table, page, state_url
from core import dataquality as CDQ
from core import fmt
from data_access import units as U
from data_access.scope import ScopeError
from metrics import dataquality as DQ
from metrics import evaluate as E
from reports import dataquality as RD
from security import current_scope, current_user

ROLES = ["committee", "district", "mo", "analyst", "admin"]
ACK_ROLES = ("committee", "district", "mo")  # who may accept an outlier as a true value, or return it
# In the user menu (order ≥ 80), not on the bar: the bar's eleven entries fill it at 1400 px (12 px to spare), and
# a twelfth pushes the user menu out of the window below 1440 px and folds the labels in two lines above it.
# The rating links every unit's score here.
dash.register_page(__name__, path="/data-quality", name="Качество данных", title="Качество данных — ИАМ", order=80,
                   menu="Качество данных", roles=ROLES)

PAGE = "dataquality"
STATE = ids(PAGE)["state"]
TABS = {"scores": "Оценка", "outliers": "Выбросы", "rules": "Согласованность", "completeness": "Полнота",
        "denominators": "Знаменатели"}
TAB_ID = "dq-tab"
SCORES, OUTLIERS, HISTORY, RULES, COMPLETENESS, DENOMINATORS = (
    "dq-scores-table", "dq-outliers-table", "dq-history-table", "dq-rules-table", "dq-completeness-table",
    "dq-denominators-table")
BOX, PICK, COMMENT, ACK, REOPEN, MSG = ("dq-outliers-box", "dq-ack-outlier", "dq-ack-comment", "dq-ack", "dq-reopen",
                                        "dq-ack-msg")

VIEW = View(page=PAGE, path="/data-quality", drill=("region", "district", "mo"), prefix="dq", extra=("tab",))

# the KPI cards' forecast line is filled by a callback bound with the pages (executed for every app instance)
kpi.bind_forecast_callback()


def layout(level=None, id=None, period=None, tab=None, **_):  # noqa: A002
    return _layout({"level": level, "id": id, "period": period, "tab": tab})


@scoped
def _layout(params: dict):
    if refused_role := role_refusal(current_user(), ROLES):
        return refused_role
    return page(VIEW, params, _render, current_scope(), E.data_span())


def _tab(st: PageState) -> str:
    tab = st.extra.get("tab") or "scores"
    if tab not in TABS:
        raise Problem(f"Раздела «{tab}» нет: выберите один из разделов — {', '.join(TABS.values())}")
    return tab


def table_params(name: str, u: U.Unit, period: str) -> dict:
    """The parameters of a table of the page's unit: its children; an organisation's own row, its doctors' outliers;
    a district's (or an organisation's) own district among the denominators."""
    if name == "dq-denominators":
        return {"level": "district", "id": u.district_id if u.level != "region" else None, "period": period}
    if name in ("dq-outliers", "dq-outlier-history"):
        return {"level": "doctor", "parent": u.id, "period": period} if u.level == "mo" else \
            {"level": "mo", "parent": u.key, "period": period}
    if u.level == "region":
        return {"level": "district", "period": period}
    if u.level == "district":
        return {"level": "mo", "parent": u.id, "period": period}
    return {"level": "mo", "id": u.id, "period": period}


def _build(name: str, st: PageState):
    try:
        return build(name, table_params(name, st.unit, st.period.key), st.scope)
    except (TableParamError, E.EvaluationError, E.NotFound) as exc:
        raise Problem(str(exc)) from exc


def _table(st: PageState, name: str, tid: str, **kw):
    """A builder's table; drillable (a click on a name opens that unit) when its rows are the unit's children."""
    spec = _build(name, st)
    if st.child and spec.records and any(r.get("child_id") not in (None, 0, st.unit.key) for r in spec.records):
        return drill_table(spec, PAGE, tid, row_id="child_id", **kw)
    return section(spec, tid, **kw)


# ---------------------------------------------------------------- the unit's own score
def _own_score(st: PageState):
    u = st.unit
    try:
        s = DQ.score_of(u.level, u.key, st.period, st.scope)
    except (E.EvaluationError, E.NotFound):
        return None
    score = s.get("score")
    dq_min = E.registry().rating.dq_min
    color = "secondary" if score is None else ("danger" if score < dq_min else ("warning" if score < 80 else "success"))
    parts = [("Полнота", s.get("completeness")), ("своевременность", s.get("timeliness")),
             ("согласованность во времени", s.get("consistency_time")),
             ("согласованность показателей", s.get("consistency_rules"))]
    return dbc.Alert([
        html.Div([html.Span("Оценка качества данных: ", className="fw-semibold"),
                  html.Span("нет данных" if score is None else f"{fmt.number(score, 0)} из 100", id="dq-own-score",
                            className="fw-semibold"),
                  html.Span(f" — ниже порога рейтинга ({fmt.number(dq_min, 0)}): единица не ранжируется"
                            if score is not None and score < dq_min else "", className="ms-1")]),
        html.Div("; ".join(f"{name} {fmt.number(v, 0)} %" for name, v in parts if v is not None).capitalize(),
                 className="small"),
        html.Div(s.get("reasons") or ("Ничто не снижает оценку." if score is not None else ""),
                 className="small", id="dq-own-reasons"),
    ], color=color, className="py-2", id="dq-own")


# ---------------------------------------------------------------- tabs
def _scores(st: PageState) -> list:
    dq_min = E.registry().rating.dq_min
    styles = [{"if": {"filter_query": f"{{score}} is num && {{score}} < {dq_min}", "column_id": "score"},
               "backgroundColor": LIGHT["bad"], "fontWeight": 600}]
    styles += [{"if": {"filter_query": f"{{{c}}} is num && {{{c}}} < 95", "column_id": c}, "backgroundColor": LIGHT["warn"]}
               for c in ("completeness", "timeliness", "consistency_time", "consistency_rules")]
    return [html.Div(f"Ниже {fmt.number(dq_min, 0)} баллов единица отмечается в рейтинге и не получает места: её "
                     "числам нельзя доверять.", className="small text-muted"),
            _table(st, "dq-scores", SCORES, style_data_conditional=styles)]


def may_acknowledge(user) -> bool:
    return user is not None and user.role in ACK_ROLES


def _outliers(st: PageState, message=None) -> list:
    spec = _build("dq-outliers", st)
    styles = [{"if": {"filter_query": '{state_code} = "ack"'}, "color": "#6c757d"},
              {"if": {"filter_query": '{state_code} != "ack"', "column_id": "z"}, "backgroundColor": LIGHT["bad"]},
              {"if": {"column_id": "indicator"}, "cursor": "pointer"}]
    note = None if st.period.kind == "month" else html.Div(
        f"Выбросы ищутся по месяцам: показан {fmt.month_name(st.period.last)} — последний месяц периода.",
        className="small text-muted", id="dq-outliers-month")
    blocks = [message, note, section(spec, OUTLIERS, page_size=20, row_id="key", style_data_conditional=styles)]
    if not spec.records:
        blocks.append(html.Div(f"За {st.period.label} значений далеко от их сезонной базы нет.", className="text-muted",
                               id="dq-no-outliers"))
    if may_acknowledge(current_user()) and spec.records:
        blocks.append(_ack_form(spec.records))
    else:  # what a click on a row chooses, for roles that see the outliers without the form
        blocks.append(dcc.Input(id=PICK, type="hidden"))
    history = _build("dq-outlier-history", st)
    blocks.append(section(history, HISTORY, page_size=10) if history.records else
                  html.Div([html.H5("История решений по выбросам", className="mt-3"),
                            html.Div("Решений по выбросам этого месяца ещё нет.", className="text-muted")],
                           id=HISTORY))
    return blocks


def _ack_form(records: list[dict]):
    options_ = [{"label": f"{r['indicator']} — {r['name']} ({r['state']})", "value": r["key"]} for r in records]
    return dbc.Card(dbc.CardBody([
        html.H6("Решение по выбросу"),
        html.Div("«Принять» — значение верное (например, открылось отделение), выброс остаётся в таблице с отметкой; "
                 "«Вернуть» — снять отметку. Комментарий обязателен, каждое решение сохраняется в истории.",
                 className="small text-muted mb-2"),
        dcc.Dropdown(id=PICK, options=options_, placeholder="Выберите выброс или нажмите на строку таблицы",
                     className="mb-2"),
        dbc.Textarea(id=COMMENT, rows=2, maxLength=1000, placeholder="Комментарий: почему значение верно (или почему "
                     "отметка снимается)", className="mb-2"),
        dbc.Button("Принять", id=ACK, color="primary", className="me-2"),
        dbc.Button("Вернуть", id=REOPEN, color="secondary", outline=True),
    ]), className="mt-3", id="dq-ack-form")


def _rules(st: PageState) -> list:
    styles = [{"if": {"filter_query": '{result} = "нарушено"', "column_id": "result"}, "backgroundColor": LIGHT["bad"],
               "fontWeight": 600},
              {"if": {"filter_query": '{result} contains "не проверяется"'}, "color": "#6c757d"}]
    rules = html.Details([
        html.Summary("Правила и почему они верны на правильных данных", className="small text-primary"),
        html.Ul([html.Li([html.B(r.name), f" ({r.code}). ", r.description,
                          f" Пропуски: {CDQ.STRATEGIES[r.missing]}."]) for r in CDQ.RULES],
                className="small mb-0 mt-1"),
    ], id="dq-rules-method")
    return [rules, _table(st, "dq-rules", RULES, page_size=25, style_data_conditional=styles)]


def _completeness(st: PageState) -> list:
    styles = [{"if": {"filter_query": f"{{{c}}} is num && {{{c}}} < 95", "column_id": c}, "backgroundColor": LIGHT["warn"]}
              for c in ("reporting_rate", "emk_coverage", "emk_timeliness")]
    styles += [{"if": {"filter_query": "{reporting_rate} is num && {reporting_rate} < 80", "column_id": "reporting_rate"},
                "backgroundColor": LIGHT["bad"]}]
    return [_table(st, "dq-completeness", COMPLETENESS, style_data_conditional=styles)]


def _denominators(st: PageState) -> list:
    styles = [{"if": {"filter_query": '{verdict} contains "вне"', "column_id": "verdict"}, "backgroundColor": LIGHT["bad"]},
              {"if": {"filter_query": '{level} = "region"'}, "fontWeight": 600}]
    return [_table(st, "dq-denominators", DENOMINATORS, style_data_conditional=styles)]


RENDER = {"scores": _scores, "outliers": _outliers, "rules": _rules, "completeness": _completeness,
          "denominators": _denominators}


def _render(st: PageState):
    tab = _tab(st)
    content = RENDER[tab](st)
    drills = st.child and (tab in ("scores", "rules", "completeness") or (tab == "denominators" and
                                                                          st.unit.level == "region"))
    hint = "Нажмите на название, чтобы перейти на уровень ниже." if drills else ""
    return html.Div([
        st.store(tab=tab),
        st.breadcrumb(),
        dbc.Row([
            dbc.Col([html.H3("Качество данных", className="mb-0"),
                     html.Div(st.title, className="text-muted", id="dq-subtitle")], lg=7),
            dbc.Col(picker(PAGE, st.period, st.first, st.last), lg=5, className="align-self-end"),
        ], className="mb-2"),
        _own_score(st),
        dbc.Tabs([dbc.Tab(label=name, tab_id=code) for code, name in TABS.items()], id=TAB_ID, active_tab=tab,
                 className="mb-2"),
        html.Div(hint, className="small text-muted"),
        html.Div(content, id=BOX if tab == "outliers" else f"dq-{tab}"),
    ])


# ---------------------------------------------------------------- callbacks
@callback(Output(NAV, "href", allow_duplicate=True), Input(TAB_ID, "active_tab"), State(STATE, "data"),
          prevent_initial_call=True)
def change_tab(tab, state):
    if not state or not tab or tab == state.get("tab"):
        return no_update
    return state_url(state, tab=tab)


@callback(Output(PICK, "value"), Input(OUTLIERS, "active_cell"), prevent_initial_call=True)
def pick_outlier(cell):
    """A click on an outlier's row chooses it in the form (the links to the data go where they lead)."""
    key = (cell or {}).get("row_id")
    if not key or (cell or {}).get("column_id") == "data":
        return no_update
    return key


@callback(Output(BOX, "children"), Input(ACK, "n_clicks"), Input(REOPEN, "n_clicks"), State(PICK, "value"),
          State(COMMENT, "value"), State(STATE, "data"), prevent_initial_call=True)
def decide(ack_clicks, reopen_clicks, key, comment, state):
    """«Принять» / «Вернуть»: the decision with its comment is saved (with the history and the audit), the tab
    re-rendered with it; a refusal or a problem is said in Russian and nothing is saved."""
    if not state or not ctx.triggered_id or not (ack_clicks or reopen_clicks):
        return no_update
    user = current_user()
    if not may_acknowledge(user):
        return [refusal("Принимать выбросы могут руководители комитета, районов и медицинских организаций")]
    scope = current_scope()
    try:
        st = VIEW.parse(state["query"], scope, E.data_span())
    except Problem as exc:
        return [VIEW.problem(exc, scope)]
    except ScopeError as exc:
        return [refused(exc)]
    state_ = "ack" if ctx.triggered_id == ACK else "reopen"
    try:
        if not key:
            raise DQ.DataQualityError("Выберите выброс в списке или нажмите на его строку в таблице")
        code, level, unit_id, month = RD.parse_outlier_key(key)
        DQ.acknowledge(code, level, unit_id, month, comment or "", user.login, state_, scope=scope,
                       user_id=user.user_id)
    except ScopeError as exc:
        return [refused(exc)]
    except (DQ.DataQualityError, TableParamError, E.EvaluationError, E.NotFound) as exc:
        return _outliers(st, dbc.Alert(str(exc), color="warning", id="dq-ack-problem"))
    done = "Выброс принят: значение отмечено как верное" if state_ == "ack" else "Отметка снята: выброс снова открыт"
    return _outliers(st, dbc.Alert(done, color="success", id="dq-ack-saved", duration=4000))
