"""Evaluate indicators from the marts: values for the children of a unit, and monthly trends.

Each measure is a SUM over the mart rows of the period's months (grouped by the unit column of
the level), so the database does the work; pandas only divides. Percentiles are read from
histogram marts. Results are cached per (indicator, level, period, parent, scope).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from core.periods import Period, month_add
from data_access import marts as M
from data_access import units as U
from data_access.cache import cached
from data_access.context import get_db
from data_access.reference import MO_KINDS
from data_access.scope import CITY, Scope

from . import query as Q
from . import scoring
from .histogram import percentile_from_hist
from .model import LEVELS, Indicator, Measure, evaluate_formula
from .registry import registry, reload_registry  # noqa: F401  (E.registry() is the registry of pages and API)


class EvaluationError(ValueError):
    """A request that cannot be evaluated (wrong level for the indicator, unknown unit…)."""


class NotFound(LookupError):
    """An unknown indicator or unit."""


@cached(memory=True)
def data_months() -> list[dt.date]:
    """The months the marts have been built for (sorted)."""
    log = M.build_log
    with get_db().engine.connect() as c:
        rows = c.execute(sa.select(log.c.month).where(log.c.mart == "mart_visits").group_by(log.c.month)
                         .order_by(log.c.month)).scalars().all()
    return list(rows)


def data_span() -> tuple[dt.date, dt.date] | None:
    """First and last month the marts cover."""
    months = data_months()
    return (months[0], months[-1]) if months else None


def _available(p: Period, span) -> Period | None:
    """The period limited to the data: None when it starts before the data or after them."""
    if span is None or p.first < span[0] or p.first > span[1]:
        return None
    return p.clip(span[1])


def _months_with_data(p: Period) -> list[dt.date]:
    have = set(data_months())
    return [m for m in p.months if m in have]


# ------------------------------------------------------------------ reading the marts (the semantic query)
def _rows_of(level: str, parent_level: str | None, parent_id) -> tuple[U.Unit, tuple[str, ...]]:
    """The unit whose rows are read (the parent, or the city) and the dimension giving units of ``level``."""
    parent = U.unit(parent_level, parent_id) if parent_level not in (None, "region") and parent_id is not None else U.CITY
    return parent, ((level,) if level != "region" else ())


def _tagged(group: dict[str, list]) -> tuple:
    return tuple((tag, tuple(months)) for tag, months in group.items())


def _unit_frame(df: pd.DataFrame, level: str) -> pd.DataFrame:
    if level == "region":
        df.insert(0, "unit_id", 0)
        return df
    return df.rename(columns={level: "unit_id"})


def _tagged_sums(measures: list[Measure], level: str, group: dict[str, list], *, parent_level=None,
                 parent_id=None, scope: Scope = CITY) -> pd.DataFrame:
    """One query: each measure summed per unit and per period tag (unit_id, tag, <measure>…)."""
    unit, by = _rows_of(level, parent_level, parent_id)
    df = Q.run(Q.Query(tuple(m.name for m in measures), by, unit, "indicator", _tagged(group)), scope)
    return _unit_frame(df, level)


def _tagged_hist(m: Measure, level: str, group: dict[str, list], *, parent_level=None, parent_id=None,
                 scope: Scope = CITY) -> pd.DataFrame:
    """A histogram measure per unit and tag: unit_id, tag, v (the value), w (its weight)."""
    unit, by = _rows_of(level, parent_level, parent_id)
    q = Q.Query((f"{m.mart}.{m.weight}",), by + (m.expr[0],), unit, "indicator", _tagged(group), m.filters)
    df = Q.run(q, scope).rename(columns={m.expr[0]: "v", m.weight: "w"})
    return _unit_frame(df, level)


def _monthly(ind: Indicator, months: list[dt.date], *, unit_level, unit_id, scope) -> pd.DataFrame:
    """month, numerator, denominator for one unit (region when unit_level is region)."""
    measures = [m for m in (ind.numerator, ind.denominator) if m is not None]
    unit = U.unit(unit_level, unit_id)
    df = Q.run(Q.months_query([m.name for m in measures], ("month",), unit, months=months), scope)
    return df.set_index("month").fillna(0.0)


FRAME_COLS = ["unit_id", "numerator", "denominator", "value"]


def _ratio(ind: Indicator, num: pd.Series, den: pd.Series | None, n_months: int) -> np.ndarray:
    """numerator / denominator × factor (a count: numerator × factor), per year when annualised."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if den is None:
            val = np.asarray(num, dtype=float) * ind.factor
        else:
            val = np.where(den > 0, num / den * ind.factor, np.nan)
    return val * 12 / n_months if ind.annualize else val


