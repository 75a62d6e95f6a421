"""Цели показателей: the default regional target and overrides per district or organisation and period."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dash_table, dcc, html, no_update
from flask import current_app

from components.guard import refusal, role_refusal
from components.shell import loading
from core import fmt
from core.periods import PeriodError, parse_period
from data_access import units as U
from metrics import evaluate as E
from metrics import targets as TG
from security import current_user

dash.register_page(__name__, path="/admin/targets", name="Цели", title="Цели показателей — ИАМ", order=85,
                   menu="Цели показателей", roles=["admin", "committee"])

ROLES = ["admin", "committee"]
F = {k: f"tg-{k}" for k in ("code", "level", "unit", "from", "to", "value", "comment", "save", "delete", "msg",
                             "table", "history", "default")}
LEVEL_NAMES = {"region": "Город", "district": "Район", "mo": "Организация"}


def layout(code=None, **_):
    if (denied := role_refusal(current_user(), ROLES)) is not None:
        return denied
    reg = E.registry()
    code = code if code in reg else next(iter(reg.indicators))
    return html.Div([
        html.H3("Цели показателей"),
        html.P("Цель по умолчанию — региональная из реестра. Её можно заменить для города, района или организации "
               "с месяца (и до месяца). Действует самая точная цель: организации → её района → города → по умолчанию. "
               "Все изменения хранятся.", className="text-muted"),
        dbc.Row([dbc.Col(dcc.Dropdown(id=F["code"], options=[{"label": i.name, "value": i.code} for i in reg],
                                      value=code, clearable=False), md=8),
                 dbc.Col(html.Div(id=F["default"], className="mt-2"), md=4)], className="mb-3"),
        html.H5("Действующие замены"),
        loading(dash_table.DataTable(id=F["table"], row_selectable="single", page_size=15,
                             columns=[{"name": n, "id": i} for i, n in (("level_name", "Уровень"), ("unit", "Единица"),
                                                                        ("from", "С месяца"), ("to", "По месяц"),
                                                                        ("value", "Цель"), ("by", "Изменил"), ("at", "Когда"))],
                             style_cell={"fontFamily": "system-ui, sans-serif", "fontSize": 13, "textAlign": "left"})),
        html.H5("Задать или изменить цель", className="mt-4"),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id=F["level"], options=[{"label": v, "value": k} for k, v in LEVEL_NAMES.items()],
                                 value="district", clearable=False), md=2),
            dbc.Col(dcc.Dropdown(id=F["unit"], placeholder="Район или организация"), md=4),
            dbc.Col(dbc.Input(id=F["from"], placeholder="С месяца: 2026-01"), md=2),
            dbc.Col(dbc.Input(id=F["to"], placeholder="По месяц (необязательно)"), md=2),
            dbc.Col(dbc.Input(id=F["value"], placeholder="Цель, например 92,5"), md=2),
        ], className="g-2"),
        dbc.Input(id=F["comment"], placeholder="Основание изменения (приказ, решение)", className="mt-2"),
        dbc.Button("Сохранить", id=F["save"], color="primary", className="mt-2 me-2"),
        dbc.Button("Удалить выбранную замену", id=F["delete"], color="danger", outline=True, className="mt-2"),
        html.Div(id=F["msg"], className="mt-2"),
        html.H5("История изменений", className="mt-4"),
        loading(dash_table.DataTable(id=F["history"], page_size=15,
                             columns=[{"name": n, "id": i} for i, n in (("at", "Когда"), ("by", "Кто"), ("unit", "Единица"),
                                                                        ("period", "Период"), ("old", "Было"), ("new", "Стало"),
                                                                        ("comment", "Основание"))],
                             style_cell={"fontFamily": "system-ui, sans-serif", "fontSize": 12, "textAlign": "left"})),
    ])


def _unit_name(level, uid):
    if level == "region":
        return U.CITY_NAME
    u = U.unit(level, uid)
    return u.name if u else str(uid)


def _tables(code):
    ind = E.registry()[code]
    ov = TG.overrides(code)
    rows = [{"level": r["level"], "unit_id": int(r["unit_id"]), "level_name": LEVEL_NAMES[r["level"]],
             "unit": _unit_name(r["level"], r["unit_id"]), "from": f"{r['valid_from']:%Y-%m}",
             "to": f"{r['valid_to']:%Y-%m}" if r["valid_to"] == r["valid_to"] and r["valid_to"] else "",
             "value": fmt.number(r["value"], ind.decimals), "by": r["updated_by"], "at": fmt.datetime(r["updated_at"])}
            for r in ov.sort_values(["level", "unit_id", "valid_from"]).to_dict("records")]
    h = TG.history(code)
    hist = [{"at": fmt.datetime(r["changed_at"]), "by": r["changed_by"], "unit": _unit_name(r["level"], r["unit_id"]),
             "period": f"с {r['valid_from']:%m.%Y}" + (f" по {r['valid_to']:%m.%Y}"
                                                      if r["valid_to"] == r["valid_to"] and r["valid_to"] else ""),
             "old": fmt.number(r["old_value"], ind.decimals),
             "new": (fmt.number(r["new_value"], ind.decimals) if r["new_value"] == r["new_value"] and r["new_value"] is not None
                     else "удалена"),
             "comment": r["comment"] or ""} for r in h.to_dict("records")]
    default = f"По умолчанию: {fmt.number(ind.target, ind.decimals)} {ind.unit} ({'≥' if ind.higher_is_better else '≤'})"
    return rows, hist, default


@callback(Output(F["table"], "data"), Output(F["history"], "data"), Output(F["default"], "children"),
          Input(F["code"], "value"))
def show(code):
    if current_user() is None or current_user().role not in ROLES or code not in E.registry():
        return [], [], ""
    return _tables(code)


@callback(Output(F["unit"], "options"), Output(F["unit"], "value"), Input(F["level"], "value"))
def units_of(level):
    if current_user() is None or current_user().role not in ROLES:
        return [], None
    if level == "region":
        return [{"label": U.CITY_NAME, "value": 0}], 0
    if level == "district":
        return [{"label": r.name, "value": int(r.district_id)} for r in U.districts().itertuples()], None
    return [{"label": f"{r.short_name} ({r.district_name})", "value": int(r.mo_id)} for r in U.organisations().itertuples()], None


def _month(text, field, required=True):
    if not text:
        if required:
            raise TG.TargetError(f"Укажите {field} в формате ГГГГ-ММ")
        return None
    try:
        p = parse_period(text.strip())
    except PeriodError as exc:
        raise TG.TargetError(f"{field}: месяц в формате ГГГГ-ММ, например 2026-01") from exc
    if p.kind != "month":
        raise TG.TargetError(f"{field}: укажите один месяц ГГГГ-ММ")
    return p.first


@callback(Output(F["msg"], "children"), Output(F["table"], "data", allow_duplicate=True),
          Output(F["history"], "data", allow_duplicate=True), Input(F["save"], "n_clicks"),
          State(F["code"], "value"), State(F["level"], "value"), State(F["unit"], "value"), State(F["from"], "value"),
          State(F["to"], "value"), State(F["value"], "value"), State(F["comment"], "value"), prevent_initial_call=True)
def save(_n, code, level, unit_id, start, end, value, comment):
    user = current_user()
    if user is None or user.role not in ROLES:
        return refusal("Менять цели могут администратор и руководитель комитета"), no_update, no_update
    try:
        if unit_id is None:
            raise TG.TargetError("Выберите единицу")
        try:
            v = float(str(value).replace(",", ".").replace(" ", "").replace("\u00a0", ""))
        except ValueError as exc:
            raise TG.TargetError(f"Цель должна быть числом, а не «{value}»") from exc
        ch = TG.Change(code, level, int(unit_id), _month(start, "начало действия"), _month(end, "окончание", False), v,
                       comment or "")
        TG.save(E.registry()[code], ch, user.login, user.user_id)
    except TG.TargetError as exc:
        return dbc.Alert(str(exc), color="warning"), no_update, no_update
    current_app.extensions["iam"]["cache"].touch()
    rows, hist, _ = _tables(code)
    return dbc.Alert("Цель сохранена", color="success", duration=4000), rows, hist


@callback(Output(F["msg"], "children", allow_duplicate=True), Output(F["table"], "data", allow_duplicate=True),
          Output(F["history"], "data", allow_duplicate=True), Input(F["delete"], "n_clicks"),
          State(F["code"], "value"), State(F["table"], "selected_rows"), State(F["table"], "data"),
          State(F["comment"], "value"), prevent_initial_call=True)
def delete(_n, code, selected, data, comment):
    user = current_user()
    if user is None or user.role not in ROLES:
        return refusal("Менять цели могут администратор и руководитель комитета"), no_update, no_update
    if not selected:
        return dbc.Alert("Выберите замену в таблице", color="warning"), no_update, no_update
    r = data[selected[0]]
    try:
        start = _month(r["from"], "начало")
        TG.save(E.registry()[code], TG.Change(code, r["level"], r["unit_id"], start,
                                              _month(r["to"], "окончание", False), None, comment or ""), user.login,
                user.user_id)
    except TG.TargetError as exc:
        return dbc.Alert(str(exc), color="warning"), no_update, no_update
    current_app.extensions["iam"]["cache"].touch()
    rows, hist, _ = _tables(code)
    return dbc.Alert("Замена удалена", color="success", duration=4000), rows, hist
