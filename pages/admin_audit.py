"""Журнал аудита: who logged in, who exported what, who changed which task, target or user."""
from __future__ import annotations

import datetime as dt

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dash_table, dcc, html
from flask import current_app

from components.guard import role_refusal
from components.shell import loading
from core import fmt
from security import audit as audit_mod
from security import current_user

dash.register_page(__name__, path="/admin/audit", name="Журнал аудита", title="Журнал аудита — ИАМ", order=93,
                   menu="Журнал аудита", roles=["admin"])

F = {k: f"audit-{k}" for k in ("action", "login", "from", "to", "text", "table")}


def layout(**_):
    if (denied := role_refusal(current_user(), ["admin"])) is not None:
        return denied
    return html.Div([
        html.H3("Журнал аудита"),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id=F["action"], options=[{"label": v, "value": k} for k, v in audit_mod.ACTIONS.items()],
                                 placeholder="Действие"), md=3),
            dbc.Col(dbc.Input(id=F["login"], placeholder="Логин", debounce=True), md=2),
            dbc.Col(dcc.DatePickerRange(id=F["from"], display_format="DD.MM.YYYY", first_day_of_week=1,
                                        start_date_placeholder_text="с", end_date_placeholder_text="по"), md=4),
            dbc.Col(dbc.Input(id=F["text"], placeholder="Объект или подробности содержат…", debounce=True), md=3),
        ], className="g-2 mb-3"),
        loading(dash_table.DataTable(id=F["table"], page_size=25, sort_action="native",
                             columns=[{"name": n, "id": i} for i, n in (("at", "Когда"), ("login", "Кто"),
                                                                        ("action_name", "Действие"), ("object", "Объект"),
                                                                        ("details", "Подробности"), ("ip", "Адрес"))],
                             style_cell={"fontFamily": "system-ui, sans-serif", "fontSize": 12, "textAlign": "left",
                                         "whiteSpace": "normal", "height": "auto"})),
    ])


def _date(x):
    return dt.date.fromisoformat(x[:10]) if x else None


@callback(Output(F["table"], "data"), Input(F["action"], "value"), Input(F["login"], "value"),
          Input(F["from"], "start_date"), Input(F["from"], "end_date"), Input(F["text"], "value"))
def search(action, login, start, end, text):
    user = current_user()
    if user is None or user.role != "admin":
        return []
    df = audit_mod.search(current_app.extensions["iam"]["db"], action=action or None, login=(login or "").strip() or None,
                          date_from=_date(start), date_to=_date(end), text=(text or "").strip() or None)
    df["at"] = [fmt.datetime(x) for x in df["logged_at"]]
    df["action_name"] = df["action"].map(audit_mod.ACTIONS).fillna(df["action"])
    return df[["at", "login", "action_name", "object", "details", "ip"]].to_dict("records")
