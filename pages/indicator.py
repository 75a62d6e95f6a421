"""Indicator page: drill-down region → district → organisation → doctor, state in the URL."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import charts, kpi, urls
from components.breadcrumbs import breadcrumbs
from components.guard import scoped
from components.period import ids, page_state, picker
from components.shell import NAV
from components.table import indicator_table
from core import fmt
from core.periods import PeriodError, parse_period
from data_access import units as U
from metrics import evaluate as E
from metrics.model import LEVEL_NAMES
from security import current_scope, current_user

dash.register_page(__name__, path_template="/indicator/<code>", name="Показатель", title="Показатель — ИАМ")

BARS, TABLE = "ind-bars", "ind-table"
STATE = ids("indicator")["state"]
LIST_TITLE = {"district": "Районы города", "mo": "Медицинские организации", "doctor": "Врачи"}


def _int(x):
    if x in (None, ""):
        return None
    return int(x)


def default_view(ind, user):
    """Where a person lands without an explicit level: the children of their own unit."""
    home = U.home(user.scope) if user else U.CITY
    if home.level == "mo" and ind.valid_at("doctor"):
        return "doctor", home.id
    if home.level in ("district", "mo") and ind.valid_at("mo"):
        return "mo", home.district_id
    return ("district", None) if ind.valid_at("district") else ("region", None)


def method_lines(ind) -> list:
    """What the value is made of: the measures of a ratio or a count, the formula of a derived indicator."""
    if ind.kind == "derived":
        reg = E.registry()
        return [html.Li(["Формула: ", html.Code(ind.formula)])] + [
            html.Li([html.Code(c), f" — {reg[c].name}"]) for c in ind.inputs]
    if ind.kind == "count":
        return [html.Li(["Считается: ", ind.numerator_label])]
    return ([html.Li(["Числитель: ", ind.numerator_label])] if ind.numerator else []) + [
        html.Li([("Знаменатель: " if ind.numerator else "По записям: "), ind.denominator_label])]


def layout(code=None, level=None, parent=None, period=None, **_):
    return _layout(code, level, parent, period)


def _problem(message: str, link: str | None = None):
    return dbc.Alert([message] + ([" ", dcc.Link("Открыть показатель по умолчанию", href=link)] if link else []),
                     color="warning", id="ind-problem")


@scoped
def _layout(code, level, parent, period):
    reg = E.registry()
    if code not in reg:
        return dbc.Alert(["Показатель «", code or "", "» не найден. ", dcc.Link("Все показатели", href="/indicators")],
                         color="warning", id="ind-problem")
    ind = reg[code]
    span = E.data_span()
    if span is None:
        return dbc.Alert("Витрины ещё не построены: данных для показателя нет.", color="info")
    first, last = span
    try:
        per = parse_period(period) if period else parse_period(f"{last:%Y-%m}")
    except PeriodError as exc:
        return _problem(str(exc), urls.indicator(code, "district"))
    if per.first > last or per.last < first:
        return _problem(f"За период «{per.label}» данных нет: данные есть с {fmt.month_name(first)} "
                        f"по {fmt.month_name(last)}.", urls.indicator(code, "district"))
    user = current_user()
    if level in (None, ""):
        level, dparent = default_view(ind, user)
        parent = parent if parent not in (None, "") else dparent
    if level not in LEVEL_NAMES:
        return _problem(f"Уровень «{level}» неизвестен.", urls.indicator(code, "district"))
    if not ind.valid_at(level):
        return _problem(f"Показатель «{ind.short}» не считается на уровне «{LEVEL_NAMES[level]}»: "
                        f"допустимые уровни — {', '.join(LEVEL_NAMES[lv] for lv in ind.levels)}.",
                        urls.indicator(code, "district", period=per.key))
    try:
        parent_id = _int(parent)
    except ValueError:
        return _problem(f"Код единицы «{parent}» должен быть числом.", urls.indicator(code, "district", period=per.key))
    scope = current_scope()
    ctx = E.Context(code, level, per, parent_id, scope)
    try:
        rows = E.children(ctx)
    except (E.NotFound, E.EvaluationError) as exc:
        return _problem(str(exc), urls.indicator(code, "district", period=per.key))

    parent_level = U.PARENT_LEVEL[level]
    parent_unit = U.unit(parent_level, parent_id) if parent_level != "region" and parent_id is not None else U.CITY
    ctx_level = parent_unit.level
    ctx_id = None if ctx_level == "region" else parent_unit.id
    summary = E.unit_value(code, ctx_level, ctx_id, per, scope) if ind.valid_at(ctx_level) else None
    trend = E.trend(code, ctx_level, ctx_id, per.last, 24, scope) if ind.valid_at(ctx_level) else None
    child = U.CHILD_LEVEL.get(level)
    drillable = child is not None and ind.valid_at(child)

    crumbs = []
    for u in U.lineage(parent_unit):
        target_level = U.CHILD_LEVEL[u.level]
        href = urls.indicator(code, target_level, None if u.level == "region" else u.id, per.key) \
            if target_level and ind.valid_at(target_level) else None
        crumbs.append((u.name, href))
    if crumbs:
        crumbs[-1] = (crumbs[-1][0], None)
    title_scope = parent_unit.name if level != "mo" or parent_id is not None else "весь город"
    list_title = f"{LIST_TITLE.get(level, '')} — {title_scope}" if level != "region" else U.CITY_NAME
    with_district = level == "mo" and parent_id is None

    if rows.empty:
        body = dbc.Alert(f"За {per.label} нет данных ни по одной единице этого уровня"
                         f"{'' if scope.is_city else ' в вашей области доступа'}. Выберите другой период или уровень.",
                         color="info", id="ind-empty")
    else:
        body = html.Div([
            dbc.Row([
                dbc.Col([html.H5(list_title, className="mb-1"),
                         html.Div("Нажмите на столбец или название, чтобы перейти на уровень ниже" if drillable
                                  else "Это самый подробный уровень для показателя", className="small text-muted"),
                         dcc.Graph(id=BARS, figure=charts.bars(rows, ind.unit, ind.decimals,
                                                               summary["target"] if summary else ind.target),
                                   config={"displayModeBar": False, "locale": "ru"})], lg=7),
                dbc.Col([html.H5(f"Динамика за 24 месяца — {parent_unit.name}", className="mb-1"),
                         dcc.Graph(id="ind-trend", figure=charts.trend(trend, ind.unit, ind.decimals) if trend is not None
                                   else charts.empty("Показатель не считается на этом уровне"),
                                   config={"displayModeBar": False}),
                         html.H6("Разброс значений", className="mt-2 mb-0"),
                         dcc.Graph(id="ind-spread", figure=charts.spread(rows, ind.unit, ind.decimals, ind.target),
                                   config={"displayModeBar": False})], lg=5),
            ]),
            html.Div([
                html.H5(["Таблица ", html.Span(f"({len(rows)})", className="text-muted")], className="d-inline me-3"),
                html.A([html.I(className="bi bi-filetype-csv me-1"), "CSV"], className="btn btn-sm btn-outline-secondary me-2",
                       href=urls.export("indicator", "csv", code=code, level=level, parent=parent_id, period=per.key),
                       id="ind-export-csv"),
                html.A([html.I(className="bi bi-file-earmark-excel me-1"), "XLSX"], className="btn btn-sm btn-outline-secondary",
                       href=urls.export("indicator", "xlsx", code=code, level=level, parent=parent_id, period=per.key),
                       id="ind-export-xlsx"),
            ], className="mt-3 mb-2"),
            indicator_table(TABLE, rows.assign(id=rows["unit_id"]), ind, level, with_district),
        ])

    summary_block = html.Div()
    if summary is not None:
        summary_block = dbc.Card(dbc.CardBody(dbc.Row([
            dbc.Col([html.Div(parent_unit.name, className="text-muted small"),
                     html.Span(fmt.number(summary["value"], ind.decimals), className="fs-2 fw-semibold me-1",
                               id="ind-summary-value"),
                     html.Span(ind.unit, className="text-muted")], width="auto"),
            dbc.Col([html.Div(f"цель: {fmt.number(summary['target'], ind.decimals)} {ind.unit}"),
                     html.Div([kpi.delta(summary["value"], summary["previous_value"], ind, "к пред. периоду"),
                               kpi.delta(summary["value"], summary["last_year_value"], ind, "к прошлому году")],
                              className="small")], width="auto", className="align-self-center"),
        ])), className="mb-3 shadow-sm")

    return html.Div([
        page_state("indicator", f"/indicator/{code}", {"level": level, "parent": parent_id, "period": per.key},
                   code=code, child=child if drillable else None),
        breadcrumbs(crumbs),
        dbc.Row([
            dbc.Col([html.H3(ind.name, className="mb-0", id="ind-title"),
                     dbc.Badge(reg.groups[ind.group], color="secondary", className="me-2"),
                     html.Span(f"{per.label} · уровень: {LEVEL_NAMES[level]}", className="text-muted small",
                               id="ind-subtitle")], lg=7),
            dbc.Col(picker("indicator", per, first, last), lg=5, className="align-self-end"),
        ], className="mb-3"),
        summary_block,
        body,
        dbc.Card(dbc.CardBody([
            html.H6("Как считается"),
            html.P(ind.method, className="mb-2", id="ind-method"),
            html.Ul(method_lines(ind), className="small mb-1"),
            html.Div(f"Цель по умолчанию: {fmt.number(ind.target, ind.decimals)} {ind.unit}; "
                     f"{'чем больше, тем лучше' if ind.higher_is_better else 'чем меньше, тем лучше'}; "
                     f"вес в интегральном рейтинге: {fmt.number(ind.weight, 1)}.", className="small text-muted"),
        ]), className="mt-4"),
    ])


@callback(Output(NAV, "href", allow_duplicate=True), Input(BARS, "clickData"), State(STATE, "data"),
          prevent_initial_call=True)
def drill_from_bar(click, state):
    if not click or not state or not state.get("child"):
        return no_update
    point = (click.get("points") or [{}])[0]
    unit_id = point.get("customdata")
    if isinstance(unit_id, list):
        unit_id = unit_id[0] if unit_id else None
    if unit_id is None:
        return no_update
    return urls.indicator(state["code"], state["child"], int(unit_id), state["query"]["period"])


@callback(Output(NAV, "href", allow_duplicate=True), Input(TABLE, "active_cell"), State(STATE, "data"),
          prevent_initial_call=True)
def drill_from_table(cell, state):
    if not cell or not state or not state.get("child") or cell.get("column_id") != "unit_name" \
            or cell.get("row_id") is None:
        return no_update
    return urls.indicator(state["code"], state["child"], int(cell["row_id"]), state["query"]["period"])
