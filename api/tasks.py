"""``/api/v1/tasks``: list, create, read, change (with the version last seen: a stale one is a 409)."""
from __future__ import annotations

import datetime as dt

from flask import current_app, jsonify, request

from components import urls
from core.periods import PeriodError, parse_period
from data_access import tasks as T
from data_access import units as U
from metrics import evaluate as E
from security import current_scope, current_user
from services import control

from . import ApiError, blueprint


def _db():
    return current_app.extensions["iam"]["db"]


def _date(v, field):
    if v in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError as exc:
        raise ApiError(400, f"{field}: дата в формате ГГГГ-ММ-ДД") from exc


def task_json(t: dict, with_details: bool = False) -> dict:
    out = {k: t[k] for k in ("task_id", "code", "level", "unit_id", "district_id", "mo_id", "period", "title",
                             "description", "assignee", "status", "version", "created_by", "updated_by")}
    out.update(status_name=T.STATUSES[t["status"]], due_date=t["due_date"].isoformat(),
               created_at=t["created_at"].isoformat(), updated_at=t["updated_at"].isoformat(),
               value_at_creation=t["value_at_creation"], target_at_creation=t["target_at_creation"],
               data_link=t["data_link"], overdue=T.is_overdue(t))
    if with_details:
        out["comments"] = [{"at": c["written_at"].isoformat(), "author": c["author"], "text": c["text"]}
                           for c in t.get("comments", [])]
        out["history"] = [{"at": h["changed_at"].isoformat(), "author": h["author"], "field": h["field"],
                           "old": h["old_value"], "new": h["new_value"]} for h in t.get("history", [])]
        res = control.outcome(t)
        out["outcome"] = None if res is None else {**res, "month": res["month"].isoformat()}
    return out


@blueprint.get("/tasks")
def list_tasks():
    a = request.args
    if unknown := set(a) - {"district", "mo", "code", "status", "overdue"}:
        raise ApiError(400, f"Неизвестные параметры: {', '.join(sorted(unknown))}")
    district = _code(a["district"], "district") if a.get("district") else None
    mo = _code(a["mo"], "mo") if a.get("mo") else None
    for field, uid in (("district", district), ("mo", mo)):
        if uid is not None and U.unit(field, uid) is None:
            raise ApiError(404, f"Единицы {uid} уровня «{U.LEVELS[field].name}» нет")
    if a.get("code") and a["code"] not in E.registry():
        raise ApiError(404, f"Показатель «{a['code'][:40]}» не найден")
    if a.get("status") and a["status"] not in T.STATUSES:
        raise ApiError(400, f"status должен быть одним из: {', '.join(T.STATUSES)}")
    overdue = {"1": True, "true": True, "0": False, "false": False, None: None, "": None}.get(a.get("overdue"), "bad")
    if overdue == "bad":
        raise ApiError(400, "overdue — true или false")
    df = T.search(_db(), current_scope(), district_id=district, mo_id=mo, code=a.get("code") or None,
                  status=a.get("status") or None, overdue=overdue)
    return jsonify({"tasks": [task_json(r) for r in df.to_dict("records")]})


@blueprint.get("/tasks/<int:task_id>")
def get_task(task_id: int):
    try:
        return jsonify(task_json(T.get(_db(), task_id, current_scope()), with_details=True))
    except T.TaskNotFound as exc:
        raise ApiError(404, str(exc)) from exc


def _body() -> dict:
    try:
        data = request.get_json(silent=True)
    except RecursionError as exc:  # absurdly nested JSON
        raise ApiError(400, "Тело запроса — JSON-объект без глубокой вложенности") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "Тело запроса — JSON-объект")
    return data


def _text(d: dict, field: str, limit: int) -> str:
    """A required non-empty string field of at most ``limit`` characters (the storage's rules, named by field)."""
    v = d.get(field)
    v = v.strip() if isinstance(v, str) else v
    if problem := T.text_problem(v, limit):
        raise ApiError(400, f"{field}: {problem}")
    return v


