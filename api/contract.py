"""``/api/v1/contract/…``: the effective contract (issue 20) — the staff of an organisation, the heads of
organisations, one person's sheet, the payroll exports, the schemes and their versions; disagreement marks and
new scheme versions (POST, with the CSRF token of a session or a bearer token).

Tables come from the same builders as the pages (``reports.contract``), so the API, the screen and the files
agree; ``format=csv|xlsx`` returns the file the page's export button gives. The sheet is also served as a
one-page PDF or XLSX at ``/export/contract/sheet.<pdf|xlsx>`` (the page's buttons). A role without the
permission, or a unit outside the scope, is a 403 with a Russian message; bad input a 400.
"""
from __future__ import annotations

import datetime as dt

from flask import Response, jsonify, request

from components import contract as CC
from components import contract_sheet as CS
from components.tablespec import TableParamError, build
from data_access.contract import MARK_STATES
from data_access.scope import ScopeError
from security import audit_event, current_scope
from services import contract as C

from . import ApiError, blueprint, error, query_args
from .exports import MIME, exports, send_table
from .tables import plain
from .tasks import _body, _code

FILE_MIME = {**MIME, "pdf": "application/pdf"}


@blueprint.errorhandler(C.SchemeError)
def _scheme_error(e: C.SchemeError):
    resp = jsonify({"error": str(e), "status": 400, "problems": list(getattr(e, "problems", [str(e)]))})
    resp.status_code = 400
    return resp


@blueprint.errorhandler(C.ContractError)
def _contract_error(e):
    return error(400, str(e))


def _format(a: dict, allowed: tuple[str, ...]) -> str:
    f = a.pop("format", None) or "json"
    if f not in allowed:
        raise ApiError(400, f"format — одно из: {', '.join(allowed)}")
    return f


def _rows(spec, extra: tuple[str, ...]) -> list[dict]:
    return [{**{c["id"]: plain(r.get(c["id"])) for c in spec.columns}, **{k: plain(r.get(k)) for k in extra if k in r}}
            for r in spec.records]


def _table(name: str, accepted: set[str], extra: tuple[str, ...], totals: bool = True):
    """A contract table as JSON (columns as on the screen, rows with their ids) or as the exported file."""
    a = query_args(accepted | {"format"})
    f = _format(a, ("json", "csv", "xlsx"))
    spec = build(name, a, current_scope())
    if f != "json":
        return send_table(spec, name, f, via="api")
    out = {"title": spec.title, "subtitle": spec.subtitle, "params": spec.params,
           "columns": [{"id": c["id"], "name": c["name"]} for c in spec.columns], "rows": _rows(spec, extra)}
    if totals:
        t = CC.totals(spec.records)
        out["totals"] = {"persons": t.persons, "scored": t.scored, "no_scheme": t.no_scheme, "disputed": t.disputed,
                         "average_share": t.average_share}
    return jsonify(out)


@blueprint.get("/contract/staff")
def contract_staff():
    """The staff of an organisation for a month (``mo``: by default the person's own; ``period``: YYYY-MM)."""
    return _table("contract-staff", {"mo", "period"}, ("status_code", "doctor_id"))


@blueprint.get("/contract/heads")
def contract_heads():
    """The heads of organisations for a quarter (``period``: YYYY-Qn; ``district`` optional)."""
    return _table("contract-heads", {"period", "district"}, ("mo_id", "district_id", "status_code"))


@blueprint.get("/contract/payroll")
def contract_payroll():
    """For the payroll: one row per person of the organisation for a month."""
    return _table("contract-payroll", {"mo", "period"}, (), totals=False)


@blueprint.get("/contract/heads/payroll")
def contract_heads_payroll():
    """For the payroll: one row per head of an organisation for a quarter."""
    return _table("contract-payroll-heads", {"period", "district"}, (), totals=False)


# ---------------------------------------------------------------- one person's sheet
def _date(d) -> str | None:
    return d.isoformat() if isinstance(d, (dt.date, dt.datetime)) else None


