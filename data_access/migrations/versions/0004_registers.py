"""Registers and quality of care (issue 19): an existing contract brought up to date.

When the database holds the analytic contract (a city generated or imported by an earlier release), its tables get
what this release reads: the nullable column ``care_episode.outcome`` (the outcome of a hospital stay) and the new
tables ``dispensary_observation``, ``lab_result``, ``instrumental_study``, ``prescription`` and ``volume_plan``
(empty until the next load). Only base tables are altered: a contract mapped onto a real RMIS with views is
updated by its mapping (docs/data-contract.md). A database without the contract (the application's tables only)
is left as it is. On PostgreSQL the new tables get their indexes (``schema.PG_INDEXES``).

The downgrade changes nothing: the added column and tables are data, and the earlier release ignores them.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen here (not read from data_access.schema): what this revision adds to the contract's existing tables.
NEW_COLUMNS = (("care_episode", "outcome", sa.String(12)),)
NEW_TABLES = ("dispensary_observation", "lab_result", "instrumental_study", "prescription", "volume_plan")
# Tables of the contract before this revision: any of them present means the database holds the contract.
OLD_CONTRACT = ("patient", "mo", "care_episode", "visit", "dispensary_exam")


def _tables(bind) -> dict[str, str]:
    """Table name → type (BASE TABLE, VIEW) in the current schema (information_schema: both engines)."""
    rows = bind.execute(sa.text("SELECT table_name, table_type FROM information_schema.tables "
                                "WHERE table_schema = current_schema()"))
    return {r[0]: r[1] for r in rows}


def _columns(bind, table: str) -> set[str]:
    rows = bind.execute(sa.text("SELECT column_name FROM information_schema.columns "
                                "WHERE table_schema = current_schema() AND table_name = :t"), {"t": table})
    return {r[0] for r in rows}


def upgrade() -> None:
    bind = op.get_bind()
    tables = _tables(bind)
    if not any(t in tables for t in OLD_CONTRACT):
        return
    for table, column, type_ in NEW_COLUMNS:
        if tables.get(table) == "BASE TABLE" and column not in _columns(bind, table):
            op.add_column(table, sa.Column(column, type_, nullable=True))
    from data_access import schema
    created = []
    for name in NEW_TABLES:
        if name not in tables:
            schema.metadata.tables[name].create(bind, checkfirst=True)
            created.append(name)
    if bind.dialect.name == "postgresql":
        for table, cols in schema.PG_INDEXES:
            if table in created:
                op.execute(f'CREATE INDEX IF NOT EXISTS ix_{table}_{"_".join(cols)} ON "{table}" ({", ".join(cols)})')


def downgrade() -> None:
    pass
