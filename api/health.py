"""``/healthz`` (the process answers) and ``/readyz`` (it can serve data) for a supervisor or a load balancer.

No login, no data: only states, the number of missing marts, dates of the data and of the last refresh.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from data_access.health import readiness

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    return jsonify(status="ok")


@health.get("/readyz")
def readyz():
    state = readiness(current_app.extensions["iam"]["db"])
    resp = jsonify(state)
    resp.status_code = 200 if state["ready"] else 503
    resp.headers["Cache-Control"] = "no-store"
    return resp