def _derived(ind: Indicator, frames: dict[str, pd.DataFrame], key: str) -> pd.DataFrame:
    """A derived indicator from its inputs' frames (aligned on ``key``): the formula × factor."""
    merged = None
    for code in ind.inputs:
        f = frames[code][[key, "value"]].rename(columns={"value": code})
        merged = f if merged is None else merged.merge(f, on=key, how="outer")
    out = pd.DataFrame({key: merged[key], "numerator": np.nan, "denominator": np.nan})
    out["value"] = evaluate_formula(ind.formula, {c: merged[c] for c in ind.inputs}) * ind.factor
    return out.reset_index(drop=True)


def _period_frames(ind: Indicator, level: str, periods: dict[str, Period | None], **where) -> dict[str, pd.DataFrame]:
    """numerator, denominator and value per unit for each tagged period, in as few queries as possible."""
    months_of = {tag: _months_with_data(p) for tag, p in periods.items() if p is not None}
    months_of = {tag: ms for tag, ms in months_of.items() if ms}
    out = {tag: pd.DataFrame(columns=FRAME_COLS) for tag in periods}
    if ind.kind == "derived":
        inputs = {c: _period_frames(registry()[c], level, periods, **where) for c in ind.inputs}
        return {tag: _derived(ind, {c: inputs[c][tag] for c in ind.inputs}, "unit_id") if tag in months_of else out[tag]
                for tag in periods}
    for group in Q.disjoint(months_of.items()):
        if ind.percentile is not None:
            h = _tagged_hist(ind.denominator, level, group, **where)
            r = percentile_from_hist(h, ind.percentile, ["unit_id", "tag"])
            for tag in group:
                x = r[r["tag"] == tag]
                out[tag] = pd.DataFrame({"unit_id": x["unit_id"], "numerator": np.nan, "denominator": x["weight"],
                                         "value": x["value"].astype(float)}).reset_index(drop=True)
            continue
        measures = [m for m in (ind.numerator, ind.denominator) if m is not None]
        parts = []
        for mart in dict.fromkeys(m.mart for m in measures):
            df = _tagged_sums([m for m in measures if m.mart == mart], level, group, **where)
            parts.append(df.set_index(["unit_id", "tag"]))
        both = pd.concat(parts, axis=1).fillna(0.0).astype(float)
        for tag, months in group.items():
            if tag not in both.index.get_level_values("tag"):
                continue
            x = both.xs(tag, level="tag")
            num = x[ind.numerator.name]
            den = x[ind.denominator.name] if ind.denominator is not None else None
            if den is not None and ind.denominator.agg == "avg_months":
                den = den / len(months)
            if ind.numerator.agg == "avg_months":
                num = num / len(months)
            frame = pd.DataFrame({"unit_id": x.index.to_numpy(), "numerator": num.to_numpy(),
                                  "denominator": den.to_numpy() if den is not None else np.nan})
            frame["value"] = _ratio(ind, frame["numerator"], frame["denominator"] if den is not None else None, len(months))
            out[tag] = frame
    return out


# ------------------------------------------------------------------ public API
@dataclass(frozen=True)
class Context:
    """What is asked: the children of ``parent`` (a unit of the level above) at ``level``."""
    code: str
    level: str
    period: Period
    parent: int | None = None
    scope: Scope = CITY
    kinds: tuple[str, ...] | None = None  # organisations of these kinds only (level mo); None: every kind


def check(ctx: Context) -> Indicator:
    """Validate a request against the registry, the hierarchy and the scope."""
    reg = registry()
    if ctx.code not in reg:
        raise NotFound(f"Показатель «{ctx.code}» не найден")
    ind = reg[ctx.code]
    if ctx.level not in LEVELS:
        raise EvaluationError(f"Уровень «{ctx.level}» неизвестен; допустимы: {', '.join(LEVELS)}")
    if not ind.valid_at(ctx.level):
        raise EvaluationError(f"Показатель «{ind.short}» не считается на уровне «{ctx.level}»; "
                              f"допустимы: {', '.join(ind.levels)}")
    parent_level = U.PARENT_LEVEL[ctx.level]
    if ctx.level == "doctor" and ctx.parent is None:
        raise EvaluationError("Для уровня врачей укажите организацию (parent)")
    if ctx.parent is not None and parent_level not in (None, "region"):
        u = U.unit(parent_level, ctx.parent)
        if u is None:
            raise NotFound(f"Единица {ctx.parent} уровня «{parent_level}» не найдена")
        U.require(ctx.scope, u)
    return ind


