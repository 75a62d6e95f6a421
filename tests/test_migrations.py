"""Migrations of the application's own tables (issue 15): a database of the previous release upgrades with
every user, session, token, audit entry, target, task, comment and history row kept; the app refuses to start
on it until ``flask --app app db upgrade``; an empty database is installed at the newest revision; the
declared tables (``app_schema``) and the migrations agree."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import app_schema, migrations
from tests.conftest import create_users, login
from tests.helpers import contract_columns, earlier_contract
from tests.legacy import app_schema_r24 as r24

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 10, 5, 9, 30)


def flask(db, *args) -> subprocess.CompletedProcess:
    """The real command line, as an operator runs it."""
    env = {**os.environ, "DATABASE_URL": db.url, "IAM_DEMO": "0", "SECRET_KEY": "test-secret-key-" + "x" * 32}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def legacy_database(db) -> dict[str, pd.DataFrame]:
    """The previous release's tables (its own create_all), filled as people would have; returns every row."""
    from security.users import hash_password
    r24.ensure(db)
    t = r24
    with db.engine.begin() as c:
        uid = c.execute(t.app_user.insert().values(
            login="petrova", full_name="Петрова Анна Сергеевна", password_hash=hash_password("Kontrol-2026-test"),
            role="district", district_id=3, mo_id=None, is_active=True, created_at=NOW, password_changed_at=NOW,
            last_login_at=NOW).returning(t.app_user.c.user_id)).scalar()
        c.execute(t.app_session.insert().values(session_hash="a" * 64, user_id=uid, created_at=NOW,
                                                expires_at=NOW + dt.timedelta(days=30)))
        c.execute(t.login_attempt.insert().values(login="petrova", started_at=NOW, outcome="ok"))
        c.execute(t.api_token.insert().values(user_id=uid, name="Отчёт МИАЦ", token_hash="b" * 64, prefix="iam_1234",
                                              created_at=NOW))
        c.execute(t.audit_log.insert().values(logged_at=NOW, user_id=uid, login="petrova", action="login",
                                              object=None, details='{"ok": true}', ip="10.0.0.7"))
        oid = c.execute(t.target_override.insert().values(
            code="emk_coverage", level="district", unit_id=3, valid_from=dt.date(2026, 1, 1), valid_to=None,
            value=92.5, is_deleted=False, updated_at=NOW, updated_by="petrova")
            .returning(t.target_override.c.override_id)).scalar()
        c.execute(t.target_history.insert().values(override_id=oid, code="emk_coverage", level="district", unit_id=3,
                                                   valid_from=dt.date(2026, 1, 1), old_value=None, new_value=92.5,
                                                   changed_at=NOW, changed_by="petrova", comment="Приказ № 17"))
        tid = c.execute(t.control_task.insert().values(
            code="emk_coverage", level="district", unit_id=3, district_id=3, mo_id=None, period="2026-09",
            value_at_creation=81.0, target_at_creation=92.5, data_link="/indicator/emk_coverage?level=mo&parent=3",
            title="Полнота передачи СЭМД: район", description="Наладить передачу", assignee="Зам. главы",
            due_date=dt.date(2026, 12, 1), status="in_progress", version=2, created_at=NOW, created_by="petrova",
            updated_at=NOW, updated_by="petrova").returning(t.control_task.c.task_id)).scalar()
        c.execute(t.task_comment.insert().values(task_id=tid, written_at=NOW, author="petrova", text="Созвон в пятницу"))
        c.execute(t.task_history.insert().values(task_id=tid, changed_at=NOW, author="petrova", field="status",
                                                 old_value="new", new_value="in_progress"))
    return snapshot(db, r24.app_metadata)


def snapshot(db, meta: sa.MetaData) -> dict[str, pd.DataFrame]:
    out = {}
    with db.engine.connect() as c:
        for name, table in meta.tables.items():
            df = pd.DataFrame(c.execute(sa.select(table)).mappings().all(), columns=list(table.c.keys()))
            out[name] = df.sort_values(list(df.columns[:1])).reset_index(drop=True)
    return out


