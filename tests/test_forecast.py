"""The forecast of target attainment (metrics.forecast): projections of synthetic series with known seasonality
and trend, the verdict against the target in both directions, the fallbacks of short histories, forecast() against
forecasts() on the shared city, the scope, and the back-test."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pytest

from core.periods import month_add
from data_access.scope import Scope, ScopeError
from metrics import forecast as F
from metrics.model import Indicator, Measure

START = dt.date(2024, 7, 1)
MONTHS = [month_add(START, k) for k in range(30)]          # July 2024 .. December 2026
SEASON = 0.80 + 0.06 * np.sin(np.arange(12) / 12 * 2 * np.pi)  # the rate's seasonal profile by calendar month
VOLUME = 1000 + 300 * np.cos(np.arange(12) / 12 * 2 * np.pi)  # the denominator's seasonal volume


def _ind(direction="up", kind="ratio", target=90.0, den_agg="sum", den_expr=("shifts",)) -> Indicator:
    num = Measure("num", "mart_visits", "sum", ("visits",))
    den = Measure("den", "mart_visits", den_agg, den_expr) if kind == "ratio" else None
    return Indicator(code="t", name="t", short="t", group="access", method="m", unit="%" if kind == "ratio" else "случаев",
                     direction=direction, target=target, weight=1.0, levels=("region",), numerator=num, denominator=den,
                     factor=100.0 if kind == "ratio" else 1.0, kind=kind)


def _series(growth=1.05, drift=0.0):
    """Monthly rate = the seasonal profile + drift per year; volume = seasonal × growth per year."""
    years = np.array([m.year - START.year for m in MONTHS], dtype=float)
    rate = np.array([SEASON[m.month - 1] for m in MONTHS]) + drift * years
    den = np.array([VOLUME[m.month - 1] for m in MONTHS]) * growth ** years
    return rate * den, den


def _true_value(num, den, until):
    idx = [i for i, m in enumerate(MONTHS) if m.year == until.year and m <= until]
    return num[idx].sum() / den[idx].sum() * 100


def _project(ind, num, den, first: int, as_of: dt.date, until=dt.date(2026, 12, 1)):
    keep = [i for i, m in enumerate(MONTHS) if i >= first and m <= as_of]
    return F.project(ind, [MONTHS[i] for i in keep], num[keep], den[keep] if den is not None else None, as_of, until)


# ---------------------------------------------------------------- synthetic series
@pytest.mark.parametrize("as_of, first, method", [
    (dt.date(2026, 6, 1), 0, "ets_seasonal"),   # 24 months: two full years
    (dt.date(2026, 9, 1), 0, "ets_seasonal"),   # 27 months
    (dt.date(2026, 6, 1), 6, "snaive"),         # 18 months: one year of seasonal differences
    (dt.date(2026, 3, 1), 0, "snaive"),         # 21 months
])
def test_a_year_repeating_last_years_months_projects_its_end_value(as_of, first, method):
    # numerator and denominator this year are last year's months × 1.05: the rate repeats exactly
    num, den = _series(growth=1.05)
    ind = _ind()
    p = _project(ind, num, den, first, as_of)
    r = F.summarise(ind, p, as_of, 90.0)
    truth = _true_value(num, den, dt.date(2026, 12, 1))
    assert p.method == method and r["method"] == F.METHODS[method]
    assert r["value"] == pytest.approx(truth, abs=1e-6)
    assert r["low"] - 1e-9 <= truth <= r["high"] + 1e-9
    assert r["level_pct"] == 80 and r["history_months"] == len([m for m in MONTHS[first:] if m <= as_of])


def test_a_yearly_drift_is_carried_forward_by_the_seasonal_naive_forecast():
    # the rate rises by 2 percentage points a year in every month: the same month last year + the drift
    num, den = _series(growth=1.0, drift=0.02)
    ind = _ind()
    as_of = dt.date(2026, 4, 1)   # 22 months of history
    p = _project(ind, num, den, 0, as_of)
    truth = _true_value(num, den, dt.date(2026, 12, 1))
    assert p.method == "snaive"
    assert p.point[-1] == pytest.approx(truth, abs=1e-6)
    # the value to date of the observed months is the registry's (a ratio of sums)
    jan_apr = [i for i, m in enumerate(MONTHS) if dt.date(2026, 1, 1) <= m <= as_of]
    assert p.point[3] == pytest.approx(num[jan_apr].sum() / den[jan_apr].sum() * 100)


def test_noise_gives_an_interval_around_the_projection_that_holds_the_end_value():
    rng = np.random.default_rng(3)
    num, den = _series(growth=1.0)
    ind = _ind()
    rate = num / den + rng.normal(0, 0.01, len(MONTHS))
    num = rate * den
    r = F.summarise(ind, _project(ind, num, den, 0, dt.date(2026, 9, 1)), dt.date(2026, 9, 1), 90.0)
    truth = _true_value(num, den, dt.date(2026, 12, 1))
    assert r["low"] < r["value"] < r["high"]
    assert r["high"] - r["low"] < 3   # percentage points: a year mostly observed
    assert abs(r["value"] - truth) < 1.5


def test_a_count_is_summed_and_a_due_month_projects_january_to_that_month():
    num = np.array([10.0 + (m.month % 3) for m in MONTHS])
    ind = _ind(kind="count", target=100, direction="down")
    as_of, until = dt.date(2026, 3, 1), dt.date(2026, 6, 1)
    p = _project(ind, num, None, 0, as_of, until)
    r = F.summarise(ind, p, as_of, 100.0)
    assert p.months == [dt.date(2026, m, 1) for m in range(1, 7)]
    # the same months a year back repeat exactly: January..June summed
    assert r["value"] == pytest.approx(sum(10.0 + (m % 3) for m in range(1, 7)))
    assert r["reach"] == "yes" and "до июня" in r["text"]


# ---------------------------------------------------------------- the verdict
def _proj(point_end: float, spread: float, months=12, as_of_index=8) -> F.Projection:
    ms = [dt.date(2026, m, 1) for m in range(1, months + 1)]
    point = np.full(months, point_end)
    paths = np.tile(point, (F.PATHS, 1))
    paths[:, -1] = point_end + np.linspace(-spread, spread, F.PATHS)
    return F.Projection(ms, point, paths, "ets_seasonal", 24)


@pytest.mark.parametrize("direction, target, reach", [
    ("up", 80.0, "yes"), ("up", 85.0, "uncertain"), ("up", 90.0, "no"),
    ("down", 80.0, "no"), ("down", 85.0, "uncertain"), ("down", 90.0, "yes"),
])
def test_reach_respects_the_direction_and_the_interval(direction, target, reach, monkeypatch):
    monkeypatch.setitem(F.WIDEN, "ets_seasonal", 1.0)   # the model's own interval
    ind = _ind(direction=direction, target=target)
    r = F.summarise(ind, _proj(85.0, 4.0), dt.date(2026, 9, 1), target)
    assert r["low"] < 85 < r["high"] and r["low"] > 80 and r["high"] < 90
    assert r["reach"] == reach
    if reach == "no":
        assert r["text"].startswith("при текущей динамике цель не будет достигнута к концу года (прогноз 85,0")
        assert "80\u00a0% интервал 81,8–88,2" in r["text"]
        assert r["month_reached"] is None
    elif reach == "uncertain":
        assert "не гарантировано" in r["text"]
    else:
        assert r["text"].startswith("при текущей динамике цель будет удержана до конца года")


def test_the_interval_is_widened_by_the_calibrated_factor_within_the_possible_values():
    ind = _ind()
    raw = F.summarise(ind, _proj(85.0, 4.0), dt.date(2026, 9, 1), 90.0)   # model interval 81,8–88,2
    c = F.WIDEN["ets_seasonal"]
    assert c > 1
    assert raw["low"] == pytest.approx(85 - c * 3.2) and raw["high"] == pytest.approx(min(100.0, 85 + c * 3.2))
    p = _proj(99.0, 4.0)
    p.bounds = (0.0, 100.0)
    near = F.summarise(ind, p, dt.date(2026, 9, 1), 90.0)
    assert near["high"] == 100.0 and near["low"] == pytest.approx(99 - c * 3.2)


def test_the_month_the_target_is_reached_and_its_text():
    ind = _ind(target=90.0)
    ms = [dt.date(2026, m, 1) for m in range(1, 13)]
    point = np.array([80, 85, 91, 92, 93, 93, 94, 94, 95, 95, 95, 95], dtype=float)
    p = F.Projection(ms, point, np.tile(point, (F.PATHS, 1)) + np.linspace(-1, 1, F.PATHS)[:, None], "snaive", 18)
    r = F.summarise(ind, p, dt.date(2026, 1, 1), 90.0)
    assert r["reach"] == "yes" and r["month_reached"] == dt.date(2026, 3, 1)
    assert r["text"] == "при текущей динамике цель будет достигнута в марте"
    # a value falling back below the target is not «reached» at its first crossing
    point2 = point.copy()
    point2[4] = 89
    p2 = F.Projection(ms, point2, np.tile(point2, (F.PATHS, 1)), "snaive", 18)
    assert F.summarise(ind, p2, dt.date(2026, 1, 1), 90.0)["month_reached"] == dt.date(2026, 6, 1)


def test_a_plan_is_reached_when_the_cumulative_fact_meets_the_whole_years_plan():
    ind = _ind(target=100.0, den_expr=("plan_month",))
    ms = [dt.date(2026, m, 1) for m in range(1, 13)]
    plan = np.full(12, 100.0)
    fact = np.full(12, 110.0)                    # 110 % of the plan every month: 1 200 done by month 11 (1 210)
    point = np.cumsum(fact) / np.cumsum(plan) * 100
    p = F.Projection(ms, point, np.tile(point, (F.PATHS, 1)), "snaive", 18, num=fact, den=plan)
    r = F.summarise(ind, p, dt.date(2026, 3, 1), 100.0)
    assert r["reach"] == "yes" and r["month_reached"] == dt.date(2026, 11, 1)
    assert r["text"] == "при текущей динамике цель будет достигнута в ноябре"


def test_a_due_month_already_observed_gives_the_actual_value():
    num, den = _series()
    ind = _ind(target=80.0)
    p = _project(ind, num, den, 0, dt.date(2026, 9, 1), until=dt.date(2026, 6, 1))
    r = F.summarise(ind, p, dt.date(2026, 9, 1), 80.0)
    assert p.method == "actual" and r["low"] == r["high"] == r["value"]
    assert r["value"] == pytest.approx(_true_value(num, den, dt.date(2026, 6, 1)))
    assert r["text"].startswith("цель достигнута (значение 8")


# ---------------------------------------------------------------- short histories
@pytest.mark.parametrize("first, as_of, method", [
    (0, dt.date(2025, 3, 1), "ets_damped"),       # 9 months, July 2024 .. March 2025
    (12, dt.date(2026, 3, 1), "ets_damped"),      # 9 months
    (15, dt.date(2026, 6, 1), "ets_damped"),      # 9 months
    (8, dt.date(2026, 6, 1), "snaive"),           # 16 months
    (18, dt.date(2026, 4, 1), "none"),            # 4 months, January..April 2026
])
def test_short_histories_fall_back_and_say_so(first, as_of, method):
    num, den = _series()
    ind = _ind()
    p = _project(ind, num, den, first, as_of, until=dt.date(as_of.year, 12, 1))
    r = F.summarise(ind, p, as_of, 90.0)
    assert p.method == method and r["method"] == F.METHODS[method]
    if method == "none":
        assert r["value"] is None and r["reach"] is None and r["text"] == "недостаточно данных для прогноза"
        assert r["history_months"] == 4
    else:
        assert r["value"] is not None and r["reach"] in ("yes", "no", "uncertain")
    if method == "ets_damped":
        assert "без сезонности" in r["method"]


def test_a_year_that_began_before_the_data_is_not_projected():
    num, den = _series()
    as_of = dt.date(2024, 12, 1)   # history from July: January..June 2024 unknown
    r = F.summarise(_ind(), _project(_ind(), num, den, 0, as_of, until=as_of), as_of, 90.0)
    assert r["value"] is None and r["text"] == F.INSUFFICIENT


def test_a_warm_up_of_zeros_does_not_count_as_history():
    num, den = _series()
    num[:11] = 0.0     # a 12-month window filling: nothing counted for the first eleven months
    p = _project(_ind(), num, den, 0, dt.date(2026, 9, 1))
    assert p.history == 16 and p.method == "snaive"


# ---------------------------------------------------------------- on the shared city
def _last_month():
    from metrics.evaluate import data_months
    return data_months()[-1]


@pytest.mark.parametrize("code", ["access_primary_24h", "prev_adult_plan", "morb_new_100k", "contract_complaints",
                                  "access_specialist_median_wait"])
def test_forecast_and_forecasts_agree_for_a_unit(city_app, code):
    from data_access import units as U
    with city_app.app_context():
        as_of = _last_month()
        d = F.forecasts(code, "district", None, as_of)
        assert list(d.columns[:8]) == ["unit_id", "value", "low", "high", "target", "reach", "month_reached", "text"]
        assert len(d) > 1 and d["unit_id"].is_unique
        judged = d[d["value"].notna()]
        assert len(judged) > 0
        row = judged.iloc[0]
        one = F.forecast(code, "district", int(row["unit_id"]), as_of)
        for k in ("value", "low", "high", "target"):
            assert one[k] == pytest.approx(row[k])
        assert one["reach"] == row["reach"] and one["text"] == row["text"]
        assert one["history_months"] == 15 and one["method"] == F.METHODS["snaive"]
        assert one["low"] <= one["value"] <= one["high"]
        # an organisation under its district
        mo = U.organisations()
        mo = mo[mo["district_id"] == int(row["unit_id"])]
        m = F.forecasts(code, "mo", int(row["unit_id"]), as_of)
        m = m[m["value"].notna() & m["unit_id"].isin(mo["mo_id"])]
        if len(m):
            r = m.iloc[0]
            one = F.forecast(code, "mo", int(r["unit_id"]), as_of)
            assert one["value"] == pytest.approx(r["value"]) and one["high"] == pytest.approx(r["high"])
        city = F.forecast(code, "region", None, as_of)
        assert city["value"] is not None and city["text"]


def test_forecast_of_the_city_matches_the_observed_value_to_date(city_app):
    from core.periods import Period
    from metrics.evaluate import unit_value
    with city_app.app_context():
        as_of = _last_month()
        r = F.forecast("emk_coverage", "region", None, as_of)
        ytd = unit_value("emk_coverage", "region", None, Period("ytd", dt.date(as_of.year, 1, 1), as_of))
        assert r["observed"] == pytest.approx(ytd["value"])
        # the due month already passed: the actual value and its verdict
        past = F.forecast("emk_coverage", "region", None, as_of, until=dt.date(as_of.year, 6, 1))
        six = unit_value("emk_coverage", "region", None, Period("ytd", dt.date(as_of.year, 1, 1), dt.date(as_of.year, 6, 1)))
        assert past["value"] == pytest.approx(six["value"]) and past["method"] == F.METHODS["actual"]
        assert past["text"].startswith("цель ")


def test_a_unit_outside_the_scope_is_refused(city_app):
    from data_access import units as U
    with city_app.app_context():
        as_of = _last_month()
        ds = U.districts()["district_id"].tolist()
        mine, other = int(ds[0]), int(ds[1])
        scope = Scope(districts=frozenset({mine}), label="район")
        assert F.forecast("access_primary_24h", "district", mine, as_of, scope=scope)["text"]
        with pytest.raises(ScopeError):
            F.forecast("access_primary_24h", "district", other, as_of, scope=scope)
        with pytest.raises(ScopeError):
            F.forecasts("access_primary_24h", "mo", other, as_of, scope=scope)
        rows = F.forecasts("access_primary_24h", "district", None, as_of, scope=scope)
        assert set(rows["unit_id"]) == {mine}


def test_backtest_reports_coverage_on_the_city(city_app):
    with city_app.app_context():
        cases = F.backtest(codes=["access_primary_24h", "emk_coverage", "prev_adult_plan"],
                           units=(("region", None), ("district", None)))
        assert len(cases) > 10
        assert set(cases["until"]) == {_last_month()}
        s = F.backtest_summary(cases).iloc[0]
        assert 0 <= s["coverage"] <= 1 and s["n"] == len(cases) and s["median_abs_error"] >= 0


def test_the_methods_document_states_the_measured_coverage():
    text = (Path(__file__).resolve().parents[1] / "docs" / "methods.md").read_text(encoding="utf-8")
    assert "bench/forecast_backtest.py" in text
    m = re.search(r"Покрытие 80-процентного интервала: (\d{1,3}(?:,\d)?)\s%", text)
    assert m, "docs/methods.md states the measured coverage of the 80 % interval"
