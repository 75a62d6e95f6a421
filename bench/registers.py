"""Registers, quality of care and volumes: the cost of one month of each mart, of the section's tables through
the API (city, the largest district, its largest polyclinic, one of its doctors) and of the patient-level lists
(a doctor's register patients, the failed HbA1c cases of the district), cache off. Read-only.

Usage: python -m bench.registers --url duckdb:////work/bench-data/demo.duckdb [--repeat 5] [--label …]
       (or a PostgreSQL URL); appends a record to bench/results/registers.jsonl.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_record, arguments, bench_app, signed_in, timed  # noqa: E402
from data_access import marts as M  # noqa: E402
from data_access import schema  # noqa: E402

MARTS = ("mart_register", "mart_quality", "mart_volume")
REGISTERS = ("summary", "units")
QUALITY = ("criteria", "units", "volumes")


def main() -> int:
    a = arguments(__doc__, "registers.jsonl")
    app = bench_app(a.url)
    db = app.extensions["iam"]["db"]
    o, m = schema.dispensary_observation, schema.mo
    with db.engine.connect() as c:
        last = c.execute(sa.select(sa.func.max(M.marts.tables["mart_register"].c.month))).scalar()
        mo_id = c.execute(sa.select(o.c.mo_id).select_from(o.join(m, m.c.mo_id == o.c.mo_id))
                          .where(m.c.kind == "adult_polyclinic").group_by(o.c.mo_id)
                          .order_by(sa.func.count().desc()).limit(1)).scalar()
        doctor = c.execute(sa.select(o.c.doctor_id).where(o.c.mo_id == mo_id).group_by(o.c.doctor_id)
                           .order_by(sa.func.count().desc()).limit(1)).scalar()
        district = c.execute(sa.select(m.c.district_id).where(m.c.mo_id == mo_id)).scalar()
        enrolled = c.execute(sa.select(sa.func.count()).select_from(o).where(o.c.end_date.is_(None))).scalar()
    out = {"at": dt.datetime.now().isoformat(timespec="seconds"), "url": a.url.split("@")[-1], "label": a.label,
           "month": last.isoformat(), "observations_open": enrolled, "marts_one_month": {}, "api": {},
           "patients": {}}
    w = M.Window(last, last)
    for name in MARTS:  # computed, not written: the cost of a monthly refresh of the section
        sel = M.SELECTS[name](w)
        with db.engine.connect() as c:
            out["marts_one_month"][name] = timed(lambda sel=sel: c.execute(
                sa.select(sa.func.count()).select_from(sel.subquery())).scalar(), 1)
    c = signed_in(app, "bench-district", "district", district)
    period = f"{last:%Y}"
    for level, uid in (("region", None), ("district", district), ("mo", mo_id)):
        q = f"level={level}" + (f"&id={uid}" if uid else "") + f"&period={period}"
        for subject, parts in (("registers", REGISTERS), ("quality", QUALITY)):
            for part in parts:
                url = f"/api/v1/{subject}/{part}?{q}" + ("&register=dm" if part == "units" and subject == "registers"
                                                        else "")
                if c.get(url).status_code != 200:
                    continue
                out["api"][f"{subject}/{part}@{level}"] = timed(lambda url=url: c.get(url), a.repeat)
    for name, url in (("doctor's diabetics", f"/api/v1/registers/patients?level=doctor&id={doctor}&register=dm"),
                      ("failed HbA1c cases, district",
                       f"/api/v1/quality/cases?level=district&id={district}&criterion=dm_hba1c&period={period}")):
        r = c.get(url)
        assert r.status_code == 200, r.get_data(as_text=True)
        out["patients"][name] = {**timed(lambda url=url: c.get(url), a.repeat), "rows": len(r.get_json()["rows"])}
    append_record(out, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
