"""Data operations on a copy of a city: import of one month's extract, one-month refresh in one transaction,
backup and restore of the application's tables. Appends a record to bench/results/operations.jsonl.

Usage: python -m bench.operations --db /work/bench-data/demo.duckdb --month 2026-09
       (a DuckDB file or a PostgreSQL URL; the database is copied first and never changed)
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_access import app_schema, backup, importer  # noqa: E402
from data_access.db import Database  # noqa: E402
from data_access.marts import refresh_months  # noqa: E402
from synth.generate import parse_month  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "operations.jsonl"


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t0, 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="a DuckDB file (copied) with a generated city and its marts")
    ap.add_argument("--month", required=True)
    ap.add_argument("--note", default="")
    args = ap.parse_args()
    month = parse_month(args.month)
    tmp = Path(tempfile.mkdtemp(prefix="iam-ops-"))
    try:
        copy = tmp / "city.duckdb"
        shutil.copy(args.db, copy)
        db = Database(f"duckdb:///{copy}")
        app_schema.ensure(db)
        counts, export_s = timed(lambda: importer.export_month(db, tmp / "extract", month))
        rows = sum(counts.values())
        _, validate_s = timed(lambda: importer.validate(db, tmp / "extract", month))
        summary, load_s = timed(lambda: importer.load(db, tmp / "extract", month))
        marts, refresh_s = timed(lambda: refresh_months(db, month, month))
        saved, backup_s = timed(lambda: backup.backup(db, tmp / "app.json.gz"))
        record = {"at": dt.datetime.now().isoformat(timespec="seconds"), "db": os.path.basename(args.db),
                  "month": f"{month:%Y-%m}", "extract_rows": rows, "export_s": export_s, "validate_s": validate_s,
                  "import_s": load_s, "import_marts_rows": sum(summary.marts.values()),
                  "refresh_month_s": refresh_s, "refresh_rows": sum(marts.values()),
                  "backup_s": backup_s, "backup_rows": sum(saved.values()), "cpus": os.cpu_count(), "note": args.note}
        print(json.dumps(record, ensure_ascii=False))
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        db.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
