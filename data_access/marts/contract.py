"""Mart selects of the effective contract: the doctors' plan of visits and its fact, complaints, satisfaction
surveys and neglected cancer cases by doctor (``mart_contract``); salaries against the region's average wage and
the staffing of positions by organisation (``mart_contract_mo``). Codes and the visual cancer sites come from
``core.contract_data``.

Definitions (the column docs of the marts say the same):

- The fact of a plan is the doctor's visits of the month at the organisation of the plan (read from
  ``mart_visits``, built before): only doctors with a plan count, so that a volume ratio is not inflated by
  doctors who have none.
- A complaint and a survey answer count in the month they were received or answered; a complaint is justified
  when the commission said so (one under review is not).
- A cancer case (C00–C97 only) counts in the month of diagnosis, at the patient's attachment organisation and
  участок doctor (not the diagnosing organisation: neglect is a failure of the primary care that should have
  found it earlier); unattached patients are left out. Neglected: stage IV, or stage III of a visual site.
- Salaries: the fund of a staff group is its average salary × headcount, the base is the headcount × the
  region's average wage of the month (the latest published month not after it, as Petrostat publishes late).
- Staffing: positions of state organisations from ``staff_position``, which has no dates: the current snapshot
  stands for every month (as in ``mart_staff``).
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import and_, case, func, literal, or_, select

from core import contract_data as K
from data_access import schema as s

from .registers import icd_in
from .sql import Window, flag, month_of, months_subquery
from .tables import mart_visits

CONTRACT_MEASURES = ("visits_planned", "visits_fact", "complaints", "complaints_justified", "survey_responses",
                     "survey_satisfied", "cancer_cases", "cancer_neglected")
MO_MEASURES = ("salary_fund_doctors", "wage_base_doctors", "salary_fund_nurses", "wage_base_nurses", "staff_rates",
               "staff_rates_filled")


def _part(keys: list, names: tuple[str, ...], measures: tuple[str, ...], **values):
    """One branch of a union, summed by its dimensions: the given measures summed, every other one 0."""
    sums = [(func.sum(values[k]) if k in values else literal(0)).label(k) for k in measures]
    return select(*[c.label(n) for c, n in zip(keys, names)], *sums).group_by(*keys)


def neglected(icd10, stage):
    """SQL: a cancer case is neglected — stage IV, or stage III of a visual site."""
    return or_(stage >= K.STAGE_NEGLECTED, and_(stage >= K.STAGE_NEGLECTED_VISUAL, icd_in(icd10, K.VISUAL_SITES)))


def sel_contract(w: Window):
    """Plan and fact of visits, complaints, survey answers and cancer cases by month, organisation and doctor."""
    dp, cp, ps, cc, p, m = s.doctor_plan, s.complaint, s.patient_survey, s.cancer_case, s.patient, s.mo
    names = ("month", "mo_id", "doctor_id")

    # the plan (rows of one doctor, organisation and month summed) and the doctor's visits there that month
    pm = month_of(dp.c.month)
    plan = select(pm.label("month"), dp.c.mo_id, dp.c.doctor_id, func.sum(dp.c.visits_planned).label("planned")
                  ).where(w.on(dp.c.month)).group_by(pm, dp.c.mo_id, dp.c.doctor_id).subquery("plan")
    mv = mart_visits
    fact = select(mv.c.month, mv.c.mo_id, mv.c.doctor_id, func.sum(mv.c.visits).label("visits")).where(
        w.on(mv.c.month)).group_by(mv.c.month, mv.c.mo_id, mv.c.doctor_id).subquery("fact")
    pf = select(plan.c.month, plan.c.mo_id, plan.c.doctor_id, plan.c.planned,
                func.coalesce(fact.c.visits, 0).label("visits")).select_from(
        plan.outerjoin(fact, and_(fact.c.month == plan.c.month, fact.c.mo_id == plan.c.mo_id,
                                  fact.c.doctor_id == plan.c.doctor_id))).subquery("pf")
    parts = [_part([pf.c.month, pf.c.mo_id, pf.c.doctor_id], names, CONTRACT_MEASURES,
                   visits_planned=pf.c.planned, visits_fact=pf.c.visits)]

    cm = month_of(cp.c.received_date)
    parts.append(_part([cm, cp.c.mo_id, cp.c.doctor_id], names, CONTRACT_MEASURES, complaints=literal(1),
                       complaints_justified=flag(cp.c.justified.is_(True))).where(w.on(cp.c.received_date)))
    sm = month_of(ps.c.answered_date)
    parts.append(_part([sm, ps.c.mo_id, ps.c.doctor_id], names, CONTRACT_MEASURES, survey_responses=literal(1),
                       survey_satisfied=flag(ps.c.satisfied.is_(True))).where(w.on(ps.c.answered_date)))
    # cancer cases at the patient's attachment organisation and участок doctor
    ca = select(month_of(cc.c.diagnosis_date).label("month"), p.c.attach_mo_id.label("mo_id"),
                p.c.area_doctor_id.label("doctor_id"), flag(neglected(cc.c.icd10, cc.c.stage)).label("neglected")
                ).select_from(cc.join(p, p.c.patient_id == cc.c.patient_id)).where(
        w.on(cc.c.diagnosis_date), icd_in(cc.c.icd10, K.MALIGNANT), p.c.attach_mo_id.is_not(None)).subquery("ca")
    parts.append(_part([ca.c.month, ca.c.mo_id, ca.c.doctor_id], names, CONTRACT_MEASURES, cancer_cases=literal(1),
                       cancer_neglected=ca.c.neglected))

    u = sa.union_all(*parts).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.doctor_id]
    return select(*cols, *[func.sum(u.c[k]).label(k) for k in CONTRACT_MEASURES]).select_from(
        u.join(m, m.c.mo_id == u.c.mo_id)).group_by(*cols)


def sel_contract_mo(w: Window):
    """Salary funds and their base at the region's average wage, and the staffing of positions, by organisation."""
    ms = months_subquery(w)
    sal, rw, sp, m = s.salary, s.regional_wage, s.staff_position, s.mo
    names = ("month", "mo_id")

    # the region's wage of each month: the latest published month not after it
    latest = select(ms.c.month, func.max(rw.c.month).label("wage_month")).select_from(
        ms.join(rw, rw.c.month <= ms.c.month)).group_by(ms.c.month).subquery("latest")
    wage = select(latest.c.month, rw.c.avg_wage).select_from(
        latest.join(rw, rw.c.month == latest.c.wage_month)).subquery("wage")
    sm = month_of(sal.c.month)
    sl = select(sm.label("month"), sal.c.mo_id, sal.c.staff_group, (sal.c.avg_salary * sal.c.headcount).label("fund"),
                sal.c.headcount).where(w.on(sal.c.month)).subquery("sl")
    base = sl.c.headcount * func.coalesce(wage.c.avg_wage, 0.0)

    def of(group, value):
        return case((sl.c.staff_group == group, value), else_=0.0)

    parts = [_part([sl.c.month, sl.c.mo_id], names, MO_MEASURES,
                   salary_fund_doctors=of("doctors", sl.c.fund), wage_base_doctors=of("doctors", base),
                   salary_fund_nurses=of("nurses", sl.c.fund), wage_base_nurses=of("nurses", base)
                   ).select_from(sl.outerjoin(wage, wage.c.month == sl.c.month))]
    # positions of state organisations: the current snapshot on every month
    parts.append(_part([ms.c.month, sp.c.mo_id], names, MO_MEASURES, staff_rates=sp.c.rate,
                       staff_rates_filled=case((sp.c.doctor_id.is_not(None), sp.c.rate), else_=0.0)).select_from(
        ms.join(sp, sa.true()).join(m, m.c.mo_id == sp.c.mo_id)).where(m.c.is_state.is_(True)))

    u = sa.union_all(*parts).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id]
    return select(*cols, *[func.sum(u.c[k]).label(k) for k in MO_MEASURES]).select_from(
        u.join(m, m.c.mo_id == u.c.mo_id)).group_by(*cols)
