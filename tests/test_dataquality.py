"""Data quality (issue 22): seasonal baselines and modified z-scores against hand computation (MAD, the mean absolute
deviation when MAD is 0, no score when both are 0, the ±1-month window across two years), every consistency rule
broken and kept and skipped, completeness of an organisation that stops reporting, the population denominators,
the score's weights and their renormalisation, acknowledgements with their history, and scope refusals — on a
hand-made database (both engines) whose marts are written row by row, so every expected number below is counted
by hand from the rows."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa

from core import dataquality as CDQ
from core.periods import Period, month_add
from data_access import marts as M
from data_access import schema as s
from data_access.db import Database
from data_access.scope import Scope, ScopeError
from data_access.setup import create_contract
from metrics import dataquality as DQ
from metrics.evaluate import EvaluationError
from metrics.model import load_registry
from tests.helpers import hand_made

D = dt.date
FIRST, LAST = D(2024, 1, 1), D(2026, 1, 1)          # 25 months of data
JAN26 = Period("month", LAST, LAST)
DEC24 = Period("month", D(2024, 12, 1), D(2024, 12, 1))
MONTHS = [month_add(FIRST, k) for k in range(25)]
DISTRICT1 = Scope(districts=frozenset({1}))
# MO → (district, its doctor)
MOS = {10: (1, 100), 11: (1, 110), 12: (1, 120), 13: (1, 130), 20: (2, 200), 21: (2, 210)}
# The seasonal baseline of January 2026: December, January and February one year before (2024-12, 2025-01,
# 2025-02) and two years before (2023-12 has no data; 2024-01, 2024-02).
BASELINE = [D(2024, 1, 1), D(2024, 2, 1), D(2024, 12, 1), D(2025, 1, 1), D(2025, 2, 1)]
# Preventive visits of 1 000 in the baseline months and in January 2026 (other months: a plain value).
PREVENTIVE = {
    10: ([200, 220, 250, 210, 230], 400, 220),   # 20 22 25 21 23 % — median 22, MAD 1 → z = 0,6745 × 18 = 12,14
    11: ([300, 300, 300, 300, 350], 360, 300),   # 30 30 30 30 35 % — MAD 0, mean AD 1 → z = 6 / 1,253314 = 4,787
    20: ([500, 500, 500, 500, 500], 600, 500),   # 50 % throughout — MAD 0, mean AD 0 → no score
}


def _k(m: dt.date) -> int:
    """A small wobble of the other indicators (0, 1, 2 by month): January's value is its baseline's median."""
    return m.month % 3


def build(db: Database) -> None:
    create_contract(db)
    M.create_marts(db)
    now = dt.datetime(2026, 2, 5, 3, 0)
    visits, emd, flow = [], [], []
    for m in MONTHS:
        for mo, (district, doctor) in MOS.items():
            base = dict(month=m, district_id=district, mo_id=mo, doctor_id=doctor)
            if mo in PREVENTIVE:
                # MO 20 stops reporting in October and November 2025
                if mo == 20 and m in (D(2025, 10, 1), D(2025, 11, 1)):
                    continue
                baseline, january, other = PREVENTIVE[mo]
                prev = january if m == LAST else baseline[BASELINE.index(m)] if m in BASELINE else other
                visits.append(dict(base, dept_id=1, specialty_id=1, spec_category="primary", visits=1000,
                                   visits_prevention=prev, shifts=20 + _k(m)))
                if mo in (10, 11):
                    req = 1000 if mo == 10 else 500
                    reg, reg1 = (900 + 10 * _k(m), 800 + 10 * _k(m)) if mo == 10 else (400 + 5 * _k(m), 200 + 5 * _k(m))
                    emd.append(dict(base, dept_id=1, kind_code="PRIEM", required=req, with_doc=req, with_registered=reg,
                                    registered_1d=reg1))
                    flow.append(dict(base, dept_id=1, kind_code="PRIEM", created=1000, sent=950 + 10 * _k(m),
                                     sent_1d=850 + 10 * _k(m), rejected_regional=40 + _k(m)))
            elif mo == 12 and m >= D(2025, 9, 1):      # a new organisation: reports from September 2025
                visits.append(dict(base, dept_id=1, specialty_id=1, spec_category="primary", visits=30,
                                   visits_prevention=6, shifts=10))
            elif mo == 13:                             # a tiny one: 5 visits a month
                visits.append(dict(base, dept_id=1, specialty_id=1, spec_category="primary", visits=5,
                                   visits_prevention=1, shifts=2))
    jan = dict(month=LAST)
    with db.engine.begin() as c:
        c.execute(s.district.insert(), [dict(district_id=1, name="Альфа", okato=None),
                                        dict(district_id=2, name="Бета", okato=None)])
        c.execute(s.mo.insert(), [dict(mo_id=mo, name=f"Поликлиника {mo}", short_name=f"Пол-ка {mo}",
                                       kind="adult_polyclinic", district_id=d, parent_mo_id=None, is_state=True,
                                       has_attachment=True, oid=str(mo)) for mo, (d, _) in MOS.items()])
        c.execute(s.department.insert(), [dict(dept_id=1, mo_id=10, name="Терапия", profile="therapy")])
        c.execute(s.specialty.insert(), [dict(specialty_id=1, code="therapist", name="Терапевт", category="primary",
                                              wait_norm="h24")])
        c.execute(s.doctor.insert(), [dict(doctor_id=doc, full_name=f"Врач {doc}", sex="F", specialty_id=1, mo_id=mo,
                                           dept_id=1) for mo, (_, doc) in MOS.items()])
        c.execute(s.district_population.insert(), [
            dict(year=2025, district_id=1, sex="F", age_group=5, population=900),
            dict(year=2026, district_id=1, sex="F", age_group=5, population=1000),
            dict(year=2026, district_id=2, sex="F", age_group=5, population=1000)])
        c.execute(M.marts.tables["mart_visits"].insert(), visits)
        c.execute(M.marts.tables["mart_emd_coverage"].insert(), emd)
        c.execute(M.marts.tables["mart_emd_flow"].insert(), flow)
        c.execute(M.marts.tables["mart_population"].insert(), [
            dict(jan, district_id=1, mo_id=10, sex="F", age_group=5, population=600),
            dict(jan, district_id=1, mo_id=None, sex="F", age_group=5, population=400),
            dict(jan, district_id=2, mo_id=20, sex="F", age_group=5, population=1300)])
        # DTP3 ≤ DTP1: kept at MO 10 (9 of 10), broken at MO 11 (12 with V3, 10 with V1)
        c.execute(M.marts.tables["mart_vaccination"].insert(), [
            dict(jan, district_id=1, mo_id=10, doctor_id=100, vaccine="DTP3", covered=9, started=10, cohort=0),
            dict(jan, district_id=1, mo_id=11, doctor_id=110, vaccine="DTP3", covered=12, started=10, cohort=0)])
        # births ≤ pregnancies ending: kept at MO 10 (5 of 6); MO 20's row is corrupt (births 4, losses −1)
        c.execute(M.marts.tables["mart_pregnancy"].insert(), [
            dict(jan, district_id=1, mo_id=10, doctor_id=100, births=5, losses=1),
            dict(jan, district_id=2, mo_id=20, doctor_id=200, births=4, losses=-1)])
        # visits ≥ attended bookings: MO 10 1 000 ≥ 500; MO 11 1 000 < 1 200; MO 12 30 ≥ 10; MO 13 5 and 8 — too
        # few; MO 20 has no slots (the missing side counts 0); MO 21 has 25 attended and no visits at all
        c.execute(M.marts.tables["mart_slots"].insert(), [
            dict(jan, district_id=d, mo_id=mo, doctor_id=MOS[mo][1], specialty_id=1, spec_category="primary",
                 slots=n, bookable=n, booked=n, attended=n) for mo, d, n in
            ((10, 1, 500), (11, 1, 1200), (12, 1, 10), (13, 1, 8), (21, 2, 25))])
        # stage 2 completed ≤ referred: kept at MO 10 (8 of 10), broken at MO 11 (7 of 5), 0 of 0 at MO 20
        c.execute(M.marts.tables["mart_prevention"].insert(), [
            dict(jan, district_id=d, mo_id=mo, program="disp", stage2_referred=ref, stage2_full=full)
            for mo, d, ref, full in ((10, 1, 10, 8), (11, 1, 5, 7), (20, 2, 0, 0))])
        c.execute(M.build_log.insert(), [dict(mart=t, month=m, rows=1, built_at=now) for m in MONTHS for t in (
            "mart_visits", "mart_emd_coverage", "mart_emd_flow", "mart_population", "mart_vaccination",
            "mart_pregnancy", "mart_slots", "mart_prevention")])


@pytest.fixture(scope="module")
def fx(dbs, tmp_path_factory):
    with hand_made(dbs, tmp_path_factory, build, "dataquality") as db:
        yield db


def row(df, **where) -> dict:
    sel = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        sel &= (df[k] == v).to_numpy()
    rows = df[sel]
    assert len(rows) == 1, f"{where}: {len(rows)} rows"
    return rows.iloc[0].to_dict()


# ---------------------------------------------------------------- declarations (no database)
def test_the_rules_name_measures_of_the_registry():
    reg = load_registry()
    DQ.check_rules(reg)                               # every measure declared, a sum, at every level of its rule
    assert {r.code for r in CDQ.RULES} == {"dtp3_le_dtp1", "births_le_pregnancies_ended", "visits_ge_attended",
                                           "stage2_full_le_referred"}
    assert all(i.outlier_threshold == CDQ.OUTLIER_THRESHOLD == 3.5 for i in reg)
    broken = load_registry()
    del broken.measures["preg_ended"]
    with pytest.raises(Exception, match="мера «preg_ended» не объявлена"):
        DQ.check_rules(broken)


def test_an_indicator_may_declare_its_own_threshold():
    from metrics.model import RegistryError, parse_registry
    data = {"groups": {"g": "Г"}, "defaults": {"outlier_threshold": 4},
            "measures": {"v": {"mart": "mart_visits", "expr": "visits"},
                         "p": {"mart": "mart_visits", "expr": "visits_prevention"}},
            "indicator": [dict(code="a", name="А", group="g", method="м", unit="%", direction="up", target=1, weight=1,
                               levels=["region"], numerator="p", denominator="v"),
                          dict(code="b", name="Б", group="g", method="м", unit="%", direction="up", target=1, weight=1,
                               levels=["region"], numerator="p", denominator="v", outlier_threshold=5)],
            "rating": {"completeness_indicator": "a"}}
    reg = parse_registry(data)
    assert (reg["a"].outlier_threshold, reg["b"].outlier_threshold) == (4.0, 5.0)
    data["indicator"][1]["outlier_threshold"] = 0
    with pytest.raises(RegistryError, match="outlier_threshold должен быть больше нуля"):
        parse_registry(data)


def test_the_seasonal_window_spans_two_years_and_the_year_boundary():
    assert DQ.baseline_months(LAST, MONTHS) == BASELINE  # 2023-12 has no data: five months, not six
    have = [month_add(D(2023, 1, 1), k) for k in range(37)]
    assert DQ.baseline_months(LAST, have) == [D(2023, 1, 1), D(2023, 2, 1), D(2023, 12, 1)] + BASELINE  # three years
    assert DQ.baseline_months(D(2024, 12, 1), MONTHS) == [D(2024, 1, 1)]  # only January 2024 a year before


def test_the_modified_z_score_by_hand():
    z = DQ.modified_z([40, 36, 60, 22], [22, 30, 50, 22], [1, 0, 0, 1], [1.8, 1, 0, 1.8])
    assert z[0] == pytest.approx(0.6745 * 18)         # MAD
    assert z[1] == pytest.approx(6 / 1.253314)        # MAD 0: the mean absolute deviation
    assert np.isnan(z[2])                             # both 0: no score
    assert z[3] == 0


def test_the_score_weights_and_their_renormalisation():
    w = CDQ.SCORE_WEIGHTS
    assert sum(w.values()) == pytest.approx(1.0)
    assert DQ.weighted_score({"completeness": 100, "timeliness": 50, "consistency_time": 80, "consistency_rules": 0}) \
        == pytest.approx(0.3 * 100 + 0.2 * 50 + 0.3 * 80 + 0.2 * 0)
    # timeliness and consistency over time without data: 0,3 × 90 + 0,2 × 40 over the weights 0,5
    assert DQ.weighted_score({"completeness": 90, "timeliness": None, "consistency_time": float("nan"),
                              "consistency_rules": 40}) == pytest.approx((0.3 * 90 + 0.2 * 40) / 0.5)
    assert DQ.weighted_score({}) is None


# ---------------------------------------------------------------- outliers
def test_outliers_against_their_seasonal_baseline(fx):
    df = DQ.outliers(JAN26, "mo", 1, codes=("prev_visit_share",), flagged_only=False)
    a = row(df, unit_id=10)
    assert a["value"] == pytest.approx(40.0) and a["baseline"] == pytest.approx(22.0)
    assert a["mad"] == pytest.approx(1.0) and a["n_baseline"] == 5
    assert a["z"] == pytest.approx(0.6745 * 18) and a["outlier"] and a["direction"] == "high"
    assert not a["worse"]                              # more preventive visits is the good direction
    assert a["threshold"] == 3.5 and a["parent"] == 1 and a["unit_name"] == "Пол-ка 10"
    assert (a["numerator"], a["denominator"]) == (400, 1000) and not a["few"]
    assert a["noise"] == pytest.approx(np.sqrt(100 * 40 / 1000))
    b = row(df, unit_id=11)                            # MAD 0: mean absolute deviation (0+0+0+0+5)/5 = 1
    assert b["mad"] == 0 and b["mean_ad"] == pytest.approx(1.0) and b["baseline"] == pytest.approx(30.0)
    assert b["z"] == pytest.approx(6 / 1.253314) and b["outlier"]
    tiny = row(df, unit_id=13)                         # 5 visits: below the indicator's 20 — never flagged
    assert tiny["few"] and not tiny["outlier"]
    new = row(df, unit_id=12)                          # no baseline yet
    assert new["n_baseline"] == 0 and new["few"] and np.isnan(new["z"])
    flagged = DQ.outliers(JAN26, "mo", 1, codes=("prev_visit_share",))
    assert flagged["unit_id"].tolist() == [10, 11]     # by |z|
    flat = row(DQ.outliers(JAN26, "mo", 2, codes=("prev_visit_share",), flagged_only=False), unit_id=20)
    assert flat["mad"] == 0 and flat["mean_ad"] == 0 and np.isnan(flat["z"]) and not flat["outlier"]


def test_a_short_baseline_is_not_scored(fx):
    a = row(DQ.outliers(DEC24, "mo", 1, codes=("prev_visit_share",), flagged_only=False), unit_id=10)
    assert a["n_baseline"] == 1 and a["few"] and np.isnan(a["z"])  # January 2024 alone


def test_every_ratio_indicator_and_the_doctors(fx):
    df = DQ.outliers(JAN26, "mo", 1, flagged_only=False)
    judged = df[df["z"].notna() & ~df["few"].astype(bool)]
    # the other five indicators with a baseline sit on their median: z = 0
    assert sorted(judged.loc[judged["unit_id"] == 10, "code"]) == sorted(
        ["prev_visit_share", "load_visits_per_shift", "emk_coverage", "emk_registered_1d", "emk_sent_1d",
         "emk_rejected"])
    assert (judged.loc[judged["code"] != "prev_visit_share", "z"].abs() < 1e-9).all()
    docs = DQ.outliers(JAN26, "doctor", 10, codes=("prev_visit_share",), flagged_only=False)
    d = row(docs, unit_id=100)
    assert d["z"] == pytest.approx(0.6745 * 18) and d["parent"] == 10 and d["unit_name"] == "Врач 100"
    with pytest.raises(EvaluationError, match="укажите организацию"):
        DQ.outliers(JAN26, "doctor", None)
    with pytest.raises(EvaluationError, match="по месяцам"):
        DQ.outliers(Period("quarter", D(2025, 10, 1), D(2025, 12, 1)), "mo", 1)
    with pytest.raises(EvaluationError, match="не отношение"):
        DQ.outliers(JAN26, "mo", 1, codes=("contract_complaints",))


# ---------------------------------------------------------------- consistency rules
def test_each_rule_kept_broken_and_skipped(fx):
    df = DQ.rules(JAN26, "mo", 1)
    assert set(df["unit_id"]) == {10, 11, 12, 13}
    assert all(row(df, rule=r, unit_id=10)["ok"] is True for r in
               ("dtp3_le_dtp1", "births_le_pregnancies_ended", "visits_ge_attended", "stage2_full_le_referred"))
    dtp = row(df, rule="dtp3_le_dtp1", unit_id=11)
    assert dtp["ok"] is False and dtp["excess"] == 2 and (dtp["left_value"], dtp["op"], dtp["right_value"]) == (12, "≤", 10)
    visits = row(df, rule="visits_ge_attended", unit_id=11)
    assert visits["ok"] is False and visits["excess"] == 200 and visits["op"] == "≥"
    stage2 = row(df, rule="stage2_full_le_referred", unit_id=11)
    assert stage2["ok"] is False and stage2["excess"] == 2
    assert row(df, rule="visits_ge_attended", unit_id=12)["ok"] is True              # 30 ≥ 10
    tiny = row(df, rule="visits_ge_attended", unit_id=13)                          # 5 and 8: both under 20
    assert tiny["ok"] is None and tiny["skipped"] == "мало наблюдений"
    none = row(df, rule="dtp3_le_dtp1", unit_id=12)                                # no vaccination rows
    assert none["ok"] is None and none["skipped"] == "нет данных" and np.isnan(none["left_value"])
    other = DQ.rules(JAN26, "mo", 2)
    births = row(other, rule="births_le_pregnancies_ended", unit_id=20)
    assert births["ok"] is False and (births["left_value"], births["right_value"], births["excess"]) == (4, 3, 1)
    assert row(other, rule="stage2_full_le_referred", unit_id=20)["ok"] is True    # 0 ≤ 0 is judged
    # visits: a missing side counts 0 when the other has data (skip only if both are missing)
    assert row(other, rule="visits_ge_attended", unit_id=20)["ok"] is True         # 1 000 ≥ no slots
    silent = row(other, rule="visits_ge_attended", unit_id=21)
    assert silent["ok"] is False and (silent["left_value"], silent["right_value"]) == (0, 25)
    # a district sums its organisations: DTP3 9 + 12 = 21 > DTP1 10 + 10 = 20
    d = DQ.rules(JAN26, "district")
    assert row(d, rule="dtp3_le_dtp1", unit_id=1)["excess"] == 1
    assert row(d, rule="visits_ge_attended", unit_id=1)["ok"] is True              # 2 035 ≥ 1 718
    # a month without any data: every rule skipped
    empty = DQ.rules(Period("month", D(2023, 6, 1), D(2023, 6, 1)), "mo", 1)
    assert empty["ok"].isna().all() and set(empty["skipped"]) == {"нет данных"}


# ---------------------------------------------------------------- completeness, denominators, scores
def test_completeness_of_an_organisation_that_stops_reporting(fx):
    df = DQ.completeness(JAN26, "mo", 2)
    a = row(df, unit_id=20)
    assert (a["months_expected"], a["months_reported"]) == (12, 10)
    assert a["reporting_rate"] == pytest.approx(1000 / 12) and a["silent_months"] == "2025-10, 2025-11"
    assert np.isnan(a["emk_coverage"])
    never = row(df, unit_id=21)                        # never reported: nothing expected
    assert never["months_expected"] == 0 and np.isnan(never["reporting_rate"])
    d1 = DQ.completeness(JAN26, "mo", 1)
    new = row(d1, unit_id=12)                          # expected from its first month, September 2025
    assert (new["months_expected"], new["months_reported"], new["reporting_rate"]) == (5, 5, 100)
    ten = row(d1, unit_id=10)
    assert ten["emk_coverage"] == pytest.approx(91.0) and ten["emk_timeliness"] == pytest.approx(81.0)


def test_population_denominators(fx):
    df = DQ.denominators(JAN26)
    city = row(df, unit_id=0)
    assert (city["attached"], city["registered"], city["year"]) == (2300, 2000, 2026)
    assert city["ratio"] == pytest.approx(115.0) and city["ok"] is False
    one = row(df, unit_id=1)                           # 600 attached to MO 10 + 400 attached nowhere; 2026: 1 000
    assert one["ratio"] == pytest.approx(100.0) and one["ok"] is True
    assert row(df, unit_id=2)["ok"] is False           # 1 300 of 1 000
    mine = DQ.denominators(JAN26, DISTRICT1)
    assert mine["unit_id"].tolist() == [0, 1]          # the city's row and the person's district


def test_scores_weigh_the_components_with_data(fx):
    df = DQ.scores(JAN26, "mo", 1)
    a = row(df, unit_id=10)
    # completeness (100 + 91) / 2; timeliness 81; 1 outlier of 6 values; 4 rules of 4
    assert a["completeness"] == pytest.approx(95.5) and a["timeliness"] == pytest.approx(81.0)
    assert a["consistency_time"] == pytest.approx(500 / 6) and a["consistency_rules"] == 100
    assert a["score"] == pytest.approx(0.3 * 95.5 + 0.2 * 81 + 0.3 * 500 / 6 + 0.2 * 100)
    assert "1 выброс из 6 значений (Профилактические посещения)" in a["reasons"]
    b = row(df, unit_id=11)                            # 0 of 3 judged rules hold
    assert b["consistency_rules"] == 0 and b["rules_judged"] == 3
    assert b["score"] == pytest.approx(0.3 * 90.5 + 0.2 * 41 + 0.3 * 500 / 6 + 0)
    assert df["unit_id"].tolist()[0] == 11             # lowest first
    c = row(DQ.scores(JAN26, "mo", 2), unit_id=20)
    # no ЭМК, no judged value: completeness 10 of 12 months and 2 of 3 rules, renormalised over 0,3 + 0,2
    assert np.isnan(c["timeliness"]) and np.isnan(c["consistency_time"])
    assert c["score"] == pytest.approx((0.3 * 1000 / 12 + 0.2 * 200 / 3) / 0.5)
    assert c["reasons"].index("нарушено: «Роды не больше завершившихся беременностей»") < \
        c["reasons"].index("данные за 10 из 12 мес. (нет за окт 2025, ноя 2025)")  # the larger weighted loss first
    one = DQ.score_of("mo", 10, JAN26)
    assert one["score"] == pytest.approx(a["score"]) and one["unit_name"] == "Пол-ка 10"
    city = DQ.score_of("region", None, JAN26)
    assert city["unit_id"] == 0 and city["score"] is not None


# ---------------------------------------------------------------- acknowledgements and scope
def test_an_acknowledged_outlier_keeps_its_history(fx):
    with pytest.raises(DQ.DataQualityError, match="Комментарий обязателен"):
        DQ.acknowledge("prev_visit_share", "mo", 10, JAN26, "  ", "analyst")
    with pytest.raises(DQ.DataQualityError, match="снимать нечего"):
        DQ.acknowledge("prev_visit_share", "mo", 10, JAN26, "Ошибка", "analyst", state="reopen")
    first = DQ.acknowledge("prev_visit_share", "mo", 10, JAN26, "Профосмотры перенесены с декабря", "analyst")
    a = row(DQ.outliers(JAN26, "mo", 1, codes=("prev_visit_share",)), unit_id=10)
    assert a["acknowledged"] and a["ack_comment"] == "Профосмотры перенесены с декабря" and a["ack_author"] == "analyst"
    assert not row(DQ.outliers(JAN26, "mo", 1, codes=("prev_visit_share",)), unit_id=11)["acknowledged"]
    second = DQ.acknowledge("prev_visit_share", "mo", 10, D(2026, 1, 15), "Перенос не подтвердился", "chair",
                            state="reopen")
    assert second > first
    a = row(DQ.outliers(JAN26, "mo", 1, codes=("prev_visit_share",)), unit_id=10)
    assert not a["acknowledged"] and a["ack_state"] == "reopen"
    h = DQ.acknowledgements("mo", JAN26, 10)
    assert h["state"].tolist() == ["ack", "reopen"] and h["author"].tolist() == ["analyst", "chair"]
    assert h["state_name"].tolist() == ["Подтверждено", "Подтверждение снято"]
    assert DQ.acknowledgements("mo", JAN26, scope=Scope(districts=frozenset({2}))).empty  # MO 10 is not theirs
    with fx.engine.connect() as c:
        n = c.execute(sa.text("select count(*) from audit_log where action = 'outlier_ack'")).scalar()
    assert n == 2


def test_the_scope_is_kept(fx):
    with pytest.raises(ScopeError):
        DQ.outliers(JAN26, "mo", 2, DISTRICT1)         # another district's organisations
    with pytest.raises(ScopeError):
        DQ.outliers(JAN26, "doctor", 20, DISTRICT1)    # an organisation outside the district
    with pytest.raises(ScopeError):
        DQ.rules(JAN26, "mo", 2, DISTRICT1)
    with pytest.raises(ScopeError):
        DQ.score_of("mo", 20, JAN26, DISTRICT1)
    with pytest.raises(ScopeError):
        DQ.acknowledge("prev_visit_share", "mo", 20, JAN26, "Проверено", "kolpino", scope=DISTRICT1)
    mine = DQ.outliers(JAN26, "mo", None, DISTRICT1, codes=("prev_visit_share",), flagged_only=False)
    assert set(mine["unit_id"]) == {10, 11, 12, 13}
    assert set(DQ.scores(JAN26, "mo", None, DISTRICT1)["unit_id"]) == {10, 11, 12, 13}
    assert DQ.scores(JAN26, "district", None, DISTRICT1)["unit_id"].tolist() == [1]
    mo_head = Scope(districts=frozenset({1}), mos=frozenset({10}))
    assert DQ.rules(JAN26, "mo", 1, mo_head)["unit_id"].unique().tolist() == [10]


# ---------------------------------------------------------------- the generated city, the migration
def test_the_rules_hold_on_the_generated_city(city_app):
    from metrics import evaluate as E
    with city_app.app_context():
        last = E.data_months()[-1]
        for p in (Period("month", last, last), Period("quarter", month_add(last, -2), last)):
            d = DQ.rules(p, "district")
            judged = d[d["ok"].notna()]
            assert set(judged["rule"]) == {r.code for r in CDQ.RULES} and judged["ok"].all(), judged[judged["ok"] == False]  # noqa: E712
            mo = DQ.rules(p, "mo")
            # structural identities hold in every organisation; visits against attended bookings are two
            # registrations the generator draws apart, judged from 20 on either side
            same = mo[(mo["rule"] != "visits_ge_attended") & mo["ok"].notna()]
            assert len(same) and same["ok"].all()
        s = DQ.scores(Period("month", last, last), "district")
        assert len(s) == 18 and s["score"].between(0, 100).all() and s["completeness"].notna().all()


def test_migration_0007_adds_the_acknowledgements(empty_db):
    from data_access import migrations
    db = empty_db
    migrations.upgrade(db, "0006")
    with db.engine.connect() as c:
        assert not sa.inspect(c).has_table("outlier_ack")
    assert migrations.upgrade(db, "0007") == ("0006", "0007")
    with db.engine.begin() as c:
        c.execute(sa.text("INSERT INTO outlier_ack (code, level, unit_id, month, state, comment, author, created_at) "
                          "VALUES ('emk_coverage', 'mo', 10, DATE '2026-01-01', 'ack', 'x', 'a', "
                          "TIMESTAMP '2026-02-01 10:00:00')"))
        assert c.execute(sa.text("SELECT ack_id FROM outlier_ack")).scalar() >= 1
    from alembic import command
    with db.write() as c:
        cfg = migrations._config()
        cfg.attributes["connection"] = c
        command.downgrade(cfg, "0006")
    with db.engine.connect() as c:
        assert not sa.inspect(c).has_table("outlier_ack")
    migrations.upgrade(db)
    assert migrations.state(db) == "current"
