"""Benchmark: server time per drill-down callback and per API call, from the marts and from raw tables.

Usage: python -m bench.latency --url DATABASE_URL [--repeat 20] [--out FILE]
The database must hold generated data with marts (see bench/generate.py --keep). Requests go
through the whole Flask/Dash stack with the test client (login, CSRF, scope, layout building),
with the loader cache switched off, so the figures are the marts' own cost. The raw-table
figures run the same aggregation straight from the contract tables (the marts' own SELECT for
the months in question, grouped like the indicator), which is what a dashboard without marts does.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from config import Config  # noqa: E402
from core.periods import parse_period  # noqa: E402
from data_access import marts as M  # noqa: E402

INDICATORS = ["access_primary_24h", "emk_coverage", "access_specialist_median_wait", "mat_registered_12w",
              "prev_visit_share"]


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p * (len(xs) - 1)))))
    return xs[k]


def timed(fn, repeat):
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--label", default="")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "latency.jsonl"))
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    cfg = Config(database_url=a.url, instance_dir=tmp, cache_dir=tmp / "cache", cache_timeout=0, demo=False,
                 secret_key="bench-" + "x" * 40, login_failure_delay=0)
    app = create_app(cfg)
    db = app.extensions["iam"]["db"]
    from security import users
    with app.app_context():
        if users.by_login(db, "bench") is None:
            users.create(db, login="bench", full_name="Bench", role="committee", password="Timer-2026-check")
        from metrics.evaluate import data_span
        first, last = data_span()
    period = f"{last:%Y-%m}"
    c = app.test_client()
    import re
    tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)
    assert c.post("/login", data={"csrf_token": tok, "login": "bench", "password": "Timer-2026-check"}).status_code == 302
    c.get("/_dash-dependencies")
    csrf = {"X-CSRFToken": c.get_cookie("_csrf_token").value}

    # pick the largest district and its largest organisation, as a manager would
    with db.engine.connect() as conn:
        v = M.mart_visits
        d = conn.execute(sa.select(v.c.district_id).where(v.c.month == last).group_by(v.c.district_id)
                         .order_by(sa.func.sum(v.c.visits).desc()).limit(1)).scalar()
        mo = conn.execute(sa.select(v.c.mo_id).where(v.c.month == last, v.c.district_id == d).group_by(v.c.mo_id)
                          .order_by(sa.func.sum(v.c.visits).desc()).limit(1)).scalar()

    def router(search, code):
        payload = {"output": ".._pages_content.children..._pages_store.data..",
                   "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
                   "inputs": [{"id": "_pages_location", "property": "pathname", "value": f"/indicator/{code}"},
                              {"id": "_pages_location", "property": "search", "value": search}],
                   "changedPropIds": ["_pages_location.pathname"], "state": []}
        r = c.post("/_dash-update-component", json=payload, headers=csrf)
        assert r.status_code == 200, r.status_code

    results = {"callback": [], "api": []}
    per_view = {}
    levels = [("district", None), ("mo", d), ("doctor", mo)]
    for code in INDICATORS:
        for level, parent in levels:
            with app.app_context():
                from metrics.evaluate import registry
                if not registry()[code].valid_at(level):
                    continue
            q = f"?level={level}&period={period}" + (f"&parent={parent}" if parent else "")
            router(q, code)  # warm the engine's own caches once
            times = timed(lambda q=q, code=code: router(q, code), a.repeat)
            results["callback"] += times
            per_view[f"{code} {level}"] = round(pct(times, 0.5), 1)
            url = f"/api/v1/indicators/{code}{q}"
            results["api"] += timed(lambda url=url: c.get(url), a.repeat)

    # the same numbers straight from raw tables: the marts' SELECT evaluated at query time
    per = parse_period(period)
    windows = [M.Window(p.first, p.last) for p in (per, per.previous(), per.last_year())]

    def raw_primary_24h():
        with db.engine.connect() as conn:
            for w in windows:
                q = M.sel_booking(w).subquery()
                conn.execute(sa.select(q.c.district_id, sa.func.sum(q.c.within_24h), sa.func.sum(q.c.bookings))
                             .where(q.c.spec_category == "primary").group_by(q.c.district_id)).all()

    def raw_visit_share():
        with db.engine.connect() as conn:
            for w in windows:
                q = M.sel_visits(w).subquery()
                conn.execute(sa.select(q.c.district_id, sa.func.sum(q.c.visits_prevention), sa.func.sum(q.c.visits))
                             .group_by(q.c.district_id)).all()

    def mart_primary_24h():
        with app.app_context():
            from metrics.evaluate import Context, children
            children.uncached(Context("access_primary_24h", "district", per))

    def mart_visit_share():
        with app.app_context():
            from metrics.evaluate import Context, children
            children.uncached(Context("prev_visit_share", "district", per))

    comp = {}
    for name, raw_fn, mart_fn in (("access_primary_24h", raw_primary_24h, mart_primary_24h),
                                  ("prev_visit_share", raw_visit_share, mart_visit_share)):
        raw_fn()
        raw = timed(raw_fn, max(3, a.repeat // 3))
        mart = timed(mart_fn, a.repeat)
        comp[name] = {"raw_p50_ms": round(pct(raw, 0.5), 1), "mart_p50_ms": round(pct(mart, 0.5), 1),
                      "ratio": round(pct(raw, 0.5) / max(pct(mart, 0.5), 0.01), 1)}
    rec = {"when": dt.datetime.now().isoformat(timespec="seconds"), "label": a.label,
           "backend": db.backend, "period": period, "n_callback": len(results["callback"]),
           "callback_p50_ms": round(pct(results["callback"], 0.5), 1),
           "callback_p95_ms": round(pct(results["callback"], 0.95), 1),
           "api_p50_ms": round(pct(results["api"], 0.5), 1), "api_p95_ms": round(pct(results["api"], 0.95), 1),
           "district_level_raw_vs_mart": comp,
           "slowest_views_p50_ms": dict(sorted(per_view.items(), key=lambda kv: -kv[1])[:5])}
    with open(a.out, "a") as fh:
        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(json.dumps(rec, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
