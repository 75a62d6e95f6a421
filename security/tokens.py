"""API tokens for analysts: shown once, stored only as a SHA-256 hash, sent as ``Authorization: Bearer``."""
from __future__ import annotations

import hashlib
import secrets

from data_access import tokens as store
from data_access.db import Database

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
    store.insert(db, user_id=user.user_id, login=user.login, name=name, token_hash=_hash(token), prefix=token[:12])
    return token


def list_for(db: Database, user: User):
    return store.list_for(db, user.user_id)


def revoke(db: Database, user: User, token_id: int) -> None:
    if not store.revoke(db, user_id=user.user_id, login=user.login, token_id=token_id):
        raise UserError("Токен не найден или уже отозван")


def user_for(db: Database, token: str) -> User | None:
    """The active user a presented token belongs to, or None."""
    if not token or not token.startswith(PREFIX):
        return None
    user_id = store.user_id_for(db, _hash(token))
    if user_id is None:
        return None
    u = get(db, user_id)
    return u if u and u.is_active and u.role_info.tokens else None
