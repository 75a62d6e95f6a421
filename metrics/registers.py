"""Nosology registers, quality of care and volumes through the semantic layer: each a query of the marts
(``mart_register``, ``mart_quality``, ``mart_volume``) for a unit or its children under the person's scope.

Flows (added, removed, died, hospitalised; quality cases and scores; volumes) are summed over the months of
the period; stocks (enrolled, under observation a year, tested, controlled, diagnosed) are read at the
period's last month — the same rule as the registry's ``agg = "last"`` measures, so the pages' tables and
the indicators agree.
"""
from __future__ import annotations

import pandas as pd

from data_access import units as U
from data_access.marts import registers as MR
from data_access.scope import CITY, Scope

from . import query as Q

PATH = "registers"
REGISTER_FLOWS = ("added", "removed", "died", "hospitalised")
REGISTER_STOCKS = ("enrolled", "diagnosed", "diagnosed_enrolled", "year_observed", "visits_met", "tested",
                   "controlled")
QUALITY = ("cases", "exempt", "done", "with_reason", "score")
VOLUME = ("plan_month", "fact")
# the kinds of volume of care planned per organisation (``volume_plan.kind``, ``mart_volume.volume``), in order
VOLUMES = {k: name.capitalize() for k, name in MR.VOLUMES.items()}


def _cols(mart: str, cols) -> list[str]:
    return [f"{mart}.{c}" for c in cols]


def _mart(name: str):
    from data_access import marts as M
    return M.marts.tables[name]


def levels_with(mart: str) -> list[str]:
    """The unit levels of the registers' path a mart answers (volumes are planned per organisation)."""
    cols = {c.name for c in _mart(mart).columns}
    return [lv for lv in U.PATHS[PATH] if U.LEVELS[lv].column is None or U.LEVELS[lv].column in cols]


def child_level(unit: U.Unit, mart: str) -> str | None:
    """The level of the unit's children in a mart (None at the bottom of the path or of the mart)."""
    child = U.child_level(unit.level, PATH)
    return child if child in levels_with(mart) else None


def _read(mart: str, cols, unit: U.Unit, months: tuple, scope: Scope, by: tuple, filters: tuple,
          children: bool) -> pd.DataFrame:
    dims = (("child",) if children else ()) + tuple(by)
    return Q.answer(Q.months_query(_cols(mart, cols), dims, unit, PATH, tuple(months), filters), scope)


def _keys(children: bool, by: tuple) -> list[str]:
    return (["child_id", "child_name"] if children else []) + list(by)


def _empty(children: bool, by: tuple, cols) -> pd.DataFrame:
    return pd.DataFrame(columns=_keys(children, by) + list(cols))


def register_figures(unit: U.Unit, months: tuple, scope: Scope = CITY, *, children: bool = False,
                     registers: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Per register (and per child unit with ``children``): the flows of the months and the stocks at the
    last month — ``[child_id, child_name,] register``, every column of ``mart_register`` and ``enrolled_months``
    (the month-end enrolment summed over the months: the average enrolment × the number of months)."""
    cols = REGISTER_FLOWS + REGISTER_STOCKS + ("enrolled_months",)
    if not months or (children and child_level(unit, "mart_register") is None):
        return _empty(children, ("register",), cols)
    filters = (("register", tuple(registers)),) if registers else ()
    keys = _keys(children, ("register",))
    flows = _read("mart_register", REGISTER_FLOWS + ("enrolled",), unit, months, scope, ("register",), filters,
                  children).rename(columns={"enrolled": "enrolled_months"})
    stocks = _read("mart_register", REGISTER_STOCKS, unit, (max(months),), scope, ("register",), filters, children)
    out = flows.merge(stocks, on=keys, how="outer")
    return out.fillna({c: 0.0 for c in cols})[keys + list(cols)].reset_index(drop=True)


def quality_figures(unit: U.Unit, months: tuple, scope: Scope = CITY, *, children: bool = False,
                    criteria: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Per criterion (and per child unit): cases, exempt, done, done with a recorded reason, the score sum."""
    if not months or (children and child_level(unit, "mart_quality") is None):
        return _empty(children, ("criterion",), QUALITY)
    filters = (("criterion", tuple(criteria)),) if criteria else ()
    return _read("mart_quality", QUALITY, unit, months, scope, ("criterion",), filters, children)


def volume_figures(unit: U.Unit, months: tuple, scope: Scope = CITY, *, children: bool = False,
                   by_month: bool = False) -> pd.DataFrame:
    """Per kind of volume (and per child unit, or per month): the plan (a twelfth of the year's) and the fact."""
    by = (("month",) if by_month else ()) + ("volume",)
    if not months or (children and child_level(unit, "mart_volume") is None):
        return _empty(children, by, VOLUME)
    return _read("mart_volume", VOLUME, unit, months, scope, by, (), children)
