"""The semantic query: measures by dimensions, for one unit's rows, over tagged periods, under a scope.

One call serves the indicator evaluator, the subject pages, their exports and the API:

    run(Query(measures=("mart_booking.bookings", "primary_bookings"), by=("child", "spec_category"),
              unit=district, path="access", periods=(("cur", months),)), scope)

- *Measures* are the registry's named measures (``[measures.*]`` in indicators.toml: an aggregate of
  a mart's columns with filters) or any additive column of a mart as ``"<mart>.<column>"`` (its
  label is the column's documentation in the mart declaration).
- *Dimensions* (``by``): ``"child"`` — the unit's children along the subject's drill path; a level
  (``district``, ``mo``, ``dept``, ``spec``, ``doctor``); the time grain ``month``; or any other key
  column of the mart (sex, age group, ICD code, specialty group, booking channel, document kind…).
- The rows are those of ``unit`` (the city: all), kept inside the person's scope by the one filter
  ``units.scope_where`` at the grain of the finest unit dimension asked for.
- Each measure is summed in the database, over the smallest rollup that has every column needed;
  several tagged periods are read in one pass (a ``CASE`` on the month), one query per mart.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import and_, case, func

from data_access import marts as M
from data_access import units as U
from data_access.cache import cached
from data_access.context import get_db
from data_access.scope import CITY as CITY_SCOPE
from data_access.scope import Scope

from .model import Measure, RegistryError, column_measure

# Russian names of the dimensions (headers of the explorer and of exported tables).
DIMENSIONS = {
    "month": "Месяц", "district_id": "Район", "mo_id": "Медицинская организация", "dept_id": "Отделение",
    "doctor_id": "Врач", "specialty_id": "Специальность", "spec_category": "Группа специальностей",
    "channel": "Канал записи", "suspicion": "Подозрение на онкологию или ССЗ", "kind_code": "Вид документа",
    "program": "Программа", "vaccine": "Прививка", "icd3": "Рубрика МКБ-10", "sex": "Пол",
    "age_group": "Возрастная группа", "status": "Статус", "reason": "Причина", "wait_days": "Дней ожидания",
    "mo_kind": "Тип организации", "day": "День",
}


class QueryError(ValueError):
    """A query the semantic layer cannot answer (unknown measure or dimension)."""


@dataclass(frozen=True)
class Query:
    """What is asked (hashable: it is part of the cache key, with the scope)."""
    measures: tuple[str, ...]
    by: tuple[str, ...] = ()
    unit: U.Unit = U.CITY
    path: str = "indicator"
    periods: tuple[tuple[str, tuple[dt.date, ...]], ...] = ()
    filters: tuple[tuple[str, tuple], ...] = ()       # (dimension, allowed values)
    ranges: tuple[tuple[str, object, object], ...] = ()  # (dimension, lowest, highest), both included

    def grain(self) -> str:
        """The level the answer's rows stand for: the finest unit dimension, else the unit's own level."""
        levels = [self.child_level() if d == "child" else d for d in self.by if d == "child" or d in U.LEVELS]
        levels = [lv for lv in levels if lv]
        return max(levels, key=lambda lv: U.LEVELS[lv].rank) if levels else self.unit.level

    def child_level(self) -> str:
        """The level of ``"child"``: the next one down the path; at the bottom, the unit's own level."""
        return U.child_level(self.unit.level, self.path) or self.unit.level


def measure(name: str) -> Measure:
    """A registry measure by name, or a mart column as ``"<mart>.<column>"``."""
    if "." in name:
        mart, col = name.split(".", 1)
        try:
            return column_measure(mart, col)
        except RegistryError as exc:
            raise QueryError(str(exc)) from exc
    from .registry import registry
    reg = registry()
    if name not in reg.measures:
        raise QueryError(f"Мера «{name}» не объявлена")
    return reg.measures[name]


def _column(q: Query, dim: str) -> str:
    if dim == "child":
        if q.unit.level == "region" and q.child_level() == "region":
            raise QueryError("У города в этом разрезе нет уровня ниже")
        return U.LEVELS[q.child_level()].column
    if dim in U.LEVELS:
        return U.LEVELS[dim].column
    return dim


def measure_expr(t: sa.Table, m: Measure, last_months: list[dt.date] | None = None):
    """SUM of the measure's expression over the rows passing its filters.

    A stock (agg 'last') only counts the rows of the last month of each period (``last_months``);
    a histogram measure (median/p90) sums its weight column.
    """
    cols = (m.weight,) if m.agg in ("median", "p90") else m.expr
    expr = t.c[cols[0]]
    for e in cols[1:]:
        expr = expr + t.c[e]
    conds = [t.c[c].in_(list(v)) for c, v in m.filters]
    if m.agg == "last" and last_months:
        conds.append(t.c.month.in_(last_months))
    if conds:
        return func.sum(case((and_(*conds), expr), else_=0))
    return func.sum(expr)


