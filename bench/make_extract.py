"""Cut a monthly extract (the files ``flask --app app import-data`` loads) from a generated demo city.

Usage: python -m bench.make_extract --out examples/extract-2026-09 --month 2026-09 [--scale 0.0005]
       [--seed 42] [--months 2] [--all-references]

The city is generated into a temporary DuckDB file (the same parameters as
``flask --app app demo-data --scale … --seed … --months … --end …``), then one month of it is written
as ``<table>.csv`` (``;``, UTF-8): every fact table limited to the month and, by default, the small
reference tables an RMIS would send with it (the large ones — doctors, departments, staff, patients,
calendar — are then taken from the database the extract is loaded into).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_access import schema  # noqa: E402
from data_access.db import Database  # noqa: E402
from data_access.importer import MONTH_COLUMNS, export_month  # noqa: E402
from synth.generate import generate, parse_month  # noqa: E402

SMALL_REFERENCES = ["district", "mo", "specialty", "emd_kind", "emd_requirement", "icd_class"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="directory to write the CSV files to")
    ap.add_argument("--month", required=True, help="the month to export, YYYY-MM (the last month generated)")
    ap.add_argument("--scale", type=float, default=0.0005)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--months", type=int, default=2)
    ap.add_argument("--all-references", action="store_true",
                    help="write every reference table (a self-contained extract for an empty database)")
    args = ap.parse_args()
    month = parse_month(args.month)
    tables = None if args.all_references else SMALL_REFERENCES + list(MONTH_COLUMNS)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"duckdb:///{Path(tmp) / 'city.duckdb'}")
        generate(db, scale=args.scale, seed=args.seed, months=args.months, end_month=month)
        out = Path(args.out)
        for old in out.glob("*.csv"):  # a re-cut must not keep files of tables no longer exported
            old.unlink()
        rows = export_month(db, out, month, tables=tables)
        db.dispose()
    size = sum(p.stat().st_size for p in out.glob("*.csv"))
    for name in schema.metadata.tables:
        if name in rows:
            print(f"{name:<20}{rows[name]:>8}")
    print(f"{len(rows)} files, {size / 1024:.0f} KiB in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
