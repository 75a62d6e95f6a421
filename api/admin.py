"""``/api/v1/admin/refresh``: rebuild the marts of some months in the running application (administrators).

On the embedded DuckDB the serving process holds the database file, so a refresh while serving goes through
the application itself (this endpoint or the data-status page) rather than a second process.
"""
from __future__ import annotations

from flask import current_app, jsonify, request

from core.periods import PeriodError, parse_period
from data_access.refresh_log import recent
from security import audit_event, current_user
from services.refresh import RefreshBusy, RefreshError, last_months

from . import ApiError, blueprint


def _admin():
    user = current_user()
    if user is None or user.role != "admin":
        raise ApiError(403, "Обновлять данные может только администратор")
    return user


def _month(v):
    try:
        p = parse_period(str(v))
    except PeriodError as exc:
        raise ApiError(400, f"months: {exc}") from exc
    if p.kind != "month":
        raise ApiError(400, f"months: «{v}» — не месяц (ГГГГ-ММ)")
    return p.first


def _row(r: dict) -> dict:
    return {"refresh_id": r["refresh_id"], "kind": r["kind"], "months": r["months"], "status": r["status"],
            "started_at": r["started_at"].isoformat(), "seconds": r["seconds"], "rows": r["rows"],
            "message": r["message"]}


@blueprint.post("/admin/refresh")
def start_refresh():
    """Body: {"months": ["2026-09", "2026-10"]} (a run of months) or {"last": 2}. Answers 202 at once."""
    user = _admin()
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not ({"months", "last"} & set(body)):
        raise ApiError(400, "Тело запроса: {\"months\": [\"ГГГГ-ММ\", …]} или {\"last\": число месяцев}")
    iam = current_app.extensions["iam"]
    refresher = iam["refresher"]
    try:
        if "last" in body:
            n = body["last"]
            if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 36:
                raise ApiError(400, "last: целое число месяцев от 1 до 36")
            first, last = last_months(iam["db"], n)
        else:
            months = body["months"]
            if not isinstance(months, list) or not 1 <= len(months) <= 36:
                raise ApiError(400, "months: список от 1 до 36 месяцев ГГГГ-ММ")
            ms = sorted(_month(m) for m in months)
            first, last = ms[0], ms[-1]
        refresher.start(first, last, by=user.login)
    except RefreshBusy as exc:
        raise ApiError(409, str(exc)) from exc
    except RefreshError as exc:
        raise ApiError(400, str(exc)) from exc
    audit_event("refresh", obj=f"{first:%Y-%m}..{last:%Y-%m}")
    resp = jsonify({"status": "started", "first": f"{first:%Y-%m}", "last": f"{last:%Y-%m}"})
    resp.status_code = 202
    return resp


@blueprint.post("/admin/import")
def start_import():
    """Body: {"directory": "<a folder inside IMPORT_DIR>", "month": "ГГГГ-ММ" (optional)}. Answers 202 at once;
    the outcome (with the validation report when files are refused) is in ``/admin/refreshes``."""
    user = _admin()
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("directory"), str) or not body["directory"].strip():
        raise ApiError(400, "Тело запроса: {\"directory\": \"папка в IMPORT_DIR\", \"month\": \"ГГГГ-ММ\"}")
    iam = current_app.extensions["iam"]
    root = iam["config"].import_dir.resolve()
    path = (root / body["directory"].strip()).resolve()
    if not path.is_relative_to(root) or path == root:  # no reading of files elsewhere on the server
        raise ApiError(400, "directory: укажите папку внутри каталога загрузки (IMPORT_DIR), без «..»")
    if not path.is_dir():
        raise ApiError(404, f"Папка «{body['directory']}» в каталоге загрузки не найдена")
    month = _month(body["month"]) if body.get("month") else None
    try:
        iam["refresher"].start_import(path, month, by=user.login)
    except RefreshBusy as exc:
        raise ApiError(409, str(exc)) from exc
    audit_event("import", obj=path.name)
    resp = jsonify({"status": "started", "directory": path.name})
    resp.status_code = 202
    return resp


@blueprint.get("/admin/refreshes")
def list_refreshes():
    _admin()
    iam = current_app.extensions["iam"]
    return jsonify({"busy": iam["refresher"].busy, "refreshes": [_row(r) for r in recent(iam["db"], 20)]})
