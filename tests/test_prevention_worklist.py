"""Prevention worklist (issue 18): due logic at the edges on hand-made frames, the storage function on a tiny
hand-built database (both engines), its scope, the invitation statuses with their history and under parallel
saves, and migration 0003 on a database with the previous contract."""
from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest
import sqlalchemy as sa

from core import prevention as R
from data_access import migrations
from data_access import prevention as P
from data_access import schema as s
from data_access.scope import Scope, ScopeError
from tests.helpers import contract_columns, earlier_contract

AS_OF = dt.date(2026, 9, 15)
D = dt.date


def person(pid=1, birth=D(2026, 1, 1), sex="F", mo=101, doctor=1001):
    return {"patient_id": pid, "sex": sex, "birth_date": birth, "mo_id": mo, "area_doctor_id": doctor}


def dose(code, when, pid=1):
    return {"patient_id": pid, "vaccine": code, "vacc_date": when}


def items(people, doses=(), exemptions=(), exams=(), tests=(), as_of=AS_OF, kinds=P.DEFAULT_KINDS, upcoming_days=30):
    df = P.due_items(pd.DataFrame(people if isinstance(people, list) else [people]), pd.DataFrame(list(doses)),
                     pd.DataFrame(list(exemptions)), pd.DataFrame(list(exams)), pd.DataFrame(list(tests)),
                     as_of, kinds, upcoming_days)
    return df


def by_item(df) -> dict:
    return {r["item"]: r for r in df.to_dict("records")}


# ---------------------------------------------------------------- child doses
def test_the_vectorised_due_dates_are_the_calendar_s():
    births = pd.Series(pd.date_range("2023-01-01", "2025-12-31", freq="D"))
    for d in R.CALENDAR:
        got = P.due_dates(births, d)
        assert [x.date() for x in got] == [d.due(b.date()) for b in births], d.code
    adult = P._shift(births, R.CHILD_LIMIT_MONTHS)
    assert [x.date() for x in adult] == [R.due_date(b.date(), R.CHILD_LIMIT_MONTHS) for b in births]


@pytest.mark.parametrize("birth,state", [
    (D(2026, 6, 15), "due"),        # 3 months on AS_OF: DTP1 due today
    (D(2026, 6, 16), "upcoming"),   # a day short of 3 months: within the 30 days ahead
])
def test_the_day_of_and_before_a_due_age(birth, state):
    r = by_item(items(person(birth=birth), kinds=("vaccine",)))["vacc:DTP1"]
    assert r["state"] == state and r["since"] == R.DOSES["DTP1"].due(birth) and not r["overdue"]
    if state == "upcoming":  # not listed without the look ahead
        assert "vacc:DTP1" not in by_item(items(person(birth=birth), kinds=("vaccine",), upcoming_days=0))


def test_overdue_after_the_timely_term():
    # DTP1 due 15.06.2026 (born 15.03.2026): on the 30th day after still "due", on the 31st overdue
    birth = D(2026, 3, 15)
    due = R.DOSES["DTP1"].due(birth)
    assert due == D(2026, 6, 15)
    at = due + dt.timedelta(days=R.TIMELY_DAYS)
    assert by_item(items(person(birth=birth), as_of=at, kinds=("vaccine",)))["vacc:DTP1"]["state"] == "due"
    r = by_item(items(person(birth=birth), as_of=at + dt.timedelta(days=1), kinds=("vaccine",)))["vacc:DTP1"]
    assert r["state"] == "overdue" and r["overdue"] and "просрочена с 16.07.2026" in r["what"]


def test_a_child_born_on_29_february_gets_mmr1_on_28_february():
    birth = D(2024, 2, 29)
    assert R.DOSES["MMR1"].due(birth) == D(2025, 2, 28)
    given = [dose(c, D(2024, 6, 1)) for c in ("HEPB1", "BCG", "HEPB2", "PCV1", "DTP1", "POL1")] + \
        [dose(c, D(2024, 8, 1)) for c in ("DTP2", "POL2", "PCV2")] + \
        [dose(c, D(2024, 10, 1)) for c in ("DTP3", "POL3", "HEPB3")]
    before = items(person(birth=birth), given, as_of=D(2025, 2, 27), kinds=("vaccine",), upcoming_days=0)
    assert before.empty
    on = by_item(items(person(birth=birth), given, as_of=D(2025, 2, 28), kinds=("vaccine",), upcoming_days=0))
    assert set(on) == {"vacc:MMR1"} and on["vacc:MMR1"]["since"] == D(2025, 2, 28) and on["vacc:MMR1"]["age"] == 0
    ahead = by_item(items(person(birth=birth), given, as_of=D(2025, 2, 27), kinds=("vaccine",)))
    assert ahead["vacc:MMR1"]["state"] == "upcoming"


