"""Prevention and screening: the cost of one month of each prevention mart, of the section's tables
through the API (city, the largest district, its largest organisation) and of the worklist «кого
пригласить» for the largest adult and children's polyclinics, cache off. Read-only.

Usage: python -m bench.prevention --url duckdb:////work/bench-data/demo.duckdb [--repeat 5] [--label …]
       (or a PostgreSQL URL); appends a record to bench/results/prevention.jsonl.
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

MARTS = ("mart_prevention", "mart_prevention_band", "mart_vaccination", "mart_vacc_delay", "mart_screening")
PARTS = ("vaccination", "vaccination-units", "dispensary", "dispensary-months", "form-1000", "screening",
         "screening-units")


def main() -> int:
    a = arguments(__doc__, "prevention.jsonl")
    app = bench_app(a.url)
    db = app.extensions["iam"]["db"]
    with db.engine.connect() as c:
        last = c.execute(sa.select(sa.func.max(M.marts.tables["mart_vaccination"].c.month))).scalar()
        p = schema.patient
        big = {}
        for kind in ("adult_polyclinic", "children_polyclinic"):
            joined = p.join(schema.mo, schema.mo.c.mo_id == p.c.attach_mo_id)
            big[kind] = c.execute(sa.select(p.c.attach_mo_id).select_from(joined)
                                  .where(schema.mo.c.kind == kind).group_by(p.c.attach_mo_id)
                                  .order_by(sa.func.count().desc()).limit(1)).scalar()
        district = c.execute(sa.select(schema.mo.c.district_id).where(schema.mo.c.mo_id == big["adult_polyclinic"])).scalar()
        attached = {k: c.execute(sa.select(sa.func.count()).where(p.c.attach_mo_id == v)).scalar() for k, v in big.items()}
    out = {"at": dt.datetime.now().isoformat(timespec="seconds"), "url": a.url.split("@")[-1], "label": a.label,
           "month": last.isoformat(), "attached": attached, "marts_one_month": {}, "api": {}, "worklist": {}}

    # one month of each mart, computed (not written): the cost of a monthly refresh of the section
    w = M.Window(last, last)
    for name in MARTS:
        sel = M.SELECTS[name](w)
        with db.engine.connect() as c:
            out["marts_one_month"][name] = timed(lambda sel=sel: c.execute(
                sa.select(sa.func.count()).select_from(sel.subquery())).scalar(), 1)

    c = signed_in(app, "bench-district", "district", district)
    period = f"{last:%Y}"
    for level, uid in (("region", None), ("district", district), ("mo", big["adult_polyclinic"])):
        q = f"level={level}" + (f"&id={uid}" if uid else "") + f"&period={period}"
        for part in PARTS:
            url = f"/api/v1/prevention/{part}?{q}"
            r = c.get(url)
            if r.status_code != 200:
                continue  # not a table of this level (dispensarisation has no участки)
            out["api"][f"{part}@{level}"] = timed(lambda url=url: c.get(url), a.repeat)
    for kind, mo in big.items():
        url = f"/api/v1/prevention/worklist?level=mo&id={mo}"
        assert c.get(url).status_code == 200, c.get(url).get_data(as_text=True)
        out["worklist"][kind] = {**timed(lambda url=url: c.get(url), a.repeat),
                                 "rows": len(c.get(url).get_json()["rows"])}
        url = f"/api/v1/prevention/areas?level=mo&id={mo}"
        out["worklist"][f"{kind} areas"] = timed(lambda url=url: c.get(url), a.repeat)
    append_record(out, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
