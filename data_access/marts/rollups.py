"""Rollups (pre-aggregations, as in Cube): coarser copies of a mart, built from the mart itself.

A query reads the smallest built table that has every column it needs (``table_for``).
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import func, select

from data_access.cache import cached
from data_access.context import get_db

from .sql import Window
from .tables import build_log, marts

# Coarser copies of a mart for the questions that do not need its finest grain (a district's
# share of bookings seen within 24 h does not need doctors or channels). Built from the mart
# itself after it; the evaluator reads the smallest table that has every column a query needs.
# Non-additive columns (distinct patients) are left out of rollups.
NON_ADDITIVE = {"patients"}
ROLLUPS = {
    "mart_booking_district": ("mart_booking", ["district_id", "spec_category"]),
    "mart_booking_mo": ("mart_booking", ["district_id", "mo_id", "spec_category", "channel", "suspicion"]),
    "mart_visits_mo": ("mart_visits", ["district_id", "mo_id", "spec_category"]),
    "mart_slots_mo": ("mart_slots", ["district_id", "mo_id", "specialty_id", "spec_category"]),
    "mart_emd_flow_mo": ("mart_emd_flow", ["district_id", "mo_id", "kind_code"]),
    "mart_emd_coverage_mo": ("mart_emd_coverage", ["district_id", "mo_id", "kind_code"]),
    "mart_morbidity_mo": ("mart_morbidity", ["district_id", "mo_id"]),
    "mart_vaccination_mo": ("mart_vaccination", ["district_id", "mo_id", "vaccine"]),
    "mart_wait_hist_district": ("mart_wait_hist", ["district_id", "spec_category", "wait_days"]),
}


def _rollup_table(name: str, source: str, dims: list[str]) -> sa.Table:
    src = marts.tables[source]
    keep = ["month"] + dims
    measures = [c for c in src.columns if c.name not in keep and c.name not in {
        "dept_id", "doctor_id", "specialty_id", "spec_category", "channel", "suspicion", "kind_code", "icd3", "sex",
        "age_group", "district_id", "mo_id", "vaccine"} and c.name not in NON_ADDITIVE]
    cols = [sa.Column(c, src.c[c].type, nullable=src.c[c].nullable) for c in keep]
    cols += [sa.Column(c.name, c.type, nullable=False, default=0) for c in measures]
    return sa.Table(name, marts, *cols, info={"doc": f"Свёртка {source} по: {', '.join(dims)} (для запросов без "
                                                    f"более подробных разрезов).", "rollup_of": source, "dims": dims,
                                              "measures": [c.name for c in measures]})


for _name, (_src, _dims) in ROLLUPS.items():
    _rollup_table(_name, _src, _dims)


def rollups_of(mart: str) -> list[sa.Table]:
    """The rollups of a mart, coarsest first (fewest columns)."""
    out = [marts.tables[n] for n, (src, _) in ROLLUPS.items() if src == mart]
    return sorted(out, key=lambda t: len(t.columns))


@cached(memory=True)
def built_tables() -> frozenset[str]:
    """Marts and rollups that have been built (a rollup added by an upgrade is used once it is built)."""
    with get_db().engine.connect() as c:
        return frozenset(c.execute(select(build_log.c.mart).group_by(build_log.c.mart)).scalars().all())


def table_for(mart: str, need: set[str]) -> sa.Table:
    """The smallest built table with every needed column: a rollup of the mart, or the mart itself."""
    built = built_tables()
    for t in rollups_of(mart):
        if t.name in built and need <= {c.name for c in t.columns}:
            return t
    return marts.tables[mart]


def sel_rollup(name: str):
    def select_rollup(w: Window):
        t = marts.tables[name]
        src = marts.tables[t.info["rollup_of"]]
        keys = [src.c.month] + [src.c[d] for d in t.info["dims"]]
        return select(*keys, *[func.sum(src.c[m]).label(m) for m in t.info["measures"]]).where(
            w.on(src.c.month)).group_by(*keys)
    return select_rollup
