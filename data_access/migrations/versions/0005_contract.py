"""The effective contract (issue 20): an existing contract brought up to date.

When the database holds the analytic contract (a city generated or imported by an earlier release), it gets the
new tables this release reads: ``employment``, ``doctor_plan``, ``complaint``, ``patient_survey``,
``cancer_case``, ``salary`` and ``regional_wage`` (empty until the next load). Nothing existing is altered: a
contract mapped onto a real RMIS with views gets views of the new tables by its mapping (docs/data-contract.md).
A database without the contract (the application's tables only) is left as it is. On PostgreSQL the new tables
get their indexes (``schema.PG_INDEXES``).

The downgrade changes nothing: the added tables are data, and the earlier release ignores them.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen here (not read from data_access.schema): what this revision adds to the contract.
NEW_TABLES = ("employment", "doctor_plan", "complaint", "patient_survey", "cancer_case", "salary", "regional_wage")
# Tables of the contract before this revision: any of them present means the database holds the contract.
OLD_CONTRACT = ("patient", "mo", "care_episode", "visit", "dispensary_observation")


def _tables(bind) -> set[str]:
    """Table and view names of the current schema (information_schema: both engines)."""
    rows = bind.execute(sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"))
    return {r[0] for r in rows}


def upgrade() -> None:
    bind = op.get_bind()
    tables = _tables(bind)
    if not any(t in tables for t in OLD_CONTRACT):
        return
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
