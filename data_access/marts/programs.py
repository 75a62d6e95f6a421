"""Mart selects of prevention programmes: dispensary examinations against plan, vaccinations and cohorts."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import Date, DateTime, Integer, func, literal, select

from data_access import schema as s

from .sql import Window, flag, month_of, months_subquery


def sel_prevention(w: Window):
    ms = months_subquery(w)
    pl, x, m = s.prevention_plan, s.dispensary_exam, s.mo
    yr = sa.cast(sa.extract("year", ms.c.month), Integer)
    plans = select(ms.c.month, pl.c.mo_id, pl.c.program, (pl.c.planned / 12.0).label("plan_month"),
                   pl.c.planned.label("plan_year"), literal(0).label("s1"), literal(0).label("s2r"), literal(0).label("s2")
                   ).select_from(ms.join(pl, pl.c.year == yr))
    s1 = select(month_of(x.c.stage1_end).label("month"), x.c.mo_id, x.c.program, literal(0.0), literal(0),
                literal(1), flag(x.c.stage2_referred), literal(0)).where(w.on(x.c.stage1_end))
    s2 = select(month_of(x.c.stage2_end).label("month"), x.c.mo_id, x.c.program, literal(0.0), literal(0),
                literal(0), literal(0), literal(1)).where(w.on(x.c.stage2_end))
    u = sa.union_all(plans, s1, s2).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.program]
    return select(*cols, func.sum(u.c.plan_month).label("plan_month"), func.sum(u.c.plan_year).label("plan_year"),
                  func.sum(u.c.s1).label("stage1_done"), func.sum(u.c.s2r).label("stage2_referred"),
                  func.sum(u.c.s2).label("stage2_done")).select_from(u.join(m, m.c.mo_id == u.c.mo_id)).group_by(*cols)


COHORTS = {"DTP1": 12, "MMR1": 24, "MMR2": 84}  # age in months at which coverage is assessed


def sel_vaccination(w: Window):
    v, p, m = s.vaccination, s.patient, s.mo
    doses = select(month_of(v.c.vacc_date).label("month"), v.c.mo_id, v.c.vaccine, literal(1).label("d"),
                   literal(0).label("c"), literal(0).label("cv")).where(w.on(v.c.vacc_date))
    parts = [doses]
    y = sa.extract("year", p.c.birth_date)
    mo_ = sa.extract("month", p.c.birth_date)
    lo_idx = w.start.year * 12 + w.start.month - 1
    hi_idx = w.last.year * 12 + w.last.month - 1
    for vaccine, months in COHORTS.items():
        idx = y * 12 + mo_ - 1 + months  # month index at which the child reaches the age
        vv = v.alias(f"v_{vaccine}")
        got = select(vv.c.patient_id, func.min(vv.c.vacc_date).label("first")).where(
            vv.c.vaccine == vaccine).group_by(vv.c.patient_id).subquery(f"g_{vaccine}")
        age_day = p.c.birth_date + int(round(months * 30.44))
        month_col = sa.cast(func.date_trunc(sa.literal_column("'month'"),
                                            sa.cast(p.c.birth_date, DateTime) + dt.timedelta(days=int(round(months * 30.44)))),
                            Date)
        parts.append(select(month_col.label("month"), p.c.attach_mo_id.label("mo_id"), literal(vaccine),
                            literal(0), literal(1), flag(got.c.first <= age_day)
                            ).select_from(p.outerjoin(got, got.c.patient_id == p.c.patient_id)
                                          # the calendar-month prefilter (index-friendly) is one month wider
                                          # than the window: the age in days can cross into the next month,
                                          # and the outer WHERE on the exact month makes the cut
                                          ).where(p.c.attach_mo_id.is_not(None), idx >= lo_idx - 1, idx <= hi_idx + 1))
    u = sa.union_all(*parts).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.vaccine]
    return select(*cols, func.sum(u.c.d).label("doses"), func.sum(u.c.c).label("cohort"),
                  func.sum(u.c.cv).label("covered")).select_from(u.join(m, m.c.mo_id == u.c.mo_id)
                                                                 ).where(u.c.month >= w.start, u.c.month < w.stop
                                                                         ).group_by(*cols)
