"""Backup and restore of the application's own tables (users, sessions, tokens, audit, targets, tasks, refresh log).

A backup is one gzip-compressed JSON document: the schema revision, the time it was made and, per table, the
columns and rows (dates and times as ISO strings). Restore goes into a database whose application tables are
empty (for example, a rebuilt analytics database): the tables are brought to the backup's revision, filled,
their id sequences moved past the restored ids, then migrated to this release's revision — so a backup made
by an earlier release restores too. Everything happens in one transaction: a failed restore leaves nothing.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import sqlalchemy as sa

from . import migrations
from .app_schema import app_metadata, ensure, forget
from .db import Database

FORMAT = "iam-app-backup/1"


class BackupError(ValueError):
    """A backup that cannot be made or restored (the message is for the operator, in Russian)."""


def _plain(v):
    return v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v


def backup(db: Database, path: Path) -> dict[str, int]:
    """Write every application table to ``path``; returns rows per table."""
    ensure(db)
    tables, counts = {}, {}
    with db.engine.connect() as c:  # one snapshot of all tables
        with c.begin():
            for name, t in app_metadata.tables.items():
                rows = c.execute(sa.select(t).order_by(*t.primary_key.columns)).all()
                tables[name] = {"columns": list(t.c.keys()), "rows": [[_plain(v) for v in r] for r in rows]}
                counts[name] = len(rows)
    doc = {"format": FORMAT, "revision": migrations.current(db), "created_at": dt.datetime.now().isoformat(
        timespec="seconds"), "tables": tables}
    tmp = Path(path).with_suffix(Path(path).suffix + ".part")
    with gzip.open(tmp, "wt", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    tmp.replace(path)  # a backup file is either whole or absent
    return counts


def _read(path: Path) -> dict:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise BackupError(f"Файл {path} не найден") from None
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError):
        raise BackupError(f"Файл {path} — не резервная копия ИАМ или повреждён") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BackupError(f"Файл {path} — не резервная копия ИАМ (формат {doc.get('format') if isinstance(doc, dict) else '?'})")
    if doc.get("revision") not in migrations.revisions():
        raise BackupError(f"Копия сделана версией схемы {doc.get('revision')}, эта версия ИАМ её не знает")
    return doc


def _value(col: sa.Column, v):
    if v is None:
        return None
    if isinstance(col.type, sa.DateTime):
        return dt.datetime.fromisoformat(v)
    if isinstance(col.type, sa.Date):
        return dt.date.fromisoformat(v)
    return v


def restore(db: Database, path: Path) -> dict[str, int]:
    """Fill the empty application tables of ``db`` from a backup; returns rows per table."""
    doc = _read(path)
    state = migrations.state(db)
    if state not in ("empty", "current"):
        raise BackupError("Таблицы приложения в базе другой версии: восстановите в новую базу или сначала "
                          f"выполните {migrations.UPGRADE_HINT}")
    if state == "current":
        with db.engine.connect() as c:
            filled = [n for n, t in app_metadata.tables.items() if c.execute(sa.select(sa.func.count()).select_from(t)).scalar()]
        if filled:
            raise BackupError("В базе уже есть данные приложения (" + ", ".join(filled) + "): восстановление их не "
                              "перезаписывает — используйте базу без пользователей и задач")
        if doc["revision"] != migrations.head():
            raise BackupError(f"Копия версии схемы {doc['revision']}: восстановите её в базу без таблиц приложения, "
                              "она будет обновлена после загрузки")
    counts = {}
    with db.write() as c:  # one transaction: the schema at the backup's revision, the rows, then this release's
        if state == "empty":
            migrations.upgrade(db, doc["revision"], c)
        for name, part in doc["tables"].items():
            t = app_metadata.tables.get(name)
            if t is None:
                raise BackupError(f"В копии таблица {name}, которой нет в схеме")
            cols = [t.c[k] for k in part["columns"]]
            rows = [{c_.name: _value(c_, v) for c_, v in zip(cols, r)} for r in part["rows"]]
            if rows:
                c.execute(t.insert(), rows)
            counts[name] = len(rows)
        for t in app_metadata.tables.values():  # new rows must not reuse a restored id
            pk = list(t.primary_key.columns)
            seq = pk[0].default if len(pk) == 1 and isinstance(pk[0].default, sa.Sequence) else None
            if seq is None:
                continue
            top = c.execute(sa.select(sa.func.max(pk[0]))).scalar()
            if top is None:
                continue
            if db.is_duckdb:  # DuckDB has no setval: draw the sequence forward in one statement
                c.execute(sa.text(f"SELECT max(nextval('{seq.name}')) FROM range(:n)"), {"n": int(top)})
            else:
                c.execute(sa.text("SELECT setval(:s, :v)"), {"s": seq.name, "v": int(top)})
        migrations.upgrade(db, "head", c)
    forget(db)
    return counts
