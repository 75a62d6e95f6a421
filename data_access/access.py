"""Availability of care: waits against the state-guarantee norms, the nearest free slot, doctors
who cannot be booked, and the use of schedules.

The view walks ``units.PATHS["access"]``: the city → districts → organisations → specialties of an
organisation → doctors. The mart figures (bookings, waits, schedules) are read through the semantic
layer (``metrics/access.py``); here are the schedule checks as of a date, read from the raw tables. Norms (facts §2): therapist,
paediatrician and GP within 24 hours; specialists within 14 working days (3 on suspected cancer
or cardiovascular disease); diagnostics within 14 working days (7 on suspicion). Working days
follow the production calendar (the ``calendar`` table built from the holidays library).
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import func

from . import schema as s
from . import units as U
from .cache import cached
from .context import get_db
from .scope import CITY, Scope

PATH = "access"
CHILD = {lv: U.child_level(lv, PATH) for lv in U.PATHS[PATH]}
NORM_TEXT = {"h24": "24 часа", "wd14": "14 рабочих дней (3 при подозрении на онкологию или ССЗ)", "none": "не нормируется"}
NORM_DIAG = "14 рабочих дней (7 при подозрении на онкологию или ССЗ)"
BOOKABLE_CATEGORIES = ("primary", "specialist", "obstetric", "diagnostic")


specialties = U.specialties


def norm_text(category: str, wait_norm: str) -> str:
    if category == "diagnostic":
        return NORM_DIAG
    return NORM_TEXT.get(wait_norm, wait_norm)


def node(level: str, unit_id=None, mo_id=None) -> U.Unit:
    """The unit of this view (a specialty needs its organisation), or UnitError."""
    return U.node(level, unit_id, mo_id, path=PATH)


# ------------------------------------------------------------------ schedules as of a date (raw tables)
def _raw_unit_conds(t, n: U.Unit, scope: Scope):
    """Filters of a raw table (mo_id, specialty_id, doctor_id) for a unit; its rows are per organisation."""
    return [*U.unit_where(t, n), *U.scope_where(t, scope, "mo" if n.level in ("region", "district") else n.level)]


@cached(timeout=600)
def nearest_free(n_level: str, n_id, n_mo, as_of: dt.date, scope: Scope = CITY, horizon_days: int = 60) -> pd.DataFrame:
    """For each organisation and specialty: the first slot open for booking on or after ``as_of`` that
    nobody had booked by then; with working days to it and whether that breaks the norm.

    Returns mo_id, mo_name, specialty_id, specialty, category, wait_norm, slot_start, working_days,
    hours, beyond_norm (True/False; None when no free slot within the horizon).
    """
    n = U.require(scope, node(n_level, n_id, n_mo))
    sl, b = s.slot, s.booking
    start = dt.datetime.combine(as_of, dt.time(0))
    booked_before = sa.exists().where(b.c.slot_id == sl.c.slot_id, b.c.booked_at < start,
                                      b.c.status != "cancelled")
    q = sa.select(sl.c.mo_id, sl.c.specialty_id, func.min(sl.c.slot_start).label("slot_start")).where(
        sl.c.slot_start >= start, sl.c.slot_start < start + dt.timedelta(days=horizon_days),
        sl.c.is_bookable.is_(True), ~booked_before, *_raw_unit_conds(sl, n, scope)
    ).group_by(sl.c.mo_id, sl.c.specialty_id)
    free = get_db().read_df(q)
    if n.level == "doctor":
        out = free
    else:
        # every staffed (organisation, specialty): those without any free slot are shown too
        p = s.staff_position
        staffed = get_db().read_df(sa.select(p.c.mo_id, p.c.specialty_id).where(
            p.c.doctor_id.is_not(None), *_raw_unit_conds(p, n, scope)).group_by(p.c.mo_id, p.c.specialty_id))
        out = staffed.merge(free, on=["mo_id", "specialty_id"], how="left")
    sp = specialties().set_index("specialty_id")
    out = out[out["specialty_id"].map(sp["category"]).isin(BOOKABLE_CATEGORIES)].copy()
    out["specialty"] = out["specialty_id"].map(sp["name"])
    out["category"] = out["specialty_id"].map(sp["category"])
    out["wait_norm"] = out["specialty_id"].map(sp["wait_norm"])
    orgs = U.organisations().set_index("mo_id")
    out["mo_name"] = out["mo_id"].map(orgs["short_name"])
    out["slot_start"] = pd.to_datetime(out["slot_start"])
    cal = working_index(as_of - dt.timedelta(days=7), as_of + dt.timedelta(days=horizon_days + 7))
    day = out["slot_start"].dt.date
    out["working_days"] = [None if d is None or d != d else cal.get(d, None) - cal[as_of_working(cal, as_of)]
                           for d in day]
    out["hours"] = (out["slot_start"] - pd.Timestamp(start)).dt.total_seconds() / 3600
    out["beyond_norm"] = [beyond(c, wn, wd, h) for c, wn, wd, h in zip(out["category"], out["wait_norm"],
                                                                      out["working_days"], out["hours"])]
    return out.sort_values(["mo_name", "specialty"]).reset_index(drop=True)


def as_of_working(cal: dict, d: dt.date) -> dt.date:
    """The last day in the calendar on or before d (its working-day index counts up to it)."""
    while d not in cal:
        d -= dt.timedelta(days=1)
    return d


def beyond(category: str, wait_norm: str, working_days, hours) -> bool | None:
    """Whether the nearest free slot breaks the norm (None: no free slot at all)."""
    if working_days is None or working_days != working_days:
        return None
    if wait_norm == "h24" or category == "primary":
        # a patient asking on that day must be seen within 24 hours: a free slot that day or the next
        return hours > 48
    return working_days > 14


@cached(memory=True)
def working_index(first: dt.date, last: dt.date) -> dict[dt.date, int]:
    c = s.calendar
    df = get_db().read_df(sa.select(c.c.day, c.c.wd_index).where(c.c.day >= first, c.c.day <= last))
    return {(d if isinstance(d, dt.date) else d.date()): int(i) for d, i in zip(df["day"], df["wd_index"])}


@cached(timeout=600)
def not_bookable(n_level: str, n_id, n_mo, as_of: dt.date, scope: Scope = CITY, days: int = 14) -> pd.DataFrame:
    """Staffed positions whose doctor has no slot open for booking in the ``days`` after ``as_of``, and
    vacant positions: one row per position (doctor_id empty for a vacancy)."""
    n = U.require(scope, node(n_level, n_id, n_mo))
    p, sl, d = s.staff_position, s.slot, s.doctor
    start = dt.datetime.combine(as_of, dt.time(0))
    # doctors with an open slot in the window, found once and joined (a correlated EXISTS per position
    # took 14 s for the city on DuckDB)
    open_docs = sa.select(sl.c.doctor_id).where(
        sl.c.is_bookable.is_(True), sl.c.slot_start >= start, sl.c.slot_start < start + dt.timedelta(days=days)
    ).group_by(sl.c.doctor_id).subquery("open_docs")
    conds = _raw_unit_conds(p, n, scope) if n.level != "doctor" else [p.c.doctor_id == n.id]
    q = sa.select(p.c.position_id, p.c.mo_id, p.c.specialty_id, p.c.rate, p.c.doctor_id, d.c.full_name,
                  open_docs.c.doctor_id.is_not(None).label("open")).select_from(
        p.outerjoin(d, d.c.doctor_id == p.c.doctor_id).outerjoin(open_docs, open_docs.c.doctor_id == p.c.doctor_id)
    ).where(*conds)
    df = get_db().read_df(q)
    sp = specialties().set_index("specialty_id")
    df = df[df["specialty_id"].map(sp["category"]).isin(BOOKABLE_CATEGORIES)].copy()
    df["specialty"] = df["specialty_id"].map(sp["name"])
    df["mo_name"] = df["mo_id"].map(U.organisations().set_index("mo_id")["short_name"])
    df["state"] = ["vacant" if doc != doc or doc is None else ("open" if op else "closed")
                   for doc, op in zip(df["doctor_id"], df["open"])]
    return df.reset_index(drop=True)
