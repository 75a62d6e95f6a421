"""Browser benchmark: time to content and bytes transferred, in headless Chromium, for each persona.

Usage:
    .venv/bin/python -m bench.browser --database-url URL [--repeat 5] [--cache on|off] [--period 2026-10]

The database must hold generated data with marts (``bench/generate.py --keep``, or the demo file
``instance/iam.duckdb``). The test suite's users are created in it when missing, and
their passwords set to the suite's (a demo file has the same logins with other passwords). The app is started
here through its production entry point (``app.py``: gunicorn, compressed assets) on a free local
port, with a fresh loader cache; ``--cache off`` switches the loader cache off, so that every open
computes from the marts (the worst case: a first open after a rebuild).

Each repeat uses a new browser profile (an empty browser cache) and, per persona (chair, a district
head, an MO head, an analyst): signs in (login → home), opens each page by its address, and clicks
one drill-down row. "Time to content" ends when the page's readiness marker
(``#page-ready[data-url]``, written by the render of exactly that address) is in the DOM; it starts
at the navigation (``driver.get``) or at the click. Bytes are the network's ``transferSize`` of every
resource of the first page load in the profile (compressed bytes; cached resources count 0).
Appends one JSON line per run to ``bench/results/browser.jsonl``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.server import running  # noqa: E402
from tests.browser import address as current  # noqa: E402
from tests.browser import wait_marker  # noqa: E402
from tests.conftest import PASSWORD  # noqa: E402

PERSONAS = ["chair", "kolpino", "glavvrach", "analyst"]
TIMEOUT = 60.0

def driver():
    from selenium import webdriver
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                f"--user-data-dir={tempfile.mkdtemp(prefix='iam_chrome_')}"):  # an empty browser cache
        opts.add_argument(arg)
    if Path("/usr/bin/chromium").exists():
        opts.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(options=opts)


def wait_ready(d, url: str | None = None) -> float:
    """The moment the page for ``url`` (default: the browser's address) has rendered."""
    return wait_marker(d, url, TIMEOUT, poll=0.02)


def transferred(d) -> dict:
    """Bytes over the network so far in this document: all resources, and JavaScript alone."""
    entries = d.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => [e.name, e.initiatorType, e.transferSize || 0, e.decodedBodySize || 0]);")
    js = [e for e in entries if e[0].split("?")[0].endswith(".js")]
    return {"all_bytes": sum(e[2] for e in entries), "js_bytes": sum(e[2] for e in js),
            "js_decoded_bytes": sum(e[3] for e in js), "requests": len(entries),
            "largest": [(e[0].split("/")[-1].split("?")[0], e[2]) for e in sorted(entries, key=lambda e: -e[2])[:6]]}


def places(url: str) -> dict:
    from data_access.db import Database
    from security import users
    from tests.conftest import create_users
    db = Database(url)
    try:
        out = create_users(db)
        for login in PERSONAS:  # a demo file has these logins with its own passwords
            users.set_password(db, login, PASSWORD, by="bench")
        return out
    finally:
        db.dispose()


def pages(login: str, place: dict, mo_of_district: int, period: str) -> list[tuple[str, str]]:
    """(name, address) of what a person of this role opens."""
    mo = place["mo_id"] or mo_of_district
    return [
        ("indicator_doctors", f"/indicator/emk_coverage?level=doctor&parent={mo}&period={period}"),
        ("rating", f"/rating?period={period}"),
        ("unit_card", f"/unit?level=mo&id={mo}&period={period}"),
        ("emk", f"/emk?period={period}"),
        ("access", f"/access?period={period}"),
        ("pregnancy", f"/pregnancy?period={period}"),
        ("morbidity", f"/morbidity?period={period}"),
    ]


