"""Доступность медицинской помощи: waits against the state-guarantee norms by specialty and channel,
the nearest free slot, doctors who cannot be booked, use of schedules — city → district →
organisation → specialty → doctor."""
from __future__ import annotations

import datetime as dt

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
from data_access.reference import CHANNELS
from metrics import access as AM
from metrics import evaluate as E
from reports.access import date_param
from security import current_scope

dash.register_page(__name__, path="/access", name="Доступность", title="Доступность медицинской помощи — ИАМ",
                   order=45, menu="Доступность")

DATE = "acc-date"
CHILDREN = "acc-children-table"
CHANNEL_COLORS = {"portal": "#0d6efd", "call_center": "#6f42c1", "infomat": "#20c997", "registry": "#fd7e14",
                  "referral": "#6c757d"}
VIEW_STATE = ids("access")["state"]
VIEW = View(page="access", path="/access", drill="access", prefix="acc", group="access", extra=("date",))


def layout(level=None, id=None, mo=None, period=None, date=None, **_):  # noqa: A002
    return _layout({"level": level, "id": id, "mo": mo, "period": period, "date": date})


@scoped
def _layout(params: dict):
    return page(VIEW, params, _render, current_scope(), E.data_span())


def _render(st: PageState):
    n, per, scope, params = st.unit, st.period, st.scope, st.params
    try:
        as_of = date_param(st.extra)
    except TableParamError as exc:
        raise Problem(str(exc)) from exc
    dparams = {**params, "date": as_of.isoformat()}
    cards = st.cards(md=4, xl=3)

    # the mix of channels month by month (24 months)
    months24 = tuple(m for m in E.data_months() if m <= per.last)[-24:]
    mix = AM.channel_trend(n.level, n.id, n.mo_id, months24, scope)
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
    if st.child:
        blocks.append(drill_table(build("access-children", params, scope), "access", CHILDREN, row_id="child_id",
                                  style_data_conditional=[{"if": {"filter_query": "{specialist} is num && {specialist} < 95",
                                                                  "column_id": "specialist"},
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
                                              first_day_of_week=1, min_date_allowed=st.first.isoformat()),
                         width="auto", className="mt-3")], className="align-items-center"),
        section(nearest, "acc-nearest-table", style_data_conditional=[
            {"if": {"filter_query": '{beyond_st} = "bad"'}, "backgroundColor": LIGHT["bad"]}]),
        section(build("access-not-bookable", dparams, scope), "acc-closed-table"),
        section(build("access-slots", params, scope), "acc-slots-table"),
    ]
    return html.Div([
        st.store(as_of=as_of.isoformat()),
        st.breadcrumb(),
        dbc.Row([
            dbc.Col([html.H3("Доступность медицинской помощи", className="mb-0"),
                     html.Div(st.title, className="text-muted", id="acc-subtitle")], lg=7),
            dbc.Col(picker("access", per, st.first, st.last), lg=5, className="align-self-end"),
        ], className="mb-3"),
        html.P("Нормативы программы госгарантий: терапевт, педиатр, ВОП — 24 часа; специалисты — 14 рабочих дней "
               "(3 при подозрении на онкологию или ССЗ); диагностика — 14 рабочих дней (7 при подозрении). Рабочие дни — "
               "по производственному календарю РФ с праздниками и переносами.", className="small text-muted"),
        dbc.Row(cards),
        html.Div("Нажмите на название в таблице, чтобы перейти на уровень ниже." if st.child else "",
                 className="small text-muted"),
    ] + blocks)


@callback(Output(NAV, "href", allow_duplicate=True), Input(DATE, "date"), State(VIEW_STATE, "data"),
          prevent_initial_call=True)
def change_date(value, state):
    if not value or not state or value[:10] == state["as_of"]:
        return no_update
    return state_url(state, date=value[:10])
