"""Back-test of the forecast of target attainment (metrics.forecast): past periods projected from their
beginnings and compared with what happened — the share of actual values inside the 80 % interval (coverage)
and the median error, overall, per method, per level and per cut; cache off. Read-only.

Usage: python -m bench.forecast_backtest --url duckdb:////work/bench-data/demo27.duckdb [--levels region,district]
       [--mo-districts 2] [--compare] [--label …]
       [--cases cases.csv]
       (or a PostgreSQL URL); appends a record to bench/results/forecast.jsonl (--cases: every case to a CSV file).

--mo-districts N adds the organisations of the N largest districts (by number of organisations); --compare
also runs every case with histories of 15–23 months by the non-seasonal damped trend instead of the seasonal
naive forecast, and every case by the seasonal naive forecast where the history has two years, to compare.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_record, bench_app, timed  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def _table(df) -> list[dict]:
    out = []
    for r in df.to_dict("records"):
        out.append({k: (round(v, 4) if isinstance(v, float) else (v.isoformat() if isinstance(v, dt.date) else v))
                    for k, v in r.items()})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--levels", default="region,district")
    ap.add_argument("--mo-districts", type=int, default=2)
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--label", default="")
    ap.add_argument("--cases", default="")
    ap.add_argument("--out", default=str(RESULTS / "forecast.jsonl"))
    a = ap.parse_args()
    app = bench_app(a.url)
    with app.app_context():
        from data_access import units as U
        from metrics import forecast as F
        from metrics.evaluate import data_months
        months = data_months()
        cuts = F.default_cuts(months)
        units = [(lv, None) for lv in a.levels.split(",") if lv]
        o = U.organisations()
        by_size = o.groupby("district_id").size().sort_values(ascending=False).index
        units += [("mo", int(d)) for d in by_size[:a.mo_districts]]
        t0 = time.perf_counter()
        cases = F.backtest(units=units, cuts=cuts)
        seconds = time.perf_counter() - t0
        if a.cases:
            cases.to_csv(a.cases, index=False)
        rec = {"at": dt.datetime.now().isoformat(timespec="seconds"), "url": a.url.split("@")[-1], "label": a.label,
               "months": f"{months[0]:%Y-%m}..{months[-1]:%Y-%m}", "cuts": [f"{c:%Y-%m}→{u:%Y-%m}" for c, u in cuts],
               "units": [f"{lv}:{p}" for lv, p in units], "seconds": round(seconds, 1),
               "overall": _table(F.backtest_summary(cases)),
               "overall_judged": _table(F.backtest_summary(cases[~cases["few"]])),
               "by_method": _table(F.backtest_summary(cases, ["method"])),
               "by_level": _table(F.backtest_summary(cases, ["level"])),
               "by_cut": _table(F.backtest_summary(cases, ["as_of", "until"])),
               "by_indicator": _table(F.backtest_summary(cases, ["code"]))}
        if a.compare:
            short = [c for c in cuts if len(F._history_months(c[0])) < F.SEASONAL_MONTHS
                     and len(F._history_months(c[0])) >= F.SNAIVE_MONTHS]
            long = [c for c in cuts if len(F._history_months(c[0])) >= F.SEASONAL_MONTHS]
            for name, force, cc in (("damped_on_15_23", "ets_damped", short), ("snaive_on_24", "snaive", long),
                                    ("snaive_default_on_15_23", None, short), ("ets_seasonal_default_on_24", None, long)):
                if not cc:
                    continue
                alt = F.backtest(units=units, cuts=cc, force=force)
                rec[f"compare_{name}"] = _table(F.backtest_summary(alt[~alt["few"]]))
        # the cost of one card and of a list (cache off): the city, the district with most organisations, these
        d = int(by_size[0])
        last = months[-1]
        rec["timing"] = {
            "forecast@region": timed(lambda: F.forecast("access_primary_24h", "region", None, last), a.repeat),
            "forecast@district": timed(lambda: F.forecast("access_primary_24h", "district", d, last), a.repeat),
            "forecasts@district": timed(lambda: F.forecasts("access_primary_24h", "district", None, last), a.repeat),
            "forecasts@mo_of_district": timed(lambda: F.forecasts("access_primary_24h", "mo", d, last), a.repeat),
            "forecasts@mo_of_district_percentile": timed(
                lambda: F.forecasts("access_specialist_median_wait", "mo", d, last), a.repeat),
        }
    append_record(rec, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
