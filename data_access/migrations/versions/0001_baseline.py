"""Baseline: the application's own tables as the release before migrations created them.

Frozen: this file must not follow later changes of ``data_access/app_schema.py`` (a new migration
does). ``create_all(checkfirst=True)`` makes it also adopt a database that the previous release
created without migrations: existing tables are kept with their rows, missing ones are created.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Integer, SmallInteger, String, Text

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id(name: str, seq: str, big=False):
    s = sa.Sequence(seq)
    return sa.Column(name, BigInteger if big else Integer, s, primary_key=True, server_default=s.next_value())


def upgrade() -> None:
    meta = sa.MetaData()
    sa.Table(
        "app_user", meta,
        _id("user_id", "app_user_id_seq"),
        sa.Column("login", String(64), nullable=False, unique=True),
        sa.Column("full_name", String(160), nullable=False),
        sa.Column("password_hash", String(255), nullable=False),
        sa.Column("role", String(16), nullable=False),
        sa.Column("district_id", SmallInteger, nullable=True),
        sa.Column("mo_id", Integer, nullable=True),
        sa.Column("is_active", Boolean, nullable=False, default=True),
        sa.Column("created_at", DateTime, nullable=False),
        sa.Column("password_changed_at", DateTime, nullable=False),
        sa.Column("last_login_at", DateTime, nullable=True),
    )

    # Sessions kept on the server, so that a copied session cookie stops working at logout, password
    # change or deactivation (the signed cookie holds only a random id; its SHA-256 is stored here).
    sa.Table(
        "app_session", meta,
        sa.Column("session_hash", String(64), primary_key=True),
        sa.Column("user_id", Integer, nullable=False, index=True),
        sa.Column("created_at", DateTime, nullable=False),
        sa.Column("expires_at", DateTime, nullable=False),
        sa.Column("ended_at", DateTime, nullable=True),
    )

    # Sign-in attempts, reserved before the password is checked: the lockout counts them atomically, so that
    # parallel guesses cannot all pass the count before any of them is recorded.
    sa.Table(
        "login_attempt", meta,
        _id("attempt_id", "login_attempt_id_seq"),
        sa.Column("login", String(64), nullable=False, index=True),
        sa.Column("started_at", DateTime, nullable=False),
        sa.Column("outcome", String(8), nullable=True),  # ok, fail; empty while the password is being checked
    )

    sa.Table(
        "api_token", meta,
        _id("token_id", "api_token_id_seq"),
        sa.Column("user_id", Integer, nullable=False),
        sa.Column("name", String(120), nullable=False),
        sa.Column("token_hash", String(64), nullable=False, unique=True),
        sa.Column("prefix", String(16), nullable=False),
        sa.Column("created_at", DateTime, nullable=False),
        sa.Column("last_used_at", DateTime, nullable=True),
        sa.Column("revoked_at", DateTime, nullable=True),
    )

    sa.Table(
        "audit_log", meta,
        _id("audit_id", "audit_log_id_seq", big=True),
        sa.Column("logged_at", DateTime, nullable=False),
        sa.Column("user_id", Integer, nullable=True),
        sa.Column("login", String(64), nullable=True),
        sa.Column("action", String(32), nullable=False),
        sa.Column("object", String(200), nullable=True),
        sa.Column("details", Text, nullable=True),
        sa.Column("ip", String(64), nullable=True),
    )

    # Targets: the registry's default regional target, overridden per district or organisation
    # and per period (valid from a month, open-ended or to a month). Every change is kept.
    sa.Table(
        "target_override", meta,
        _id("override_id", "target_override_id_seq"),
        sa.Column("code", String(64), nullable=False),
        sa.Column("level", String(12), nullable=False),   # region (the regional target), district, mo
        sa.Column("unit_id", Integer, nullable=False),    # 0 for region
        sa.Column("valid_from", Date, nullable=False),    # first month
        sa.Column("valid_to", Date, nullable=True),       # last month, inclusive; open-ended when empty
        sa.Column("value", Float, nullable=False),
        sa.Column("is_deleted", Boolean, nullable=False, default=False),
        sa.Column("updated_at", DateTime, nullable=False),
        sa.Column("updated_by", String(64), nullable=False),
    )

    sa.Table(
        "target_history", meta,
        _id("history_id", "target_history_id_seq"),
        sa.Column("override_id", Integer, nullable=False),
        sa.Column("code", String(64), nullable=False),
        sa.Column("level", String(12), nullable=False),
        sa.Column("unit_id", Integer, nullable=False),
        sa.Column("valid_from", Date, nullable=False),
        sa.Column("valid_to", Date, nullable=True),
        sa.Column("old_value", Float, nullable=True),
        sa.Column("new_value", Float, nullable=True),
        sa.Column("changed_at", DateTime, nullable=False),
        sa.Column("changed_by", String(64), nullable=False),
        sa.Column("comment", String(400), nullable=True),
    )

    sa.Table(
        "control_task", meta,
        _id("task_id", "control_task_id_seq"),
        sa.Column("code", String(64), nullable=False),
        sa.Column("level", String(12), nullable=False),       # district or mo
        sa.Column("unit_id", Integer, nullable=False),
        sa.Column("district_id", SmallInteger, nullable=False),
        sa.Column("mo_id", Integer, nullable=True),           # responsible organisation
        sa.Column("period", String(16), nullable=False),      # the period the gap was seen in
        sa.Column("value_at_creation", Float, nullable=True),
        sa.Column("target_at_creation", Float, nullable=True),
        sa.Column("data_link", String(400), nullable=False),  # the view of the data as it was
        sa.Column("title", String(200), nullable=False),
        sa.Column("description", Text, nullable=False),
        sa.Column("assignee", String(160), nullable=False),
        sa.Column("due_date", Date, nullable=False),
        sa.Column("status", String(12), nullable=False),
        sa.Column("version", Integer, nullable=False),
        sa.Column("created_at", DateTime, nullable=False),
        sa.Column("created_by", String(64), nullable=False),
        sa.Column("updated_at", DateTime, nullable=False),
        sa.Column("updated_by", String(64), nullable=False),
    )

    sa.Table(
        "task_comment", meta,
        _id("comment_id", "task_comment_id_seq"),
        sa.Column("task_id", Integer, nullable=False),
        sa.Column("written_at", DateTime, nullable=False),
        sa.Column("author", String(64), nullable=False),
        sa.Column("text", Text, nullable=False),
    )

    sa.Table(
        "task_history", meta,
        _id("history_id", "task_history_id_seq"),
        sa.Column("task_id", Integer, nullable=False),
        sa.Column("changed_at", DateTime, nullable=False),
        sa.Column("author", String(64), nullable=False),
        sa.Column("field", String(32), nullable=False),
        sa.Column("old_value", Text, nullable=True),
        sa.Column("new_value", Text, nullable=True),
    )

    bind = op.get_bind()
    meta.create_all(bind, checkfirst=True)
    if bind.dialect.name != "duckdb":
        # one active override per indicator, unit and start month, even under concurrent saves
        op.execute("CREATE UNIQUE INDEX IF NOT EXISTS target_override_active ON target_override "
                   "(code, level, unit_id, valid_from) WHERE NOT is_deleted")


def downgrade() -> None:
    raise NotImplementedError("Базовую схему не откатывают: восстановите резервную копию (docs/operations.md)")
