"""Health endpoints for a supervisor and the refresh log on the data-status page (issue 15)."""
from __future__ import annotations

import calendar
import datetime as dt
import json

import sqlalchemy as sa

from data_access.marts import build_log
from tests.conftest import create_users, csrf_header, login
from tests.test_scope_views import router_body

ALLOWED = {"ready", "database", "schema", "marts", "marts_missing", "data_until", "freshness_days", "last_refresh",
           "error"}


def test_healthz_and_readyz_answer_without_login_and_reveal_no_data(city_app):
    c = city_app.test_client()
    r = c.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}
    r = c.get("/readyz")
    body = r.get_json()
    assert r.status_code == 200 and body["ready"] is True, body
    assert set(body) <= ALLOWED and body["database"] == "ok" and body["schema"] == "current" and body["marts"] == "ok"
    db = city_app.extensions["iam"]["db"]
    with db.engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(build_log.c.month))).scalar()
    last_day = last.replace(day=calendar.monthrange(last.year, last.month)[1])
    assert body["data_until"] == last_day.isoformat()
    assert body["freshness_days"] == (dt.date.today() - last_day).days
    assert r.headers["Cache-Control"] == "no-store"


def test_readyz_is_503_without_marts_or_database(empty_db, make_app, tmp_path):
    app = make_app(empty_db)
    r = app.test_client().get("/readyz")
    body = r.get_json()
    assert r.status_code == 503 and body["ready"] is False and body["marts"] == "missing" and body["marts_missing"] > 5
    assert "freshness_days" not in body
    from data_access.db import Database
    gone = Database(empty_db.url.rsplit("/", 1)[0] + "/no_such_database" if not empty_db.is_duckdb
                    else f"duckdb:///{tmp_path}/missing/dir/../../x.duckdb")
    if gone.is_duckdb:
        gone.error = "База недоступна"  # a DuckDB file is created on demand: simulate the unreachable case
    app.extensions["iam"]["db"] = gone
    r = app.test_client().get("/readyz")
    assert r.status_code == 503 and r.get_json() == {"ready": False, "database": "unreachable"}


def test_refreshes_are_logged_and_shown_on_the_data_status_page(city_copy, make_app):
    app = make_app(city_copy, login_failure_delay=0)
    with app.app_context():
        create_users(app.extensions["iam"]["db"])
    runner = app.test_cli_runner()
    res = runner.invoke(args=["build-marts", "--month", "2026-05", "--no-warm"])
    assert res.exit_code == 0, res.output
    c = app.test_client()
    login(c, "chair")
    last = app.test_client().get("/readyz").get_json()["last_refresh"]
    assert last["kind"] == "build-marts" and last["status"] == "ok" and last["seconds"] >= 0
    res = runner.invoke(args=["build-marts", "--month", "2001-01", "--no-warm"])
    assert res.exit_code != 0 and "вне периода" in res.output
    from data_access.refresh_log import recent
    runs = recent(city_copy, 5)
    assert [r["status"] for r in runs[:2]] == ["failed", "ok"]
    assert runs[0]["months"] == "2001-01" and "вне периода" in runs[0]["message"]
    assert runs[1]["months"] == "2026-05" and runs[1]["rows"] > 0 and runs[1]["seconds"] is not None
    assert c.get("/data").status_code == 200  # the shell, which sets the CSRF cookie
    r = c.post("/_dash-update-component", json=router_body("/data", ""), headers=csrf_header(c))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    text = json.dumps(r.get_json(), ensure_ascii=False)
    assert "Последнее обновление: Построение витрин" in text and "ошибка" in text and "вне периода" in text
