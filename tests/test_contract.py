"""The effective contract (issue 20): schemes parsed and refused, every threshold edge, negative points, caps, the
scale, the bonus share; and on a hand-made database (both engines) the scores of doctors and heads — a position
change within the month and a head replaced within the quarter weighted by their days, a scheme version that
applies from a month, a stale edit refused, dispute marks with their history, role scopes. Every expected value
is counted by hand from the rows below."""
from __future__ import annotations

import datetime as dt

import pytest

from core.periods import Period
from data_access import marts as M
from data_access import schema as s
from data_access.db import Database
from data_access.scope import Scope, ScopeError
from data_access.setup import create_contract
from data_access.workcal import calendar_frame
from metrics import contract as C
from metrics.model import load_registry
from services import contract as K
from tests.helpers import hand_made

D = dt.date
MO1, MO2, HOSPITAL = 10, 20, 30
MARCH = Period("month", D(2026, 3, 1), D(2026, 3, 1))
FEB = Period("month", D(2026, 2, 1), D(2026, 2, 1))
Q1 = Period("quarter", D(2026, 1, 1), D(2026, 3, 1))
CITY_HR = K.Access(scope=Scope(), staff=True, heads=True, mark=True, schemes=True, login="kadry_kz")
MO1_HR = K.Access(scope=Scope(districts=frozenset({1}), mos=frozenset({MO1})), staff=True, mark=True, login="kadry")
DISTRICT1 = K.Access(scope=Scope(districts=frozenset({1})), heads=True, login="kolpino")


# ---------------------------------------------------------------- schemes: parsing and points (no database)
def scheme(**over) -> dict:
    raw = {"code": "tx", "name": "Т", "positions": ["therapist"], "level": "doctor", "period": "month",
           "valid_from": "2026-01", "share": [{"min": 4, "share": 0.5}, {"min": 6, "share": 1.0}],
           "criterion": [{"code": "vv", "name": "Объём", "indicator": "prev_visit_share",
                          "bands": [{"min": 100, "points": 3}, {"min": 95, "below": 100, "points": 1}]}]}
    raw.update(over)
    return raw


def problems(raw, reg=None) -> str:
    with pytest.raises(C.SchemeError) as e:
        C.parse_scheme(raw, reg)
    return " | ".join(e.value.problems)


def test_bands_hold_at_their_edges():
    c = C.parse_scheme(scheme()).criteria[0]
    assert c.score(100.0) == (3.0, c.bands[0])          # min is inclusive
    assert c.score(99.99)[0] == 1.0                      # below is exclusive: 99,99 is in the second band
    assert c.score(95.0)[0] == 1.0
    assert c.score(94.99) == (0.0, None)                 # no band: 0 points
    assert c.score(None) == (0.0, None)                  # no data: no_data points (0 by default)
    assert c.score(float("nan")) == (0.0, None)
    assert c.max_points == 3.0


def test_negative_points_caps_weights_and_the_scale():
    cancer = C.Criterion("c", "Рак", "x", bands=(C.Band(2, max=0), C.Band(-1, min=1)))
    assert cancer.score(0)[0] == 2 and cancer.score(1)[0] == -1 and cancer.score(0.5)[0] == 0
    assert cancer.max_points == 2
    scale = C.Criterion("v", "Коэффициент", "x", scale=0.02, cap=2.6)
    assert scale.score(100)[0] == pytest.approx(2.0)
    assert scale.score(130)[0] == pytest.approx(2.6) and scale.score(150)[0] == pytest.approx(2.6)  # capped at 1,3
    weighted = C.Criterion("q", "Качество", "x", bands=(C.Band(1, min=90), C.Band(0.5, min=80)), weight=3, cap=2)
    assert weighted.score(85)[0] == 1.5 and weighted.score(95)[0] == 2  # 1 × 3 capped at 2
    assert C.Criterion("s", "Опрос", "x", bands=(C.Band(1, min=68),), no_data=1).score(None)[0] == 1


