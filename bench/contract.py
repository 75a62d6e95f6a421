"""The effective contract: the cost of one month of its marts and of the scores — the staff of the largest
polyclinic for the last month, one doctor's sheet, the payroll of that polyclinic, the heads of every
organisation for the last full quarter — cache off, as the committee's HR (the whole city). Read-only but for
the scheme versions written on first use.

Usage: python -m bench.contract --url duckdb:////work/bench-data/demo.duckdb [--repeat 5] [--label …]
       (or a PostgreSQL URL); appends a record to bench/results/contract.jsonl.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_record, arguments, bench_app, timed  # noqa: E402
from core.periods import Period, month_add  # noqa: E402
from data_access import marts as M  # noqa: E402
from data_access import schema  # noqa: E402
from data_access.scope import Scope  # noqa: E402
from services import contract as K  # noqa: E402

MARTS = ("mart_contract", "mart_contract_mo")


def main() -> int:
    a = arguments(__doc__, "contract.jsonl")
    app = bench_app(a.url)
    db = app.extensions["iam"]["db"]
    e, m = schema.employment, schema.mo
    with db.engine.connect() as c:
        last = c.execute(sa.select(sa.func.max(M.marts.tables["mart_contract"].c.month))).scalar()
        mo_id = c.execute(sa.select(e.c.mo_id).select_from(e.join(m, m.c.mo_id == e.c.mo_id))
                          .where(m.c.kind == "adult_polyclinic").group_by(e.c.mo_id)
                          .order_by(sa.func.count().desc()).limit(1)).scalar()
        people = c.execute(sa.select(sa.func.count()).select_from(e).where(e.c.mo_id == mo_id)).scalar()
        heads = c.execute(sa.select(sa.func.count()).select_from(e).where(e.c.position == "head")).scalar()
    month = Period("month", last, last)
    q_last = month_add(last, -((last.month - 1) % 3) - 1) if (last.month % 3) else last  # the last full quarter
    quarter = Period("quarter", month_add(q_last, -2), q_last)
    out = {"at": dt.datetime.now().isoformat(timespec="seconds"), "url": a.url.split("@")[-1], "label": a.label,
           "month": last.isoformat(), "quarter": quarter.key, "mo_id": mo_id, "assignments_of_mo": people,
           "head_assignments": heads, "marts_one_month": {}, "scores": {}}
    w = M.Window(last, last)
    for name in MARTS:
        if name not in M.SELECTS:
            continue
        sel = M.SELECTS[name](w)
        with db.engine.connect() as c:
            out["marts_one_month"][name] = timed(lambda sel=sel: c.execute(
                sa.select(sa.func.count()).select_from(sel.subquery())).scalar(), 1)
    hr = K.Access(scope=Scope(), staff=True, heads=True, mark=True, schemes=True, login="bench")
    with app.app_context():
        staff = K.staff(month, mo_id, hr)
        person = staff[staff["status"] == "scored"].iloc[0]["personnel_no"]
        out["staff_rows"] = len(staff)
        out["staff_share_mean"] = round(float(staff.loc[staff["status"] == "scored", "share"].mean()), 3)
        out["scores"]["staff_of_mo"] = timed(lambda: K.staff(month, mo_id, hr), a.repeat)
        out["scores"]["sheet"] = timed(lambda: K.sheet(month, mo_id, person, hr), a.repeat)
        out["scores"]["payroll_of_mo"] = timed(lambda: K.payroll_staff(month, mo_id, hr), a.repeat)
        h = K.heads(quarter, hr)
        out["heads_rows"] = len(h)
        out["heads_share_mean"] = round(float(h["share"].mean()), 3) if len(h) else None
        out["scores"]["heads_of_city"] = timed(lambda: K.heads(quarter, hr), a.repeat)
    append_record(out, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
