"""Availability of care through the semantic layer: bookings against the norms, wait histograms,
schedule use and booking channels, by the unit's children along the availability drill path
(city → district → organisation → specialty → doctor), under the person's scope."""
from __future__ import annotations

import pandas as pd

from data_access import access as A
from data_access import units as U
from data_access.scope import CITY, Scope

from . import query as Q

PATH = A.PATH
BOOKING_MEASURES = ["bookings", "normed", "within_norm", "within_24h", "attended", "no_show", "cancelled", "pending"]
SLOT_MEASURES = ["slots", "bookable", "booked", "attended", "no_show", "cancelled"]


def unit(n_level: str, n_id, n_mo, scope: Scope) -> U.Unit:
    """The unit of this view (a specialty needs its organisation), refused outside the scope."""
    return U.scoped_unit(n_level, n_id, scope, PATH, n_mo)


def bookings_by(n_level: str, n_id, n_mo, months: tuple, by: str, scope: Scope = CITY) -> pd.DataFrame:
    """Booking counts per ``by`` (child, specialty_id, channel) and group of specialties, for a unit and months:
    key, spec_category, bookings, normed, within_norm, within_24h, attended, no_show, cancelled, pending (name)."""
    n = unit(n_level, n_id, n_mo, scope)
    q = Q.months_query([f"mart_booking.{m}" for m in BOOKING_MEASURES], (by, "spec_category"), n, PATH, months)
    df = Q.answer(q, scope)
    return df.rename(columns={"child_id": "key", "child_name": "name", by: "key"})


def wait_hist(n_level: str, n_id, n_mo, months: tuple, by: str, scope: Scope = CITY) -> pd.DataFrame:
    """Wait histogram (key, v = days, w = bookings) by specialty, channel or child unit."""
    n = unit(n_level, n_id, n_mo, scope)
    child = A.CHILD[n.level]
    if by == "child":
        by = U.LEVELS[child].column if child else None
    mart = {"specialty_id": "mart_wait_spec", "channel": "mart_wait_channel"}.get(by, "mart_wait_hist")
    if by in (None, "doctor_id") or n.level == "doctor" or (n.level == "spec" and by == "channel"):
        # wait histograms are kept per organisation (by specialty, or by channel): not per doctor, and
        # not by channel within a specialty
        return pd.DataFrame(columns=["key", "v", "w"])
    dim = {"district_id": "district", "mo_id": "mo"}.get(by, by)
    q = Q.months_query([f"{mart}.bookings"], (dim, "wait_days"), n, PATH, months,
                       filters=(("spec_category", A.BOOKABLE_CATEGORIES),))
    return Q.answer(q, scope).rename(columns={dim: "key", "wait_days": "v", "bookings": "w"})


def slot_use(n_level: str, n_id, n_mo, months: tuple, scope: Scope = CITY, by_month: bool = False) -> pd.DataFrame:
    """Schedule slots offered, open, booked, attended, missed and cancelled (per month if asked)."""
    n = unit(n_level, n_id, n_mo, scope)
    q = Q.months_query([f"mart_slots.{m}" for m in SLOT_MEASURES], ("month",) if by_month else (), n, PATH, months)
    return Q.answer(q, scope)


def channel_trend(n_level: str, n_id, n_mo, months: tuple, scope: Scope = CITY) -> pd.DataFrame:
    """Bookings per month and channel."""
    n = unit(n_level, n_id, n_mo, scope)
    return Q.answer(Q.months_query(["mart_booking.bookings"], ("month", "channel"), n, PATH, months), scope)
