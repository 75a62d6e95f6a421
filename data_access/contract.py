"""Storage of the effective contract: staff assignments (read), scheme versions and dispute marks (kept).

Scheme versions and marks are append-only. A new version is numbered after the latest inside the saving
transaction; when another person saved first (their number is taken, or the latest is no longer the one the
editor started from) nothing is written and ``add_version`` returns None.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from . import schema as s
from . import units as U
from .app_schema import contract_mark, contract_scheme, ensure
from .audit import record
from .db import Database
from .scope import Scope

MARK_STATES = {"disagree": "Не согласен", "resolved": "Отметка снята"}


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


# ------------------------------------------------------------------ assignments
def assignments(db: Database, first: dt.date, last: dt.date, scope: Scope, *, mo_id: int | None = None,
                district_id: int | None = None, positions: tuple[str, ...] | None = None,
                personnel_no: str | None = None) -> pd.DataFrame:
    """Assignments that overlap the days first..last, inside the scope.

    Returns:
        assignment_id, personnel_no, full_name, doctor_id, mo_id, mo_name, mo_kind, district_id, district_name, position,
        rate, start_date, end_date — ordered by organisation, name, start.
    """
    e, m, d = s.employment, s.mo, s.district
    q = (sa.select(e.c.assignment_id, e.c.personnel_no, e.c.full_name, e.c.doctor_id, e.c.mo_id,
                   m.c.short_name.label("mo_name"), m.c.kind.label("mo_kind"), m.c.district_id,
                   d.c.name.label("district_name"), e.c.position,
                   e.c.rate, e.c.start_date, e.c.end_date)
         .select_from(e.join(m, m.c.mo_id == e.c.mo_id).join(d, d.c.district_id == m.c.district_id))
         .where(e.c.start_date <= last, sa.or_(e.c.end_date.is_(None), e.c.end_date >= first),
                *U.scope_where(m, scope, "mo"))
         .order_by(e.c.mo_id, e.c.full_name, e.c.personnel_no, e.c.start_date))
    if mo_id is not None:
        q = q.where(e.c.mo_id == int(mo_id))
    if district_id is not None:
        q = q.where(m.c.district_id == int(district_id))
    if positions is not None:
        q = q.where(e.c.position.in_(list(positions)))
    if personnel_no is not None:
        q = q.where(e.c.personnel_no == str(personnel_no))
    df = db.read_df(q)
    for c in ("start_date", "end_date"):
        df[c] = [None if pd.isna(x) else pd.Timestamp(x).date() for x in df[c]]
    df["doctor_id"] = df["doctor_id"].astype("Int64")
    return df


# ------------------------------------------------------------------ scheme versions
def seed(db: Database, shipped: list[tuple[str, dt.date, str]]) -> None:
    """Write the shipped text of each scheme that has no version yet as its version 1."""
    ensure(db)
    with db.engine.connect() as c:
        have = set(c.execute(sa.select(contract_scheme.c.scheme_code).distinct()).scalars())
    missing = [x for x in shipped if x[0] not in have]
    if not missing:
        return
    for code, valid_from, body in missing:
        try:
            with db.write() as c:
                if c.execute(sa.select(contract_scheme.c.version).where(contract_scheme.c.scheme_code == code)).first():
                    continue
                c.execute(contract_scheme.insert().values(scheme_code=code, version=1, valid_from=valid_from,
                                                          body=body, author="система", created_at=_now(),
                                                          comment="Схема поставки"))
        except sa.exc.IntegrityError:
            pass  # another process seeded it at the same moment


def versions(db: Database, code: str | None = None) -> pd.DataFrame:
    """scheme_code, version, valid_from, author, created_at, comment — newest first."""
    ensure(db)
    t = contract_scheme
    q = sa.select(t.c.scheme_code, t.c.version, t.c.valid_from, t.c.author, t.c.created_at, t.c.comment)
    if code is not None:
        q = q.where(t.c.scheme_code == code)
    df = db.read_df(q.order_by(t.c.scheme_code, t.c.version.desc()))
    df["valid_from"] = [pd.Timestamp(x).date() for x in df["valid_from"]]
    return df


def body(db: Database, code: str, version: int) -> str | None:
    ensure(db)
    t = contract_scheme
    with db.engine.connect() as c:
        return c.execute(sa.select(t.c.body).where(t.c.scheme_code == code, t.c.version == int(version))).scalar()


def add_version(db: Database, code: str, base_version: int, valid_from: dt.date, text: str, author: str,
                comment: str) -> int | None:
    """Save version base_version + 1 and audit it; None when base_version is no longer the latest."""
    ensure(db)
    t = contract_scheme
    try:
        with db.write() as c:
            latest = c.execute(sa.select(sa.func.max(t.c.version)).where(t.c.scheme_code == code)).scalar() or 0
            if latest != int(base_version):
                return None
            number = latest + 1
            c.execute(t.insert().values(scheme_code=code, version=number, valid_from=valid_from, body=text,
                                        author=author, created_at=_now(), comment=comment))
            record(db, "contract_scheme_save", login=author, obj=f"{code} v{number}",
                   details={"valid_from": valid_from, "comment": comment}, conn=c)
    except sa.exc.IntegrityError:
        return None  # PostgreSQL: a parallel save took the number first
    return number


# ------------------------------------------------------------------ dispute marks
def add_mark(db: Database, *, mo_id: int, personnel_no: str, period: str, state: str, comment: str, author: str,
             criterion: str | None = None, user_id: int | None = None) -> int:
    """Record a mark (and its audit entry) in one transaction; returns its id."""
    ensure(db)
    with db.write() as c:
        mid = c.execute(contract_mark.insert().values(
            mo_id=int(mo_id), personnel_no=str(personnel_no), period=period, criterion=criterion, state=state,
            comment=comment, author=author, created_at=_now()).returning(contract_mark.c.mark_id)).scalar()
        record(db, "contract_mark", user_id=user_id, login=author, obj=f"mo:{mo_id}/{personnel_no}/{period}",
               details={"state": state, "criterion": criterion, "comment": comment}, conn=c)
    return int(mid)


def marks(db: Database, mo_ids: list[int], period: str, personnel_no: str | None = None) -> pd.DataFrame:
    """mark_id, mo_id, personnel_no, criterion, state, comment, author, created_at — in the order they were made."""
    ensure(db)
    t = contract_mark
    q = sa.select(t.c.mark_id, t.c.mo_id, t.c.personnel_no, t.c.criterion, t.c.state, t.c.comment, t.c.author,
                  t.c.created_at).where(t.c.period == period, t.c.mo_id.in_([int(x) for x in mo_ids]))
    if personnel_no is not None:
        q = q.where(t.c.personnel_no == str(personnel_no))
    return db.read_df(q.order_by(t.c.mark_id))