def test_a_dose_given_early_counts_and_the_next_one_follows_the_calendar():
    # DTP1 due 01.04.2026, given 20.03 (early): not listed; DTP2 due at 4.5 months (16.05), 45 days after
    # the early DTP1 is 04.05 — due since 16.05, overdue after 30 days; DTP3 waits for DTP2
    got = by_item(items(person(), [dose("DTP1", D(2026, 3, 20))], kinds=("vaccine",)))
    assert "vacc:DTP1" not in got and "vacc:DTP3" not in got
    assert got["vacc:DTP2"]["since"] == D(2026, 5, 16) and got["vacc:DTP2"]["state"] == "overdue"
    assert got["vacc:DTP2"]["priority"] == P.PRIORITY["vaccine_overdue"]
    assert "vacc:POL2" not in got and "vacc:POL1" in got  # the polio series has not started


@pytest.mark.parametrize("dtp1,expected", [
    (D(2026, 9, 1), None),                          # +45 days = 16.10: beyond the 30 days ahead, not listed
    (D(2026, 8, 31), ("upcoming", D(2026, 10, 15))),  # +45 days = 15.10 = AS_OF + 30: upcoming
    (D(2026, 7, 31), ("due", D(2026, 9, 14))),      # +45 days = 14.09: due (the due age 16.05 has passed)
])
def test_the_previous_dose_given_too_recently(dtp1, expected):
    got = by_item(items(person(), [dose("DTP1", dtp1)], kinds=("vaccine",)))
    if expected is None:
        assert "vacc:DTP2" not in got
    else:
        assert (got["vacc:DTP2"]["state"], got["vacc:DTP2"]["since"]) == expected


@pytest.mark.parametrize("vaccine,kind,start,end,listed", [
    ("DTP", "medical", D(2026, 9, 1), D(2026, 9, 15), False),   # active to the day (inclusive)
    ("DTP", "medical", D(2026, 9, 1), D(2026, 9, 14), True),    # expired the day before
    ("DTP", "medical", D(2026, 9, 16), None, True),             # not yet started
    ("DTP2", "medical", D(2026, 5, 1), None, False),            # the dose code
    (None, "medical", D(2026, 5, 1), None, False),              # all vaccines
    ("MMR", "refusal", D(2026, 5, 1), None, True),              # another series
    ("DTP", "refusal", D(2026, 2, 1), None, False),             # a refusal of the series, open-ended
])
def test_exemptions_and_refusals(vaccine, kind, start, end, listed):
    ex = [{"patient_id": 1, "vaccine": vaccine, "kind": kind, "start_date": start, "end_date": end}]
    got = by_item(items(person(), [dose("DTP1", D(2026, 3, 20))], ex, kinds=("vaccine",)))
    assert ("vacc:DTP2" in got) is listed
    if vaccine == "MMR":
        assert "vacc:PCV1" in got  # other series are not touched


def test_a_refusal_of_mmr_hides_both_its_doses_only():
    kid = person(birth=D(2019, 3, 1))  # 7.5 years: MMR1 and every first dose due
    ex = [{"patient_id": 1, "vaccine": "MMR", "kind": "refusal", "start_date": D(2020, 3, 1), "end_date": None}]
    got = by_item(items(kid, [], ex, kinds=("vaccine",)))
    assert not {"vacc:MMR1", "vacc:MMR2"} & set(got) and "vacc:DTP1" in got
    assert "vacc:MMR1" in by_item(items(kid, [], [], kinds=("vaccine",)))


