"""Small helpers shared by tests."""
from __future__ import annotations

import contextlib

import pandas as pd
import sqlalchemy as sa

from data_access import schema
from data_access.db import Database

DATE_COLS = {"visit_date", "opened_date", "closed_date", "birth_date", "lmp_date", "registered_date", "outcome_date",
             "screening1_date", "screening2_date", "screening3_date", "stage1_start", "stage1_end", "stage2_end",
             "vacc_date", "test_date", "day", "month", "followup_date", "start_date", "end_date", "taken_date",
             "study_date", "rx_date"}
TS_COLS = {"closed_at", "booked_at", "slot_start", "published_at", "created_at", "signed_at", "sent_at", "status_at",
           "built_at"}


def frame(db: Database, table: sa.Table | str, *where) -> pd.DataFrame:
    """A whole table (optionally filtered) as a DataFrame with proper datetime columns."""
    t = schema.metadata.tables[table] if isinstance(table, str) else table
    df = db.read_df(sa.select(t).where(*where))
    for c in df.columns:
        if c in DATE_COLS or c in TS_COLS:
            df[c] = pd.to_datetime(df[c])
    return df


def contract_columns(db: Database) -> dict[str, set[str]]:
    """Table → its columns in the database's current schema (both engines)."""
    out: dict[str, set[str]] = {}
    with db.engine.connect() as c:
        for t, col in c.execute(sa.text("SELECT table_name, column_name FROM information_schema.columns "
                                        "WHERE table_schema = current_schema()")):
            out.setdefault(t, set()).add(col)
    return out


def earlier_contract(db: Database, without_tables, without_columns, as_view: str | None = None) -> None:
    """The contract as an earlier release declared it: the current one without some tables and columns. With
    ``as_view``, that table is kept as ``rmis_<name>`` and shown through a view of its name (an RMIS mapping)."""
    meta = sa.MetaData()
    for t in schema.metadata.sorted_tables:
        if t.name in without_tables:
            continue
        name = f"rmis_{t.name}" if t.name == as_view else t.name
        sa.Table(name, meta, *[c._copy() for c in t.columns if (t.name, c.name) not in without_columns])
    with db.engine.begin() as c:
        meta.create_all(c)
        if as_view:
            c.execute(sa.text(f"CREATE VIEW {as_view} AS SELECT * FROM rmis_{as_view}"))


@contextlib.contextmanager
def hand_made(dbs, tmp_path_factory, build, name: str):
    """A new database filled by ``build(db)`` and an app on it with its context pushed: a module's hand-made
    fixture (``with hand_made(...) as db: yield db``)."""
    from app import create_app
    from tests.conftest import make_config
    db = Database(dbs.url(dbs.new()))
    build(db)
    app = create_app(make_config(db.url, tmp_path_factory.mktemp(name), login_failure_delay=0))
    with app.app_context():
        yield db
    db.dispose()
