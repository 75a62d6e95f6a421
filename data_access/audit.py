"""Storage of the audit log: who did what, when, from where — written in the caller's transaction."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import sqlalchemy as sa
from flask import has_request_context, request

from .app_schema import audit_log, ensure
from .db import Database


def _ip() -> str | None:
    if not has_request_context():
        return "cli"
    # the peer address; behind configured proxies (TRUSTED_PROXIES) werkzeug's ProxyFix has already
    # put the client's address there — a X-Forwarded-For header sent by anyone else is not believed
    return (request.remote_addr or "")[:64]


def record(db: Database, action: str, *, user_id: int | None = None, login: str | None = None,
           obj: str | None = None, details: dict | None = None, conn=None) -> None:
    """Write one audit entry (inside ``conn``'s transaction when given)."""
    ensure(db)
    row = {"logged_at": dt.datetime.now().replace(microsecond=0), "user_id": user_id, "login": login, "action": action,
           "object": (obj or "")[:200] or None,
           "details": json.dumps(details, ensure_ascii=False, default=str) if details else None, "ip": _ip()}
    if conn is not None:
        conn.execute(audit_log.insert().values(**row))
    else:
        with db.write() as c:
            c.execute(audit_log.insert().values(**row))


def search(db: Database, *, action: str | None = None, login: str | None = None, date_from: dt.date | None = None,
           date_to: dt.date | None = None, text: str | None = None, limit: int = 500) -> pd.DataFrame:
    ensure(db)
    a = audit_log
    q = (sa.select(a.c.logged_at, a.c.login, a.c.action, a.c.object, a.c.details, a.c.ip)
         .order_by(a.c.audit_id.desc()).limit(limit))
    if action:
        q = q.where(a.c.action == action)
    if login:
        q = q.where(a.c.login == login)
    if date_from:
        q = q.where(a.c.logged_at >= dt.datetime.combine(date_from, dt.time()))
    if date_to:
        q = q.where(a.c.logged_at < dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time()))
    if text:
        like = f"%{text}%"
        q = q.where(sa.or_(a.c.object.ilike(like), a.c.details.ilike(like)))
    return db.read_df(q)
