"""The command-line interface on both databases, and its messages on bad input."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_demo_data_build_marts_and_status(empty_db, make_app):
    app = make_app(empty_db)
    runner = app.test_cli_runner()
    res = runner.invoke(args=["demo-data", "--scale", "0,002", "--seed", "3", "--months", "2", "--end", "2026-05"])
    assert res.exit_code == 0, res.output
    assert "Сгенерировано" in res.output and "04.2026–05.2026" in res.output
    res = runner.invoke(args=["data-status"])
    assert res.exit_code == 0, res.output
    assert "visit" in res.output and "mart_visits" in res.output and "04.2026 – 05.2026" in res.output
    res = runner.invoke(args=["build-marts", "--month", "2026-05"])
    assert res.exit_code == 0 and "Построено строк" in res.output


@pytest.mark.parametrize("args,message", [
    (["demo-data", "--scale", "-1"], "Масштаб должен быть числом больше 0"),
    (["demo-data", "--scale", "0"], "Масштаб должен быть числом больше 0"),
    (["demo-data", "--scale", "abc"], "Масштаб должно быть числом, а не «abc»"),
    (["demo-data", "--scale", "7"], "не больше"),
    (["demo-data", "--months", "0"], "Число месяцев должно быть целым"),
    (["demo-data", "--months", "два"], "Число месяцев должно быть целым числом"),
    (["demo-data", "--end", "2026/05"], "ГГГГ-ММ"),
    (["demo-data", "--end", "2099-01"], "ещё не закончился"),
    (["build-marts", "--month", "май"], "ГГГГ-ММ"),
])
def test_bad_input_is_refused_with_a_clear_message(empty_db, make_app, args, message):
    res = make_app(empty_db).test_cli_runner().invoke(args=args)
    assert res.exit_code != 0
    assert message in res.output
    assert "Traceback" not in res.output


def test_build_marts_on_an_empty_database_says_what_to_do(empty_db, make_app):
    from data_access.setup import create_contract
    create_contract(empty_db)
    res = make_app(empty_db).test_cli_runner().invoke(args=["build-marts"])
    assert res.exit_code == 1 and "demo-data" in res.output


def test_build_marts_refuses_a_month_outside_the_data(city_copy, make_app):
    res = make_app(city_copy).test_cli_runner().invoke(args=["build-marts", "--month", "2001-01"])
    assert res.exit_code == 1 and "вне периода данных" in res.output


@pytest.mark.parametrize("url,message", [
    ("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", "Не удалось подключиться к PostgreSQL"),
    ("mysql://root@localhost/x", "Поддерживаются только DuckDB и PostgreSQL"),
    ("not a url", "Неверный адрес базы данных"),
])
def test_unusable_database_url(tmp_path, url, message):
    env = {**os.environ, "DATABASE_URL": url, "INSTANCE_DIR": str(tmp_path), "IAM_DEMO": "0"}
    res = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "data-status"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    assert message in res.stderr
    assert "Traceback" not in res.stderr


def test_locked_duckdb_file(tmp_path):
    path = tmp_path / "locked.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(path)!r}); "
                               "print('ready', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        env = {**os.environ, "DATABASE_URL": f"duckdb:///{path}", "INSTANCE_DIR": str(tmp_path), "IAM_DEMO": "0"}
        res = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "data-status"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 1
        assert "занят другим процессом" in res.stderr and "Traceback" not in res.stderr
    finally:
        holder.kill()
