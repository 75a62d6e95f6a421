"""A bounded load test: N signed-in users (≤ 50) for ≤ 60 s against a server started here, on 127.0.0.1 only.

Usage:
    .venv/bin/python bench/load.py [--users 50] [--seconds 60] [--scale 0.05] [--months 15] [--db duckdb|postgresql]

Generates a demo city into a temporary database (or reuses ``--url``), creates one user per role, starts
``app.py`` on a free local port as a separate process (the production entry point: gunicorn), waits until it
has warmed the default views (as it does after every start), then each
virtual user signs in through the real login form and loops over what its role opens: pages through
Dash's own router (the POST a browser sends for a URL), subject tables of the API, exports and the
rating. Reports throughput, p50/p95/p99 latency and errors (any status ≥ 400 except the expected 403s,
and every timeout), and appends a JSON record to ``bench/results/load.jsonl``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.server import running  # noqa: E402
from tests.conftest import PASSWORD  # noqa: E402

LOGINS = ["chair", "kolpino", "glavvrach", "analyst"]  # one person of each role (tests/conftest.py USERS)
TIMEOUT = 30  # seconds; a slower answer counts as an error


def prepare(url: str, scale: float, months: int) -> dict:
    """Generate the city and marts, create the users; returns login → {district_id, mo_id}."""
    from data_access.db import Database
    from data_access.marts import build_marts
    from synth.generate import generate
    from tests.conftest import create_users
    db = Database(url)
    last = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    generate(db, scale=scale, seed=42, months=months, end_month=last)
    build_marts(db)
    places = create_users(db)  # the test suite's users: one per role, two district heads
    db.dispose()
    return places


def router(path: str, search: str = "") -> dict:
    """The body Dash's page router gets when the browser opens a URL."""
    return {"output": ".._pages_content.children..._pages_store.data..",
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                       {"id": "_pages_location", "property": "search", "value": search}],
            "changedPropIds": ["_pages_location.pathname"], "state": []}


def plan(login: str, place: dict, period: str) -> list[tuple[str, str, dict | None]]:
    """What a person of this role opens: (method, path, JSON body of a page render)."""
    d, mo = place["district_id"], place["mo_id"]
    pages = ["/", "/emk", "/access", "/pregnancy", "/morbidity", "/rating", "/indicator/emk_coverage", "/tasks"]
    out = [("POST", "/_dash-update-component", router(p, f"?period={period}")) for p in pages]
    unit = f"level=district&id={d}" if d else "level=region"
    out += [("GET", f"/api/v1/emk/coverage?{unit}&period={period}", None),
            ("GET", f"/api/v1/access/children?{unit}&period={period}", None),
            ("GET", f"/api/v1/pregnancy/register?{unit}&period={period}", None),
            ("GET", f"/api/v1/indicators/access_primary_24h?level=mo&period={period}", None),
            ("GET", f"/api/v1/ratings?level=district&period={period}", None),
            ("GET", f"/export/table/morb-places.csv?{unit}&period={period}", None)]
    if mo:
        out.append(("GET", f"/api/v1/emk/timeliness?level=mo&id={mo}&period={period}", None))
    return out


def user_loop(base: str, login: str, place: dict, period: str, until: float, records: list, lock: threading.Lock):
    s = requests.Session()
    page = s.get(base + "/login", timeout=TIMEOUT).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = s.post(base + "/login", data={"csrf_token": token, "login": login, "password": PASSWORD, "next": "/"},
               timeout=TIMEOUT, allow_redirects=False)
    if r.status_code != 302:
        with lock:
            records.append(("login", r.status_code, 0.0))
        return
    with lock:
        records.append(("login", 302, 0.0))
    s.get(base + "/api/v1/meta", timeout=TIMEOUT)  # the CSRF cookie
    headers = {"X-CSRFToken": s.cookies.get("_csrf_token", "")}
    steps = plan(login, place, period)
    rnd = random.Random(hash(login) ^ threading.get_ident())
    while time.monotonic() < until:
        method, path, body = rnd.choice(steps)
        t = time.perf_counter()
        try:
            res = s.post(base + path, json=body, headers=headers, timeout=TIMEOUT) if method == "POST" \
                else s.get(base + path, timeout=TIMEOUT)
            status = res.status_code
        except requests.RequestException:
            status = 0  # a timeout or a dropped connection
        with lock:
            records.append((path if method == "GET" else body["inputs"][0]["value"], status, time.perf_counter() - t))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--months", type=int, default=15)
    ap.add_argument("--db", choices=["duckdb", "postgresql"], default="duckdb")
    a = ap.parse_args()
    users, seconds = min(a.users, 50), min(a.seconds, 60.0)  # bounded by design
    tmp = Path(tempfile.mkdtemp(prefix="iam_load_"))
    if a.db == "duckdb":
        url = f"duckdb:///{tmp / 'load.duckdb'}"
    else:
        import sqlalchemy as sa
        name = f"iam_load_{os.getpid()}"
        admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    t0 = time.perf_counter()
    places = prepare(url, a.scale, a.months)
    print(f"city prepared in {time.perf_counter() - t0:.0f} s", flush=True)
    with running(url, tmp, wait_warm=True) as srv:  # gunicorn, after its warm-up of the default views
        last = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        period = f"{last:%Y-%m}"
        records: list = []
        lock = threading.Lock()
        until = time.monotonic() + seconds
        logins = LOGINS
        threads = [threading.Thread(target=user_loop, args=(srv.base, logins[i % len(logins)],
                                                            places[logins[i % len(logins)]], period, until, records,
                                                            lock), daemon=True)
                   for i in range(users)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + TIMEOUT + 10)
        elapsed = time.monotonic() - start
    times = sorted(r[2] for r in records if r[1] and r[1] < 400)
    errors = [r for r in records if not r[1] or r[1] >= 400]
    q = statistics.quantiles(times, n=100, method="inclusive") if len(times) >= 2 else [0.0] * 99
    by_target: dict[str, list[float]] = {}
    for target, _status, took in records:
        by_target.setdefault(target.split("?")[0], []).append(took)
    out = {"when": dt.datetime.now().isoformat(timespec="seconds"), "db": a.db, "scale": a.scale, "months": a.months,
           "users": users, "seconds": round(elapsed, 1), "requests": len(records),
           "throughput_rps": round(len(records) / elapsed, 2), "p50_ms": round(q[49] * 1000), "p95_ms": round(q[94] * 1000),
           "p99_ms": round(q[98] * 1000), "errors": len(errors),
           "error_kinds": sorted({f"{r[0].split('?')[0]} {r[1]}" for r in errors})[:20],
           "slowest_median_ms": sorted(((round(statistics.median(v) * 1000), k) for k, v in by_target.items()),
                                       reverse=True)[:5]}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    with open(results / "load.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
