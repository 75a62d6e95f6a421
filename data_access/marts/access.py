"""Mart selects of availability: bookings and waits, schedule slots, staff positions."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import and_, case, func, select

from data_access import schema as s

from .sql import DAY, Window, as_date, flag, month_of, months_subquery, total
from .tables import mart_wait_channel


def _booking_base(w: Window):
    b, sp, m = s.booking, s.specialty, s.mo
    c1, c2 = s.calendar.alias("c1"), s.calendar.alias("c2")
    wd = c2.c.wd_index - c1.c.wd_index
    limit = case((b.c.suspicion != "none", case((sp.c.category == "diagnostic", 7), else_=3)), else_=14)
    within = case((sp.c.wait_norm == "h24", flag(b.c.slot_start <= b.c.booked_at + DAY)),
                  (sp.c.wait_norm == "wd14", flag(wd <= limit)), else_=0)
    days = as_date(b.c.slot_start) - as_date(b.c.booked_at)
    q = select(month_of(b.c.booked_at).label("month"), m.c.district_id, b.c.mo_id, b.c.doctor_id, b.c.specialty_id,
               sp.c.category.label("spec_category"), b.c.channel, b.c.suspicion, b.c.status,
               flag(sp.c.wait_norm != "none").label("normed"), within.label("within_norm"),
               flag(b.c.slot_start <= b.c.booked_at + DAY).label("within_24h"), days.label("wait_days")
               ).select_from(b.join(sp, sp.c.specialty_id == b.c.specialty_id).join(m, m.c.mo_id == b.c.mo_id)
                             .join(c1, c1.c.day == as_date(b.c.booked_at)).join(c2, c2.c.day == as_date(b.c.slot_start))
                             ).where(w.on(b.c.booked_at, ts=True))
    return q.subquery("bk")


def sel_booking(w: Window):
    bk = _booking_base(w)
    dims = [bk.c.month, bk.c.district_id, bk.c.mo_id, bk.c.doctor_id, bk.c.specialty_id, bk.c.spec_category,
            bk.c.channel, bk.c.suspicion]
    return select(*dims, func.count().label("bookings"), total(bk.c.status == "attended").label("attended"),
                  total(bk.c.status == "no_show").label("no_show"), total(bk.c.status == "cancelled").label("cancelled"),
                  total(bk.c.status == "booked").label("pending"), func.sum(bk.c.normed).label("normed"),
                  func.sum(bk.c.within_norm).label("within_norm"), func.sum(bk.c.within_24h).label("within_24h"),
                  func.sum(bk.c.wait_days).label("wait_days_sum")).group_by(*dims)


def _wait_select(w: Window, dims: list[str]):
    bk = _booking_base(w)
    wd = func.least(bk.c.wait_days, 91)
    cols = [bk.c[d] for d in dims]
    return select(*cols, wd.label("wait_days"), func.count().label("bookings")).group_by(*cols, wd)


def sel_wait_channel(w: Window):
    return _wait_select(w, ["month", "district_id", "mo_id", "spec_category", "channel"])


def sel_wait_spec(w: Window):
    return _wait_select(w, ["month", "district_id", "mo_id", "specialty_id", "spec_category"])


def sel_wait_hist(w: Window):
    """Summed over channels from mart_wait_channel (built just before it): no second pass over bookings."""
    t = mart_wait_channel
    dims = [t.c.month, t.c.district_id, t.c.mo_id, t.c.spec_category, t.c.wait_days]
    return select(*dims, func.sum(t.c.bookings).label("bookings")).where(w.on(t.c.month)).group_by(*dims)


def sel_slots(w: Window):
    sl, b, m, sp = s.slot, s.booking, s.mo, s.specialty
    mon = month_of(sl.c.slot_start)
    cols = [mon, m.c.district_id, sl.c.mo_id, sl.c.doctor_id, sl.c.specialty_id, sp.c.category]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "doctor_id", "specialty_id",
                                                      "spec_category"])],
                  func.count().label("slots"), total(sl.c.is_bookable.is_(True)).label("bookable"),
                  # a slot whose booking was cancelled is free again: occupied means a booking that stands
                  total(and_(b.c.booking_id.is_not(None), b.c.status != "cancelled")).label("booked"),
                  total(b.c.status == "attended").label("attended"),
                  total(b.c.status == "no_show").label("no_show"), total(b.c.status == "cancelled").label("cancelled"),
                  ).select_from(sl.join(m, m.c.mo_id == sl.c.mo_id).join(sp, sp.c.specialty_id == sl.c.specialty_id)
                                .outerjoin(b, b.c.slot_id == sl.c.slot_id)).where(w.on(sl.c.slot_start, ts=True)).group_by(*cols)


def sel_staff(w: Window):
    ms = months_subquery(w)
    p, m, sp, sl = s.staff_position, s.mo, s.specialty, s.slot
    open_docs = select(month_of(sl.c.slot_start).label("month"), sl.c.doctor_id).where(
        w.on(sl.c.slot_start, ts=True), sl.c.is_bookable.is_(True)).group_by(month_of(sl.c.slot_start), sl.c.doctor_id
                                                                          ).subquery("od")
    dims = [ms.c.month, m.c.district_id, p.c.mo_id, p.c.dept_id, p.c.specialty_id, sp.c.category]
    return select(*[c.label(n) for c, n in zip(dims, ["month", "district_id", "mo_id", "dept_id", "specialty_id",
                                                      "spec_category"])],
                  func.count().label("positions"), func.sum(p.c.rate).label("rates"),
                  total(p.c.doctor_id.is_not(None)).label("filled"), total(p.c.doctor_id.is_(None)).label("vacant"),
                  total(open_docs.c.doctor_id.is_not(None)).label("filled_open"),
                  ).select_from(ms.join(p, sa.true()).join(m, m.c.mo_id == p.c.mo_id)
                                .join(sp, sp.c.specialty_id == p.c.specialty_id)
                                .outerjoin(open_docs, and_(open_docs.c.doctor_id == p.c.doctor_id,
                                                           open_docs.c.month == ms.c.month))).group_by(*dims)
