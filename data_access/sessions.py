"""Server-side sessions (``app_session``): started at sign-in, checked on every request, ended at
logout, on a password change and when a user is deactivated."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa

from .app_schema import app_session, ensure
from .db import Database


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def start(db: Database, user_id: int, hours: float) -> str:
    """A new session of the user for ``hours``; returns its id (kept only in the signed cookie)."""
    ensure(db)
    sid = secrets.token_urlsafe(32)
    now = _now()
    with db.write() as c:
        c.execute(app_session.insert().values(session_hash=_hash(sid), user_id=int(user_id), created_at=now,
                                              expires_at=now + dt.timedelta(hours=hours)))
    return sid


def is_open(db: Database, sid: str | None, user_id: int) -> bool:
    """Whether the session exists for this user, has not ended and has not expired."""
    if not sid:
        return False
    ensure(db)
    s = app_session
    with db.engine.connect() as c:
        row = c.execute(sa.select(s.c.user_id, s.c.expires_at, s.c.ended_at)
                        .where(s.c.session_hash == _hash(str(sid)))).first()
    return row is not None and int(row.user_id) == int(user_id) and row.ended_at is None and row.expires_at > _now()


def end(db: Database, sid: str | None) -> None:
    if not sid:
        return
    ensure(db)
    with db.write() as c:
        c.execute(app_session.update().where(app_session.c.session_hash == _hash(str(sid)),
                                             app_session.c.ended_at.is_(None)).values(ended_at=_now()))


def end_all(db: Database, user_id: int, conn=None) -> None:
    """End every open session of a user (a password change, a deactivation)."""
    ensure(db)
    stmt = app_session.update().where(app_session.c.user_id == int(user_id),
                                      app_session.c.ended_at.is_(None)).values(ended_at=_now())
    if conn is not None:
        conn.execute(stmt)
        return
    with db.write() as c:
        c.execute(stmt)
