"""Доступность медицинской помощи: waits against the state-guarantee norms by specialty and channel,
the nearest free slot, doctors who cannot be booked, use of schedules — city → district →
organisation → specialty → doctor."""
from __future__ import annotations

import datetime as dt
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
from components.tablespec import build, section
from data_access import access as A
from data_access.reference import CHANNELS
from metrics import evaluate as E
from metrics.periods import PeriodError, parse_period
from reports.access import date_param
from security import current_scope

dash.register_page(__name__, path="/access", name="Доступность", title="Доступность медицинской помощи — ИАМ",
                   order=45, menu="Доступность")

DATE = "acc-date"
STATE = ids("access")["state"]
CHILDREN = "acc-children-table"
INDICATOR_LEVEL = {"region": "region", "district": "district", "mo": "mo", "spec": None, "doctor": "doctor"}
CHANNEL_COLORS = {"portal": "#0d6efd", "call_center": "#6f42c1", "infomat": "#20c997", "registry": "#fd7e14",
                  "referral": "#6c757d"}


def access_url(level: str, unit_id=None, mo=None, period=None, date=None) -> str:
    q = {"level": level}
    for k, v in (("id", unit_id), ("mo", mo), ("period", period), ("date", date)):
        if v not in (None, ""):
            q[k] = v
    return "/access?" + urlencode(q)


def layout(level=None, id=None, mo=None, period=None, date=None, **_):  # noqa: A002
    return _layout(level or "region", id, mo, period, date)


