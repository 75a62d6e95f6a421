"""Mart select of pregnancy monitoring: registration, screenings, outcomes."""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select

from data_access import schema as s

from .sql import Window, month_end_of, months_subquery, total


def sel_pregnancy(w: Window):
    ms = months_subquery(w)
    pr, m = s.pregnancy, s.mo
    end = month_end_of(ms.c.month)
    visits = select(s.pregnancy_visit.c.pregnancy_id, func.count().label("n")).group_by(
        s.pregnancy_visit.c.pregnancy_id).subquery("pv")
    births = pr.c.outcome.in_(["birth_term", "birth_preterm"])
    out_in = and_(pr.c.outcome_date >= ms.c.month, pr.c.outcome_date <= end)
    active = and_(pr.c.registered_date <= end, or_(pr.c.outcome_date.is_(None), pr.c.outcome_date > end))
    cols = [ms.c.month, m.c.district_id, pr.c.mo_id, pr.c.doctor_id]
    win = []
    for k, (lo, hi) in enumerate([(77, 104), (133, 153), (210, 244)], start=1):
        wend = pr.c.lmp_date + hi
        due = and_(wend >= ms.c.month, wend <= end, pr.c.registered_date <= wend,
                   or_(pr.c.outcome_date.is_(None), pr.c.outcome_date > wend))
        sc = pr.c[f"screening{k}_date"]
        win += [total(due).label(f"s{k}_due"),
                total(and_(due, sc >= pr.c.lmp_date + lo, sc <= wend)).label(f"s{k}_in_window")]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "doctor_id"])],
                  total(and_(pr.c.registered_date >= ms.c.month, pr.c.registered_date <= end)).label("registered"),
                  total(and_(pr.c.registered_date >= ms.c.month, pr.c.registered_date <= end,
                             pr.c.registered_week < 12)).label("registered_lt12"),
                  total(active).label("active_end"),
                  total(and_(active, pr.c.risk_group == "high")).label("high_risk_active"),
                  total(and_(out_in, births)).label("births"),
                  total(and_(out_in, pr.c.outcome == "birth_term")).label("births_term"),
                  total(and_(out_in, pr.c.outcome == "birth_preterm")).label("births_preterm"),
                  total(and_(out_in, ~births)).label("losses"),
                  total(and_(out_in, births, func.coalesce(visits.c.n, 0) >= 5)).label("births_5visits"),
                  *win,
                  ).select_from(ms.join(pr, and_(pr.c.registered_date <= end,
                                                 or_(pr.c.outcome_date.is_(None), pr.c.outcome_date >= ms.c.month - 250)))
                                .join(m, m.c.mo_id == pr.c.mo_id)
                                .outerjoin(visits, visits.c.pregnancy_id == pr.c.pregnancy_id)).group_by(*cols)
