"""Mart select of activity: visits by doctor and month."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import func, select

from data_access import schema as s

from .sql import Window, month_of, total


def sel_visits(w: Window):
    v, d, m, sp = s.visit, s.doctor, s.mo, s.specialty
    mon = month_of(v.c.visit_date)
    cols = [mon, m.c.district_id, v.c.mo_id, v.c.dept_id, v.c.doctor_id, d.c.specialty_id, sp.c.category]
    return select(
        *[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "dept_id", "doctor_id", "specialty_id",
                                             "spec_category"])],
        func.count().label("visits"),
        total(v.c.purpose == "disease").label("visits_disease"),
        total(v.c.purpose == "prevention").label("visits_prevention"),
        total(v.c.purpose == "dispensary").label("visits_dispensary"),
        total(v.c.purpose == "urgent").label("visits_urgent"),
        total(v.c.is_new_diagnosis).label("visits_new_dx"),
        func.count(sa.distinct(v.c.visit_date)).label("shifts"),
        func.count(sa.distinct(v.c.patient_id)).label("patients"),
    ).select_from(v.join(d, d.c.doctor_id == v.c.doctor_id).join(m, m.c.mo_id == v.c.mo_id)
                  .join(sp, sp.c.specialty_id == d.c.specialty_id)
                  ).where(w.on(v.c.visit_date)).group_by(*cols)
