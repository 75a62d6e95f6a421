"""Refresh while serving (issue 15): a month rebuilt in the running app while clients keep calling the API —
zero errors, every answer equals the value before or the value after; the admin endpoint, its refusals, the
refresh log, and the schedule."""
from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from data_access import schema
from data_access.refresh_log import recent
from tests.conftest import create_users, csrf_header, login

URL = "/api/v1/indicators/emk_coverage?level=district&period=2026-05"


def values(resp) -> tuple:
    return tuple((r["unit_id"], r["value"]) for r in resp.get_json()["rows"])


def signed_in(app, name: str):
    c = app.test_client()
    assert login(c, name).status_code == 302
    c.get("/api/v1/tasks")  # any signed-in request sets the CSRF cookie
    return c


def wait_done(admin, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = admin.get("/api/v1/admin/refreshes").get_json()
        if not body["busy"] and body["refreshes"] and body["refreshes"][0]["status"] != "running":
            return body["refreshes"][0]
        time.sleep(0.05)
    raise AssertionError("the refresh did not finish")


def test_a_month_rebuilt_under_load_gives_the_old_or_the_new_answer(app):
    db = app.extensions["iam"]["db"]
    before = values(signed_in(app, "chair").get(URL))
    # new primary data for May arrive (here: 40 % of the month's documents withdrawn); the marts still say «before»
    d = schema.emd_document
    with db.engine.begin() as c:
        gone = c.execute(d.delete().where(d.c.created_at >= dt.datetime(2026, 5, 1),
                                          d.c.created_at < dt.datetime(2026, 6, 1), d.c.doc_id % 5 < 2)).rowcount
    assert gone > 100
    assert values(signed_in(app, "chair").get(URL)) == before

    seen, errors, stop = [], [], threading.Event()

    def client():
        c = signed_in(app, "chair")
        while not stop.is_set():
            r = c.get(URL)
            if r.status_code != 200:
                errors.append((r.status_code, r.get_data(as_text=True)[:200]))
            else:
                seen.append(values(r))

    threads = [threading.Thread(target=client) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    admin = signed_in(app, "admin")
    r = admin.post("/api/v1/admin/refresh", json={"months": ["2026-05"]}, headers=csrf_header(admin))
    assert r.status_code == 202, r.get_json()
    run = wait_done(admin)
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    after = values(signed_in(app, "chair").get(URL))
    assert run["status"] == "ok" and run["months"] == "2026-05" and run["rows"] > 0, run
    assert after != before
    assert errors == []
    assert len(seen) > 10 and set(seen) <= {before, after}, set(seen) - {before, after}
    assert seen[-1] == after  # once done, every client sees the new numbers


def test_the_refresh_endpoint_refuses_in_russian(app):
    chair = signed_in(app, "chair")
    r = chair.post("/api/v1/admin/refresh", json={"last": 2}, headers=csrf_header(chair))
    assert r.status_code == 403 and "администратор" in r.get_json()["error"]
    admin = signed_in(app, "admin")
    h = csrf_header(admin)
    for body, status, text in [({}, 400, "Тело запроса"), ({"last": 0}, 400, "от 1 до 36"),
                               ({"last": "2"}, 400, "от 1 до 36"), ({"months": ["2026-13"]}, 400, "months"),
                               ({"months": ["2026-Q2"]}, 400, "не месяц"), ({"months": ["2001-01"]}, 400, "вне периода")]:
        r = admin.post("/api/v1/admin/refresh", json=body, headers=h)
        if status == 400 and text == "вне периода":
            assert r.status_code == 202  # the months are checked by the refresh itself: a failure in the log
            run = wait_done(admin)
            assert run["status"] == "failed" and "вне периода" in run["message"]
            continue
        assert r.status_code == status and text in r.get_json()["error"], (body, r.get_json())
    assert admin.post("/api/v1/admin/refresh", json={"last": 2}).status_code == 403  # no CSRF token
    # two at once: the second is refused while the first runs
    refresher = app.extensions["iam"]["refresher"]
    with refresher._lock:
        r = admin.post("/api/v1/admin/refresh", json={"last": 1}, headers=h)
        assert r.status_code == 409 and "уже идёт" in r.get_json()["error"]


def test_the_schedule_refreshes_the_last_months(app):
    from services.refresh import last_months, start_schedule
    db = app.extensions["iam"]["db"]
    assert last_months(db, 2) == (dt.date(2026, 8, 1), dt.date(2026, 9, 1))
    with pytest.raises(ValueError, match="crontab"):
        start_schedule(app.extensions["iam"]["refresher"], "every night", 2)
    sched = start_schedule(app.extensions["iam"]["refresher"], "* * * * *", 2)
    try:
        job = sched.get_job("refresh")
        job.modify(next_run_time=dt.datetime.now(job.next_run_time.tzinfo))  # run now rather than at the minute
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            runs = [r for r in recent(db, 5) if r["kind"] == "scheduled" and r["status"] != "running"]
            if runs:
                break
            time.sleep(0.1)
    finally:
        sched.shutdown(wait=True)
    assert runs and runs[0]["status"] == "ok" and runs[0]["months"] == "2026-08,2026-09" \
        and runs[0]["started_by"] == "schedule", runs
    with db.engine.connect() as c:
        built = c.execute(sa.text("SELECT max(built_at) FROM mart_build_log WHERE month = DATE '2026-09-01'")).scalar()
    assert built >= runs[0]["started_at"]


def test_an_extract_is_imported_by_the_running_app(city_copy, make_app, tmp_path):
    """On DuckDB the serving process holds the file: an administrator imports through the app (POST
    /api/v1/admin/import), the outcome and a refused file's report land in the refresh log."""
    from data_access.importer import export_month
    root = tmp_path / "import"
    app = make_app(city_copy, login_failure_delay=0, import_dir=root)
    with app.app_context():
        create_users(city_copy)
    db = app.extensions["iam"]["db"]
    export_month(db, root / "june", dt.date(2026, 6, 1))
    url = URL.replace("2026-05", "2026-06")
    chair = signed_in(app, "chair")
    good = values(chair.get(url))
    d = schema.emd_document
    with db.engine.begin() as c:  # June's documents damaged, and the marts rebuilt from them
        c.execute(d.delete().where(d.c.created_at >= dt.datetime(2026, 6, 1), d.c.created_at < dt.datetime(2026, 7, 1),
                                   d.c.doc_id % 3 == 0))
    app.extensions["iam"]["refresher"].run(dt.date(2026, 6, 1), dt.date(2026, 6, 1))
    assert values(chair.get(url)) != good
    admin = signed_in(app, "admin")
    h = csrf_header(admin)
    for body, status, text in [({"directory": "../.."}, 400, "без «..»"), ({"directory": "/etc"}, 400, "IMPORT_DIR"),
                               ({"directory": "july"}, 404, "не найдена"), ({}, 400, "directory")]:
        r = admin.post("/api/v1/admin/import", json=body, headers=h)
        assert r.status_code == status and text in r.get_json()["error"], (body, r.get_json())
    r = admin.post("/api/v1/admin/import", json={"directory": "june", "month": "2026-06"}, headers=h)
    assert r.status_code == 202, r.get_json()
    run = wait_done(admin)
    assert run["kind"] == "import-data" and run["status"] == "ok", run
    assert values(chair.get(url)) == good  # the extract restored June, and the API shows it at once
    # a truncated file: refused, nothing changed, the report in the log
    (root / "bad").mkdir()
    text = (root / "june" / "visit.csv").read_text(encoding="utf-8")
    (root / "bad" / "visit.csv").write_text(text[: len(text) // 2 - 7], encoding="utf-8")
    r = admin.post("/api/v1/admin/import", json={"directory": "bad", "month": "2026-06"}, headers=h)
    assert r.status_code == 202
    run = wait_done(admin)
    assert run["status"] == "failed" and "visit.csv" in run["message"], run
    assert values(chair.get(url)) == good
