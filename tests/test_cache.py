"""Loader cache: hits within a data version, invalidated when marts are rebuilt."""
from __future__ import annotations

from core.periods import parse_period
from data_access import marts as M
from data_access import schema
from metrics.evaluate import Context, children


def test_rebuilding_marts_invalidates_cached_values(city_copy, make_app):
    app = make_app(city_copy)
    cache = app.extensions["iam"]["cache"]
    ctx = Context("prev_visit_share", "region", parse_period("2026-06"))
    with app.app_context():
        before = children(ctx).loc[0, "numerator"]
        assert len(cache.store) > 0  # the value is on disk now
        version = cache.data_version()
        # the raw data of June change and the month is rebuilt
        with city_copy.engine.begin() as c:
            c.execute(schema.visit.delete().where(schema.visit.c.visit_date >= parse_period("2026-06").first,
                                                  schema.visit.c.visit_date < parse_period("2026-07").first,
                                                  schema.visit.c.purpose == "prevention"))
        M.build_marts(city_copy, parse_period("2026-06").first)
        cache._version = None  # the version is re-read at most every few seconds; don't wait in a test
        assert cache.data_version() != version
        after = children(ctx).loc[0, "numerator"]
    assert after == 0 and before > 0


def test_cached_frames_are_fresh_copies(city_app):
    with city_app.app_context():
        ctx = Context("emk_coverage", "district", parse_period("2026-06"))
        a = children(ctx)
        a.loc[:, "value"] = -1
        b = children(ctx)
    assert (b["value"] >= 0).all()
