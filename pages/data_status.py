"""«Состояние данных»: what the database holds and which marts are built."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html
from flask import current_app

from core import fmt
from data_access import schema
from data_access.refresh_log import recent
from data_access.status import data_status
from security import current_user

dash.register_page(__name__, path="/data", name="Данные", title="Состояние данных — ИАМ", order=90,
                   menu="Состояние данных", roles=["admin", "analyst", "committee"])

TABLE_NAMES = {t.name: t.info["doc"] for t in schema.CONTRACT_TABLES}
KINDS = {"build-marts": "Построение витрин", "import-data": "Загрузка выгрузки РМИС", "demo-data": "Демо-данные",
         "scheduled": "Плановое обновление"}
STATUS = {"ok": ("успешно", "success"), "failed": ("ошибка", "danger"), "running": ("идёт", "info")}


def refreshes(db) -> list:
    """The last refresh in one line (red when it failed) and the log of the latest ten."""
    runs = recent(db, 10)
    if not runs:
        return [html.P("Обновлений данных ещё не было.", className="text-muted", id="data-last-refresh")]
    last = runs[0]
    text, color = STATUS.get(last["status"], (last["status"], "secondary"))
    took = f", {fmt.number(last['seconds'], 0)} с" if last["seconds"] is not None else ""
    head = dbc.Alert([f"Последнее обновление: {KINDS.get(last['kind'], last['kind'])}, {fmt.datetime(last['started_at'])}"
                      f"{took} — {text}.", html.Div(last["message"], className="small") if last["status"] == "failed"
                      and last["message"] else None], color=color, id="data-last-refresh", className="py-2")
    rows = [html.Tr([html.Td(KINDS.get(r["kind"], r["kind"])), html.Td(r["months"] or "все месяцы"),
                     html.Td(fmt.datetime(r["started_at"])),
                     html.Td(fmt.number(r["seconds"], 0) if r["seconds"] is not None else "—", className="text-end"),
                     html.Td(fmt.number(r["rows"]) if r["rows"] is not None else "—", className="text-end"),
                     html.Td(dbc.Badge(STATUS.get(r["status"], (r["status"], "secondary"))[0],
                                       color=STATUS.get(r["status"], ("", "secondary"))[1])),
                     html.Td(r["message"] or "", className="small text-muted")]) for r in runs]
    table = dbc.Table([html.Thead(html.Tr([html.Th("Что"), html.Th("Месяцы"), html.Th("Начато"),
                                           html.Th("Секунд", className="text-end"), html.Th("Строк", className="text-end"),
                                           html.Th("Итог"), html.Th("Сообщение")])), html.Tbody(rows)],
                      size="sm", striped=True, hover=True, id="data-refresh-log")
    return [head, html.H4("Обновления данных", className="mt-4"), table]


def layout(**_kwargs):
    from components.guard import role_refusal
    if (denied := role_refusal(current_user(), ["admin", "analyst", "committee"])) is not None:
        return denied
    db = current_app.extensions["iam"]["db"]
    st = data_status(db)
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
        refresh_button(current_user()),
        *refreshes(db),
        html.H4("Первичные данные (аналитический контракт)", className="mt-4"),
        dbc.Table([html.Thead(html.Tr([html.Th("Таблица"), html.Th("Содержание"), html.Th("Строк", className="text-end"),
                                       html.Th("Период")])), html.Tbody(rows)], size="sm", striped=True, hover=True),
        html.H4("Витрины", className="mt-4"),
        dbc.Table([html.Thead(html.Tr([html.Th("Витрина"), html.Th("Месяцев", className="text-end"), html.Th("Период"),
                                       html.Th("Строк", className="text-end"), html.Th("Построена")])),
                   html.Tbody(mrows)], size="sm", striped=True, hover=True),
    ])


REFRESH_BTN, REFRESH_MSG = "data-refresh-start", "data-refresh-msg"


def refresh_button(user):
    """An administrator rebuilds the marts of the last months while the app keeps serving."""
    if user is None or user.role != "admin":
        return None
    n = current_app.extensions["iam"]["config"].refresh_months
    return html.Div([dbc.Button(f"Обновить витрины за последние {n} мес.", id=REFRESH_BTN, color="primary",
                                size="sm", className="me-2"),
                     html.Span(id=REFRESH_MSG, className="small")], className="mb-3")


@callback(Output(REFRESH_MSG, "children"), Input(REFRESH_BTN, "n_clicks"), prevent_initial_call=True)
def start_refresh(n_clicks):
    from services.refresh import RefreshBusy, RefreshError, last_months
    user = current_user()
    if not n_clicks or user is None or user.role != "admin":
        return "Обновлять данные может только администратор."
    iam = current_app.extensions["iam"]
    try:
        first, last = last_months(iam["db"], iam["config"].refresh_months)
        iam["refresher"].start(first, last, by=user.login)
    except (RefreshBusy, RefreshError) as exc:
        return str(exc)
    return (f"Обновление {fmt.month_short(first)}–{fmt.month_short(last)} запущено: страница продолжает работать, "
            "итог появится в журнале ниже после обновления страницы.")


def _d(x):
    return x.date() if hasattr(x, "date") and callable(x.date) else x
