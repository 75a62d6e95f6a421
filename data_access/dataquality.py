"""Storage of the data-quality review (issue 22): acknowledged outliers (kept) and the registered population (read).

Acknowledgements are append-only (``outlier_ack``): an outlier acknowledged as a true value with a comment, or
the acknowledgement withdrawn ("reopen"); the current state of (indicator, level, unit, month) is its latest row.
Each one is written with its audit entry in one transaction, as the contract's dispute marks are.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from . import schema as s
from . import units as U
from .app_schema import ensure, outlier_ack
from .audit import record
from .db import Database
from .scope import Scope

ACK_COLUMNS = ["ack_id", "code", "level", "unit_id", "month", "state", "comment", "author", "created_at"]


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


# ------------------------------------------------------------------ acknowledged outliers
def add_ack(db: Database, *, code: str, level: str, unit_id: int, month: dt.date, state: str, comment: str,
            author: str, user_id: int | None = None) -> int:
    """Record an acknowledgement (or its withdrawal) and its audit entry in one transaction; returns its id."""
    ensure(db)
    with db.write() as c:
        aid = c.execute(outlier_ack.insert().values(
            code=code, level=level, unit_id=int(unit_id), month=month, state=state, comment=comment, author=author,
            created_at=_now()).returning(outlier_ack.c.ack_id)).scalar()
        record(db, "outlier_ack", user_id=user_id, login=author, obj=f"{code}/{level}:{unit_id}/{month:%Y-%m}",
               details={"state": state, "comment": comment}, conn=c)
    return int(aid)


def acks(db: Database, *, level: str | None = None, months: list[dt.date] | None = None,
         unit_ids: list[int] | None = None, code: str | None = None) -> pd.DataFrame:
    """ack_id, code, level, unit_id, month, state, comment, author, created_at — in the order they were made."""
    ensure(db)
    t = outlier_ack
    q = sa.select(*[t.c[c] for c in ACK_COLUMNS])
    if level is not None:
        q = q.where(t.c.level == level)
    if months is not None:
        q = q.where(t.c.month.in_(list(months)))
    if unit_ids is not None:
        q = q.where(t.c.unit_id.in_([int(x) for x in unit_ids]))
    if code is not None:
        q = q.where(t.c.code == code)
    df = db.read_df(q.order_by(t.c.ack_id))
    df["month"] = [pd.Timestamp(x).date() for x in df["month"]]
    return df.reindex(columns=ACK_COLUMNS)


def latest_acks(db: Database, *, level: str, months: list[dt.date]) -> pd.DataFrame:
    """The current state of each acknowledged value of a level in these months (its latest row)."""
    df = acks(db, level=level, months=months)
    if df.empty:
        return df
    return df.drop_duplicates(["code", "level", "unit_id", "month"], keep="last").reset_index(drop=True)


# ------------------------------------------------------------------ the registered population
def population_years(db: Database) -> list[int]:
    """The years the registered population (``district_population``) is given for."""
    t = s.district_population
    with db.engine.connect() as c:
        return [int(y) for y in c.execute(sa.select(t.c.year).group_by(t.c.year).order_by(t.c.year)).scalars()]


def registered_population(db: Database, year: int, scope: Scope) -> pd.DataFrame:
    """district_id, registered — the registered population of each district in the scope on 1 January."""
    t = s.district_population
    q = (sa.select(t.c.district_id, sa.func.sum(t.c.population).label("registered"))
         .where(t.c.year == int(year), *U.scope_where(t, scope, "district")).group_by(t.c.district_id))
    return db.read_df(q)
