"""Forecast of target attainment: where an indicator's value over the year (or up to a due month) is heading.

For one unit (``forecast``) or every child of a parent (``forecasts``) the value of the period January..``until``
(December by default) is projected from the monthly history up to ``as_of``, exactly as the registry defines
the value over those months (a ratio of sums, a count, a stock at the period's end, annualised where declared);
the months already observed are taken as they are, only the remaining ones are forecast. The method and why it
suits 15–27 months of monthly history are set out in ``docs/methods.md``; in short:

- what is modelled is the *monthly rate* of the indicator (numerator / denominator of the month; a count's
  monthly count; a percentile's monthly value), the denominator being only the weight of each future month:
  it is projected as the same month of last year times the recent year-on-year change (a plan spread over the
  year, a cohort, the bookings of a season), without an interval of its own. The numerator of a future month
  is rate × denominator, and the period's value is formed from observed + projected sums. Forecasting the
  numerator and the denominator separately would treat their errors as independent, while they move together,
  and inflate the interval of the ratio;
- the rate series is forecast by exponential smoothing (statsmodels ``ETSModel``): with two full years of
  history an additive damped trend and an additive 12-month seasonality (heuristic initial states from a
  classical decomposition, so only the four smoothing parameters are estimated); with 15–23 months — one
  year of seasonal differences — the seasonal naive forecast with drift (the same month last year plus the
  mean year-on-year change); with 6–14 months a damped trend without seasonality; below 6 months there is no
  forecast («недостаточно данных для прогноза»);
- the interval comes from simulated future paths of the model (500 paths; for the seasonal naive forecast, the
  spread of the year-on-year changes plus the uncertainty of their mean), each path turned into the period's
  value: 80 % by default (the 10th and 90th percentiles), widened around the point forecast by a factor per
  method (``WIDEN``) calibrated by back-testing, since the models' own intervals on short series are too
  narrow. ``backtest`` measures how often the real value falls inside it.

The verdict ``reach`` compares the interval with the target in force for the period (``metrics.targets``) in
the indicator's direction: ``yes`` — the whole interval on the good side, ``no`` — on the bad side, ``uncertain``
— across it. ``month_reached`` is the first month at which the projected value to date meets the target and
stays on the good side up to ``until``; for a plan spread over the year (denominator ``plan_month`` or
``target_month``: dispensarisation, screening, volumes of care) it is the month in which the projected
cumulative fact reaches the target share of the whole period's plan (the plan is fulfilled). A due month
already observed (``until`` ≤ ``as_of``) gives the actual value, with the same verdict.
"""
from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import fmt
from core.periods import Period, month_add
from data_access import units as U
from data_access.cache import cached
from data_access.scope import CITY, Scope

from . import query as Q
from .evaluate import Context, EvaluationError, NotFound, _names, _rows_of, check, data_months, frame
from .histogram import percentile_from_hist
from .model import Indicator, evaluate_formula
from .registry import registry
from .targets import targets_for

LEVEL_PCT = 80             # the interval's coverage, %
MIN_MONTHS = 6             # fewer months of history: no forecast
SNAIVE_MONTHS = 15         # from here: the seasonal naive forecast with drift (three year-on-year differences at least)
SEASONAL_MONTHS = 24       # from here: exponential smoothing with seasonality (two full years)
MAX_HISTORY = 48           # months of history used at most
PATHS = 500                # simulated paths per forecast
SEED = 20260901            # fixed: the same data give the same interval
PLAN_COLUMNS = {"plan_month", "target_month"}  # a year's plan spread over its months: the fact accumulates towards it
# The models' own intervals are too narrow on short series (they ignore the uncertainty of the parameters and
# initial states, and take the months' errors as independent): the interval of the period's value is widened
# around the point forecast by these factors, calibrated by the back-test on the generated history
# (docs/methods.md), and kept inside the values the indicator can take.
WIDEN = {"ets_seasonal": 2.1, "snaive": 1.65, "ets_damped": 4.2}

METHODS = {
    "ets_seasonal": "экспоненциальное сглаживание с затухающим трендом и сезонностью",
    "snaive": "сезонный наивный прогноз с дрейфом (тот же месяц прошлого года и средний годовой прирост)",
    "ets_damped": "экспоненциальное сглаживание с затухающим трендом, без сезонности (история короче 15 месяцев)",
    "actual": "фактическое значение",
    "none": f"прогноз не строится: история короче {MIN_MONTHS} месяцев",
}
INSUFFICIENT = "недостаточно данных для прогноза"