def _require_unit(level: str, unit_id, scope: Scope) -> None:
    """Refuse a single unit outside the scope (its own values, its trend, its card)."""
    u = U.unit(level, unit_id)
    if u is None:
        raise NotFound(f"Единица {unit_id} уровня «{level}» не найдена")
    U.require(scope, u)


def _names(level: str, ids, parent) -> pd.DataFrame:
    if level == "region":
        return pd.DataFrame({"unit_id": [0], "unit_name": [U.CITY_NAME]})
    if level == "district":
        d = U.districts()
        return pd.DataFrame({"unit_id": d["district_id"], "unit_name": d["name"]})
    if level == "mo":
        o = U.organisations()
        return pd.DataFrame({"unit_id": o["mo_id"], "unit_name": o["short_name"], "full_name": o["name"],
                             "district_id": o["district_id"], "district_name": o["district_name"], "kind": o["kind"]})
    doc = U.doctors_of(parent) if parent is not None else pd.DataFrame(columns=["doctor_id", "full_name", "specialty"])
    return pd.DataFrame({"unit_id": doc["doctor_id"], "unit_name": doc["full_name"], "specialty": doc["specialty"],
                         "department": doc["department"]})


@cached(timeout=600)
def children(ctx: Context) -> pd.DataFrame:
    """Rows for each child unit: unit_id, unit_name, numerator, denominator, value, target,
    previous_value, last_year_value, status — sorted by value in the good direction."""
    ind = check(ctx)
    span = data_span()
    parent_level = U.PARENT_LEVEL[ctx.level]
    where = dict(parent_level=parent_level, parent_id=ctx.parent, scope=ctx.scope)
    frames = _period_frames(ind, ctx.level, {"cur": _available(ctx.period, span),
                                             "prev": _available(ctx.period.previous(), span),
                                             "ly": _available(ctx.period.last_year(), span)}, **where)
    cur, prev, ly = frames["cur"], frames["prev"], frames["ly"]
    if ctx.level == "region" and not (cur["unit_id"] == 0).any():
        # the city always has its row: «нет данных» rather than an empty list
        cur = pd.DataFrame({"unit_id": [0], "numerator": [np.nan], "denominator": [np.nan], "value": [np.nan]})
    prev_den = prev["denominator"] if "denominator" in prev else pd.Series(np.nan, index=prev.index)
    prev = prev.assign(previous_few=few_observations(ind, prev_den))
    out = cur.merge(prev[["unit_id", "value", "previous_few"]].rename(columns={"value": "previous_value"}),
                    on="unit_id", how="left")
    out["previous_few"] = out["previous_few"].fillna(False).astype(bool)
    out = out.merge(ly[["unit_id", "value"]].rename(columns={"value": "last_year_value"}), on="unit_id", how="left")
    names = _names(ctx.level, out["unit_id"], ctx.parent)
    out = out.merge(names, on="unit_id", how="left")
    out = out[out["unit_name"].notna()]
    if ctx.level == "mo" and ctx.kinds:
        kind_of = U.organisations().set_index("mo_id")["kind"]
        out = out[out["unit_id"].map(kind_of).isin(ctx.kinds)]
    from .targets import targets_for
    out["target"] = targets_for(ind, ctx.level, out["unit_id"].tolist(), ctx.period)
    out["few"] = few_observations(ind, out["denominator"])
    out["status"] = [scoring.status(v, t, ind.higher_is_better, f)
                     for v, t, f in zip(out["value"], out["target"], out["few"])]
    # judged values first in the good direction, then values on too few observations, then units without data;
    # equal values by name, as the rating does: the order must not depend on how the marts were last written
    out["_tier"] = np.where(out["value"].isna(), 2, np.where(out["few"], 1, 0))
    out = out.sort_values(["_tier", "value", "unit_name"], ascending=[True, not ind.higher_is_better, True],
                          na_position="last", kind="stable")
    return out.drop(columns="_tier").reset_index(drop=True)


@cached(timeout=600)
def frame(code: str, level: str, period: Period, parent: int | None = None, scope: Scope = CITY) -> pd.DataFrame:
    """The raw values of every unit with data at ``level`` under ``parent`` for one period.

    Unlike ``children`` it keeps units that the reference lists do not name under this parent (a doctor who
    moved to another organisation still has his rows at the first one) and carries no comparisons.

    Returns:
        unit_id, numerator, denominator, value, few (too few observations to judge).
    """
    ind = check(Context(code, level, period, parent, scope))
    where = dict(parent_level=U.PARENT_LEVEL[level], parent_id=parent, scope=scope)
    out = _period_frames(ind, level, {"cur": _available(period, data_span())}, **where)["cur"]
    out = out.reindex(columns=FRAME_COLS).reset_index(drop=True)
    out["few"] = few_observations(ind, out["denominator"])
    return out


