"""Storage of API tokens (``api_token``): only hashes are kept; changes audited in their transaction."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from . import audit
from .app_schema import api_token, ensure
from .db import Database


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def insert(db: Database, *, user_id: int, login: str, name: str, token_hash: str, prefix: str) -> None:
    ensure(db)
    with db.write() as c:
        c.execute(api_token.insert().values(user_id=user_id, name=name[:120], token_hash=token_hash,
                                            prefix=prefix, created_at=_now()))
        audit.record(db, "token_create", user_id=user_id, login=login, obj=name, conn=c)


def list_for(db: Database, user_id: int) -> pd.DataFrame:
    ensure(db)
    t = api_token
    return db.read_df(sa.select(t.c.token_id, t.c.name, t.c.prefix, t.c.created_at, t.c.last_used_at, t.c.revoked_at)
                      .where(t.c.user_id == user_id).order_by(t.c.token_id.desc()))


def revoke(db: Database, *, user_id: int, login: str, token_id: int) -> bool:
    """Revoke one of the user's live tokens (audited); False when there is none such."""
    ensure(db)
    with db.write() as c:
        n = c.execute(api_token.update().where(api_token.c.token_id == int(token_id), api_token.c.user_id == user_id,
                                               api_token.c.revoked_at.is_(None))
                      .values(revoked_at=_now())).rowcount
        if not n:
            return False
        audit.record(db, "token_revoke", user_id=user_id, login=login, obj=str(token_id), conn=c)
    return True


def user_id_for(db: Database, token_hash: str) -> int | None:
    """The user of a live token with this hash (its last use noted), or None."""
    ensure(db)
    with db.write() as c:
        r = c.execute(sa.select(api_token.c.token_id, api_token.c.user_id).where(
            api_token.c.token_hash == token_hash, api_token.c.revoked_at.is_(None))).first()
        if not r:
            return None
        c.execute(api_token.update().where(api_token.c.token_id == r.token_id).values(last_used_at=_now()))
    return r.user_id
