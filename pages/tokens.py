"""API-токены: an analyst's own tokens — create (shown once), list, revoke."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dash_table, html, no_update
from flask import current_app

from components.guard import refusal, role_refusal
from core import fmt
from security import current_user, tokens
from security.users import UserError

dash.register_page(__name__, path="/tokens", name="API-токены", title="API-токены — ИАМ", order=91,
                   menu="API-токены", roles=["analyst", "admin"])

NAME, CREATE, SHOW, TABLE, REVOKE, MSG = "tok-name", "tok-create", "tok-show", "tok-table", "tok-revoke", "tok-msg"


def _db():
    return current_app.extensions["iam"]["db"]


def _rows(user):
    df = tokens.list_for(_db(), user)
    return [{"token_id": r.token_id, "name": r.name, "prefix": r.prefix + "…", "created": fmt.datetime(r.created_at),
             "used": fmt.datetime(r.last_used_at) if r.last_used_at == r.last_used_at and r.last_used_at else "—",
             "state": "отозван" if r.revoked_at == r.revoked_at and r.revoked_at else "действует"}
            for r in df.itertuples()]


def layout(**_):
    user = current_user()
    if (denied := role_refusal(user, ["analyst", "admin"])) is not None:
        return denied
    return html.Div([
        html.H3("API-токены"),
        html.P(["Токен передаётся в заголовке ", html.Code("Authorization: Bearer <токен>"),
                ". Он показывается один раз; в базе хранится только его хеш. Данные по токену — в вашей области доступа."],
               className="text-muted"),
        dbc.Row([dbc.Col(dbc.Input(id=NAME, placeholder="Назначение (например, «Выгрузка в BI»)"), md=5),
                 dbc.Col(dbc.Button("Выпустить токен", id=CREATE, color="primary"), width="auto")], className="g-2"),
        html.Div(id=SHOW, className="my-3"),
        dash_table.DataTable(id=TABLE, data=_rows(user), row_selectable="single",
                             columns=[{"name": n, "id": i} for i, n in (("name", "Назначение"), ("prefix", "Начало"),
                                                                        ("created", "Выпущен"), ("used", "Использован"),
                                                                        ("state", "Состояние"))],
                             style_cell={"fontFamily": "system-ui, sans-serif", "fontSize": 13, "textAlign": "left"}),
        dbc.Button("Отозвать выбранный", id=REVOKE, color="danger", outline=True, size="sm", className="mt-2"),
        html.Div(id=MSG, className="mt-2"),
    ])


@callback(Output(SHOW, "children"), Output(TABLE, "data"), Input(CREATE, "n_clicks"), State(NAME, "value"),
          prevent_initial_call=True)
def create(_n, name):
    user = current_user()
    try:
        token = tokens.create(_db(), user, name or "")
    except UserError as exc:
        return refusal(str(exc)), no_update
    return dbc.Alert([html.Div("Скопируйте токен сейчас — больше он показан не будет:"),
                      html.Code(token, id="tok-value")], color="success"), _rows(user)


@callback(Output(MSG, "children"), Output(TABLE, "data", allow_duplicate=True), Input(REVOKE, "n_clicks"),
          State(TABLE, "selected_rows"), State(TABLE, "data"), prevent_initial_call=True)
def revoke(_n, selected, data):
    user = current_user()
    if not selected:
        return dbc.Alert("Выберите токен в таблице", color="warning"), no_update
    try:
        tokens.revoke(_db(), user, data[selected[0]]["token_id"])
    except UserError as exc:
        return dbc.Alert(str(exc), color="warning"), no_update
    return dbc.Alert("Токен отозван", color="success"), _rows(user)
