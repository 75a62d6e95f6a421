"""The indicator registry, periods, scoring and evaluation against hand-computed values."""
from __future__ import annotations

import copy
import datetime as dt
import math
import tomllib

import numpy as np
import pandas as pd
import pytest

from core.periods import PeriodError, parse_period
from data_access import marts as M
from data_access import schema
from data_access.setup import create_contract
from metrics import RegistryError, load_registry
from metrics.histogram import percentile_from_hist
from metrics.model import REGISTRY_PATH, parse_registry
from metrics.scoring import gap, status


# ---------------------------------------------------------------- registry
def test_registry_declares_enough_indicators_in_every_group():
    reg = load_registry()
    assert len(reg.indicators) >= 16
    groups = reg.by_group()
    assert set(groups) == {"access", "prevention", "vaccination", "screening", "emk", "maternity", "morbidity", "load",
                           "registers", "quality", "volumes", "contract"}
    assert all(groups[g] for g in groups)
    for ind in reg:
        assert ind.method and ind.name and ind.unit and ind.levels
        assert ind.numerator is not None or ind.percentile is not None


def _raw():
    with open(REGISTRY_PATH, "rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["indicator"][0].update(group="nope"), "направление «nope» не объявлено"),
    (lambda d: d["indicator"][0].update(direction="sideways"), "direction должно быть up или down"),
    (lambda d: d["indicator"][0].update(numerator="missing_measure"), "мера «missing_measure» не объявлена"),
    (lambda d: d["indicator"][0].pop("method"), "не заданы поля ['method']"),
    (lambda d: d["indicator"][0].update(levels=["region", "ward"]), "неизвестные уровни ['ward']"),
    (lambda d: d["indicator"][0].update(target="высокая"), "должны быть числами"),
    (lambda d: d["indicator"][0].update(weight=-1), "вес не может быть отрицательным"),
    (lambda d: d["measures"]["visits"].update(mart="mart_nothing"), "нет витрины «mart_nothing»"),
    (lambda d: d["measures"]["visits"].update(expr="no_such_column"), "ссылается на колонки"),
    (lambda d: d["measures"]["visits"].update(filters={"colour": "red"}), "по колонке «colour»"),
    (lambda d: d["indicator"].append(dict(d["indicator"][0])), "код повторяется"),
    # population is not known per doctor: the registry refuses a doctor level for a per-capita rate
    (lambda d: next(i for i in d["indicator"] if i["code"] == "morb_new_100k")["levels"].append("doctor"),
     "не отвечает на уровнях ['doctor']"),
])
def test_a_broken_declaration_is_refused_with_a_clear_message(mutate, message):
    data = copy.deepcopy(_raw())
    mutate(data)
    with pytest.raises(RegistryError) as err:
        parse_registry(data)
    assert message in str(err.value)


def test_a_broken_registry_stops_the_app(tmp_path):
    bad = tmp_path / "indicators.toml"
    bad.write_text("[groups]\naccess = 'Доступность'\n[[indicator]]\ncode = 'x'\n")
    with pytest.raises(RegistryError, match="не заданы поля"):
        load_registry(bad)
    from app import create_app
    from tests.conftest import make_config
    with pytest.raises(RegistryError, match="не заданы поля"):
        create_app(make_config("duckdb:///" + str(tmp_path / "x.duckdb"), tmp_path, indicators_file=bad))


# ---------------------------------------------------------------- periods and scoring
@pytest.mark.parametrize("text,key,first,last,prev,ly", [
    ("2026-10", "2026-10", "2026-10", "2026-10", "2026-09", "2025-10"),
    ("2026-01", "2026-01", "2026-01", "2026-01", "2025-12", "2025-01"),
    ("2026-Q1", "2026-Q1", "2026-01", "2026-03", "2025-Q4", "2025-Q1"),
    ("2026-q3", "2026-Q3", "2026-07", "2026-09", "2026-Q2", "2025-Q3"),
    ("2025", "2025", "2025-01", "2025-12", "2024", "2024"),
    ("2026-10-YTD", "2026-10-YTD", "2026-01", "2026-10", "2026-09-YTD", "2025-10-YTD"),
    ("2026-01-ytd", "2026-01-YTD", "2026-01", "2026-01", "2025-12-YTD", "2025-01-YTD"),
])
def test_periods(text, key, first, last, prev, ly):
    p = parse_period(text)
    assert p.key == key and f"{p.first:%Y-%m}" == first and f"{p.last:%Y-%m}" == last
    assert p.previous().key == prev and p.last_year().key == ly