def few_observations(ind: Indicator, denominator: pd.Series) -> pd.Series:
    """Whether each value rests on fewer observations than the indicator's declared minimum."""
    if not ind.min_denominator:
        return pd.Series(False, index=denominator.index)
    den = pd.to_numeric(denominator, errors="coerce")
    return (den.notna() & (den < ind.min_denominator)).astype(bool)


def kinds_for(ind: Indicator, kind: str | None) -> tuple[str, ...] | None:
    """The organisation kinds a list shows: the indicator's own by default (``kind`` empty), every kind for
    ``all``, or one named kind; a kind the module does not know is refused (ValueError, Russian)."""
    if not kind:
        return ind.mo_kinds or None
    if kind == "all":
        return None
    if kind not in MO_KINDS:
        raise ValueError(f"Тип организаций «{kind}» неизвестен; есть: all, " + ", ".join(MO_KINDS))
    return (kind,)


@cached(timeout=600)
def unit_value(code: str, level: str, unit_id: int | None, period: Period, scope: Scope = CITY) -> dict:
    """One unit's value with comparisons (for a KPI card or an organisation card)."""
    _require_unit(level, unit_id, scope)
    u = U.unit(level, unit_id)
    parent = {"region": None, "district": None, "mo": u.district_id, "doctor": u.mo_id}[level]
    rows = children(Context(code, level, period, parent, scope))
    row = rows[rows["unit_id"] == (0 if level == "region" else int(unit_id))]
    if row.empty:
        ind = registry()[code]
        from .targets import targets_for
        return {"value": None, "numerator": None, "denominator": None, "previous_value": None,
                "last_year_value": None, "target": targets_for(ind, level, [unit_id or 0], period)[0], "status": "none",
                "few": False}
    r = row.iloc[0]
    out = {k: (None if pd.isna(r[k]) else float(r[k])) if k != "status" else r[k]
           for k in ("value", "numerator", "denominator", "previous_value", "last_year_value", "target", "status")}
    out["few"] = bool(r["few"])
    return out


@cached(timeout=600)
def trend(code: str, level: str, unit_id: int | None, last_month: dt.date, n_months: int = 24,
          scope: Scope = CITY) -> pd.DataFrame:
    """Monthly values of one unit for the n months up to last_month: month, numerator, denominator, value, target."""
    ind = registry()[code]
    _require_unit(level, unit_id, scope)
    span = data_span()
    if span is None:
        return pd.DataFrame(columns=["month", "numerator", "denominator", "value", "target"])
    have = set(data_months())
    months = [m for m in (month_add(last_month, -k) for k in range(n_months - 1, -1, -1)) if m in have]
    if not months:
        return pd.DataFrame(columns=["month", "numerator", "denominator", "value", "target"])
    if ind.kind == "derived":
        inputs = {c: trend(c, level, unit_id, last_month, n_months, scope) for c in ind.inputs}
        out = _derived(ind, inputs, "month")
    elif ind.percentile is not None:
        h = _tagged_hist(ind.denominator, "region", {f"{m:%Y-%m}": [m] for m in months},
                         parent_level=level, parent_id=unit_id, scope=scope)
        r = percentile_from_hist(h, ind.percentile, ["tag"])
        out = pd.DataFrame({"month": [dt.date(int(x[:4]), int(x[5:7]), 1) for x in r["tag"]], "numerator": np.nan,
                            "denominator": r["weight"], "value": r["value"]})
    else:
        m = _monthly(ind, months, unit_level=level, unit_id=unit_id, scope=scope)
        den = m[ind.denominator.name].astype(float) if ind.denominator is not None else np.nan
        out = pd.DataFrame({"month": m.index, "numerator": m[ind.numerator.name].astype(float),
                            "denominator": den}).reset_index(drop=True)
        out["value"] = _ratio(ind, out["numerator"], out["denominator"] if ind.denominator is not None else None, 1)
    out["month"] = pd.to_datetime(out["month"]).dt.date
    out = out.sort_values("month").reset_index(drop=True)
    from .targets import targets_for
    out["target"] = [targets_for(ind, level, [unit_id or 0], Period("month", m, m))[0] for m in out["month"]]
    return out