def test_an_18_year_old():
    # 18 today: no child doses any more; the adult booster (when asked) and dispensarisation (age 18 in the year)
    all_but_adsr3 = [dose(d.code, D(2010, 1, 1)) for d in R.CALENDAR if d.code != "ADSR3"]
    adult = by_item(items(person(birth=D(2008, 9, 15), sex="M"), all_but_adsr3, kinds=tuple(P.KINDS)))
    assert set(adult) == {"vacc:ADSM:2026", "disp:2026"}
    assert adult["vacc:ADSM:2026"]["since"] == D(2026, 9, 15) and adult["vacc:ADSM:2026"]["state"] == "due"
    assert adult["disp:2026"]["what"].startswith("Диспансеризация") and adult["disp:2026"]["age"] == 18
    # 18 tomorrow: still a child (ADSR3 overdue since 14 years), already in the year's dispensarisation cohort
    teen = by_item(items(person(birth=D(2008, 9, 16), sex="M"), all_but_adsr3, kinds=tuple(P.KINDS)))
    assert set(teen) == {"vacc:ADSR3", "disp:2026"}
    assert teen["vacc:ADSR3"]["state"] == "overdue" and teen["vacc:ADSR3"]["since"] == D(2022, 9, 16)
    assert teen["disp:2026"]["age"] == 17
    # the booster is listed only when asked
    assert not any(k.startswith("vacc:ADSM") for k in by_item(items(person(birth=D(2008, 9, 15), sex="M"), all_but_adsr3)))


def test_the_adult_booster_every_ten_years():
    man = person(birth=D(1970, 1, 1), sex="M")
    ex = [{"patient_id": 1, "vaccine": "ADSM", "kind": "refusal", "start_date": D(2020, 1, 1), "end_date": None}]
    recent = items(man, [dose("ADSM", D(2016, 9, 16))], kinds=("adsm",))
    assert recent.empty  # within 10 years
    old = by_item(items(man, [dose("ADSM", D(2016, 9, 15))], kinds=("adsm",)))["vacc:ADSM:2026"]
    assert old["since"] == D(2026, 9, 15) and "последняя 15.09.2016" in old["what"]
    assert items(man, [dose("ADSM", D(2016, 9, 15))], ex, kinds=("adsm",)).empty


# ---------------------------------------------------------------- dispensarisation and stage 2
def exam(pid=1, program="disp", end=D(2026, 3, 1), referred=False, s2_end=None, result=None, exam_id=None):
    return {"exam_id": exam_id or pid * 100, "patient_id": pid, "program": program, "stage1_end": end,
            "stage2_referred": referred, "stage2_end": s2_end, "stage2_result": result}


@pytest.mark.parametrize("birth,exams,expected", [
    (D(1985, 5, 5), [], "Диспансеризация"),                      # 41 in the year: yearly from 40
    (D(2002, 5, 5), [], "Диспансеризация"),                      # 24: every 3 years (24 % 3 == 0)
    (D(2001, 5, 5), [], "Профилактический"),                     # 25: a check-up this year
    (D(1985, 5, 5), [exam(program="prof")], None),               # any adult programme in the year closes it
    (D(1985, 5, 5), [exam(end=D(2025, 12, 31))], "Диспансеризация"),   # last year's does not
    (D(1985, 5, 5), [exam(end=D(2026, 9, 16))], "Диспансеризация"),    # one ending after the date has not happened
    (D(2009, 1, 1), [], None),                                   # 17 in the year: not an adult programme
])
def test_dispensarisation_or_check_up(birth, exams, expected):
    got = by_item(items(person(birth=birth), exams=exams, kinds=("disp",)))
    if expected is None:
        assert not got
    else:
        r = got["disp:2026"]
        assert r["what"].startswith(expected) and r["since"] == D(2026, 1, 1) and not r["overdue"]
        assert r["priority"] == (P.PRIORITY["disp"] if expected == "Диспансеризация" else P.PRIORITY["checkup"])


@pytest.mark.parametrize("end,s2_end,result,listed", [
    (D(2026, 8, 16), None, None, False),          # 30 days after stage 1: still within the term
    (D(2026, 8, 15), None, None, True),           # 31 days: overdue
    (D(2026, 8, 15), D(2026, 9, 10), "full", False),
    (D(2026, 8, 15), None, "none", False),        # closed with a result
    (D(2026, 8, 15), D(2026, 9, 20), None, True),  # stage 2 ends after the date: not yet
    (D(2025, 9, 1), None, None, False),           # older than a year
])
def test_stage_two_overdue(end, s2_end, result, listed):
    got = by_item(items(person(birth=D(1980, 1, 1)), exams=[exam(end=end, referred=True, s2_end=s2_end, result=result,
                                                                   exam_id=77)], kinds=("stage2",)))
    assert ("stage2:77" in got) is listed
    if listed:
        r = got["stage2:77"]
        assert r["since"] == end + dt.timedelta(days=R.STAGE2_DUE_DAYS + 1) and r["overdue"] and r["kind"] == "stage2"
    assert not items(person(birth=D(1980, 1, 1)), exams=[exam(end=end, referred=False)], kinds=("stage2",)).size


