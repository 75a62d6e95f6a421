"""Data quality (issue 22): how far each number can be trusted, along the WHO data-quality review's dimensions.

- ``outliers`` — consistency over time: each unit's monthly value of each ratio indicator against the unit's own
  seasonal baseline (the same calendar month ±1 in every earlier year with data), scored by the modified z-score
  of Iglewicz and Hoaglin; acknowledged outliers carry their latest state and comment.
- ``rules`` — consistency between related figures: the declared rules of ``core.dataquality`` (DHIS2's
  validation rules) on the sums of registry measures over the period.
- ``completeness`` — months reported against months expected, and the ЭМК's coverage and timeliness.
- ``denominators`` — the register's population of each district against its registered population.
- ``scores`` / ``score_of`` — a 0–100 data-quality score of each unit, weighted over the components that have
  data, with the reasons that pull it down.

Everything reads the marts through the semantic query (``query.run``) under the person's scope, a few queries
per call (one per mart, every month and unit at once), and is cached like ``evaluate``. The method in Russian:
docs/data-quality.md.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from core import dataquality as DQ
from core.fmt import month_short, number, plural
from core.periods import Period, month_add
from data_access import dataquality as store
from data_access import units as U
from data_access.cache import cached
from data_access.context import get_db
from data_access.scope import CITY, Scope

from . import evaluate as E
from . import query as Q
from .model import Indicator, Registry, RegistryError
from .registry import registry

OUTLIER_LEVELS = ("region", "district", "mo", "doctor")
SCORE_LEVELS = ("region", "district", "mo")

OUTLIER_COLS = ["month", "code", "indicator_short", "unit_id", "unit_name", "parent", "value", "baseline", "mad",
                "mean_ad", "n_baseline", "z", "threshold", "noise", "direction", "worse", "outlier", "numerator", "denominator",
                "few"]
ACK_COLS = ["acknowledged", "ack_state", "ack_comment", "ack_author", "ack_at"]
RULE_COLS = ["rule", "rule_name", "unit_id", "unit_name", "left_measure", "left_label", "left_value", "op",
             "right_measure", "right_label", "right_value", "ok", "excess", "skipped"]
COMPLETENESS_COLS = ["unit_id", "unit_name", "months_expected", "months_reported", "reporting_rate", "silent_months",
                     "emk_coverage", "emk_timeliness"]
DENOMINATOR_COLS = ["level", "unit_id", "unit_name", "month", "year", "attached", "registered", "ratio", "ok"]
SCORE_COLS = ["unit_id", "unit_name", "completeness", "timeliness", "consistency_time", "consistency_rules", "score",
              "reasons", "reporting_rate", "months_expected", "months_reported", "emk_coverage", "emk_timeliness",
              "values_judged", "values_outlying", "rules_judged", "rules_failed"]


class DataQualityError(ValueError):
    """A request the data-quality review refuses (Russian message): an empty comment, nothing to withdraw…"""


# ------------------------------------------------------------------ declarations against the registry
def check_rules(reg: Registry | None = None) -> None:
    """The declarations of ``core.dataquality`` against a registry: every rule's measures are declared, are sums,
    and answer at the rule's levels; the completeness and timeliness indicators exist. RegistryError otherwise."""
    reg = reg or registry()
    problems = []
    for r in DQ.RULES:
        for name in (r.left, r.right):
            m = reg.measures.get(name)
            if m is None:
                problems.append(f"правило «{r.code}»: мера «{name}» не объявлена в реестре")
            elif m.agg != "sum":
                problems.append(f"правило «{r.code}»: мера «{name}» должна суммироваться (agg = sum)")
            elif bad := [lv for lv in r.levels if lv not in m.levels]:
                problems.append(f"правило «{r.code}»: мера «{name}» (витрина {m.mart}) не отвечает на уровнях {bad}")
    for code in (DQ.COMPLETENESS_INDICATOR, DQ.TIMELINESS_INDICATOR):
        if code not in reg:
            problems.append(f"качество данных: показатель «{code}» не объявлен в реестре")
    if problems:
        raise RegistryError("; ".join(problems))


# ------------------------------------------------------------------ units, months
def _rows_unit(level: str, parent: int | None, scope: Scope, levels: tuple[str, ...]) -> U.Unit:
    """The unit whose rows are read (the parent, or the city), refused outside the scope."""
    if level not in levels:
        raise E.EvaluationError(f"Уровень «{level}» здесь не поддерживается; допустимы: {', '.join(levels)}")
    if level == "doctor" and parent is None:
        raise E.EvaluationError("Для уровня врачей укажите организацию (parent)")
    parent_level = U.PARENT_LEVEL[level]
    if parent is None or parent_level in (None, "region"):
        return U.CITY
    u = U.unit(parent_level, parent)
    if u is None:
        raise E.NotFound(f"Единица {parent} уровня «{U.LEVELS[parent_level].name}» не найдена")
    return U.require(scope, u)


