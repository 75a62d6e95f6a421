"""The sign-in lockout, exact under parallel guesses: the attempts of one login are checked one at a time."""
from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Callable

import sqlalchemy as sa

from .app_schema import ensure, login_attempt
from .db import Database

_LOGIN_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_GUARD = threading.Lock()


@contextlib.contextmanager
def _one_at_a_time(db: Database, login: str):
    """A connection on which this login's attempt runs alone: PostgreSQL's advisory lock for the login
    (held to the end of the transaction), or on DuckDB — one process — a lock per login in this process."""
    if db.is_duckdb:
        with _GUARD:
            lock = _LOGIN_LOCKS.setdefault((db.url, login), threading.Lock())
        with lock, db.engine.connect() as c:
            yield c
        return
    with db.engine.begin() as c:
        c.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:login))"), {"login": login})
        yield c


def attempt(db: Database, login: str, window: dt.timedelta, max_failures: int,
            verify: Callable[[], bool]) -> tuple[str, int, dt.datetime | None]:
    """Check a password unless the login is locked, and record the outcome.

    Failures are counted in the window since the login's last success; a parallel burst of guesses is
    checked one by one, so no more than ``max_failures`` of them are ever verified.

    Returns (``ok`` / ``fail`` / ``locked``, failures counted before this attempt, the latest of them).
    """
    ensure(db)
    t = login_attempt
    now = dt.datetime.now()
    with _one_at_a_time(db, login) as c:
        last_ok = c.execute(sa.select(sa.func.max(t.c.started_at)).where(t.c.login == login, t.c.outcome == "ok")).scalar()
        start = max(now - window, last_ok) if last_ok else now - window
        n, last = c.execute(sa.select(sa.func.count(), sa.func.max(t.c.started_at)).where(
            t.c.login == login, t.c.started_at >= start, t.c.outcome == "fail")).one()
        if n >= max_failures:
            return "locked", n, last
        outcome = "ok" if verify() else "fail"
        row = t.insert().values(login=login, started_at=dt.datetime.now(), outcome=outcome)
        if db.is_duckdb:
            with db.write() as w:
                w.execute(row)
        else:
            c.execute(row)
    return outcome, n, last