@scoped
def _layout(level, unit_id, mo, period, date):
    span = E.data_span()
    if span is None:
        return dbc.Alert("Витрины ещё не построены.", color="info")
    first, last = span
    from components.tablespec import TableParamError
    try:
        per = parse_period(period) if period else parse_period(f"{last:%Y-%m}")
        n = A.node(level, unit_id, mo)
        as_of = date_param({"date": date})
    except (PeriodError, A.AccessError, TableParamError) as exc:
        return dbc.Alert([str(exc), " ", dcc.Link("Открыть город", href=access_url("region"))], color="warning",
                         id="acc-problem")
    if per.first > last or per.last < first:
        return dbc.Alert(f"За «{per.label}» данных нет.", color="warning", id="acc-problem")
    scope = current_scope()
    A.check_scope(n, scope)
    params = {"level": n.level, "id": n.id, "mo": n.mo_id if n.level == "spec" else None, "period": per.key}
    dparams = {**params, "date": as_of.isoformat()}
    crumbs = [{"label": u.name if u.level != "spec" else f"{u.name}", "href": access_url(
        u.level, u.id, u.mo_id if u.level == "spec" else None, per.key, date)} for u in A.lineage(n)]
    crumbs[-1] = {"label": crumbs[-1]["label"], "active": True}

    cards = []
    ind_level = INDICATOR_LEVEL[n.level]
    for code in ("access_primary_24h", "access_specialist_norm", "access_diagnostic_norm",
                 "access_specialist_median_wait", "access_open_positions", "access_no_show"):
        ind = E.registry()[code]
        if ind_level and ind.valid_at(ind_level):
            uid = n.id if ind_level != "region" else None
            v = E.unit_value(code, ind_level, uid, per, scope)
            spark = E.trend(code, ind_level, uid, per.last, 12, scope)
            cards.append(dbc.Col(kpi.card(ind, v, spark, f"/indicator/{code}", per.label), md=4, xl=2, className="mb-3"))

    # the mix of channels month by month (24 months)
    months24 = tuple(m for m in E.data_months() if m <= per.last)[-24:]
    mix = A.channel_trend(n.level, n.id, n.mo_id, months24, scope)
    mix_fig = charts.empty("Нет записей")
    if len(mix):
        piv = mix.pivot_table(index="month", columns="channel", values="bookings", aggfunc="sum", fill_value=0)
        shares = piv.div(piv.sum(axis=1), axis=0) * 100
        x = [fmt.month_short(m if isinstance(m, dt.date) else m.date()) for m in shares.index]
        mix_fig = {"data": [{"type": "scatter", "mode": "lines", "stackgroup": "one", "name": CHANNELS[c], "x": x,
                             "y": shares[c].round(1).tolist(), "line": {"color": CHANNEL_COLORS[c]},
                             "hovertemplate": CHANNELS[c] + ": %{y:,.1f} %<extra></extra>"}
                            for c in CHANNELS if c in shares.columns],
                   "layout": charts._layout(height=300, yaxis={"title": {"text": "% записей"}, "range": [0, 100]},
                                            legend={"orientation": "h", "y": -0.2})}
    nearest = build("access-nearest", dparams, scope)
    blocks = []
    if A.CHILD[n.level]:
        blocks.append(section(build("access-children", params, scope), CHILDREN, row_id="child_id",
                              style_data_conditional=[{"if": {"column_id": "name"}, "color": "#0d6efd", "cursor": "pointer"},
                                                      {"if": {"filter_query": "{specialist} is num && {specialist} < 95", "column_id": "specialist"},
                                                       "backgroundColor": LIGHT["bad"]},
                                                      {"if": {"filter_query": "{primary_24h} is num && {primary_24h} < 90",
                                                        "column_id": "primary_24h"},
                                                       "backgroundColor": LIGHT["bad"]}]))
    blocks += [
        section(build("access-specialties", params, scope), "acc-spec-table",
                style_data_conditional=[{"if": {"filter_query": "{within} is num && {within} < 95", "column_id": "within"},
                                         "backgroundColor": LIGHT["bad"]}]),
        section(build("access-channels", params, scope), "acc-channel-table"),
        html.H5("Каналы записи за 24 месяца", className="mt-3"),
        dcc.Graph(figure=mix_fig, config={"displayModeBar": False}, id="acc-channel-mix"),
        dbc.Row([dbc.Col(html.H5("Расписание на дату", className="mt-4 mb-0"), width="auto"),
                 dbc.Col(dcc.DatePickerSingle(id=DATE, date=as_of.isoformat(), display_format="DD.MM.YYYY",
                                              first_day_of_week=1, min_date_allowed=first.isoformat()),
                         width="auto", className="mt-3")], className="align-items-center"),
        section(nearest, "acc-nearest-table", style_data_conditional=[
            {"if": {"filter_query": '{beyond_st} = "bad"'}, "backgroundColor": LIGHT["bad"]}]),
        section(build("access-not-bookable", dparams, scope), "acc-closed-table"),
        section(build("access-slots", params, scope), "acc-slots-table"),
    ]
    return html.Div([
        page_state("access", "/access", {**params, "date": date or None}, child=A.CHILD[n.level], as_of=as_of.isoformat()),
        dbc.Breadcrumb(items=crumbs, className="mb-1", id="acc-breadcrumbs"),
        dbc.Row([
            dbc.Col([html.H3("Доступность медицинской помощи", className="mb-0"),
                     html.Div(f"{n.name if n.level != 'spec' else crumbs[-2]['label'] + ' — ' + n.name} · {per.label}",
                              className="text-muted", id="acc-subtitle")], lg=7),
            dbc.Col(picker("access", per, first, last), lg=5, className="align-self-end"),
        ], className="mb-3"),
        html.P("Нормативы программы госгарантий: терапевт, педиатр, ВОП — 24 часа; специалисты — 14 рабочих дней "
               "(3 при подозрении на онкологию или ССЗ); диагностика — 14 рабочих дней (7 при подозрении). Рабочие дни — "
               "по производственному календарю РФ с праздниками и переносами.", className="small text-muted"),
        dbc.Row(cards),
        html.Div("Нажмите на название в таблице, чтобы перейти на уровень ниже." if A.CHILD[n.level] else "",
                 className="small text-muted"),
    ] + blocks)


@callback(Output(NAV, "href", allow_duplicate=True), Input(DATE, "date"), State(STATE, "data"),
          prevent_initial_call=True)
def change_date(value, state):
    if not value or not state or value[:10] == state["as_of"]:
        return no_update
    q = state["query"]
    return access_url(q["level"], q["id"], q["mo"], q["period"], value[:10])


@callback(Output(NAV, "href", allow_duplicate=True), Input(CHILDREN, "active_cell"), State(STATE, "data"),
          prevent_initial_call=True)
def drill(cell, state):
    rid = drilled_row(cell, state)
    if rid is None:
        return no_update
    child, q = state["child"], state["query"]
    if child == "spec":
        return access_url("spec", rid, q["id"], q["period"], q["date"])
    return access_url(child, rid, None, q["period"], q["date"])
