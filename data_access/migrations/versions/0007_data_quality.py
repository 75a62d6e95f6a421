"""Data quality (issue 22): outliers acknowledged with a comment.

``outlier_ack`` keeps every acknowledgement of an outlying value (an indicator of a unit in a month) and every
withdrawal of one, append-only; the current state is the latest row.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    seq = sa.Sequence("outlier_ack_id_seq")
    op.execute(sa.schema.CreateSequence(seq, if_not_exists=True))
    op.create_table(
        "outlier_ack",
        sa.Column("ack_id", sa.Integer, seq, primary_key=True, server_default=seq.next_value()),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("level", sa.String(12), nullable=False),
        sa.Column("unit_id", sa.Integer, nullable=False),
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("comment", sa.String(1000), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_outlier_ack_month", "outlier_ack", ["month"])


def downgrade() -> None:
    op.drop_index("ix_outlier_ack_month", table_name="outlier_ack")
    op.drop_table("outlier_ack")
    op.execute("DROP SEQUENCE IF EXISTS outlier_ack_id_seq")
