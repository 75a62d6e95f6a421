"""Indicator page: drill-down region → district → organisation → doctor, state in the URL."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import charts, kpi, urls
from components.breadcrumbs import breadcrumbs
from components.guard import scoped
from components.period import ids, picker, url
from components.shell import NAV
from components.table import indicator_table
from components.view import ListView, Problem, drill_graph_id
from core import fmt
from data_access import units as U
from data_access.reference import MO_KINDS
from metrics import evaluate as E
from metrics.model import LEVEL_NAMES
from security import current_scope

dash.register_page(__name__, path_template="/indicator/<code>", name="Показатель", title="Показатель — ИАМ")

BARS, TABLE = "ind-bars", "ind-table"
LIST_TITLE = {"district": "Районы города", "mo": "Медицинские организации", "doctor": "Врачи"}
VIEW = ListView(page="indicator", path="/indicator", prefix="ind", extra=("kind",))
KIND = "ind-kind"
STATE = ids("indicator")["state"]


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


def layout(code=None, level=None, parent=None, period=None, kind=None, **_):
    return _layout(code, {"level": level, "parent": parent, "period": period, "kind": kind})


@scoped
def _layout(code, params):
    reg = E.registry()
    if code not in reg:
        return dbc.Alert(["Показатель «", code or "", "» не найден. ", dcc.Link("Все показатели", href="/indicators")],
                         color="warning", id="ind-problem")
    ind = reg[code]
    path, levels = f"/indicator/{code}", tuple(lv for lv in VIEW.levels if ind.valid_at(lv)) or ("region",)
    scope = current_scope()
    try:
        st = VIEW.parse(params, scope, E.data_span(), levels=levels, path=path)
        try:  # organisations: of the kinds the indicator is meant for, unless the URL names others
            kinds = E.kinds_for(ind, st.extra.get("kind")) if st.level == "mo" else None
        except ValueError as exc:
            raise Problem(str(exc)) from exc
        rows = E.children(E.Context(code, st.level, st.period, st.parent_id, scope, kinds))
    except Problem as exc:
        return VIEW.problem(exc, scope, path, levels)
    except (E.NotFound, E.EvaluationError) as exc:
        return VIEW.problem(Problem(str(exc)), scope, path, levels)
    return _render(ind, reg, st, rows)


def kind_picker(ind, st):
    """At the organisations' level: which kinds of organisation are listed (the indicator's own by default)."""
    if st.level != "mo":
        return None
    # the empty value is the address without ``kind``: the indicator's own kinds, or every kind when it has none
    own = ", ".join(MO_KINDS[k].lower() for k in ind.mo_kinds)
    options = ([{"label": f"Для которых показатель: {own}", "value": ""},
                {"label": "Все типы организаций", "value": "all"}] if ind.mo_kinds
               else [{"label": "Все типы организаций", "value": ""}]) + [
        {"label": v, "value": k} for k, v in MO_KINDS.items()]
    value = st.extra.get("kind") or ""
    if value == "all" and not ind.mo_kinds:
        value = ""
    return dcc.Dropdown(id=KIND, options=options, value=value, clearable=False, searchable=False,
                        style={"minWidth": "320px"})


@callback(Output(NAV, "href", allow_duplicate=True), Input(KIND, "value"), State(STATE, "data"),
          prevent_initial_call=True)
def change_kind(kind, state):
    q = (state or {}).get("query", {})
    if kind is None or q.get("level") != "mo" or (kind or None) == (q.get("kind") or None):
        return no_update  # (a freshly rendered picker shows what the address says: nothing to change)
    return url(state["path"], {**q, "kind": kind or None})


def few_note(ind, shown):
    """What the greyed rows are: values on fewer observations than the indicator's threshold."""
    n = int(shown["few"].sum())
    if not n:
        return None
    return html.Div(f"{n} {fmt.plural(n, 'единица', 'единицы', 'единиц')} — «мало наблюдений»: знаменатель меньше "
                    f"{fmt.number(ind.min_denominator)}; значение показано серым, без места и оценки.",
                    className="small text-muted mt-1", id="ind-few-note")


def no_data_list(empty):
    """The units without data for the period, folded, with their count."""
    if empty.empty:
        return None
    n = len(empty)
    return html.Details([html.Summary(f"Без данных за период: {n} {fmt.plural(n, 'единица', 'единицы', 'единиц')}",
                                      className="small text-muted"),
                         html.Div(", ".join(empty["unit_name"].astype(str)), className="small text-muted mt-1")],
                        className="mt-2", id="ind-no-data")


