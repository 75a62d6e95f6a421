"""Mart selects of prevention programmes: dispensarisation against plan (by age band and sex),
vaccination by the national calendar (cohort coverage, timeliness, dropout, refusals), adult
boosters and cancer screening. Every age, interval and band comes from ``core.prevention``."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy import Date, Float, Integer, case, func, literal, select

from core import prevention as R
from core.periods import month_add
from data_access import schema as s

from .sql import Window, flag, month_of, months_subquery


def _plus(col, months: int = 0, days: int = 0):
    """A date column plus calendar months and days (end-of-month clamped, the same on both engines)."""
    expr = sa.cast(col, Date)
    if months:
        expr = expr + sa.literal_column(f"INTERVAL '{int(months)} months'")
    if days:
        expr = expr + sa.literal_column(f"INTERVAL '{int(days)} days'")
    return sa.cast(expr, Date)


def _years(w: Window) -> list[int]:
    return list(range(w.start.year, w.last.year + 1))


def _age_in_year(year_col, birth):
    return sa.cast(year_col, Integer) - sa.cast(sa.extract("year", birth), Integer)


def band_case(age):
    """The age band of form № 131/о (children's bands under 18) of an age expression."""
    whens = []
    for code, lo, hi in R.CHILD_BANDS + R.AGE_BANDS:
        cond = age >= lo if hi is None else sa.and_(age >= lo, age <= hi)
        whens.append((cond, literal(code)))
    return case(*whens, else_=None)


# ---------------------------------------------------------------- dispensarisation
def sel_prevention(w: Window):
    ms = months_subquery(w)
    pl, x, m = s.prevention_plan, s.dispensary_exam, s.mo
    yr = sa.cast(sa.extract("year", ms.c.month), Integer)
    counts = ("s1", "s2r", "s2", "full", "partial", "none", "path", "risk", "hg1", "hg2", "hg3a", "hg3b")

    def zeros(*but):
        return [literal(0).label(c) for c in counts if c not in but]

    plans = select(ms.c.month, pl.c.mo_id, pl.c.program, (pl.c.planned / 12.0).label("plan_month"),
                   pl.c.planned.label("plan_year"), *[literal(0).label(c) for c in counts]
                   ).select_from(ms.join(pl, pl.c.year == yr))
    s1 = select(month_of(x.c.stage1_end).label("month"), x.c.mo_id, x.c.program, literal(0.0), literal(0),
                literal(1), flag(x.c.stage2_referred), literal(0),
                flag(x.c.stage2_result == "full"), flag(x.c.stage2_result == "partial"),
                flag(x.c.stage2_result == "none"), flag(x.c.pathology_found.is_(True)),
                flag(sa.and_(x.c.risk_factors.is_not(None), x.c.risk_factors != "")),
                *[flag(x.c.health_group == g) for g in R.HEALTH_GROUPS]).where(w.on(x.c.stage1_end))
    s2 = select(month_of(x.c.stage2_end).label("month"), x.c.mo_id, x.c.program, literal(0.0), literal(0),
                literal(0), literal(0), literal(1), *[literal(0)] * 9).where(w.on(x.c.stage2_end))
    u = sa.union_all(plans, s1, s2).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.program]
    names = {"s1": "stage1_done", "s2r": "stage2_referred", "s2": "stage2_done", "full": "stage2_full",
             "partial": "stage2_partial", "none": "stage2_none", "path": "pathology", "risk": "with_risk",
             "hg1": "hg_1", "hg2": "hg_2", "hg3a": "hg_3a", "hg3b": "hg_3b"}
    return select(*cols, func.sum(u.c.plan_month).label("plan_month"), func.sum(u.c.plan_year).label("plan_year"),
                  *[func.sum(u.c[c]).label(names[c]) for c in counts]
                  ).select_from(u.join(m, m.c.mo_id == u.c.mo_id)).group_by(*cols)


