"""The refresh log: each build of marts, import of data and scheduled refresh, with its duration and outcome.

Written by the CLI commands and the scheduled refresh, read by the data-status page and ``/readyz``.
"""
from __future__ import annotations

import contextlib
import datetime as dt

import sqlalchemy as sa

from .app_schema import data_refresh, ensure
from .db import Database


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def start(db: Database, kind: str, months: list[dt.date] | None = None, by: str | None = None) -> int:
    """A refresh under way (status «running»); returns its id."""
    ensure(db)
    text = ",".join(f"{m:%Y-%m}" for m in months) if months else None
    with db.write() as c:
        return c.execute(data_refresh.insert().values(kind=kind, months=text, started_at=_now(), status="running",
                                                      started_by=by).returning(data_refresh.c.refresh_id)).scalar()


def finish(db: Database, refresh_id: int, *, ok: bool, rows: int | None = None, message: str | None = None) -> None:
    with db.write() as c:
        c.execute(data_refresh.update().where(data_refresh.c.refresh_id == refresh_id).values(
            finished_at=_now(), status="ok" if ok else "failed", rows=rows, message=(message or None) and message[:4000]))


@contextlib.contextmanager
def recording(db: Database, kind: str, months: list[dt.date] | None = None, by: str | None = None):
    """Record a refresh around a block; the block may set ``result["rows"]`` and ``result["message"]``.

    A failure is recorded with its message and raised again.
    """
    rid = start(db, kind, months, by)
    result: dict = {"id": rid}
    try:
        yield result
    except BaseException as exc:
        finish(db, rid, ok=False, rows=result.get("rows"), message=str(exc) or type(exc).__name__)
        raise
    finish(db, rid, ok=True, rows=result.get("rows"), message=result.get("message"))


def recent(db: Database, limit: int = 10) -> list[dict]:
    """The latest refreshes, newest first, with their duration in seconds."""
    ensure(db)
    with db.engine.connect() as c:
        rows = c.execute(sa.select(data_refresh).order_by(data_refresh.c.refresh_id.desc()).limit(limit)).mappings()
        out = [dict(r) for r in rows]
    for r in out:
        r["seconds"] = (r["finished_at"] - r["started_at"]).total_seconds() if r["finished_at"] else None
    return out


@contextlib.contextmanager
def exclusive(db: Database):
    """Yield True when this process may refresh now: no other process is refreshing the same database.

    PostgreSQL: a session advisory lock (several gunicorn workers each run the schedule; one refreshes).
    DuckDB: one process holds the file, and the caller's in-process lock suffices.
    """
    if db.is_duckdb:
        yield True
        return
    with db.engine.connect() as c:
        got = bool(c.execute(sa.text("SELECT pg_try_advisory_lock(7240514)")).scalar())
        try:
            yield got
        finally:
            if got:
                c.execute(sa.text("SELECT pg_advisory_unlock(7240514)"))
            c.commit()