def test_the_total_and_the_bonus_share():
    sc = C.parse_scheme(scheme(max_total=5))
    assert [b.min for b in sc.share] == [6, 4]           # sorted highest first whatever the declared order
    assert sc.share_of(6) == 1.0 and sc.share_of(5.99) == 0.5 and sc.share_of(4) == 0.5 and sc.share_of(3.9) == 0
    assert sc.total([3, 2, 1]) == 5                      # max_total caps the sum
    assert sc.total([3, -1]) == 2


def test_rules_read_in_russian():
    c = C.parse_scheme(scheme()).criteria[0]
    assert c.rule("%", 1) == "≥ 100 % — 3 балла; ≥ 95 и < 100 % — 1 балл; иначе — 0 баллов"
    neg = C.Criterion("c", "Рак", "x", bands=(C.Band(2, max=0), C.Band(-1, min=1)))
    assert neg.rule("", 0) == "0 — 2 балла; ≥ 1 — −1 балл; иначе — 0 баллов"
    assert C.points_text(0.5) == "0,5 балла" and C.points_text(5) == "5 баллов" and C.points_text(21) == "21 балл"


def test_a_broken_scheme_is_refused_with_every_problem_named():
    reg = load_registry()
    text = problems(scheme(level="region", colour="red", share=[{"min": 3, "share": 1.5}],
                           criterion=[{"code": "vv", "name": "x", "indicator": "nope", "bands": [{"points": 1}]},
                                      {"code": "ww", "name": "y", "indicator": "prev_adult_plan", "scale": 0.1}]), reg)
    assert "неизвестные поля colour" in text
    assert "level — doctor" in text
    assert "доля (share) — от 0 до 1" in text
    assert "нужна хотя бы одна граница" in text
    assert "у шкалы (scale) должно быть ограничение (cap)" in text
    # an indicator not in the registry, and one the doctor level does not have
    assert "показателя «nope» нет в реестре" in problems(scheme(criterion=[
        {"code": "vv", "name": "x", "indicator": "nope", "bands": [{"min": 1, "points": 1}]}]), reg)
    assert "не считается на уровне «врач»" in problems(scheme(criterion=[
        {"code": "vv", "name": "x", "indicator": "prev_adult_plan", "bands": [{"min": 1, "points": 1}]}]), reg)
    assert "нижняя граница больше верхней" in problems(scheme(criterion=[
        {"code": "vv", "name": "x", "indicator": "prev_visit_share", "bands": [{"min": 5, "below": 4, "points": 1}]}]))
    assert "не может уменьшаться" in problems(scheme(share=[{"min": 4, "share": 1.0}, {"min": 6, "share": 0.5}]))
    assert "должность «surgeon» неизвестна" in problems(scheme(positions=["surgeon"]))
    assert "критерий «vv» повторяется" in problems(scheme(criterion=[scheme()["criterion"][0]] * 2))
    with pytest.raises(C.SchemeError, match="ровно одну схему"):
        C.parse_body('[[scheme]]\ncode = "a"\n[[scheme]]\ncode = "b"\n')
    with pytest.raises(C.SchemeError, match="не разобран как TOML"):
        C.parse_body("[[scheme]\n")


def test_the_shipped_schemes_are_valid_and_score_each_position_once():
    reg = load_registry()
    schemes = C.shipped(reg)
    assert {x.code for x in schemes} >= {"therapist", "head"}
    positions = [p for x in schemes for p in x.positions]
    assert len(positions) == len(set(positions))
    therapist = next(x for x in schemes if x.code == "therapist")
    assert therapist.max_points == 12                    # 3 + 2 + 1 + 1 + 1 + 2 + 1 + 1 (the reference)
    head = next(x for x in schemes if x.code == "head")
    volume_quality = sum(c.max_points for c in head.criteria if c.code in ("volume", "episodes", "quality"))
    assert 0.6 <= volume_quality / head.max_points <= 0.8  # the reference: 60–80 % of the weight
    with pytest.raises(C.SchemeError, match="есть в схемах"):
        C.check_positions([therapist, C.parse_scheme(scheme(code="t2", positions=["gp"]))])
    # a position may have two schemes for disjoint kinds of organisation
    hospital = C.parse_scheme(scheme(code="hh", positions=["head"], level="mo", mo_kinds=["hospital"], criterion=[
        {"code": "vv", "name": "x", "indicator": "contract_staffing", "bands": [{"min": 70, "points": 1}]}]), reg)
    C.check_positions([head, hospital])
    assert head.applies("head", "adult_polyclinic") and not head.applies("head", "hospital")
    assert hospital.applies("head", "hospital")
    assert "тип организации «zoo» неизвестен" in problems(scheme(mo_kinds=["zoo"]))


