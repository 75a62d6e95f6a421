"""API tokens for analysts: shown once, stored only as a SHA-256 hash, sent as ``Authorization: Bearer``."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa

from data_access.app_schema import api_token, ensure
from data_access.db import Database

from . import audit
from .users import User, UserError, get

PREFIX = "iam_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(db: Database, user: User, name: str) -> str:
    """A new token for the user (returned once; only its hash is kept)."""
    if not user.role_info.tokens:
        raise UserError("API-токены доступны аналитикам и администраторам")
    name = (name or "").strip() or "API"
    token = PREFIX + secrets.token_urlsafe(32)
    ensure(db)
    with db.engine.begin() as c:
        c.execute(api_token.insert().values(user_id=user.user_id, name=name[:120], token_hash=_hash(token),
                                            prefix=token[:12], created_at=dt.datetime.now().replace(microsecond=0)))
        audit.record(db, "token_create", user_id=user.user_id, login=user.login, obj=name, conn=c)
    return token


def list_for(db: Database, user: User):
    ensure(db)
    t = api_token
    return db.read_df(sa.select(t.c.token_id, t.c.name, t.c.prefix, t.c.created_at, t.c.last_used_at, t.c.revoked_at)
                      .where(t.c.user_id == user.user_id).order_by(t.c.token_id.desc()))


def revoke(db: Database, user: User, token_id: int) -> None:
    ensure(db)
    with db.engine.begin() as c:
        n = c.execute(api_token.update().where(api_token.c.token_id == int(token_id), api_token.c.user_id == user.user_id,
                                               api_token.c.revoked_at.is_(None))
                      .values(revoked_at=dt.datetime.now().replace(microsecond=0))).rowcount
        if not n:
            raise UserError("Токен не найден или уже отозван")
        audit.record(db, "token_revoke", user_id=user.user_id, login=user.login, obj=str(token_id), conn=c)


def user_for(db: Database, token: str) -> User | None:
    """The active user a presented token belongs to, or None."""
    if not token or not token.startswith(PREFIX):
        return None
    ensure(db)
    with db.engine.begin() as c:
        r = c.execute(sa.select(api_token.c.token_id, api_token.c.user_id).where(
            api_token.c.token_hash == _hash(token), api_token.c.revoked_at.is_(None))).first()
        if not r:
            return None
        c.execute(api_token.update().where(api_token.c.token_id == r.token_id)
                  .values(last_used_at=dt.datetime.now().replace(microsecond=0)))
    u = get(db, r.user_id)
    return u if u and u.is_active and u.role_info.tokens else None
