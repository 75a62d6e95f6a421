"""Pregnancy monitoring: who is under observation as of a date, what is due, done, late or overdue.

Norms (facts §3, Приказ 747н): registration before 12 weeks; screening at 11–14, 19–21 and 30–34
weeks; at least 5 visits. Windows are counted in days from the first day of the last menstrual
period: 11 weeks 0 days (77) to 14 weeks 6 days (104), 19w0d (133) to 21w6d (153), 30w0d (210) to
34w6d (244). A visit is missed when the time since the last one (or since registration) exceeds the
schedule: 6 weeks before 30 weeks, 3 weeks to 36, 2 weeks after.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import func

from core.ages import age_years_series

from . import schema as s
from . import units as U
from .cache import cached
from .context import get_db
from .scope import CITY, Scope, ScopeError

WINDOWS = {1: (77, 104), 2: (133, 153), 3: (210, 244)}
WINDOW_NAMES = {1: "скрининг I триместра (11–14 нед.)", 2: "скрининг II триместра (19–21 нед.)",
                3: "скрининг III триместра (30–34 нед.)"}
PATH = "pregnancy"
CHILD = {lv: U.child_level(lv, PATH) for lv in U.PATHS[PATH]}
RISK_NAMES = {"low": "низкий", "medium": "средний", "high": "высокий"}
STATUS_NAMES = {"not_yet": "ещё не наступил", "open": "идёт окно", "in_window": "сделан в срок", "late": "сделан поздно",
                "early": "сделан до окна", "overdue": "просрочен", "na": "не применим"}


def visit_interval(day: np.ndarray) -> np.ndarray:
    """Longest allowed gap between visits, in days, at a gestational age in days."""
    return np.where(day < 210, 42, np.where(day < 252, 21, 14))


def statuses(df: pd.DataFrame, as_of: dt.date, high_risk_weeks: int = 4) -> pd.DataFrame:
    """Add, for pregnancies under observation as of a date, each screening's status, since-when
    dates, whether a visit is missed and whether a high-risk woman lacks a recent visit.

    df: lmp_date, registered_date, screening1_date…screening3_date, outcome_date, last_visit (or NaT).
    """
    out = df.copy()
    d = pd.Timestamp(as_of)
    lmp = pd.to_datetime(out["lmp_date"])
    out["day"] = (d - lmp).dt.days
    out["week"] = out["day"] // 7
    ended = pd.to_datetime(out["outcome_date"])
    for k, (lo, hi) in WINDOWS.items():
        done = pd.to_datetime(out[f"screening{k}_date"])
        done = done.where(done <= d)
        start, end = lmp + pd.to_timedelta(lo, "D"), lmp + pd.to_timedelta(hi, "D")
        ended_before = ended.notna() & (ended <= end) & (ended <= d)
        # registered after the window closed: the consultation could not have screened her in it
        came_late = pd.to_datetime(out["registered_date"]) > end
        st = np.select(
            [(ended_before | came_late) & done.isna(),
             done.notna() & (done < start), done.notna() & (done <= end), done.notna(),
             d < start, d <= end],
            ["na", "early", "in_window", "late", "not_yet", "open"], default="overdue")
        out[f"s{k}"] = st
        out[f"s{k}_since"] = np.where(st == "overdue", (end + pd.Timedelta(days=1)).dt.date, None)
    last = pd.to_datetime(out["last_visit"]).fillna(pd.to_datetime(out["registered_date"]))
    gap = (d - last).dt.days
    out["days_since_visit"] = gap
    out["last_seen"] = last.dt.date
    out["visit_missed"] = gap > visit_interval(out["day"].to_numpy())
    out["high_risk_no_visit"] = (out["risk_group"] == "high") & (gap > high_risk_weeks * 7)
    return out


def check(level: str, unit_id, scope: Scope) -> U.Unit:
    return U.scoped_unit(level, unit_id, scope, PATH)


@cached(timeout=600)
def observes_pregnancies(mo_id: int) -> bool:
    """Whether an organisation has ever registered a pregnancy (an adult polyclinic has none)."""
    p = s.pregnancy
    with get_db().engine.connect() as conn:
        return conn.execute(sa.select(p.c.pregnancy_id).where(p.c.mo_id == int(mo_id)).limit(1)).first() is not None


@cached(timeout=600)
def observed(level: str, unit_id, as_of: dt.date, scope: Scope = CITY) -> pd.DataFrame:
    """Pregnancies under observation on ``as_of`` (registered by then, not ended before) with their last visit."""
    n = check(level, unit_id, scope)
    p, m, v, pt = s.pregnancy, s.mo, s.pregnancy_visit, s.patient
    last = sa.select(v.c.pregnancy_id, func.max(v.c.visit_date).label("last_visit"), func.count().label("visits")).where(
        v.c.visit_date <= as_of).group_by(v.c.pregnancy_id).subquery("lv")
    q = sa.select(p.c.pregnancy_id, p.c.patient_id, p.c.mo_id, p.c.doctor_id, m.c.district_id, p.c.lmp_date,
                  p.c.registered_date, p.c.registered_week, p.c.risk_group, p.c.screening1_date, p.c.screening2_date,
                  p.c.screening3_date, p.c.outcome, p.c.outcome_date, last.c.last_visit, last.c.visits,
                  pt.c.birth_date).select_from(
        p.join(m, m.c.mo_id == p.c.mo_id).join(pt, pt.c.patient_id == p.c.patient_id)
        .outerjoin(last, last.c.pregnancy_id == p.c.pregnancy_id)).where(
        p.c.registered_date <= as_of, sa.or_(p.c.outcome_date.is_(None), p.c.outcome_date > as_of))
    # patient-level rows: the scope applies at the finest grain
    q = q.where(*U.unit_where(p if n.level != "district" else m, n), *U.scope_where(p, scope, "doctor"))
    df = get_db().read_df(q)
    df["visits"] = df["visits"].fillna(0).astype(int)
    return df


def _key(level: str) -> str:
    return {"region": "district_id", "district": "mo_id", "mo": "doctor_id", "doctor": "doctor_id"}[level]


def child_names(level: str, unit_id) -> dict:
    return U.child_names(U.node(level, unit_id, path=PATH), PATH)


def summary(level: str, unit_id, as_of: dt.date, scope: Scope = CITY, high_risk_weeks: int = 4) -> pd.DataFrame:
    """Counts per child unit as of a date: under observation, by risk, screenings by status, missed visits."""
    df = statuses(observed(level, unit_id, as_of, scope), as_of, high_risk_weeks)
    key = _key(level)
    names = child_names(level, unit_id)
    rows = []
    for cid, g in df.groupby(key):
        r = {"child_id": int(cid), "name": names.get(cid, str(cid)), "observed": len(g),
             "high": int((g["risk_group"] == "high").sum()), "medium": int((g["risk_group"] == "medium").sum()),
             "visit_missed": int(g["visit_missed"].sum()), "high_no_visit": int(g["high_risk_no_visit"].sum())}
        for k in WINDOWS:
            r[f"s{k}_open"] = int((g[f"s{k}"] == "open").sum())
            r[f"s{k}_overdue"] = int((g[f"s{k}"] == "overdue").sum())
        rows.append(r)
    return pd.DataFrame(rows)


def worklist(level: str, unit_id, as_of: dt.date, scope: Scope, high_risk_weeks: int = 4) -> pd.DataFrame:
    """Women who need attention: an overdue screening, a missed visit, or high risk without a recent visit.

    Patient-level: only for roles allowed to see patients (the caller audits each view and export).
    """
    if not scope.patients:
        raise ScopeError("Списки пациентов доступны только руководителям районов и медицинских организаций")
    df = statuses(observed(level, unit_id, as_of, scope), as_of, high_risk_weeks)
    birth = pd.to_datetime(df["birth_date"])
    df["age"] = age_years_series(birth, as_of)
    rows = []
    orgs = U.organisations().set_index("mo_id")["short_name"]
    for r in df.to_dict("records"):
        problems, since = [], []
        for k in WINDOWS:
            if r[f"s{k}"] == "overdue":
                problems.append(f"{WINDOW_NAMES[k]} просрочен с {r[f's{k}_since']:%d.%m.%Y}")
                since.append(r[f"s{k}_since"])
        if r["high_risk_no_visit"]:
            problems.append(f"высокий риск: нет явки {r['days_since_visit'] // 7} нед. (последняя {r['last_seen']:%d.%m.%Y})")
            since.append(r["last_seen"])
        elif r["visit_missed"]:
            problems.append(f"пропущена явка: последняя {r['last_seen']:%d.%m.%Y}")
            since.append(r["last_seen"])
        if not problems:
            continue
        rows.append({"pregnancy_id": int(r["pregnancy_id"]), "patient_id": int(r["patient_id"]), "age": int(r["age"]),
                     "week": int(r["week"]), "risk": RISK_NAMES[r["risk_group"]], "risk_code": r["risk_group"],
                     "mo": orgs.get(r["mo_id"], ""), "doctor_id": int(r["doctor_id"]), "problems": "; ".join(problems),
                     "since": min(since), "count": len(problems)})
    out = pd.DataFrame(rows, columns=["pregnancy_id", "patient_id", "age", "week", "risk", "risk_code", "mo", "doctor_id",
                                      "problems", "since", "count"])
    if out.empty:
        return out
    docs = {}
    for mo_id in set(df["mo_id"]):
        d = U.doctors_of(int(mo_id))
        docs.update(dict(zip(d["doctor_id"], d["full_name"])))
    out["doctor"] = out["doctor_id"].map(docs)
    order = {"high": 0, "medium": 1, "low": 2}
    out["_r"] = out["risk_code"].map(order)
    return out.sort_values(["_r", "count", "since"], ascending=[True, False, True]).drop(columns="_r").reset_index(drop=True)