# ---------------------------------------------------------------- cancer screening
def screen(code, when, pid=1, result="normal", followup=None, sid=None):
    return {"screening_id": sid or hash((code, when)) % 10 ** 6, "patient_id": pid, "test": code, "test_date": when,
            "result": result, "followup_date": followup}


def test_screening_by_age_sex_and_interval():
    woman = person(birth=D(1976, 5, 1))  # 50 in the year: mammography (40–75 every 2), fobt (40–64 every 2)
    got = by_item(items(woman, kinds=("screening",)))
    assert set(got) == {"screen:mammography:2026", "screen:fobt:2026"}  # cytology: (50 − 18) % 3 != 0
    # a mammogram last year is within its 2-year interval; a fobt 2 years ago is not
    got = by_item(items(woman, tests=[screen("mammography", D(2025, 11, 1)), screen("fobt", D(2024, 12, 31))],
                        kinds=("screening",)))
    assert set(got) == {"screen:fobt:2026"} and "последний 31.12.2024" in got["screen:fobt:2026"]["what"]
    man = person(birth=D(1981, 12, 31), sex="M")  # 45 in the year: PSA and gastroscopy, fobt not (5 % 2)
    assert set(by_item(items(man, kinds=("screening",)))) == {"screen:psa:2026", "screen:egds:2026"}
    # a test after the date has not happened yet
    assert "screen:psa:2026" in by_item(items(man, tests=[screen("psa", D(2026, 9, 16))], kinds=("screening",)))


@pytest.mark.parametrize("when,followup,listed", [
    (D(2026, 8, 16), None, False),             # 30 days: within the term
    (D(2026, 8, 15), None, True),              # 31 days: overdue
    (D(2026, 8, 15), D(2026, 9, 1), False),    # followed up
    (D(2026, 8, 15), D(2026, 9, 20), True),    # followed up after the date: not yet
])
def test_a_positive_screening_without_follow_up(when, followup, listed):
    woman = person(birth=D(1976, 5, 1))
    t = screen("mammography", when, result="pathology", followup=followup, sid=555)
    got = items(woman, tests=[t], kinds=tuple(P.KINDS))
    rows = by_item(got)
    assert ("followup:555" in rows) is listed
    if listed:
        assert rows["followup:555"]["since"] == when + dt.timedelta(days=31) and got.iloc[0]["item"] == "followup:555"
        assert got.iloc[0]["kind"] == "positive" and got.iloc[0]["priority"] == 0  # first of all


def test_last_contact_and_columns():
    woman = {**person(birth=D(1976, 5, 1)), "last_visit": D(2026, 6, 1)}
    got = items(woman, tests=[screen("fobt", D(2026, 7, 1))], kinds=("disp",))
    assert list(got.columns) == P.COLUMNS
    assert got.iloc[0]["last_contact"] == D(2026, 7, 1) and got.iloc[0]["age"] == 50
    got = items({**woman, "last_visit": D(2026, 8, 1)}, kinds=("disp",))
    assert got.iloc[0]["last_contact"] == D(2026, 8, 1)
    assert items(person(birth=D(2027, 1, 1)), kinds=tuple(P.KINDS)).empty  # not born yet
    with pytest.raises(ValueError, match="Неизвестный вид"):
        items(woman, kinds=("flu",))


# ---------------------------------------------------------------- storage on a tiny database
MO1, MO2 = 101, 202


