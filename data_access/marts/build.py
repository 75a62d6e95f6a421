"""Building the marts: create (or re-create after an upgrade), rebuild all months or one, log each build."""
from __future__ import annotations

import datetime as dt
import time
from typing import Callable

import sqlalchemy as sa
from sqlalchemy import func, select

from data_access import schema as s
from data_access.db import Database

from .access import sel_booking, sel_slots, sel_staff, sel_wait_channel, sel_wait_hist, sel_wait_spec
from .contract import sel_contract, sel_contract_mo
from .emk import sel_emd_coverage, sel_emd_day, sel_emd_flow, sel_emd_reject
from .morbidity import sel_morbidity, sel_population
from .pregnancy import sel_pregnancy
from .programs import sel_prevention, sel_prevention_band, sel_screening, sel_vacc_delay, sel_vaccination
from .registers import sel_quality, sel_register, sel_volume
from .rollups import ROLLUPS, sel_rollup
from .sql import Window, month_of
from .tables import build_log, marts
from .visits import sel_visits

# Every mart and rollup (rollups are registered in the metadata when .rollups is imported).
MART_TABLES = [t for t in marts.sorted_tables if t.name != "mart_build_log"]


# The build order: a rollup, mart_wait_hist and mart_contract are built from marts built before them.
SELECTS: dict[str, Callable[[Window], sa.Select]] = {
    "mart_visits": sel_visits, "mart_morbidity": sel_morbidity, "mart_population": sel_population,
    "mart_emd_coverage": sel_emd_coverage, "mart_emd_flow": sel_emd_flow, "mart_emd_reject": sel_emd_reject,
    "mart_emd_day": sel_emd_day, "mart_booking": sel_booking, "mart_wait_channel": sel_wait_channel,
    "mart_wait_spec": sel_wait_spec, "mart_wait_hist": sel_wait_hist,
    "mart_slots": sel_slots, "mart_staff": sel_staff, "mart_pregnancy": sel_pregnancy, "mart_prevention": sel_prevention,
    "mart_prevention_band": sel_prevention_band, "mart_vaccination": sel_vaccination, "mart_vacc_delay": sel_vacc_delay,
    "mart_screening": sel_screening, "mart_register": sel_register, "mart_quality": sel_quality,
    "mart_volume": sel_volume, "mart_contract": sel_contract, "mart_contract_mo": sel_contract_mo,
}
SELECTS.update({name: sel_rollup(name) for name in ROLLUPS})  # after their source marts


def _existing_columns(conn, table: str) -> list[str]:
    q = sa.text("select column_name from information_schema.columns where table_name = :t"
                + ("" if conn.dialect.name == "duckdb" else " and table_schema = current_schema()"))
    return [r[0] for r in conn.execute(q, {"t": table})]


def create_marts(db: Database) -> None:
    """Create the mart tables; a mart whose columns differ from the code (an upgrade) is dropped to be rebuilt."""
    with db.engine.begin() as conn:
        existing = {t.name: _existing_columns(conn, t.name) for t in marts.sorted_tables}
        for t in MART_TABLES:
            cols = existing[t.name]
            if cols and sorted(cols) != sorted(c.name for c in t.columns):
                conn.execute(sa.text(f'DROP TABLE "{t.name}"'))
                if existing[build_log.name]:
                    conn.execute(build_log.delete().where(build_log.c.mart == t.name))
        marts.create_all(conn, checkfirst=True)
        if not db.is_duckdb:
            for t in MART_TABLES:
                cols = "month, mo_id" if "mo_id" in t.c else "month"
                conn.execute(sa.text(f'CREATE INDEX IF NOT EXISTS ix_{t.name}_month ON "{t.name}" ({cols})'))


def data_months(db: Database) -> tuple[dt.date, dt.date] | None:
    """The first and last month of visits in the contract tables, or None when there are none."""
    with db.engine.connect() as conn:
        lo, hi = conn.execute(select(func.min(s.visit.c.visit_date), func.max(s.visit.c.visit_date))).one()
    if lo is None:
        return None
    return lo.replace(day=1), hi.replace(day=1)


timings: dict[str, float] = {}  # seconds per mart of the last build (for the benchmark)


