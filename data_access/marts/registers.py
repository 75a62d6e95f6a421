"""Mart selects of nosology registers (dispensary observation, order 168н), quality criteria (order 203н)
and volumes of care against the plan. Every ICD-10 range, control target and criterion comes from
``core.registers``; the planned visit frequency is the observation row's own (``visits_per_year``, from the
control card; ``core.registers`` declares the 168н minimum the generator uses).

Definitions (the column docs of ``mart_register``, ``mart_quality`` and ``mart_volume`` say the same):

- An observation row is *active on a day* when it started on or before that day and has no end date or
  ends after it: a row ending on a month's last day is not enrolled at that month end (it is removed in
  that month).
- *The last 12 months* at a month end E are the days (E − 365, E].
- A register's ICD-10 condition compares the code's first three characters with its ranges (``icd_in``).
- A quality *case* (``quality_cases``) is an enrolment (anchor ``enrolment``: a ``dispensary_observation``
  row) or an episode of care (anchor ``diagnosis``: a ``care_episode`` row) with the criterion's ICD-10
  code; it is judged in the month its window closes (anchor + window days, the anchor's day being day 0,
  both bounds inclusive). A lab test counts as done when it has a value and no reason, a study or a
  prescription when it has no reason; a row in the window with a reason and nothing done gives 0.5.
  Exempt: under observation, on the anchor's day, for a code of the criterion's exemption.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

import sqlalchemy as sa
from sqlalchemy import Float, and_, case, func, literal, or_, select

from core import registers as R
from core.periods import month_add
from data_access import schema as s

from .sql import Window, flag, month_of, months_subquery, total

YEAR_DAYS = 365  # the last 12 months at a month end E: (E − 365, E]
REGISTER_MEASURES = ("enrolled", "added", "removed", "died", "diagnosed", "diagnosed_enrolled", "year_observed",
                     "visits_met", "tested", "controlled", "hospitalised")
CASE_COLUMNS = ("criterion", "source_id", "patient_id", "anchor_date", "window_end", "month", "mo_id", "doctor_id",
                "exempt", "result", "reason", "score", "event_date")


def icd_in(col, ranges: tuple[R.IcdRange, ...]):
    """SQL: an ICD-10 code column within ranges of three-character rubrics (its first three characters)."""
    rubric = func.substr(col, 1, 3)
    return or_(*[rubric == r.lo if r.lo == r.hi else rubric.between(r.lo, r.hi) for r in ranges])


def register_case(col):
    """SQL: the code of the register whose ranges hold an ICD-10 column; NULL outside every register."""
    return case(*[(icd_in(col, r.icd), literal(r.code)) for r in R.REGISTERS], else_=None)


def active_on(o, day):
    """SQL: an observation row (table or subquery) active on a day: started by then, not ended by then."""
    return and_(o.c.start_date <= day, or_(o.c.end_date.is_(None), o.c.end_date > day))


def _months(w: Window):
    """The window's months as a VALUES list with each month's last day and the day 365 days before it (the
    12 months are (since, end]): a derived table ``months`` like ``sql.months_subquery``, but the planner knows
    its size (grouping the calendar is estimated at a row per day, which inflates every join with the months
    thirtyfold) and no row computes the month end again."""
    rows, m = [], w.start
    while m < w.stop:
        end = month_add(m, 1) - dt.timedelta(days=1)
        since = end - dt.timedelta(days=YEAR_DAYS)
        rows.append((m, end, since, since + dt.timedelta(days=1)))
        m = month_add(m, 1)
    return sa.values(sa.column("month", sa.Date), sa.column("end", sa.Date), sa.column("since", sa.Date),
                     sa.column("from_day", sa.Date), name="months").data(rows)


def _full_year(ms):
    """SQL: the month's 12 months (from_day … end) lie inside the data, which begin with the first visit. In the
    first year of data a 12-month measure would count a part of a year as a year (visits «not met», coverage
    too high): such months get none (0 of 0 — «нет данных»)."""
    return ms.c.from_day >= select(func.min(s.visit.c.visit_date)).scalar_subquery()


def _observations(w: Window, name: str = "obs"):
    """Observation rows with their register, limited to those that touch the window's months."""
    o = s.dispensary_observation
    inner = select(o.c.obs_id, o.c.patient_id, o.c.mo_id, o.c.doctor_id, o.c.icd10, o.c.start_date, o.c.end_date,
                   o.c.end_reason, o.c.visits_per_year, register_case(o.c.icd10).label("register")).where(
        o.c.start_date < w.stop, or_(o.c.end_date.is_(None), o.c.end_date >= w.start)).subquery(f"{name}_all")
    # the register is a column of the derived table, so that it can be compared and grouped by on PostgreSQL
    return select(inner).where(inner.c.register.is_not(None)).subquery(name)