def test_overlapping_assignments_share_the_period_and_edges_survive_floating_point():
    part = K.Part(1, "therapist", "Т", D(2026, 3, 1), D(2026, 3, 31), 31, 31)
    half = K.Part(2, "specialist", "С", D(2026, 3, 16), D(2026, 3, 31), 16, 31)
    assert K._weights([part, half]) == pytest.approx([31 / 47, 16 / 47])   # two posts at once: never above 1
    assert K._weights([half]) == pytest.approx([16 / 31])
    assert C.Band(1, min=29).matches(29 / 100 * 100)                        # 28,999… is on the edge
    assert C.Band(1, below=57).matches(57 / 100 * 100) is False


def test_days_inside_the_period():
    assert K.clip_days(D(2020, 1, 1), D(2026, 3, 15), MARCH) == (D(2026, 3, 1), D(2026, 3, 15), 15)
    assert K.clip_days(D(2026, 3, 16), None, MARCH) == (D(2026, 3, 16), D(2026, 3, 31), 16)
    assert K.clip_days(D(2026, 2, 16), None, Q1)[2] == 44 and K.period_days(Q1) == 90
    assert K.clip_days(D(2026, 4, 1), None, MARCH)[2] == 0


# ---------------------------------------------------------------- the hand-made database
def _visits(start_id, day, mo, doctor, n, prevention):
    return [dict(visit_id=start_id + i, episode_id=start_id + i, visit_date=day, patient_id=1, doctor_id=doctor,
                 dept_id=1, mo_id=mo, icd10="J06.9", is_new_diagnosis=False,
                 purpose="prevention" if i < prevention else "disease") for i in range(n)]


def _emp(aid, pno, name, doctor, mo, position, start, end=None):
    return dict(assignment_id=aid, personnel_no=pno, full_name=name, doctor_id=doctor, mo_id=mo, dept_id=None,
                position=position, rate=1.0, start_date=start, end_date=end)


