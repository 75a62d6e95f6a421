"""Передача данных в ЭМК: coverage by document kind, the funnel to registration, timeliness, gaps
and silent organisations, the EHR index — for the city, a district, an organisation, a department, a doctor."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import charts
from components.guard import scoped
from components.period import picker, url
from components.tablespec import build, section
from components.view import PageState, View, drill_table, page
from core import fmt
from data_access import emk as K
from metrics import emk as EK
from metrics import evaluate as E
from metrics.scoring import STATUS_COLORS
from reports.emk import SHORT_KIND, gap_window
from security import current_scope
from services import rating as R

dash.register_page(__name__, path="/emk", name="ЭМК", title="Передача данных в ЭМК — ИАМ", order=40, menu="ЭМК")

COVERAGE, TIMELINESS = "emk-coverage-table", "emk-timeliness-table"
VIEW = View(page="emk", path="/emk", drill="emk", prefix="emk", group="emk")


def layout(level=None, id=None, period=None, **_):  # noqa: A002
    return _layout({"level": level, "id": id, "period": period})


def _status_styles(col_ids):
    """Cell colours of the coverage matrix (the builder puts each cell's status in a hidden «<col>_st» field)."""
    from components.scorecard import LIGHT
    out = [{"if": {"filter_query": f'{{{c}_st}} = "{st}"', "column_id": c}, "backgroundColor": LIGHT[st]}
           for c in col_ids for st in ("good", "warn", "bad")]
    return out + [{"if": {"column_id": "name"}, "color": "#0d6efd", "cursor": "pointer"}]


@scoped
def _layout(params: dict):
    return page(VIEW, params, _render, current_scope(), E.data_span())


def _render(st: PageState):
    n, per, scope, params = st.unit, st.period, st.scope, st.params
    child = st.child
    cards = st.cards()
    ind_level = n.level if n.level != "dept" else None
    ind_id = n.key

    # the EHR index (the group's weighted score) and its trend
    index_block = html.Div()
    if ind_level in ("region", "district", "mo"):
        tr = R.group_trend("emk", ind_level, ind_id, per.last, 12, scope)
        index_now = tr["value"].iloc[-1] if len(tr) else None
        index_block = dbc.Card(dbc.CardBody([
            html.H5("Интегральный показатель передачи данных", className="mb-1"),
            html.Div(["Взвешенный балл показателей направления «Передача данных в ЭМК» (как в ",
                      dcc.Link("интегральном рейтинге", href=url("/rating", {"period": per.key})),
                      "): ", html.B(fmt.number(index_now, 1), id="emk-index"), " из 100 за последний месяц периода."],
                     className="small"),
            dcc.Graph(figure=charts.trend(tr.assign(target=E.registry().rating.integral_target), "балл", 1),
                      config={"displayModeBar": False}, id="emk-index-trend"),
        ]), className="mb-3")

    # funnel for the unit
    fl = EK.flow(n.level, n.id, tuple(m for m in per.months if m in set(E.data_months())), scope)
    tot = fl[[k for k, _ in K.FLOW_STEPS + K.REJECTS + K.BUCKETS]].sum() if len(fl) else None
    funnel_fig = charts.empty("Нет документов за период")
    bucket_fig = charts.empty("Нет зарегистрированных документов")
    if tot is not None and tot["created"] > 0:
        steps = [int(tot[k]) for k, _ in K.FLOW_STEPS]
        funnel_fig = {"data": [{"type": "bar", "orientation": "h", "y": [v for _, v in K.FLOW_STEPS], "x": steps,
                                "text": [f"{fmt.number(x)} ({fmt.percent(x / steps[0] * 100)})" for x in steps],
                                "textposition": "auto", "marker": {"color": "#0d6efd"},
                                "hovertemplate": "%{y}: %{text}<extra></extra>"}],
                      "layout": charts._layout(height=260, margin={"l": 130, "r": 10, "t": 10, "b": 10},
                                               yaxis={"autorange": "reversed"})}
        reg = sum(tot[k] for k, _ in K.BUCKETS)
        bucket_fig = {"data": [{"type": "bar", "x": [v for _, v in K.BUCKETS], "y": [float(tot[k] / reg * 100) if reg else 0
                                                                                       for k, _ in K.BUCKETS],
                                "marker": {"color": ["#198754", "#20c997", "#e0a800", "#fd7e14", "#dc3545"]},
                                "hovertemplate": "%{x}: %{y:,.1f} %<extra></extra>"}],
                      "layout": charts._layout(height=260, yaxis={"title": {"text": "% зарегистрированных"}})}
    rejects = []
    if tot is not None:
        rejects = [html.Li(f"{v}: {fmt.number(tot[k])}") for k, v in K.REJECTS]

    blocks = [drill_table(build("emk-coverage", params, scope), "emk", COVERAGE, row_id="child_id",
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
        blocks.append(drill_table(build("emk-timeliness", params, scope), "emk", TIMELINESS, row_id="child_id",
                                  style_data_conditional=[{"if": {"filter_query": "{sent_1d} is num && {sent_1d} < 90",
                                                                  "column_id": "sent_1d"}, "backgroundColor": "#f8d7da"}]))
    if n.level in ("region", "district", "mo"):
        g_first, g_last = gap_window(per)
        days = EK.daily(n.level, n.id, g_first, g_last, scope)
        silent = build("emk-silent", params, scope)
        blocks.append(html.H5("Поток документов по дням", className="mt-4"))
        blocks.append(dcc.Graph(figure=heatmap(days, K.working_days(g_first, g_last)), config={"displayModeBar": False},
                                id="emk-heatmap"))
        blocks.append(section(silent, "emk-silent-table"))

    return html.Div([
        st.store(),
        st.breadcrumb(),
        dbc.Row([
            dbc.Col([html.H3("Передача данных в ЭМК петербуржца", className="mb-0"),
                     html.Div(st.title, className="text-muted", id="emk-subtitle")], lg=7),
            dbc.Col(picker("emk", per, st.first, st.last), lg=5, className="align-self-end"),
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
