"""Migrations of the application's own tables (users, sessions, tokens, audit, targets, tasks, refresh log).

Alembic keeps the schema's revision in ``app_schema_version``. The contract tables and the marts are not
migrated: they are rebuilt from data. Rules:

- an empty database (none of the application's tables) is installed at the newest revision on first use;
- a database at an older revision, or one the release before migrations created (its tables without
  ``app_schema_version``), is never changed silently: the application refuses to start and names the
  command ``flask --app app db upgrade``, which migrates it keeping every row;
- a database from a newer release (an unknown revision) is refused too.
"""
from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from data_access.db import Database

VERSION_TABLE = "app_schema_version"
LEGACY_TABLE = "app_user"  # created by every release, with or without migrations
UPGRADE_HINT = "flask --app app db upgrade"


class SchemaOutdated(RuntimeError):
    """The application's tables are not at this release's revision (the message is for the operator)."""


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent))
    return cfg


@functools.cache  # the release's scripts do not change while it runs; /readyz asks on every probe
def head() -> str:
    """The newest revision this release knows."""
    return ScriptDirectory.from_config(_config()).get_current_head()


@functools.cache
def revisions() -> tuple[str, ...]:
    """Every revision of this release, oldest first."""
    return tuple(s.revision for s in reversed(list(ScriptDirectory.from_config(_config()).walk_revisions())))


def current(db: Database, conn: sa.Connection | None = None) -> str | None:
    """The database's revision; None when it has no version table."""
    if conn is None:
        with db.engine.connect() as c:
            return current(db, c)
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def state(db: Database) -> str:
    """``current``, ``empty`` (nothing installed), ``outdated`` (older or pre-migration) or ``newer``."""
    rev = current(db)
    if rev is None:
        with db.engine.connect() as conn:
            return "outdated" if sa.inspect(conn).has_table(LEGACY_TABLE) else "empty"
    if rev == head():
        return "current"
    return "outdated" if rev in revisions() else "newer"


def upgrade(db: Database, revision: str = "head", conn: sa.Connection | None = None) -> tuple[str | None, str | None]:
    """Migrate the application's tables to ``revision`` in one transaction; returns (before, after).

    With ``conn`` the migration joins the caller's transaction (a restore loads rows between two migrations).
    """
    if conn is None:
        with db.write() as c:
            return upgrade(db, revision, c)
    if not db.is_duckdb:
        # several workers starting on an empty database: one installs, the others then find it current
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7240513)"))
    before = current(db, conn)
    cfg = _config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)
    return before, current(db, conn)


def require_current(db: Database) -> None:
    """Install an empty database; refuse (SchemaOutdated) one at another revision."""
    st = state(db)
    if st == "empty":
        upgrade(db)
    elif st == "outdated":
        rev = current(db)
        raise SchemaOutdated(
            "Таблицы приложения (пользователи, задачи, цели, журнал) в базе "
            + ("созданы версией без миграций" if rev is None else f"версии схемы {rev}")
            + f", а этой версии ИАМ нужна {head()}. Сделайте резервную копию (flask --app app backup-app-data) "
            f"и выполните: {UPGRADE_HINT}")
    elif st == "newer":
        raise SchemaOutdated(f"База создана более новой версией ИАМ (схема {current(db)}, эта версия знает "
                             f"до {head()}): запустите новую версию или восстановите резервную копию.")
