"""Задача: facts at creation, status moves, edits with the version check, comments, history, result — before the due
date whether the current pace reaches the target by it (``metrics.forecast``), after it whether it was reached."""
from __future__ import annotations

import datetime as dt

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from flask import current_app

from components.guard import refused, scoped
from core import fmt
from core.periods import Period
from core.periods import words as period_words
from data_access import tasks as T
from data_access import units as U
from data_access import users
from data_access.scope import ScopeError
from metrics import evaluate as E
from security import current_scope, current_user
from services import control

dash.register_page(__name__, path_template="/task/<task_id>", name="Задача", title="Задача — ИАМ")

STATE, BOX, MSG = "task-state", "task-box", "task-msg"
F = {k: f"task-{k}" for k in ("assignee", "due", "descr", "mo", "save", "comment", "send")}
MOVE = "task-move"
MOVE_LABELS = {"in_progress": "Взять в работу", "review": "Отправить на проверку", "done": "Принять выполнение",
               "cancelled": "Отменить"}


def _db():
    return current_app.extensions["iam"]["db"]


def layout(task_id=None, **_):
    return _layout(task_id)


@scoped
def _layout(task_id):
    try:
        tid = int(task_id)
    except (TypeError, ValueError):
        return dbc.Alert("Номер задачи должен быть числом.", color="warning", id="task-problem")
    try:
        t = T.get(_db(), tid, current_scope())
    except T.TaskNotFound as exc:
        return dbc.Alert(str(exc), color="warning", id="task-problem")
    return html.Div([dcc.Store(id=STATE, data={"task_id": tid, "version": t["version"]}),
                     html.Div(id=MSG), html.Div(view(t), id=BOX)])


def _people():
    """Login → full name (a login that is not an account, e.g. «cli», stays as it is)."""
    names = users.full_names(_db())
    return lambda login: names.get(login, login)


