"""Snapshot of every GET endpoint of the JSON API (and the table CSV exports) on a small generated city.

Usage (from the root of the code tree to snapshot; the app is imported from the current directory):

    cd /path/to/tree && /path/to/python /path/to/bench/snapshot_api.py OUT.json

Builds a fresh embedded DuckDB demo city in a temp dir (scale 0.004, seed 11, 15 months to 2026-09,
as the test fixture), creates the app on it with the loader cache off, signs in as an admin and
requests every API resource for several units at each level and several periods. Writes one JSON
file: request URL → {"status": int, "body": parsed JSON (floats rounded to 6 significant digits)
or text}. Two snapshots of the same city from two code versions should be identical; diff them
with a separate script (e.g. /tmp/compare_snap.py).

Only the app factory, Config, the documented CLI (``demo-data``) and the test helpers are used,
so the script runs on the old and the refactored layout alike.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

# the code under test comes from the current directory, not from this script's folder
_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
sys.path.insert(0, os.getcwd())

CITY = dict(scale="0.004", seed="11", months="15", end="2026-09")
PERIODS = ["2026-09", "2026-Q2", "2026", "2026-06-YTD"]  # month, quarter, year (running), year-to-date
TABLE_PERIODS = ["2026-09", "2026-Q2", "2026-06-YTD"]
PASSWORD = "Snapshot-2026-check"

EMK_PARTS = ["coverage", "funnel", "timeliness", "reasons", "silent"]
ACCESS_PERIOD_PARTS = ["children", "specialties", "channels", "slots"]
ACCESS_DATE_PARTS = ["nearest", "not-bookable"]
PREG_PARTS = ["register", "status", "worklist"]
MORB_PARTS = ["places", "tree", "top", "growth", "age-sex"]
EXPORT_PREFIX = {"emk": "emk", "access": "access", "pregnancy": "preg", "morbidity": "morb"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def norm(v):
    """Floats rounded to 6 significant digits, recursively."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return repr(v)
        return float(f"{v:.6g}")
    if isinstance(v, dict):
        return {str(k): norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    return v


def url(path: str, **params) -> str:
    p = {k: v for k, v in params.items() if v is not None}
    return path + ("?" + urlencode(p) if p else "")


def make_config(db_url: str, tmp: Path):
    from config import Config
    names = {f.name for f in dataclasses.fields(Config)}
    kw = dict(database_url=db_url, instance_dir=tmp, cache_dir=tmp / "cache", cache_timeout=0, demo=False,
              testing=True, secret_key="snapshot-secret-key-" + "x" * 32, login_failure_delay=0,
              # one DuckDB thread: rows that tie in an ORDER BY come back in the same order on every run
              duckdb_threads=1)
    return Config(**{k: v for k, v in kw.items() if k in names})


def sql_rows(app, query: str) -> list[tuple]:
    import sqlalchemy as sa
    db = app.extensions["iam"]["db"]
    with db.engine.connect() as c:
        return [tuple(r) for r in c.execute(sa.text(query)).all()]


def create_admin_and_heads(app) -> dict:
    """The test users (admin, district heads, an MO head) made the way the tests make them."""
    with app.app_context():
        db = app.extensions["iam"]["db"]
        try:
            from tests.conftest import create_users
            return create_users(db)
        except ImportError:  # fallback: the users module directly
            from security import users
            users.create(db, login="admin", full_name="Admin", role="admin", password=PASSWORD, by="test")
            return {"admin": {"district_id": None, "mo_id": None}}


def signed_in(app, name: str):
    try:
        from tests.conftest import PASSWORD as pw
        from tests.conftest import login
    except ImportError:
        pw, login = PASSWORD, None
    c = app.test_client()
    if login is not None:
        r = login(c, name, pw)
    else:
        import re
        tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)
        r = c.post("/login", data={"csrf_token": tok, "login": name, "password": pw, "next": "/"})
    if r.status_code != 302:
        raise SystemExit(f"login as {name} failed: {r.status_code} {r.get_data(as_text=True)[:300]}")
    return c


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_path = Path(sys.argv[1]).resolve()
    t0 = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="iam_snap_"))
    db_url = f"duckdb:///{tmp / 'snap.duckdb'}"

    from app import create_app
    app = create_app(make_config(db_url, tmp))
    log(f"code from {os.getcwd()}; city in {tmp}")

    # ---- the city, through the documented CLI
    res = app.test_cli_runner().invoke(args=["demo-data", "--scale", CITY["scale"], "--seed", CITY["seed"],
                                             "--months", CITY["months"], "--end", CITY["end"]])
    if res.exit_code != 0:
        log(res.output)
        raise SystemExit(f"demo-data failed: {res.exception!r}")
    log(f"city built in {time.time() - t0:.0f} s")

    places = create_admin_and_heads(app)

    # ---- units (straight from the contract tables, independent of the code under test)
    with app.app_context():
        districts = [r[0] for r in sql_rows(app, "select district_id from district order by district_id")]
        names = dict(sql_rows(app, "select name, district_id from district"))
        d1 = names.get("Колпинский", districts[0])
        d2 = names.get("Невский", districts[1])
        kinds = [r[0] for r in sql_rows(app, "select distinct kind from mo order by kind")]

        def first_mo(d, kind):
            r = sql_rows(app, f"select min(mo_id) from mo where district_id = {int(d)} and kind = '{kind}'")
            return r[0][0] if r and r[0][0] is not None else None

        orgs = [m for m in (first_mo(d1, "adult_polyclinic"), first_mo(d2, "adult_polyclinic")) if m is not None]
        wc = sql_rows(app, f"select p.mo_id, count(*) n from pregnancy p join mo on mo.mo_id = p.mo_id "
                           f"where mo.district_id = {int(d1)} group by p.mo_id order by n desc, p.mo_id limit 1")
        wc_mo = wc[0][0] if wc else None
        # specialties with bookings in the first organisation (a primary one and a specialist one)
        specs = sql_rows(app, f"select s.specialty_id, s.category from doctor d join specialty s "
                              f"on s.specialty_id = d.specialty_id where d.mo_id = {int(orgs[0])} "
                              f"group by s.specialty_id, s.category order by count(*) desc, s.specialty_id")
        spec_ids = []
        for cat in ("primary", "specialist"):
            spec_ids += [s for s, c in specs if c == cat][:1]
        depts = [r[0] for r in sql_rows(app, f"select dept_id from department where mo_id = {int(orgs[0])} "
                                             f"order by dept_id limit 2")]
    log(f"districts {d1}, {d2}; organisations {orgs}; women's consultation {wc_mo}; "
        f"specialties {spec_ids}; departments {depts}")

    admin = signed_in(app, "admin")
    heads = {}
    for name in ("kolpino", "glavvrach"):
        try:
            heads[name] = signed_in(app, name)
        except SystemExit as exc:
            log(f"no {name}: {exc}")

    snap: dict[str, dict] = {}
    timing: dict[str, list] = {}  # endpoint → [requests, seconds]
    t_req = time.time()

    def get(u: str, client=None, tag: str = ""):
        key = (f"[as {tag}] " if tag else "") + u
        if key in snap:
            return snap[key]
        fam = u.split("?")[0]
        fam = fam.rsplit("/", 1)[0] if fam.startswith("/api/v1/indicators/") else fam
        t = time.perf_counter()
        try:
            r = (client or admin).get(u)
        except Exception as exc:  # an unhandled error (propagated in testing mode): record it as a 500
            snap[key] = {"status": 500, "body": f"unhandled exception: {type(exc).__name__}: {exc}"}
            log(f"  unhandled {type(exc).__name__} on {key}")
            return snap[key]
        took = timing.setdefault(fam, [0, 0.0])
        took[0] += 1
        took[1] += time.perf_counter() - t
        ctype = r.headers.get("Content-Type", "")
        text = r.get_data(as_text=True)
        if "json" in ctype:
            try:
                body = norm(json.loads(text))
            except ValueError:
                body = text
        else:
            body = text
        snap[key] = {"status": r.status_code, "body": body}
        if len(snap) % 250 == 0:
            log(f"  {len(snap)} requests, {time.time() - t_req:.0f} s")
        return snap[key]

    # ---- meta, registry, targets, tasks
    get("/api/v1/meta")
    reg = get("/api/v1/indicators")
    inds = reg["body"].get("indicators", []) if isinstance(reg["body"], dict) else []
    if not inds:
        raise SystemExit(f"/api/v1/indicators gave no indicators: {reg}")
    get("/api/v1/targets")
    for ind in inds:
        get(url("/api/v1/targets", code=ind["code"]))
    get("/api/v1/tasks")

    # ---- indicators at every level they support
    for ind in inds:
        code, levels = ind["code"], ind.get("levels") or ["region", "district", "mo", "doctor"]
        for period in PERIODS:
            for level in levels:
                if level == "region":
                    parents = [None]
                elif level == "district":
                    parents = [None]
                elif level == "mo":
                    parents = [None] + districts
                else:  # doctor
                    parents = orgs + ([wc_mo] if wc_mo else [])
                for parent in parents:
                    get(url(f"/api/v1/indicators/{code}", level=level, period=period, parent=parent))
                    if period == PERIODS[0] and parent in (None, d1, orgs[0]):
                        get(url(f"/api/v1/indicators/{code}", level=level, period=period, parent=parent, format="csv"))
                        get(url("/export/indicator.csv", code=code, level=level, period=period, parent=parent))
        get(f"/api/v1/indicators/{code}")  # defaults

    # ---- ratings
    # (a rating evaluates every indicator: a few seconds each, so every kind only for the month)
    for period in PERIODS:
        get(url("/api/v1/ratings", level="district", period=period))
        for parent in (None, d1, d2):
            get(url("/api/v1/ratings", level="mo", period=period, parent=parent))
    for kind in kinds:
        get(url("/api/v1/ratings", level="mo", period=PERIODS[0], kind=kind))
        get(url("/api/v1/ratings", level="mo", period=PERIODS[0], parent=d1, kind=kind))
    get("/api/v1/ratings")

    # ---- tables: every part, API and CSV export with the same parameters
    def table(family: str, part: str, client=None, tag: str = "", export: bool = True, **params):
        get(url(f"/api/v1/{family}/{part}", **params), client, tag)
        if export:
            get(url(f"/export/table/{EXPORT_PREFIX[family]}-{part}.csv", **params), client, tag)

    base_units = [("region", None), ("district", d1), ("district", d2), ("mo", orgs[0]), ("mo", orgs[1])]

    emk_units = base_units + [("dept", d) for d in depts]
    for part in EMK_PARTS:
        table("emk", part)
        for level, uid in emk_units:
            for period in TABLE_PERIODS:
                table("emk", part, level=level, id=uid, period=period)

    access_units = [(lv, uid, None) for lv, uid in base_units] + [("spec", s, orgs[0]) for s in spec_ids]
    for part in ACCESS_PERIOD_PARTS + ACCESS_DATE_PARTS:
        table("access", part)
        for level, uid, mo in access_units:
            if part in ACCESS_PERIOD_PARTS:
                for period in TABLE_PERIODS:
                    table("access", part, level=level, id=uid, mo=mo, period=period)
            else:
                for date in ((None, "2026-06-01") if part == "not-bookable" else (None, "2026-09-15", "2026-06-01")):
                    table("access", part, level=level, id=uid, mo=mo, date=date)

    preg_units = base_units + ([("mo", wc_mo)] if wc_mo else [])
    for part in PREG_PARTS:
        table("pregnancy", part)
        for level, uid in preg_units:
            for period in TABLE_PERIODS:
                table("pregnancy", part, level=level, id=uid, period=period)
            if part != "register":
                for date, weeks in (("2026-08-15", None), ("2026-09-30", 8), (None, 2)):
                    table("pregnancy", part, level=level, id=uid, date=date, weeks=weeks)
    # the worklist is patient-level: the admin is refused, heads see their own units
    for tag, level, uid in (("kolpino", "district", d1), ("glavvrach", "mo", (places.get("glavvrach") or {}).get("mo_id"))):
        if tag not in heads or uid is None:
            continue
        for part in ("status", "worklist"):
            for period in (None,) + tuple(TABLE_PERIODS):
                table("pregnancy", part, heads[tag], tag, level=level, id=uid, period=period)
            table("pregnancy", part, heads[tag], tag, level=level, id=uid, date="2026-08-15", weeks=8)
        if tag == "kolpino" and wc_mo:
            table("pregnancy", "worklist", heads[tag], tag, level="mo", id=wc_mo)

    for part in MORB_PARTS:
        table("morbidity", part)
        for level, uid in base_units:
            for period in TABLE_PERIODS:
                table("morbidity", part, level=level, id=uid, period=period)
        for level, uid in base_units[:2] + base_units[3:4]:
            for flt in ({"icd": "X"}, {"icd": "IX"}, {"icd": "J00-J06"}, {"icd": "I10"}, {"sex": "F"},
                        {"sex": "M", "age": "0-3"}, {"icd": "X", "age": "13-17"}):
                table("morbidity", part, level=level, id=uid, period=TABLE_PERIODS[0], **flt)

    if os.environ.get("SNAP_TIMING"):
        for fam, (n, sec) in sorted(timing.items(), key=lambda kv: -kv[1][1]):
            log(f"  {fam:<40} {n:>5} requests {sec:7.1f} s")
    out = dict(sorted(snap.items()))
    out_path.write_text(json.dumps(out, ensure_ascii=False, indent=1, sort_keys=True))
    by_status: dict[int, int] = {}
    for v in out.values():
        by_status[v["status"]] = by_status.get(v["status"], 0) + 1
    log(f"{len(out)} requests → {out_path}; statuses {dict(sorted(by_status.items()))}; "
        f"requests {time.time() - t_req:.0f} s, total {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
