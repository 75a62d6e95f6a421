"""Patient-level lists of the nosology registers and the quality criteria (issue 19).

- ``patients``: a register's patients under dispensary observation at the month end of a date, for an
  organisation or a doctor (the observing one), with their 12-month dispensary visits against the planned
  frequency, the latest value of the register's control test and the quality criteria of recent enrolments
  (failed or still open). Problems first.
- ``cases``: the cases behind a quality figure — the rows of ``marts.registers.quality_cases``, the select
  the quality mart itself is built from, so that a list never disagrees with its number.

Definitions are those of ``data_access.marts.registers`` (its docstring): active observation at the month end,
the last 12 months (E − 365, E], the latest control value (latest day, then the highest result id).

Patient-level: both functions need the person's scope (a ``Scope``; there is no default) and refuse a unit
outside it (``ScopeError``) or an unknown one (``UnitError``); rows are filtered by the scope at the finest
grain. The role check (``scope.patients``) and the audit of every view and export are the caller's (the
report layer), as for the prevention worklist.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import case, func, literal

from core import fmt
from core import registers as R
from core.ages import age_years
from core.periods import month_end

from . import schema as s
from . import units as U
from .cache import cached
from .context import get_db
from .marts.registers import YEAR_DAYS, active_on, icd_in, quality_cases
from .marts.sql import Window
from .scope import Scope

PATH = "registers"  # units.PATHS: region → district → mo → doctor (the observing doctor)
PATIENT_LEVELS = ("mo", "doctor")
RESULT_NAMES = {"not_done": "не выполнено", "reason": "не выполнено, указана причина", "done": "выполнено",
                "exempt": "исключён из оценки"}
RESULT_ORDER = {"not_done": 0, "reason": 1, "done": 2, "exempt": 3}
RESULT_CHOICES = (*RESULT_NAMES, "failed")  # failed: not done, with or without a reason
PATIENT_COLUMNS = ["patient_id", "sex", "age", "icd10", "start_date", "obs_id", "mo_id", "doctor_id", "doctor",
                   "visits_per_year", "visits_12m", "last_visit", "year_observed", "visits_met", "control_value",
                   "control_date", "controlled", "criteria_failed", "criteria_open", "problems", "problem_count"]
CASE_LIST_COLUMNS = ["criterion", "criterion_name", "disease", "source_id", "patient_id", "anchor_date", "window_end",
                     "month", "mo_id", "mo", "doctor_id", "doctor", "exempt", "result", "result_name", "reason",
                     "reason_name", "score", "event_date"]


class LevelError(U.UnitError):
    """A patient list asked for at a level it is not made for (the message is for the page, in Russian)."""


class ChoiceError(ValueError):
    """An unknown register, criterion, result or a bad month range (the message is in Russian)."""


def _need_scope(scope) -> Scope:
    if not isinstance(scope, Scope):
        raise TypeError("a patient list needs the person's data scope (data_access.scope.Scope)")
    return scope


def _doctor_names(ids) -> dict[int, str]:
    ids = sorted({int(x) for x in ids if pd.notna(x)})
    if not ids:
        return {}
    d = s.doctor
    df = get_db().read_df(sa.select(d.c.doctor_id, d.c.full_name).where(d.c.doctor_id.in_(ids)))
    return dict(zip(df["doctor_id"].astype(int), df["full_name"]))


def _date(x) -> dt.date | None:
    return None if x is None or pd.isna(x) else pd.Timestamp(x).date()


def _int(x) -> int | None:
    return None if x is None or pd.isna(x) else int(x)


# ---------------------------------------------------------------- register patients
def criteria_of(reg: R.Register) -> list[R.Criterion]:
    """The enrolment-anchored criteria whose ICD-10 ranges fall within a register."""
    return [c for c in R.CRITERIA if c.anchor == "enrolment" and any(R.register_of(r.lo) == reg for r in c.icd)]


def patients(register: str, level: str, unit_id, as_of: dt.date, scope: Scope) -> pd.DataFrame:
    """A register's patients under observation at the month end of ``as_of``, for an MO or a doctor.

    Returns ``PATIENT_COLUMNS``: sex, age (full years on ``as_of``), the observation row (icd10, start_date,
    obs_id, mo_id, doctor_id and the doctor's name, visits_per_year), dispensary visits with the register's
    diagnosis in the last 12 months and the last one, year_observed (observed 12 months and longer),
    visits_met (12-month visits ≥ the planned frequency), the latest value of the control test in the
    12 months (control_value, control_date, controlled: None for a register without a control target or
    without a value), the criteria of enrolments of the last 12 months and a half (criteria_failed: window
    closed and not done, with the reason if any; criteria_open: not done yet, with the last day), and the
    problems in Russian. Sorted by the number of problems, most first, then by enrolment.

    Raises:
        ChoiceError: an unknown register. LevelError: a level other than mo or doctor.
        ScopeError / UnitError: a unit outside the person's scope, or none such.
    """
    _need_scope(scope)
    reg = R.REGISTER_BY_CODE.get(register)
    if reg is None:
        raise ChoiceError(f"Регистра «{register}» нет; доступны: {', '.join(R.REGISTER_BY_CODE)}")
    if level not in PATIENT_LEVELS:
        raise LevelError("Выберите медицинскую организацию или врача: список пациентов регистра составляется по "
                         "наблюдающему врачу")
    n = U.scoped_unit(level, unit_id, scope, PATH)
    return _patients(reg.code, n.level, n.id, as_of, scope)


@cached(timeout=600)
def _patients(register: str, level: str, unit_id: int, as_of: dt.date, scope: Scope) -> pd.DataFrame:
    reg = R.REGISTER_BY_CODE[register]
    n = U.node(level, unit_id, path=PATH)
    end = month_end(as_of)
    since = end - dt.timedelta(days=YEAR_DAYS)
    o, pt, v, lr = s.dispensary_observation, s.patient, s.visit, s.lab_result

    def unit_conds(t):
        return [*U.unit_where(t, n), t.c.mo_id == n.mo_id, *U.scope_where(t, scope, "doctor"),
                icd_in(t.c.icd10, reg.icd), active_on(t, end)]

    same = [v.c.patient_id == o.c.patient_id, v.c.purpose == "dispensary", icd_in(v.c.icd10, reg.icd),
            v.c.visit_date <= end]
    cols = [o.c.obs_id, o.c.patient_id, pt.c.sex, pt.c.birth_date, o.c.icd10, o.c.start_date, o.c.mo_id, o.c.doctor_id,
            o.c.visits_per_year,
            sa.select(func.count()).where(*same, v.c.visit_date > since).scalar_subquery().label("visits_12m"),
            sa.select(func.max(v.c.visit_date)).where(*same).scalar_subquery().label("last_visit")]
    if reg.control:
        latest = [lr.c.patient_id == o.c.patient_id, lr.c.test == reg.control.test, lr.c.value.is_not(None),
                  lr.c.taken_date > since, lr.c.taken_date <= end]
        order = [lr.c.taken_date.desc(), lr.c.result_id.desc()]
        cols += [sa.select(lr.c.value).where(*latest).order_by(*order).limit(1).scalar_subquery().label("control_value"),
                 sa.select(lr.c.taken_date).where(*latest).order_by(*order).limit(1).scalar_subquery()
                 .label("control_date")]
    db = get_db()
    base = sa.select(*cols).select_from(o.join(pt, pt.c.patient_id == o.c.patient_id)).where(*unit_conds(o)) \
        .subquery("base")
    extra = []
    if reg.control:
        # compared in SQL as the mart does: the target cast to the column's type (DuckDB keeps Float in single
        # precision, where 1.8 is stored below the double 1.8)
        below = sa.cast(literal(float(reg.control.below)), sa.Float)
        extra.append(case((base.c.control_value.is_(None), None), (base.c.control_value < below, 1), else_=0)
                     .label("is_controlled"))
    df = db.read_df(sa.select(base, *extra))
    if not reg.control:
        df["control_value"], df["control_date"], df["is_controlled"] = None, None, None

    # quality criteria of recent enrolments: windows closed in the last 12 months or still open at the month end
    crit = criteria_of(reg)
    cases = pd.DataFrame(columns=["criterion", "source_id", "window_end", "result", "reason", "exempt"])
    if crit and not df.empty:
        longest = max(c.window_days for c in crit)
        parts = [quality_cases(c, None, lambda a: [*unit_conds(a), a.c.start_date >= since - dt.timedelta(days=longest)],
                               as_of=end) for c in crit]
        cases = db.read_df(sa.union_all(*parts))
        cases = cases[cases["exempt"] == 0]
    return _patient_frame(df, cases, reg, as_of, end)


def _patient_frame(df: pd.DataFrame, cases: pd.DataFrame, reg: R.Register, as_of: dt.date, end: dt.date) -> pd.DataFrame:
    since = end - dt.timedelta(days=YEAR_DAYS)
    names = _doctor_names(df["doctor_id"])
    by_obs: dict[int, tuple[list[str], list[str]]] = {}
    for c in cases.to_dict("records"):
        cr = R.CRITERION_BY_CODE[c["criterion"]]
        failed, open_ = by_obs.setdefault(int(c["source_id"]), ([], []))
        wend = _date(c["window_end"])
        if c["result"] == "done":
            continue
        if wend > end:
            open_.append(f"{cr.name} (до {fmt.date(wend)})")
        elif wend > since:
            why = R.NOT_DONE_REASONS.get(c["reason"], c["reason"]) if c["result"] == "reason" else None
            failed.append(cr.name + (f" (причина: {why})" if why else ""))
    rows = []
    for r in df.to_dict("records"):
        birth = _date(r["birth_date"])
        start = _date(r["start_date"])
        visits, plan = int(r["visits_12m"] or 0), int(r["visits_per_year"])
        year_observed = start <= since
        value, on = r.get("control_value"), _date(r.get("control_date"))
        value = None if value is None or pd.isna(value) else float(value)
        controlled = None if reg.control is None or value is None else bool(r["is_controlled"] == 1)
        value = None if value is None else round(value, 3)  # DuckDB keeps a Float column in single precision
        failed, open_ = by_obs.get(int(r["obs_id"]), ([], []))
        problems = []
        if year_observed and visits < plan:
            problems.append(f"диспансерных приёмов за 12 месяцев: {visits} из {plan}")
        if reg.control is not None:
            test = R.LAB_TESTS[reg.control.test]
            if value is None:
                problems.append(f"нет значения «{test.name}» за 12 месяцев")
            elif not controlled:
                problems.append(f"цель «{reg.control.label}» не достигнута: {fmt.number(value, 1)} {test.unit} "
                                f"от {fmt.date(on)}")
        problems += [f"не выполнено: {x}" for x in failed]
        rows.append({
            "patient_id": int(r["patient_id"]), "sex": r["sex"],
            "age": age_years(birth, as_of),
            "icd10": r["icd10"], "start_date": start, "obs_id": int(r["obs_id"]), "mo_id": int(r["mo_id"]),
            "doctor_id": int(r["doctor_id"]), "doctor": names.get(int(r["doctor_id"]), ""),
            "visits_per_year": plan, "visits_12m": visits, "last_visit": _date(r["last_visit"]),
            "year_observed": year_observed, "visits_met": visits >= plan, "control_value": value, "control_date": on,
            "controlled": controlled, "criteria_failed": "; ".join(failed), "criteria_open": "; ".join(open_),
            "problems": "; ".join(problems), "problem_count": len(problems)})
    out = pd.DataFrame(rows, columns=PATIENT_COLUMNS)
    if out.empty:
        return out
    for c in ("control_value", "control_date", "controlled", "last_visit"):  # None, not NaN, where there is none
        out[c] = pd.Series([r[c] for r in rows], dtype=object)
    return out.sort_values(["problem_count", "start_date", "patient_id"], ascending=[False, True, True],
                           kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- quality cases
def _results(result) -> tuple[str, ...] | None:
    if result is None:
        return None
    chosen = (result,) if isinstance(result, str) else tuple(result)
    if not chosen or (bad := [x for x in chosen if x not in RESULT_CHOICES]):
        raise ChoiceError(f"Результат «{', '.join(map(str, bad if chosen else ['']))}» неизвестен; допустимы: "
                          f"{', '.join(RESULT_CHOICES)}")
    out = []
    for x in chosen:
        out += ["not_done", "reason"] if x == "failed" else [x]
    return tuple(dict.fromkeys(out))


def cases(criterion_codes: str | Iterable[str], level: str, unit_id, first_month: dt.date, last_month: dt.date,
          scope: Scope, result: str | Iterable[str] | None = None) -> pd.DataFrame:
    """The cases behind a quality figure: the criteria's cases whose window closed in first_month…last_month,
    for a unit of the registers path (the city, a district, an MO, a doctor), inside the person's scope.

    Args:
        criterion_codes: one code or several (``core.registers.CRITERIA``).
        result: None — every case, the exempt ones included (``exempt`` True); otherwise one or several of
            ``done``, ``reason``, ``not_done``, ``failed`` (not done, with or without a reason) — cases that
            count in the figure — or ``exempt``.
    Returns ``CASE_LIST_COLUMNS``: criterion and its name and disease, source_id (the observation row or
    the episode), patient_id, anchor_date, window_end, month (the window's closing month), mo_id and its
    short name, doctor_id and the name, exempt, result and its Russian name, reason (code and name),
    score (1, 0.5, 0; None when exempt), event_date. Failures first, then the latest windows.

    Raises:
        ChoiceError: an unknown criterion or result, or last_month before first_month.
        ScopeError / UnitError: a unit outside the person's scope, or none such.
    """
    _need_scope(scope)
    codes = (criterion_codes,) if isinstance(criterion_codes, str) else tuple(criterion_codes)
    if not codes or (bad := [c for c in codes if c not in R.CRITERION_BY_CODE]):
        raise ChoiceError(f"Критерий «{', '.join(bad if codes else [''])}» не объявлен")
    first, last = first_month.replace(day=1), last_month.replace(day=1)
    if last < first:
        raise ChoiceError("Конец периода раньше его начала")
    results = _results(result)
    n = U.scoped_unit(level, unit_id, scope, PATH)
    return _cases(tuple(dict.fromkeys(codes)), n.level, n.id, first, last, scope, results)


@cached(timeout=600)
def _cases(codes: tuple[str, ...], level: str, unit_id: int, first: dt.date, last: dt.date, scope: Scope,
           results: tuple[str, ...] | None) -> pd.DataFrame:
    n = U.node(level, unit_id, path=PATH)
    w = Window(first, last)

    def where(a):
        conds = [*U.unit_where(a, n), *U.scope_where(a, scope, "doctor")]
        return conds + ([a.c.mo_id == n.mo_id] if n.level == "doctor" else [])
    u = sa.union_all(*[quality_cases(R.CRITERION_BY_CODE[c], w, where) for c in codes]).subquery("cases")
    conds = []
    if results is not None:
        counted = [x for x in results if x != "exempt"]
        conds.append(sa.or_(*([sa.and_(u.c.exempt == 0, u.c.result.in_(counted))] if counted else []),
                            *([u.c.exempt == 1] if "exempt" in results else [])))
    df = get_db().read_df(sa.select(u).where(*conds))
    mos = U.names("mo")
    docs = _doctor_names(df["doctor_id"])
    out = pd.DataFrame({
        "criterion": df["criterion"], "source_id": df["source_id"].astype("int64"),
        "patient_id": df["patient_id"].astype("int64"),
        "anchor_date": [_date(x) for x in df["anchor_date"]], "window_end": [_date(x) for x in df["window_end"]],
        "month": [_date(x) for x in df["month"]], "mo_id": pd.Series([_int(x) for x in df["mo_id"]], dtype=object),
        "doctor_id": pd.Series([_int(x) for x in df["doctor_id"]], dtype=object),
        "exempt": df["exempt"].astype(int) == 1,
        "result": df["result"], "reason": pd.Series([None if pd.isna(x) else x for x in df["reason"]], dtype=object),
        "score": pd.Series([None if e == 1 else float(x) for e, x in zip(df["exempt"], df["score"])], dtype=object),
        "event_date": [_date(x) for x in df["event_date"]]})
    out["criterion_name"] = [R.CRITERION_BY_CODE[c].name for c in out["criterion"]]
    out["disease"] = [R.CRITERION_BY_CODE[c].disease for c in out["criterion"]]
    out["mo"] = [mos.get(x, "") if x is not None else "" for x in out["mo_id"]]
    out["doctor"] = [docs.get(x, "") if x is not None else "" for x in out["doctor_id"]]
    shown = ["exempt" if e else r for e, r in zip(out["exempt"], out["result"])]
    out["result_name"] = [RESULT_NAMES[x] for x in shown]
    out["reason_name"] = ["" if x is None else R.NOT_DONE_REASONS.get(x, x) for x in out["reason"]]
    out["_o"] = [RESULT_ORDER[x] for x in shown]
    out["_w"] = pd.to_datetime(out["window_end"])
    out = out.sort_values(["_o", "_w", "patient_id", "criterion"], ascending=[True, False, True, True], kind="stable")
    return out[CASE_LIST_COLUMNS].reset_index(drop=True)