def build(db: Database) -> None:
    create_contract(db)
    with db.engine.begin() as c:
        c.execute(s.district.insert(), [dict(district_id=1, name="Альфа", okato=None),
                                        dict(district_id=2, name="Бета", okato=None)])
        c.execute(s.mo.insert(), [dict(mo_id=mo, name=f"Поликлиника {mo}", short_name=f"Пол-ка {mo}",
                                       kind="adult_polyclinic", district_id=d, parent_mo_id=None, is_state=True,
                                       has_attachment=True, oid=str(mo)) for mo, d in ((MO1, 1), (MO2, 2))])
        c.execute(s.mo.insert().values(mo_id=HOSPITAL, name="Городская больница", short_name="Больница",
                                       kind="hospital", district_id=1, parent_mo_id=None, is_state=True,
                                       has_attachment=False, oid="30"))
        c.execute(s.department.insert(), [dict(dept_id=1, mo_id=MO1, name="Терапия", profile="therapy"),
                                          dict(dept_id=2, mo_id=MO2, name="Терапия", profile="therapy")])
        c.execute(s.specialty.insert(), [
            dict(specialty_id=1, code="therapist", name="Терапевт", category="primary", wait_norm="h24"),
            dict(specialty_id=2, code="cardiologist", name="Кардиолог", category="specialist", wait_norm="wd14")])
        c.execute(s.doctor.insert(), [
            dict(doctor_id=100, full_name="Иванова Анна Петровна", sex="F", specialty_id=1, mo_id=MO1, dept_id=1),
            dict(doctor_id=101, full_name="Петров Пётр Петрович", sex="M", specialty_id=1, mo_id=MO1, dept_id=1),
            dict(doctor_id=102, full_name="Сидоров Иван Ильич", sex="M", specialty_id=2, mo_id=MO1, dept_id=1),
            dict(doctor_id=103, full_name="Яковлев Артём Сергеевич", sex="M", specialty_id=1, mo_id=MO1, dept_id=1),
            dict(doctor_id=200, full_name="Смирнова Ольга Юрьевна", sex="F", specialty_id=1, mo_id=MO2, dept_id=2)])
        c.execute(s.patient.insert(), [
            dict(patient_id=1, sex="F", birth_date=D(1960, 1, 1), district_id=1, attach_mo_id=MO1, area_doctor_id=100),
            dict(patient_id=2, sex="M", birth_date=D(1955, 1, 1), district_id=1, attach_mo_id=MO1, area_doctor_id=101)])
        c.execute(s.employment.insert(), [
            # doctor 100 leaves the участок for a specialist's post on 16 March (same personnel number)
            _emp(1, "T-001", "Иванова Анна Петровна", 100, MO1, "therapist", D(2020, 1, 1), D(2026, 3, 15)),
            _emp(2, "T-001", "Иванова Анна Петровна", 100, MO1, "specialist", D(2026, 3, 16)),
            _emp(3, "T-002", "Петров Пётр Петрович", 101, MO1, "therapist", D(2020, 1, 1)),
            _emp(4, "T-003", "Сидоров Иван Ильич", 102, MO1, "other", D(2020, 1, 1)),
            # the head of MO1 is replaced on 16 February
            _emp(5, "H-001", "Кузнецов Олег Павлович", None, MO1, "head", D(2019, 1, 1), D(2026, 2, 15)),
            _emp(6, "H-002", "Морозова Елена Сергеевна", None, MO1, "head", D(2026, 2, 16)),
            _emp(7, "H-010", "Волков Игорь Андреевич", None, MO2, "head", D(2019, 1, 1)),
            _emp(10, "H-030", "Орлов Павел Николаевич", None, HOSPITAL, "head", D(2019, 1, 1)),  # no scheme applies
            # doctor 200 moves from MO2 to MO1 on 20 March: a new personnel number there
            _emp(8, "T-010", "Смирнова Ольга Юрьевна", 200, MO2, "therapist", D(2019, 1, 1), D(2026, 3, 19)),
            _emp(9, "T-005", "Смирнова Ольга Юрьевна", 200, MO1, "therapist", D(2026, 3, 20)),
            # on leave all March: no visits, no plan, nothing — no data, not a clean record
            _emp(11, "T-006", "Яковлев Артём Сергеевич", 103, MO1, "therapist", D(2020, 1, 1))])
        c.execute(s.visit.insert(), [
            *_visits(1000, D(2026, 3, 10), MO1, 100, 100, 30),   # 100 visits, 30 preventive: 30 %
            *_visits(2000, D(2026, 3, 11), MO1, 101, 96, 24),    # 96 visits, 24 preventive: 25 %
            *_visits(3000, D(2026, 2, 11), MO1, 101, 96, 24),
            *_visits(5000, D(2026, 1, 13), MO1, 101, 50, 0),     # January: no plan, only the organisation's volume
            *_visits(4000, D(2026, 3, 25), MO1, 200, 50, 25),    # at her new organisation: 50 %
            *_visits(6000, D(2026, 3, 5), MO2, 200, 10, 0)])     # …and before, at the old one
        c.execute(s.doctor_plan.insert(), [dict(month=D(2026, 3, 1), doctor_id=100, mo_id=MO1, visits_planned=100),
                                           dict(month=D(2026, 3, 1), doctor_id=101, mo_id=MO1, visits_planned=100),
                                           dict(month=D(2026, 2, 1), doctor_id=101, mo_id=MO1, visits_planned=100),
                                           dict(month=D(2026, 3, 1), doctor_id=200, mo_id=MO1, visits_planned=50)])
        c.execute(s.complaint.insert(), [
            dict(complaint_id=1, received_date=D(2026, 3, 5), mo_id=MO1, doctor_id=101, justified=True, topic="attitude"),
            dict(complaint_id=2, received_date=D(2026, 3, 6), mo_id=MO1, doctor_id=101, justified=None, topic="access"),
            dict(complaint_id=3, received_date=D(2026, 3, 7), mo_id=MO1, doctor_id=100, justified=False,
                 topic="quality"),
            # about the organisation as a whole: nobody's at the doctor level, the organisation's at its own
            dict(complaint_id=4, received_date=D(2026, 3, 8), mo_id=MO1, doctor_id=None, justified=True,
                 topic="access")])
        c.execute(s.patient_survey.insert(), [
            *[dict(response_id=i, answered_date=D(2026, 3, 12), mo_id=MO1, doctor_id=100, satisfied=i < 7)
              for i in range(10)],                                # 7 of 10: 70 %
            *[dict(response_id=100 + i, answered_date=D(2026, 3, 12), mo_id=MO1, doctor_id=101, satisfied=True)
              for i in range(5)]])                                # 5 answers: too few to judge
        c.execute(s.cancer_case.insert(), [
            # breast, stage III: a visual site — neglected (patient 1, участок of doctor 100)
            dict(case_id=1, patient_id=1, diagnosis_date=D(2026, 3, 10), icd10="C50.9", stage=3, mo_id=MO1),
            # lung, stage III: not neglected (patient 2, участок of doctor 101)
            dict(case_id=2, patient_id=2, diagnosis_date=D(2026, 3, 10), icd10="C34.1", stage=3, mo_id=MO1)])
        c.execute(s.volume_plan.insert(), [dict(year=2026, mo_id=MO1, kind="visits", planned=1152)])  # 288 a quarter
        c.execute(s.salary.insert(), [dict(month=D(2026, m, 1), mo_id=MO1, staff_group="doctors", avg_salary=220000.0,
                                           headcount=10.0) for m in (1, 2, 3)])
        c.execute(s.regional_wage.insert(), [dict(month=D(2026, m, 1), avg_wage=100000.0) for m in (1, 2, 3)])
        c.execute(s.staff_position.insert(), [
            dict(position_id=i, mo_id=MO1, dept_id=1, specialty_id=1, rate=1.0, doctor_id=d)
            for i, d in enumerate((100, 101, 102, None), 1)])   # 3 of 4 rates filled: 75 %
        c.execute(s.calendar.insert(), calendar_frame(D(2026, 1, 1), D(2026, 12, 31)).to_dict("records"))
    M.build_marts(db)