def _part(month, mo_id, doctor_id, register, **values):
    """One branch of the register union, already summed by its dimensions (each branch gives few rows to the
    final sum): the given measures summed, every other one 0. The dimensions are plain columns (PostgreSQL
    groups by them)."""
    keys = [month, mo_id, doctor_id, register]
    sums = [(func.sum(values[k]) if k in values else literal(0)).label(k) for k in REGISTER_MEASURES]
    return select(*[c.label(n) for c, n in zip(keys, ("month", "mo_id", "doctor_id", "register"))], *sums
                  ).group_by(*keys)


def sel_register(w: Window):
    """Registers by month, the observing MO and doctor: stock, movement, 12-month visits and control,
    hospitalisations; diagnosed attached patients and their coverage by the attachment MO and участок doctor."""
    ms = _months(w)
    end, since = ms.c.end, ms.c.since
    back = w.start - dt.timedelta(days=YEAR_DAYS + 1)  # the earliest day any month's 12 months reach
    v, lr, ce, p, m = s.visit, s.lab_result, s.care_episode, s.patient, s.mo

    # stock and movement: rows active at the month end, started or ended in the month
    ob = _observations(w)
    enrolled = active_on(ob, end)
    removed = and_(ob.c.end_date >= ms.c.month, ob.c.end_date <= end)
    stock = _part(ms.c.month, ob.c.mo_id, ob.c.doctor_id, ob.c.register,
                  enrolled=flag(enrolled), added=flag(ob.c.start_date >= ms.c.month), removed=flag(removed),
                  died=flag(and_(removed, ob.c.end_reason == "died")),
                  year_observed=flag(and_(enrolled, ob.c.start_date <= since, _full_year(ms)))
                  ).select_from(ms.join(ob, and_(ob.c.start_date <= end,
                                                 or_(ob.c.end_date.is_(None), ob.c.end_date >= ms.c.month))))

    # dispensary visits of the year for rows observed 12 months and longer
    ob1 = _observations(w, "obs_y")
    yo = select(ms.c.month, ob1.c.obs_id, ob1.c.patient_id, ob1.c.register, ob1.c.mo_id, ob1.c.doctor_id,
                ob1.c.visits_per_year, since.label("since"), end.label("end")).select_from(
        ms.join(ob1, and_(active_on(ob1, end), ob1.c.start_date <= since, _full_year(ms)))).subquery("yo")
    dv_all = select(v.c.patient_id, v.c.visit_date, register_case(v.c.icd10).label("register")).where(
        v.c.purpose == "dispensary", v.c.visit_date >= back, v.c.visit_date < w.stop).subquery("dv_all")
    dv = select(dv_all).where(dv_all.c.register.is_not(None)).subquery("dv")
    keys = [yo.c.month, yo.c.obs_id, yo.c.mo_id, yo.c.doctor_id, yo.c.register, yo.c.visits_per_year]
    met = select(*keys).select_from(yo.join(dv, and_(dv.c.patient_id == yo.c.patient_id, dv.c.register == yo.c.register,
                                                     dv.c.visit_date > yo.c.since, dv.c.visit_date <= yo.c.end))
                                    ).group_by(*keys).having(func.count() >= yo.c.visits_per_year).subquery("met")
    parts = [stock, _part(met.c.month, met.c.mo_id, met.c.doctor_id, met.c.register, visits_met=literal(1))]

    # control targets: the latest value of the register's test in the 12 months (ties: the highest result id).
    # Each value is the latest from its day until the next value's day (``valid_to``, exclusive; of values of
    # one day only the last in order lasts), so that a month end meets at most one value: no ranking of joins.
    controls = [r for r in R.REGISTERS if r.control]
    if controls:
        ob2 = _observations(w, "obs_c")
        test = case(*[(ob2.c.register == r.code, literal(r.control.test)) for r in controls], else_=None)
        below = case(*[(ob2.c.register == r.code, literal(float(r.control.below))) for r in controls], else_=None)
        en = select(ms.c.month, ob2.c.obs_id, ob2.c.patient_id, ob2.c.register, ob2.c.mo_id, ob2.c.doctor_id,
                    test.label("test"), sa.cast(below, Float).label("below"), since.label("since"), end.label("end")
                    ).select_from(ms.join(ob2, and_(active_on(ob2, end), _full_year(ms)))).where(
            ob2.c.register.in_([r.code for r in controls])).subquery("en")
        lab_all = select(lr.c.result_id, lr.c.patient_id, lr.c.test, lr.c.taken_date, lr.c.value).where(
            lr.c.test.in_(sorted({r.control.test for r in controls})), lr.c.value.is_not(None),
            lr.c.taken_date >= back, lr.c.taken_date < w.stop).subquery("lab_all")
        lab = select(lab_all, func.lead(lab_all.c.taken_date).over(
            partition_by=[lab_all.c.patient_id, lab_all.c.test],
            order_by=[lab_all.c.taken_date, lab_all.c.result_id]).label("valid_to")).subquery("lab")
        latest = select(en.c.month, en.c.mo_id, en.c.doctor_id, en.c.register, en.c.below, lab.c.value).select_from(
            en.join(lab, and_(lab.c.patient_id == en.c.patient_id, lab.c.test == en.c.test,
                              lab.c.taken_date > en.c.since, lab.c.taken_date <= en.c.end,
                              or_(lab.c.valid_to.is_(None), lab.c.valid_to > en.c.end)))).subquery("latest")
        parts.append(_part(latest.c.month, latest.c.mo_id, latest.c.doctor_id, latest.c.register, tested=literal(1),
                           controlled=flag(latest.c.value < latest.c.below)))

    # diagnosed: attached patients with an episode of the register's codes in the 12 months, and of them
    # those under observation by the register at the month end (any organisation)
    ep_all = select(ce.c.patient_id, ce.c.opened_date, register_case(ce.c.icd10).label("register")).where(
        ce.c.opened_date >= back, ce.c.opened_date < w.stop).subquery("ep_all")
    ep_month = month_of(ep_all.c.opened_date)
    # per patient, register and month of episodes the latest day, and the next such month: at the end E of a
    # month M the latest episode is the one of the bucket with m ≤ M < next_m, and the patient is diagnosed
    # when it is after E − 365 (one bucket per patient and month: no de-duplication)
    epm = select(ep_all.c.patient_id, ep_all.c.register, ep_month.label("m"), func.max(ep_all.c.opened_date).label("last")
                 ).where(ep_all.c.register.is_not(None)).group_by(ep_all.c.patient_id, ep_all.c.register, ep_month
                                                                  ).subquery("epm")
    epl = select(epm, func.lead(epm.c.m).over(partition_by=[epm.c.patient_id, epm.c.register], order_by=epm.c.m)
                 .label("next_m")).subquery("epl")
    dg = select(ms.c.month, ms.c.end, epl.c.patient_id, epl.c.register).select_from(
        ms.join(epl, and_(epl.c.m <= ms.c.month, or_(epl.c.next_m.is_(None), epl.c.next_m > ms.c.month),
                          epl.c.last > since, _full_year(ms)))).subquery("dg")
    ob3 = _observations(w, "obs_a")
    dkeys = [dg.c.month, p.c.attach_mo_id, p.c.area_doctor_id, dg.c.register]
    # a patient with two active rows of the register counts once: distinct patients of each group
    parts.append(select(*[c.label(n) for c, n in zip(dkeys, ("month", "mo_id", "doctor_id", "register"))],
                        *[(func.count(dg.c.patient_id.distinct()) if k == "diagnosed" else
                           func.count(case((ob3.c.obs_id.is_not(None), dg.c.patient_id), else_=None).distinct())
                           if k == "diagnosed_enrolled" else literal(0)).label(k) for k in REGISTER_MEASURES])
                 .select_from(dg.join(p, p.c.patient_id == dg.c.patient_id).outerjoin(
                     ob3, and_(ob3.c.patient_id == dg.c.patient_id, ob3.c.register == dg.c.register,
                               active_on(ob3, dg.c.end))))
                 .where(p.c.attach_mo_id.is_not(None)).group_by(*dkeys))

    # hospitalisations with the register's diagnosis of patients observed by it on the day of admission
    # (attributed to the observation row; of two such rows, the one with the lowest id)
    hs_all = select(ce.c.episode_id, ce.c.patient_id, ce.c.opened_date, register_case(ce.c.icd10).label("register")
                    ).where(ce.c.kind == "inpatient", w.on(ce.c.opened_date)).subquery("hs_all")
    ob4 = _observations(w, "obs_h")
    hm = select(hs_all.c.episode_id, month_of(hs_all.c.opened_date).label("month"),
                func.min(ob4.c.obs_id).label("obs_id")).select_from(
        hs_all.join(ob4, and_(ob4.c.patient_id == hs_all.c.patient_id, ob4.c.register == hs_all.c.register,
                              active_on(ob4, hs_all.c.opened_date)))
    ).group_by(hs_all.c.episode_id, hs_all.c.opened_date).subquery("hm")
    ob5 = _observations(w, "obs_hr")
    parts.append(_part(hm.c.month, ob5.c.mo_id, ob5.c.doctor_id, ob5.c.register, hospitalised=literal(1))
                 .select_from(hm.join(ob5, ob5.c.obs_id == hm.c.obs_id)))

    u = sa.union_all(*parts).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.doctor_id, u.c.register]
    return select(*cols, *[func.sum(u.c[k]).label(k) for k in REGISTER_MEASURES]).select_from(
        u.join(m, m.c.mo_id == u.c.mo_id)).group_by(*cols)