# Month names in the cases the texts need (core.fmt has the nominative and the genitive).
MONTHS_PREP = ["январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе", "сентябре", "октябре",
               "ноябре", "декабре"]   # «в марте»
MONTHS_DAT = ["январю", "февралю", "марту", "апрелю", "маю", "июню", "июлю", "августу", "сентябрю", "октябрю",
              "ноябрю", "декабрю"]    # «к декабрю»

RESULT_COLS = ["unit_id", "value", "low", "high", "target", "reach", "month_reached", "text", "method",
               "history_months", "observed", "unit_name"]


# ------------------------------------------------------------------ the projection of one unit
@dataclass
class Projection:
    """The value to date of every month of the period, projected: the point path and simulated paths."""
    months: list[dt.date]        # January..until of until's year
    point: np.ndarray            # (M,) value over January..month
    paths: np.ndarray            # (PATHS, M)
    method: str                  # a key of METHODS
    history: int                 # months of history the model saw
    num: np.ndarray | None = None   # (M,) monthly numerator, observed + projected (point)
    den: np.ndarray | None = None   # (M,) monthly denominator
    bounds: tuple[float, float] = (-np.inf, np.inf)   # the values the indicator can take (a share: 0..100 %)

    @property
    def ok(self) -> bool:
        return self.method != "none"


def period_months(until: dt.date) -> list[dt.date]:
    """January..until of until's year."""
    return Period("ytd", dt.date(until.year, 1, 1), until).months


