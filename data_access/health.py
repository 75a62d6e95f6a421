"""Readiness of the service for a supervisor or a load balancer: cheap checks that reveal no data."""
from __future__ import annotations

import calendar
import datetime as dt

import sqlalchemy as sa

from . import migrations
from .db import Database, DatabaseError
from .marts import SELECTS, build_log
from .refresh_log import recent


def readiness(db: Database, today: dt.date | None = None) -> dict:
    """Whether the database is reachable, the schema current and every mart built; data freshness in days.

    Returns a JSON-ready dict with ``ready`` (bool) and one entry per check. Only aggregates of the build
    log are read (no contract table is scanned), so a probe every few seconds costs nothing.
    """
    today = today or dt.date.today()
    out: dict = {"ready": False, "database": "ok"}
    try:
        db.check()
    except DatabaseError:
        out["database"] = "unreachable"
        return out
    try:
        out["schema"] = migrations.state(db)
        with db.engine.connect() as c:
            built = dict(c.execute(sa.select(build_log.c.mart, sa.func.max(build_log.c.month))
                                   .group_by(build_log.c.mart)).all()) if sa.inspect(c).has_table(build_log.name) else {}
        missing = sorted(set(SELECTS) - set(built))
        out["marts"] = "ok" if not missing else "missing"
        out["marts_missing"] = len(missing)
        last = max(built.values()) if built else None
        if last is not None:
            last_day = last.replace(day=calendar.monthrange(last.year, last.month)[1])
            out["data_until"] = last_day.isoformat()
            out["freshness_days"] = (today - last_day).days
        runs = recent(db, 1) if out["schema"] == "current" else []
        if runs:
            r = runs[0]
            out["last_refresh"] = {"kind": r["kind"], "status": r["status"], "started_at": r["started_at"].isoformat(),
                                   "seconds": r["seconds"]}
        out["ready"] = out["schema"] == "current" and not missing
    except Exception as exc:  # a half-created database: not ready, never a 500
        out["error"] = type(exc).__name__
    return out
