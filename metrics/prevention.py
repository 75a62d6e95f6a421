"""Prevention through the semantic layer: the calendar by dose, dispensarisation by unit, band and
month, cancer screening by test — each a query of the marts under the person's scope."""
from __future__ import annotations

import pandas as pd

from data_access import units as U
from data_access.scope import CITY, Scope

from . import query as Q
from .histogram import percentile_from_hist

PATH = "prevention"
VACC = ("cohort", "covered", "covered_timely", "started", "dropped", "refused", "exempt", "doses")
DISP = ("plan_month", "plan_year", "stage1_done", "stage2_referred", "stage2_done", "stage2_full", "stage2_partial",
        "stage2_none", "pathology", "with_risk", "hg_1", "hg_2", "hg_3a", "hg_3b")
HEALTH_GROUP_COLUMNS = {"I": "hg_1", "II": "hg_2", "IIIa": "hg_3a", "IIIb": "hg_3b"}  # mart_prevention, in order
SCREEN = ("target_month", "tests", "positives", "followed_up", "followed_any")


def _cols(mart: str, cols) -> list[str]:
    return [f"{mart}.{c}" for c in cols]


def calendar(unit: U.Unit, months: tuple, scope: Scope = CITY) -> pd.DataFrame:
    """Per vaccine: the cohort counts, doses and the median delay in days (``delay``; none at an участок)."""
    df = Q.answer(Q.months_query(_cols("mart_vaccination", VACC), ("vaccine",), unit, PATH, months), scope)
    if unit.level not in levels_with("mart_vacc_delay"):  # delays are kept per organisation, not per участок
        return df.assign(delay=None)
    hist = Q.answer(Q.months_query(["mart_vacc_delay.doses"], ("vaccine", "delay_days"), unit, PATH, months), scope)
    med = percentile_from_hist(hist.rename(columns={"delay_days": "v", "doses": "w"}), 0.5, ["vaccine"])
    return df.merge(med.rename(columns={"value": "delay"})[["vaccine", "delay"]], on="vaccine", how="left")


def children(mart: str, cols, unit: U.Unit, months: tuple, scope: Scope = CITY, by: tuple = (),
             filters: tuple = ()) -> pd.DataFrame:
    """Columns of a mart per child unit of ``unit`` (child_id, child_name, …); empty at the bottom level
    or when the mart has no column for the child level (dispensarisation has no doctors)."""
    child = U.child_level(unit.level, PATH)
    if child is None or U.LEVELS[child].column not in {c.name for c in _mart(mart).columns}:
        return pd.DataFrame()
    return Q.answer(Q.months_query(_cols(mart, cols), ("child",) + tuple(by), unit, PATH, months, filters), scope)


def _mart(name: str):
    from data_access import marts as M
    return M.marts.tables[name]


def totals(mart: str, cols, unit: U.Unit, months: tuple, scope: Scope = CITY, by: tuple = (),
           filters: tuple = ()) -> pd.DataFrame:
    """Columns of a mart for the unit itself, by further dimensions (a month, a band, a test)."""
    return Q.answer(Q.months_query(_cols(mart, cols), tuple(by), unit, PATH, months, filters), scope)


def stock(mart: str, cols, unit: U.Unit, month, scope: Scope = CITY, by: tuple = ()) -> pd.DataFrame:
    """A stock column (attached population) as of one month."""
    return totals(mart, cols, unit, (month,), scope, by)


def levels_with(mart: str) -> list[str]:
    """The unit levels a mart answers (for the page to say where a table stops)."""
    cols = {c.name for c in _mart(mart).columns}
    return [lv for lv in U.PATHS[PATH] if U.LEVELS[lv].column is None or U.LEVELS[lv].column in cols]
