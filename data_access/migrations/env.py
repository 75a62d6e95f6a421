"""Alembic environment of the application's own tables; run through ``data_access.migrations``.

The connection comes from the caller (``config.attributes["connection"]``), inside its transaction,
so a migration and the check that follows it see the same database.
"""
from __future__ import annotations

from alembic import context
from alembic.ddl.impl import DefaultImpl

from data_access.migrations import VERSION_TABLE


class DuckDBImpl(DefaultImpl):
    """Alembic ships no DuckDB implementation; DuckDB's DDL is PostgreSQL-like and transactional."""
    __dialect__ = "duckdb"
    transactional_ddl = True


context.configure(connection=context.config.attributes["connection"], target_metadata=None,
                  version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
