"""Availability of care: waits against the state-guarantee norms, the nearest free slot, doctors
who cannot be booked, and the use of schedules.

Levels of this view: the city (children: districts), a district (organisations), an organisation
(specialties), a specialty in an organisation (doctors), a doctor. Norms (facts §2): therapist,
paediatrician and GP within 24 hours; specialists within 14 working days (3 on suspected cancer
or cardiovascular disease); diagnostics within 14 working days (7 on suspicion). Working days
follow the production calendar (the ``calendar`` table built from the holidays library).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import func

from . import marts as M
from . import schema as s
from . import units as U
from .cache import cached
from .context import get_db
from .scope import CITY, Scope

LEVELS = ["region", "district", "mo", "spec", "doctor"]
CHILD = {"region": "district", "district": "mo", "mo": "spec", "spec": "doctor", "doctor": None}
COLUMN = {"district": "district_id", "mo": "mo_id", "spec": "specialty_id", "doctor": "doctor_id"}
LEVEL_TITLES = {"district": "Районы", "mo": "Организации", "spec": "Специальности", "doctor": "Врачи"}
NORM_TEXT = {"h24": "24 часа", "wd14": "14 рабочих дней (3 при подозрении на онкологию или ССЗ)", "none": "не нормируется"}
NORM_DIAG = "14 рабочих дней (7 при подозрении на онкологию или ССЗ)"
BOOKABLE_CATEGORIES = ("primary", "specialist", "obstetric", "diagnostic")


class AccessError(ValueError):
    pass


@dataclass(frozen=True)
class Node:
    level: str
    id: int | None
    name: str
    district_id: int | None = None
    mo_id: int | None = None
    specialty_id: int | None = None


@cached(memory=True)
def specialties() -> pd.DataFrame:
    t = s.specialty
    return get_db().read_df(sa.select(t).order_by(t.c.specialty_id))


def norm_text(category: str, wait_norm: str) -> str:
    if category == "diagnostic":
        return NORM_DIAG
    return NORM_TEXT.get(wait_norm, wait_norm)


def node(level: str, unit_id=None, mo_id=None) -> Node:
    if level not in LEVELS:
        raise AccessError(f"Уровень «{level}» неизвестен; допустимы: {', '.join(LEVELS)}")
    if level == "region":
        return Node("region", None, U.CITY_NAME)
    try:
        uid = int(unit_id)
        mo = int(mo_id) if mo_id not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise AccessError("Коды единиц должны быть числами") from exc
    if level == "spec":
        if mo is None:
            raise AccessError("Для специальности укажите организацию (mo)")
        sp = specialties().set_index("specialty_id")
        o = U.unit("mo", mo)
        if uid not in sp.index or o is None:
            raise AccessError("Такой специальности или организации нет")
        return Node("spec", uid, f"{sp.loc[uid, 'name']}", o.district_id, mo, uid)
    u = U.unit(level, uid)
    if u is None:
        raise AccessError(f"Единицы {uid} уровня «{level}» нет")
    if level == "doctor":
        with get_db().engine.connect() as c:
            spec = c.execute(sa.select(s.doctor.c.specialty_id).where(s.doctor.c.doctor_id == uid)).scalar()
        return Node("doctor", uid, u.name, u.district_id, u.mo_id, spec)
    return Node(level, uid, u.name, u.district_id, u.mo_id)


def check_scope(n: Node, scope: Scope) -> None:
    if n.level == "district":
        scope.require_district(n.district_id)
    elif n.level != "region":
        scope.require_mo(n.mo_id, n.district_id)


def lineage(n: Node) -> list[Node]:
    out = [node("region")]
    if n.level != "region":
        out.append(node("district", n.district_id))
    if n.level in ("mo", "spec", "doctor"):
        out.append(node("mo", n.mo_id))
    if n.level in ("spec", "doctor") and n.specialty_id is not None:
        out.append(node("spec", n.specialty_id, n.mo_id))
    if n.level == "doctor":
        out.append(n)
    return out


def _conds(t, n: Node, scope: Scope) -> list:
    conds = []
    if n.level == "district":
        conds.append(t.c.district_id == n.district_id)
    elif n.level == "mo":
        conds.append(t.c.mo_id == n.mo_id)
    elif n.level == "spec":
        conds += [t.c.mo_id == n.mo_id, t.c.specialty_id == n.specialty_id]
    elif n.level == "doctor":
        conds.append(t.c.doctor_id == n.id)
    if scope.districts is not None:
        conds.append(t.c.district_id.in_(sorted(scope.districts)))
    if scope.mos is not None:
        conds.append(t.c.mo_id.in_(sorted(scope.mos)))
    return conds


def _need(n: Node, *cols) -> set[str]:
    need = {"month", "district_id", "mo_id", *cols}
    if n.level == "spec":
        need.add("specialty_id")
    if n.level == "doctor":
        need.add("doctor_id")
    return need


def _child_names(n: Node, ids) -> dict:
    child = CHILD[n.level]
    if child == "district":
        return dict(zip(U.districts()["district_id"], U.districts()["name"]))
    if child == "mo":
        o = U.organisations()
        return dict(zip(o["mo_id"], o["short_name"]))
    if child == "spec":
        sp = specialties()
        return dict(zip(sp["specialty_id"], sp["name"]))
    docs = U.doctors_of(n.mo_id)
    if n.specialty_id is not None:
        with get_db().engine.connect() as c:
            ids = set(c.execute(sa.select(s.doctor.c.doctor_id).where(s.doctor.c.mo_id == n.mo_id,
                                                                      s.doctor.c.specialty_id == n.specialty_id)).scalars())
        docs = docs[docs["doctor_id"].isin(ids)]
    return dict(zip(docs["doctor_id"], docs["full_name"]))


BOOKING_MEASURES = ["bookings", "normed", "within_norm", "within_24h", "attended", "no_show", "cancelled", "pending"]


@cached(timeout=600)
def bookings_by(n_level: str, n_id, n_mo, months: tuple, by: str, scope: Scope = CITY) -> pd.DataFrame:
    """Booking counts per ``by`` (child, specialty_id, channel) and group of specialties, for a unit and months:
    key, spec_category, bookings, normed, within_norm, within_24h, attended, no_show, cancelled, pending."""
    n = node(n_level, n_id, n_mo)
    check_scope(n, scope)
    key = (COLUMN[CHILD[n.level]] or "doctor_id") if by == "child" else by
    t = M.table_for("mart_booking", _need(n, key, "spec_category", *BOOKING_MEASURES))
    q = sa.select(t.c[key].label("key"), t.c.spec_category, *[func.sum(t.c[m]).label(m) for m in BOOKING_MEASURES]
                  ).where(t.c.month.in_(list(months)), *_conds(t, n, scope)).group_by(t.c[key], t.c.spec_category)
    df = get_db().read_df(q)
    if by == "child":
        df["name"] = df["key"].map(_child_names(n, df["key"]))
        df = df.dropna(subset=["name"])
    return df.reset_index(drop=True)


@cached(timeout=600)
def wait_hist(n_level: str, n_id, n_mo, months: tuple, by: str, scope: Scope = CITY) -> pd.DataFrame:
    """Wait histogram (key, v = days, w = bookings) by specialty, channel or child unit."""
    n = node(n_level, n_id, n_mo)
    check_scope(n, scope)
    if by == "specialty_id":
        t = M.mart_wait_spec
    elif by == "channel":
        t = M.mart_wait_channel
    else:
        key = COLUMN[CHILD[n.level]]
        t = M.mart_wait_spec if key == "specialty_id" else M.mart_wait_hist
        by = key
    need = {c for c in ("specialty_id",) if n.level == "spec"} | {by}
    if by == "doctor_id" or n.level == "doctor" or not need <= {c.name for c in t.columns}:
        # wait histograms are kept per organisation (by specialty, or by channel): not per doctor, and
        # not by channel within a specialty
        return pd.DataFrame(columns=["key", "v", "w"])
    q = sa.select(t.c[by].label("key"), t.c.wait_days.label("v"), func.sum(t.c.bookings).label("w")).where(
        t.c.month.in_(list(months)), t.c.spec_category.in_(BOOKABLE_CATEGORIES), *_conds(t, n, scope)
    ).group_by(t.c[by], t.c.wait_days)
    return get_db().read_df(q)


@cached(timeout=600)
def slot_use(n_level: str, n_id, n_mo, months: tuple, scope: Scope = CITY, by_month: bool = False) -> pd.DataFrame:
    n = node(n_level, n_id, n_mo)
    check_scope(n, scope)
    measures = ["slots", "bookable", "booked", "attended", "no_show", "cancelled"]
    t = M.table_for("mart_slots", _need(n, *measures))
    keys = [t.c.month] if by_month else []
    q = sa.select(*keys, *[func.sum(t.c[m]).label(m) for m in measures]).where(
        t.c.month.in_(list(months)), *_conds(t, n, scope))
    if keys:
        q = q.group_by(*keys)
    return get_db().read_df(q)


@cached(timeout=600)
def channel_trend(n_level: str, n_id, n_mo, months: tuple, scope: Scope = CITY) -> pd.DataFrame:
    n = node(n_level, n_id, n_mo)
    check_scope(n, scope)
    t = M.table_for("mart_booking", _need(n, "channel", "bookings"))
    q = sa.select(t.c.month, t.c.channel, func.sum(t.c.bookings).label("bookings")).where(
        t.c.month.in_(list(months)), *_conds(t, n, scope)).group_by(t.c.month, t.c.channel)
    return get_db().read_df(q)


# ------------------------------------------------------------------ schedules as of a date (raw tables)
def _raw_unit_conds(t, n: Node, scope: Scope):
    """Filters of a raw table with mo_id (and specialty_id / doctor_id) for a unit and a scope."""
    conds = []
    mo = s.mo
    if n.level == "district":
        conds.append(t.c.mo_id.in_(sa.select(mo.c.mo_id).where(mo.c.district_id == n.district_id)))
    elif n.level in ("mo", "spec"):
        conds.append(t.c.mo_id == n.mo_id)
        if n.level == "spec":
            conds.append(t.c.specialty_id == n.specialty_id)
    elif n.level == "doctor":
        conds.append(t.c.doctor_id == n.id)
    if scope.districts is not None:
        conds.append(t.c.mo_id.in_(sa.select(mo.c.mo_id).where(mo.c.district_id.in_(sorted(scope.districts)))))
    if scope.mos is not None:
        conds.append(t.c.mo_id.in_(sorted(scope.mos)))
    return conds


@cached(timeout=600)
def nearest_free(n_level: str, n_id, n_mo, as_of: dt.date, scope: Scope = CITY, horizon_days: int = 60) -> pd.DataFrame:
    """For each organisation and specialty: the first slot open for booking on or after ``as_of`` that
    nobody had booked by then; with working days to it and whether that breaks the norm.

    Returns mo_id, mo_name, specialty_id, specialty, category, wait_norm, slot_start, working_days,
    hours, beyond_norm (True/False; None when no free slot within the horizon).
    """
    n = node(n_level, n_id, n_mo)
    check_scope(n, scope)
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
    n = node(n_level, n_id, n_mo)
    check_scope(n, scope)
    p, sl, d = s.staff_position, s.slot, s.doctor
    start = dt.datetime.combine(as_of, dt.time(0))
    has_slot = sa.exists().where(sl.c.doctor_id == p.c.doctor_id, sl.c.is_bookable.is_(True),
                                 sl.c.slot_start >= start, sl.c.slot_start < start + dt.timedelta(days=days))
    conds = _raw_unit_conds(p, n, scope) if n.level != "doctor" else [p.c.doctor_id == n.id]
    q = sa.select(p.c.position_id, p.c.mo_id, p.c.specialty_id, p.c.rate, p.c.doctor_id, d.c.full_name,
                  has_slot.label("open")).select_from(p.outerjoin(d, d.c.doctor_id == p.c.doctor_id)).where(*conds)
    df = get_db().read_df(q)
    sp = specialties().set_index("specialty_id")
    df = df[df["specialty_id"].map(sp["category"]).isin(BOOKABLE_CATEGORIES)].copy()
    df["specialty"] = df["specialty_id"].map(sp["name"])
    df["mo_name"] = df["mo_id"].map(U.organisations().set_index("mo_id")["short_name"])
    df["state"] = ["vacant" if doc != doc or doc is None else ("open" if op else "closed")
                   for doc, op in zip(df["doctor_id"], df["open"])]
    return df.reset_index(drop=True)