def _code(v, field: str) -> int:
    """A whole-number code: a JSON integer or a string of ASCII digits (no floats, booleans, infinities)."""
    if isinstance(v, bool) or not isinstance(v, (int, str)) or (isinstance(v, str) and not (v.isascii() and v.isdigit())):
        raise ApiError(400, f"{field} — целый код")
    return int(v)


TEXT_LIMITS = {"assignee": 160, "description": 4000}


@blueprint.post("/tasks")
def create_task():
    d = _body()
    missing = [k for k in ("code", "level", "unit_id", "period", "assignee", "due_date", "description") if k not in d]
    if missing:
        raise ApiError(400, f"Не заданы поля: {', '.join(missing)}")
    for field in ("code", "level", "period", "due_date"):
        if not isinstance(d[field], str):
            raise ApiError(400, f"{field} — строка")
    if d["code"] not in E.registry():
        raise ApiError(404, f"Показатель «{d['code']}» не найден")
    try:
        period = parse_period(d["period"])
    except PeriodError as exc:
        raise ApiError(400, str(exc)) from exc
    unit_id = _code(d["unit_id"], "unit_id")
    mo_id = _code(d["mo_id"], "mo_id") if d.get("mo_id") not in (None, "") else None
    assignee, description = (_text(d, f, TEXT_LIMITS[f]) for f in ("assignee", "description"))
    if d["level"] not in ("district", "mo"):
        raise ApiError(400, "level должен быть district или mo")
    if U.unit(d["level"], unit_id) is None:
        raise ApiError(404, f"Единица {unit_id} не найдена")
    v = E.unit_value(d["code"], d["level"], unit_id, period, current_scope())
    link = data_link(d["code"], d["level"], unit_id, period.key)
    try:
        t = T.create(_db(), current_user(), code=d["code"], level=d["level"], unit_id=unit_id, period=period.key,
                     assignee=assignee, due_date=_date(d["due_date"], "due_date"),
                     description=description, mo_id=mo_id, value=v["value"], target=v["target"],
                     data_link=link)
    except T.TaskError as exc:
        raise ApiError(400, str(exc)) from exc
    resp = jsonify(task_json(t, with_details=True))
    resp.status_code = 201
    return resp


def data_link(code: str, level: str, unit_id: int, period: str) -> str:
    """The indicator view of the unit's children for the period: the data as they were when the task was set."""
    ind = E.registry()[code]
    child = U.CHILD_LEVEL[level]
    if child and ind.valid_at(child):
        return urls.indicator(code, child, unit_id, period)
    u = U.unit(level, unit_id)
    return urls.indicator(code, level, u.district_id if level == "mo" else None, period)


@blueprint.patch("/tasks/<int:task_id>")
def patch_task(task_id: int):
    d = _body()
    if "version" not in d:
        raise ApiError(400, "Укажите version — версию задачи, которую вы видели")
    version = _code(d["version"], "version")
    changes = {k: v for k, v in d.items() if k not in ("version", "comment")}
    for field, limit in TEXT_LIMITS.items():
        if field in changes:
            changes[field] = _text(changes, field, limit)
    if "status" in changes and (not isinstance(changes["status"], str) or changes["status"] not in T.STATUSES):
        raise ApiError(400, f"status должен быть одним из: {', '.join(T.STATUSES)}")
    if "due_date" in changes:
        if not isinstance(changes["due_date"], str):
            raise ApiError(400, "due_date — строка с датой ГГГГ-ММ-ДД")
        changes["due_date"] = _date(changes["due_date"], "due_date")
    if "mo_id" in changes and changes["mo_id"] is not None:
        changes["mo_id"] = _code(changes["mo_id"], "mo_id")
    comment = d.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ApiError(400, "comment — строка")
    db = _db()
    try:
        t = T.update(db, current_user(), task_id, version, changes) if changes else T.get(db, task_id, current_scope())
        if comment:
            t = T.comment(db, current_user(), task_id, comment)
    except T.ConflictError as exc:
        resp = jsonify({"error": str(exc), "status": 409, "current": task_json(exc.current)})
        resp.status_code = 409
        return resp
    except T.TaskNotFound as exc:
        raise ApiError(404, str(exc)) from exc
    except T.TaskError as exc:
        raise ApiError(400, str(exc)) from exc
    return jsonify(task_json(t, with_details=True))