def sheet_json(sh, view, p) -> dict:
    parts = []
    for part, (title, subtitle, rows) in zip(sh.parts, view.parts):
        raw = part.criteria.to_dict("records") if part.criteria is not None and not part.criteria.empty else []
        criteria = []
        for r, shown in zip(raw, rows):
            criteria.append({
                "code": r["code"], "name": r["name"], "indicator": r["indicator"],
                "indicator_short": r["indicator_short"], "level": r["level"], "unit_id": plain(shown["unit_id"]),
                "value": plain(r["value"]), "value_text": shown["value"], "numerator": plain(r["numerator"]),
                "denominator": plain(r["denominator"]), "unit": r["unit"], "few": bool(r["few"]), "rule": r["rule"],
                "met": r["met"], "points": plain(r["points"]), "max_points": plain(r["max_points"]),
                "data": shown["link"]})
        parts.append({"title": title, "subtitle": subtitle, "position": part.position,
                      "position_name": part.position_name, "start": _date(part.start), "end": _date(part.end),
                      "days": part.days, "period_days": part.period_days,
                      "scheme": None if not part.scheme_code else {
                          "code": part.scheme_code, "name": part.scheme_name, "version": part.scheme_version,
                          "valid_from": _date(part.scheme_valid_from)},
                      "points": plain(part.points), "max_points": plain(part.max_points), "share": plain(part.share),
                      "note": part.note, "criteria": criteria})
    marks = [{"at": _date(_ts(r["at"])), "author": r["author"], "state": r["state"],
              "state_name": MARK_STATES.get(r["state"], r["state"]),
              "criterion": None if r["criterion"] is None or r["criterion"] != r["criterion"] else r["criterion"],
              "comment": r["comment"]} for r in sh.marks.to_dict("records")]
    person = {k: plain(v) for k, v in sh.person.items()}
    return {"title": view.title, "period": {"key": p.key, "label": p.label}, "person": person,
            "points": plain(sh.points), "max_points": plain(sh.max_points), "share": plain(sh.share),
            "share_pct": CC.share_pct(sh.share), "parts": parts, "marks": marks}


def _ts(v):
    import pandas as pd
    return None if v is None or pd.isna(v) else pd.Timestamp(v).to_pydatetime()


def sheet_file(view, sh, p, f: str, via: str) -> Response:
    body = CS.sheet_pdf(view) if f == "pdf" else CS.sheet_xlsx(view)
    audit_event("export", obj=f"contract-sheet:{sh.person['mo_id']}:{sh.person['personnel_no']}:{p.key}",
                details={"format": f, "via": via})
    return Response(body, mimetype=FILE_MIME[f],
                    headers={"Content-Disposition": f'attachment; filename="{CS.filename(sh, p)}.{f}"'})


@blueprint.get("/contract/sheet")
def contract_sheet():
    """One person's sheet: ``mo``, ``person`` (personnel number), ``period``; ``format=json|xlsx|pdf``."""
    a = query_args({"mo", "person", "period", "format"})
    f = _format(a, ("json", "xlsx", "pdf"))
    sh, view, p = CS.sheet_of(a)
    if f != "json":
        return sheet_file(view, sh, p, f, "api")
    return jsonify(sheet_json(sh, view, p))


@exports.get("/contract/sheet.<fmt>")
def contract_sheet_export(fmt: str):
    """The page's PDF and XLSX buttons (plain-text errors, as every export)."""
    if fmt not in ("pdf", "xlsx"):
        return Response("Формат выгрузки расчёта — pdf или xlsx", status=400, mimetype="text/plain; charset=utf-8")
    try:
        sh, view, p = CS.sheet_of(request.args.to_dict())
    except (TableParamError, C.ContractError, ValueError) as exc:
        if isinstance(exc, LookupError):
            return Response(str(exc), status=404, mimetype="text/plain; charset=utf-8")
        return Response(str(exc), status=400, mimetype="text/plain; charset=utf-8")
    except ScopeError as exc:
        audit_event("forbidden", obj=str(exc), details={"unit": getattr(exc, "unit", None)})
        return Response(str(exc), status=403, mimetype="text/plain; charset=utf-8")
    return sheet_file(view, sh, p, fmt, "page")


