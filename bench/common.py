"""Shared pieces of the section benchmarks: timing, an app on a database with the cache off, a signed-in client."""
from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

PASSWORD = "Timer-2026-check"


def timed(fn, repeat: int) -> dict:
    """Median and maximum of ``repeat`` calls, in milliseconds."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return {"median_ms": round(statistics.median(runs) * 1000), "max_ms": round(max(runs) * 1000)}


def bench_app(url: str):
    """The application on a database, cache off (every call computes)."""
    from app import create_app
    from config import Config
    tmp = Path(tempfile.mkdtemp())
    cfg = Config(database_url=url, instance_dir=tmp, cache_dir=tmp / "cache", cache_timeout=0, demo=False,
                 secret_key="bench-" + "x" * 40, login_failure_delay=0)
    return create_app(cfg)


def signed_in(app, login: str, role: str, district_id: int | None = None):
    """A test client signed in as a benchmark account (created when missing)."""
    from security import users
    db = app.extensions["iam"]["db"]
    with app.app_context():
        if users.by_login(db, login) is None:
            users.create(db, login=login, full_name="Bench", role=role, district_id=district_id, password=PASSWORD)
    c = app.test_client()
    tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)
    assert c.post("/login", data={"csrf_token": tok, "login": login, "password": PASSWORD}).status_code == 302
    return c


def arguments(doc: str, results: str, repeat: int = 5) -> argparse.Namespace:
    """The common command line of a section benchmark: --url, --repeat, --label, --out (bench/results/<results>)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--repeat", type=int, default=repeat)
    ap.add_argument("--label", default="")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / results))
    return ap.parse_args()


def append_record(record: dict, out: str) -> None:
    """Append one run to its JSON-lines file and print it."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(json.dumps(record, ensure_ascii=False, indent=1))
