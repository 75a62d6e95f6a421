"""CLI: ``db upgrade``, ``db current`` (migrations of the application's own tables) and their backup:
``backup-app-data FILE``, ``restore-app-data FILE``."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from data_access import migrations
from data_access.db import Database, DatabaseError

db_cli = AppGroup("db", help="Схема таблиц приложения (пользователи, задачи, цели, журнал).")


def _database() -> Database:
    from . import CliError
    db: Database = current_app.extensions["iam"]["db"]
    try:
        db.check()
    except DatabaseError as exc:
        raise CliError(str(exc)) from exc
    return db


@db_cli.command("upgrade")
def upgrade_cmd():
    """Обновить таблицы приложения до этой версии; все строки сохраняются."""
    from data_access import app_schema

    from . import CliError
    db = _database()
    if migrations.state(db) == "newer":
        raise CliError(f"База создана более новой версией ИАМ (схема {migrations.current(db)}): обновление не нужно.")
    before, after = migrations.upgrade(db)
    app_schema.forget(db)
    if before == after:
        click.echo(f"Схема уже последней версии: {after}")
    else:
        click.echo(f"Схема обновлена: {before or 'без миграций'} → {after}")


@db_cli.command("current")
def current_cmd():
    """Показать версию схемы таблиц приложения."""
    db = _database()
    st = migrations.state(db)
    text = {"current": "последняя", "empty": "таблиц приложения ещё нет", "newer": "новее этой версии ИАМ",
            "outdated": f"нужно обновление: {migrations.UPGRADE_HINT}"}[st]
    click.echo(f"Схема: {migrations.current(db) or '—'} (эта версия ИАМ: {migrations.head()}) — {text}")


@click.command("backup-app-data")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup_cmd(path):
    """Сохранить таблицы приложения (пользователи, задачи, цели, журнал) в файл."""
    from data_access.backup import backup

    from . import _db, _n
    counts = backup(_db(), Path(path))
    click.echo(f"Сохранено в {path}: " + ", ".join(f"{k} {_n(v)}" for k, v in counts.items() if v))


@click.command("restore-app-data")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def restore_cmd(path):
    """Восстановить таблицы приложения из файла в базу, где их ещё нет (например, после пересоздания базы)."""
    from data_access.backup import BackupError, restore

    from . import CliError, _n
    try:
        counts = restore(_database(), Path(path))
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    click.echo("Восстановлено: " + ", ".join(f"{k} {_n(v)}" for k, v in counts.items() if v))


def register(app) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(backup_cmd)
    app.cli.add_command(restore_cmd)