def view(t: dict):
    user = current_user()
    ind = E.registry()[t["code"]]
    unit = U.unit(t["level"], t["unit_id"])
    control_ok, executor = T.can_control(user, t), T.is_executor(user, t)
    moves = [s for s in T.TRANSITIONS[t["status"]] if control_ok or (executor and (t["status"], s) in T.EXECUTOR_MOVES)]
    overdue = T.is_overdue(t)
    res = control.outcome(t)
    outcome = html.Div()
    if res is not None:
        if res["value"] is None:
            outcome = dbc.Alert(f"Срок прошёл; данных за {fmt.month_name(res['month'])} ещё нет.", color="secondary",
                                id="task-outcome")
        else:
            ok = res["achieved"]
            outcome = dbc.Alert([html.B("Цель достигнута" if ok else "Цель не достигнута"),
                                 f": за {fmt.month_name(res['month'])} — {fmt.number(res['value'], ind.decimals)} "
                                 f"{ind.unit} при цели {fmt.number(res['target'], ind.decimals)}."],
                                color="success" if ok else "danger", id="task-outcome")
    orgs = U.in_scope(current_scope(), "mo")
    orgs = orgs[orgs["district_id"] == t["district_id"]]
    editable = control_ok
    who = _people()
    hist = [html.Tr([html.Td(fmt.datetime(h["changed_at"]), className="small"), html.Td(who(h["author"]), className="small"),
                     html.Td(T.FIELD_NAMES.get(h["field"], h["field"]), className="small"),
                     html.Td(h["old_value"] or "", className="small"), html.Td(h["new_value"] or "", className="small")])
            for h in t["history"]]
    comments = [html.Div([html.Div([html.B(who(c["author"])), " · ", fmt.datetime(c["written_at"])],
                                   className="small text-muted"),
                          html.Div(c["text"])], className="border-start ps-2 mb-2") for c in t["comments"]]
    return html.Div([
        dbc.Breadcrumb(items=[{"label": "Задачи", "href": "/tasks"}, {"label": f"№ {t['task_id']}", "active": True}],
                       className="mb-1"),
        html.H3(t["title"], id="task-title"),
        html.Div([dbc.Badge(T.STATUSES[t["status"]], color=T.STATUS_COLORS[t["status"]], className="me-2",
                            id="task-status"),
                  dbc.Badge("просрочена", color="danger", className="me-2", id="task-overdue") if overdue else None,
                  html.Span(f"версия {t['version']} · изменена {who(t['updated_by'])} {fmt.datetime(t['updated_at'])}",
                            className="small text-muted")], className="mb-3"),
        dbc.Row([
            dbc.Col(dbc.Card(dbc.CardBody([
                html.H6("На момент постановки"),
                html.P([f"{unit.name}, {period_words(t['period'])}: ",
                        html.B(f"{fmt.number(t['value_at_creation'], ind.decimals)} {ind.unit}"),
                        f" при цели {fmt.number(t['target_at_creation'], ind.decimals)}."]),
                html.Div(ind.name, className="small text-muted"),
                dcc.Link("Данные, как они были →", href=t["data_link"], className="small"),
                html.Div(f"Поставил {who(t['created_by'])} {fmt.datetime(t['created_at'])}",
                         className="small text-muted mt-2"),
            ])), md=5),
            dbc.Col([outcome, pace(t, ind) if res is None else None,
                     html.Div([dbc.Button(MOVE_LABELS.get(s, T.STATUSES[s]), id={"type": MOVE, "to": s}, className="me-2",
                                          color="danger" if s == "cancelled" else "primary", outline=s == "cancelled")
                               for s in sorted(moves, key=list(T.STATUSES).index)], className="mb-2")], md=7),
        ], className="mb-3"),
        dbc.Row([
            dbc.Col([dbc.Label("Ответственная организация"),
                     dcc.Dropdown(id=F["mo"], options=[{"label": r.short_name, "value": int(r.mo_id)} for r in orgs.itertuples()],
                                  value=t["mo_id"], disabled=not editable or t["level"] == "mo", clearable=False)], md=4),
            dbc.Col([dbc.Label("Исполнитель"), dbc.Input(id=F["assignee"], value=t["assignee"], disabled=not editable)], md=4),
            dbc.Col([dbc.Label("Срок"), html.Div(dcc.DatePickerSingle(id=F["due"], date=t["due_date"].isoformat(),
                                                                     display_format="DD.MM.YYYY", first_day_of_week=1,
                                                                     disabled=not editable))], md=4),
        ], className="g-2"),
        dbc.Label("Описание", className="mt-2"),
        dbc.Textarea(id=F["descr"], value=t["description"], rows=3, disabled=not editable),
        dbc.Button("Сохранить изменения", id=F["save"], color="primary", className="mt-2", disabled=not editable),
        html.H5("Комментарии", className="mt-4"),
        html.Div(comments or [html.P("Комментариев нет.", className="text-muted")], id="task-comments"),
        dbc.Textarea(id=F["comment"], rows=2, placeholder="Комментарий"),
        dbc.Button("Добавить комментарий", id=F["send"], color="secondary", size="sm", className="mt-1"),
        html.H5("История изменений", className="mt-4"),
        html.Table([html.Thead(html.Tr([html.Th("Когда"), html.Th("Кто"), html.Th("Поле"), html.Th("Было"), html.Th("Стало")])),
                    html.Tbody(hist)], className="table table-sm", id="task-history"),
    ])


REACH = {"yes": ("цель будет достигнута", "success"), "no": ("цель не будет достигнута", "danger"),
         "uncertain": ("достижение цели не определено: интервал прогноза охватывает цель", "secondary")}


def pace(t: dict, ind):
    """Before the due date: whether the target is on track by the due month — the month's value where the data
    have it already, else the forecast at the current pace from the latest month with data (None without one)."""
    span = E.data_span()
    if span is None:
        return None
    due = t["due_date"].replace(day=1)
    if due <= span[1]:  # the due month has data already: no forecast is needed
        v = E.unit_value(t["code"], t["level"], t["unit_id"], Period("month", due, due), current_scope())
        if v["value"] is None:
            return None
        ok = v["status"] == "good"
        return dbc.Alert([html.B(f"К сроку: {'цель достигнута' if ok else 'цель пока не достигнута'}"),
                          f" — за {fmt.month_name(due)} {fmt.number(v['value'], ind.decimals)} {ind.unit} при цели "
                          f"{fmt.number(v['target'], ind.decimals)}."], color="success" if ok else "warning",
                         id="task-forecast")
    from metrics import forecast as F
    try:
        f = F.forecast(t["code"], t["level"], t["unit_id"], span[1], until=due, scope=current_scope())
    except (LookupError, ValueError):
        return None
    if not f or f.get("reach") not in REACH or f.get("value") is None:
        return None
    verdict, color = REACH[f["reach"]]
    interval = ""
    if f.get("low") is not None and f.get("high") is not None:
        interval = f" (интервал {fmt.number(f['low'], ind.decimals)} – {fmt.number(f['high'], ind.decimals)})"
    return dbc.Alert([
        html.Div([html.B(f"К сроку {fmt.date(t['due_date'])} при текущей динамике {verdict}"), "."]),
        html.Div(f"Прогноз значения с начала года по {fmt.month_name(due)}: {fmt.number(f['value'], ind.decimals)} "
                 f"{ind.unit}{interval} при цели {fmt.number(f.get('target'), ind.decimals)}; по данным по "
                 f"{fmt.month_name(span[1])}. Метод: {f.get('method')}.", className="small"),
    ], color=color, id="task-forecast")