def disjoint(periods) -> list[dict[str, list]]:
    """Split tagged month sets into groups whose sets do not overlap (one query per group)."""
    groups: list[dict[str, list]] = []
    for tag, months in periods:
        for g in groups:
            if not any(set(months) & set(other) for other in g.values()):
                g[tag] = list(months)
                break
        else:
            groups.append({tag: list(months)})
    return groups


def statements(q: Query, scope: Scope) -> list[tuple[list[str], sa.Select]]:
    """The SQL of a query: per mart and per group of disjoint periods, (key columns, select)."""
    ms = [measure(n) for n in q.measures]
    if not ms:
        raise QueryError("Не задано ни одной меры")
    grain = q.grain()
    cols = [_column(q, d) for d in q.by]
    out = []
    for mart in dict.fromkeys(m.mart for m in ms):
        mm = [m for m in ms if m.mart == mart]
        known = {c.name for c in M.marts.tables[mart].columns}
        if bad := [c for c in cols + [c for c, _ in q.filters] + [c for c, _, _ in q.ranges] if c not in known]:
            raise QueryError(f"В витрине {mart} нет разрезов {bad}")
        need = {"month", *cols} | {c for m in mm for c in (m.expr + ((m.weight,) if m.weight else ()))}
        need |= {c for m in mm for c, _ in m.filters} | {c for c, _ in q.filters} | {c for c, _, _ in q.ranges}
        need |= U.unit_columns(q.unit) | U.scope_columns(scope, grain)
        t = M.table_for(mart, need)
        for group in disjoint(q.periods):
            months = sorted({m for ms_ in group.values() for m in ms_})
            # a stock counts the last month of each period; by month, every month is its own last
            lasts = None if "month" in cols else [ms_[-1] for ms_ in group.values() if ms_]
            keys = [t.c[c].label(d if d != "child" else "child_id") for c, d in zip(cols, q.by)]
            names = [d if d != "child" else "child_id" for d in q.by]
            if len(group) > 1 or next(iter(group)) != "":
                keys.append(case(*[(t.c.month.in_(ms_), sa.literal(tag)) for tag, ms_ in group.items()]).label("tag"))
                names.append("tag")
            where = [t.c.month.in_(months), *U.unit_where(t, q.unit), *U.scope_where(t, scope, grain),
                     *[t.c[c].in_(list(v)) for c, v in q.filters],
                     *[t.c[c].between(lo, hi) for c, lo, hi in q.ranges]]
            sel = sa.select(*keys, *[measure_expr(t, m, lasts).label(n) for m, n in zip(mm, _labels(q, mm))]).where(*where)
            if keys:
                # GROUP BY 1, 2…: the same on both engines, and a CASE need not be repeated
                sel = sel.group_by(*[sa.literal_column(str(i + 1)) for i in range(len(keys))])
            out.append((names, sel))
    return out


def _labels(q: Query, mm: list[Measure]) -> list[str]:
    names = {measure(n).name: n for n in q.measures}
    return [names.get(m.name, m.name).split(".")[-1] for m in mm]


def run(q: Query, scope: Scope = CITY_SCOPE) -> pd.DataFrame:
    """The answer: one row per combination of the dimensions (and tag), one column per measure.

    Measure columns are named after the measure (a mart column: the column's name). With
    ``"child"`` among the dimensions, rows get ``child_name`` and rows of units without a name in
    the hierarchy are dropped.
    """
    frames = []
    by_key: dict[tuple, list[pd.DataFrame]] = {}
    if not any(months for _, months in q.periods):
        keys = [d if d != "child" else "child_id" for d in q.by] + (["tag"] if q.periods and q.periods[0][0] else [])
        return pd.DataFrame(columns=keys + _labels(q, [measure(n) for n in q.measures]) +
                            (["child_name"] if "child" in q.by else []))
    q = Query(q.measures, q.by, q.unit, q.path, tuple((t, m) for t, m in q.periods if m), q.filters, q.ranges)
    for names, sel in statements(q, scope):
        df = get_db().read_df(sel)
        by_key.setdefault(tuple(names), []).append(df)
    for names, parts in by_key.items():
        frames.append((list(names), pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]))
    if len(frames) == 1:
        out = frames[0][1]
    else:
        keys = frames[0][0]
        out = None
        for _, df in frames:
            df = df.groupby(keys, dropna=False, as_index=False).sum() if keys else df
            out = df if out is None else (out.merge(df, on=keys, how="outer") if keys else pd.concat([out, df], axis=1))
        out = out.fillna({c: 0.0 for c in out.columns if c not in keys})
    if "child" in q.by:
        out["child_name"] = out["child_id"].map(U.child_names(q.unit, q.path))
        out = out.dropna(subset=["child_name"])
    return out.reset_index(drop=True)


@cached(timeout=600)
def answer(q: Query, scope: Scope = CITY_SCOPE) -> pd.DataFrame:
    """``run`` through the loader cache (the scope is part of the key)."""
    return run(q, scope)


def months_query(measures, by=(), unit: U.Unit = U.CITY, path: str = "indicator", months=(), filters=(),
                 ranges=()) -> Query:
    """A query over one untagged set of months."""
    return Query(tuple(measures), tuple(by), unit, path, (("", tuple(months)),), tuple(filters), tuple(ranges))