# ---------------------------------------------------------------- quality criteria
def _events(kind: str):
    """(table, id, code, date, done condition, reason column) of an event kind of ``core.registers.EVENTS``."""
    if kind == "lab":
        t = s.lab_result
        return t, t.c.result_id, t.c.test, t.c.taken_date, and_(t.c.value.is_not(None), t.c.not_done_reason.is_(None)), \
            t.c.not_done_reason
    if kind == "study":
        t = s.instrumental_study
        return t, t.c.study_id, t.c.study, t.c.study_date, t.c.not_done_reason.is_(None), t.c.not_done_reason
    if kind == "rx":
        t = s.prescription
        return t, t.c.rx_id, t.c.drug_group, t.c.rx_date, t.c.not_done_reason.is_(None), t.c.not_done_reason
    if kind == "visit":
        t = s.visit
        return t, t.c.visit_id, t.c.purpose, t.c.visit_date, sa.true(), sa.cast(sa.null(), sa.String(20))
    raise ValueError(f"unknown event kind {kind!r}")


def anchor_table(c: R.Criterion) -> sa.Table:
    """The table whose rows are the criterion's cases (they carry ``mo_id`` and ``doctor_id``)."""
    return s.dispensary_observation if c.anchor == "enrolment" else s.care_episode


def quality_cases(c: R.Criterion, w: Window | None, anchor_where: Callable[[sa.Table], list] | None = None,
                  as_of: dt.date | None = None):
    """One row per case of a criterion (``CASE_COLUMNS``): the mart and the list of cases read this one select.

    Args:
        w: the months whose closing windows are taken (None: every case).
        anchor_where: extra conditions on the anchor table (a unit, a scope, a list of rows).
        as_of: count only events up to this day (a list as of a date, windows still open); None: every event.
    Columns: criterion, source_id (obs_id or episode_id), patient_id, anchor_date, window_end, month (the
    window's closing month), mo_id, doctor_id, exempt (1/0), result (done, reason, not_done), reason (the
    recorded reason when not done), score (1, 0.5, 0), event_date (of the event done, or of the reason).
    """
    a = anchor_table(c)
    aid, adate = (a.c.obs_id, a.c.start_date) if c.anchor == "enrolment" else (a.c.episode_id, a.c.opened_date)
    days = c.window_days
    conds = [icd_in(a.c.icd10, c.icd)]
    if w is not None:
        conds += [adate >= w.start - dt.timedelta(days=days), adate < w.stop - dt.timedelta(days=days)]
    if anchor_where is not None:
        conds += list(anchor_where(a))
    if c.anchor == "enrolment":  # the observation ended by death or departure before the window closed
        gone = and_(a.c.end_reason.in_(R.LEFT_CARE), a.c.end_date <= adate + days)
    else:
        gone = sa.false()
    an = select(aid.label("source_id"), a.c.patient_id, adate.label("anchor_date"),
                (adate + days).label("window_end"), a.c.mo_id, a.c.doctor_id, flag(gone).label("gone")
                ).where(*conds).subquery(f"a_{c.code}")
    t, eid, code, edate, done, reason = _events(c.event)
    ev_conds = [code.in_(list(c.codes))]
    if w is not None:
        ev_conds += [edate >= w.start - dt.timedelta(days=days), edate < w.stop]
    if as_of is not None:
        ev_conds.append(edate <= as_of)
    ev = select(eid.label("event_id"), t.c.patient_id, edate.label("event_date"), flag(done).label("done"),
                reason.label("reason")).where(*ev_conds).subquery(f"e_{c.code}")
    keys = [an.c.source_id, an.c.patient_id, an.c.anchor_date, an.c.window_end, an.c.mo_id, an.c.doctor_id, an.c.gone]
    not_done_reason = and_(ev.c.done == 0, ev.c.reason.is_not(None))
    g = select(*keys, func.max(ev.c.done).label("done"),
               func.min(case((ev.c.done == 1, ev.c.event_date), else_=None)).label("done_date"),
               func.min(case((not_done_reason, ev.c.reason), else_=None)).label("reason"),
               func.min(case((not_done_reason, ev.c.event_date), else_=None)).label("reason_date")
               ).select_from(an.outerjoin(ev, and_(ev.c.patient_id == an.c.patient_id,
                                                   ev.c.event_date >= an.c.anchor_date,
                                                   ev.c.event_date <= an.c.window_end))
                             ).group_by(*keys).subquery(f"g_{c.code}")
    exempt = g.c.gone == 1  # a patient who died or left before the window closed: the case is not judged
    if c.exempt_icd:
        o = s.dispensary_observation.alias(f"x_{c.code}")
        exempt = or_(exempt, sa.exists().where(o.c.patient_id == g.c.patient_id, icd_in(o.c.icd10, c.exempt_icd),
                                               active_on(o, g.c.anchor_date)))
    is_done = g.c.done == 1
    has_reason = g.c.reason.is_not(None)
    return select(
        literal(c.code).label("criterion"), g.c.source_id, g.c.patient_id, g.c.anchor_date, g.c.window_end,
        month_of(g.c.window_end).label("month"), g.c.mo_id, g.c.doctor_id, flag(exempt).label("exempt"),
        case((is_done, literal("done")), (has_reason, literal("reason")), else_=literal("not_done")).label("result"),
        case((is_done, None), else_=g.c.reason).label("reason"),
        case((is_done, literal(R.SCORE_DONE)), (has_reason, literal(R.SCORE_REASON)),
             else_=literal(R.SCORE_NOT_DONE)).label("score"),
        case((is_done, g.c.done_date), else_=g.c.reason_date).label("event_date"))