def build_tiny(db) -> dict:
    """Two districts, two organisations, three участок doctors, five patients (expectations in the tests)."""
    from data_access.setup import create_contract
    create_contract(db)
    with db.engine.begin() as c:
        c.execute(s.district.insert(), [{"district_id": 1, "name": "Колпинский", "okato": None},
                                        {"district_id": 2, "name": "Невский", "okato": None}])
        c.execute(s.mo.insert(), [
            {"mo_id": MO1, "name": "Поликлиника № 1", "short_name": "Поликлиника № 1", "kind": "adult_polyclinic",
             "district_id": 1, "parent_mo_id": None, "is_state": True, "has_attachment": True, "oid": "1.2.1"},
            {"mo_id": MO2, "name": "Поликлиника № 2", "short_name": "Поликлиника № 2", "kind": "adult_polyclinic",
             "district_id": 2, "parent_mo_id": None, "is_state": True, "has_attachment": True, "oid": "1.2.2"}])
        c.execute(s.specialty.insert(), [{"specialty_id": 1, "code": "therapist", "name": "Врач-терапевт участковый",
                                          "category": "primary", "wait_norm": "wd14"}])
        c.execute(s.department.insert(), [{"dept_id": 11, "mo_id": MO1, "name": "Терапия", "profile": "therapy"},
                                          {"dept_id": 21, "mo_id": MO2, "name": "Терапия", "profile": "therapy"}])
        c.execute(s.doctor.insert(), [
            {"doctor_id": 1001, "full_name": "Иванова Ирина Ивановна", "sex": "F", "specialty_id": 1, "mo_id": MO1,
             "dept_id": 11},
            {"doctor_id": 1002, "full_name": "Петров Пётр Петрович", "sex": "M", "specialty_id": 1, "mo_id": MO1,
             "dept_id": 11},
            {"doctor_id": 2001, "full_name": "Сидоров Сидор Сидорович", "sex": "M", "specialty_id": 1, "mo_id": MO2,
             "dept_id": 21}])
        c.execute(s.patient.insert(), [
            # a child living in the other district, attached to MO1
            {"patient_id": 1, "sex": "F", "birth_date": D(2026, 1, 1), "district_id": 2, "attach_mo_id": MO1,
             "area_doctor_id": 1001},
            {"patient_id": 2, "sex": "F", "birth_date": D(1976, 5, 1), "district_id": 1, "attach_mo_id": MO1,
             "area_doctor_id": 1002},
            {"patient_id": 3, "sex": "M", "birth_date": D(1980, 3, 3), "district_id": 1, "attach_mo_id": MO1,
             "area_doctor_id": None},
            {"patient_id": 4, "sex": "M", "birth_date": D(1970, 3, 3), "district_id": 2, "attach_mo_id": MO2,
             "area_doctor_id": 2001},
            {"patient_id": 5, "sex": "F", "birth_date": D(1996, 4, 4), "district_id": 1, "attach_mo_id": MO1,
             "area_doctor_id": 1001},
            {"patient_id": 6, "sex": "F", "birth_date": D(1990, 4, 4), "district_id": 1, "attach_mo_id": None,
             "area_doctor_id": None}])
        c.execute(s.vaccination.insert(), [
            {"vacc_id": 1, "patient_id": 1, "mo_id": MO1, "vaccine": "DTP1", "vacc_date": D(2026, 3, 20)},
            {"vacc_id": 2, "patient_id": 5, "mo_id": MO1, "vaccine": "FLU", "vacc_date": D(2025, 10, 1)}])
        c.execute(s.vaccination_exemption.insert(), [
            {"exemption_id": 1, "patient_id": 1, "mo_id": MO1, "vaccine": "POL", "kind": "medical",
             "start_date": D(2026, 3, 1), "end_date": D(2026, 12, 31)}])
        c.execute(s.dispensary_exam.insert(), [
            {"exam_id": 31, "patient_id": 3, "mo_id": MO1, "program": "disp", "doctor_id": 1002, "episode_id": None,
             "stage1_start": D(2026, 7, 25), "stage1_end": D(2026, 8, 1), "stage2_referred": True, "stage2_end": None,
             "health_group": "II", "stage2_result": None, "pathology_found": None, "risk_factors": "E78"},
            {"exam_id": 51, "patient_id": 5, "mo_id": MO1, "program": "prof", "doctor_id": 1001, "episode_id": None,
             "stage1_start": D(2026, 2, 1), "stage1_end": D(2026, 2, 1), "stage2_referred": False,
             "stage2_end": None, "health_group": "I", "stage2_result": None, "pathology_found": False,
             "risk_factors": None}])
        c.execute(s.cancer_screening.insert(), [
            {"screening_id": 21, "patient_id": 2, "mo_id": MO1, "exam_id": None, "test": "mammography",
             "test_date": D(2026, 8, 1), "result": "pathology", "followup_date": None},
            {"screening_id": 52, "patient_id": 5, "mo_id": MO1, "exam_id": None, "test": "cytology",
             "test_date": D(2024, 5, 5), "result": "normal", "followup_date": None}])
        c.execute(s.visit.insert(), [
            {"visit_id": 1, "episode_id": 1, "visit_date": D(2026, 9, 1), "patient_id": 2, "doctor_id": 1002,
             "dept_id": 11, "mo_id": MO1, "icd10": "Z00.0", "is_new_diagnosis": False, "purpose": "prevention"},
            {"visit_id": 2, "episode_id": 2, "visit_date": D(2026, 9, 20), "patient_id": 2, "doctor_id": 1002,
             "dept_id": 11, "mo_id": MO1, "icd10": "Z00.0", "is_new_diagnosis": False, "purpose": "prevention"}])
    return {}


