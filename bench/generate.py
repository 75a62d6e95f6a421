"""Benchmark: generation and mart-build time and peak memory, on DuckDB or PostgreSQL.

Usage: python -m bench.generate --backend duckdb|postgresql --scale 1.0 --months 12 [--out FILE]
Each run creates a fresh database (a temporary DuckDB file or a new PostgreSQL database, dropped
afterwards) and appends one JSON line to the output file. Peak memory is this process's maximum
resident set (for PostgreSQL the server's own memory is not included).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_access.db import Database  # noqa: E402
from data_access.marts import build_marts, timings  # noqa: E402
from synth.generate import generate  # noqa: E402

PG = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["duckdb", "postgresql"], required=True)
    ap.add_argument("--scale", type=float, required=True)
    ap.add_argument("--months", type=int, required=True)
    ap.add_argument("--end", default="2026-10")
    ap.add_argument("--keep", help="keep the database under this name/path instead of dropping it")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "generate.jsonl"))
    a = ap.parse_args()
    end = dt.date(*map(int, a.end.split("-")), 1)
    if a.backend == "duckdb":
        path = a.keep or os.path.join(tempfile.mkdtemp(), "bench.duckdb")
        url = f"duckdb:///{path}"
    else:
        name = a.keep or f"iam_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False)
    db = Database(url, duckdb_memory_limit=os.environ.get("DUCKDB_MEMORY_LIMIT", "12GB"))
    t0 = time.perf_counter()
    summary = generate(db, scale=a.scale, seed=42, months=a.months, end_month=end,
                       progress=lambda label, i, n: print(f"  [{time.perf_counter() - t0:7.1f}s] {label}", flush=True))
    t_gen = time.perf_counter() - t0
    t1 = time.perf_counter()
    counts = build_marts(db)
    t_marts = time.perf_counter() - t1
    size = None
    if a.backend == "duckdb":
        db.dispose()
        size = os.path.getsize(path)
    else:
        with db.engine.connect() as c:
            size = c.execute(sa.text("select pg_database_size(current_database())")).scalar()
        db.dispose()
        if not a.keep:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    rec = {
        "when": dt.datetime.now().isoformat(timespec="seconds"), "backend": a.backend, "scale": a.scale,
        "months": a.months, "generate_s": round(t_gen, 1), "marts_s": round(t_marts, 1),
        "total_s": round(t_gen + t_marts, 1), "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "db_size_gb": round(size / 1e9, 2) if size else None, "rows": summary.rows, "mart_rows": counts,
        "mart_seconds": dict(timings),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
    }
    with open(a.out, "a") as fh:
        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(json.dumps({k: rec[k] for k in ("backend", "scale", "months", "generate_s", "marts_s", "total_s",
                                          "peak_rss_gb", "db_size_gb")}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