def _units(level: str, under: U.Unit, scope: Scope) -> pd.DataFrame:
    """unit_id, unit_name, parent — the units of a level under a unit, inside the scope (reference lists)."""
    if level == "region":
        return pd.DataFrame({"unit_id": [0], "unit_name": [U.CITY_NAME], "parent": [None]})
    if level == "district":
        d = U.in_scope(scope, "district")
        return pd.DataFrame({"unit_id": d["district_id"].astype(int), "unit_name": d["name"], "parent": None})
    if level == "mo":
        o = U.in_scope(scope, "mo")
        if under.level == "district":
            o = o[o["district_id"] == under.id]
        return pd.DataFrame({"unit_id": o["mo_id"].astype(int), "unit_name": o["short_name"],
                             "parent": o["district_id"].astype(int)}).reset_index(drop=True)
    doc = U.doctors_of(under.id)
    return pd.DataFrame({"unit_id": doc["doctor_id"].astype(int), "unit_name": doc["full_name"], "parent": under.id})


def _names(level: str, under: U.Unit, ids) -> pd.DataFrame:
    """Names and parents of units found in the data (a doctor who moved keeps his rows at the first organisation)."""
    ids = sorted({int(x) for x in ids})
    if level == "region":
        return pd.DataFrame({"unit_id": [0], "unit_name": [U.CITY_NAME], "parent": [None]})
    if level == "district":
        names = U.names("district")
        return pd.DataFrame({"unit_id": ids, "unit_name": [names.get(i) for i in ids], "parent": None})
    if level == "mo":
        o = U.organisations().set_index("mo_id")
        return pd.DataFrame({"unit_id": ids, "unit_name": [o["short_name"].get(i) for i in ids],
                             "parent": [int(o["district_id"][i]) if i in o.index else None for i in ids]})
    docs = U.doctors_of(under.id)
    own = dict(zip(docs["doctor_id"], docs["full_name"]))
    names = [own.get(i) or (U.doctor_row(i) or (None,))[0] for i in ids]
    return pd.DataFrame({"unit_id": ids, "unit_name": names, "parent": under.id})


def _month(m) -> dt.date:
    """A month given as a date (any day) or as a one-month Period."""
    if isinstance(m, Period):
        if m.kind != "month":
            raise E.EvaluationError("Выбросы ищутся по месяцам: укажите месяц (например, 2026-09)")
        return m.first
    return dt.date(m.year, m.month, 1)


def _period_months(period: Period) -> list[dt.date]:
    have = set(E.data_months())
    return [m for m in period.months if m in have]


def baseline_months(month: dt.date, have) -> list[dt.date]:
    """The seasonal baseline of a month: the same calendar month ±``SEASON_WINDOW`` in each earlier year, those of
    them with data (``have``). Two earlier years give up to 6 months."""
    have = set(have)
    if not have:
        return []
    first = min(have)
    out, k = [], 1
    while month_add(month, -12 * k + DQ.SEASON_WINDOW) >= first:
        out += [m for m in (month_add(month, -12 * k + d) for d in range(-DQ.SEASON_WINDOW, DQ.SEASON_WINDOW + 1))
                if m in have]
        k += 1
    return sorted(out)


# ------------------------------------------------------------------ outliers: values and modified z-scores
def _indicators(level: str, codes: tuple[str, ...] | None) -> list[Indicator]:
    """The ratio indicators judged at a level (or the ones asked for, checked)."""
    reg = registry()
    if codes is None:
        return [i for i in reg if i.kind == "ratio" and i.valid_at(level) and i.group not in DQ.OUTLIER_SKIP_GROUPS]
    out = []
    for c in codes:
        if c not in reg:
            raise E.NotFound(f"Показатель «{c}» не найден")
        ind = reg[c]
        if ind.kind != "ratio":
            raise E.EvaluationError(f"Показатель «{ind.short}» — не отношение мер: выбросы считаются для отношений")
        if not ind.valid_at(level):
            raise E.EvaluationError(f"Показатель «{ind.short}» не считается на уровне «{level}»; "
                                    f"допустимы: {', '.join(ind.levels)}")
        out.append(ind)
    return out


