"""Администрирование: users, roles and their place (district or organisation)."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dash_table, dcc, html, no_update
from flask import current_app

from components.guard import refusal, role_refusal
from core import fmt
from data_access import units as U
from security import current_user, users
from security.roles import ROLE_NAMES, ROLES

dash.register_page(__name__, path="/admin/users", name="Пользователи", title="Пользователи — ИАМ", order=92,
                   menu="Пользователи", roles=["admin"])

TABLE, MSG = "users-table", "users-message"
F = {k: f"user-{k}" for k in ("login", "name", "role", "district", "mo", "password", "create", "toggle", "reset",
                               "newpass", "pwmsg")}


def _db():
    return current_app.extensions["iam"]["db"]


def _rows():
    df = users.list_users(_db())
    d = dict(zip(U.districts()["district_id"], U.districts()["name"]))
    o = U.organisations().set_index("mo_id")["short_name"].to_dict()
    df["role_name"] = df["role"].map(ROLE_NAMES)
    df["place"] = [d.get(di) if di == di and di is not None else (o.get(mi) if mi == mi and mi is not None else "весь город")
                   for di, mi in zip(df["district_id"], df["mo_id"])]
    df["active"] = df["is_active"].map({True: "да", False: "нет"})
    df["last"] = [fmt.datetime(x) if x == x and x is not None else "—" for x in df["last_login_at"]]
    return df[["user_id", "login", "full_name", "role_name", "place", "active", "last"]].to_dict("records")


def layout(**_):
    if (denied := role_refusal(current_user(), ["admin"])) is not None:
        return denied
    districts = [{"label": r.name, "value": int(r.district_id)} for r in U.districts().itertuples()]
    orgs = [{"label": f"{r.short_name} ({r.district_name})", "value": int(r.mo_id)} for r in U.organisations().itertuples()]
    return html.Div([
        html.H3("Пользователи"),
        html.Div(id=MSG),
        dash_table.DataTable(id=TABLE, data=_rows(), row_selectable="single", sort_action="native", page_size=20,
                             columns=[{"name": n, "id": i} for i, n in (("login", "Логин"), ("full_name", "ФИО"),
                                                                        ("role_name", "Роль"), ("place", "Область данных"),
                                                                        ("active", "Активен"), ("last", "Последний вход"))],
                             style_cell={"fontFamily": "system-ui, sans-serif", "fontSize": 13, "textAlign": "left"}),
        dbc.Row([
            dbc.Col(dbc.Button("Заблокировать / разблокировать", id=F["toggle"], color="secondary", size="sm"), width="auto"),
            dbc.Col(dbc.Input(id=F["newpass"], type="password", placeholder="Новый пароль", size="sm"), width=3),
            dbc.Col(dbc.Button("Сменить пароль", id=F["reset"], color="secondary", size="sm"), width="auto"),
            dbc.Col(html.Div(id=F["pwmsg"], className="small"), width="auto"),
        ], className="g-2 my-2 align-items-center"),
        html.H5("Новый пользователь", className="mt-4"),
        dbc.Row([
            dbc.Col(dbc.Input(id=F["login"], placeholder="Логин (латиница)"), md=2),
            dbc.Col(dbc.Input(id=F["name"], placeholder="ФИО"), md=3),
            dbc.Col(dcc.Dropdown(id=F["role"], options=[{"label": r.name, "value": c} for c, r in ROLES.items()],
                                 placeholder="Роль"), md=2),
            dbc.Col(dcc.Dropdown(id=F["district"], options=districts, placeholder="Район"), md=2),
            dbc.Col(dcc.Dropdown(id=F["mo"], options=orgs, placeholder="Организация"), md=3),
        ], className="g-2"),
        dbc.Row([
            dbc.Col(dbc.Input(id=F["password"], type="password",
                              placeholder="Пароль (не короче 10 символов, буквы и цифры)"), md=4),
            dbc.Col(dbc.Button("Создать", id=F["create"], color="primary"), width="auto"),
        ], className="g-2 mt-1"),
    ])


def _admin():
    u = current_user()
    return u if u is not None and u.role == "admin" else None


@callback(Output(MSG, "children"), Output(TABLE, "data"), Output(F["password"], "value"),
          Input(F["create"], "n_clicks"),
          State(F["login"], "value"), State(F["name"], "value"), State(F["role"], "value"), State(F["district"], "value"),
          State(F["mo"], "value"), State(F["password"], "value"), prevent_initial_call=True)
def create_user(_n, login, name, role, district, mo, password):
    admin = _admin()
    if admin is None:
        return refusal("Создавать пользователей может только администратор"), no_update, no_update
    if not role:
        return dbc.Alert("Выберите роль", color="warning"), no_update, no_update
    try:
        u = users.create(_db(), login=login or "", full_name=name or login or "", role=role, password=password or "",
                         district_id=district, mo_id=mo, by=admin.login)
    except users.UserError as exc:
        return dbc.Alert(str(exc), color="warning"), no_update, no_update
    return dbc.Alert(f"Пользователь {u.login} создан", color="success"), _rows(), ""


@callback(Output(MSG, "children", allow_duplicate=True), Output(TABLE, "data", allow_duplicate=True),
          Input(F["toggle"], "n_clicks"), State(TABLE, "selected_rows"), State(TABLE, "data"), prevent_initial_call=True)
def toggle(_n, selected, data):
    admin = _admin()
    if admin is None:
        return refusal(), no_update
    if not selected:
        return dbc.Alert("Выберите пользователя в таблице", color="warning"), no_update
    row = data[selected[0]]
    if row["login"] == admin.login:
        return dbc.Alert("Нельзя заблокировать самого себя", color="warning"), no_update
    users.set_active(_db(), row["user_id"], row["active"] != "да", by=admin.login)
    return dbc.Alert(f"Пользователь {row['login']} {'разблокирован' if row['active'] != 'да' else 'заблокирован'}",
                     color="success"), _rows()


@callback(Output(F["pwmsg"], "children"), Output(F["newpass"], "value"), Input(F["reset"], "n_clicks"),
          State(TABLE, "selected_rows"), State(TABLE, "data"), State(F["newpass"], "value"), prevent_initial_call=True)
def reset_password(_n, selected, data, password):
    admin = _admin()
    if admin is None:
        return "Нет доступа", no_update
    if not selected:
        return "Выберите пользователя в таблице", no_update
    try:
        users.set_password(_db(), data[selected[0]]["login"], password or "", by=admin.login)
    except users.UserError as exc:
        return str(exc), no_update
    return "Пароль изменён", ""