EXPECTED_MO1 = {(1, "vacc:HEPB1"), (1, "vacc:BCG"), (1, "vacc:PCV1"), (1, "vacc:DTP2"),  # POL1: exempt
                (2, "followup:21"), (2, "disp:2026"), (2, "screen:fobt:2026"),        # mammography done (positive)
                (3, "stage2:31"), (3, "screen:fobt:2026")}                            # disp done; 46: fobt
MO1_SCOPE = Scope(mos=frozenset({MO1}), patients=True, label="Поликлиника № 1")


@pytest.fixture
def tiny(empty_db, make_app):
    build_tiny(empty_db)
    app = make_app(empty_db)
    with app.app_context():
        yield app, empty_db


def pairs(df) -> set:
    return set(zip(df["patient_id"], df["item"]))


def test_worklist_of_an_organisation_and_an_area(tiny):
    _, db = tiny
    wl = P.worklist("mo", MO1, AS_OF, MO1_SCOPE)
    assert pairs(wl) == EXPECTED_MO1
    assert wl.iloc[0]["item"] == "followup:21" and wl.iloc[1]["item"] == "stage2:31"  # positives, then stage 2
    assert set(wl["mo_id"]) == {MO1} and (wl["status"] == "").all()
    two = wl[wl["patient_id"] == 2].iloc[0]
    assert two["doctor"] == "Петров Пётр Петрович" and two["last_contact"] == D(2026, 9, 1)  # not the visit after
    assert wl[wl["patient_id"] == 3].iloc[0]["doctor"] == ""
    area = P.worklist("doctor", 1001, AS_OF, MO1_SCOPE)
    assert pairs(area) == {p for p in EXPECTED_MO1 if p[0] == 1}
    # a district head sees the child living in another district: the scope is the attachment organisation's
    head = Scope(districts=frozenset({1}), patients=True)
    assert pairs(P.worklist("mo", MO1, AS_OF, head)) == EXPECTED_MO1
    with_adsm = {(pid, item.rsplit(":", 1)[0] if item.startswith("vacc:ADSM:") else item)  # the cycle's year dropped
                 for pid, item in pairs(P.worklist("mo", MO1, AS_OF, Scope(patients=True), kinds=("vaccine", "adsm")))}
    assert with_adsm == \
        {p for p in EXPECTED_MO1 if p[1].startswith("vacc:")} | {(2, "vacc:ADSM"), (3, "vacc:ADSM"), (5, "vacc:ADSM")}


def test_worklist_refusals(tiny):
    with pytest.raises(ScopeError, match="руководителям"):
        P.worklist("mo", MO1, AS_OF, Scope(mos=frozenset({MO1}), patients=False))
    with pytest.raises(ScopeError):
        P.worklist("mo", MO2, AS_OF, MO1_SCOPE)  # another organisation
    with pytest.raises(ScopeError):
        P.worklist("doctor", 2001, AS_OF, MO1_SCOPE)  # another organisation's участок
    with pytest.raises(ScopeError):
        P.worklist("mo", MO1, AS_OF, Scope(districts=frozenset({2}), patients=True))
    for level, uid in (("district", 1), ("region", None)):
        with pytest.raises(P.LevelError, match="Выберите медицинскую организацию или участок"):
            P.worklist(level, uid, AS_OF, Scope(patients=True))
    with pytest.raises(ValueError, match="Неизвестный вид"):
        P.worklist("mo", MO1, AS_OF, MO1_SCOPE, kinds=("everything",))
    assert isinstance(P.LevelError("x"), ValueError)


