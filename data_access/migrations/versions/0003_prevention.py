"""Prevention (issue 18): the invitation statuses of the worklist, and an existing contract brought up to date.

1. ``invitation_event`` (append-only: the current status of a patient's item is its latest event).
2. When the database holds the analytic contract (a city generated or imported by an earlier release), its
   tables get what this release reads: the nullable columns ``patient.area_doctor_id``,
   ``dispensary_exam.stage2_result``, ``pathology_found``, ``risk_factors`` and ``cancer_screening.followup_date``,
   and the new tables ``vaccination_exemption`` and ``prevention_plan_band`` (empty until the next load). Only base
   tables are altered: a contract mapped onto a real RMIS with views is updated by its mapping (docs/data-contract.md).
   A database without the contract (the application's tables only) is left as it is.

The downgrade drops the invitation table; the contract's added columns and tables stay (they are data, and the
earlier release ignores them).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen here (not read from data_access.schema): what this revision adds to the contract's existing tables.
NEW_COLUMNS = (
    ("patient", "area_doctor_id", sa.Integer()),
    ("dispensary_exam", "stage2_result", sa.String(8)),
    ("dispensary_exam", "pathology_found", sa.Boolean()),
    ("dispensary_exam", "risk_factors", sa.String(80)),
    ("cancer_screening", "followup_date", sa.Date()),
)
NEW_TABLES = ("vaccination_exemption", "prevention_plan_band")
# Tables of the contract before this revision: any of them present means the database holds the contract.
OLD_CONTRACT = ("patient", "mo", "dispensary_exam", "vaccination", "cancer_screening")


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
    seq = sa.Sequence("invitation_event_id_seq")
    op.execute(sa.schema.CreateSequence(seq, if_not_exists=True))
    op.create_table(
        "invitation_event",
        sa.Column("event_id", sa.BigInteger, seq, primary_key=True, server_default=seq.next_value()),
        sa.Column("patient_id", sa.BigInteger, nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("mo_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("comment", sa.String(400), nullable=True),
        sa.Column("set_at", sa.DateTime, nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_invitation_event_patient_id", "invitation_event", ["patient_id"])
    op.create_index("ix_invitation_event_mo_id", "invitation_event", ["mo_id"])

    bind = op.get_bind()
    tables = _tables(bind)
    if not any(t in tables for t in OLD_CONTRACT):
        return
    for table, column, type_ in NEW_COLUMNS:
        if tables.get(table) == "BASE TABLE" and column not in _columns(bind, table):
            op.add_column(table, sa.Column(column, type_, nullable=True))
    from data_access import schema
    for name in NEW_TABLES:
        if name not in tables:
            schema.metadata.tables[name].create(bind, checkfirst=True)


def downgrade() -> None:
    op.drop_index("ix_invitation_event_mo_id", table_name="invitation_event")
    op.drop_index("ix_invitation_event_patient_id", table_name="invitation_event")
    op.drop_table("invitation_event")
    op.execute("DROP SEQUENCE IF EXISTS invitation_event_id_seq")