def columns(db) -> dict[str, set[str]]:
    """The columns of the application's tables as the database has them (information_schema: DuckDB's
    reflection through duckdb-engine reads pg_catalog tables DuckDB lacks)."""
    q = sa.text("SELECT table_name, column_name FROM information_schema.columns WHERE table_name IN :names") \
        .bindparams(sa.bindparam("names", expanding=True))
    out: dict[str, set[str]] = {}
    with db.engine.connect() as c:
        for t, col in c.execute(q, {"names": list(app_schema.app_metadata.tables)}):
            out.setdefault(t, set()).add(col)
    return out


def test_a_previous_release_database_upgrades_with_nothing_lost(city_copy, make_app):
    db = city_copy  # an analytics database with contract tables and marts, and the previous release's own tables
    assert migrations.state(db) == "empty"
    before = legacy_database(db)
    assert migrations.state(db) == "outdated" and migrations.current(db) is None
    # the app refuses to start, naming the command
    with pytest.raises(migrations.SchemaOutdated, match="flask --app app db upgrade"):
        make_app(db)
    db.dispose()
    res = flask(db, "db", "current")
    assert res.returncode == 0 and "нужно обновление" in res.stdout, res.stdout + res.stderr
    res = flask(db, "create-user", "--login", "x", "--role", "analyst")  # other commands refuse, in Russian
    assert res.returncode != 0 and "db upgrade" in res.stderr and "Traceback" not in res.stderr
    res = flask(db, "db", "upgrade")
    assert res.returncode == 0 and f"без миграций → {migrations.head()}" in res.stdout, res.stdout + res.stderr
    assert migrations.state(db) == "current"
    after = snapshot(db, r24.app_metadata)
    for name, df in before.items():
        pd.testing.assert_frame_equal(after[name], df, check_dtype=False, obj=name)
    assert all(len(df) == 1 for df in before.values())  # every table had its row, and kept it
    # the upgraded database serves: the user signs in, the task and the target are there, new rows get new ids
    app = make_app(db)
    c = app.test_client()
    r = login(c, "petrova", "Kontrol-2026-test")
    assert r.status_code == 302, r.get_data(as_text=True)
    tasks = c.get("/api/v1/tasks").get_json()["tasks"]
    assert [t["title"] for t in tasks] == ["Полнота передачи СЭМД: район"]
    with app.app_context():
        from data_access import audit
        audit.record(db, action="test", login="petrova")
    ids = snapshot(db, r24.app_metadata)["audit_log"]["audit_id"].tolist()
    assert len(ids) >= 2 and len(set(ids)) == len(ids)
    app.extensions["iam"]["db"].dispose()
    db.dispose()
    res = flask(db, "db", "upgrade")
    assert res.returncode == 0 and "уже последней версии" in res.stdout


def test_an_empty_database_is_installed_and_matches_the_declared_tables(empty_db, make_app):
    db = empty_db
    assert migrations.state(db) == "empty"
    make_app(db)
    assert migrations.state(db) == "current" and migrations.current(db) == migrations.head()
    got = columns(db)
    assert got == {name: set(t.c.keys()) for name, t in app_schema.app_metadata.tables.items()}
    if not db.is_duckdb:  # PostgreSQL reflects fully: types, nullability, indexes
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext
        with db.engine.connect() as c:
            diff = compare_metadata(MigrationContext.configure(c), app_schema.app_metadata)
        expected = {("remove_table", migrations.VERSION_TABLE), ("remove_index", "target_override_active")}
        assert {(d[0], d[1].name) for d in diff} == expected, diff


