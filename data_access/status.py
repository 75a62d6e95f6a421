"""What data the database holds: contract tables, the period covered, marts built."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from . import marts, schema
from .db import Database
from .setup import table_exists

# the fact tables whose date range the data-status page shows
PERIOD_COLUMNS = {t: schema.MONTH_COLUMNS[t] for t in ("visit", "care_episode", "booking", "emd_document", "pregnancy",
                                                       "dispensary_exam", "vaccination")}


@dataclass
class DataStatus:
    tables: dict[str, int] = field(default_factory=dict)
    periods: dict[str, tuple] = field(default_factory=dict)
    marts: dict[str, dict] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return self.tables.get("visit", 0) > 0

    @property
    def has_marts(self) -> bool:
        return any(m["months"] for m in self.marts.values())

    @property
    def missing_marts(self) -> list[str]:
        """Marts never built (for example, added by an upgrade of the module)."""
        return [name for name, m in self.marts.items() if not m["months"]]

    @property
    def first_month(self) -> dt.date | None:
        p = self.periods.get("visit")
        return p[0].replace(day=1) if p and p[0] else None

    @property
    def last_month(self) -> dt.date | None:
        p = self.periods.get("visit")
        return p[1].replace(day=1) if p and p[1] else None


def data_status(db: Database) -> DataStatus:
    """Row counts per contract table, the date range of each fact table, months built per mart."""
    st = DataStatus()
    with db.engine.connect() as conn:
        for t in schema.CONTRACT_TABLES:
            if not table_exists(db, t.name):
                st.tables[t.name] = 0
                continue
            st.tables[t.name] = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            col = PERIOD_COLUMNS.get(t.name)
            if col and st.tables[t.name]:
                st.periods[t.name] = conn.execute(sa.select(sa.func.min(t.c[col]), sa.func.max(t.c[col]))).one()
        marts.create_marts(db)  # brings mart tables in line with the code (an upgrade drops changed ones)
        if table_exists(db, marts.build_log.name):
            log = marts.build_log
            rows = conn.execute(sa.select(log.c.mart, sa.func.count(), sa.func.min(log.c.month), sa.func.max(log.c.month),
                                          sa.func.sum(log.c.rows), sa.func.max(log.c.built_at)).group_by(log.c.mart)).all()
            for name, n, lo, hi, total, built in rows:
                st.marts[name] = {"months": n, "first": lo, "last": hi, "rows": total, "built_at": built}
    for t in marts.MART_TABLES:
        st.marts.setdefault(t.name, {"months": 0, "first": None, "last": None, "rows": 0, "built_at": None})
    return st