@pytest.mark.parametrize("text", ["", "2026-13", "2026-Q5", "26-10", "октябрь", "2026-10-01", "1999"])
def test_bad_periods_are_explained(text):
    with pytest.raises(PeriodError, match="не распознан"):
        parse_period(text)


@pytest.mark.parametrize("value,target,up,expected", [
    (96, 95, True, "good"), (95, 95, True, "good"), (91, 95, True, "warn"), (90, 95, True, "bad"),
    (2.9, 3, False, "good"), (3.1, 3, False, "warn"), (3.2, 3, False, "bad"), (None, 95, True, "none"),
    (float("nan"), 95, True, "none"),
])
def test_status_respects_direction(value, target, up, expected):
    assert status(value, target, up) == expected


def test_gap_is_negative_when_short_of_target():
    assert gap(90, 95, True) == -5 and gap(4, 3, False) == -1 and gap(2, 3, False) == 1


def test_percentile_from_histogram():
    h = pd.DataFrame({"unit_id": [1, 1, 1, 2], "v": [2, 5, 30, 1], "w": [3, 2, 5, 1]})
    r = percentile_from_hist(h, 0.5, ["unit_id"]).set_index("unit_id")
    assert r.loc[1, "value"] == 5 and r.loc[2, "value"] == 1 and r.loc[1, "weight"] == 10
    r90 = percentile_from_hist(h, 0.9, ["unit_id"]).set_index("unit_id")
    assert r90.loc[1, "value"] == 30


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_percentile_from_histogram_equals_a_row_by_row_reading(seed, p):
    rng = np.random.default_rng(seed)
    n = 300
    h = pd.DataFrame({"unit_id": rng.integers(1, 8, n), "tag": rng.choice(["cur", "prev"], n),
                      "v": rng.integers(0, 40, n), "w": rng.integers(0, 5, n).astype(float)})
    h = h.groupby(["unit_id", "tag", "v"], as_index=False)["w"].sum().sample(frac=1, random_state=seed)
    got = percentile_from_hist(h, p, ["unit_id", "tag"]).set_index(["unit_id", "tag"]).sort_index()
    for (unit, tag), grp in h.groupby(["unit_id", "tag"]):
        grp = grp.sort_values("v")
        total, running = grp["w"].sum(), 0.0
        for v, w in zip(grp["v"], grp["w"]):  # noqa: B007  (v after the break is the percentile)
            running += w
            if running >= p * total:
                break
        assert got.loc[(unit, tag), "value"] == v
        assert got.loc[(unit, tag), "weight"] == total
    assert len(got) == h[["unit_id", "tag"]].drop_duplicates().shape[0]


# ---------------------------------------------------------------- evaluation on a hand-made fixture
M25_09, M25_10, M26_09, M26_10 = dt.date(2025, 9, 1), dt.date(2025, 10, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)


def _booking(month, district, mo, doctor, within, bookings, cat="primary"):
    return dict(month=month, district_id=district, mo_id=mo, doctor_id=doctor, specialty_id=1, spec_category=cat,
                channel="portal", suspicion="none", bookings=bookings, attended=bookings, no_show=0, cancelled=0,
                pending=0, normed=bookings, within_norm=within, within_24h=within, wait_days_sum=0)


