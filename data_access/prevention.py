"""Prevention worklist (issue 18): who of a unit's attached patients is due a calendar dose, the adult booster,
dispensarisation or a check-up, stage 2 of dispensarisation, a cancer screening test, or the diagnostic step
after a positive screening — and the invitation statuses the участок keeps on these items.

Every age, interval and term comes from ``core.prevention``; nothing is restated here. Rules and decisions:

- **Child doses** (kind ``vaccine``, item ``vacc:<dose>``). A dose is listed while the child is younger than
  ``CHILD_LIMIT_MONTHS`` and not covered by an active exemption (start ≤ date ≤ end or open-ended; the
  exemption's vaccine empty, the dose code or the dose's series), when it was not received (a dose given before
  its due age counts as received), and its previous dose (if any) was received. It is due *since* the later of
  the due age (``Dose.due``) and the previous dose + ``min_interval_days``. State: ``upcoming`` when that day
  falls within the next ``upcoming_days`` (default 30; 0 turns it off), ``due`` from that day, ``overdue`` once
  more than ``TIMELY_DAYS`` have passed (the timeliness term of the coverage marts, counted from the day the
  dose became possible). A dose whose previous one is missing is not listed: the previous dose is.
- **Adult booster** (item ``vacc:ADSM:<year it became due>``: a mark holds for that cycle only; listed only when
  ``"adsm"`` is among the kinds): an adult (from the
  ``CHILD_LIMIT_MONTHS`` age) without an ADSM dose in the last ``ADULT_BOOSTER_YEARS`` years — the same test as
  the coverage mart (only ADSM doses count). Due since the last dose + the interval, or the 18th birthday when
  there is none; overdue after ``TIMELY_DAYS``. Exemptions with an empty vaccine or ``ADSM`` cover it.
- **Dispensarisation / check-up** (kind ``disp``, item ``disp:<year>``): a person whose age in the year
  (``age_in_year``, as 404н counts) is adult, with no stage-1 exam of any adult programme ending in the year
  by the date. The text says «диспансеризация» when ``disp_due`` holds for that age, «профилактический
  медосмотр» otherwise (a yearly check-up). A person turning 18 later in the year is listed already (the year's
  cohort), while still a child for the doses. Due since 1 January; never ``overdue`` (the plan runs to the end
  of the year).
- **Stage 2** (kind ``stage2``, item ``stage2:<exam_id>``): referred, stage 2 neither ended nor given a result
  by the date, and more than ``STAGE2_DUE_DAYS`` days after stage 1 ended: overdue since stage1_end +
  ``STAGE2_DUE_DAYS``. A pending referral within the term is not listed (it is in progress).
- **Screening** (kind ``screening``, item ``screen:<test>:<year>``): for each test, a person due in the year by
  ``due_in_year(age_in_year, sex)`` with no such test within its interval (this year for yearly and
  listed-age tests; the last ``interval`` calendar years, this one included, otherwise). Since 1 January,
  never overdue.
- **Positive** (kind ``positive``, item ``followup:<screening_id>``): a pathology result without a follow-up
  date by the date, more than the test's ``followup_days`` ago: overdue since test date + ``followup_days``.
- Referrals and positives older than ``LOOKBACK_DAYS`` belong to a closed year and are not listed.
- *Last contact*: the latest of the last visit, dose, stage-1 exam and screening test up to the date.
- *Priority* (``PRIORITY``, smaller first): positives, overdue stage 2, overdue child doses, due child doses,
  dispensarisation, screening tests, check-ups and the adult booster, upcoming doses.

Invitation statuses (``invitation_event``, append-only): invited, refused, moved, done_elsewhere and ``none``
(back to no status); the current status of (patient, item) is the latest event of the patient's organisation.
A status stays with its item: next year's ``disp:<year>`` or the next dose start without one. In the worklist,
items with a current status ``moved`` or ``done_elsewhere`` go to the end (or are left out with
``hide_closed=True``); ``invited`` and ``refused`` stay in place and show the status.

Patient-level: the storage functions do not audit; the caller records ``view_patients`` for every view or
export of the worklist and ``invitation_status`` for every change.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Iterable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy import func

from core import prevention as R
from core.ages import age_years_series

from . import schema as s
from . import units as U
from .app_schema import ensure, invitation_event
from .cache import cached
from .context import get_db
from .db import Database
from .scope import Scope, ScopeError

PATH = "prevention"  # units.PATHS: region → district → mo → doctor (the участок doctor)
LEVELS = ("mo", "doctor")
KINDS = {"vaccine": "прививки по календарю", "adsm": "АДС-М взрослым", "disp": "диспансеризация и профосмотры",
         "stage2": "II этап диспансеризации", "screening": "онкоскрининг",
         "positive": "положительный скрининг без дообследования"}
ROW_KINDS = ("positive", "stage2", "vaccine", "disp", "screening")  # the ``kind`` of a row (ADSM rows: vaccine)
DEFAULT_KINDS = ("vaccine", "disp", "stage2", "screening", "positive")
STATES = {"overdue": "просрочено", "due": "пора", "upcoming": "предстоит"}
PRIORITY = {"positive": 0, "stage2": 1, "vaccine_overdue": 2, "vaccine_due": 3, "disp": 4, "screening": 5,
            "checkup": 6, "adsm": 6, "upcoming": 7}
UPCOMING_DAYS = 30
LOOKBACK_DAYS = 365
ADULT_AGE = R.AGE_BANDS[0][1]  # the first adult band of form № 131/о
COLUMNS = ["patient_id", "mo_id", "area_doctor_id", "sex", "birth_date", "age", "kind", "item", "what", "state",
           "since", "overdue", "last_contact", "priority"]

STATUSES = {"invited": "приглашён", "refused": "отказался", "moved": "выбыл",
            "done_elsewhere": "выполнено в другой МО", "none": "без отметки"}
CLOSED = ("moved", "done_elsewhere")
ITEM_RE = re.compile(r"^(vacc:[A-Z0-9]{2,8}(:\d{4})?|disp:\d{4}|stage2:\d{1,19}|screen:[a-z]{2,12}:\d{4}|followup:\d{1,19})$")
COMMENT_LIMIT = 400


class LevelError(U.UnitError):
    """The worklist asked for at a level it is not made for (the message is for the page, in Russian)."""


class StatusError(ValueError):
    """An invitation status refused; the message says why, in Russian."""


# ---------------------------------------------------------------- pure due logic
def _ts(col) -> pd.Series:
    return pd.to_datetime(pd.Series(col), errors="coerce")


def _shift(dates: pd.Series, months: int = 0, days: int = 0) -> pd.Series:
    """``core.prevention.due_date`` over a column: calendar months (end-of-month clamped), then days.

    Vectorised (a per-row ``relativedelta`` cost seconds for a children's polyclinic); the test suite checks it
    against ``due_date`` for every calendar dose and every birth date of three years around 29 February.
    """
    out = pd.to_datetime(dates).astype("datetime64[ns]")
    if months:
        out = out + pd.DateOffset(months=months)
    if days:
        out = out + pd.Timedelta(days=days)
    return out


def due_dates(births: pd.Series, dose: R.Dose) -> pd.Series:
    """``Dose.due`` of a column of birth dates."""
    return _shift(births, dose.months, dose.days)


def _fmt(d) -> str:
    return "" if d is None or pd.isna(d) else f"{pd.Timestamp(d):%d.%m.%Y}"


def _age(birth: pd.Series, as_of: dt.date) -> pd.Series:
    """Full years on a date."""
    return age_years_series(birth, as_of)


def _first(df: pd.DataFrame, key: str, date: str) -> pd.DataFrame:
    """Per (patient, key): the first date, wide (index patient_id, a column per key)."""
    if df.empty:
        return pd.DataFrame(index=pd.Index([], name="patient_id"))
    return df.groupby(["patient_id", key])[date].min().unstack()


def _exempt_ids(ex: pd.DataFrame, codes: Iterable[str]) -> set:
    """Patients with an active exemption covering any of ``codes`` (or all vaccines)."""
    if ex.empty:
        return set()
    hit = ex["vaccine"].isna() | ex["vaccine"].isin(list(codes))
    return set(ex.loc[hit, "patient_id"])


def _rows(pid, kind, item, what, state, since, overdue, priority) -> pd.DataFrame:
    n = len(pid)
    return pd.DataFrame({"patient_id": np.asarray(pid), "kind": kind, "item": list(item) if n else [],
                         "what": list(what) if n else [], "state": np.asarray(state, dtype=object) if n else [],
                         "since": pd.to_datetime(pd.Series(np.asarray(since)), errors="coerce") if n else
                         pd.Series([], dtype="datetime64[ns]"),
                         "overdue": np.asarray(overdue, dtype=bool) if n else [],
                         "priority": np.asarray(priority, dtype=int) if n else []})


def _child_doses(pp: pd.DataFrame, doses: pd.DataFrame, ex: pd.DataFrame, T: pd.Timestamp,
                 upcoming_days: int) -> list[pd.DataFrame]:
    kids = pp[(pp["birth"] <= T) & (T < pp["adult_from"])].reset_index(drop=True)
    if kids.empty:
        return []
    got = _first(doses, "vaccine", "vacc_date").reindex(kids["patient_id"])
    horizon = T + pd.Timedelta(days=upcoming_days)
    timely = pd.Timedelta(days=R.TIMELY_DAYS)
    out = []
    for d in R.CALENDAR:
        due = due_dates(kids["birth"], d)
        received = got[d.code].to_numpy() if d.code in got else np.full(len(kids), np.datetime64("NaT"))
        since = due
        if d.previous:
            prev = pd.Series(got[d.previous].to_numpy() if d.previous in got else pd.NaT, index=kids.index,
                             dtype="datetime64[ns]")
            since = pd.concat([due, prev + pd.Timedelta(days=d.min_interval_days)], axis=1).max(axis=1, skipna=False)
        mask = (pd.isna(received) & since.notna() & (since <= horizon) & (since < kids["adult_from"])
                & ~kids["patient_id"].isin(_exempt_ids(ex, (d.code, d.series))))
        if not mask.any():
            continue
        k, sn = kids[mask], since[mask]
        state = np.where(sn > T, "upcoming", np.where(T > sn + timely, "overdue", "due"))
        what = []
        for st, x in zip(state, sn):
            head = f"Прививка: {d.name} (по календарю — {d.due_label})"
            if st == "upcoming":
                what.append(f"{head} — предстоит с {_fmt(x)}")
            elif st == "overdue":
                what.append(f"{head} — просрочена с {_fmt(x + timely + pd.Timedelta(days=1))}")
            else:
                what.append(f"{head} — пора с {_fmt(x)}")
        prio = [PRIORITY[{"upcoming": "upcoming", "overdue": "vaccine_overdue", "due": "vaccine_due"}[st]]
                for st in state]
        out.append(_rows(k["patient_id"], "vaccine", [f"vacc:{d.code}"] * len(k), what, state, sn,
                         state == "overdue", prio))
    return out


def _adult_booster(pp: pd.DataFrame, doses: pd.DataFrame, ex: pd.DataFrame, T: pd.Timestamp,
                   as_of: dt.date) -> list[pd.DataFrame]:
    adults = pp[pp["adult_from"] <= T].reset_index(drop=True)
    if adults.empty:
        return []
    adsm = doses[doses["vaccine"] == R.ADULT_BOOSTER]
    last = adsm.groupby("patient_id")["vacc_date"].max().reindex(adults["patient_id"]).reset_index(drop=True)
    cutoff = pd.Timestamp(as_of - relativedelta(years=R.ADULT_BOOSTER_YEARS))  # as the coverage mart counts
    mask = (last.isna() | (last <= cutoff)) & ~adults["patient_id"].isin(_exempt_ids(ex, (R.ADULT_BOOSTER,)))
    if not mask.any():
        return []
    a, la = adults[mask], last[mask]
    since = _shift(la, 12 * R.ADULT_BOOSTER_YEARS).fillna(a["adult_from"])
    timely = pd.Timedelta(days=R.TIMELY_DAYS)
    state = np.where(T > since + timely, "overdue", "due")
    what = [f"{R.OTHER_VACCINES[R.ADULT_BOOSTER]}: " + (f"последняя {_fmt(x)}" if pd.notna(x) else "сведений о прививке нет")
            for x in la]
    items = [f"vacc:{R.ADULT_BOOSTER}:{pd.Timestamp(x).year}" for x in since]  # a mark is for this cycle only
    return [_rows(a["patient_id"], "vaccine", items, what, state, since,
                  state == "overdue", [PRIORITY["adsm"]] * len(a))]


def _disp(pp: pd.DataFrame, exams: pd.DataFrame, T: pd.Timestamp, year: int) -> list[pd.DataFrame]:
    adults = pp[pp["age_in_year"] >= ADULT_AGE]
    done = exams[exams["program"].isin(R.YEARLY_PROGRAMS) & (exams["stage1_end"].dt.year == year)
                 & (exams["stage1_end"] <= T)]["patient_id"]
    a = adults[~adults["patient_id"].isin(set(done))]
    if a.empty:
        return []
    full = [R.disp_due(int(x)) for x in a["age_in_year"]]
    what = [f"Диспансеризация взрослых ({year} г., возраст в году — {int(x)})" if f
            else f"Профилактический медицинский осмотр ({year} г.)" for f, x in zip(full, a["age_in_year"])]
    prio = [PRIORITY["disp"] if f else PRIORITY["checkup"] for f in full]
    return [_rows(a["patient_id"], "disp", [f"disp:{year}"] * len(a), what, ["due"] * len(a),
                  [pd.Timestamp(year, 1, 1)] * len(a), [False] * len(a), prio)]


def _stage2(pp: pd.DataFrame, exams: pd.DataFrame, T: pd.Timestamp) -> list[pd.DataFrame]:
    x = exams[exams["patient_id"].isin(set(pp["patient_id"]))]
    end_known = x["stage2_end"].notna() & (x["stage2_end"] <= T)
    closed = end_known | (x["stage2_result"].notna() & (x["stage2_end"].isna() | end_known))
    term = pd.Timedelta(days=R.STAGE2_DUE_DAYS)
    x = x[x["stage2_referred"].fillna(False).astype(bool) & ~closed & (x["stage1_end"] <= T)
          & (T - x["stage1_end"] > term) & (T - x["stage1_end"] <= pd.Timedelta(days=LOOKBACK_DAYS))]
    if x.empty:
        return []
    what = [f"II этап диспансеризации: I этап завершён {_fmt(e)}, II не завершён за {R.STAGE2_DUE_DAYS} дн."
            for e in x["stage1_end"]]
    return [_rows(x["patient_id"], "stage2", [f"stage2:{int(i)}" for i in x["exam_id"]], what, ["overdue"] * len(x),
                  x["stage1_end"] + term + pd.Timedelta(days=1), [True] * len(x), [PRIORITY["stage2"]] * len(x))]


def _screening(pp: pd.DataFrame, tests: pd.DataFrame, T: pd.Timestamp, year: int) -> list[pd.DataFrame]:
    adults = pp[pp["age_in_year"] >= ADULT_AGE]
    keys = list(zip(adults["age_in_year"].astype(int), adults["sex"]))
    last = tests[tests["test_date"] <= T].groupby(["test", "patient_id"])["test_date"].max()
    out = []
    for sc in R.SCREENINGS:
        due = {k: sc.due_in_year(*k) for k in set(keys)}
        hit = adults[[due[k] for k in keys]]
        if hit.empty:
            continue
        # done when tested within the interval: this year, or the last ``interval`` calendar years
        first_year = year - np.array([max(sc.interval(int(a)) or 0, 1) for a in hit["age_in_year"]]) + 1
        prev = last.get(sc.code, pd.Series(dtype="datetime64[ns]")).reindex(hit["patient_id"]).to_numpy()
        prev_year = pd.DatetimeIndex(prev).year.to_numpy(dtype=float, na_value=np.nan)
        todo = ~(prev_year >= first_year)
        h = hit[todo]
        if h.empty:
            continue
        what = [f"Онкоскрининг: {sc.name} ({year} г.)" + (f", последний {_fmt(p)}" if pd.notna(p) else "")
                for p in prev[todo]]
        out.append(_rows(h["patient_id"], "screening", [f"screen:{sc.code}:{year}"] * len(h), what, ["due"] * len(h),
                         [pd.Timestamp(year, 1, 1)] * len(h), [False] * len(h), [PRIORITY["screening"]] * len(h)))
    return out


def _positives(pp: pd.DataFrame, tests: pd.DataFrame, T: pd.Timestamp) -> list[pd.DataFrame]:
    x = tests[tests["patient_id"].isin(set(pp["patient_id"])) & (tests["result"] == "pathology")
              & (tests["test_date"] <= T) & (T - tests["test_date"] <= pd.Timedelta(days=LOOKBACK_DAYS))
              & ~(tests["followup_date"].notna() & (tests["followup_date"] <= T))]
    if x.empty:
        return []
    days = x["test"].map(lambda c: R.SCREENING_BY_CODE[c].followup_days if c in R.SCREENING_BY_CODE else None)
    x = x[days.notna()]
    days = pd.to_timedelta(days[days.notna()].astype(int), unit="D")
    late = T - x["test_date"] > days
    x, days = x[late], days[late]
    if x.empty:
        return []
    what = [f"Положительный результат: {R.SCREENING_BY_CODE[c].name} от {_fmt(d)} — нет дообследования "
            f"(срок {R.SCREENING_BY_CODE[c].followup_days} дн.)" for c, d in zip(x["test"], x["test_date"])]
    return [_rows(x["patient_id"], "positive", [f"followup:{int(i)}" for i in x["screening_id"]], what,
                  ["overdue"] * len(x), x["test_date"] + days + pd.Timedelta(days=1), [True] * len(x),
                  [PRIORITY["positive"]] * len(x))]


def _frame(df: pd.DataFrame | None, cols: dict[str, str]) -> pd.DataFrame:
    """A frame with at least ``cols`` (name → "date" or "obj"), dates as datetime64."""
    df = pd.DataFrame(columns=list(cols)) if df is None else df.copy()
    for c, kind in cols.items():
        if c not in df.columns:
            df[c] = pd.NaT if kind == "date" else None
        if kind == "date":
            df[c] = _ts(df[c].to_numpy()).to_numpy()
    return df


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    ks = tuple(sorted(set(kinds)))
    bad = [k for k in ks if k not in KINDS]
    if bad or not ks:
        raise ValueError(f"Неизвестный вид мероприятий: {', '.join(bad) or '—'}; допустимы: {', '.join(KINDS)}")
    return ks


def due_items(people: pd.DataFrame, doses: pd.DataFrame | None, exemptions: pd.DataFrame | None,
              exams: pd.DataFrame | None, screenings: pd.DataFrame | None, as_of: dt.date,
              kinds: Iterable[str] = DEFAULT_KINDS, upcoming_days: int = UPCOMING_DAYS) -> pd.DataFrame:
    """One row per (patient, due item) as of a date (the module docstring gives the rules).

    Args:
        people: patient_id, sex, birth_date, mo_id, area_doctor_id and optionally last_visit.
        doses: patient_id, vaccine, vacc_date. exemptions: patient_id, vaccine, kind, start_date, end_date.
        exams: exam_id, patient_id, program, stage1_end, stage2_referred, stage2_end, stage2_result.
        screenings: screening_id, patient_id, test, test_date, result, followup_date.
        kinds: which items to list (``KINDS``); ``adsm`` is not listed by default.
        upcoming_days: how far ahead child doses are listed as ``upcoming`` (0: none).
    Returns:
        ``COLUMNS``: patient_id, mo_id, area_doctor_id, sex, birth_date, age (full years), kind, item, what
        (Russian), state (overdue, due, upcoming), since (date), overdue (bool), last_contact (date or None),
        priority (int, smaller first); sorted by priority, since, patient.
    """
    ks = set(check_kinds(kinds))
    T = pd.Timestamp(as_of)
    year = as_of.year
    pp = _frame(people, {"patient_id": "obj", "sex": "obj", "birth_date": "date", "mo_id": "obj",
                         "area_doctor_id": "obj", "last_visit": "date"})
    pp = pp[pp["birth_date"] <= T].reset_index(drop=True)
    pp["birth"] = pp["birth_date"]
    pp["adult_from"] = _shift(pp["birth"], R.CHILD_LIMIT_MONTHS)
    pp["age_in_year"] = pd.Series([R.age_in_year(b.date(), year) for b in pp["birth"]], index=pp.index, dtype=int)
    dz = _frame(doses, {"patient_id": "obj", "vaccine": "obj", "vacc_date": "date"})
    dz = dz[dz["vacc_date"] <= T]
    ex = _frame(exemptions, {"patient_id": "obj", "vaccine": "obj", "kind": "obj", "start_date": "date",
                             "end_date": "date"})
    ex = ex[(ex["start_date"] <= T) & (ex["end_date"].isna() | (ex["end_date"] >= T))]
    xm = _frame(exams, {"exam_id": "obj", "patient_id": "obj", "program": "obj", "stage1_end": "date",
                        "stage2_referred": "obj", "stage2_end": "date", "stage2_result": "obj"})
    sc = _frame(screenings, {"screening_id": "obj", "patient_id": "obj", "test": "obj", "test_date": "date",
                             "result": "obj", "followup_date": "date"})
    parts: list[pd.DataFrame] = []
    if "vaccine" in ks:
        parts += _child_doses(pp, dz, ex, T, max(int(upcoming_days), 0))
    if "adsm" in ks:
        parts += _adult_booster(pp, dz, ex, T, as_of)
    if "disp" in ks:
        parts += _disp(pp, xm, T, year)
    if "stage2" in ks:
        parts += _stage2(pp, xm, T)
    if "screening" in ks:
        parts += _screening(pp, sc, T, year)
    if "positive" in ks:
        parts += _positives(pp, sc, T)
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    items = pd.concat(parts, ignore_index=True)
    # last contact: the latest visit, dose, exam or test by the date
    contacts = [pp[["patient_id", "last_visit"]].rename(columns={"last_visit": "d"}),
                dz[["patient_id", "vacc_date"]].rename(columns={"vacc_date": "d"}),
                xm.loc[xm["stage1_end"] <= T, ["patient_id", "stage1_end"]].rename(columns={"stage1_end": "d"}),
                sc.loc[sc["test_date"] <= T, ["patient_id", "test_date"]].rename(columns={"test_date": "d"})]
    last = pd.concat([c for c in contacts if len(c)], ignore_index=True).groupby("patient_id")["d"].max()
    info = pp[["patient_id", "mo_id", "area_doctor_id", "sex", "birth_date"]].copy()
    info["age"] = _age(pp["birth"], as_of)
    out = items.merge(info, on="patient_id", how="inner")
    out["last_contact"] = out["patient_id"].map(last)
    out = out.sort_values(["priority", "since", "patient_id", "item"], kind="stable").reset_index(drop=True)
    for c in ("since", "last_contact", "birth_date"):
        out[c] = pd.Series([None if pd.isna(x) else pd.Timestamp(x).date() for x in out[c]], dtype=object)
    out["patient_id"] = out["patient_id"].astype("int64")
    out["mo_id"] = pd.Series([None if pd.isna(x) else int(x) for x in out["mo_id"]], dtype=object)
    # plain ints and None (a page or an API answer shows them; no float ids)
    out["area_doctor_id"] = pd.Series([None if pd.isna(x) else int(x) for x in out["area_doctor_id"]], dtype=object)
    return out[COLUMNS]


# ---------------------------------------------------------------- storage
def check(level: str, unit_id, scope: Scope) -> U.Unit:
    """The unit of a worklist: an organisation or an участок doctor in the person's scope."""
    if level not in LEVELS:
        raise LevelError("Выберите медицинскую организацию или участок: списки приглашений составляются по "
                         "прикреплённому населению")
    return U.scoped_unit(level, unit_id, scope, PATH)


def _people(n: U.Unit, scope: Scope):
    """The attached patients of a unit, as a subquery with the scope applied at the finest grain, and its WHERE.

    ``district_id`` is the attachment organisation's district (not the residence), ``doctor_id`` the участок doctor.
    """
    pt, m = s.patient, s.mo
    ppl = sa.select(pt.c.patient_id, pt.c.sex, pt.c.birth_date, pt.c.attach_mo_id.label("mo_id"),
                    pt.c.area_doctor_id, pt.c.area_doctor_id.label("doctor_id"), m.c.district_id
                    ).select_from(pt.join(m, m.c.mo_id == pt.c.attach_mo_id)).subquery("people")
    where = [*U.unit_where(ppl, n), ppl.c.mo_id == n.mo_id, *U.scope_where(ppl, scope, "doctor")]
    return ppl, where


@cached(timeout=600)
def due(level: str, unit_id, as_of: dt.date, scope: Scope, kinds: tuple[str, ...] = DEFAULT_KINDS,
        upcoming_days: int = UPCOMING_DAYS) -> pd.DataFrame:
    """``due_items`` of a unit's attached patients as of a date (no statuses, no names; cached)."""
    n = check(level, unit_id, scope)
    ks = set(check_kinds(kinds))
    db = get_db()
    ppl, where = _people(n, scope)
    year = as_of.year

    def of(t, *cols, cond=()):
        return db.read_df(sa.select(*cols).select_from(t.join(ppl, ppl.c.patient_id == t.c.patient_id))
                          .where(*where, *cond))
    people = db.read_df(sa.select(ppl.c.patient_id, ppl.c.sex, ppl.c.birth_date, ppl.c.mo_id, ppl.c.area_doctor_id)
                        .where(*where, ppl.c.birth_date <= as_of))
    vi = s.visit
    # per person, so that PostgreSQL reads the (patient_id, visit_date) index instead of every visit
    last = sa.select(func.max(vi.c.visit_date)).where(vi.c.patient_id == ppl.c.patient_id, vi.c.visit_date <= as_of)
    visits = db.read_df(sa.select(ppl.c.patient_id, last.scalar_subquery().label("last_visit")).where(*where))
    people = people.merge(visits, on="patient_id", how="left")
    v, e, x, c = s.vaccination, s.vaccination_exemption, s.dispensary_exam, s.cancer_screening
    doses = exemptions = exams = tests = None
    if ks & {"vaccine", "adsm"}:
        codes = [d.code for d in R.CALENDAR] + [R.ADULT_BOOSTER]
        doses = of(v, v.c.patient_id, v.c.vaccine, v.c.vacc_date, cond=(v.c.vacc_date <= as_of, v.c.vaccine.in_(codes)))
        exemptions = of(e, e.c.patient_id, e.c.vaccine, e.c.kind, e.c.start_date, e.c.end_date,
                        cond=(e.c.start_date <= as_of, sa.or_(e.c.end_date.is_(None), e.c.end_date >= as_of)))
    back = as_of - dt.timedelta(days=LOOKBACK_DAYS)
    if ks & {"disp", "stage2"}:
        exams = of(x, x.c.exam_id, x.c.patient_id, x.c.program, x.c.stage1_end, x.c.stage2_referred, x.c.stage2_end,
                   x.c.stage2_result, cond=(x.c.stage1_end <= as_of, x.c.stage1_end >= min(dt.date(year, 1, 1), back)))
    if ks & {"screening", "positive"}:
        longest = max([every for sc in R.SCREENINGS for _, _, every in sc.rules] + [1])
        tests = of(c, c.c.screening_id, c.c.patient_id, c.c.test, c.c.test_date, c.c.result, c.c.followup_date,
                   cond=(c.c.test_date <= as_of, c.c.test_date >= min(dt.date(year - longest + 1, 1, 1), back)))
    return due_items(people, doses, exemptions, exams, tests, as_of, ks, upcoming_days)


def _doctor_names(mo_id: int) -> dict:
    d = U.doctors_of(int(mo_id))
    return dict(zip(d["doctor_id"].astype(int), d["full_name"]))


def worklist(level: str, unit_id, as_of: dt.date, scope: Scope, kinds: Iterable[str] = DEFAULT_KINDS,
             hide_closed: bool = False, upcoming_days: int = UPCOMING_DAYS) -> pd.DataFrame:
    """The prevention worklist of an organisation (``mo``) or an участок doctor (``doctor``).

    Patient-level: refused (ScopeError) without patient access; LevelError at the city and district levels.
    The caller audits every view and export (``view_patients``).

    Returns ``COLUMNS`` and: doctor (the участок doctor's name), status (current invitation status code, "" when
    none), status_name, status_comment, status_at, status_by. Sorted by priority and since; items ``moved`` or
    ``done_elsewhere`` at the end (left out with ``hide_closed``).
    """
    if not scope.patients:
        raise ScopeError("Списки пациентов доступны только руководителям районов и медицинских организаций")
    n = check(level, unit_id, scope)
    df = due(level, n.id, as_of, scope, check_kinds(kinds), int(upcoming_days))
    names = _doctor_names(n.mo_id)
    df["doctor"] = [names.get(int(d), "") if pd.notna(d) else "" for d in df["area_doctor_id"]]
    df = _with_statuses(df, get_db(), n.mo_id)
    if hide_closed:
        df = df[~df["status"].isin(CLOSED)]
    closed = df["status"].isin(CLOSED)
    return df.assign(_c=closed).sort_values(["_c", "priority", "since", "patient_id", "item"], kind="stable") \
        .drop(columns="_c").reset_index(drop=True)


def _with_statuses(df: pd.DataFrame, db: Database, mo_id: int) -> pd.DataFrame:
    st = statuses_for(db, df["patient_id"].unique().tolist(), mo_id=mo_id)
    st = st.rename(columns={"comment": "status_comment", "set_at": "status_at", "set_by": "status_by"})
    out = df.merge(st[["patient_id", "item", "status", "status_name", "status_comment", "status_at", "status_by"]],
                   on=["patient_id", "item"], how="left")
    out["status"] = out["status"].fillna("")
    out["status_name"] = out["status_name"].fillna("")
    return _nones(out, ("status_comment", "status_at", "status_by"))


def summary_by_area(mo_id, as_of: dt.date, scope: Scope, kinds: Iterable[str] = DEFAULT_KINDS,
                    upcoming_days: int = UPCOMING_DAYS) -> pd.DataFrame:
    """Counts per участок doctor of an organisation (counts only; no patient access needed).

    Items ``moved`` or ``done_elsewhere`` are not counted. Returns one row per участок doctor (doctor_id; the
    patients without an участок in a last row with doctor_id None, «Участок не указан»): doctor, patients (with
    any item due now), items (due now, overdue included), overdue, upcoming, invited, refused, and per row kind
    ``<kind>`` (due now) and ``<kind>_overdue``. Sorted by the doctor's name.
    """
    n = check("mo", mo_id, scope)
    df = due("mo", n.id, as_of, scope, check_kinds(kinds), int(upcoming_days))
    df = _with_statuses(df, get_db(), n.mo_id)
    df = df[~df["status"].isin(CLOSED)]
    names = _doctor_names(n.mo_id)
    rows = []
    key = df["area_doctor_id"].map(lambda d: int(d) if pd.notna(d) else -1)
    for doc, g in df.groupby(key):
        now = g[g["state"] != "upcoming"]
        r = {"doctor_id": None if doc == -1 else int(doc),
             "doctor": "Участок не указан" if doc == -1 else names.get(int(doc), f"Врач {doc}"),
             "patients": int(now["patient_id"].nunique()), "items": len(now), "overdue": int(now["overdue"].sum()),
             "upcoming": int((g["state"] == "upcoming").sum()), "invited": int((now["status"] == "invited").sum()),
             "refused": int((now["status"] == "refused").sum())}
        for k in ROW_KINDS:
            r[k] = int((now["kind"] == k).sum())
            r[f"{k}_overdue"] = int(((now["kind"] == k) & now["overdue"]).sum())
        rows.append(r)
    cols = ["doctor_id", "doctor", "patients", "items", "overdue", "upcoming", "invited", "refused",
            *[c for k in ROW_KINDS for c in (k, f"{k}_overdue")]]
    out = pd.DataFrame(rows, columns=cols)
    if out.empty:
        return out
    out["_u"] = out["doctor_id"].isna()
    out = out.sort_values(["_u", "doctor"]).drop(columns="_u").reset_index(drop=True)
    out["doctor_id"] = pd.Series([None if pd.isna(d) else int(d) for d in out["doctor_id"]], dtype=object)
    return out


# ---------------------------------------------------------------- invitation statuses
def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def set_status(db: Database, patient_id, item: str, status: str, comment: str | None, user_login: str, mo_id,
               *, scope: Scope, now: dt.datetime | None = None) -> dict:
    """Record an invitation status of a patient's item (append-only); returns the event.

    ``status`` is one of ``STATUSES`` (``none`` takes the item back to no status). The patient must be attached
    to ``mo_id`` and the organisation in the person's scope with patient access (ScopeError otherwise); a bad
    status, item or comment raises StatusError. The caller audits the change (``invitation_status``).
    """
    if status not in STATUSES:
        raise StatusError(f"Неизвестный статус «{status}»; допустимы: "
                          + ", ".join(f"{v} ({k})" for k, v in STATUSES.items()))
    if not isinstance(item, str) or not ITEM_RE.match(item):
        raise StatusError(f"Неизвестная позиция списка «{item}»")
    if comment is not None:
        if not isinstance(comment, str):
            raise StatusError("Комментарий должен быть текстом")
        comment = comment.strip() or None
    if comment is not None:
        if len(comment) > COMMENT_LIMIT:
            raise StatusError(f"Слишком длинный комментарий (до {COMMENT_LIMIT} символов)")
        if any(ord(ch) < 32 and ch not in "\n\r\t" or ord(ch) == 127 for ch in comment):
            raise StatusError("Комментарий содержит управляющие символы")
    if not isinstance(user_login, str) or not user_login.strip():
        raise StatusError("Не указан пользователь")
    try:
        pid, mo = int(patient_id), int(mo_id)
    except (TypeError, ValueError):
        raise StatusError("Коды пациента и организации должны быть числами") from None
    if not (0 < pid < 2 ** 63 and 0 < mo < 2 ** 31):
        raise StatusError("Коды пациента и организации должны быть положительными числами")
    if not scope.patients:
        raise ScopeError("Отмечать приглашения могут только руководители районов и медицинских организаций")
    U.scoped_unit("mo", mo, scope, PATH)
    ensure(db)
    with db.engine.connect() as c:
        attached = c.execute(sa.select(s.patient.c.attach_mo_id).where(s.patient.c.patient_id == pid)).first()
    if attached is None or attached[0] is None or int(attached[0]) != mo:
        raise StatusError("Пациент не прикреплён к этой организации")
    row = dict(patient_id=pid, item=item, mo_id=mo, status=status, comment=comment, set_at=now or _now(),
               set_by=user_login.strip()[:64])
    with db.write() as c:
        eid = c.execute(invitation_event.insert().values(**row).returning(invitation_event.c.event_id)).scalar()
    return {"event_id": int(eid), **row, "status_name": STATUSES[status]}


def _events(db: Database, conds: list, latest: bool) -> pd.DataFrame:
    t = invitation_event
    q = sa.select(t).where(*conds)
    if latest:
        top = sa.select(func.max(t.c.event_id)).where(*conds).group_by(t.c.patient_id, t.c.item)
        q = sa.select(t).where(t.c.event_id.in_(top))
    df = db.read_df(q.order_by(t.c.event_id))
    if df.empty:
        df = pd.DataFrame(columns=list(t.c.keys()))
    df["status_name"] = df["status"].map(STATUSES)
    return _nones(df, ("comment", "set_at"))


def _nones(df: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    """Empty values as None (not NaN/NaT) in columns a page or an API answer shows as they are."""
    for c in cols:
        df[c] = pd.Series([None if pd.isna(x) else x for x in df[c]], index=df.index, dtype=object)
    return df


def statuses_for(db: Database, patient_ids: Iterable[int], mo_id=None) -> pd.DataFrame:
    """Current invitation statuses (the latest event per patient and item, ``none`` left out) of patients.

    With ``mo_id`` only that organisation's events count (a patient attached elsewhere since starts afresh).
    Returns: event_id, patient_id, item, mo_id, status, comment, set_at, set_by, status_name.
    """
    ensure(db)
    ids = sorted({int(p) for p in patient_ids})
    t = invitation_event
    if mo_id is not None:
        df = _events(db, [t.c.mo_id == int(mo_id)], latest=True)
        df = df[df["patient_id"].isin(ids)]
    else:
        parts = [_events(db, [t.c.patient_id.in_(ids[i:i + 5000])], latest=True) for i in range(0, len(ids), 5000)]
        df = pd.concat(parts, ignore_index=True) if parts else _events(db, [sa.false()], latest=False)
    return df[df["status"] != "none"].reset_index(drop=True)


def history(db: Database, patient_id, item: str | None = None, mo_id=None) -> pd.DataFrame:
    """Every invitation event of a patient (of one item, of one organisation), oldest first."""
    ensure(db)
    t = invitation_event
    conds = [t.c.patient_id == int(patient_id)]
    if item is not None:
        conds.append(t.c.item == item)
    if mo_id is not None:
        conds.append(t.c.mo_id == int(mo_id))
    return _events(db, conds, latest=False)
