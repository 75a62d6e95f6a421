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
from sqlalchemy import and_, case, func

from data_access import marts as M
from data_access import units as U
from data_access.cache import cached
from data_access.context import get_db
from data_access.scope import CITY, Scope, ScopeError

from . import scoring
from .model import LEVEL_COLUMN, LEVELS, Indicator, Measure, Registry, load_registry
from .periods import Period, month_add

_REGISTRY: Registry | None = None


class EvaluationError(ValueError):
    """A request that cannot be evaluated (wrong level for the indicator, unknown unit…)."""


class NotFound(LookupError):
    """An unknown indicator or unit."""


def registry() -> Registry:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY


def reload_registry() -> Registry:
    """Parse and validate the registry again (at start-up: a broken declaration stops the app)."""
    global _REGISTRY
    _REGISTRY = load_registry()
    return _REGISTRY


@cached(timeout=300)
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


# ------------------------------------------------------------------ SQL
def _unit_col(t: sa.Table, level: str):
    return t.c[LEVEL_COLUMN[level]] if level != "region" else None


def _scope_filter(t: sa.Table, level: str, scope: Scope):
    conds = []
    if level == "region":
        return conds  # city aggregates are visible to every role
    if scope.districts is not None and "district_id" in t.c:
        conds.append(t.c.district_id.in_(sorted(scope.districts)))
    if scope.mos is not None and level in ("mo", "doctor") and "mo_id" in t.c:
        conds.append(t.c.mo_id.in_(sorted(scope.mos)))
    return conds


def _measure_expr(t: sa.Table, m: Measure):
    expr = t.c[m.expr[0]]
    for e in m.expr[1:]:
        expr = expr + t.c[e]
    if m.filters:
        cond = and_(*[t.c[c].in_(list(v)) for c, v in m.filters])
        return func.sum(case((cond, expr), else_=0))
    return func.sum(expr)


def _where(t, months, parent_level, parent_id, unit_level, unit_id, level, scope):
    conds = [t.c.month.in_(months)] + _scope_filter(t, level, scope)
    if parent_level not in (None, "region") and parent_id is not None:
        conds.append(t.c[LEVEL_COLUMN[parent_level]] == int(parent_id))
    if unit_level not in (None, "region") and unit_id is not None:
        conds.append(t.c[LEVEL_COLUMN[unit_level]] == int(unit_id))
    return conds


def _sums(measures: list[Measure], level: str, months: list[dt.date], *, parent_level=None, parent_id=None,
          unit_level=None, unit_id=None, scope: Scope = CITY, by_month=False) -> pd.DataFrame:
    """SUM of each measure over the months, per unit of the level (and per month when asked)."""
    t = M.marts.tables[measures[0].mart]
    uc = _unit_col(t, level)
    keys = ([uc.label("unit_id")] if uc is not None else []) + ([t.c.month] if by_month else [])
    q = sa.select(*keys, *[_measure_expr(t, m).label(m.name) for m in measures]).where(
        *_where(t, months, parent_level, parent_id, unit_level, unit_id, level, scope))
    if keys:
        q = q.group_by(*keys)
    df = get_db().read_df(q)
    if uc is None:
        df.insert(0, "unit_id", 0)
    return df


def _hist(m: Measure, level: str, months, *, parent_level=None, parent_id=None, unit_level=None, unit_id=None,
          scope: Scope = CITY, by_month=False) -> pd.DataFrame:
    t = M.marts.tables[m.mart]
    uc = _unit_col(t, level)
    val = t.c[m.expr[0]]
    keys = ([uc.label("unit_id")] if uc is not None else []) + ([t.c.month] if by_month else []) + [val.label("v")]
    cond = and_(*[t.c[c].in_(list(v)) for c, v in m.filters]) if m.filters else sa.true()
    q = sa.select(*keys, func.sum(t.c[m.weight]).label("w")).where(
        cond, *_where(t, months, parent_level, parent_id, unit_level, unit_id, level, scope)).group_by(*keys)
    df = get_db().read_df(q)
    if uc is None:
        df.insert(0, "unit_id", 0)
    return df


def percentile_from_hist(df: pd.DataFrame, p: float, keys: list[str]) -> pd.DataFrame:
    """The p-th percentile of value v weighted by w, per group of keys (the smallest v reaching p)."""
    if df.empty:
        return pd.DataFrame(columns=keys + ["value", "weight"])
    df = df.sort_values(keys + ["v"])
    df["cum"] = df.groupby(keys)["w"].cumsum()
    tot = df.groupby(keys)["w"].transform("sum")
    hit = df[df["cum"] >= p * tot]
    first = hit.groupby(keys).head(1)
    out = first[keys + ["v"]].rename(columns={"v": "value"})
    out["weight"] = tot.loc[first.index].to_numpy()
    return out.reset_index(drop=True)


