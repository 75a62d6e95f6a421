"""Storage of users (``app_user``): lookups joined with their organisation's district, inserts and
updates — each change audited in its own transaction. Policy (roles, passwords) is in ``security``.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from . import audit, schema, sessions
from .app_schema import app_user, ensure
from .db import Database


def _select():
    m = schema.mo
    return sa.select(app_user, m.c.district_id.label("mo_district")).select_from(
        app_user.outerjoin(m, m.c.mo_id == app_user.c.mo_id))


def get(db: Database, user_id: int):
    """The user's row (with ``mo_district``), or None."""
    ensure(db)
    with db.engine.connect() as c:
        return c.execute(_select().where(app_user.c.user_id == int(user_id))).first()


def by_login(db: Database, login: str):
    """The user's row (with ``mo_district`` and ``password_hash``), or None."""
    ensure(db)
    with db.engine.connect() as c:
        return c.execute(_select().where(app_user.c.login == login)).first()


def count(db: Database) -> int:
    ensure(db)
    with db.engine.connect() as c:
        return c.execute(sa.select(sa.func.count()).select_from(app_user)).scalar()


def list_users(db: Database) -> pd.DataFrame:
    ensure(db)
    return db.read_df(sa.select(app_user.c.user_id, app_user.c.login, app_user.c.full_name, app_user.c.role,
                                app_user.c.district_id, app_user.c.mo_id, app_user.c.is_active,
                                app_user.c.last_login_at).order_by(app_user.c.login))


def full_names(db: Database) -> dict[str, str]:
    """Login → full name of every account (tasks, comments and history show people, not logins)."""
    ensure(db)
    with db.engine.connect() as c:
        return dict(c.execute(sa.select(app_user.c.login, app_user.c.full_name)).all())


def district_exists(db: Database, district_id: int) -> bool:
    with db.engine.connect() as c:
        return c.execute(sa.select(schema.district.c.district_id).where(
            schema.district.c.district_id == int(district_id))).first() is not None


def mo_district(db: Database, mo_id: int) -> int | None:
    """The district of an organisation, or None when there is no such organisation."""
    with db.engine.connect() as c:
        r = c.execute(sa.select(schema.mo.c.district_id).where(schema.mo.c.mo_id == int(mo_id))).first()
    return int(r.district_id) if r else None


def insert(db: Database, values: dict, *, by: str, details: dict | None = None) -> int | None:
    """Insert a user and audit it in one transaction; None (nothing written) when the login is taken."""
    ensure(db)
    with db.write() as c:
        if c.execute(sa.select(app_user.c.user_id).where(app_user.c.login == values["login"])).first():
            return None
        uid = c.execute(app_user.insert().values(**values).returning(app_user.c.user_id)).scalar()
        audit.record(db, "user_create", login=by, obj=values["login"], details=details, conn=c)
    return uid


def set_password_hash(db: Database, login: str, password_hash: str, *, by: str) -> None:
    ensure(db)
    with db.write() as c:
        c.execute(app_user.update().where(app_user.c.login == login).values(
            password_hash=password_hash, password_changed_at=dt.datetime.now()))  # microseconds: the stamp must change
        uid = c.execute(sa.select(app_user.c.user_id).where(app_user.c.login == login)).scalar()
        sessions.end_all(db, uid, conn=c)  # every session signed in with the old password ends
        audit.record(db, "password_change", login=by, obj=login, conn=c)


def set_active(db: Database, user_id: int, login: str, active: bool, *, by: str) -> None:
    ensure(db)
    with db.write() as c:
        c.execute(app_user.update().where(app_user.c.user_id == int(user_id)).values(is_active=bool(active)))
        if not active:
            sessions.end_all(db, user_id, conn=c)
        audit.record(db, "user_update", login=by, obj=login, details={"is_active": bool(active)}, conn=c)


def touch_login(db: Database, user_id: int, password_hash: str | None = None) -> None:
    """Note a successful login (and store a rehashed password when given)."""
    values = {"last_login_at": dt.datetime.now().replace(microsecond=0)}
    if password_hash is not None:
        values["password_hash"] = password_hash
    with db.write() as c:
        c.execute(app_user.update().where(app_user.c.user_id == int(user_id)).values(**values))


def demo_places(db: Database) -> tuple[int | None, int | None, str | None]:
    """The demo users' places: the Kolpino district, its first adult polyclinic and that polyclinic's name."""
    with db.engine.connect() as c:
        kolp = c.execute(sa.select(schema.district.c.district_id).where(schema.district.c.name == "Колпинский")).scalar()
        mo_id = c.execute(sa.select(schema.mo.c.mo_id).where(schema.mo.c.district_id == kolp,
                                                             schema.mo.c.kind == "adult_polyclinic")
                          .order_by(schema.mo.c.mo_id).limit(1)).scalar()
        mo_name = c.execute(sa.select(schema.mo.c.short_name).where(schema.mo.c.mo_id == mo_id)).scalar()
    return kolp, mo_id, mo_name