def test_summary_by_area(tiny):
    sm = P.summary_by_area(MO1, AS_OF, MO1_SCOPE)
    assert list(sm["doctor"]) == ["Иванова Ирина Ивановна", "Петров Пётр Петрович", "Участок не указан"]
    iv, pt, none = (sm.iloc[i].to_dict() for i in range(3))
    assert (iv["doctor_id"], iv["patients"], iv["items"], iv["overdue"], iv["vaccine"], iv["vaccine_overdue"]) == \
        (1001, 1, 4, 4, 4, 4)
    assert (pt["patients"], pt["items"], pt["overdue"], pt["positive"], pt["disp"], pt["screening"]) == (1, 3, 1, 1, 1, 1)
    assert none["doctor_id"] is None and (none["items"], none["stage2"], none["stage2_overdue"]) == (2, 1, 1)
    assert sm["items"].sum() == len(P.worklist("mo", MO1, AS_OF, MO1_SCOPE))
    # counts only: no patient access needed, but the scope holds
    assert len(P.summary_by_area(MO1, AS_OF, Scope(mos=frozenset({MO1})))) == 3
    with pytest.raises(ScopeError):
        P.summary_by_area(MO2, AS_OF, MO1_SCOPE)


def test_invitation_statuses_with_history(tiny):
    _, db = tiny
    t0 = dt.datetime(2026, 9, 15, 10, 0)
    e1 = P.set_status(db, 2, "followup:21", "invited", "Позвонили, придёт 20.09", "glavvrach", MO1, scope=MO1_SCOPE,
                      now=t0)
    assert e1["status_name"] == "приглашён" and e1["event_id"] > 0
    P.set_status(db, 3, "stage2:31", "moved", None, "glavvrach", MO1, scope=MO1_SCOPE, now=t0)
    wl = P.worklist("mo", MO1, AS_OF, MO1_SCOPE)
    row = wl[(wl["patient_id"] == 2) & (wl["item"] == "followup:21")].iloc[0]
    assert (row["status"], row["status_name"], row["status_comment"], row["status_by"]) == \
        ("invited", "приглашён", "Позвонили, придёт 20.09", "glavvrach")
    assert wl.iloc[0]["item"] == "followup:21"  # invited stays in place
    assert (wl.iloc[-1]["patient_id"], wl.iloc[-1]["item"], wl.iloc[-1]["status"]) == (3, "stage2:31", "moved")
    assert (3, "stage2:31") not in pairs(P.worklist("mo", MO1, AS_OF, MO1_SCOPE, hide_closed=True))
    assert P.summary_by_area(MO1, AS_OF, MO1_SCOPE).iloc[2]["stage2"] == 0  # a closed item is not counted
    # back to no status: the item returns to its place; the history keeps every change
    P.set_status(db, 3, "stage2:31", "none", "ошибочно", "glavvrach", MO1, scope=MO1_SCOPE, now=t0)
    wl = P.worklist("mo", MO1, AS_OF, MO1_SCOPE)
    assert wl.iloc[1]["item"] == "stage2:31" and wl.iloc[1]["status"] == ""
    h = P.history(db, 3, "stage2:31")
    assert list(h["status"]) == ["moved", "none"] and list(h["comment"]) == [None, "ошибочно"]
    cur = P.statuses_for(db, [2, 3])
    assert list(zip(cur["patient_id"], cur["item"], cur["status"])) == [(2, "followup:21", "invited")]
    assert P.statuses_for(db, [2], mo_id=MO2).empty  # another organisation's statuses are its own


@pytest.mark.parametrize("args,error,message", [
    ((2, "followup:21", "called"), P.StatusError, "Неизвестный статус"),
    ((2, "drop table", "invited"), P.StatusError, "Неизвестная позиция"),
    ((4, "disp:2026", "invited"), P.StatusError, "не прикреплён"),      # attached to MO2
    ((6, "disp:2026", "invited"), P.StatusError, "не прикреплён"),      # not attached at all
    ((999, "disp:2026", "invited"), P.StatusError, "не прикреплён"),
])
def test_bad_statuses_are_refused(tiny, args, error, message):
    _, db = tiny
    with pytest.raises(error, match=message):
        P.set_status(db, *args, None, "glavvrach", MO1, scope=MO1_SCOPE)
    with pytest.raises(P.StatusError, match="длинный"):
        P.set_status(db, 2, "disp:2026", "invited", "x" * 401, "glavvrach", MO1, scope=MO1_SCOPE)
    with pytest.raises(ScopeError):
        P.set_status(db, 4, "disp:2026", "invited", None, "glavvrach", MO2, scope=MO1_SCOPE)
    with pytest.raises(ScopeError):
        P.set_status(db, 2, "disp:2026", "invited", None, "glavvrach", MO1, scope=Scope(mos=frozenset({MO1})))
    assert P.history(db, 2).empty


