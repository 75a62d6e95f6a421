"""``/api/v1/prevention/worklist/status``: record an invitation status of a person's due item.

The tables of the section (vaccination, dispensary, screening, worklist…) are served by ``api.tables``
from the page's builders; this module adds the one write.
"""
from __future__ import annotations

from flask import current_app, jsonify

from data_access import prevention as P
from security import audit_event, current_scope, current_user

from . import ApiError, blueprint
from .tasks import _body


@blueprint.post("/prevention/worklist/status")
def set_invitation_status():
    """Body: {"patient_id", "item", "mo_id", "status", "comment"?}; 201 with the recorded event."""
    d = _body()
    if unknown := set(d) - {"patient_id", "item", "mo_id", "status", "comment"}:
        raise ApiError(400, f"Неизвестные поля: {', '.join(sorted(map(str, unknown)))}")
    for field in ("patient_id", "item", "mo_id", "status"):
        if d.get(field) in (None, ""):
            raise ApiError(400, f"{field}: обязательное поле")
    try:
        ev = P.set_status(current_app.extensions["iam"]["db"], d["patient_id"], d["item"], d["status"],
                          d.get("comment"), current_user().login, d["mo_id"], scope=current_scope())
    except P.StatusError as exc:
        raise ApiError(400, str(exc)) from exc
    audit_event("invitation_status", obj=f"patient:{ev['patient_id']}", details={"item": ev["item"],
                                                                                 "status": ev["status"]})
    return jsonify({**ev, "set_at": ev["set_at"].isoformat()}), 201