def _apply(state, changes=None, comment=None):
    """Save a change and re-render; a stale version or a refusal becomes a message, nothing is lost."""
    user = current_user()
    try:
        if changes:
            t = T.update(_db(), user, state["task_id"], state["version"], changes)
        else:
            t = T.get(_db(), state["task_id"], current_scope())
        if comment is not None:
            t = T.comment(_db(), user, state["task_id"], comment)
    except T.ConflictError as exc:
        return dbc.Alert(str(exc), color="warning", id="task-conflict"), no_update, no_update
    except (T.TaskError, ScopeError) as exc:
        return (refused(exc) if isinstance(exc, ScopeError) else dbc.Alert(str(exc), color="warning")), no_update, no_update
    return dbc.Alert("Сохранено", color="success", duration=3000), view(t), {"task_id": t["task_id"], "version": t["version"]}


@callback(Output(MSG, "children"), Output(BOX, "children"), Output(STATE, "data"),
          Input({"type": MOVE, "to": ALL}, "n_clicks"), State(STATE, "data"), prevent_initial_call=True)
def move(clicks, state):
    if not state or not ctx.triggered_id or not any(c for c in clicks if c):
        return no_update, no_update, no_update
    return _apply(state, {"status": ctx.triggered_id["to"]})


@callback(Output(MSG, "children", allow_duplicate=True), Output(BOX, "children", allow_duplicate=True),
          Output(STATE, "data", allow_duplicate=True), Input(F["save"], "n_clicks"), State(STATE, "data"),
          State(F["assignee"], "value"), State(F["due"], "date"), State(F["descr"], "value"), State(F["mo"], "value"),
          State(F["comment"], "value"), prevent_initial_call=True)
def save(n_clicks, state, assignee, due, descr, mo_id, comment=None):
    if not state or not n_clicks:  # a re-rendered button (after a comment or a move) is not a click
        return no_update, no_update, no_update
    try:
        due_date = dt.date.fromisoformat(due[:10]) if due else None
    except ValueError:
        due_date = None
    if due_date is None:
        return dbc.Alert("Срок — дата ДД.ММ.ГГГГ", color="warning"), no_update, no_update
    changes = {"assignee": (assignee or "").strip(), "due_date": due_date, "description": (descr or "").strip()}
    if mo_id is not None:
        changes["mo_id"] = int(mo_id)
    try:
        current = T.get(_db(), state["task_id"], current_scope())
    except ScopeError as exc:
        return refused(exc), no_update, no_update
    except T.TaskNotFound as exc:
        return dbc.Alert(str(exc), color="warning"), no_update, no_update
    changes = {k: v for k, v in changes.items() if current.get(k) != v}
    comment = (comment or "").strip() or None  # a comment typed before «Сохранить» is saved with the fields
    if not changes and comment is None:
        return dbc.Alert("Изменений нет", color="secondary", duration=3000), no_update, no_update
    if comment is not None and (problem := T.comment_problem(comment)):  # before the fields: all or nothing
        return dbc.Alert(problem, color="warning"), no_update, no_update
    return _apply(state, changes or None, comment)


@callback(Output(MSG, "children", allow_duplicate=True), Output(BOX, "children", allow_duplicate=True),
          Output(STATE, "data", allow_duplicate=True), Input(F["send"], "n_clicks"), State(STATE, "data"),
          State(F["comment"], "value"), prevent_initial_call=True)
def send_comment(n_clicks, state, text):
    if not state or not n_clicks:
        return no_update, no_update, no_update
    return _apply(state, None, text or "")
