"""The effective contract's data (issue 20) on a hand-made database (both engines): the plan of visits and its
fact only where a plan exists and at the plan's organisation, complaints with the ones under review, survey
answers, neglected cancer by stage and visual site at the patient's attachment, salaries against the region's
wage (the latest published month), staffing of state organisations; a month rebuilt alone equals the full build;
the indicators at every level; the generated city's assignments, plans, events and payroll. Every expected value
is counted by hand from the rows below."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from core import contract_data as K
from core.periods import parse_period
from data_access import marts as M
from data_access import schema as s
from data_access.db import Database
from data_access.setup import create_contract
from data_access.workcal import calendar_frame
from tests.conftest import CITY
from tests.helpers import frame, hand_made

D = dt.date
MAR, APR = D(2026, 3, 1), D(2026, 4, 1)
MO1, MO2, PRIV = 10, 20, 30        # state polyclinics of districts 1 and 2, a private clinic of district 2
DOC1, DOC2, DOC3 = 100, 101, 200   # DOC1 and DOC2 work at MO1 (DOC2 has no plan), DOC3 at MO2


# ---------------------------------------------------------------- the fixture
def _visit(vid, day, mo, doctor):
    return dict(visit_id=vid, episode_id=vid, visit_date=day, patient_id=9, doctor_id=doctor, dept_id=mo // 10,
                mo_id=mo, icd10="J06.9", is_new_diagnosis=False, purpose="disease")


def _complaint(cid, day, mo, doctor, justified, topic="access"):
    return dict(complaint_id=cid, received_date=day, mo_id=mo, doctor_id=doctor, justified=justified, topic=topic)


def _answer(rid, day, mo, doctor, satisfied):
    return dict(response_id=rid, answered_date=day, mo_id=mo, doctor_id=doctor, satisfied=satisfied)


def _cancer(cid, pid, day, icd, stage, mo=MO2):
    return dict(case_id=cid, patient_id=pid, diagnosis_date=day, icd10=icd, stage=stage, mo_id=mo)


def _patient(pid, mo, area):
    return dict(patient_id=pid, sex="F", birth_date=D(1960, 1, 1), district_id=1, attach_mo_id=mo, area_doctor_id=area)


def build(db: Database) -> None:
    create_contract(db)
    with db.engine.begin() as c:
        c.execute(s.district.insert(), [dict(district_id=1, name="Альфа", okato=None),
                                        dict(district_id=2, name="Бета", okato=None)])
        c.execute(s.mo.insert(), [dict(mo_id=mo, name=f"МО {mo}", short_name=f"МО {mo}", kind=kind, district_id=d,
                                       parent_mo_id=None, is_state=state, has_attachment=state, oid=str(mo))
                                  for mo, d, kind, state in ((MO1, 1, "adult_polyclinic", True),
                                                             (MO2, 2, "adult_polyclinic", True),
                                                             (PRIV, 2, "private", False))])
        c.execute(s.department.insert(), [dict(dept_id=mo // 10, mo_id=mo, name="Терапия", profile="therapy")
                                          for mo in (MO1, MO2, PRIV)])
        c.execute(s.specialty.insert().values(specialty_id=1, code="therapist", name="Терапевт", category="primary",
                                              wait_norm="h24"))
        c.execute(s.doctor.insert(), [
            dict(doctor_id=DOC1, full_name="Иванова Анна Петровна", sex="F", specialty_id=1, mo_id=MO1, dept_id=1),
            dict(doctor_id=DOC2, full_name="Петров Пётр Петрович", sex="M", specialty_id=1, mo_id=MO1, dept_id=1),
            dict(doctor_id=DOC3, full_name="Сидорова Мария Ивановна", sex="F", specialty_id=1, mo_id=MO2, dept_id=2)])
        c.execute(s.patient.insert(), [
            _patient(1, MO1, DOC1), _patient(2, MO1, DOC1), _patient(3, MO2, DOC3), _patient(4, None, None),
            _patient(5, MO1, None), _patient(6, MO1, DOC1), _patient(7, MO2, DOC3), _patient(8, MO1, DOC1),
            _patient(9, MO1, DOC1), _patient(10, MO2, DOC3)])
        c.execute(s.visit.insert(), [
            *[_visit(k, D(2026, 3, k), MO1, DOC1) for k in (1, 2, 3)],
            *[_visit(k, D(2026, 4, k - 3), MO1, DOC1) for k in (4, 5)],
            *[_visit(k, D(2026, 3, k), MO1, DOC2) for k in (6, 7, 8, 9)],  # a doctor without a plan
            _visit(10, D(2026, 3, 31), MO2, DOC3)])
        c.execute(s.doctor_plan.insert(), [
            dict(month=MAR, doctor_id=DOC1, mo_id=MO1, visits_planned=5),
            dict(month=APR, doctor_id=DOC1, mo_id=MO1, visits_planned=2),
            dict(month=MAR, doctor_id=DOC1, mo_id=MO2, visits_planned=4),   # a plan where he saw nobody
            dict(month=MAR, doctor_id=DOC3, mo_id=MO2, visits_planned=2),
            dict(month=APR, doctor_id=DOC3, mo_id=MO2, visits_planned=3)])
        c.execute(s.complaint.insert(), [
            _complaint(1, D(2026, 3, 5), MO1, DOC1, True),
            _complaint(2, D(2026, 3, 6), MO1, DOC1, None),                  # under review
            _complaint(3, D(2026, 3, 31), MO1, None, True, "quality"),      # about the organisation
            _complaint(4, D(2026, 3, 10), MO1, DOC2, False, "attitude"),
            _complaint(5, D(2026, 4, 1), MO2, DOC3, True)])
        c.execute(s.patient_survey.insert(), [
            _answer(1, D(2026, 3, 2), MO1, DOC1, True), _answer(2, D(2026, 3, 3), MO1, DOC1, True),
            _answer(3, D(2026, 3, 4), MO1, DOC1, False), _answer(4, D(2026, 3, 31), MO2, DOC3, False),
            _answer(5, D(2026, 4, 2), MO1, DOC1, True)])
        c.execute(s.cancer_case.insert(), [
            _cancer(1, 1, D(2026, 3, 3), "C50.9", 3),     # breast, stage III: neglected (diagnosed at MO2)
            _cancer(2, 2, D(2026, 3, 4), "C34.1", 3),     # lung, stage III: not
            _cancer(3, 3, D(2026, 4, 5), "C34.9", 4),     # stage IV: always
            _cancer(4, 4, D(2026, 3, 5), "C50.4", 4),     # not attached: left out
            _cancer(5, 5, D(2026, 3, 6), "C44.3", None),  # no участок doctor, stage unknown
            _cancer(6, 6, D(2026, 3, 7), "D05.1", 3),     # in situ: not a malignant case
            _cancer(7, 7, D(2026, 4, 8), "C73", 3),       # thyroid, stage III: neglected
            _cancer(8, 10, D(2026, 4, 9), "C18.7", 3)])   # colon (not rectum), stage III: not
        # a diabetic observed by DOC1 is admitted with diabetes; a hypertensive with hypertension (not counted)
        c.execute(s.dispensary_observation.insert(), [
            dict(obs_id=1, patient_id=8, mo_id=MO1, doctor_id=DOC1, icd10="E11.9", start_date=D(2025, 1, 1),
                 end_date=None, end_reason=None, visits_per_year=2),
            dict(obs_id=2, patient_id=9, mo_id=MO1, doctor_id=DOC1, icd10="I10", start_date=D(2025, 1, 1),
                 end_date=None, end_reason=None, visits_per_year=1)])
        c.execute(s.care_episode.insert(), [
            dict(episode_id=100 + k, patient_id=pid, mo_id=MO2, dept_id=2, doctor_id=DOC3, kind="inpatient",
                 purpose="disease", icd10=icd, is_new_diagnosis=False, opened_date=D(2026, 3, 12), closed_date=None,
                 closed_at=None, visits_count=0, outcome=None) for k, (pid, icd) in enumerate(((8, "E11.6"), (9, "I10")))])
        c.execute(s.salary.insert(), [
            dict(month=MAR, mo_id=MO1, staff_group="doctors", avg_salary=200_000.0, headcount=10.0),
            dict(month=MAR, mo_id=MO1, staff_group="nurses", avg_salary=80_000.0, headcount=15.0),
            dict(month=MAR, mo_id=MO2, staff_group="doctors", avg_salary=180_000.0, headcount=4.0),
            dict(month=APR, mo_id=MO1, staff_group="doctors", avg_salary=210_000.0, headcount=10.0)])
        # April is not published yet: April's base is March's wage
        c.execute(s.regional_wage.insert(), [dict(month=D(2026, 2, 1), avg_wage=100_000.0),
                                             dict(month=MAR, avg_wage=105_000.0)])
        c.execute(s.staff_position.insert(), [
            dict(position_id=k, mo_id=mo, dept_id=mo // 10, specialty_id=1, rate=rate, doctor_id=doc)
            for k, (mo, rate, doc) in enumerate(((MO1, 1.0, DOC1), (MO1, 0.5, DOC2), (MO1, 1.0, None), (MO1, 0.25, None),
                                                 (MO2, 1.0, DOC3), (PRIV, 1.0, None)), start=1)])
        c.execute(s.calendar.insert(), calendar_frame(D(2026, 1, 1), D(2026, 12, 31)).to_dict("records"))
    M.build_marts(db)


@pytest.fixture(scope="module")
def fx(dbs, tmp_path_factory):
    """The hand-made database with marts built, and an app on it (its context pushed)."""
    with hand_made(dbs, tmp_path_factory, build, "contract") as db:
        yield db


def mart(db, name) -> pd.DataFrame:
    t = M.marts.tables[name]
    df = db.read_df(sa.select(t))
    df["month"] = [pd.Timestamp(x).date() for x in df["month"]]
    if "doctor_id" in df:
        df["doctor_id"] = df["doctor_id"].astype("Int64")
    return df


def rows(df: pd.DataFrame, cols: list[str]) -> dict:
    """(month, mo_id[, doctor_id]) → the tuple of the columns (doctor None for an organisation's own row)."""
    keys = [k for k in ("month", "mo_id", "doctor_id") if k in df]
    out = {}
    for r in df.to_dict("records"):
        key = tuple(None if pd.isna(r[k]) else r[k] for k in keys)
        out[key] = tuple(float(r[c]) for c in cols)
    return out


# ---------------------------------------------------------------- the marts
def test_plan_and_fact_of_visits(fx):
    got = rows(mart(fx, "mart_contract"), ["visits_planned", "visits_fact"])
    got = {k: v for k, v in got.items() if v != (0, 0)}
    assert got == {
        (MAR, MO1, DOC1): (5, 3), (APR, MO1, DOC1): (2, 2),
        (MAR, MO2, DOC1): (4, 0),       # his visits are at MO1, not at the organisation of this plan
        (MAR, MO2, DOC3): (2, 1), (APR, MO2, DOC3): (3, 0)}
    # DOC2's four visits have no plan: not in the fact
    assert mart(fx, "mart_contract")["visits_fact"].sum() == 6


def test_complaints_and_surveys(fx):
    got = rows(mart(fx, "mart_contract"), ["complaints", "complaints_justified", "survey_responses", "survey_satisfied"])
    got = {k: v for k, v in got.items() if any(v)}
    assert got == {
        (MAR, MO1, DOC1): (2, 1, 3, 2),     # one justified, one under review
        (MAR, MO1, DOC2): (1, 0, 0, 0),     # not justified
        (MAR, MO1, None): (1, 1, 0, 0),     # about the organisation (received on the month's last day)
        (MAR, MO2, DOC3): (0, 0, 1, 0),
        (APR, MO1, DOC1): (0, 0, 1, 1),
        (APR, MO2, DOC3): (1, 1, 0, 0)}


def test_neglected_cancer_at_the_attachment(fx):
    got = rows(mart(fx, "mart_contract"), ["cancer_cases", "cancer_neglected"])
    got = {k: v for k, v in got.items() if any(v)}
    assert got == {
        (MAR, MO1, DOC1): (2, 1),           # breast III neglected, lung III not; diagnosed at MO2, counted at MO1
        (MAR, MO1, None): (1, 0),           # no участок doctor; stage unknown
        (APR, MO2, DOC3): (3, 2)}           # lung IV and thyroid III neglected; colon III not
    assert K.is_neglected("C50.9", 3) and not K.is_neglected("C34.1", 3) and K.is_neglected("C34.9", 4)
    assert K.is_neglected("C20", 3) and not K.is_neglected("C18.7", 3) and not K.is_neglected("D05.1", 4)
    assert not K.is_neglected("C44.3", None) and not K.is_neglected("C50.9", 2)


def test_salaries_and_staffing_of_organisations(fx):
    cols = ["salary_fund_doctors", "wage_base_doctors", "salary_fund_nurses", "wage_base_nurses", "staff_rates",
            "staff_rates_filled"]
    got = rows(mart(fx, "mart_contract_mo"), cols)
    assert set(got) == {(MAR, MO1), (APR, MO1), (MAR, MO2), (APR, MO2)}  # the private clinic is not there
    want = {(MAR, MO1): (2_000_000, 1_050_000, 1_200_000, 1_575_000, 2.75, 1.5),
            (APR, MO1): (2_100_000, 1_050_000, 0, 0, 2.75, 1.5),        # April at March's regional wage
            (MAR, MO2): (720_000, 420_000, 0, 0, 1.0, 1.0),
            (APR, MO2): (0, 0, 0, 0, 1.0, 1.0)}
    for key, values in want.items():
        assert got[key] == pytest.approx(values, rel=1e-6), key


def test_one_month_rebuilt_alone_equals_the_full_build(fx):
    names = ("mart_contract", "mart_contract_mo")

    def snapshot():
        out = {}
        for n in names:
            df = mart(fx, n)
            out[n] = df.sort_values([c for c in ("month", "mo_id", "doctor_id") if c in df]).reset_index(drop=True)
        return out

    full = snapshot()
    for m in (MAR, APR):
        M.build_marts(fx, m)
    again = snapshot()
    for n in names:
        assert len(full[n]) > 0
        pd.testing.assert_frame_equal(again[n], full[n], check_dtype=False, obj=n)


# ---------------------------------------------------------------- the indicators
def test_indicators_at_every_level(fx):
    from metrics import evaluate as E
    p = parse_period("2026-03")
    want = {  # region, MO1, DOC1 (None where the level is not declared)
        "contract_volume": (4 / 11 * 100, 3 / 5 * 100, 3 / 5 * 100),
        "contract_complaints": (2, 2, 1),
        "contract_satisfaction": (2 / 4 * 100, 2 / 3 * 100, 2 / 3 * 100),
        "contract_neglected_cancer": (1, 1, 1),
        "contract_dm_hosp": (1, 1, 1),
        "contract_salary_ratio": ((2_000_000 + 720_000) / (1_050_000 + 420_000) * 100, 2_000_000 / 1_050_000 * 100, None),
        "contract_staffing": (2.5 / 3.75 * 100, 1.5 / 2.75 * 100, None),
    }
    reg = E.registry()
    assert {i.code for i in reg if i.group == "contract"} == set(want)
    for code, (region, mo, doctor) in want.items():
        ind = reg[code]
        assert ind.weight == 0 and reg.groups[ind.group] == "Эффективный контракт"
        assert E.children(E.Context(code, "region", p))["value"].iloc[0] == pytest.approx(region), code
        assert E.unit_value(code, "mo", MO1, p)["value"] == pytest.approx(mo), code
        districts = E.children(E.Context(code, "district", p)).set_index("unit_id")["value"]
        assert districts.loc[1] == pytest.approx(mo), code   # district 1 is MO1 alone
        if doctor is None:
            assert "doctor" not in ind.levels
            continue
        doctors = E.children(E.Context(code, "doctor", p, MO1)).set_index("unit_id")["value"]
        assert doctors.loc[DOC1] == pytest.approx(doctor), code
    # satisfaction over 4 answers is «мало наблюдений» (fewer than 10)
    assert bool(E.children(E.Context("contract_satisfaction", "region", p))["few"].iloc[0])


# ---------------------------------------------------------------- the generated city
@pytest.fixture(scope="module")
def gen(city):
    _, db = city
    names = ("employment", "doctor", "mo", "specialty", "doctor_plan", "visit", "complaint", "patient_survey",
             "cancer_case", "care_episode", "salary", "regional_wage")
    out = {t: frame(db, t) for t in names}
    for t, col in (("complaint", "received_date"), ("patient_survey", "answered_date"), ("cancer_case", "diagnosis_date")):
        out[t][col] = pd.to_datetime(out[t][col])
    return out


START = pd.Timestamp(CITY["end_month"]) - pd.DateOffset(months=CITY["months"] - 1)
END = pd.Timestamp(CITY["end_month"]) + pd.offsets.MonthEnd(0)


def _covers(g: pd.DataFrame) -> bool:
    """Whether assignments (sorted by start) cover START…END without a gap."""
    g = g.sort_values("start_date")
    if g["start_date"].iloc[0] > START:
        return False
    ends = g["end_date"].fillna(END + pd.Timedelta(days=1))
    nxt = g["start_date"].shift(-1)
    return bool(((nxt.isna()) | (nxt <= ends + pd.Timedelta(days=1))).all() and ends.iloc[-1] >= END)


def test_every_doctor_is_assigned_for_the_whole_history(gen):
    e, d = gen["employment"], gen["doctor"]
    doc = e[e["doctor_id"].notna()]
    assert set(doc["doctor_id"].astype(int)) == set(d["doctor_id"])
    assert all(_covers(g) for _, g in doc.groupby("doctor_id"))
    mo_of = d.set_index("doctor_id")["mo_id"]
    assert (doc["mo_id"].to_numpy() == mo_of.loc[doc["doctor_id"].astype(int)].to_numpy()).all()
    assert set(e["position"]) <= set(K.POSITIONS) and e["assignment_id"].is_unique
    assert e["rate"].isin([1.0, 0.5, 0.25]).all()


def test_assignments_of_a_person_do_not_overlap_and_numbers_are_personal(gen):
    e = gen["employment"]
    person = e.groupby(["mo_id", "personnel_no"])
    assert (person["full_name"].nunique() == 1).all() and (person["doctor_id"].nunique(dropna=False) == 1).all()
    assert (e["end_date"].isna() | (e["end_date"] >= e["start_date"])).all()
    # sorted by start, each assignment of a person begins after the previous one ended
    x = e.sort_values(["mo_id", "personnel_no", "start_date"])
    prev_end = x.groupby(["mo_id", "personnel_no"])["end_date"].shift(1)
    same = x.duplicated(["mo_id", "personnel_no"])
    assert (prev_end[same].notna() & (x.loc[same, "start_date"] > prev_end[same])).all()
    # one number per person within an organisation: a doctor keeps his through a change of position
    people = e.drop_duplicates(["mo_id", "personnel_no"])
    assert people[people["doctor_id"].notna()]["doctor_id"].is_unique
    # changes inside the history: primary-care doctors change position; heads are replaced mid-month
    moved = e[e["doctor_id"].notna()].groupby("doctor_id").filter(lambda g: len(g) > 1)
    assert len(moved) > 0 and set(moved["position"]) <= {"therapist", "gp"}
    heads = e[e["position"] == K.HEAD]
    assert heads["doctor_id"].isna().all() and heads["dept_id"].isna().all()
    assert (heads.groupby("mo_id").size() > 1).any()


def test_every_state_organisation_has_one_head_each_day(gen):
    e, mo = gen["employment"], gen["mo"]
    heads = e[e["position"] == K.HEAD]
    assert set(heads["mo_id"]) == set(mo.loc[mo["is_state"], "mo_id"])
    for day in pd.date_range(START, END, freq="7D").append(pd.DatetimeIndex([END])):
        on = heads[(heads["start_date"] <= day) & (heads["end_date"].isna() | (heads["end_date"] >= day))]
        assert on["mo_id"].is_unique and len(on) == mo["is_state"].sum(), day
    changed = heads.groupby("mo_id").filter(lambda g: len(g) > 1)
    for _, g in changed.groupby("mo_id"):
        g = g.sort_values("start_date")
        assert g["full_name"].nunique() == 2 and g["personnel_no"].nunique() == 2
        assert g["end_date"].iloc[0] + pd.Timedelta(days=1) == g["start_date"].iloc[1]


def test_plans_follow_the_volume(gen):
    e, plan, v = gen["employment"], gen["doctor_plan"], gen["visit"]
    planned = set(e.loc[e["position"].isin(K.PLANNED_POSITIONS), "doctor_id"].astype(int))
    assert set(plan["doctor_id"]) <= planned
    state = set(gen["mo"].loc[gen["mo"]["is_state"], "mo_id"])
    assert plan["mo_id"].isin(state).all() and (plan["visits_planned"] > 0).all()
    assert not plan.duplicated(["month", "doctor_id", "mo_id"]).any()
    fact = v.groupby([v["visit_date"].dt.to_period("M").dt.to_timestamp().rename("month"), "doctor_id"]).size()
    p = plan.set_index(["month", "doctor_id"])["visits_planned"]
    f = fact.reindex(p.index, fill_value=0)
    assert 0.88 < f.sum() / p.sum() < 1.05
    per = f.groupby(level="doctor_id").sum() / p.groupby(level="doctor_id").sum()
    big = p.groupby(level="doctor_id").sum() > 300
    mid = per[big].quantile([0.1, 0.9])
    assert 0.75 < mid.iloc[0] < 0.98 and 1.0 < mid.iloc[1] < 1.2, mid


def test_complaints_surveys_and_cancer_cases(gen):
    v, cp, sv, cc, ce = gen["visit"], gen["complaint"], gen["patient_survey"], gen["cancer_case"], gen["care_episode"]
    state = set(gen["mo"].loc[gen["mo"]["is_state"], "mo_id"])
    n_state = v["mo_id"].isin(state).sum()
    assert 1 / 3000 < len(cp) / n_state < 1 / 1300
    assert cp["mo_id"].isin(state).all() and cp["topic"].isin(list(K.COMPLAINT_TOPICS)).all()
    decided = cp["justified"].notna()
    assert 0.3 < cp.loc[decided, "justified"].astype(bool).mean() < 0.6 and (~decided).sum() > 0
    assert 0.6 < cp["doctor_id"].notna().mean() < 0.95
    doc_mo = gen["doctor"].set_index("doctor_id")["mo_id"]
    named = cp[cp["doctor_id"].notna()]
    assert (named["mo_id"].to_numpy() == doc_mo.loc[named["doctor_id"].astype(int)].to_numpy()).all()
    assert 0.04 < len(sv) / n_state < 0.06 and 0.6 < sv["satisfied"].mean() < 0.85
    rate = sv.groupby("doctor_id")["satisfied"].agg(["mean", "size"])
    assert rate.loc[rate["size"] >= 60, "mean"].between(0.4, 0.97).all()
    for t, col in ((cp, "received_date"), (sv, "answered_date"), (cc, "diagnosis_date")):
        assert t[col].max() <= END and t[col].min() >= START
    # one case per first malignant diagnosis of a rubric, on the day and at the organisation of the episode
    cc = cc.assign(rubric=cc["icd10"].str[:3])
    assert cc["icd10"].str[0].eq("C").all() and not cc.duplicated(["patient_id", "rubric"]).any()
    new = ce[ce["is_new_diagnosis"] & ce["icd10"].str.match(r"^C\d\d")].assign(rubric=lambda x: x["icd10"].str[:3])
    first = new.sort_values(["opened_date", "episode_id"]).drop_duplicates(["patient_id", "rubric"])
    assert len(cc) == len(first)
    got = cc.merge(first, left_on=["patient_id", "diagnosis_date", "icd10", "mo_id"],
                   right_on=["patient_id", "opened_date", "icd10", "mo_id"])
    assert len(got) == len(cc)
    stages = cc["stage"].value_counts(normalize=True, dropna=False)
    assert set(cc["stage"].dropna().astype(int)) <= {1, 2, 3, 4} and 0.1 < stages.get(4, 0) < 0.35


def test_payroll_and_the_regional_wage(gen):
    sal, rw, mo = gen["salary"], gen["regional_wage"], gen["mo"]
    state = set(mo.loc[mo["is_state"], "mo_id"])
    assert set(sal["mo_id"]) == state and set(sal["staff_group"]) == set(K.STAFF_GROUPS)
    assert len(rw) == CITY["months"] and rw["avg_wage"].between(95_000, 140_000).all()
    ordinary = rw[rw["month"].dt.month != 12].sort_values("month")["avg_wage"]
    assert ordinary.iloc[-1] > ordinary.iloc[0]
    doc = sal[sal["staff_group"] == "doctors"]
    nurse = sal[sal["staff_group"] == "nurses"]
    assert doc["avg_salary"].between(140_000, 290_000).all() and nurse["avg_salary"].between(60_000, 130_000).all()
    ratio = (doc["avg_salary"] * doc["headcount"]).sum() / (doc.merge(rw, on="month").eval("headcount * avg_wage").sum())
    assert 1.5 < ratio < 2.2
    assert (doc["headcount"] > 0).all() and np.isfinite(nurse["headcount"]).all()


def test_the_same_seed_gives_the_same_contract_data(tmp_path):
    from synth.generate import generate
    digests = []
    for i in range(2):
        db = Database(f"duckdb:///{tmp_path / f'{i}.duckdb'}")
        generate(db, scale=0.002, seed=5, months=2, end_month=dt.date(2026, 6, 1))
        with db.engine.connect() as c:
            digests.append({t: c.execute(sa.text(f"select * from {t} order by all")).fetchall()
                            for t in ("employment", "doctor_plan", "complaint", "patient_survey", "cancer_case",
                                      "salary", "regional_wage")})
        db.dispose()
    assert digests[0] == digests[1] and all(len(v) for k, v in digests[0].items() if k != "complaint")
