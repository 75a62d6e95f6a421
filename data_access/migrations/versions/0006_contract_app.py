"""The effective contract (issue 20): the versions of its schemes and the dispute marks on scores.

``contract_scheme`` keeps every version of a scheme (its TOML text, who saved it, when, from which month it
applies); ``contract_mark`` keeps every «не согласен» and its resolution. Both are append-only. The shipped
schemes are written as version 1 on first use (``metrics.contract``), not here: a migration does not read
the product's declarations, which change between releases.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contract_scheme",
        sa.Column("scheme_code", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("comment", sa.String(400), nullable=True),
    )
    seq = sa.Sequence("contract_mark_id_seq")
    op.execute(sa.schema.CreateSequence(seq, if_not_exists=True))
    op.create_table(
        "contract_mark",
        sa.Column("mark_id", sa.Integer, seq, primary_key=True, server_default=seq.next_value()),
        sa.Column("mo_id", sa.Integer, nullable=False),
        sa.Column("personnel_no", sa.String(16), nullable=False),
        sa.Column("period", sa.String(12), nullable=False),
        sa.Column("criterion", sa.String(32), nullable=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("comment", sa.String(1000), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_contract_mark_mo_id", "contract_mark", ["mo_id"])


def downgrade() -> None:
    op.drop_index("ix_contract_mark_mo_id", table_name="contract_mark")
    op.drop_table("contract_mark")
    op.execute("DROP SEQUENCE IF EXISTS contract_mark_id_seq")
    op.drop_table("contract_scheme")