def drill(d, base: str, login: str, place: dict, period: str) -> float:
    """Open an indicator one level above the person's own and click the first row: seconds to the next level."""
    from selenium.webdriver.common.by import By
    start_level, parent = ("district", None) if place["district_id"] is None else (
        ("mo", place["district_id"]) if place["mo_id"] is None else ("doctor", place["mo_id"]))
    if start_level == "doctor":
        return float("nan")  # an MO head's bottom level has nothing below
    path = f"/indicator/emk_coverage?level={start_level}&period={period}" + (f"&parent={parent}" if parent else "")
    d.get(base + path)
    wait_ready(d)
    cell = d.find_elements(By.CSS_SELECTOR, "#ind-table td[data-dash-column='unit_name']")[0]
    d.execute_script("arguments[0].scrollIntoView({block: 'center'});", cell)
    time.sleep(0.3)  # the scroll settles before the click is timed
    before = current(d)
    t = time.perf_counter()
    d.execute_script("arguments[0].click();", cell)  # a header or a toast may overlap it on a small window
    end = time.perf_counter() + TIMEOUT
    while current(d) == before and time.perf_counter() < end:
        time.sleep(0.01)
    return wait_ready(d) - t


def sign_in(d, base: str, login: str) -> float:
    from selenium.webdriver.common.by import By
    d.get(base + "/login")
    d.find_element(By.ID, "login").send_keys(login)
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    t = time.perf_counter()
    d.find_element(By.ID, "login-submit").click()
    end = time.perf_counter() + TIMEOUT
    while "/login" in d.current_url and time.perf_counter() < end:
        time.sleep(0.01)
    return wait_ready(d, "/") - t


def run_persona(base: str, login: str, place: dict, mo_of_district: int, period: str) -> dict:
    d = driver()
    try:
        out = {"login_home": sign_in(d, base, login)}
        out["bytes_first_load"] = transferred(d)
        for name, path in pages(login, place, mo_of_district, period):
            t = time.perf_counter()
            d.get(base + path)
            out[name] = wait_ready(d, path) - t
        out["drill_click"] = drill(d, base, login, place, period)
        return out
    finally:
        d.quit()


def summary(samples: list[dict]) -> dict:
    keys = [k for k in samples[0] if k != "bytes_first_load"]
    out = {}
    for k in keys:
        xs = sorted(s[k] for s in samples if s[k] == s[k])
        if not xs:
            continue
        q = statistics.quantiles(xs, n=20, method="inclusive") if len(xs) >= 2 else [xs[0]] * 19
        out[k] = {"p50_s": round(statistics.median(xs), 2), "p95_s": round(q[18], 2), "max_s": round(xs[-1], 2),
                  "n": len(xs)}
    b = [s["bytes_first_load"] for s in samples]
    out["bytes_first_load"] = {k: int(statistics.median(x[k] for x in b)) for k in b[0] if k != "largest"}
    out["bytes_first_load"]["largest"] = b[0]["largest"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", choices=["on", "off"], default="on")
    ap.add_argument("--period", default="2026-10")
    ap.add_argument("--label", default="", help="a note stored with the result (scale, machine load…)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "browser.jsonl"))
    a = ap.parse_args()
    pl = places(a.database_url)
    mo_of_district = pl["glavvrach"]["mo_id"]
    tmp = Path(tempfile.mkdtemp(prefix="iam_browser_"))
    env = {"CACHE_DIR": str(tmp / "cache"), "LOGIN_FAILURE_DELAY": "0"}
    if a.cache == "off":
        env["CACHE_TIMEOUT"] = "0"
    samples = []
    # the serving process warms the default views first (cli/warm.py): with the cache on, wait for it
    with running(a.database_url, tmp, wait_warm=a.cache == "on", **env) as srv:
        for r in range(a.repeat):
            for login in PERSONAS:
                s = run_persona(srv.base, login, pl[login], mo_of_district, a.period)
                s.update(repeat=r, login=login)
                print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in s.items()},
                                 ensure_ascii=False), flush=True)
                samples.append(s)
    numeric = [{k: v for k, v in s.items() if k not in ("repeat", "login")} for s in samples]
    engine = "postgresql" if a.database_url.startswith("postgresql") else "duckdb"
    out = {"when": dt.datetime.now().isoformat(timespec="seconds"), "db": engine, "cache": a.cache,
           "repeat": a.repeat, "label": a.label, "cpus": os.cpu_count(), "all": summary(numeric),
           "first_repeat": summary(numeric[:len(PERSONAS)])}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