def test_two_people_setting_statuses_at_once_lose_nothing(tiny):
    app, db = tiny
    n = 15
    errors = []
    barrier = threading.Barrier(2)

    def work(who, status):  # as two requests: each in its own application context
        try:
            with app.app_context():
                barrier.wait()
                for i in range(n):
                    P.set_status(db, 2, "disp:2026", status, f"{who} {i}", who, MO1, scope=MO1_SCOPE)
                    P.set_status(db, 3, "screen:fobt:2026", status, None, who, MO1, scope=MO1_SCOPE)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=("glavvrach", "invited")),
               threading.Thread(target=work, args=("zam", "refused"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    h = P.history(db, 2, "disp:2026")
    assert len(h) == 2 * n and h["event_id"].is_unique
    assert sorted(h["comment"]) == sorted([f"glavvrach {i}" for i in range(n)] + [f"zam {i}" for i in range(n)])
    assert len(P.history(db, 3, "screen:fobt:2026")) == 2 * n
    cur = P.statuses_for(db, [2, 3], mo_id=MO1).set_index("item")
    for item in ("disp:2026", "screen:fobt:2026"):  # the current status is the latest event
        last = P.history(db, 2 if item == "disp:2026" else 3, item).iloc[-1]
        assert cur.loc[item, "event_id"] == last["event_id"] and cur.loc[item, "status"] == last["status"]


# ---------------------------------------------------------------- migration 0003
NEW_COLUMNS = {("patient", "area_doctor_id"), ("dispensary_exam", "stage2_result"),
               ("dispensary_exam", "pathology_found"), ("dispensary_exam", "risk_factors"),
               ("cancer_screening", "followup_date")}


def old_contract(db, patient_as_view: bool = False) -> None:
    """The contract as the previous release declared it: without the new columns and tables."""
    earlier_contract(db, ("vaccination_exemption", "prevention_plan_band"), NEW_COLUMNS,
                     "patient" if patient_as_view else None)


def test_migration_0003_brings_an_old_contract_up_to_date(empty_db):
    db = empty_db
    old_contract(db)
    migrations.upgrade(db, "0002")
    with db.engine.begin() as c:
        c.execute(sa.text("INSERT INTO patient (patient_id, sex, birth_date, district_id, attach_mo_id) "
                          "VALUES (7, 'F', DATE '1980-01-01', 1, 101)"))
    cols = contract_columns(db)
    assert "area_doctor_id" not in cols["patient"] and "vaccination_exemption" not in cols
    assert migrations.state(db) == "outdated"
    before, after = migrations.upgrade(db)
    assert (before, after) == ("0002", migrations.head())
    cols = contract_columns(db)
    for table, column in NEW_COLUMNS:
        assert column in cols[table], (table, column)
    assert cols["vaccination_exemption"] == set(s.vaccination_exemption.c.keys())
    assert cols["prevention_plan_band"] == set(s.prevention_plan_band.c.keys())
    assert "invitation_event" in cols
    with db.engine.connect() as c:  # the row is kept, its new column empty; the contract reads as declared
        assert c.execute(sa.select(s.patient.c.patient_id, s.patient.c.area_doctor_id)).all() == [(7, None)]
        assert c.execute(sa.select(sa.func.count()).select_from(s.vaccination_exemption)).scalar() == 0
    # down and up again: the invitations go and come back; the contract's columns stay
    from alembic import command
    with db.write() as c:
        cfg = migrations._config()
        cfg.attributes["connection"] = c
        command.downgrade(cfg, "0002")
    cols = contract_columns(db)
    assert "invitation_event" not in cols and "area_doctor_id" in cols["patient"]
    migrations.upgrade(db)
    assert migrations.state(db) == "current"


def test_migration_0003_leaves_a_view_mapped_contract_and_an_app_only_database(empty_db, dbs):
    db = empty_db
    old_contract(db, patient_as_view=True)
    migrations.upgrade(db, "0002")
    migrations.upgrade(db)
    cols = contract_columns(db)
    assert "area_doctor_id" not in cols["patient"]  # a view: its mapping is the operator's to update
    assert "stage2_result" in cols["dispensary_exam"] and "vaccination_exemption" in cols
    from data_access.db import Database
    bare = Database(dbs.url(dbs.new()))
    try:
        migrations.upgrade(bare)
        cols = contract_columns(bare)
        assert "invitation_event" in cols and "patient" not in cols and "vaccination_exemption" not in cols
    finally:
        bare.dispose()