def sel_quality(w: Window):
    """Cases, exemptions, results and scores of every criterion by the month its window closes."""
    m = s.mo
    u = sa.union_all(*[quality_cases(c, w) for c in R.CRITERIA]).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.doctor_id, u.c.criterion]
    counted = u.c.exempt == 0
    return select(*cols, total(counted).label("cases"), total(u.c.exempt == 1).label("exempt"),
                  total(and_(counted, u.c.result == "done")).label("done"),
                  total(and_(counted, u.c.result == "reason")).label("with_reason"),
                  func.sum(case((counted, u.c.score), else_=0.0)).label("score")
                  ).select_from(u.join(m, m.c.mo_id == u.c.mo_id)).group_by(*cols)


# ---------------------------------------------------------------- volumes of care
VOLUMES = {"visits": "посещения", "episodes": "обращения по заболеванию", "dispensary": "посещения диспансерного наблюдения"}


def sel_volume(w: Window):
    """Plan (the year's plan / 12 on each month) and fact: every visit, outpatient episodes for a disease
    by their opening month, dispensary visits — of the organisations that have a plan of that kind that year."""
    ms = months_subquery(w)
    pl, v, ce, m = s.volume_plan, s.visit, s.care_episode, s.mo
    yr = sa.cast(sa.extract("year", ms.c.month), sa.Integer)
    plans = select(ms.c.month, pl.c.mo_id, pl.c.kind.label("volume"), (pl.c.planned / 12.0).label("plan_month"),
                   literal(0).label("fact")).select_from(ms.join(pl, pl.c.year == yr))
    vm = month_of(v.c.visit_date)
    va = select(vm.label("month"), v.c.mo_id, func.count().label("visits"),
                total(v.c.purpose == "dispensary").label("dispensary")).where(w.on(v.c.visit_date)).group_by(
        vm, v.c.mo_id).subquery("va")
    kinds = sa.values(sa.column("volume", sa.String(12)), name="kinds").data([("visits",), ("dispensary",)])
    visits = select(va.c.month, va.c.mo_id, kinds.c.volume, literal(0.0),
                    case((kinds.c.volume == "visits", va.c.visits), else_=va.c.dispensary)
                    ).select_from(va.join(kinds, sa.true()))
    em = month_of(ce.c.opened_date)
    episodes = select(em.label("month"), ce.c.mo_id, literal("episodes"), literal(0.0), func.count()).where(
        ce.c.kind == "outpatient", ce.c.purpose == "disease", w.on(ce.c.opened_date)).group_by(em, ce.c.mo_id)
    u = sa.union_all(plans, visits, episodes).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.volume]
    # against the plan only: an organisation without a plan of that kind for the year (a private clinic, a
    # hospital) would add its fact to a district's or the city's percentage of a plan it never had
    return select(*cols, func.sum(u.c.plan_month).label("plan_month"), func.sum(u.c.fact).label("fact")).select_from(
        u.join(m, m.c.mo_id == u.c.mo_id)).group_by(*cols).having(func.sum(u.c.plan_month) > 0)
