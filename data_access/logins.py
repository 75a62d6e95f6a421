"""The sign-in lockout, counted atomically: an attempt is reserved before its password is checked."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from .app_schema import ensure, login_attempt
from .db import Database


def reserve(db: Database, login: str, window: dt.timedelta, max_failures: int) -> tuple[int | None, int, dt.datetime | None]:
    """Count the failed and unfinished attempts of a login in the window since its last success; below the limit
    record a new unfinished attempt.

    Returns (the attempt's id, or None when the login is locked; attempts counted; the latest of them).
    """
    ensure(db)
    t = login_attempt
    now = dt.datetime.now()
    with db.write() as c:
        if not db.is_duckdb:  # one counter per login at a time (DuckDB: the write lock already serialises)
            c.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:login))"), {"login": login})
        last_ok = c.execute(sa.select(sa.func.max(t.c.started_at)).where(t.c.login == login, t.c.outcome == "ok")).scalar()
        start = max(now - window, last_ok) if last_ok else now - window
        n, last = c.execute(sa.select(sa.func.count(), sa.func.max(t.c.started_at)).where(
            t.c.login == login, t.c.started_at >= start, sa.or_(t.c.outcome.is_(None), t.c.outcome != "ok"))).one()
        if n >= max_failures:
            return None, n, last
        aid = c.execute(t.insert().values(login=login, started_at=now).returning(t.c.attempt_id)).scalar()
    return aid, n, last


def finish(db: Database, attempt_id: int, ok: bool) -> None:
    with db.write() as c:
        c.execute(login_attempt.update().where(login_attempt.c.attempt_id == int(attempt_id))
                  .values(outcome="ok" if ok else "fail"))