def sel_prevention_band(w: Window):
    """Form № 131/о table 1000: attached on 1 January, plan, check-ups and dispensarisation by band and sex."""
    ms = months_subquery(w)
    pl, x, p, m = s.prevention_plan_band, s.dispensary_exam, s.patient, s.mo
    yr = sa.cast(sa.extract("year", ms.c.month), Integer)
    plans = select(ms.c.month, pl.c.mo_id, pl.c.program, pl.c.age_band, pl.c.sex,
                   (pl.c.planned / 12.0).label("plan_month"), pl.c.planned.label("plan_year"),
                   literal(0).label("done"), literal(0).label("attached")).select_from(ms.join(pl, pl.c.year == yr))
    ex_age = _age_in_year(sa.extract("year", x.c.stage1_end), p.c.birth_date)
    done = select(month_of(x.c.stage1_end).label("month"), x.c.mo_id, x.c.program, band_case(ex_age), p.c.sex,
                  literal(0.0), literal(0), literal(1), literal(0)
                  ).select_from(x.join(p, p.c.patient_id == x.c.patient_id)).where(w.on(x.c.stage1_end))
    parts = [plans, done]
    for year in _years(w):
        # the attached population by the age it reaches in the year (404н), repeated on each month of
        # the window in that year: a stock, read with the last month of a period
        age = _age_in_year(literal(year), p.c.birth_date)
        people = select(p.c.attach_mo_id.label("mo_id"), band_case(age).label("age_band"), p.c.sex).where(
            p.c.attach_mo_id.is_not(None), p.c.birth_date < dt.date(year, 1, 1)).subquery(f"people{year}")
        pop = select(people.c.mo_id, people.c.age_band, people.c.sex, func.count().label("n")).group_by(
            people.c.mo_id, people.c.age_band, people.c.sex).subquery(f"pop{year}")
        parts.append(select(ms.c.month, pop.c.mo_id, sa.cast(literal(None), sa.String(12)), pop.c.age_band, pop.c.sex,
                            literal(0.0), literal(0), literal(0), pop.c.n
                            ).select_from(ms.join(pop, yr == year)))
    u = sa.union_all(*parts).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.program, u.c.age_band, u.c.sex]
    return select(*cols, func.sum(u.c.plan_month).label("plan_month"), func.sum(u.c.plan_year).label("plan_year"),
                  func.sum(u.c.done).label("stage1_done"), func.sum(u.c.attached).label("attached")
                  ).select_from(u.join(m, m.c.mo_id == u.c.mo_id)).where(u.c.age_band.is_not(None)).group_by(*cols)


# ---------------------------------------------------------------- vaccination
def _first_of_series(dose: R.Dose) -> R.Dose:
    d = dose
    while d.previous:
        d = R.DOSES[d.previous]
    return d


def _exempt(patient_id, dose: R.Dose, on, kind: str):
    e = s.vaccination_exemption.alias(f"e_{dose.code}_{kind}")
    return sa.exists().where(e.c.patient_id == patient_id, e.c.kind == kind, e.c.start_date <= on,
                             sa.or_(e.c.end_date.is_(None), e.c.end_date >= on),
                             sa.or_(e.c.vaccine.is_(None), e.c.vaccine.in_([dose.code, dose.series])))


def sel_vaccination(w: Window):
    """Doses by month; per calendar dose, the cohort reaching its assessment age in the month and,
    person by person, covered by then, covered in time (due age + TIMELY_DAYS), the series started,
    dropped after starting, under a refusal or a medical exemption; the adult booster's coverage."""
    v, p, m = s.vaccination, s.patient, s.mo
    meas = ("doses", "cohort", "covered", "covered_timely", "started", "dropped", "refused", "exempt", "adults",
            "adults_boosted")
    parts = [select(month_of(v.c.vacc_date).label("month"), v.c.mo_id,
                    case((p.c.attach_mo_id == v.c.mo_id, p.c.area_doctor_id), else_=None).label("doctor_id"),
                    v.c.vaccine, literal(1).label("doses"), *[literal(0).label(c) for c in meas[1:]]
                    ).select_from(v.join(p, p.c.patient_id == v.c.patient_id)).where(w.on(v.c.vacc_date))]
    for dose in R.CALENDAR:
        first = _first_of_series(dose)
        # births whose assessment age falls in the window's months
        lo, hi = month_add(w.start, -dose.assess_months), month_add(w.stop, -dose.assess_months)
        # the doses of this cohort only: a one-month build reads a month of births, not the whole register
        born = select(p.c.patient_id).where(p.c.birth_date >= lo, p.c.birth_date < hi)
        got = select(v.c.patient_id, v.c.vaccine, func.min(v.c.vacc_date).label("first")).where(
            v.c.vaccine.in_(sorted({dose.code, first.code})), v.c.patient_id.in_(born)
        ).group_by(v.c.patient_id, v.c.vaccine).subquery(f"g_{dose.code}")
        g1, g0 = got.alias(f"gd_{dose.code}"), got.alias(f"gf_{dose.code}")
        assess = _plus(p.c.birth_date, dose.assess_months)
        timely = _plus(p.c.birth_date, dose.months, dose.days + R.TIMELY_DAYS)
        covered = sa.and_(g1.c.first.is_not(None), g1.c.first <= assess)
        started = sa.and_(g0.c.first.is_not(None), g0.c.first <= assess)
        parts.append(select(
            _plus(month_of(p.c.birth_date), dose.assess_months).label("month"), p.c.attach_mo_id,
            p.c.area_doctor_id,
            literal(dose.code), literal(0), literal(1), flag(covered),
            flag(sa.and_(g1.c.first.is_not(None), g1.c.first <= timely)), flag(started),
            flag(sa.and_(started, sa.not_(covered))),
            flag(_exempt(p.c.patient_id, dose, assess, "refusal")),
            flag(_exempt(p.c.patient_id, dose, assess, "medical")),
            literal(0), literal(0)
        ).select_from(p.outerjoin(g1, sa.and_(g1.c.patient_id == p.c.patient_id, g1.c.vaccine == dose.code))
                      .outerjoin(g0, sa.and_(g0.c.patient_id == p.c.patient_id, g0.c.vaccine == first.code))
                      ).where(p.c.attach_mo_id.is_not(None), p.c.birth_date >= lo, p.c.birth_date < hi))
    # the adult booster: attached adults at the end of each month, and those with a dose in the last 10 years
    month = w.start
    while month < w.stop:
        end = month_add(month, 1) - dt.timedelta(days=1)
        since, adult_born = end - relativedelta(years=R.ADULT_BOOSTER_YEARS), end - relativedelta(years=18)
        had = select(v.c.patient_id).where(v.c.vaccine == R.ADULT_BOOSTER, v.c.vacc_date > since,
                                           v.c.vacc_date <= end).group_by(v.c.patient_id).subquery(f"adsm{month:%Y%m}")
        parts.append(select(literal(month, Date), p.c.attach_mo_id, p.c.area_doctor_id, literal(R.ADULT_BOOSTER),
                            *[literal(0)] * 8, literal(1), flag(had.c.patient_id.is_not(None))
                            ).select_from(p.outerjoin(had, had.c.patient_id == p.c.patient_id))
                     .where(p.c.attach_mo_id.is_not(None), p.c.birth_date <= adult_born))
        month = month_add(month, 1)
    u = sa.union_all(*parts).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.doctor_id, u.c.vaccine]
    return select(*cols, *[func.sum(u.c[c]).label(c) for c in meas]).select_from(
        u.join(m, m.c.mo_id == u.c.mo_id)).where(u.c.month >= w.start, u.c.month < w.stop).group_by(*cols)


