"""The application's own tables: users, API tokens, the audit log, targets, control tasks, the refresh log,
the invitation statuses of the prevention worklist, the effective contract's schemes and dispute marks and the
acknowledged outliers of the data-quality review.

Unlike the contract tables (replaced by ``demo-data``), these hold what people saved and are
never dropped by data loads.
"""
from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Integer, SmallInteger, String, Text

from .db import Database

app_metadata = sa.MetaData()


def _id(name: str, seq: str, big=False):
    s = sa.Sequence(seq)
    return sa.Column(name, BigInteger if big else Integer, s, primary_key=True, server_default=s.next_value())


app_user = sa.Table(
    "app_user", app_metadata,
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
app_session = sa.Table(
    "app_session", app_metadata,
    sa.Column("session_hash", String(64), primary_key=True),
    sa.Column("user_id", Integer, nullable=False, index=True),
    sa.Column("created_at", DateTime, nullable=False),
    sa.Column("expires_at", DateTime, nullable=False),
    sa.Column("ended_at", DateTime, nullable=True),
)

# Sign-in attempts, reserved before the password is checked: the lockout counts them atomically, so that
# parallel guesses cannot all pass the count before any of them is recorded.
login_attempt = sa.Table(
    "login_attempt", app_metadata,
    _id("attempt_id", "login_attempt_id_seq"),
    sa.Column("login", String(64), nullable=False, index=True),
    sa.Column("started_at", DateTime, nullable=False),
    sa.Column("outcome", String(8), nullable=True),  # ok, fail; empty while the password is being checked
)

api_token = sa.Table(
    "api_token", app_metadata,
    _id("token_id", "api_token_id_seq"),
    sa.Column("user_id", Integer, nullable=False),
    sa.Column("name", String(120), nullable=False),
    sa.Column("token_hash", String(64), nullable=False, unique=True),
    sa.Column("prefix", String(16), nullable=False),
    sa.Column("created_at", DateTime, nullable=False),
    sa.Column("last_used_at", DateTime, nullable=True),
    sa.Column("revoked_at", DateTime, nullable=True),
)

audit_log = sa.Table(
    "audit_log", app_metadata,
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
target_override = sa.Table(
    "target_override", app_metadata,
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

target_history = sa.Table(
    "target_history", app_metadata,
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

control_task = sa.Table(
    "control_task", app_metadata,
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

task_comment = sa.Table(
    "task_comment", app_metadata,
    _id("comment_id", "task_comment_id_seq"),
    sa.Column("task_id", Integer, nullable=False),
    sa.Column("written_at", DateTime, nullable=False),
    sa.Column("author", String(64), nullable=False),
    sa.Column("text", Text, nullable=False),
)

task_history = sa.Table(
    "task_history", app_metadata,
    _id("history_id", "task_history_id_seq"),
    sa.Column("task_id", Integer, nullable=False),
    sa.Column("changed_at", DateTime, nullable=False),
    sa.Column("author", String(64), nullable=False),
    sa.Column("field", String(32), nullable=False),
    sa.Column("old_value", Text, nullable=True),
    sa.Column("new_value", Text, nullable=True),
)

# Every refresh of the data (a build of marts, an import, a scheduled refresh) and its outcome.
data_refresh = sa.Table(
    "data_refresh", app_metadata,
    _id("refresh_id", "data_refresh_id_seq"),
    sa.Column("kind", String(24), nullable=False),        # build-marts, import-data, demo-data, scheduled
    sa.Column("months", String(200), nullable=True),      # the months rebuilt; empty: all
    sa.Column("started_at", DateTime, nullable=False),
    sa.Column("finished_at", DateTime, nullable=True),
    sa.Column("status", String(8), nullable=False),       # running, ok, failed
    sa.Column("rows", BigInteger, nullable=True),
    sa.Column("message", Text, nullable=True),
    sa.Column("started_by", String(64), nullable=True),
)

# Invitations of the prevention worklist (issue 18): every status set on a patient's due item, never updated
# or deleted; the current status of (patient, item) is its latest event (the largest id). "none" takes the
# item back to no status.
invitation_event = sa.Table(
    "invitation_event", app_metadata,
    _id("event_id", "invitation_event_id_seq", big=True),
    sa.Column("patient_id", BigInteger, nullable=False, index=True),
    sa.Column("item", String(64), nullable=False),        # vacc:DTP2, disp:2026, stage2:<exam>, screen:…, followup:…
    sa.Column("mo_id", Integer, nullable=False, index=True),  # the organisation the patient is attached to
    sa.Column("status", String(16), nullable=False),      # invited, refused, moved, done_elsewhere, none
    sa.Column("comment", String(400), nullable=True),
    sa.Column("set_at", DateTime, nullable=False),
    sa.Column("set_by", String(64), nullable=False),
)

# The effective contract's schemes (issue 20): every version of a scheme as its TOML text, never updated or
# deleted; the version in force for a period is the latest with valid_from on or before its first day.
contract_scheme = sa.Table(
    "contract_scheme", app_metadata,
    sa.Column("scheme_code", String(32), primary_key=True),
    sa.Column("version", Integer, primary_key=True, autoincrement=False),  # 1, 2, … per scheme
    sa.Column("valid_from", Date, nullable=False),
    sa.Column("body", Text, nullable=False),
    sa.Column("author", String(64), nullable=False),
    sa.Column("created_at", DateTime, nullable=False),
    sa.Column("comment", String(400), nullable=True),
)

# Disagreement with a person's score for a period («не согласен»), append-only: the current state of
# (organisation, personnel number, period) is its latest mark (the largest id).
contract_mark = sa.Table(
    "contract_mark", app_metadata,
    _id("mark_id", "contract_mark_id_seq"),
    sa.Column("mo_id", Integer, nullable=False, index=True),
    sa.Column("personnel_no", String(16), nullable=False),
    sa.Column("period", String(12), nullable=False),      # 2026-10, 2026-Q3
    sa.Column("criterion", String(32), nullable=True),    # the criterion disputed; empty: the whole score
    sa.Column("state", String(12), nullable=False),       # disagree, resolved
    sa.Column("comment", String(1000), nullable=False),
    sa.Column("author", String(64), nullable=False),
    sa.Column("created_at", DateTime, nullable=False),
)

# Outliers acknowledged as true values, with a comment (issue 22), append-only: the current state of (indicator,
# level, unit, month) is its latest row (the largest id). "reopen" withdraws an acknowledgement.
outlier_ack = sa.Table(
    "outlier_ack", app_metadata,
    _id("ack_id", "outlier_ack_id_seq"),
    sa.Column("code", String(64), nullable=False),        # the indicator
    sa.Column("level", String(12), nullable=False),       # region, district, mo, doctor
    sa.Column("unit_id", Integer, nullable=False),        # 0 for the city
    sa.Column("month", Date, nullable=False, index=True),  # the month of the value (first day)
    sa.Column("state", String(8), nullable=False),        # ack, reopen
    sa.Column("comment", String(1000), nullable=False),
    sa.Column("author", String(64), nullable=False),
    sa.Column("created_at", DateTime, nullable=False),
)

_ready: set[str] = set()
_lock = threading.Lock()


def ensure(db: Database) -> None:
    """The application tables at this release's revision, checked once per database and process.

    An empty database is installed by the migrations; one at another revision raises
    ``migrations.SchemaOutdated`` (see ``data_access/migrations``). On PostgreSQL the migrations also
    keep one active target override per indicator, unit and start month with a partial unique index;
    on DuckDB (no partial indexes) the process-wide write lock serialises saves.
    """
    if db.url in _ready:
        return
    with _lock:
        if db.url in _ready:
            return
        from .migrations import require_current
        require_current(db)
        _ready.add(db.url)


def forget(db: Database) -> None:
    """Check the revision again on next use (after a restore or a migration by another process)."""
    _ready.discard(db.url)
