"""Registers, quality criteria and volumes (issue 19) on a hand-made database (both engines): register
membership at the enrolment and removal edges, 12-month visits against the planned frequency, control by the
latest value, coverage of the diagnosed, hospitalisations; criteria inside and outside their window, the
exemption, the 0.5 case, a pneumonia case anchored at the diagnosis; volumes against the plan; the patient
lists and their scope; the registry entries against ``core.registers``. Every expected value is counted by
hand from the rows below."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from core import registers as R
from data_access import marts as M
from data_access import registers as G
from data_access import schema as s
from data_access import units as U
from data_access.db import Database
from data_access.marts.registers import icd_in, quality_cases
from data_access.marts.sql import Window
from data_access.scope import CITY, Scope, ScopeError
from data_access.setup import create_contract
from data_access.workcal import calendar_frame
from tests.helpers import hand_made

D = dt.date
MO1, MO2 = 10, 20            # district 1 (Альфа), district 2 (Бета)
DOC1, AREA1, DOC2 = 100, 101, 200
DISTRICT1 = Scope(districts=frozenset({1}), patients=True, label="Альфа")
DISTRICT2 = Scope(districts=frozenset({2}), patients=True, label="Бета")


# ---------------------------------------------------------------- the fixture
def _visit(vid, pid, day, mo, doctor, icd, purpose):
    return dict(visit_id=vid, episode_id=vid, visit_date=day, patient_id=pid, doctor_id=doctor, dept_id=mo // 10,
                mo_id=mo, icd10=icd, is_new_diagnosis=False, purpose=purpose)


def _episode(eid, pid, day, mo, doctor, icd, kind="outpatient", purpose="disease"):
    return dict(episode_id=eid, patient_id=pid, mo_id=mo, dept_id=mo // 10, doctor_id=doctor, kind=kind,
                purpose=purpose, icd10=icd, is_new_diagnosis=False, opened_date=day, closed_date=day, closed_at=None,
                visits_count=1, outcome=None)


def _obs(oid, pid, icd, start, end=None, reason=None, mo=MO1, doctor=DOC1, per_year=None):
    reg = R.register_of(icd)
    return dict(obs_id=oid, patient_id=pid, mo_id=mo, doctor_id=doctor, icd10=icd, start_date=start, end_date=end,
                end_reason=reason, visits_per_year=per_year or (reg.visits_per_year if reg else 1))


def _lab(rid, pid, test, day, value, reason=None, mo=MO1, doctor=DOC1):
    return dict(result_id=rid, patient_id=pid, mo_id=mo, doctor_id=doctor, test=test, taken_date=day, value=value,
                unit=R.LAB_TESTS[test].unit, not_done_reason=reason)


def build(db: Database) -> None:
    create_contract(db)
    q = dict(mo=MO2, doctor=DOC2)
    with db.engine.begin() as c:
        c.execute(s.district.insert(), [dict(district_id=1, name="Альфа", okato=None),
                                        dict(district_id=2, name="Бета", okato=None)])
        c.execute(s.mo.insert(), [dict(mo_id=mo, name=f"Поликлиника {mo}", short_name=f"Пол-ка {mo}",
                                       kind="adult_polyclinic", district_id=d, parent_mo_id=None, is_state=True,
                                       has_attachment=True, oid=str(mo)) for mo, d in ((MO1, 1), (MO2, 2))])
        c.execute(s.department.insert(), [dict(dept_id=mo // 10, mo_id=mo, name="Терапия", profile="therapy")
                                          for mo in (MO1, MO2)])
        c.execute(s.specialty.insert().values(specialty_id=1, code="therapist", name="Терапевт", category="primary",
                                              wait_norm="h24"))
        c.execute(s.doctor.insert(), [
            dict(doctor_id=DOC1, full_name="Иванова Анна Петровна", sex="F", specialty_id=1, mo_id=MO1, dept_id=1),
            dict(doctor_id=AREA1, full_name="Петров Пётр Петрович", sex="M", specialty_id=1, mo_id=MO1, dept_id=1),
            dict(doctor_id=DOC2, full_name="Сидорова Мария Ивановна", sex="F", specialty_id=1, mo_id=MO2, dept_id=2)])
        attached = dict(attach_mo_id=MO1, area_doctor_id=AREA1)
        alone = dict(attach_mo_id=None, area_doctor_id=None)
        c.execute(s.patient.insert(), [
            dict(patient_id=1, sex="F", birth_date=D(1960, 4, 1), district_id=1, **attached),
            dict(patient_id=2, sex="M", birth_date=D(1970, 3, 31), district_id=1, **alone),
            dict(patient_id=3, sex="M", birth_date=D(1950, 1, 1), district_id=1, **attached),
            dict(patient_id=4, sex="F", birth_date=D(1945, 1, 1), district_id=1, **attached),
            dict(patient_id=5, sex="F", birth_date=D(1965, 1, 1), district_id=1, **alone),
            dict(patient_id=6, sex="M", birth_date=D(1958, 1, 1), district_id=1, **attached),
            dict(patient_id=7, sex="M", birth_date=D(1959, 1, 1), district_id=1, **attached),
            dict(patient_id=8, sex="F", birth_date=D(1961, 1, 1), district_id=1, **attached),
            dict(patient_id=9, sex="M", birth_date=D(1952, 1, 1), district_id=1, **alone),
            *[dict(patient_id=pid, sex="F", birth_date=D(1955, 1, 1), district_id=2, **alone)
              for pid in (11, 12, 13, 14, 15, 16, 17, 18, 99)]])
        c.execute(s.dispensary_observation.insert(), [
            # district 1, observed by DOC1
            _obs(1, 1, "E11.9", D(2025, 1, 10)),
            _obs(2, 2, "E10.2", D(2026, 3, 1)),
            _obs(3, 3, "I10", D(2024, 6, 1), D(2026, 3, 31), "moved"),     # ends on a month end
            _obs(4, 4, "I11.9", D(2024, 6, 1), D(2026, 4, 1), "died"),     # ends the next day
            _obs(5, 5, "I10", D(2025, 4, 1)),
            # two rows of one register at once (observed by the участок doctor)
            _obs(6, 8, "E11.9", D(2025, 6, 1), doctor=AREA1),
            _obs(7, 8, "E10.9", D(2025, 7, 1), doctor=AREA1),
            _obs(8, 9, "I25.1", D(2025, 1, 1)),
            # district 2, observed by DOC2: diabetes enrolments for the criteria
            *[_obs(100 + k, 10 + k, "E11.9", D(2026, 1, k), **q) for k in range(1, 8)],
            _obs(110, 15, "N18.3", D(2026, 1, 5), **q),                       # CKD from the anchor day: exempt
            _obs(111, 14, "N18.3", D(2025, 1, 1), D(2026, 1, 4), "other", **q),  # ended on the anchor day: not
            _obs(112, 16, "N18.3", D(2025, 12, 1), **q),                      # under observation: exempt
            _obs(113, 17, "N18.3", D(2026, 1, 8), **q)])                      # from the day after: not exempt
        c.execute(s.visit.insert(), [
            _visit(1, 1, D(2025, 3, 31), MO1, DOC1, "E11.9", "dispensary"),
            _visit(2, 1, D(2025, 4, 1), MO1, DOC1, "E11.9", "dispensary"),
            _visit(3, 1, D(2026, 3, 31), MO1, DOC1, "E11.9", "dispensary"),
            _visit(4, 1, D(2025, 6, 1), MO1, DOC1, "E11.9", "disease"),     # not a dispensary visit
            _visit(5, 4, D(2025, 10, 15), MO1, DOC1, "I11.9", "dispensary"),
            _visit(6, 4, D(2025, 11, 1), MO1, DOC1, "J45.0", "dispensary"),  # another register's
            _visit(7, 5, D(2025, 5, 10), MO1, DOC1, "I10", "dispensary"),
            _visit(8, 1, D(2026, 3, 2), MO1, DOC1, "J06.9", "disease"),
            _visit(9, 6, D(2026, 3, 3), MO1, AREA1, "J06.9", "disease"),
            # the span of the data: January 2025 … December 2026
            _visit(10, 99, D(2025, 1, 15), MO2, DOC2, "J06.9", "disease"),
            _visit(11, 99, D(2026, 12, 15), MO2, DOC2, "J06.9", "disease")])
        c.execute(s.care_episode.insert(), [
            _episode(1, 1, D(2026, 2, 10), MO1, DOC1, "E11.9"),
            _episode(2, 6, D(2025, 6, 1), MO1, AREA1, "E11.9"),
            _episode(3, 6, D(2025, 7, 1), MO1, AREA1, "E11.9"),
            _episode(4, 7, D(2025, 3, 31), MO1, AREA1, "E11.9"),
            _episode(5, 4, D(2026, 3, 5), MO2, DOC2, "I11.9", kind="inpatient"),
            _episode(6, 3, D(2026, 3, 31), MO2, DOC2, "I10", kind="inpatient"),   # the day the observation ended
            _episode(7, 1, D(2026, 3, 10), MO2, DOC2, "K35.8", kind="inpatient"),  # not the register's diagnosis
            _episode(8, 6, D(2026, 3, 3), MO1, AREA1, "J06.9"),
            _episode(9, 8, D(2026, 3, 12), MO2, DOC2, "E11.6", kind="inpatient"),
            _episode(801, 18, D(2026, 3, 30), MO2, DOC2, "J18.9"),               # pneumonia: anchored at diagnosis
            _episode(802, 18, D(2026, 3, 30), MO2, DOC2, "J06.9")])
        c.execute(s.lab_result.insert(), [
            _lab(1, 1, "HBA1C", D(2025, 12, 1), 6.5),
            _lab(2, 1, "HBA1C", D(2026, 3, 15), 8.1),                 # the latest: not controlled
            _lab(3, 1, "HBA1C", D(2026, 3, 25), None, "refusal"),     # no value: not a control value
            _lab(4, 1, "GLU", D(2026, 3, 28), 5.0),
            _lab(50, 2, "HBA1C", D(2026, 3, 20), 9.0),
            _lab(51, 2, "HBA1C", D(2026, 3, 20), 6.0),                # the same day, the higher id: controlled
            _lab(5, 4, "SBP", D(2026, 1, 10), 150),
            _lab(6, 5, "SBP", D(2025, 3, 30), 130),
            _lab(7, 9, "LDL", D(2026, 3, 1), 1.8),                    # exactly the target: not below it
            # the diabetes criteria (district 2)
            _lab(11, 11, "HBA1C", D(2026, 1, 1), 7.5, **q),            # day 0
            _lab(12, 12, "HBA1C", D(2026, 4, 2), 7.5, **q),            # the last day
            _lab(13, 13, "HBA1C", D(2026, 4, 4), 7.5, **q),            # a day late
            _lab(14, 13, "HBA1C", D(2026, 1, 2), 7.5, **q),            # the day before the anchor
            _lab(15, 14, "HBA1C", D(2026, 2, 1), None, "refusal", **q),  # not done, with a reason
            _lab(16, 15, "HBA1C", D(2026, 1, 10), None, "contraindication", **q),
            _lab(17, 15, "HBA1C", D(2026, 3, 1), 6.9, **q),            # …and then done
            _lab(18, 17, "MAU", D(2026, 5, 1), 12.0, **q),
            _lab(19, 18, "CBC", D(2026, 4, 3), 130, **q),              # pneumonia: a day late
            _lab(20, 18, "CRP", D(2026, 3, 30), None, "unavailable", **q)])
        c.execute(s.instrumental_study.insert(), [
            dict(study_id=1, patient_id=18, mo_id=MO2, doctor_id=DOC2, study="XRAY_CHEST", study_date=D(2026, 4, 2),
                 pathology=True, not_done_reason=None)])
        c.execute(s.prescription.insert(), [
            dict(rx_id=1, patient_id=18, mo_id=MO2, doctor_id=DOC2, drug_group="ANTIBIO", rx_date=D(2026, 3, 31),
                 not_done_reason=None)])
        c.execute(s.volume_plan.insert(), [dict(year=2026, mo_id=MO1, kind=k, planned=n) for k, n in
                                           (("visits", 1200), ("episodes", 600), ("dispensary", 240))])
        c.execute(s.calendar.insert(), calendar_frame(D(2025, 1, 1), D(2026, 12, 31)).to_dict("records"))
    M.build_marts(db)


@pytest.fixture(scope="module")
def fx(dbs, tmp_path_factory):
    """The hand-made database with marts built, and an app on it (its context pushed)."""
    with hand_made(dbs, tmp_path_factory, build, "registers") as db:
        yield db


def mart(db, name, **where) -> pd.DataFrame:
    t = M.marts.tables[name]
    df = db.read_df(sa.select(t).where(*[t.c[k] == v for k, v in where.items()]))
    df["month"] = [pd.Timestamp(x).date() for x in df["month"]]
    return df


def row(df, **key) -> dict:
    x = df
    for k, v in key.items():
        x = x[x[k] == v]
    assert len(x) == 1, (key, x)
    return x.iloc[0].to_dict()


# ---------------------------------------------------------------- the ICD condition
def test_the_icd_condition_reads_the_three_character_rubric():
    codes = ["E10", "E11.9", "E14.8", "E15", "E09", "I50.1", "C97", "D09.9", "D10.0", "C00.1"]
    want = {r.code: [x for x in codes if R.in_ranges(x, r.icd)] for r in R.REGISTERS}
    import duckdb
    con = duckdb.connect()
    for r in R.REGISTERS:
        cond = icd_in(sa.column("icd10"), r.icd).compile(compile_kwargs={"literal_binds": True})
        got = [x for x in codes if con.execute(f"select {cond} from (select ? as icd10)", [x]).fetchone()[0]]
        assert got == want[r.code], r.code
    assert want["onco"] == ["C97", "D09.9", "C00.1"] and want["dm"] == ["E10", "E11.9", "E14.8"]


# ---------------------------------------------------------------- registers
def test_membership_at_the_enrolment_and_removal_edges(fx):
    reg = mart(fx, "mart_register", mo_id=MO1, doctor_id=DOC1)
    mar_dm = row(reg, month=D(2026, 3, 1), register="dm")
    assert (mar_dm["enrolled"], mar_dm["added"], mar_dm["removed"]) == (2, 1, 0)
    # ending on 31 March: removed in March, not enrolled at its end; ending on 1 April: enrolled, removed in April
    mar_ht = row(reg, month=D(2026, 3, 1), register="ht")
    assert (mar_ht["enrolled"], mar_ht["removed"], mar_ht["died"]) == (2, 1, 0)
    assert row(reg, month=D(2026, 2, 1), register="ht")["enrolled"] == 3
    apr_ht = row(reg, month=D(2026, 4, 1), register="ht")
    assert (apr_ht["enrolled"], apr_ht["removed"], apr_ht["died"]) == (1, 1, 1)
    assert row(reg, month=D(2025, 1, 1), register="dm")["added"] == 1
    assert reg[reg["month"] == D(2024, 12, 1)].empty  # before the data: not built
    assert set(reg["district_id"]) == {1}


def test_visits_against_the_planned_frequency(fx):
    reg = mart(fx, "mart_register", mo_id=MO1, doctor_id=DOC1)
    # March: the visit of 31.03.2025 is 365 days back (out); 1.04.2025 and 31.03.2026 are in: exactly 2 of 2
    mar = row(reg, month=D(2026, 3, 1), register="dm")
    assert (mar["year_observed"], mar["visits_met"]) == (1, 1)
    # April: only 31.03.2026 is left: 1 of 2
    apr = row(reg, month=D(2026, 4, 1), register="dm")
    assert (apr["year_observed"], apr["visits_met"]) == (1, 0)
    # hypertension: enrolled on 1.04.2025 is observed a year at the end of April, not of March; the asthma visit
    # does not count for hypertension; the patient removed in March had no visit
    assert (row(reg, month=D(2026, 3, 1), register="ht")["year_observed"],
            row(reg, month=D(2026, 3, 1), register="ht")["visits_met"]) == (1, 1)
    feb = row(reg, month=D(2026, 2, 1), register="ht")
    assert (feb["year_observed"], feb["visits_met"]) == (2, 1)
    apr_ht = row(reg, month=D(2026, 4, 1), register="ht")
    assert (apr_ht["year_observed"], apr_ht["visits_met"]) == (1, 1)


def test_control_by_the_latest_value(fx):
    reg = mart(fx, "mart_register", mo_id=MO1, doctor_id=DOC1)
    mar = row(reg, month=D(2026, 3, 1), register="dm")
    # patient 1: 6.5 in December, 8.1 in March (the latest, not controlled); patient 2: 9.0 and 6.0 on the same
    # day, the higher result id (6.0) is the latest
    assert (mar["tested"], mar["controlled"]) == (2, 1)
    feb = row(reg, month=D(2026, 2, 1), register="dm")
    assert (feb["tested"], feb["controlled"]) == (1, 1)
    # blood pressure 130 on 30.03.2025 is older than 12 months at the end of March 2026
    assert (row(reg, month=D(2026, 3, 1), register="ht")["tested"],
            row(reg, month=D(2026, 3, 1), register="ht")["controlled"]) == (1, 0)
    feb_ht = row(reg, month=D(2026, 2, 1), register="ht")
    assert (feb_ht["tested"], feb_ht["controlled"]) == (2, 1)
    # LDL of exactly 1.8 is not below 1.8 on either engine (DuckDB stores the value in single precision)
    ihd = row(reg, month=D(2026, 3, 1), register="ihd")
    assert (ihd["enrolled"], ihd["tested"], ihd["controlled"]) == (1, 1, 0)
    listed = G.patients("ihd", "doctor", DOC1, D(2026, 3, 31), DISTRICT1).iloc[0]
    assert listed["control_value"] == 1.8 and listed["controlled"] is not None and not listed["controlled"]
    # registers without a control target never count
    assert reg[reg["register"].isin(["hf", "copd", "onco"])]["tested"].sum() == 0


def test_no_12_month_measure_in_the_first_year_of_data(fx):
    """The data begin on 15.01.2025 (the first visit): at the end of December 2025 the 12 months reach back to
    1.01.2025, before the data — no 12-month figure (0 of 0); at the end of January 2026 they are inside."""
    reg = mart(fx, "mart_register")
    dec = reg[(reg["month"] == D(2025, 12, 1)) & (reg["register"] == "dm")]
    assert dec["enrolled"].sum() > 0  # the stock is there…
    assert dec[["year_observed", "visits_met", "tested", "controlled", "diagnosed", "diagnosed_enrolled"]].sum().sum() == 0
    jan = reg[(reg["month"] == D(2026, 1, 1)) & (reg["register"] == "dm") & (reg["doctor_id"] == DOC1)]
    assert jan["year_observed"].sum() == 1 and jan["tested"].sum() == 1  # patient 1: enrolled 10.01.2025, HbA1c 12.2025


def test_diagnosed_and_covered(fx):
    reg = mart(fx, "mart_register", mo_id=MO1, doctor_id=AREA1)  # the участок doctor of the attached patients
    got = {(r["month"], r["register"]): (r["diagnosed"], r["diagnosed_enrolled"]) for r in reg.to_dict("records")
           if r["diagnosed"]}
    # March: diabetes — patient 1 (enrolled) and 6 (two episodes, counted once), not 7 (31.03.2025 is out);
    # hypertension — 4 (enrolled to 1.04) and 3 (admitted the day the observation ended)
    # patient 8 (two rows of the register at once, an admission in March) counts once
    assert got[(D(2026, 3, 1), "dm")] == (3, 2)
    assert got[(D(2026, 3, 1), "ht")] == (2, 1)
    assert got[(D(2026, 2, 1), "dm")] == (3, 1)
    assert (D(2026, 2, 1), "ht") not in got
    assert got[(D(2026, 4, 1), "ht")] == (2, 0) and got[(D(2026, 4, 1), "dm")] == (3, 2)
    # the unattached and district 2 are nowhere
    assert mart(fx, "mart_register", mo_id=MO2)["diagnosed"].sum() == 0


def test_hospitalisations_of_the_observed(fx):
    reg = mart(fx, "mart_register", mo_id=MO1, doctor_id=DOC1)
    # patient 4's admission with I11.9 counts for the observing doctor (not the hospital); patient 3 was admitted
    # the day the observation ended; patient 1's admission is not for diabetes
    assert row(reg, month=D(2026, 3, 1), register="ht")["hospitalised"] == 1
    assert reg["hospitalised"].sum() == 1
    assert mart(fx, "mart_register", mo_id=MO2)["hospitalised"].sum() == 0
    # an admission of a patient with two rows of the register counts once (for the row with the lower id)
    area = mart(fx, "mart_register", mo_id=MO1, doctor_id=AREA1)
    assert area["hospitalised"].sum() == 1 and row(area, month=D(2026, 3, 1), register="dm")["enrolled"] == 2


# ---------------------------------------------------------------- quality criteria
def _cases(fx, code, **where) -> pd.DataFrame:
    df = fx.read_df(quality_cases(R.CRITERION_BY_CODE[code], None))
    for k, v in where.items():
        df = df[df[k] == v]
    return df.set_index("patient_id")


def test_criterion_inside_and_outside_its_window(fx):
    c = _cases(fx, "dm_hba1c", mo_id=MO2)
    assert c.loc[11, "result"] == "done" and c.loc[11, "score"] == 1            # day 0
    assert pd.Timestamp(c.loc[11, "window_end"]).date() == D(2026, 4, 1)
    assert c.loc[12, "result"] == "done"                                        # the last day
    assert c.loc[13, "result"] == "not_done" and c.loc[13, "score"] == 0         # a day late, a day early
    assert c.loc[14, "result"] == "reason" and c.loc[14, "score"] == 0.5 and c.loc[14, "reason"] == "refusal"
    assert c.loc[15, "result"] == "done" and pd.isna(c.loc[15, "reason"])        # a reason, then done
    assert pd.Timestamp(c.loc[15, "event_date"]).date() == D(2026, 3, 1)
    q = mart(fx, "mart_quality", mo_id=MO2, criterion="dm_hba1c")
    apr = row(q, month=D(2026, 4, 1))
    assert (apr["cases"], apr["exempt"], apr["done"], apr["with_reason"], apr["score"]) == (7, 0, 3, 1, 3.5)
    assert apr["district_id"] == 2 and apr["doctor_id"] == DOC2 and len(q) == 1


def test_the_exemption_on_the_anchor_day(fx):
    c = _cases(fx, "dm_mau", mo_id=MO2)
    assert c["exempt"].to_dict() == {11: 0, 12: 0, 13: 0, 14: 0, 15: 1, 16: 1, 17: 0}
    assert c.loc[17, "result"] == "done"
    q = mart(fx, "mart_quality", mo_id=MO2, criterion="dm_mau")
    jul = row(q, month=D(2026, 7, 1))  # windows of 180 days: 1.07 … 6.07
    assert (jul["cases"], jul["exempt"], jul["done"], jul["score"]) == (4, 2, 1, 1.0)
    assert row(q, month=D(2026, 6, 1))["cases"] == 1


def test_a_patient_who_died_or_left_within_the_window_is_not_judged(fx):
    """Enrolled on 2.02.2026 (the HbA1c window: 2.02 … 3.05.2026), no test done: died on 1.05 — exempt; moved on
    3.05, the window's last day — exempt; moved on 4.05, after it — judged; removed for another reason inside the
    window — judged. The rows are rolled back after."""
    rows = [_obs(901, 16, "E11.9", D(2026, 2, 2), D(2026, 5, 1), "died", mo=MO2, doctor=DOC2),
            _obs(902, 17, "E11.9", D(2026, 2, 2), D(2026, 5, 3), "moved", mo=MO2, doctor=DOC2),
            _obs(903, 99, "E11.9", D(2026, 2, 2), D(2026, 5, 4), "moved", mo=MO2, doctor=DOC2),
            _obs(904, 18, "E11.9", D(2026, 2, 2), D(2026, 3, 1), "other", mo=MO2, doctor=DOC2)]
    c = R.CRITERION_BY_CODE["dm_hba1c"]
    with fx.engine.connect() as conn:
        tx = conn.begin()
        try:
            conn.execute(s.dispensary_observation.insert(), rows)
            got = conn.execute(quality_cases(c, None, lambda a: [a.c.obs_id.in_([901, 902, 903, 904])])).mappings().all()
        finally:
            tx.rollback()
    by = {r["source_id"]: (r["exempt"], r["result"]) for r in got}
    assert by == {901: (1, "not_done"), 902: (1, "not_done"), 903: (0, "not_done"), 904: (0, "not_done")}


def test_pneumonia_anchored_at_the_diagnosis(fx):
    q = mart(fx, "mart_quality", mo_id=MO2)
    cap = {(r["month"], r["criterion"]): (r["cases"], r["done"], r["with_reason"], r["score"])
           for r in q.to_dict("records") if r["criterion"].startswith("cap_")}
    assert cap == {(D(2026, 3, 1), "cap_antibiotic"): (1, 1, 0, 1.0),  # a day's window: 30–31 March
                   (D(2026, 4, 1), "cap_xray"): (1, 1, 0, 1.0),        # on the third day
                   (D(2026, 4, 1), "cap_cbc"): (1, 0, 0, 0.0),         # on the fourth
                   (D(2026, 4, 1), "cap_crp"): (1, 0, 1, 0.5)}         # not available
    assert _cases(fx, "cap_xray").loc[18, "source_id"] == 801


# ---------------------------------------------------------------- volumes
def test_volumes_against_the_plan(fx):
    v = mart(fx, "mart_volume", mo_id=MO1, month=D(2026, 3, 1))
    got = {r["volume"]: (r["plan_month"], r["fact"]) for r in v.to_dict("records")}
    assert got == {"visits": (100.0, 3), "episodes": (50.0, 1), "dispensary": (20.0, 1)}
    feb = {r["volume"]: r["fact"] for r in mart(fx, "mart_volume", mo_id=MO1, month=D(2026, 2, 1)).to_dict("records")}
    assert feb == {"visits": 0, "episodes": 1, "dispensary": 0}
    # 2025 had no plan: the fact of that year is not in the mart (it is a mart of volumes against the plan)
    assert mart(fx, "mart_volume", mo_id=MO1, month=D(2025, 4, 1)).empty
    # nor is an organisation without a plan (MO2 has visits in March 2026)
    assert mart(fx, "mart_volume", mo_id=MO2).empty


def test_month_by_month_equals_the_full_window(fx):
    full = Window(D(2025, 1, 1), D(2026, 12, 1))
    for name in ("mart_register", "mart_quality", "mart_volume"):
        sel = M.SELECTS[name]
        whole = fx.read_df(sel(full))
        months = pd.concat([fx.read_df(sel(Window(m, m))) for m in
                            [d.date() for d in pd.date_range("2025-01-01", "2026-12-01", freq="MS")]])
        keys = [c for c in whole.columns if c not in M.marts.tables[name].c or not isinstance(
            M.marts.tables[name].c[c].type, (sa.BigInteger, sa.Float))]
        a = whole.sort_values(keys).reset_index(drop=True)
        b = months.sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)


# ---------------------------------------------------------------- patient lists
def test_patients_of_a_doctor(fx):
    df = G.patients("dm", "doctor", DOC1, D(2026, 3, 31), DISTRICT1)
    assert df["patient_id"].tolist() == [1, 2]  # the uncontrolled one first
    one = df.iloc[0].to_dict()
    assert one["age"] == 65 and one["visits_12m"] == 2 and one["visits_met"] and one["year_observed"]
    assert one["last_visit"] == D(2026, 3, 31) and one["control_value"] == 8.1
    assert one["controlled"] is not None and not one["controlled"]
    assert one["control_date"] == D(2026, 3, 15) and "HbA1c < 7 %" in one["problems"]
    # enrolled 10.01.2025: the five diabetes windows closed within the 12 months, none met
    assert one["problem_count"] == 6 and "гликированного гемоглобина" in one["criteria_failed"]
    assert one["doctor"] == "Иванова Анна Петровна"
    two = df.iloc[1].to_dict()
    assert two["age"] == 56 and two["controlled"] and two["control_value"] == 6.0
    assert not two["year_observed"] and two["problems"] == "" and two["criteria_failed"] == ""
    # enrolled 1 March: HbA1c done on 20 March; the other criteria still open
    assert "гликированного" not in two["criteria_open"] and "альбумина" in two["criteria_open"]


def test_patients_of_an_organisation_with_failed_criteria(fx):
    df = G.patients("ht", "mo", MO1, D(2026, 2, 15), DISTRICT1)  # the end of February
    assert df["patient_id"].tolist() == [5, 3, 4]
    by = df.set_index("patient_id")
    assert by.loc[5, "problem_count"] == 5 and "ЭКГ" not in by.loc[5, "criteria_open"]  # all five windows closed
    assert "Выполнена электрокардиография" in by.loc[5, "criteria_failed"]
    assert by.loc[3, "problems"].startswith("диспансерных приёмов за 12 месяцев: 0 из 1")
    assert by.loc[4, "problem_count"] == 1 and not by.loc[4, "controlled"] and by.loc[5, "controlled"]
    assert G.patients("hf", "mo", MO1, D(2026, 2, 15), DISTRICT1).empty


def test_cases_behind_a_figure(fx):
    april = D(2026, 4, 1)
    df = G.cases(["dm_hba1c"], "mo", MO2, april, april, DISTRICT2)
    assert df["patient_id"].tolist()[:4] == [17, 16, 13, 14]  # failures first, the latest windows first
    assert df["result"].tolist() == ["not_done"] * 3 + ["reason"] + ["done"] * 3
    assert df["score"].sum() == 3.5 and set(df["doctor"]) == {"Сидорова Мария Ивановна"} and set(df["mo"]) == {"Пол-ка 20"}
    assert df.iloc[3]["reason_name"] == "отказ пациента"
    assert G.cases("dm_hba1c", "district", 2, april, april, DISTRICT2, result="failed")["patient_id"].tolist() == \
        [17, 16, 13, 14]
    july = D(2026, 7, 1)
    mau = G.cases("dm_mau", "doctor", DOC2, july, july, CITY)
    assert len(mau) == 6 and mau["exempt"].sum() == 2 and mau["score"].isna().sum() == 2
    assert G.cases("dm_mau", "doctor", DOC2, july, july, CITY, result="exempt")["patient_id"].tolist() == [16, 15]
    # the list adds up to the mart's figure, for every criterion and month
    q = mart(fx, "mart_quality")
    for (month, crit), g in q.groupby(["month", "criterion"]):
        lst = G.cases(crit, "region", None, month, month, CITY)
        counted = lst[~lst["exempt"]]
        assert (len(counted), int(lst["exempt"].sum()), (counted["result"] == "done").sum(), counted["score"].sum()) == \
            (g["cases"].sum(), g["exempt"].sum(), g["done"].sum(), pytest.approx(g["score"].sum())), (month, crit)
    # a doctor's own enrolment: patient 2, HbA1c done within 90 days of 1 March (window closes 30 May)
    own = G.cases("dm_hba1c", "doctor", DOC1, D(2026, 5, 1), D(2026, 5, 1), DISTRICT1)
    assert own[["patient_id", "result", "window_end"]].values.tolist() == [[2, "done", D(2026, 5, 30)]]


def test_lists_refuse_another_district_and_need_a_scope(fx):
    march = D(2026, 3, 1)
    with pytest.raises(ScopeError):
        G.patients("dm", "mo", MO2, D(2026, 3, 31), DISTRICT1)
    with pytest.raises(ScopeError):
        G.patients("dm", "doctor", DOC2, D(2026, 3, 31), DISTRICT1)
    with pytest.raises(ScopeError):
        G.patients("dm", "doctor", DOC2, D(2026, 3, 31), Scope(mos=frozenset({MO1}), patients=True))
    with pytest.raises(ScopeError):
        G.cases("dm_hba1c", "district", 2, march, march, DISTRICT1)
    with pytest.raises(ScopeError):
        G.cases("dm_hba1c", "mo", MO2, march, march, DISTRICT1)
    with pytest.raises(U.UnitNotFound):
        G.patients("dm", "mo", 999, D(2026, 3, 31), DISTRICT1)
    with pytest.raises(TypeError):
        G.patients("dm", "mo", MO1, D(2026, 3, 31), None)
    with pytest.raises(TypeError):
        G.cases("dm_hba1c", "mo", MO1, march, march, None)
    with pytest.raises(G.LevelError):
        G.patients("dm", "district", 1, D(2026, 3, 31), DISTRICT1)
    with pytest.raises(G.ChoiceError):
        G.patients("xx", "mo", MO1, D(2026, 3, 31), DISTRICT1)
    with pytest.raises(G.ChoiceError):
        G.cases("nope", "mo", MO1, march, march, DISTRICT1)
    with pytest.raises(G.ChoiceError):
        G.cases("dm_hba1c", "mo", MO1, march, march, DISTRICT1, result="maybe")
    # the city level is open to a district head, with the rows of the district only
    assert set(G.cases("dm_hba1c", "region", None, D(2026, 4, 1), D(2026, 4, 1), DISTRICT1)["mo_id"]) <= {MO1}
    assert set(G.cases("dm_hba1c", "region", None, D(2026, 4, 1), D(2026, 4, 1), DISTRICT2)["mo_id"]) == {MO2}


# ---------------------------------------------------------------- the registry
def test_registry_entries_follow_the_declarations():
    from metrics.model import load_registry
    reg = load_registry()
    for key, disease in (("dm", R.DM), ("ht", R.HT), ("ihd", R.IHD), ("cap", R.CAP)):
        want = {c.code for c in R.CRITERIA if c.disease == disease}
        for m in (reg[f"quality_{key}"].numerator, reg[f"quality_{key}"].denominator):
            assert {x for col, vals in m.filters if col == "criterion" for x in vals} == want, key
    assert {c.disease for c in R.CRITERIA} == {R.DM, R.HT, R.IHD, R.CAP}  # a new disease needs its indicator
    cov = reg["reg_disp_coverage"]
    assert all(r.icd_text in cov.method for r in R.REGISTERS)
    dm, ht = R.REGISTER_BY_CODE["dm"].control, R.REGISTER_BY_CODE["ht"].control
    assert dm.label in reg["reg_dm_controlled"].short and ("< " + str(int(ht.below))) in reg["reg_ht_controlled"].short
    rated = {i.code for i in reg if i.weight > 0 and i.group in ("registers", "quality", "volumes")}
    assert rated == {"reg_disp_coverage", "reg_visits_met", "reg_dm_controlled", "quality_score"}
    assert U.PATHS["registers"] == ("region", "district", "mo", "doctor")