@pytest.fixture
def tiny(empty_db, make_app):
    """Two districts, three organisations, three doctors, four months of hand-made mart rows."""
    db = empty_db
    create_contract(db)
    M.create_marts(db)
    with db.engine.begin() as c:
        c.execute(schema.district.insert(), [dict(district_id=1, name="Альфа", okato=None),
                                             dict(district_id=2, name="Бета", okato=None)])
        c.execute(schema.mo.insert(), [
            dict(mo_id=mid, name=f"МО {mid}", short_name=f"МО {mid}", kind="adult_polyclinic", district_id=d,
                 parent_mo_id=None, is_state=True, has_attachment=True, oid="x") for mid, d in ((10, 1), (11, 1), (20, 2))])
        c.execute(schema.specialty.insert(), [dict(specialty_id=1, code="therapist", name="Терапевт", category="primary",
                                                   wait_norm="h24")])
        c.execute(schema.department.insert(), [dict(dept_id=1, mo_id=10, name="Отд", profile="therapy"),
                                               dict(dept_id=2, mo_id=20, name="Отд", profile="therapy")])
        c.execute(schema.doctor.insert(), [
            dict(doctor_id=100, full_name="Иванова А. А.", sex="F", specialty_id=1, mo_id=10, dept_id=1),
            dict(doctor_id=101, full_name="Петров Б. Б.", sex="M", specialty_id=1, mo_id=10, dept_id=1),
            dict(doctor_id=200, full_name="Сидорова В. В.", sex="F", specialty_id=1, mo_id=20, dept_id=2)])
        c.execute(M.mart_booking.insert(), [
            _booking(M26_10, 1, 10, 100, 8, 10), _booking(M26_10, 1, 10, 101, 3, 5), _booking(M26_10, 2, 20, 200, 9, 10),
            _booking(M26_10, 1, 10, 100, 7, 7, cat="specialist"),  # filtered out of the primary-care indicator
            _booking(M26_09, 1, 10, 100, 5, 10), _booking(M26_09, 2, 20, 200, 10, 10),
            _booking(M25_10, 1, 10, 100, 6, 10), _booking(M25_10, 2, 20, 200, 4, 5)])
        hist = [(M26_10, 1, 10, 2, 3), (M26_10, 1, 10, 5, 2), (M26_10, 1, 10, 30, 5), (M26_10, 2, 20, 1, 1)]
        c.execute(M.mart_wait_hist.insert(), [dict(month=m, district_id=d, mo_id=mo, spec_category="specialist",
                                                  wait_days=v, bookings=w) for m, d, mo, v, w in hist])
        c.execute(M.mart_population.insert(), [
            dict(month=m, district_id=1, mo_id=10, sex=s, age_group=8, population=p)
            for m in (M26_09, M26_10) for s, p in (("F", 600), ("M", 400))])
        c.execute(M.mart_morbidity.insert(), [
            dict(month=M26_09, district_id=1, mo_id=10, icd3="J06", sex="F", age_group=8, cases=7, new_cases=5),
            dict(month=M26_10, district_id=1, mo_id=10, icd3="J06", sex="F", age_group=8, cases=12, new_cases=10)])
        c.execute(M.mart_staff.insert(), [
            dict(month=m, district_id=1, mo_id=10, dept_id=1, specialty_id=1, spec_category="primary", positions=4,
                 rates=4.0, filled=f, vacant=4 - f, filled_open=o) for m, f, o in ((M26_09, 4, 1), (M26_10, 3, 3))])
        now = dt.datetime(2026, 11, 1)
        c.execute(M.build_log.insert(), [dict(mart="mart_visits", month=m, rows=1, built_at=now)
                                         for m in (M25_09, M25_10, M26_09, M26_10)])
    M.refresh_rollups(db)  # the rows above were written straight into the marts
    app = make_app(db)
    with app.app_context():
        yield app


def rows(code, level, period, parent=None):
    from metrics.evaluate import Context, children
    r = children(Context(code, level, parse_period(period), parent))
    return r.set_index("unit_id")


