"""Creating and dropping the contract's tables, and the indexes PostgreSQL needs."""
from __future__ import annotations

import sqlalchemy as sa

from . import schema
from .db import Database


def create_contract(db: Database, *, drop: bool = False) -> None:
    """Create the contract tables (dropping them first when asked)."""
    with db.engine.begin() as conn:
        if drop:
            for t in reversed(schema.CONTRACT_TABLES):
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{t.name}"'))
        schema.metadata.create_all(conn, checkfirst=True)


def create_pg_indexes(db: Database) -> None:
    """Indexes on the date columns that month-by-month mart builds filter on (PostgreSQL only)."""
    if db.is_duckdb:
        return
    with db.engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '1GB'"))  # index builds sort in memory
        for table, cols in schema.PG_INDEXES:
            name = f"ix_{table}_{'_'.join(cols)}"
            conn.execute(sa.text(f'CREATE INDEX IF NOT EXISTS {name} ON "{table}" ({", ".join(cols)})'))
        for t in schema.CONTRACT_TABLES:
            conn.execute(sa.text(f'ANALYZE "{t.name}"'))


def table_exists(db: Database, name: str) -> bool:
    """Whether a table exists (without reflection, which duckdb-engine does not support)."""
    if db.is_duckdb:
        q = sa.text("select count(*) from information_schema.tables where table_name = :n")
    else:
        q = sa.text("select count(*) from information_schema.tables where table_name = :n and table_schema = current_schema()")
    with db.engine.connect() as conn:
        return bool(conn.execute(q, {"n": name}).scalar())
