"""Mart selects of morbidity: cases by ICD code, sex and age; the population they are rated to."""
from __future__ import annotations

from sqlalchemy import func, select

from data_access import schema as s

from .sql import Window, age_group, month_of, months_subquery, total


def sel_morbidity(w: Window):
    e, p = s.care_episode, s.patient
    mon = month_of(e.c.opened_date)
    icd3 = func.substr(e.c.icd10, 1, 3)
    ag = age_group(e.c.opened_date, p.c.birth_date)
    cols = [mon, p.c.district_id, p.c.attach_mo_id, icd3, p.c.sex, ag]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "icd3", "sex", "age_group"])],
                  func.count().label("cases"), total(e.c.is_new_diagnosis).label("new_cases")
                  ).select_from(e.join(p, p.c.patient_id == e.c.patient_id)
                                ).where(w.on(e.c.opened_date), e.c.purpose == "disease").group_by(*cols)


def sel_population(w: Window):
    p = s.patient
    ms = months_subquery(w)
    ag = age_group(ms.c.month, p.c.birth_date)
    cols = [ms.c.month, p.c.district_id, p.c.attach_mo_id, p.c.sex, ag]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "sex", "age_group"])],
                  func.count().label("population")
                  ).select_from(ms.join(p, p.c.birth_date <= ms.c.month)).group_by(*cols)