def test_a_database_of_a_newer_release_is_refused(empty_db, make_app):
    db = empty_db
    make_app(db)
    with db.engine.begin() as c:
        c.execute(sa.text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = '9999'"))
    app_schema.forget(db)
    with pytest.raises(migrations.SchemaOutdated, match="более новой версией"):
        make_app(db)


def test_a_backup_restores_into_a_rebuilt_database_with_everything(city_copy, dbs, city, make_app, tmp_path):
    """Users, sessions, tokens, targets, tasks with comments and history, audit and the refresh log survive a
    rebuilt analytics database: backup → a fresh copy of the city → restore → the same rows, and it serves."""
    from data_access import backup as B
    from data_access import tasks as T
    from security import users
    app = make_app(city_copy, login_failure_delay=0)
    db = app.extensions["iam"]["db"]
    with app.app_context():
        places = create_users(db)
        chair = users.by_login(db, "chair")[0]
        t = T.create(db, chair, code="emk_coverage", level="mo", unit_id=places["glavvrach"]["mo_id"],
                     period="2026-09", assignee="Главный врач", due_date=dt.date.today() + dt.timedelta(days=9),
                     description="Наладить передачу")
        T.comment(db, chair, t["task_id"], "Проверить в понедельник")
        from metrics import evaluate as E
        from metrics import targets
        targets.save(E.registry()["emk_coverage"], targets.Change("emk_coverage", "district",
                                                                  places["kolpino"]["district_id"],
                                                                  dt.date(2026, 1, 1), None, 91.0, "Приказ"), "chair")
    c = app.test_client()
    login(c, "kolpino")
    before = snapshot(db, app_schema.app_metadata)
    assert all(len(before[n]) for n in ("app_user", "app_session", "audit_log", "control_task", "task_comment",
                                        "task_history", "target_override", "target_history")), \
        {n: len(d) for n, d in before.items()}
    path = tmp_path / "app-data.json.gz"
    counts = B.backup(db, path)
    assert counts == {n: len(d) for n, d in before.items()}
    with pytest.raises(B.BackupError, match="уже есть данные приложения"):
        B.restore(db, path)  # never over saved work
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"not a backup")
    fresh = type(db)(dbs.url(dbs.new(template=(city[1].dispose(), city[0])[1])))
    with pytest.raises(B.BackupError, match="повреждён"):
        B.restore(fresh, bad)
    assert migrations.state(fresh) == "empty"  # a refused restore changed nothing
    db.dispose()
    fresh.dispose()
    res = flask(fresh, "restore-app-data", str(path))
    assert res.returncode == 0 and "Восстановлено" in res.stdout, res.stdout + res.stderr
    after = snapshot(fresh, app_schema.app_metadata)
    for name, df in before.items():
        pd.testing.assert_frame_equal(after[name], df, check_dtype=False, obj=name)
    again = make_app(fresh, login_failure_delay=0)
    c = again.test_client()
    assert login(c, "kolpino").status_code == 302
    assert [x["task_id"] for x in c.get("/api/v1/tasks").get_json()["tasks"]] == [t["task_id"]]
    with again.app_context():
        t2 = T.create(fresh, users.by_login(fresh, "chair")[0], code="emk_coverage", level="district",
                      unit_id=places["kolpino"]["district_id"], period="2026-09", assignee="Зам. главы",
                      due_date=dt.date.today() + dt.timedelta(days=9), description="Ещё одна")
    assert t2["task_id"] > t["task_id"]  # the sequence was moved past the restored ids
    fresh.dispose()


# ---------------------------------------------------------------- migration 0004 (registers, issue 19)
REGISTER_COLUMNS = {("care_episode", "outcome")}
REGISTER_TABLES = ("dispensary_observation", "lab_result", "instrumental_study", "prescription", "volume_plan")
CONTRACT_TABLES = ("employment", "doctor_plan", "complaint", "patient_survey", "cancer_case", "salary", "regional_wage")


def contract_before_0004(db, episode_as_view: bool = False) -> None:
    """The contract as release 0003 declared it: without care_episode.outcome, the register tables and the
    effective contract's tables (0005)."""
    earlier_contract(db, REGISTER_TABLES + CONTRACT_TABLES, REGISTER_COLUMNS, "care_episode" if episode_as_view else None)


