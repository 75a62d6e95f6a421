"""«Состояние данных»: what the database holds and which marts are built."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html
from flask import current_app

from core import fmt
from data_access import schema
from data_access.status import data_status

dash.register_page(__name__, path="/data", name="Данные", title="Состояние данных — ИАМ", order=90,
                   menu="Состояние данных", roles=["admin", "analyst", "committee"])

TABLE_NAMES = {t.name: t.info["doc"] for t in schema.CONTRACT_TABLES}


def layout(**_kwargs):
    from components.guard import role_refusal
    from security import current_user
    if (denied := role_refusal(current_user(), ["admin", "analyst", "committee"])) is not None:
        return denied
    st = data_status(current_app.extensions["iam"]["db"])
    if not st.has_data:
        return dbc.Alert(["В базе нет первичных данных. Загрузите их командой ",
                          html.Code("flask --app app demo-data"), "."], color="warning")
    rows = []
    for name, n in st.tables.items():
        period = st.periods.get(name)
        rows.append(html.Tr([html.Td(html.Code(name)), html.Td(TABLE_NAMES.get(name, "")),
                             html.Td(fmt.number(n), className="text-end"),
                             html.Td(f"{fmt.date(_d(period[0]))} – {fmt.date(_d(period[1]))}" if period else "")]))
    mrows = []
    for name, m in st.marts.items():
        mrows.append(html.Tr([html.Td(html.Code(name)), html.Td(fmt.number(m["months"]), className="text-end"),
                              html.Td(f"{fmt.month_short(m['first'])} – {fmt.month_short(m['last'])}" if m["months"]
                                      else "не построена"),
                              html.Td(fmt.number(m["rows"] or 0), className="text-end"),
                              html.Td(fmt.datetime(m["built_at"]))]))
    return html.Div([
        html.H2("Состояние данных"),
        html.P(f"Период данных: {fmt.month_name(st.first_month)} – {fmt.month_name(st.last_month)}.",
               className="lead"),
        html.H4("Первичные данные (аналитический контракт)", className="mt-4"),
        dbc.Table([html.Thead(html.Tr([html.Th("Таблица"), html.Th("Содержание"), html.Th("Строк", className="text-end"),
                                       html.Th("Период")])), html.Tbody(rows)], size="sm", striped=True, hover=True),
        html.H4("Витрины", className="mt-4"),
        dbc.Table([html.Thead(html.Tr([html.Th("Витрина"), html.Th("Месяцев", className="text-end"), html.Th("Период"),
                                       html.Th("Строк", className="text-end"), html.Th("Построена")])),
                   html.Tbody(mrows)], size="sm", striped=True, hover=True),
    ])


def _d(x):
    return x.date() if hasattr(x, "date") and callable(x.date) else x