# ---------------------------------------------------------------- disagreement marks
@blueprint.post("/contract/marks")
def contract_mark():
    """Body: {"mo", "person", "period", "state": "disagree"|"resolved", "comment", "criterion"?}; 201 with the
    mark's id and the person's whole history of marks for the period."""
    d = _body()
    if unknown := set(d) - {"mo", "person", "period", "state", "comment", "criterion"}:
        raise ApiError(400, f"Неизвестные поля: {', '.join(sorted(map(str, unknown)))}")
    for field in ("mo", "person", "period", "state", "comment"):
        if d.get(field) in (None, ""):
            raise ApiError(400, f"{field}: обязательное поле")
    for field in ("person", "period", "state", "comment"):
        if not isinstance(d[field], str):
            raise ApiError(400, f"{field} — строка")
    if d.get("criterion") not in (None, "") and not isinstance(d["criterion"], str):
        raise ApiError(400, "criterion — строка с кодом критерия")
    mo = _code(d["mo"], "mo")
    a = CC.access()
    if not a.mark:  # the role first: nothing about the person is told to whom may not mark
        raise ScopeError("Отмечать несогласие с оценкой может кадровая служба", unit="contract")
    key = {"mo": mo, "person": d["person"], "period": d["period"]}
    _, unit, person, p = CC.sheet_params(key)
    mark_id = C.mark(p, unit.id, person, d["state"], d["comment"], a, d.get("criterion") or None)
    sh, view, p = CS.sheet_of(key)
    out = sheet_json(sh, view, p)
    return jsonify({"mark_id": mark_id, "disputed": bool(sh.person.get("disputed")), "marks": out["marks"]}), 201


# ---------------------------------------------------------------- schemes
def scheme_info(s) -> dict:
    return {"code": s.code, "name": s.name, "positions": list(s.positions), "position_names": s.position_names,
            "level": s.level, "period": s.period, "version": s.version, "valid_from": f"{s.valid_from:%Y-%m}",
            "max_points": s.max_points}


def _scheme_access():
    a = CC.access()
    if not (a.staff or a.heads):
        raise ScopeError("Схемы эффективного контракта доступны кадровым службам и руководителям", unit="contract")
    return a


def _scheme(code: str):
    found = {s.code: s for s in C.schemes()}
    if code not in found:
        raise ApiError(404, f"Схемы «{code[:40]}» нет; есть: {', '.join(found)}")
    return found[code]


@blueprint.get("/contract/schemes")
def contract_schemes():
    query_args(set())
    _scheme_access()
    return jsonify({"schemes": [scheme_info(s) for s in C.schemes()]})


@blueprint.get("/contract/schemes/<code>")
def contract_scheme(code: str):
    """A scheme's versions (newest first) with each one's changes against the previous; ``version``: whose text
    to return (default the latest)."""
    a = query_args({"version"})
    _scheme_access()
    s = _scheme(code)
    v = C.scheme_versions(code)
    number = s.version
    if a.get("version"):
        number = _code(a["version"], "version")
        if number not in set(int(x) for x in v["version"]):
            raise ApiError(404, f"Версии {number} схемы «{code}» нет")
    versions = [{"version": int(r["version"]), "valid_from": f"{r['valid_from']:%Y-%m}", "author": r["author"],
                 "created_at": _date(_ts(r["created_at"])), "comment": r["comment"] if isinstance(r["comment"], str)
                 else None, "diff": C.scheme_diff(code, int(r["version"])) if int(r["version"]) > 1 else []}
                for r in v.to_dict("records")]
    return jsonify({**scheme_info(s), "versions": versions, "text_version": number,
                    "text": C.scheme_text(code, number)})


@blueprint.post("/contract/schemes/<code>")
def save_contract_scheme(code: str):
    """Body: {"text", "valid_from": "YYYY-MM", "comment", "base_version"}; 201 with the new version's number.
    A version saved by somebody else since ``base_version`` is a 409 (nothing saved); problems of the text a 400
    with ``problems``."""
    d = _body()
    if unknown := set(d) - {"text", "valid_from", "comment", "base_version"}:
        raise ApiError(400, f"Неизвестные поля: {', '.join(sorted(map(str, unknown)))}")
    a = CC.access()
    if not a.schemes:
        raise ScopeError("Изменять схемы эффективного контракта может кадровая служба комитета", unit="contract")
    _scheme(code)  # an unknown scheme is a 404 before the body is judged
    for field in ("text", "valid_from", "comment"):
        if not isinstance(d.get(field), str):
            raise ApiError(400, f"{field} — строка")
    if "base_version" not in d:
        raise ApiError(400, "Укажите base_version — версию, от которой сделаны изменения")
    base = _code(d["base_version"], "base_version")
    try:
        number = C.save_scheme(code, d["text"], d["valid_from"], d["comment"], base, a)
    except C.StaleScheme:
        return _stale(code, _scheme(code).version)
    return jsonify({"code": code, "version": number}), 201


def _stale(code: str, latest: int):
    resp = jsonify({"error": f"Схему «{code}» уже изменили: действует версия {latest}. Обновите текст от неё и "
                             "сохраните снова", "status": 409, "current_version": latest})
    resp.status_code = 409
    return resp