def _build_part(db: Database, name: str, w: Window, now: dt.datetime, conn: sa.Connection | None = None) -> int:
    """Replace the window's months of one mart in one transaction (or in the caller's); returns the rows inserted."""
    if conn is None:
        with db.engine.begin() as c:
            return _build_part(db, name, w, now, c)
    table = marts.tables[name]
    q = SELECTS[name](w)
    cols = [c.name for c in q.selected_columns]
    if not db.is_duckdb:
        # aggregates of millions of rows hash in memory instead of spilling to disk
        conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))
    conn.execute(table.delete().where(w.on(table.c.month)))
    conn.execute(table.insert().from_select(cols, q))
    rows = conn.execute(select(month_of(table.c.month), func.count()).where(w.on(table.c.month))
                        .group_by(month_of(table.c.month))).all()
    conn.execute(build_log.delete().where(build_log.c.mart == name, w.on(build_log.c.month)))
    if rows:
        conn.execute(build_log.insert(), [{"mart": name, "month": m, "rows": n, "built_at": now} for m, n in rows])
    return sum(n for _, n in rows)


def refresh_months(db: Database, first: dt.date, last: dt.date) -> dict[str, int]:
    """Rebuild every mart (and rollup) for the months first…last in ONE transaction, for a serving database.

    Readers see the old numbers until the commit and the new ones after it, never a mix of marts (each
    query reads one snapshot); the data version (``mart_build_log``) changes at the same commit, so cached
    values switch at once. Months outside the data are refused (ValueError, Russian).
    """
    create_marts(db)
    span = data_months(db)
    if span is None:
        raise ValueError("В базе нет первичных данных: сначала загрузите их (flask --app app demo-data)")
    first, last = first.replace(day=1), last.replace(day=1)
    if first > last or first < span[0] or last > span[1]:
        raise ValueError(f"Месяцы {first:%m.%Y}–{last:%m.%Y} вне периода данных {span[0]:%m.%Y}–{span[1]:%m.%Y}")
    w, now = Window(first, last), dt.datetime.now().replace(microsecond=0)
    # not db.write(): the app's own small writes (sign-ins, audit) touch other tables and need not wait
    with db.engine.begin() as conn:
        return {name: _build_part(db, name, w, now, conn) for name in SELECTS}


def build_marts(db: Database, month: dt.date | None = None, *,
                progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Build every mart for all months, or rebuild one month without touching the others.

    Returns the number of rows inserted per mart.
    """
    progress = progress or (lambda label, i, n: None)
    create_marts(db)
    span = data_months(db)
    if span is None:
        raise ValueError("В базе нет первичных данных: сначала загрузите их (flask --app app demo-data)")
    if month is not None:
        month = month.replace(day=1)
        if not (span[0] <= month <= span[1]):
            raise ValueError(f"Месяц {month:%m.%Y} вне периода данных {span[0]:%m.%Y}–{span[1]:%m.%Y}")
        w = Window(month, month)
    else:
        w = Window(*span)
    counts = {}
    timings.clear()
    now = dt.datetime.now().replace(microsecond=0)
    # One statement per mart for the whole window: month-sized statements side by side on several
    # PostgreSQL connections were measured twice as slow at scale 1.0 (each month re-scans the
    # large fact tables that have no index on the mart's date column).
    for i, name in enumerate(SELECTS):
        started = time.perf_counter()
        progress(f"Витрина {name}", i, len(SELECTS))
        counts[name] = _build_part(db, name, w, now)
        timings[name] = round(time.perf_counter() - started, 2)
    progress("Витрины построены", len(SELECTS), len(SELECTS))
    if not db.is_duckdb:
        with db.engine.begin() as conn:
            for t in MART_TABLES:
                conn.execute(sa.text(f'ANALYZE "{t.name}"'))
    return counts


def refresh_rollups(db: Database) -> None:
    """Rebuild every rollup from its mart for all the mart's months (after marts were written directly)."""
    create_marts(db)
    for name, (source, _dims) in ROLLUPS.items():
        src = marts.tables[source]
        with db.engine.connect() as conn:
            lo, hi = conn.execute(select(func.min(src.c.month), func.max(src.c.month))).one()
        if lo is None:
            continue
        w = Window(lo, hi)
        table = marts.tables[name]
        q = SELECTS[name](w)
        with db.engine.begin() as conn:
            conn.execute(table.delete().where(w.on(table.c.month)))
            conn.execute(table.insert().from_select([c.name for c in q.selected_columns], q))


def data_version(db: Database) -> str:
    """A token that changes whenever a mart is rebuilt (the cache key's salt)."""
    try:
        with db.engine.connect() as conn:
            v = conn.execute(select(func.max(build_log.c.built_at), func.count())).one()
        return f"{v[0]}|{v[1]}"
    except Exception:
        return "none"