def _render(ind, reg, st, rows):
    scope, per, level, parent_unit = st.scope, st.period, st.level, st.parent
    code, parent_id, drillable = ind.code, st.parent_id, st.child is not None
    ctx_level = parent_unit.level
    summary = E.unit_value(code, ctx_level, parent_id, per, scope) if ind.valid_at(ctx_level) else None
    trend = E.trend(code, ctx_level, parent_id, per.last, 24, scope) if ind.valid_at(ctx_level) else None
    title_scope = "весь город" if st.whole_city else parent_unit.name
    list_title = f"{LIST_TITLE.get(level, '')} — {title_scope}" if level != "region" else U.CITY_NAME

    # units without a value for the period are listed apart (folded and counted), not as rows of «нет данных»
    shown, empty = rows[rows["value"].notna()], rows[rows["value"].isna()]
    if shown.empty:
        body = dbc.Alert(f"За {per.label} нет данных ни по одной единице этого уровня"
                         f"{'' if scope.is_city else ' в вашей области доступа'}. Выберите другой период или уровень.",
                         color="info", id="ind-empty")
    else:
        body = html.Div([
            dbc.Row([
                dbc.Col([html.H5(list_title, className="mb-1"),
                         html.Div("Нажмите на столбец или название, чтобы перейти на уровень ниже" if drillable
                                  else "Это самый подробный уровень для показателя", className="small text-muted"),
                         html.Div(dcc.Graph(id=drill_graph_id("indicator", "bars"),
                                            figure=charts.bars(shown, ind.unit, ind.decimals,
                                                               summary["target"] if summary else ind.target),
                                            config={"displayModeBar": False, "locale": "ru"}), id=BARS)], lg=7),
                dbc.Col([html.H5(f"Динамика за 24 месяца — {parent_unit.name}", className="mb-1"),
                         dcc.Graph(id="ind-trend", figure=charts.trend(trend, ind.unit, ind.decimals) if trend is not None
                                   else charts.empty("Показатель не считается на этом уровне"),
                                   config={"displayModeBar": False}),
                         html.H6("Разброс значений", className="mt-2 mb-0"),
                         dcc.Graph(id="ind-spread", config={"displayModeBar": False},
                                   figure=charts.spread(shown[~shown["few"]], ind.unit, ind.decimals, ind.target))],
                        lg=5),
            ]),
            html.Div([
                html.H5(["Таблица ", html.Span(f"({len(shown)})", className="text-muted")], className="d-inline me-3"),
                html.A([html.I(className="bi bi-filetype-csv me-1"), "CSV"], className="btn btn-sm btn-outline-secondary me-2",
                       href=urls.export("indicator", "csv", code=code, level=level, parent=parent_id, period=per.key,
                                         kind=st.extra.get("kind")),
                       id="ind-export-csv"),
                html.A([html.I(className="bi bi-file-earmark-excel me-1"), "XLSX"], className="btn btn-sm btn-outline-secondary",
                       href=urls.export("indicator", "xlsx", code=code, level=level, parent=parent_id, period=per.key,
                                         kind=st.extra.get("kind")),
                       id="ind-export-xlsx"),
            ], className="mt-3 mb-2"),
            html.Div(indicator_table({"type": "drill", "page": "indicator", "table": TABLE},
                                     shown.assign(id=shown["unit_id"]), ind, level, st.whole_city), id=TABLE),
            few_note(ind, shown),
            no_data_list(empty),
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
        st.store(),
        breadcrumbs(st.crumbs()),
        dbc.Row([
            dbc.Col([html.H3(ind.name, className="mb-0", id="ind-title"),
                     dbc.Badge(reg.groups[ind.group], color="secondary", className="me-2"),
                     html.Span(f"{per.label} · уровень: {LEVEL_NAMES[level]}", className="text-muted small",
                               id="ind-subtitle")], lg=7),
            dbc.Col(picker("indicator", per, st.first, st.last), lg=5, className="align-self-end"),
        ], className="mb-3"),
        dbc.Row(dbc.Col(kind_picker(ind, st), width="auto"), className="mb-2") if level == "mo" else None,
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