@pytest.fixture(scope="module")
def fx(dbs, tmp_path_factory):
    """The hand-made database with marts built, and an app on it (its context pushed)."""
    with hand_made(dbs, tmp_path_factory, build, "contract") as db:
        yield db


def by_person(df, pno) -> dict:
    rows = df[df["personnel_no"] == pno]
    assert len(rows) == 1, f"{pno}: {len(rows)} rows"
    return rows.iloc[0].to_dict()


def test_a_doctor_is_scored_on_each_criterion(fx):
    sh = K.sheet(MARCH, MO1, "T-002", MO1_HR)
    (part,) = sh.parts
    got = part.criteria.set_index("code")
    # 96 of 100 planned: 1; 24 of 96 preventive = 25 %: 1; one justified complaint (one under review does not
    # count): 0; five answers (fewer than the indicator's 10): no data, 0; a stage III lung cancer is not
    # neglected: 2; no diabetes hospitalisation: 1; no register data: 0 and 0
    assert got.loc["volume", "value"] == pytest.approx(96.0) and got.loc["volume", "points"] == 1
    assert got.loc["prevention", "value"] == pytest.approx(25.0) and got.loc["prevention", "points"] == 1
    assert got.loc["complaints", "value"] == 1 and got.loc["complaints", "points"] == 0
    assert bool(got.loc["satisfaction", "few"]) and got.loc["satisfaction", "points"] == 0
    assert got.loc["satisfaction", "met"] == "мало наблюдений"
    assert got.loc["cancer", "value"] == 0 and got.loc["cancer", "points"] == 2
    assert got.loc["diabetes", "value"] == 0 and got.loc["diabetes", "points"] == 1
    assert got.loc["hospitalisation", "met"] == "нет данных" and got.loc["hospitalisation", "points"] == 0
    assert part.points == 5 and part.share == 0.25      # from 4 points: 25 %
    assert (sh.points, sh.share) == (5, 0.25)
    assert set(part.criteria["level"]) == {"doctor"} and set(part.criteria["unit_id"]) == {101}