def _years_ahead(h: int) -> np.ndarray:
    """For steps 1..h ahead: how many years back the same month is (1 for the first 12 steps)."""
    return (np.arange(h) // 12 + 1).astype(int)


def _interpolate(x: np.ndarray) -> np.ndarray:
    """Missing months of a rate (no denominator that month) filled linearly, ends by the nearest month."""
    s = pd.Series(x, dtype=float)
    return s.interpolate(limit_direction="both").to_numpy()


def _ets(x: np.ndarray, h: int, seasonal: bool) -> tuple[np.ndarray, np.ndarray]:
    """Point forecast (h,) and simulated paths (PATHS, h) of an additive-error ETS with a damped trend."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    kw = dict(error="add", trend="add", damped_trend=True)
    if seasonal:
        kw.update(seasonal="add", seasonal_periods=12, initialization_method="heuristic")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        res = ETSModel(np.asarray(x, dtype=float), **kw).fit(disp=False)
        point = np.asarray(res.forecast(h), dtype=float)
        sims = np.asarray(res.simulate(h, repetitions=PATHS, anchor="end", rng=np.random.default_rng(SEED)), dtype=float)
    sims = sims.reshape(h, PATHS).T
    if not (np.isfinite(point).all() and np.isfinite(sims).all()):
        raise ValueError("ETS gave no finite forecast")
    return point, sims


def _snaive(x: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Seasonal naive with drift: the same month a year back plus the mean year-on-year change (per year ahead).

    The paths add the spread of the year-on-year changes (independent between months) and the uncertainty of
    their mean (shared by all months of a path)."""
    n = len(x)
    k = min(n - 12, 12)
    diffs = x[n - k:] - x[n - k - 12:n - 12]
    drift = float(diffs.mean())
    sd = float(diffs.std(ddof=1)) if k > 1 else 0.0
    years = _years_ahead(h)
    base = np.array([x[n + j - 12 * years[j]] if n + j - 12 * years[j] >= 0 else x[-1] for j in range(h)])
    point = base + drift * years
    rng = np.random.default_rng(SEED)
    sims = point + rng.normal(0.0, sd, (PATHS, h)) + rng.normal(0.0, sd / math.sqrt(k), (PATHS, 1)) * years
    return point, sims


def _model(x: np.ndarray, h: int, force: str | None = None) -> tuple[str, np.ndarray, np.ndarray]:
    """The method chosen by the history's length, its point forecast and simulated paths of the next h months."""
    n = len(x)
    method = force or ("ets_seasonal" if n >= SEASONAL_MONTHS else "snaive" if n >= SNAIVE_MONTHS else "ets_damped")
    if np.ptp(x) <= 1e-12 * max(1.0, abs(float(x[-1]))):  # a constant series: it stays so (ETS cannot be fitted)
        point = np.full(h, float(x[-1]))
        return method, point, np.tile(point, (PATHS, 1))
    if method == "snaive":
        return (method, *_snaive(x, h))
    try:
        return (method, *_ets(x, h, seasonal=method == "ets_seasonal"))
    except (ValueError, np.linalg.LinAlgError):  # an unstable fit: the simpler method of the same history
        if method == "ets_seasonal":
            return ("snaive", *_snaive(x, h))
        point = np.full(h, float(np.mean(x[-3:])))
        sd = float(np.std(x, ddof=1)) if n > 1 else 0.0
        return method, point, point + np.random.default_rng(SEED).normal(0.0, sd, (PATHS, h))


def _weights(d: np.ndarray, h: int) -> np.ndarray:
    """The denominator of the next h months: the same month a year back × the change of the last three months
    against the same months a year before (a plan, a cohort, a season's volume); without a year of history,
    the mean of the last three months."""
    n = len(d)
    if n >= 15 and (before := float(d[n - 15:n - 12].sum())) > 0:
        growth = float(d[n - 3:].sum()) / before
        years = _years_ahead(h)
        out = np.array([d[n + j - 12 * years[j]] * growth ** years[j] if n + j - 12 * years[j] >= 0 else np.nan
                        for j in range(h)])
        if np.isfinite(out).all():
            return out
    tail = d[max(0, n - 3):]
    return np.full(h, float(tail.mean()) if len(tail) else 0.0)


def _to_date(ind: Indicator, num: np.ndarray, den: np.ndarray | None) -> np.ndarray:
    """The value over January..each month of arrays of monthly numerators and denominators (..., M), as the
    registry defines it (metrics.evaluate: sums, averages of months, stocks at the end, annualisation)."""
    k = np.arange(1, num.shape[-1] + 1, dtype=float)

    def agg(a, how):
        if how == "last":
            return a
        c = np.cumsum(a, axis=-1)
        return c / k if how == "avg_months" else c

    with np.errstate(divide="ignore", invalid="ignore"):
        if ind.kind == "percentile":  # approximated by the weighted mean of the monthly percentiles
            w = np.cumsum(den, axis=-1)
            pw = np.where(den > 0, np.nan_to_num(num) * den, 0.0)   # a month without bookings weighs nothing
            return np.where(w > 0, np.cumsum(pw, axis=-1) / w, np.nan)
        if den is None:
            val = agg(num, ind.numerator.agg) * ind.factor
        else:
            n_, d_ = agg(num, ind.numerator.agg), agg(den, ind.denominator.agg)
            val = np.where(d_ > 0, n_ / d_ * ind.factor, np.nan)
    return val * 12 / k if ind.annualize else val


def project(ind: Indicator, months: list[dt.date], num, den, as_of: dt.date, until: dt.date,
            force: str | None = None) -> Projection:
    """Project one unit's base indicator (ratio, count, percentile) from its monthly history.

    Args:
        ind: the indicator (not derived).
        months: consecutive months of the history, the last ≤ ``as_of`` (later ones are ignored).
        num, den: the monthly numerator and denominator on ``months`` (a count: den None; a percentile: the
            month's percentile and its weight).
        as_of: the last month of data to use.
        until: the last month of the period (January..until of its year).
        force: a method key to use whatever the history's length (back-test comparisons).
    """
    keep = [i for i, m in enumerate(months) if m <= as_of]
    months = [months[i] for i in keep]
    num = np.asarray(num, dtype=float)[keep]
    den = None if den is None or ind.kind == "count" else np.asarray(den, dtype=float)[keep]
    pm = period_months(until)
    M = len(pm)
    have = dict(zip(months, range(len(months))))
    observed = [m for m in pm if m <= as_of]
    future = [m for m in pm if m > as_of]
    empty = Projection(pm, np.full(M, np.nan), np.full((PATHS, M), np.nan), "none", 0)
    if any(m not in have for m in observed):  # the period begins before the data: nothing to build on
        return empty
    # the modelled series: the monthly rate from the first month with data
    if ind.kind == "count":
        x, first = num, 0
    else:
        valid = den > 0 if ind.kind != "percentile" else (den > 0) & np.isfinite(num)
        if not valid.any():
            return empty
        first = int(np.argmax(valid))
        if ind.kind == "ratio":
            # a numerator that is zero for the first months and never after is a warm-up (a 12-month window
            # filling, a register being loaded), not the unit's level: the history starts when it ends
            nz = np.flatnonzero(valid & (num > 0))
            if len(nz) and nz[0] - first >= 3 and (num[nz[0]:][valid[nz[0]:]] > 0).all():
                first = int(nz[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(valid, num / den if ind.kind != "percentile" else num, np.nan)
    x = x[first:][-MAX_HISTORY:]
    n = len(x)
    obs_num = np.array([num[have[m]] for m in observed])
    obs_den = np.array([den[have[m]] for m in observed]) if den is not None else None
    if not future:
        val = _to_date(ind, obs_num, obs_den)
        return Projection(pm, val, np.tile(val, (PATHS, 1)), "actual", n, obs_num, obs_den)
    if n < MIN_MONTHS:
        empty.history = n
        return empty
    x = _interpolate(x)
    h = (until.year - as_of.year) * 12 + until.month - as_of.month   # steps from as_of to until
    method, xp, xs = _model(x, h, force)
    share = ind.unit == "%" and ind.factor == 100 and ind.kind == "ratio" and np.nanmax(x) <= 1
    hi = 1.0 if share else np.inf
    xp, xs = np.clip(xp, 0.0, hi), np.clip(xs, 0.0, hi)
    one_agg = share and ind.numerator.agg == ind.denominator.agg and not ind.annualize   # a share of the period too
    bounds = (0.0, float(ind.factor) if one_agg else np.inf)
    f = len(future)
    xp, xs = xp[-f:], xs[:, -f:]
    if den is not None:
        d_hist = den[first:][-MAX_HISTORY:]
        w = _weights(d_hist, h)[-f:]
        fut_num_p, fut_num_s = (xp * w, xs * w) if ind.kind != "percentile" else (xp, xs)
        den_p = np.concatenate([obs_den, w])
        den_s = np.tile(den_p, (PATHS, 1))
    else:
        fut_num_p, fut_num_s, den_p, den_s = xp, xs, None, None
    num_p = np.concatenate([obs_num, fut_num_p])
    num_s = np.concatenate([np.tile(obs_num, (PATHS, 1)), fut_num_s], axis=1)
    return Projection(pm, _to_date(ind, num_p, den_p), _to_date(ind, num_s, den_s), method, n, num_p, den_p, bounds)


def _combine(ind: Indicator, parts: dict[str, Projection]) -> Projection:
    """A derived indicator's projection: its formula over the inputs' paths (inputs taken as independent)."""
    first = next(iter(parts.values()))
    if any(not p.ok for p in parts.values()):
        bad = min(parts.values(), key=lambda p: (p.ok, p.history))
        return Projection(first.months, np.full(len(first.months), np.nan), np.full((PATHS, len(first.months)), np.nan),
                          "none", bad.history)
    point = evaluate_formula(ind.formula, {c: p.point for c, p in parts.items()}) * ind.factor
    paths = evaluate_formula(ind.formula, {c: p.paths for c, p in parts.items()}) * ind.factor
    weakest = min(parts.values(), key=lambda p: p.history)
    method = "actual" if all(p.method == "actual" for p in parts.values()) else weakest.method
    return Projection(first.months, np.asarray(point, dtype=float), np.asarray(paths, dtype=float), method,
                      weakest.history)


# ------------------------------------------------------------------ the verdict and its text
def _good(ind: Indicator, v: float, target: float) -> bool:
    return v >= target if ind.higher_is_better else v <= target


def _value_text(ind: Indicator, v: float) -> str:
    return f"{fmt.number(v, ind.decimals)}{fmt.NBSP}{ind.unit}"


def _month_text(m: dt.date, names: list[str], as_of: dt.date) -> str:
    return names[m.month - 1] + (f" {m.year}" if m.year != as_of.year else "")


def summarise(ind: Indicator, p: Projection, as_of: dt.date, target: float | None, level_pct: int = LEVEL_PCT) -> dict:
    """The projection at ``until`` as the forecast's dict (see ``forecast``)."""
    until = p.months[-1]
    out = {"value": None, "low": None, "high": None, "level_pct": level_pct, "target": target, "reach": None,
           "month_reached": None, "method": METHODS[p.method], "history_months": int(p.history), "text": INSUFFICIENT,
           "as_of": as_of, "until": until, "observed": None}
    obs_idx = [i for i, m in enumerate(p.months) if m <= as_of]
    if obs_idx and np.isfinite(p.point[obs_idx[-1]]) and p.ok:
        out["observed"] = float(p.point[obs_idx[-1]])
    value = float(p.point[-1]) if p.ok else float("nan")
    if not p.ok or not math.isfinite(value):
        out["method"] = METHODS["none"] if not p.ok else out["method"]
        return out
    tail = (100 - level_pct) / 2
    sims = p.paths[:, -1]
    sims = sims[np.isfinite(sims)]
    low, high = (np.percentile(sims, [tail, 100 - tail]) if len(sims) else (value, value))
    low, high = min(float(low), value), max(float(high), value)
    c = WIDEN.get(p.method, 1.0)   # the calibrated widening of the model's interval, kept inside the possible values
    low, high = max(value - c * (value - low), p.bounds[0]), min(value + c * (high - value), p.bounds[1])
    out.update(value=value, low=low, high=high)
    if target is None or not math.isfinite(target):
        out["text"] = f"прогноз {_value_text(ind, value)}"
        return out
    if _good(ind, low, target) and _good(ind, high, target):
        reach = "yes"
    elif not _good(ind, low, target) and not _good(ind, high, target):
        reach = "no"
    else:
        reach = "uncertain"
    out["reach"] = reach
    if _good(ind, value, target):
        out["month_reached"] = _month_reached(ind, p, target)
    out["text"] = _text(ind, out, as_of, p.method == "actual")
    return out


def _month_reached(ind: Indicator, p: Projection, target: float) -> dt.date | None:
    """The first month at which the target is met for good (see the module docstring)."""
    plan = (ind.kind == "ratio" and ind.higher_is_better and ind.denominator is not None and p.num is not None
            and p.den is not None and ind.denominator.agg == "sum" and ind.numerator.agg == "sum"
            and set(ind.denominator.expr) <= PLAN_COLUMNS)
    if plan:  # the cumulative fact against the whole period's plan
        total = float(np.sum(p.den))
        done = np.cumsum(p.num) * ind.factor
        hit = np.flatnonzero(done >= target * total - 1e-9)
        return p.months[int(hit[0])] if len(hit) else None
    ok = np.array([math.isfinite(v) and _good(ind, v, target) for v in p.point])
    if not ok[-1]:
        return None
    bad = np.flatnonzero(~ok)
    return p.months[int(bad[-1]) + 1 if len(bad) else 0]


def _text(ind: Indicator, r: dict, as_of: dt.date, actual: bool) -> str:
    until = r["until"]
    pct = f"{r['level_pct']}{fmt.NBSP}%"
    nums = (f"прогноз {_value_text(ind, r['value'])}, {pct} интервал "
            f"{fmt.number(r['low'], ind.decimals)}–{fmt.number(r['high'], ind.decimals)}")
    goal = f"цель {_value_text(ind, r['target'])}"
    if actual:
        shown = _value_text(ind, r["value"])
        return f"цель достигнута (значение {shown})" if r["reach"] == "yes" else \
            f"цель не достигнута (значение {shown} при цели {_value_text(ind, r['target'])})"
    by = "к концу года" if until.month == 12 else f"к {_month_text(until, MONTHS_DAT, as_of)}"
    to = "до конца года" if until.month == 12 else f"до {_month_text(until, fmt.MONTHS_GEN, as_of)}"
    if r["reach"] == "yes":
        m = r["month_reached"]
        if m is not None and m > as_of:
            return f"при текущей динамике цель будет достигнута в {_month_text(m, MONTHS_PREP, as_of)}"
        return f"при текущей динамике цель будет удержана {to} ({nums})"
    if r["reach"] == "no":
        return f"при текущей динамике цель не будет достигнута {by} ({nums})"
    return f"при текущей динамике достижение цели {by} не гарантировано ({nums}; {goal})"


# ------------------------------------------------------------------ reading the history (the semantic query)
def _history_months(as_of: dt.date) -> list[dt.date]:
    """The consecutive months with data up to as_of (a gap in the build log ends the history before it)."""
    months = [m for m in data_months() if m <= as_of]
    out: list[dt.date] = []
    for m in reversed(months):
        if out and month_add(m, 1) != out[0]:
            break
        out.insert(0, m)
    return out


def _read(ind: Indicator, level: str, parent, months: list[dt.date], scope: Scope, only=None) -> pd.DataFrame:
    """unit_id, month, num, den of every unit of ``level`` under ``parent`` (only one unit: ``only``), one query
    per mart for all months (each month a tag); a percentile's num is the month's percentile, den its weight."""
    cols = ["unit_id", "month", "num", "den"]
    if not months:
        return pd.DataFrame(columns=cols)
    rows, by = _rows_of(level, U.PARENT_LEVEL[level], parent)
    tags = tuple((f"{m:%Y-%m}", (m,)) for m in months)
    unit_filter = ((U.LEVELS[level].column, (int(only),)),) if only is not None and level != "region" else ()

    def frame_of(df: pd.DataFrame) -> pd.DataFrame:
        if level == "region":
            df.insert(0, "unit_id", 0)
        else:
            df = df.rename(columns={level: "unit_id"})
        return df

    if ind.percentile is not None:
        m = ind.denominator
        q = Q.Query((f"{m.mart}.{m.weight}",), by + (m.expr[0],), rows, "indicator", tags, m.filters + unit_filter)
        h = frame_of(Q.run(q, scope).rename(columns={m.expr[0]: "v", m.weight: "w"}))
        r = percentile_from_hist(h, ind.percentile, ["unit_id", "tag"])
        out = pd.DataFrame({"unit_id": r["unit_id"], "tag": r["tag"], "num": r["value"].astype(float),
                            "den": r["weight"].astype(float)})
    else:
        measures = [x for x in (ind.numerator, ind.denominator) if x is not None]
        parts = []
        for mart in dict.fromkeys(x.mart for x in measures):  # one query per mart (marts differ in their rows)
            q = Q.Query(tuple(x.name for x in measures if x.mart == mart), by, rows, "indicator", tags, unit_filter)
            parts.append(frame_of(Q.run(q, scope)).set_index(["unit_id", "tag"]))
        both = pd.concat(parts, axis=1).fillna(0.0).astype(float).reset_index()
        out = pd.DataFrame({"unit_id": both["unit_id"], "tag": both["tag"], "num": both[ind.numerator.name],
                            "den": both[ind.denominator.name] if ind.denominator is not None else np.nan})
    out = out[out["unit_id"].notna()].copy()   # rows of no unit at this level (residents attached nowhere)
    out["month"] = [dt.date(int(t[:4]), int(t[5:7]), 1) for t in out["tag"]]
    out["unit_id"] = out["unit_id"].astype(int)
    return out[cols]


def _split(ind: Indicator, df: pd.DataFrame, months: list[dt.date]) -> dict[int, tuple[np.ndarray, np.ndarray | None]]:
    """Every unit's rows as arrays on the history's months (a month without rows: zero; a percentile: missing)."""
    if df.empty:
        return {}
    fill = np.nan if ind.kind == "percentile" else 0.0
    num = df.pivot_table(index="unit_id", columns="month", values="num", aggfunc="sum").reindex(columns=months)
    num = num.astype(float).fillna(fill)
    den = None
    if ind.kind != "count":
        den = df.pivot_table(index="unit_id", columns="month", values="den", aggfunc="sum").reindex(
            index=num.index, columns=months).astype(float).fillna(0.0)
    return {int(u): (num.iloc[i].to_numpy(), den.iloc[i].to_numpy() if den is not None else None)
            for i, u in enumerate(num.index)}


def _inputs(ind: Indicator) -> list[Indicator]:
    """The base indicators a (possibly derived) indicator is made of."""
    reg = registry()
    if ind.kind != "derived":
        return [ind]
    out: list[Indicator] = []
    for c in ind.inputs:
        out += [i for i in _inputs(reg[c]) if i.code not in {o.code for o in out}]
    return out


def _project_unit(ind: Indicator, data: dict[str, dict], unit_id: int, months, as_of, until,
                  exact: dict[str, float | None]) -> Projection:
    """A unit's projection from the rows read for every base input."""
    reg = registry()
    if ind.kind == "derived":
        return _combine(ind, {c: _project_unit(reg[c], data, unit_id, months, as_of, until, exact) for c in ind.inputs})
    num, den = data[ind.code].get(unit_id) or (np.zeros(len(months)), None if ind.kind == "count" else np.zeros(len(months)))
    p = project(ind, months, num, den, as_of, until)
    shift = exact.get(ind.code) if exact else None
    if ind.kind == "percentile" and shift is not None and p.ok:
        # the observed part's exact percentile replaces the weighted mean of monthly percentiles
        i = max(i for i, m in enumerate(p.months) if m <= as_of)
        delta = shift - p.point[i]
        if math.isfinite(delta):
            p.point, p.paths = p.point + delta, p.paths + delta
    return p


def _exact(ind: Indicator, level: str, parent, as_of: dt.date, until: dt.date, scope: Scope) -> dict:
    """The exact value to date at as_of of the percentile inputs (unit_id → value), for the shift above."""
    out: dict[str, dict] = {}
    for b in _inputs(ind):
        if b.kind == "percentile" and as_of.year == until.year:
            f = frame(b.code, level, Period("ytd", dt.date(until.year, 1, 1), min(as_of, until)), parent, scope)
            out[b.code] = dict(zip(f["unit_id"].astype(int), f["value"].astype(float)))
    return out


# ------------------------------------------------------------------ public API
def _until(as_of: dt.date, until: dt.date | None) -> dt.date:
    return (until or dt.date(as_of.year, 12, 1)).replace(day=1)


def _as_of(as_of: dt.date) -> dt.date:
    """The first day of as_of's month, no later than the last month with data."""
    months = data_months()
    m = as_of.replace(day=1)
    return min(m, months[-1]) if months else m


def _period(until: dt.date) -> Period:
    return Period("year", dt.date(until.year, 1, 1), until) if until.month == 12 else \
        Period("ytd", dt.date(until.year, 1, 1), until)


def _check_indicator(code: str, level: str) -> Indicator:
    reg = registry()
    if code not in reg:
        raise NotFound(f"Показатель «{code}» не найден")
    ind = reg[code]
    if not ind.valid_at(level):
        raise EvaluationError(f"Показатель «{ind.short}» не считается на уровне «{level}»; допустимы: "
                              f"{', '.join(ind.levels)}")
    return ind


@cached(timeout=600)
def forecast(code: str, level: str, unit_id: int | None, as_of: dt.date, until: dt.date | None = None,
             scope: Scope = CITY) -> dict:
    """The projected value of one unit's indicator over January..``until`` (December of as_of's year by default).

    Args:
        code, level, unit_id: the indicator and the unit (the city: level region, unit_id None).
        as_of: the last month of data to use (first day of the month).
        until: the month to project to (a control task's due month).
        scope: the person's data scope; a unit outside it is refused (ScopeError).

    Returns:
        value, low, high (the ``level_pct`` interval), level_pct, target (in force for the period), reach
        ("yes" | "no" | "uncertain"; None without a forecast), month_reached (date or None), method (Russian),
        history_months, text (a Russian sentence for cards and tasks), as_of, until, observed (the value to date
        at as_of, when as_of is in the period).
    """
    ind = _check_indicator(code, level)
    u = U.unit(level, unit_id)
    if u is None:
        raise NotFound(f"Единица {unit_id} уровня «{level}» не найдена")
    U.require(scope, u)
    until = _until(as_of, until)
    as_of = _as_of(as_of)
    parent = {"region": None, "district": None, "mo": u.district_id, "doctor": u.mo_id}[level]
    uid = 0 if level == "region" else int(unit_id)
    months = _history_months(as_of)
    data = {b.code: _split(b, _read(b, level, parent, months, scope, only=None if level == "region" else uid), months)
            for b in _inputs(ind)}
    exact = {c: v.get(uid) for c, v in _exact(ind, level, parent, as_of, until, scope).items()}
    p = _project_unit(ind, data, uid, months, as_of, until, exact)
    target = targets_for(ind, level, [uid], _period(until))[0]
    return summarise(ind, p, as_of, target)


@cached(timeout=600)
def forecasts(code: str, level: str, parent: int | None, as_of: dt.date, until: dt.date | None = None,
              scope: Scope = CITY) -> pd.DataFrame:
    """``forecast`` for every child unit of ``parent`` at ``level`` with data (the units of a list or a rating).

    The history of all units is read at once (one query per mart); a parent outside the scope is refused and
    the rows are kept inside it.

    Returns:
        unit_id, value, low, high, target, reach, month_reached, text, method, history_months, observed, unit_name.
    """
    until = _until(as_of, until)
    as_of = _as_of(as_of)
    ind = check(Context(code, level, Period("month", as_of, as_of), parent, scope))
    months = _history_months(as_of)
    data = {b.code: _split(b, _read(b, level, parent, months, scope), months) for b in _inputs(ind)}
    ids = sorted(set().union(*[set(d) for d in data.values()]))
    names = _names(level, ids, parent)
    names = names[names["unit_id"].isin(ids)]
    ids = [int(i) for i in names["unit_id"]]
    if not ids:
        return pd.DataFrame(columns=RESULT_COLS)
    exact = _exact(ind, level, parent, as_of, until, scope)
    targets = targets_for(ind, level, ids, _period(until))
    rows = []
    for uid, target in zip(ids, targets):
        p = _project_unit(ind, data, uid, months, as_of, until, {c: v.get(uid) for c, v in exact.items()})
        r = summarise(ind, p, as_of, target)
        rows.append({"unit_id": uid, **{k: r[k] for k in RESULT_COLS if k in r}})
    out = pd.DataFrame(rows).merge(names[["unit_id", "unit_name"]], on="unit_id", how="left")
    return out[RESULT_COLS].reset_index(drop=True)


# ------------------------------------------------------------------ back-test
def default_cuts(months: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """(as_of, until) pairs whose end value is known: for each year wholly in the data, cuts at the
    ends of its first three quarters projecting December; for the last, unfinished year, cuts three and six
    months before its last month projecting that month."""
    have = set(months)
    out = []
    for y in sorted({m.year for m in months}):
        dec = dt.date(y, 12, 1)
        if dec in have and dt.date(y, 1, 1) in have:
            out += [(dt.date(y, q, 1), dec) for q in (3, 6, 9) if dt.date(y, q, 1) in have]
    last = months[-1] if months else None
    if last is not None and last.month != 12:
        out += [(c, last) for c in (month_add(last, -6), month_add(last, -3))
                if c in have and c.year == last.year and dt.date(last.year, 1, 1) in have]
    return out


def backtest(codes=None, units=(("region", None), ("district", None)), cuts=None, scope: Scope = CITY,
             force: str | None = None) -> pd.DataFrame:
    """Project past periods from their beginnings and compare with what happened.

    Args:
        codes: indicator codes (default: every indicator of the registry).
        units: (level, parent) pairs whose child units are projected (``forecasts``).
        cuts: (as_of, until) pairs (default: ``default_cuts`` of the data's months).
        force: a method key to use for every history (comparisons of methods).

    Returns:
        One row per indicator × unit × cut with a forecast and a known end value: code, level, unit_id, as_of,
        until, method, history_months, value, low, high, actual, few, inside, error (value − actual).
    """
    reg = registry()
    codes = list(codes) if codes else [i.code for i in reg]
    cuts = list(cuts) if cuts is not None else default_cuts(data_months())
    rows = []
    for code in codes:
        ind = reg[code]
        for level, parent in units:
            if not ind.valid_at(level):
                continue
            for as_of, until in cuts:
                if force:
                    fc = _forced(code, level, parent, as_of, until, scope, force)
                else:
                    fc = forecasts(code, level, parent, as_of, until, scope)
                fc = fc[fc["value"].notna()]
                if fc.empty:
                    continue
                act = frame(code, level, _period(until), parent, scope)[["unit_id", "value", "few"]]
                act = act[act["unit_id"].notna()].rename(columns={"value": "actual"})
                act["unit_id"] = act["unit_id"].astype(int)
                m = fc.merge(act, on="unit_id", how="inner")
                m = m[m["actual"].notna()]
                for r in m.itertuples():
                    rows.append({"code": code, "level": level, "unit_id": int(r.unit_id), "as_of": as_of,
                                 "until": until, "method": r.method, "history_months": int(r.history_months),
                                 "value": float(r.value), "low": float(r.low), "high": float(r.high),
                                 "actual": float(r.actual), "few": bool(r.few)})
    out = pd.DataFrame(rows, columns=["code", "level", "unit_id", "as_of", "until", "method", "history_months",
                                      "value", "low", "high", "actual", "few"])
    tol = 1e-9
    out["inside"] = (out["actual"] >= out["low"] - tol) & (out["actual"] <= out["high"] + tol)
    out["error"] = out["value"] - out["actual"]
    return out


def _forced(code, level, parent, as_of, until, scope, force) -> pd.DataFrame:
    """``forecasts`` with one method for every history length (back-test comparisons only, uncached)."""
    ind = registry()[code]
    until = _until(as_of, until)
    months = _history_months(as_of)
    data = {b.code: _split(b, _read(b, level, parent, months, scope), months) for b in _inputs(ind)}
    ids = sorted(set().union(*[set(d) for d in data.values()]))
    rows = []
    for uid in ids:
        if ind.kind == "derived":
            continue
        num, den = data[ind.code][uid]
        p = project(ind, months, num, den, as_of, until, force=force)
        if p.ok and p.history < (SNAIVE_MONTHS if force == "snaive" else SEASONAL_MONTHS if force == "ets_seasonal"
                                 else MIN_MONTHS):
            continue
        r = summarise(ind, p, as_of, None)
        rows.append({"unit_id": uid, "value": r["value"], "low": r["low"], "high": r["high"], "method": r["method"],
                     "history_months": r["history_months"]})
    return pd.DataFrame(rows, columns=["unit_id", "value", "low", "high", "method", "history_months"])


def backtest_summary(cases: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Coverage (the share of actual values inside the interval), the median absolute error and the median
    relative error (% of the actual value), per group (or overall)."""
    def one(g: pd.DataFrame) -> pd.Series:
        rel = (g["error"].abs() / g["actual"].abs().where(g["actual"].abs() > 0)).dropna()
        return pd.Series({"n": len(g), "coverage": float(g["inside"].mean()) if len(g) else float("nan"),
                          "median_abs_error": float(g["error"].abs().median()) if len(g) else float("nan"),
                          "median_rel_error_pct": float(rel.median() * 100) if len(rel) else float("nan")})
    if not by:
        return one(cases).to_frame().T
    return cases.groupby(by, sort=True).apply(one, include_groups=False).reset_index()