def test_ratio_at_every_level_with_comparisons(tiny):
    r = rows("access_primary_24h", "region", "2026-10").loc[0]
    assert r["numerator"] == 20 and r["denominator"] == 25 and r["value"] == pytest.approx(80.0)
    assert r["previous_value"] == pytest.approx(75.0) and r["last_year_value"] == pytest.approx(100 * 10 / 15)
    assert r["target"] == 90 and r["status"] == "bad"
    d = rows("access_primary_24h", "district", "2026-10")
    assert d.loc[1, "value"] == pytest.approx(100 * 11 / 15) and d.loc[2, "value"] == pytest.approx(90.0)
    assert d.loc[1, "previous_value"] == pytest.approx(50.0) and d.loc[2, "last_year_value"] == pytest.approx(80.0)
    assert list(d.index) == [2, 1]  # best first (higher is better)
    mo = rows("access_primary_24h", "mo", "2026-10", parent=1)
    assert list(mo.index) == [10] and mo.loc[10, "value"] == pytest.approx(100 * 11 / 15)
    doc = rows("access_primary_24h", "doctor", "2026-10", parent=10)
    assert doc.loc[100, "value"] == pytest.approx(80.0) and doc.loc[101, "value"] == pytest.approx(60.0)
    assert doc.loc[100, "unit_name"] == "Иванова А. А."
    # year-to-date sums the months with data: September and October 2026
    ytd = rows("access_primary_24h", "region", "2026-10-YTD").loc[0]
    assert ytd["numerator"] == 35 and ytd["value"] == pytest.approx(100 * 35 / 45)


def test_percentile_population_rate_and_stock(tiny):
    med = rows("access_specialist_median_wait", "region", "2026-10").loc[0]
    assert med["value"] == 5 and med["denominator"] == 11
    assert rows("access_specialist_median_wait", "mo", "2026-10", parent=1).loc[10, "value"] == 5
    assert rows("access_specialist_p90_wait", "district", "2026-10").loc[1, "value"] == 30
    # 10 new cases a month for 1,000 people → 12,000 per 100,000 a year
    assert rows("morb_new_100k", "district", "2026-10").loc[1, "value"] == pytest.approx(12_000)
    # the third quarter has one month with data (September): 5 cases, 1,000 people, × 12
    assert rows("morb_new_100k", "region", "2026-Q3").loc[0, "value"] == pytest.approx(6_000)
    # staffing is a stock: the quarter's value is its last month's (September 2026: 1 of 4 open)
    assert rows("access_open_positions", "mo", "2026-Q3", parent=1).loc[10, "value"] == pytest.approx(25.0)
    assert rows("access_open_positions", "mo", "2026-10", parent=1).loc[10, "value"] == pytest.approx(100.0)


def test_no_data_is_none_not_zero(tiny):
    r = rows("access_primary_24h", "region", "2025-09").loc[0]
    assert math.isnan(r["value"]) and r["status"] == "none"
    # a period before the data has no comparison values at all
    assert math.isnan(rows("access_primary_24h", "region", "2025-10").loc[0, "last_year_value"])


# ---------------------------------------------------------------- additivity on the generated city
ADDITIVE = [i.code for i in load_registry() if i.percentile is None and i.numerator.agg == "sum"]


@pytest.mark.parametrize("code", ADDITIVE)
def test_region_equals_sum_of_districts_and_organisations(city_app, code):
    from metrics.evaluate import Context, children, registry
    ind = registry()[code]
    with city_app.app_context():
        # a spring quarter; a seasonal indicator (influenza, autumn) is checked in its season
        for per in (parse_period("2026-Q2"), parse_period("2025-Q4")):
            region = children(Context(code, "region", per))
            num = region.loc[0, "numerator"]
            if num > 0:
                break
        assert num > 0
        if ind.valid_at("district"):
            assert children(Context(code, "district", per))["numerator"].sum() == pytest.approx(num)
        if ind.valid_at("mo") and ind.numerator.mart != "mart_morbidity":
            # morbidity is counted by the organisation of attachment: unattached residents have none
            assert children(Context(code, "mo", per))["numerator"].sum() == pytest.approx(num)
