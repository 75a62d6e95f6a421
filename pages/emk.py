"""Передача данных в ЭМК: coverage by document kind, the funnel to registration, timeliness, gaps
and silent organisations, the EHR index — for the city, a district, an organisation, a department, a doctor."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import charts, fmt, kpi
from components.guard import scoped
from components.period import ids, page_state, picker
from components.shell import NAV
from components.table import drilled_row
from components.tablespec import build, section
from data_access import emk as K
from metrics import evaluate as E
from metrics import rating as R
from metrics.periods import PeriodError, parse_period
from metrics.scoring import STATUS_COLORS
from reports.emk import SHORT_KIND, gap_window
from security import current_scope

dash.register_page(__name__, path="/emk", name="ЭМК", title="Передача данных в ЭМК — ИАМ", order=40, menu="ЭМК")

STATE = ids("emk")["state"]
COVERAGE, TIMELINESS = "emk-coverage-table", "emk-timeliness-table"
INDICATOR_LEVEL = {"region": "region", "district": "district", "mo": "mo", "dept": None, "doctor": "doctor"}


def emk_url(level: str, unit_id=None, period: str | None = None) -> str:
    q = {"level": level}
    if unit_id is not None:
        q["id"] = unit_id
    if period:
        q["period"] = period
    return "/emk?" + urlencode(q)


def layout(level=None, id=None, period=None, **_):  # noqa: A002
    return _layout(level or "region", id, period)


def _status_styles(col_ids):
    """Cell colours of the coverage matrix (the builder puts each cell's status in a hidden «<col>_st» field)."""
    from components.scorecard import LIGHT
    out = [{"if": {"filter_query": f'{{{c}_st}} = "{st}"', "column_id": c}, "backgroundColor": LIGHT[st]}
           for c in col_ids for st in ("good", "warn", "bad")]
    return out + [{"if": {"column_id": "name"}, "color": "#0d6efd", "cursor": "pointer"}]


@scoped
def _layout(level, unit_id, period):
    span = E.data_span()
    if span is None:
        return dbc.Alert("Витрины ещё не построены.", color="info")
    first, last = span
    try:
        per = parse_period(period) if period else parse_period(f"{last:%Y-%m}")
        n = K.node(level, unit_id)
    except (PeriodError, K.EmkError) as exc:
        return dbc.Alert([str(exc), " ", dcc.Link("Открыть город", href=emk_url("region"))], color="warning",
                         id="emk-problem")
    if per.first > last or per.last < first:
        return dbc.Alert(f"За «{per.label}» данных нет.", color="warning", id="emk-problem")
    scope = current_scope()
    K.check_scope(n, scope)
    params = {"level": n.level, "id": n.id, "period": per.key}
    crumbs = [{"label": u.name, "href": emk_url(u.level, u.id, per.key)} for u in K.lineage(n)]
    crumbs[-1] = {"label": crumbs[-1]["label"], "active": True}
    child = K.CHILD[n.level]

    # key indicators of the unit
    cards = []
    ind_level = INDICATOR_LEVEL[n.level]
    ind_id = n.id if n.level not in ("region", "dept") else None
    for code in ("emk_coverage", "emk_registered_1d", "emk_sent_1d", "emk_rejected"):
        ind = E.registry()[code]
        if ind_level and ind.valid_at(ind_level):
            v = E.unit_value(code, ind_level, ind_id, per, scope)
            spark = E.trend(code, ind_level, ind_id, per.last, 12, scope)
            cards.append(dbc.Col(kpi.card(ind, v, spark, emk_url(n.level, n.id, per.key), per.label), md=3, className="mb-3"))

    # the EHR index (the group's weighted score) and its trend
    index_block = html.Div()
    if ind_level in ("region", "district", "mo"):
        tr = R.group_trend("emk", ind_level, ind_id, per.last, 12, scope)
        index_now = tr["value"].iloc[-1] if len(tr) else None
        index_block = dbc.Card(dbc.CardBody([
            html.H5("Интегральный показатель передачи данных", className="mb-1"),
            html.Div(["Взвешенный балл показателей направления «Передача данных в ЭМК» (как в ",
                      dcc.Link("интегральном рейтинге", href="/rating?" + urlencode({"period": per.key})),
                      "): ", html.B(fmt.number(index_now, 1), id="emk-index"), " из 100 за последний месяц периода."],
                     className="small"),
            dcc.Graph(figure=charts.trend(tr.assign(target=E.registry().rating.integral_target), "балл", 1),
                      config={"displayModeBar": False}, id="emk-index-trend"),
        ]), className="mb-3")

    # funnel for the unit
    fl = K.flow(n.level, n.id, tuple(m for m in per.months if m in set(E.data_months())), scope)
    tot = fl[[k for k, _ in K.FLOW_STEPS + K.REJECTS + K.BUCKETS]].sum() if len(fl) else None
    funnel_fig = charts.empty("Нет документов за период")
    bucket_fig = charts.empty("Нет зарегистрированных документов")
    if tot is not None and tot["created"] > 0:
        funnel_fig = {"data": [{"type": "funnel", "y": [v for _, v in K.FLOW_STEPS], "x": [int(tot[k]) for k, _ in K.FLOW_STEPS],
                                "textinfo": "value+percent initial", "marker": {"color": "#0d6efd"}},
                               ],
                      "layout": charts._layout(height=260, margin={"l": 130, "r": 10, "t": 10, "b": 10})}
        reg = sum(tot[k] for k, _ in K.BUCKETS)
        bucket_fig = {"data": [{"type": "bar", "x": [v for _, v in K.BUCKETS], "y": [float(tot[k] / reg * 100) if reg else 0
                                                                                       for k, _ in K.BUCKETS],
                                "marker": {"color": ["#198754", "#20c997", "#e0a800", "#fd7e14", "#dc3545"]},
                                "hovertemplate": "%{x}: %{y:,.1f} %<extra></extra>"}],
                      "layout": charts._layout(height=260, yaxis={"title": {"text": "% зарегистрированных"}})}
    rejects = []
    if tot is not None:
        rejects = [html.Li(f"{v}: {fmt.number(tot[k])}") for k, v in K.REJECTS]

    blocks = [section(build("emk-coverage", params, scope), COVERAGE, row_id="child_id",
                      style_data_conditional=_status_styles([k for k in SHORT_KIND] + ["coverage"]))] if child else []
    blocks.append(dbc.Row([
        dbc.Col([html.H5("Путь документов: создано → подписано → отправлено → зарегистрировано"),
                 dcc.Graph(figure=funnel_fig, config={"displayModeBar": False}, id="emk-funnel"),
                 html.Ul(rejects, className="small")], lg=6),
        dbc.Col([html.H5("Задержка регистрации от закрытия случая"),
                 dcc.Graph(figure=bucket_fig, config={"displayModeBar": False}, id="emk-buckets")], lg=6),
    ], className="mt-3"))
    blocks.append(section(build("emk-funnel", params, scope), "emk-funnel-table"))
    if n.level not in ("dept", "doctor"):
        blocks.append(section(build("emk-reasons", params, scope), "emk-reasons-table"))
    if child:
        blocks.append(section(build("emk-timeliness", params, scope), TIMELINESS, row_id="child_id",
                              style_data_conditional=[{"if": {"column_id": "name"}, "color": "#0d6efd", "cursor": "pointer"},
                                                      {"if": {"filter_query": "{sent_1d} is num && {sent_1d} < 90", "column_id": "sent_1d"},
                                                       "backgroundColor": "#f8d7da"}]))
    if n.level in ("region", "district", "mo"):
        g_first, g_last = gap_window(per)
        days = K.daily(n.level, n.id, g_first, g_last, scope)
        silent = build("emk-silent", params, scope)
        blocks.append(html.H5("Поток документов по дням", className="mt-4"))
        blocks.append(dcc.Graph(figure=heatmap(days, K.working_days(g_first, g_last)), config={"displayModeBar": False},
                                id="emk-heatmap"))
        blocks.append(section(silent, "emk-silent-table"))

    return html.Div([
        page_state("emk", "/emk", params, child=child),
        dbc.Breadcrumb(items=crumbs, className="mb-1", id="emk-breadcrumbs"),
        dbc.Row([
            dbc.Col([html.H3("Передача данных в ЭМК петербуржца", className="mb-0"),
                     html.Div(f"{n.name} · {per.label}", className="text-muted", id="emk-subtitle")], lg=7),
            dbc.Col(picker("emk", per, first, last), lg=5, className="align-self-end"),
        ], className="mb-3"),
        dbc.Row(cards),
        index_block,
        html.Div("Нажмите на название в таблице, чтобы перейти на уровень ниже." if child else
                 "Это самый подробный уровень.", className="small text-muted"),
    ] + blocks)


def heatmap(days, workdays) -> dict:
    """Units × days, colour = documents sent; a silent working day (created, nothing sent) is marked."""
    if days.empty:
        return charts.empty("Нет документов за период")
    piv = days.pivot_table(index="name", columns="day", values="sent", aggfunc="sum", fill_value=0)
    created = days.pivot_table(index="name", columns="day", values="created", aggfunc="sum", fill_value=0)
    created = created.reindex(index=piv.index, columns=piv.columns, fill_value=0)
    order = piv.sum(axis=1).sort_values().index
    piv, created = piv.loc[order], created.loc[order]
    x = [fmt.date(d) for d in piv.columns]
    work = set(workdays)
    silent_x, silent_y = [], []
    for name in piv.index:
        for d in piv.columns:
            if d in work and piv.at[name, d] == 0 and created.at[name, d] > 0:
                silent_x.append(fmt.date(d))
                silent_y.append(name)
    data = [{"type": "heatmap", "z": piv.to_numpy().tolist(), "x": x, "y": list(piv.index), "colorscale": "Blues",
             "colorbar": {"title": {"text": "отправлено"}},
             "hovertemplate": "%{y}, %{x}: отправлено %{z}<extra></extra>"}]
    if silent_x:
        data.append({"type": "scatter", "mode": "markers", "x": silent_x, "y": silent_y, "name": "создавали, но не отправляли",
                     "marker": {"symbol": "x", "color": STATUS_COLORS["bad"], "size": 7},
                     "hovertemplate": "%{y}, %{x}: документы создавались, но не отправлялись<extra></extra>"})
    return {"data": data, "layout": charts._layout(height=max(260, 16 * len(piv) + 120), showlegend=bool(silent_x),
                                                   legend={"orientation": "h", "y": 1.05},
                                                   xaxis={"type": "category", "tickangle": -60})}


@callback(Output(NAV, "href", allow_duplicate=True), Input(COVERAGE, "active_cell"), State(STATE, "data"),
          prevent_initial_call=True)
def drill_coverage(cell, state):
    return _drill(cell, state)


@callback(Output(NAV, "href", allow_duplicate=True), Input(TIMELINESS, "active_cell"), State(STATE, "data"),
          prevent_initial_call=True)
def drill_timeliness(cell, state):
    return _drill(cell, state)


def _drill(cell, state):
    rid = drilled_row(cell, state)
    if rid is None:
        return no_update
    return emk_url(state["child"], rid, state["query"]["period"])