def _period_frame(ind: Indicator, level: str, period: Period | None, **where) -> pd.DataFrame:
    """numerator, denominator and value per unit for one period."""
    cols = ["unit_id", "numerator", "denominator", "value"]
    if period is None:
        return pd.DataFrame(columns=cols)
    months = _months_with_data(period)
    if not months:
        return pd.DataFrame(columns=cols)
    if ind.percentile is not None:
        h = _hist(ind.denominator, level, months, **where)
        r = percentile_from_hist(h, ind.percentile, ["unit_id"])
        return pd.DataFrame({"unit_id": r["unit_id"], "numerator": np.nan, "denominator": r["weight"],
                             "value": r["value"].astype(float)})
    parts = {}
    for m in (ind.numerator, ind.denominator):
        ms = [months[-1]] if m.agg == "last" else months
        df = _sums([m], level, ms, **where).set_index("unit_id")[m.name].astype(float)
        if m.agg == "avg_months":
            df = df / len(months)
        parts[m.name] = df
    num = parts[ind.numerator.name]
    den = parts[ind.denominator.name]
    frame = pd.concat([num.rename("numerator"), den.rename("denominator")], axis=1).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.where(frame["denominator"] > 0, frame["numerator"] / frame["denominator"] * ind.factor, np.nan)
    if ind.annualize:
        val = val * 12 / len(months)
    frame["value"] = val
    return frame.reset_index().rename(columns={"index": "unit_id"})


# ------------------------------------------------------------------ public API
@dataclass(frozen=True)
class Context:
    """What is asked: the children of ``parent`` (a unit of the level above) at ``level``."""
    code: str
    level: str
    period: Period
    parent: int | None = None
    scope: Scope = CITY


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
        if parent_level == "district":
            ctx.scope.require_district(u.id)
        elif parent_level == "mo":
            ctx.scope.require_mo(u.id, u.district_id)
    return ind


def _require_unit(level: str, unit_id, scope: Scope) -> None:
    """Refuse a single unit outside the scope (its own values, its trend, its card)."""
    if level == "region":
        return
    u = U.unit(level, unit_id)
    if u is None:
        raise NotFound(f"Единица {unit_id} уровня «{level}» не найдена")
    if level == "district":
        scope.require_district(u.id)
    else:
        scope.require_mo(u.mo_id, u.district_id)


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
    cur = _period_frame(ind, ctx.level, _available(ctx.period, span), **where)
    prev = _period_frame(ind, ctx.level, _available(ctx.period.previous(), span), **where)
    ly = _period_frame(ind, ctx.level, _available(ctx.period.last_year(), span), **where)
    out = cur.merge(prev[["unit_id", "value"]].rename(columns={"value": "previous_value"}), on="unit_id", how="left")
    out = out.merge(ly[["unit_id", "value"]].rename(columns={"value": "last_year_value"}), on="unit_id", how="left")
    names = _names(ctx.level, out["unit_id"], ctx.parent)
    out = out.merge(names, on="unit_id", how="left")
    out = out[out["unit_name"].notna()]
    from .targets import targets_for
    out["target"] = targets_for(ind, ctx.level, out["unit_id"].tolist(), ctx.period)
    out["status"] = [scoring.status(v, t, ind.higher_is_better) for v, t in zip(out["value"], out["target"])]
    out = out.sort_values("value", ascending=not ind.higher_is_better, na_position="last", kind="stable")
    return out.reset_index(drop=True)


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
                "last_year_value": None, "target": targets_for(ind, level, [unit_id or 0], period)[0], "status": "none"}
    r = row.iloc[0]
    return {k: (None if pd.isna(r[k]) else float(r[k])) if k != "status" else r[k]
            for k in ("value", "numerator", "denominator", "previous_value", "last_year_value", "target", "status")}


@cached(timeout=600)
def trend(code: str, level: str, unit_id: int | None, last_month: dt.date, n_months: int = 24,
          scope: Scope = CITY) -> pd.DataFrame:
    """Monthly values of one unit for the n months up to last_month: month, numerator, denominator, value, target."""
    ind = registry()[code]
    _require_unit(level, unit_id, scope)
    span = data_span()
    if span is None:
        return pd.DataFrame(columns=["month", "numerator", "denominator", "value", "target"])
    months = [m for m in (month_add(last_month, -k) for k in range(n_months - 1, -1, -1)) if span[0] <= m <= span[1]]
    where = dict(unit_level=level, unit_id=unit_id, scope=scope)
    if ind.percentile is not None:
        h = _hist(ind.denominator, "region", months, by_month=True, **where)
        r = percentile_from_hist(h, ind.percentile, ["month"])
        out = pd.DataFrame({"month": r["month"], "numerator": np.nan, "denominator": r["weight"], "value": r["value"]})
    else:
        frames = []
        for m in (ind.numerator, ind.denominator):
            df = _sums([m], "region", months, by_month=True, **where).set_index("month")[m.name].astype(float)
            frames.append(df)
        out = pd.concat(frames, axis=1).fillna(0.0)
        out.columns = ["numerator", "denominator"]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["value"] = np.where(out["denominator"] > 0, out["numerator"] / out["denominator"] * ind.factor, np.nan)
        if ind.annualize:
            out["value"] = out["value"] * 12
        out = out.reset_index()
    out["month"] = pd.to_datetime(out["month"]).dt.date
    out = out.sort_values("month").reset_index(drop=True)
    from .targets import targets_for
    out["target"] = [targets_for(ind, level, [unit_id or 0], Period("month", m, m))[0] for m in out["month"]]
    return out