def ratio_values(ind: Indicator, num, den) -> np.ndarray:
    """A monthly value: numerator / denominator × factor (× 12 when annualised); no value without a denominator."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.where(den > 0, num / np.where(den > 0, den, 1) * ind.factor, np.nan)
    return val * 12 if ind.annualize else val


@cached(timeout=600)
def _values(level: str, parent: int | None, months: tuple[dt.date, ...], codes: tuple[str, ...],
            scope: Scope = CITY) -> pd.DataFrame:
    """code, month, unit_id, numerator, denominator, value, few — each indicator's monthly value of each unit.

    Every measure of the indicators by month and unit, one semantic query per mart (merged here: ``query.run``
    stacks the rows of several marts instead of joining them).
    """
    cols = ["code", "month", "unit_id", "numerator", "denominator", "value", "few"]
    inds = [registry()[c] for c in codes]
    if not inds or not months:
        return pd.DataFrame(columns=cols)
    under = _rows_unit(level, parent, scope, OUTLIER_LEVELS)
    by = ("month",) + ((level,) if level != "region" else ())
    measures = list(dict.fromkeys(m for i in inds for m in (i.numerator, i.denominator)))
    df = None
    for mart in dict.fromkeys(m.mart for m in measures):  # one query per mart, merged on month and unit
        part = Q.run(Q.months_query([m.name for m in measures if m.mart == mart], by, under, months=months), scope)
        if level != "region":  # rows of no unit (residents attached nowhere, a dose without a participating doctor)
            part = part[part[level].notna()]
        part = part.assign(unit_id=0 if level == "region" else part[level].astype(int),
                           month=[pd.Timestamp(m).date() for m in part["month"]]).drop(columns=list(by[1:]))
        df = part if df is None else df.merge(part, on=["month", "unit_id"], how="outer")
    if df is None or df.empty:
        return pd.DataFrame(columns=cols)
    frames = []
    for ind in inds:
        num = df[ind.numerator.name].astype(float).fillna(0.0)
        den = df[ind.denominator.name].astype(float).fillna(0.0)
        f = pd.DataFrame({"code": ind.code, "month": df["month"], "unit_id": df["unit_id"], "numerator": num,
                          "denominator": den, "value": ratio_values(ind, num, den)})
        f = f[f["value"].notna()]
        f["few"] = E.few_observations(ind, f["denominator"])
        frames.append(f)
    return pd.concat(frames, ignore_index=True).reindex(columns=cols)


def modified_z(x, median, mad, mean_ad) -> np.ndarray:
    """Iglewicz–Hoaglin: 0.6745 × (x − median) / MAD; with MAD = 0, (x − median) / (1.253314 × MeanAD); both 0 —
    no score (NaN)."""
    x, median, mad, mean_ad = (np.asarray(a, dtype=float) for a in (x, median, mad, mean_ad))
    tol = 1e-9 * (1 + np.abs(median))  # deviations that are rounding noise count as none
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mad > tol, DQ.MAD_FACTOR * (x - median) / np.where(mad > tol, mad, 1),
                        np.where(mean_ad > tol, (x - median) / (DQ.MEANAD_FACTOR * np.where(mean_ad > tol, mean_ad, 1)),
                                 np.nan))


def zscores(values: pd.DataFrame, targets: list[dt.date], have) -> pd.DataFrame:
    """Each value of the target months against its unit's seasonal baseline (see ``baseline_months``).

    Baseline values resting on too few observations (``few``) are left out of the baseline. Returns the target
    rows with baseline (median), mad, mean_ad, n_baseline, z (NaN with fewer than MIN_BASELINE baseline values
    or no spread), few (the value's own denominator is small, or the baseline is short).
    """
    keys = ["code", "unit_id"]
    parts = []
    for t in targets:
        cur = values[values["month"] == t]
        if cur.empty:
            continue
        base = values[values["month"].isin(baseline_months(t, have)) & ~values["few"].astype(bool)]
        stats = base.groupby(keys)["value"].agg(baseline="median", n_baseline="count")
        base = base.join(stats, on=keys)
        base = base.assign(dev=(base["value"] - base["baseline"]).abs())
        spread = base.groupby(keys)["dev"].agg(mad="median", mean_ad="mean")
        parts.append(cur.merge(stats.join(spread).reset_index(), on=keys, how="left"))
    cols = list(values.columns) + ["baseline", "n_baseline", "mad", "mean_ad", "z"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out["n_baseline"] = out["n_baseline"].fillna(0).astype(int)
    enough = out["n_baseline"] >= DQ.MIN_BASELINE
    z = modified_z(out["value"], out["baseline"], out["mad"], out["mean_ad"])
    out["z"] = np.where(enough, z, np.nan)
    out["few"] = out["few"].astype(bool) | ~enough
    return out.reindex(columns=cols)


def sampling_noise(ind: Indicator, baseline, value, denominator) -> np.ndarray:
    """The standard error of a monthly value that chance alone gives at its denominator: the numerator counted as
    a Poisson variable around the rate (the larger of the baseline and the value), sqrt(scale × rate / den)."""
    scale = ind.factor * (12 if ind.annualize else 1)
    rate = np.fmax(np.asarray(baseline, dtype=float), np.asarray(value, dtype=float)).clip(min=0)
    den = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, np.sqrt(scale * rate / np.where(den > 0, den, 1)), np.nan)


def _judge(z: pd.DataFrame) -> pd.DataFrame:
    """threshold, noise, outlier, direction, worse, indicator_short for scored values."""
    reg = registry()
    inds = {c: reg[c] for c in z["code"].unique()}
    z["threshold"] = z["code"].map({c: i.outlier_threshold for c, i in inds.items()}).astype(float)
    z["noise"] = np.nan
    for c, ind in inds.items():
        sel = z["code"] == c
        z.loc[sel, "noise"] = sampling_noise(ind, z.loc[sel, "baseline"], z.loc[sel, "value"], z.loc[sel, "denominator"])
    dev = z["value"] - z["baseline"]
    beyond_chance = ~(dev.abs() <= DQ.NOISE_Z * z["noise"])  # no noise estimate: judged on z alone
    z["outlier"] = (~z["few"].astype(bool)) & z["z"].notna() & (z["z"].abs() > z["threshold"]) & beyond_chance
    z["direction"] = np.where(z["z"].isna() | (dev == 0), None, np.where(dev > 0, "high", "low"))
    up = z["code"].map({c: i.higher_is_better for c, i in inds.items()}).astype(bool)
    z["worse"] = ((z["direction"] == "high") & ~up) | ((z["direction"] == "low") & up)
    z["indicator_short"] = z["code"].map({c: i.short for c, i in inds.items()})
    return z


def _scored(level: str, parent: int | None, targets: tuple[dt.date, ...], scope: Scope,
            codes: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Judged values of the target months (every ratio indicator of the level, or ``codes``)."""
    inds = _indicators(level, codes)
    have = E.data_months()
    need = sorted(set(targets) | {m for t in targets for m in baseline_months(t, have)})
    values = _values(level, parent, tuple(need), tuple(i.code for i in inds), scope)
    z = zscores(values, list(targets), have)
    return _judge(z) if not z.empty else z.assign(threshold=np.nan, noise=np.nan, outlier=False, direction=None,
                                                  worse=False, indicator_short=None)


@cached(timeout=600)
def _outlier_frame(month: dt.date, level: str, parent: int | None, codes: tuple[str, ...] | None,
                   scope: Scope = CITY) -> pd.DataFrame:
    under = _rows_unit(level, parent, scope, OUTLIER_LEVELS)
    if month not in set(E.data_months()):
        return pd.DataFrame(columns=OUTLIER_COLS)
    z = _scored(level, parent, (month,), scope, codes)
    if z.empty:
        return pd.DataFrame(columns=OUTLIER_COLS)
    z = z.merge(_names(level, under, z["unit_id"]), on="unit_id", how="left")
    z = z[z["unit_name"].notna()]
    z["_abs"] = z["z"].abs()
    z = z.sort_values(["outlier", "_abs", "code", "unit_name"], ascending=[False, False, True, True],
                      na_position="last", kind="stable")
    return z.reindex(columns=OUTLIER_COLS).reset_index(drop=True)


def outliers(period: Period, level: str, parent: int | None = None, scope: Scope = CITY,
             codes: tuple[str, ...] | None = None, flagged_only: bool = True) -> pd.DataFrame:
    """The values of one month far from their unit's own seasonal baseline.

    Args:
        period: a month.
        level: ``mo`` (organisations of the district ``parent``, or of the whole scope) or ``doctor`` (of the
            organisation ``parent``); ``district`` and ``region`` are answered too.
        codes: ratio indicators to judge (default: every ratio indicator valid at the level).
        flagged_only: only the outliers (otherwise every value with its score).
    Returns:
        month, code, indicator_short, unit_id, unit_name, parent (the organisation of a doctor, the district of an
        organisation), value, baseline (the median of the baseline), mad, mean_ad, n_baseline, z, threshold,
        noise (the value's standard error from chance at its denominator), direction (high/low), worse (the
        deviation goes against the indicator's good direction), outlier (|z| above the threshold and the deviation
        beyond NOISE_Z × noise), numerator, denominator, few (too few observations: never flagged), and the
        acknowledgement: acknowledged (the latest state is «ack»), ack_state, ack_comment, ack_author, ack_at.
        Sorted outliers first, by |z|.
    Raises:
        EvaluationError (a period that is not a month, a level or an indicator that does not fit), NotFound,
        ScopeError (a parent outside the scope).
    """
    month = _month(period)
    out = _outlier_frame(month, level, parent, tuple(codes) if codes is not None else None, scope)
    if flagged_only:
        out = out[out["outlier"].astype(bool)].reset_index(drop=True)
    return _with_acks(out, level, month)


def _with_acks(out: pd.DataFrame, level: str, month: dt.date) -> pd.DataFrame:
    """The latest acknowledgement of each value (read each time: acknowledgements are not in the cache key)."""
    acks = store.latest_acks(get_db(), level=level, months=[month]) if not out.empty else pd.DataFrame()
    if acks.empty:
        out = out.assign(acknowledged=False, ack_state=None, ack_comment=None, ack_author=None, ack_at=None)
        return out.reindex(columns=OUTLIER_COLS + ACK_COLS)
    a = acks.rename(columns={"state": "ack_state", "comment": "ack_comment", "author": "ack_author",
                             "created_at": "ack_at"})[["code", "unit_id", "ack_state", "ack_comment", "ack_author",
                                                       "ack_at"]]
    out = out.merge(a, on=["code", "unit_id"], how="left")
    out["acknowledged"] = out["ack_state"] == "ack"
    return out.reindex(columns=OUTLIER_COLS + ACK_COLS)


# ------------------------------------------------------------------ acknowledgements
def acknowledge(code: str, level: str, unit_id: int | None, month, comment: str, author: str, state: str = "ack", *,
                scope: Scope = CITY, user_id: int | None = None) -> int:
    """Acknowledge an outlying value as true (``ack``) or withdraw the acknowledgement (``reopen``), with a comment.

    Kept with its history (append-only) and audited. Refused (DataQualityError, Russian): an empty comment, an
    unknown state, withdrawing what is not acknowledged; NotFound / EvaluationError: an unknown indicator or
    unit, an indicator the level does not have; ScopeError: a unit outside the scope.
    """
    if state not in DQ.ACK_STATES:
        raise DataQualityError(f"Состояние «{state}» неизвестно; допустимы: {', '.join(DQ.ACK_STATES)}")
    if level not in OUTLIER_LEVELS:
        raise E.EvaluationError(f"Уровень «{level}» неизвестен; допустимы: {', '.join(OUTLIER_LEVELS)}")
    _indicators(level, (code,))
    uid = _require_unit(level, unit_id, scope)
    text = (comment or "").strip()
    if not text:
        raise DataQualityError("Комментарий обязателен: напишите, почему значение верно (или почему снимаете отметку)")
    if len(text) > 1000:
        raise DataQualityError("Комментарий длиннее 1000 знаков")
    m = _month(month)
    if state == "reopen":
        cur = store.latest_acks(get_db(), level=level, months=[m])
        cur = cur[(cur["code"] == code) & (cur["unit_id"] == uid)]
        if cur.empty or cur.iloc[-1]["state"] != "ack":
            raise DataQualityError("Значение не отмечено как подтверждённое — снимать нечего")
    return store.add_ack(get_db(), code=code, level=level, unit_id=uid, month=m, state=state, comment=text,
                         author=author, user_id=user_id)


def _require_unit(level: str, unit_id, scope: Scope) -> int:
    if level == "region":
        return 0
    u = U.unit(level, unit_id)
    if u is None:
        raise E.NotFound(f"Единица {unit_id} уровня «{U.LEVELS[level].name}» не найдена")
    U.require(scope, u)
    return u.id


def acknowledgements(level: str | None = None, month=None, unit_id: int | None = None, code: str | None = None,
                     scope: Scope = CITY) -> pd.DataFrame:
    """The history of acknowledgements, in the order they were made, inside the scope.

    Returns:
        ack_id, code, level, unit_id, month, state, state_name, comment, author, created_at.
    """
    if unit_id is not None:
        if level is None:
            raise E.EvaluationError("Для единицы укажите уровень (level)")
        _require_unit(level, unit_id, scope)
    df = store.acks(get_db(), level=level, months=[_month(month)] if month is not None else None,
                    unit_ids=[int(unit_id)] if unit_id is not None else None, code=code)
    if not scope.is_city and not df.empty:
        keep = []
        for lv, uid in zip(df["level"], df["unit_id"]):
            u = U.unit(lv, uid)
            keep.append(u is not None and U.visible(scope, "district" if lv == "district" else
                                                    ("region" if lv == "region" else "mo"), u.district_id, u.mo_id))
        df = df[keep]
    df = df.assign(state_name=df["state"].map(DQ.ACK_STATES))
    return df.reindex(columns=["ack_id", "code", "level", "unit_id", "month", "state", "state_name", "comment", "author",
                               "created_at"]).reset_index(drop=True)


# ------------------------------------------------------------------ consistency rules
def _sums(measures: list[str], level: str, under: U.Unit, months: list[dt.date], scope: Scope) -> pd.DataFrame:
    """Each measure summed per unit over the months, one query per mart; NaN where a unit has no rows in a mart
    (no data), unlike 0 (rows that sum to nothing)."""
    reg = registry()
    by = (level,) if level != "region" else ()
    parts = []
    for mart in dict.fromkeys(reg.measures[n].mart for n in measures):
        names = [n for n in measures if reg.measures[n].mart == mart]
        if not months:
            continue
        df = Q.run(Q.months_query(names, by, under, months=months), scope)
        if level != "region":
            df = df[df[level].notna()]
        df["unit_id"] = 0 if level == "region" else df[level].astype(int)
        df = df.dropna(subset=names, how="all")
        parts.append(df.set_index("unit_id")[names].astype(float))
    if not parts:
        return pd.DataFrame(columns=measures, dtype=float)
    return pd.concat(parts, axis=1).reindex(columns=measures)


@cached(timeout=600)
def rules(period: Period, level: str, parent: int | None = None, scope: Scope = CITY) -> pd.DataFrame:
    """Each declared rule that applies at the level × each unit of the level under ``parent`` in the scope.

    Returns:
        rule, rule_name, unit_id, unit_name, left_measure, left_label, left_value, op («≤», «≥», «=»),
        right_measure, right_label, right_value, ok (True, False; None when skipped), excess (by how much the
        rule is broken — left − right for «≤»; 0 when it holds), skipped (why not judged: «нет данных»,
        «мало наблюдений»; None when judged).
    """
    check_rules()  # a registry without the rules' measures: a clear message, not a KeyError
    under = _rows_unit(level, parent, scope, SCORE_LEVELS)
    units = _units(level, under, scope)
    applicable = [r for r in DQ.RULES if level in r.levels]
    measures = list(dict.fromkeys(n for r in applicable for n in (r.left, r.right)))
    sums = _sums(measures, level, under, _period_months(period), scope)
    reg = registry()
    rows = []
    for r in applicable:
        for uid, name in zip(units["unit_id"], units["unit_name"]):
            left = sums[r.left].get(uid, np.nan) if uid in sums.index else np.nan
            right = sums[r.right].get(uid, np.nan) if uid in sums.index else np.nan
            ok = excess = skipped = None
            lm, rm = np.isnan(left), np.isnan(right)
            if (r.missing == "skip_if_any_missing" and (lm or rm)) or (r.missing == "skip_if_all_missing" and lm and rm):
                skipped = "нет данных"
            else:
                left, right = (0.0 if lm else left), (0.0 if rm else right)
                if max(left, right) < r.min_count:
                    skipped = "мало наблюдений"
                else:
                    ok = bool(r.holds(left, right))
                    excess = r.excess(left, right)
            rows.append({"rule": r.code, "rule_name": r.name, "unit_id": int(uid), "unit_name": name,
                         "left_measure": r.left, "left_label": reg.measures[r.left].label,
                         "left_value": None if np.isnan(left) else float(left), "op": r.sign,
                         "right_measure": r.right, "right_label": reg.measures[r.right].label,
                         "right_value": None if np.isnan(right) else float(right), "ok": ok, "excess": excess,
                         "skipped": skipped})
    return pd.DataFrame(rows, columns=RULE_COLS)


# ------------------------------------------------------------------ completeness and timeliness
@cached(timeout=600)
def completeness(period: Period, level: str, parent: int | None = None, scope: Scope = CITY) -> pd.DataFrame:
    """Reporting of each unit over the 12 months up to the period's last month, and its ЭМК in the period.

    A unit is expected to report (have visits) in each month with data from the first month it ever reported
    (within the data span): a unit that stops reporting is counted as missing, a new one only from its start.

    Returns:
        unit_id, unit_name, months_expected, months_reported, reporting_rate (%), silent_months (the expected
        months without visits, «2026-07, 2026-08»), emk_coverage and emk_timeliness (the registry's
        emk_coverage and emk_registered_1d for the period; None on too few observations).
    """
    under = _rows_unit(level, parent, scope, SCORE_LEVELS)
    units = _units(level, under, scope)[["unit_id", "unit_name"]]
    have = E.data_months()
    months = _period_months(period)
    out = units.assign(months_expected=0, months_reported=0, reporting_rate=np.nan, silent_months="",
                       emk_coverage=np.nan, emk_timeliness=np.nan)
    if not months:
        return out.reindex(columns=COMPLETENESS_COLS)
    last = months[-1]
    window = [m for m in have if month_add(last, -DQ.COMPLETENESS_MONTHS + 1) <= m <= last]
    span = tuple(m for m in have if m <= last)
    by = ("month",) + ((level,) if level != "region" else ())
    v = Q.run(Q.months_query(("mart_visits.visits",), by, under, months=span), scope)
    if level != "region":
        v = v[v[level].notna()]
    v = pd.DataFrame({"unit_id": 0 if level == "region" else v[level].astype(int),
                      "month": [pd.Timestamp(m).date() for m in v["month"]],
                      "visits": v["visits"].astype(float)})
    v = v[v["visits"] > 0]
    first = v.groupby("unit_id")["month"].min()
    reported = v.groupby("unit_id")["month"].agg(set)
    exp, rep, silent = [], [], []
    for uid in out["unit_id"]:
        f = first.get(uid)
        expected = [m for m in window if f is not None and m >= f]
        got = reported.get(uid, set())
        exp.append(len(expected))
        rep.append(sum(1 for m in expected if m in got))
        silent.append(", ".join(f"{m:%Y-%m}" for m in expected if m not in got))
    out["months_expected"], out["months_reported"], out["silent_months"] = exp, rep, silent
    with np.errstate(divide="ignore", invalid="ignore"):
        out["reporting_rate"] = np.where(out["months_expected"] > 0,
                                         out["months_reported"] / out["months_expected"].clip(lower=1) * 100, np.nan)
    for col, code in (("emk_coverage", DQ.COMPLETENESS_INDICATOR), ("emk_timeliness", DQ.TIMELINESS_INDICATOR)):
        f = E.frame(code, level, period, parent, scope)
        f = f[~f["few"].astype(bool)]
        out[col] = out["unit_id"].map(dict(zip(f["unit_id"].astype(int), f["value"].astype(float))))
    return out.reindex(columns=COMPLETENESS_COLS)


# ------------------------------------------------------------------ population denominators
@cached(timeout=600)
def denominators(period: Period, scope: Scope = CITY) -> pd.DataFrame:
    """The register's population of the city and of each district in the scope against the registered one.

    *Attached* is the population of the attachment register living in the district (``mart_population`` by
    district of residence) at the start of the period's last month with data — the denominator of every rate per
    resident in ИАМ; *registered* is ``district_population`` (Petrostat) on 1 January of that year (the latest
    year given up to it).

    Returns:
        level (region, district), unit_id (0 for the city), unit_name, month, year, attached, registered,
        ratio (attached, % of registered), ok (inside the band ``DENOMINATOR_BAND``; None without data).
    """
    months = _period_months(period)
    if not months:
        return pd.DataFrame(columns=DENOMINATOR_COLS)
    month = months[-1]
    db = get_db()
    years = store.population_years(db)
    year = max([y for y in years if y <= month.year], default=min(years) if years else None)
    d = U.in_scope(scope, "district")
    att = Q.run(Q.months_query(("mart_population.population",), ("district",), U.CITY, months=[month]), scope)
    att = dict(zip(att["district"].astype(int), att["population"].astype(float))) if not att.empty else {}
    city = Q.run(Q.months_query(("mart_population.population",), (), U.CITY, months=[month]), scope)
    city_att = float(city["population"].iloc[0]) if not city.empty and pd.notna(city["population"].iloc[0]) else np.nan
    reg = store.registered_population(db, year, scope) if year is not None else pd.DataFrame(
        columns=["district_id", "registered"])
    regd = dict(zip(reg["district_id"].astype(int), reg["registered"].astype(float)))
    city_reg = (float(store.registered_population(db, year, CITY)["registered"].astype(float).sum())
                if year is not None else np.nan)
    rows = [{"level": "region", "unit_id": 0, "unit_name": U.CITY_NAME, "attached": city_att,
             "registered": city_reg or np.nan}]
    rows += [{"level": "district", "unit_id": int(i), "unit_name": n, "attached": att.get(int(i), np.nan),
              "registered": regd.get(int(i), np.nan)} for i, n in zip(d["district_id"], d["name"])]
    out = pd.DataFrame(rows)
    out["month"], out["year"] = month, year
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = np.where(out["registered"] > 0, out["attached"] / out["registered"] * 100, np.nan)
    lo, hi = DQ.DENOMINATOR_BAND
    out["ok"] = [None if np.isnan(r) else bool(lo <= r <= hi) for r in out["ratio"]]
    return out.reindex(columns=DENOMINATOR_COLS)


# ------------------------------------------------------------------ the data-quality score
def weighted_score(components: dict[str, float | None]) -> float | None:
    """The components' weighted mean (0–100), components without data left out and the weights renormalised."""
    num = den = 0.0
    for k, w in DQ.SCORE_WEIGHTS.items():
        v = components.get(k)
        if v is None or (isinstance(v, float) and np.isnan(v)) or w <= 0:
            continue
        num += w * float(v)
        den += w
    return num / den if den > 0 else None


def _pct(x) -> str:
    return number(x, 0) + "\u00a0%"


@cached(timeout=600)
def scores(period: Period, level: str, parent: int | None = None, scope: Scope = CITY) -> pd.DataFrame:
    """The data-quality score of each unit of a level under ``parent`` in the scope, for the period.

    Components (0–100; None without data): completeness — the mean of the reporting rate and the ЭМК coverage;
    timeliness — documents registered within a day; consistency_time — the share of the unit's indicator values
    (every ratio indicator, every month of the period) that are not outliers; consistency_rules — the share of
    judged rules that hold. score — their weighted mean (``core.dataquality.SCORE_WEIGHTS``) over the components
    with data; reasons — what pulls it down, in Russian ("" when nothing does).

    Returns:
        unit_id, unit_name, completeness, timeliness, consistency_time, consistency_rules, score, reasons,
        reporting_rate, months_expected, months_reported, emk_coverage, emk_timeliness, values_judged,
        values_outlying, rules_judged, rules_failed — sorted by score, lowest first.
    """
    under = _rows_unit(level, parent, scope, SCORE_LEVELS)
    units = _units(level, under, scope)[["unit_id", "unit_name"]]
    comp = completeness(period, level, parent, scope).set_index("unit_id")
    rl = rules(period, level, parent, scope)
    months = _period_months(period)
    z = _scored(level, parent, tuple(months), scope) if months else pd.DataFrame(columns=["unit_id", "z", "few"])
    judged = z[z["z"].notna() & ~z["few"].astype(bool)] if not z.empty else z
    reg = registry()
    rows = []
    for uid, name in zip(units["unit_id"], units["unit_name"]):
        c = comp.loc[uid] if uid in comp.index else None
        rate = c["reporting_rate"] if c is not None else np.nan
        cov = c["emk_coverage"] if c is not None else np.nan
        tim = c["emk_timeliness"] if c is not None else np.nan
        parts = [x for x in (rate, cov) if pd.notna(x)]
        completeness_ = float(np.mean(parts)) if parts else np.nan
        zu = judged[judged["unit_id"] == uid] if not judged.empty else judged
        n_val = len(zu)
        n_out = int((zu["outlier"]).sum()) if n_val else 0
        ctime = (1 - n_out / n_val) * 100 if n_val >= DQ.MIN_JUDGED_VALUES else np.nan
        ru = rl[(rl["unit_id"] == uid) & rl["ok"].notna()]
        failed = ru[ru["ok"] == False]  # noqa: E712  (an object column of True/False)
        crules = (1 - len(failed) / len(ru)) * 100 if len(ru) else np.nan
        compo = {"completeness": completeness_, "timeliness": tim, "consistency_time": ctime, "consistency_rules": crules}
        score = weighted_score(compo)
        # what pulls the score down: components under REASON_BELOW, the largest weighted loss first
        losses = sorted(((DQ.SCORE_WEIGHTS[k] * (100 - v), k) for k, v in compo.items()
                         if pd.notna(v) and v < DQ.REASON_BELOW), reverse=True)
        texts = []
        for _, k in losses:
            if k == "completeness":
                if pd.notna(rate) and rate < DQ.REASON_BELOW:
                    silent = ", ".join(month_short(dt.date.fromisoformat(m + "-01"))
                                       for m in c["silent_months"].split(", ") if m)
                    texts.append(f"данные за {int(c['months_reported'])} из {int(c['months_expected'])} мес. "
                                 f"(нет за {silent})")
                if pd.notna(cov) and cov < DQ.REASON_BELOW:
                    texts.append(f"СЭМД только по {_pct(cov)} случаев")
            elif k == "timeliness":
                texts.append(f"СЭМД в течение суток — {_pct(tim)}")
            elif k == "consistency_time":
                names = list(dict.fromkeys(reg[x].short for x in zu.loc[zu["outlier"], "code"]))
                more = f" и ещё {len(names) - 3}" if len(names) > 3 else ""
                texts.append(f"{n_out} {plural(n_out, 'выброс', 'выброса', 'выбросов')} из {n_val} "
                             f"{plural(n_val, 'значения', 'значений', 'значений')} "
                             f"({', '.join(names[:3])}{more})")
            else:
                texts.append("нарушено: " + "; ".join(f"«{x}»" for x in dict.fromkeys(failed["rule_name"])))
        rows.append({"unit_id": int(uid), "unit_name": name, **compo, "score": score, "reasons": "; ".join(texts),
                     "reporting_rate": rate, "months_expected": c["months_expected"] if c is not None else 0,
                     "months_reported": c["months_reported"] if c is not None else 0, "emk_coverage": cov,
                     "emk_timeliness": tim, "values_judged": n_val, "values_outlying": n_out,
                     "rules_judged": len(ru), "rules_failed": len(failed)})
    out = pd.DataFrame(rows, columns=SCORE_COLS)
    out["score"] = out["score"].astype(float)
    return out.sort_values(["score", "unit_name"], na_position="last", kind="stable").reset_index(drop=True)


def score_of(level: str, unit_id: int | None, period: Period, scope: Scope = CITY) -> dict:
    """One unit's data-quality score (the city, a district or an organisation): the row of ``scores`` as a dict
    (None for missing values); ScopeError outside the scope, NotFound for an unknown unit."""
    if level not in SCORE_LEVELS:
        raise E.EvaluationError(f"Уровень «{level}» здесь не поддерживается; допустимы: {', '.join(SCORE_LEVELS)}")
    uid = _require_unit(level, unit_id, scope)
    parent = U.unit("mo", uid).district_id if level == "mo" else None
    df = scores(period, level, parent, scope)
    row = df[df["unit_id"] == uid]
    if row.empty:
        u = U.unit(level, uid) if level != "region" else U.CITY
        return {c: None for c in SCORE_COLS} | {"unit_id": uid, "unit_name": u.name, "reasons": ""}
    r = row.iloc[0].to_dict()
    return {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in r.items()}