def test_a_position_change_within_the_month_is_weighted_by_days(fx):
    sh = K.sheet(MARCH, MO1, "T-001", MO1_HR)
    therapist, specialist = sh.parts
    assert (therapist.days, specialist.days, therapist.period_days) == (15, 16, 31)
    t = therapist.criteria.set_index("code")["points"]
    # 100 % of plan: 3; 30 % preventive: 2; no justified complaint: 1; 7 of 10 satisfied: 1; a stage III breast
    # cancer on her участок: −1; no diabetes hospitalisation: 1
    assert t.to_dict() == {"volume": 3, "prevention": 2, "hospitalisation": 0, "complaints": 1, "satisfaction": 1,
                           "cancer": -1, "diabetes": 1, "dispensary": 0}
    assert (therapist.points, therapist.share) == (7, 0.5)
    sp = specialist.criteria.set_index("code")["points"]
    assert sp["volume"] == pytest.approx(2.0)             # the scale: 100 % × 0,02
    assert (specialist.points, specialist.share) == (pytest.approx(4.0), 0.75)
    assert sh.points == pytest.approx((7 * 15 + 4 * 16) / 31, abs=1e-4)
    assert sh.share == pytest.approx((0.5 * 15 + 0.75 * 16) / 31, abs=1e-4)
    row = by_person(K.staff(MARCH, MO1, MO1_HR), "T-001")
    assert row["points"] == pytest.approx(sh.points) and row["share"] == pytest.approx(sh.share)
    assert row["position_name"] == "Участковый терапевт; с 16.03.2026 — Врач-специалист"


def test_a_doctor_who_moved_is_scored_by_each_organisation_for_its_days(fx):
    new = by_person(K.staff(MARCH, MO1, MO1_HR), "T-005")
    # at MO1 from the 20th, on MO1's data: 50 of 50 planned: 3; 50 % preventive: 2; no complaint: 1; no answers: 0;
    # no neglected cancer: 2; no diabetes hospitalisation: 1 — 9 points, 75 %, for 12 of 31 days
    assert new["days"] == 12 and new["points"] == pytest.approx(9 * 12 / 31, abs=1e-4)
    assert new["share"] == pytest.approx(0.75 * 12 / 31, abs=1e-4)
    old = by_person(K.staff(MARCH, MO2, CITY_HR), "T-010")
    # at MO2 until the 19th, on MO2's data (10 visits, none preventive, no plan): 1 + 2 + 1 = 4 points, 25 %, 19 days
    assert old["days"] == 19 and old["points"] == pytest.approx(4 * 19 / 31, abs=1e-4)
    assert old["share"] == pytest.approx(0.25 * 19 / 31, abs=1e-4)


def test_the_staff_table(fx):
    df = K.staff(MARCH, MO1, MO1_HR)
    assert df["personnel_no"].tolist() == ["T-001", "T-002", "T-003", "T-005", "T-006"]  # by name; not the head
    other = by_person(df, "T-003")
    assert other["status"] == "no_scheme" and other["share"] == 0
    assert by_person(df, "T-002")["share"] == 0.25
    # nothing at all in March: every criterion is «нет данных», counts included — 0 points, not 1 + 2 + 1
    idle = K.sheet(MARCH, MO1, "T-006", MO1_HR).parts[0].criteria
    assert set(idle["met"]) == {"нет данных"} and idle["points"].sum() == 0
    with pytest.raises(K.ContractError, match="помесячно"):
        K.staff(Q1, MO1, MO1_HR)


