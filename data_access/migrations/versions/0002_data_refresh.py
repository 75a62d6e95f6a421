"""The refresh log: every build of marts, import of data and scheduled refresh, with its outcome."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    seq = sa.Sequence("data_refresh_id_seq")
    op.execute(sa.schema.CreateSequence(seq, if_not_exists=True))
    op.create_table(
        "data_refresh",
        sa.Column("refresh_id", sa.Integer, seq, primary_key=True, server_default=seq.next_value()),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("months", sa.String(200), nullable=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("started_by", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("data_refresh")
    op.execute("DROP SEQUENCE IF EXISTS data_refresh_id_seq")
