"""Marts: the processed layer, built inside the database by INSERT … SELECT … GROUP BY.

Every mart has a ``month`` column (first day of the month). ``build_marts`` rebuilds either all
months (one statement per mart, grouped by month) or a single month (delete that month, insert
it again) with the same Core select, so the two paths cannot drift apart (a test rebuilds months
one by one and compares every mart with the full build). Grains follow the
questions asked of them (engineering notes): month × doctor for activity, month × organisation ×
ICD code × sex × age for morbidity, histograms for waits so that any percentile can be read at
any level.

The package:

- ``tables`` — the mart tables and the build log;
- ``rollups`` — coarser copies of marts (pre-aggregations) and the choice of the smallest table;
- ``sql`` — helpers shared by the selects (months, flags, age groups, the build ``Window``);
- per-subject selects that fill the marts: ``visits``, ``morbidity``, ``emk``, ``access``,
  ``pregnancy``, ``programs``, ``registers``, ``contract``;
- ``build`` — creating, building and rebuilding the marts, the build order and the data version.

The names other modules use are exported here.
"""
from __future__ import annotations

from .access import sel_booking
from .build import (
    MART_TABLES,
    SELECTS,
    build_marts,
    create_marts,
    data_version,
    refresh_months,
    refresh_rollups,
    timings,
)
from .rollups import ROLLUPS, table_for
from .sql import Window
from .tables import (
    build_log,
    mart_booking,
    mart_contract,
    mart_contract_mo,
    mart_emd_day,
    mart_emd_reject,
    mart_morbidity,
    mart_population,
    mart_pregnancy,
    mart_staff,
    mart_visits,
    mart_wait_channel,
    mart_wait_hist,
    mart_wait_spec,
    marts,
)
from .visits import sel_visits

__all__ = [
    "MART_TABLES", "ROLLUPS", "SELECTS", "Window", "build_log", "build_marts", "create_marts", "refresh_months", "data_version",
    "mart_booking", "mart_contract", "mart_contract_mo", "mart_emd_day", "mart_emd_reject", "mart_morbidity",
    "mart_population", "mart_pregnancy", "mart_staff", "mart_visits", "mart_wait_channel", "mart_wait_hist",
    "mart_wait_spec", "marts", "refresh_rollups", "sel_booking", "sel_visits", "table_for", "timings",
]
