"""``/api/v1/emk/<part>``: the EHR-completeness tables as JSON (the same builders as the page and exports)."""
from __future__ import annotations

from flask import jsonify, request

from components.tablespec import TableParamError, build
from data_access import emk as K

from . import ApiError, blueprint

PARTS = {"coverage": "emk-coverage", "funnel": "emk-funnel", "timeliness": "emk-timeliness",
         "reasons": "emk-reasons", "silent": "emk-silent"}


def plain(v):
    """A JSON value for a table cell: NumPy scalars unwrapped, NaN as null, dates as ISO strings."""
    import datetime as dt

    import numpy as np
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def table_json(spec) -> dict:
    return {"title": spec.title, "subtitle": spec.subtitle, "params": spec.params,
            "columns": [{"id": c["id"], "name": c["name"]} for c in spec.columns],
            "rows": [{c["id"]: plain(r.get(c["id"])) for c in spec.columns} | ({"id": plain(r["child_id"])} if "child_id" in r else {})
                     for r in spec.records]}


@blueprint.get("/emk/<part>")
def emk(part: str):
    if part not in PARTS:
        raise ApiError(404, f"Раздела «{part}» нет; есть: {', '.join(PARTS)}")
    a = request.args.to_dict()
    if unknown := set(a) - {"level", "id", "period"}:
        raise ApiError(400, f"Неизвестные параметры: {', '.join(sorted(unknown))}")
    from security import current_scope
    try:
        return jsonify(table_json(build(PARTS[part], a, current_scope())))
    except (TableParamError, K.EmkError) as exc:
        raise ApiError(400, str(exc)) from exc


ACCESS_PARTS = {"children": "access-children", "specialties": "access-specialties", "channels": "access-channels",
                "nearest": "access-nearest", "not-bookable": "access-not-bookable", "slots": "access-slots"}


@blueprint.get("/access/<part>")
def access(part: str):
    """``/api/v1/access/<part>``: the availability tables as JSON."""
    from data_access.access import AccessError
    from security import current_scope
    if part not in ACCESS_PARTS:
        raise ApiError(404, f"Раздела «{part}» нет; есть: {', '.join(ACCESS_PARTS)}")
    a = request.args.to_dict()
    if unknown := set(a) - {"level", "id", "mo", "period", "date"}:
        raise ApiError(400, f"Неизвестные параметры: {', '.join(sorted(unknown))}")
    try:
        return jsonify(table_json(build(ACCESS_PARTS[part], a, current_scope())))
    except (TableParamError, AccessError) as exc:
        raise ApiError(400, str(exc)) from exc


PREG_PARTS = {"register": "preg-register", "status": "preg-status", "worklist": "preg-worklist"}


@blueprint.get("/pregnancy/<part>")
def pregnancy(part: str):
    """``/api/v1/pregnancy/<part>``; the worklist is patient-level: allowed roles only, audited."""
    from security import current_scope
    if part not in PREG_PARTS:
        raise ApiError(404, f"Раздела «{part}» нет; есть: {', '.join(PREG_PARTS)}")
    a = request.args.to_dict()
    if unknown := set(a) - {"level", "id", "period", "date", "weeks"}:
        raise ApiError(400, f"Неизвестные параметры: {', '.join(sorted(unknown))}")
    try:
        return jsonify(table_json(build(PREG_PARTS[part], a, current_scope())))
    except TableParamError as exc:
        raise ApiError(400, str(exc)) from exc
    except LookupError as exc:
        raise ApiError(404, str(exc)) from exc


MORB_PARTS = {"places": "morb-places", "tree": "morb-tree", "top": "morb-top", "growth": "morb-growth",
              "age-sex": "morb-age-sex"}


@blueprint.get("/morbidity/<part>")
def morbidity(part: str):
    """``/api/v1/morbidity/<part>``: the morbidity tables as JSON."""
    from security import current_scope
    if part not in MORB_PARTS:
        raise ApiError(404, f"Раздела «{part}» нет; есть: {', '.join(MORB_PARTS)}")
    a = request.args.to_dict()
    if unknown := set(a) - {"level", "id", "period", "icd", "sex", "age"}:
        raise ApiError(400, f"Неизвестные параметры: {', '.join(sorted(unknown))}")
    try:
        return jsonify(table_json(build(MORB_PARTS[part], a, current_scope())))
    except TableParamError as exc:
        raise ApiError(400, str(exc)) from exc
    except LookupError as exc:
        raise ApiError(404, str(exc)) from exc