def test_migration_0004_brings_a_0003_contract_up_to_date(empty_db):
    from data_access import schema as s
    db = empty_db
    contract_before_0004(db)
    migrations.upgrade(db, "0003")
    with db.engine.begin() as c:
        c.execute(sa.text("INSERT INTO care_episode (episode_id, patient_id, mo_id, dept_id, doctor_id, kind, purpose, "
                          "icd10, is_new_diagnosis, opened_date, visits_count) VALUES (5, 7, 101, 1, 1, 'inpatient', "
                          "'disease', 'I50.0', false, DATE '2026-09-01', 0)"))
    cols = contract_columns(db)
    assert "outcome" not in cols["care_episode"] and not set(REGISTER_TABLES) & set(cols)
    assert migrations.state(db) == "outdated"
    before, after = migrations.upgrade(db)
    assert (before, after) == ("0003", migrations.head())
    cols = contract_columns(db)
    assert "outcome" in cols["care_episode"]
    for name in REGISTER_TABLES:
        assert cols[name] == set(s.metadata.tables[name].c.keys()), name
    with db.engine.connect() as c:  # the row is kept, its new column empty; the new tables read as declared
        assert c.execute(sa.select(s.care_episode.c.episode_id, s.care_episode.c.outcome)).all() == [(5, None)]
        for name in REGISTER_TABLES:
            assert c.execute(sa.select(sa.func.count()).select_from(s.metadata.tables[name])).scalar() == 0
        if not db.is_duckdb:  # PostgreSQL: the new tables' indexes
            idx = set(c.execute(sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"))
                      .scalars())
            want = {f"ix_{t}_{'_'.join(cols_)}" for t, cols_ in s.PG_INDEXES if t in REGISTER_TABLES}
            assert want and want <= idx, want - idx
    # down and up again: the contract's column and tables stay (they are data)
    from alembic import command
    with db.write() as c:
        cfg = migrations._config()
        cfg.attributes["connection"] = c
        command.downgrade(cfg, "0003")
    cols = contract_columns(db)
    assert "outcome" in cols["care_episode"] and set(REGISTER_TABLES) <= set(cols)
    assert migrations.current(db) == "0003"
    migrations.upgrade(db)
    assert migrations.state(db) == "current"


def test_migration_0004_leaves_a_view_mapped_contract_and_an_app_only_database(empty_db, dbs):
    db = empty_db
    contract_before_0004(db, episode_as_view=True)
    migrations.upgrade(db, "0003")
    migrations.upgrade(db)
    cols = contract_columns(db)
    assert "outcome" not in cols["care_episode"]  # a view: its mapping is the operator's to update
    assert set(REGISTER_TABLES) <= set(cols)
    from data_access.db import Database
    bare = Database(dbs.url(dbs.new()))
    try:
        migrations.upgrade(bare)
        cols = contract_columns(bare)
        assert "app_user" in cols and not set(REGISTER_TABLES) & set(cols) and "care_episode" not in cols
    finally:
        bare.dispose()


# ---------------------------------------------------------------- migration 0005 (the effective contract, issue 20)
def test_migration_0005_adds_the_contract_tables_to_a_0004_contract(empty_db, dbs):
    from data_access import schema as s
    db = empty_db
    earlier_contract(db, CONTRACT_TABLES, set(), "visit")  # the visits mapped onto an RMIS with a view
    migrations.upgrade(db, "0004")
    with db.engine.begin() as c:
        c.execute(sa.text("INSERT INTO mo (mo_id, name, short_name, kind, district_id, is_state, has_attachment, oid) "
                          "VALUES (101, 'МО', 'МО', 'adult_polyclinic', 1, true, true, '1')"))
    cols = contract_columns(db)
    assert not set(CONTRACT_TABLES) & set(cols) and "visit" in cols
    assert migrations.state(db) == "outdated"
    before, after = migrations.upgrade(db)
    assert (before, after) == ("0004", migrations.head())
    cols = contract_columns(db)
    for name in CONTRACT_TABLES:
        assert cols[name] == set(s.metadata.tables[name].c.keys()), name
    with db.engine.connect() as c:  # the existing rows are kept; the new tables read as declared, empty
        assert c.execute(sa.select(s.mo.c.mo_id)).scalars().all() == [101]
        for name in CONTRACT_TABLES:
            assert c.execute(sa.select(sa.func.count()).select_from(s.metadata.tables[name])).scalar() == 0
        if not db.is_duckdb:  # PostgreSQL: the new tables' indexes
            idx = set(c.execute(sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"))
                      .scalars())
            want = {f"ix_{t}_{'_'.join(cols_)}" for t, cols_ in s.PG_INDEXES if t in CONTRACT_TABLES}
            assert want and want <= idx, want - idx
    # down and up again: the tables stay (they are data)
    from alembic import command
    with db.write() as c:
        cfg = migrations._config()
        cfg.attributes["connection"] = c
        command.downgrade(cfg, "0004")
    assert set(CONTRACT_TABLES) <= set(contract_columns(db)) and migrations.current(db) == "0004"
    migrations.upgrade(db)
    assert migrations.state(db) == "current"
    # a database of the application's tables only gets no contract tables
    from data_access.db import Database
    bare = Database(dbs.url(dbs.new()))
    try:
        migrations.upgrade(bare)
        cols = contract_columns(bare)
        assert "app_user" in cols and not set(CONTRACT_TABLES) & set(cols)
    finally:
        bare.dispose()