DELAY_CAP = 181  # delays of more than 180 days are counted together


def sel_vacc_delay(w: Window):
    """Timeliness: doses of the calendar by the days between the due age and the dose (0 when early)."""
    v, p, m = s.vaccination, s.patient, s.mo
    parts = []
    for dose in R.CALENDAR:
        delay = v.c.vacc_date - _plus(p.c.birth_date, dose.months, dose.days)
        parts.append(select(month_of(v.c.vacc_date).label("month"), v.c.mo_id, literal(dose.code).label("vaccine"),
                            func.least(func.greatest(delay, 0), DELAY_CAP).label("delay_days")
                            ).select_from(v.join(p, p.c.patient_id == v.c.patient_id))
                     .where(v.c.vaccine == dose.code, w.on(v.c.vacc_date)))
    u = sa.union_all(*parts).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.vaccine, u.c.delay_days]
    return select(*cols, func.count().label("doses")).select_from(u.join(m, m.c.mo_id == u.c.mo_id)).group_by(*cols)


# ---------------------------------------------------------------- cancer screening
def _screen_due(sc: R.Screening, age, sex):
    """SQL of ``Screening.due_in_year`` on an age-in-year expression."""
    conds = []
    if sc.ages:
        conds.append(age.in_(list(sc.ages)))
    for lo, hi, every in sc.rules:
        c = sa.and_(age >= lo, age <= hi)
        if every > 1:
            c = sa.and_(c, (age - lo) % every == 0)
        conds.append(c)
    out = sa.or_(*conds)
    return sa.and_(sex == sc.sex, out) if sc.sex else out


def sel_screening(w: Window):
    """Tests, positives and their follow-up by month of the test; the yearly target population
    (attached people due in the year) spread evenly over its months."""
    c, p, m = s.cancer_screening, s.patient, s.mo
    ms = months_subquery(w)
    yr = sa.cast(sa.extract("year", ms.c.month), Integer)
    parts = []
    for sc in R.SCREENINGS:
        pos = c.c.result == "pathology"
        in_time = sa.and_(pos, c.c.followup_date.is_not(None), c.c.followup_date <= c.c.test_date + sc.followup_days)
        parts.append(select(month_of(c.c.test_date).label("month"), c.c.mo_id, c.c.test, literal(1).label("tests"),
                            flag(pos).label("positives"), flag(in_time).label("followed_up"),
                            flag(sa.and_(pos, c.c.followup_date.is_not(None))).label("followed_any"),
                            sa.cast(literal(0.0), Float).label("target_month"))
                     .where(c.c.test == sc.code, w.on(c.c.test_date)))
        for year in _years(w):
            age = _age_in_year(literal(year), p.c.birth_date)
            due = select(p.c.attach_mo_id.label("mo_id"), func.count().label("n")).where(
                p.c.attach_mo_id.is_not(None), p.c.birth_date < dt.date(year, 1, 1), _screen_due(sc, age, p.c.sex)
            ).group_by(p.c.attach_mo_id).subquery(f"due_{sc.code}_{year}")
            parts.append(select(ms.c.month, due.c.mo_id, literal(sc.code), literal(0), literal(0), literal(0),
                                literal(0), (due.c.n / 12.0)).select_from(ms.join(due, yr == year)))
    u = sa.union_all(*parts).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.test]
    return select(*cols, *[func.sum(u.c[k]).label(k) for k in ("tests", "positives", "followed_up", "followed_any",
                                                                 "target_month")]
                  ).select_from(u.join(m, m.c.mo_id == u.c.mo_id)).group_by(*cols)