def test_heads_replaced_within_the_quarter(fx):
    df = K.heads(Q1, CITY_HR)
    # the hospital's head is not scored by the polyclinic heads' scheme (its mo_kinds): counted apart
    assert df["personnel_no"].tolist() == ["H-001", "H-002", "H-010"] and df.attrs["unscored"] == 1
    a, b = by_person(df, "H-001"), by_person(df, "H-002")
    assert (a["days"], b["days"], a["period_days"]) == (46, 44, 90)
    # 392 visits of a 288 plan: 1 × 4; no episodes plan, no quality cases: 0; salary 220 % of the region: 2;
    # 3 of 4 rates filled: 1; two justified complaints (one about the organisation): 0 — 7 points, 50 %, weighted
    # by the days
    assert a["points"] == pytest.approx(7 * 46 / 90, abs=1e-4) and a["share"] == pytest.approx(0.5 * 46 / 90, abs=1e-4)
    assert b["points"] == pytest.approx(7 * 44 / 90, abs=1e-4)
    assert a["c_volume"] == pytest.approx(4 * 46 / 90, abs=1e-4) and a["c_salary"] == pytest.approx(2 * 46 / 90,
                                                                                                     abs=1e-4)
    assert [c for c, _ in df.attrs["criteria"]] == ["volume", "episodes", "quality", "salary", "staffing",
                                                    "complaints"]
    sh = K.sheet(Q1, MO1, "H-002", CITY_HR)
    got = sh.parts[0].criteria.set_index("code")
    assert got.loc["volume", "value"] == pytest.approx(392 / 288 * 100)
    assert got.loc["staffing", "value"] == pytest.approx(75.0) and got.loc["salary", "value"] == pytest.approx(220.0)
    assert got.loc["complaints", "value"] == 2
    assert set(got["level"]) == {"mo"} and set(got["unit_id"]) == {MO1}
    with pytest.raises(K.ContractError, match="поквартально"):
        K.heads(MARCH, CITY_HR)


def test_scopes_of_the_roles(fx):
    with pytest.raises(ScopeError):
        K.staff(MARCH, MO2, MO1_HR)                       # another organisation's staff
    with pytest.raises(ScopeError):
        K.sheet(MARCH, MO2, "T-010", MO1_HR)
    with pytest.raises(ScopeError):
        K.heads(Q1, MO1_HR)                               # an organisation's HR does not score heads
    with pytest.raises(ScopeError):
        K.sheet(Q1, MO1, "H-001", MO1_HR)                 # …not even its own head's sheet
    with pytest.raises(ScopeError):
        K.staff(MARCH, MO1, DISTRICT1)                    # a district head sees heads, not staff
    assert K.heads(Q1, DISTRICT1)["mo_id"].unique().tolist() == [MO1]
    with pytest.raises(ScopeError):
        K.heads(Q1, DISTRICT1, district_id=2)
    assert len(K.staff(MARCH, MO2, CITY_HR)) == 1
    pay = K.payroll_staff(MARCH, MO1, MO1_HR)
    assert pay.columns.tolist() == ["personnel_no", "full_name", "position_name", "mo_name", "period", "days", "points",
                                    "share"]
    assert pay["personnel_no"].tolist() == ["T-001", "T-002", "T-003", "T-005", "T-006"]
    assert set(pay["period"]) == {"март 2026"} and pay["days"].tolist() == [31, 31, 31, 12, 31]
    staff = K.staff(MARCH, MO1, MO1_HR)
    scored = (staff["status"] == "scored").to_numpy()
    assert pay["share"][scored].tolist() == staff["share"][scored].tolist()
    assert pay["share"][~scored].isna().all() and pay["points"][~scored].isna().all()   # no scheme: empty, not 0


