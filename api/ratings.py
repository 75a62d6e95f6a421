"""``/api/v1/ratings`` and ``/api/v1/targets``."""
from __future__ import annotations

from flask import jsonify, request

from core.periods import parse_period
from data_access import units as U
from data_access.reference import MO_KINDS
from metrics import evaluate as E
from metrics import targets as T
from security import current_scope
from services import rating as R

from . import ApiError, blueprint
from .indicators import _num, parse_parent


@blueprint.get("/ratings")
def ratings():
    a = request.args
    if unknown := set(a) - {"level", "period", "parent", "kind"}:
        raise ApiError(400, f"Неизвестные параметры: {', '.join(sorted(unknown))}")
    level = a.get("level", "district")
    if level not in ("district", "mo"):
        raise ApiError(400, "level должен быть district или mo")
    span = E.data_span()
    if span is None:
        raise ApiError(503, "Витрины не построены")
    period = parse_period(a.get("period") or f"{span[1]:%Y-%m}")
    kind = a.get("kind") or R.MO_KIND_DEFAULT
    if kind not in MO_KINDS:
        raise ApiError(400, f"kind должен быть одним из: {', '.join(MO_KINDS)}")
    r = R.compute(level, period, parse_parent(a.get("parent")), current_scope(), kind)
    groups = E.registry().groups
    rows = []
    for u in r.units.to_dict("records"):
        rows.append({"unit_id": int(u["unit_id"]), "unit_name": u["unit_name"], "place": _num(u["place"]),
                     "previous_place": _num(u["prev_place"]), "place_change": _num(u["delta_place"]),
                     "integral": _num(u["integral"]), "integral_target": _num(u["integral_target"]),
                     "status": u["status"], "flag": u["flag"] or None,
                     "groups": {g: _num(u.get(f"group_{g}")) for g in groups if f"group_{g}" in u},
                     "data_completeness": _num(u["completeness"]), "weight_share": _num(u["weight_share"])})
    return jsonify({"level": level, "period": period.key, "parent": r.parent, "kind": kind if level == "mo" else None,
                    "ranked": int(r.units["ranked_count"].iloc[0]) if len(r.units) else 0, "rows": rows})


@blueprint.get("/targets")
def targets():
    code = request.args.get("code")
    reg = E.registry()
    if code and code not in reg:
        raise ApiError(404, f"Показатель «{code}» не найден")
    out = []
    scope = current_scope()

    def visible(level: str, unit_id) -> bool:  # another district's or organisation's targets are not shown
        u = U.unit(level, unit_id)
        return u is not None and (u.level == "region" or U.visible(scope, level, u.district_id, u.mo_id))

    for ind in ([reg[code]] if code else list(reg)):
        ov = T.overrides(ind.code)
        ov = ov[[visible(lv, uid) for lv, uid in zip(ov["level"], ov["unit_id"])]] if len(ov) else ov
        out.append({"code": ind.code, "default": ind.target, "direction": ind.direction, "unit": ind.unit,
                    "overrides": [{"level": r["level"], "unit_id": int(r["unit_id"]),
                                   "valid_from": f"{r['valid_from']:%Y-%m}",
                                   "valid_to": (f"{r['valid_to']:%Y-%m}" if r["valid_to"] == r["valid_to"] and r["valid_to"]
                                                else None),
                                   "value": r["value"], "updated_by": r["updated_by"],
                                   "updated_at": (r["updated_at"].isoformat() if hasattr(r["updated_at"], "isoformat")
                                                  else str(r["updated_at"]))}
                                  for r in ov.to_dict("records")]})
    return jsonify({"targets": out})