def test_dispute_marks_keep_their_history(fx):
    with pytest.raises(K.ContractError, match="Комментарий"):
        K.mark(MARCH, MO1, "T-002", "disagree", "   ", MO1_HR)
    with pytest.raises(ScopeError):
        K.mark(MARCH, MO1, "T-002", "disagree", "Жалоба не подтверждена", DISTRICT1)
    with pytest.raises(K.ContractError, match="снимать нечего"):
        K.mark(MARCH, MO1, "T-002", "resolved", "Ошибка", MO1_HR)
    assert K.sheet(MARCH, MO1, "T-002", MO1_HR).marks.empty   # nothing refused was saved
    K.mark(MARCH, MO1, "T-002", "disagree", "Жалоба № 1 не подтверждена проверкой", MO1_HR, criterion="complaints")
    assert by_person(K.staff(MARCH, MO1, MO1_HR), "T-002")["disputed"]
    K.mark(MARCH, MO1, "T-002", "resolved", "Проверка подтвердила жалобу", CITY_HR)
    m = K.sheet(MARCH, MO1, "T-002", MO1_HR).marks
    assert m["state"].tolist() == ["disagree", "resolved"] and m["author"].tolist() == ["kadry", "kadry_kz"]
    assert m["criterion"].tolist()[0] == "complaints"
    assert not by_person(K.staff(MARCH, MO1, MO1_HR), "T-002")["disputed"]
    assert not K.sheet(FEB, MO1, "T-002", MO1_HR).person["disputed"]   # a mark is for its period


def test_a_scheme_version_applies_from_its_month(fx):
    assert K.sheet(FEB, MO1, "T-002", MO1_HR).points == 6     # 1 + 1 + 1 (no complaint) + 2 + 1
    v1 = C.version("therapist", 1).body
    v2 = v1.replace("bands = [ { min = 100, points = 3 }, { min = 95, below = 100, points = 1 } ]",
                    "bands = [ { min = 95, points = 3 } ]")
    assert v2 != v1
    with pytest.raises(K.SchemeError, match="комментарий"):
        K.save_scheme("therapist", v2, "2026-03", "", 1, CITY_HR)
    with pytest.raises(ScopeError):
        K.save_scheme("therapist", v2, "2026-03", "Порог объёма 95 %", 1, MO1_HR)
    with pytest.raises(K.SchemeError, match="нет в реестре"):
        K.save_scheme("therapist", v2.replace("contract_volume", "contract_nope"), "2026-03", "x", 1, CITY_HR)
    assert K.save_scheme("therapist", v2, "2026-03", "Порог объёма 95 %", 1, CITY_HR) == 2
    with pytest.raises(K.SchemeError, match="другой пользователь"):
        K.save_scheme("therapist", v2, "2026-04", "Второе изменение с устаревшей версии", 1, CITY_HR)
    march = K.sheet(MARCH, MO1, "T-002", MO1_HR)
    assert march.parts[0].scheme_version == 2 and march.points == 7   # 96 % now gives 3
    feb = K.sheet(FEB, MO1, "T-002", MO1_HR)
    assert feb.parts[0].scheme_version == 1 and feb.points == 6       # February keeps version 1
    d = K.scheme_diff("therapist", 2)
    assert "-bands = [ { min = 100, points = 3 }, { min = 95, below = 100, points = 1 } ]" in d
    assert "+bands = [ { min = 95, points = 3 } ]" in d and '+valid_from = "2026-03"' in d
    v = K.scheme_versions("therapist")
    assert v["version"].tolist() == [2, 1] and v["author"].tolist() == ["kadry_kz", "система"]
    # a correction saved later from an earlier month overrides from its month on, March included
    v3 = v2.replace('valid_from = "2024-01"', 'valid_from = "2026-02"').replace(
        "bands = [ { min = 30, points = 2 }, { min = 25, below = 30, points = 1 } ]",
        "bands = [ { min = 25, points = 2 } ]")
    assert K.save_scheme("therapist", v3, "2026-02", "Профилактика: от 25 %", 2, CITY_HR) == 3
    assert K.sheet(FEB, MO1, "T-002", MO1_HR).points == 9              # 3 + 2 + 1 + 2 + 1
    assert K.sheet(MARCH, MO1, "T-002", MO1_HR).parts[0].scheme_version == 3
    assert K.sheet(MARCH, MO1, "T-002", MO1_HR).points == 8            # 3 + 2 + 0 + 0 + 2 + 1
    with pytest.raises(K.SchemeError, match="Схемы «surgeon» нет"):
        K.save_scheme("surgeon", v3.replace('code = "therapist"', 'code = "surgeon"'), "2026-02", "x", 0, CITY_HR)

