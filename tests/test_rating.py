"""Integral rating: scores respect direction, weights, missing data, ties, flags; explained on the city."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.periods import parse_period
from metrics.model import RatingConfig
from services import rating as R


@pytest.mark.parametrize("value,target,up,expected", [
    (90, 90, True, 100), (45, 90, True, 50), (120, 90, True, 100), (-5, 90, True, 0),
    (3, 3, False, 100), (6, 3, False, 50), (1, 3, False, 100), (0, 3, False, 100),
    (None, 90, True, None), (float("nan"), 90, True, None), (50, 0, True, 100),
])
def test_score_is_share_of_target_reached(value, target, up, expected):
    got = R.score(value, target, up)
    assert got == expected if expected is None else got == pytest.approx(expected)


def test_places_share_ties_and_skip():
    values = pd.Series([90.04, 90.01, 85.0, np.nan, 70.0], index=[1, 2, 3, 4, 5])
    names = pd.Series(["Бета", "Альфа", "Гамма", "Дельта", "Эпсилон"], index=[1, 2, 3, 4, 5])
    p = R._places(values, names)
    assert p[1] == 1 and p[2] == 1 and p[3] == 3 and math.isnan(p[4]) and p[5] == 4


def _cells(rows):
    return pd.DataFrame(rows, columns=["unit_id", "code", "score", "weight", "group"])


def test_integral_weights_missing_data_and_flags():
    cfg = RatingConfig(integral_target=90, completeness_indicator="x", completeness_min=80, min_weight_share=0.7)
    cells = _cells([
        (1, "a", 100.0, 2.0, "g1"), (1, "b", 50.0, 1.0, "g1"), (1, "c", 80.0, 1.0, "g2"),
        (2, "a", 90.0, 2.0, "g1"), (2, "b", None, 1.0, "g1"), (2, "c", 60.0, 1.0, "g2"),
        (3, "a", None, 2.0, "g1"), (3, "b", None, 1.0, "g1"), (3, "c", 100.0, 1.0, "g2"),
    ])
    out = R._integral(cells, [1, 2, 3], cfg, pd.Series({1: 95.0, 2: 70.0, 3: 99.0}))
    assert out.loc[1, "integral"] == pytest.approx((2 * 100 + 50 + 80) / 4)
    assert out.loc[1, "group_g1"] == pytest.approx((2 * 100 + 50) / 3) and out.loc[1, "group_g2"] == 80
    # a missing indicator is left out and the remaining weights renormalised
    assert out.loc[2, "integral"] == pytest.approx((2 * 90 + 60) / 3) and out.loc[2, "weight_share"] == pytest.approx(0.75)
    assert out.loc[1, "flag"] == "" and out.loc[2, "flag"] == "incomplete"  # completeness 70 % < 80 %
    assert out.loc[3, "flag"] == "few"  # only a quarter of the weight has data


def test_an_indicator_most_units_lack_is_left_out():
    cells = _cells([(1, "a", 90.0, 1.0, "g"), (2, "a", 80.0, 1.0, "g"), (3, "a", None, 1.0, "g"),
                    (1, "b", 70.0, 1.0, "g"), (2, "b", None, 1.0, "g"), (3, "b", None, 1.0, "g")])
    assert set(R.applicable(cells)["code"]) == {"a"}


# ---------------------------------------------------------------- on the generated city
def test_district_rating_ranks_explains_and_flags(city_app):
    with city_app.app_context():
        r = R.compute("district", parse_period("2026-Q2"))
        u = r.units
        assert len(u) == 18
        ranked = u[u["flag"] == ""]
        assert ranked["place"].notna().all() and u.loc[u["flag"] != "", "place"].isna().all()
        assert ranked["place"].min() == 1 and ranked["place"].is_monotonic_increasing
        assert (ranked["integral"].diff().dropna() <= 1e-9).all()  # best first
        assert (u["completeness"] < 80).sum() == (u["flag"] == "incomplete").sum()
        assert set(u.columns) >= {f"group_{g}" for g in ("access", "prevention", "emk")}
        # a group enters only with indicators that at least half of the districts have on enough observations:
        # the small test city has a handful of pregnancies per district, «мало наблюдений» everywhere
        from metrics import evaluate as E
        reg = E.registry()
        for g in ("maternity", "access"):
            usable = any(E.children(E.Context(i.code, "district", parse_period("2026-Q2"), None)).pipe(
                lambda rows: (rows["value"].notna() & ~rows["few"]).mean() >= 0.5)
                for i in reg if i.group == g and i.weight > 0 and i.valid_at("district"))
            assert (f"group_{g}" in u.columns) == usable
        for uid in u["unit_id"].head(3):
            e = R.explain(r, int(uid))
            lost = sum(x["lost"] for x in e["lines"] if x["lost"] == x["lost"])
            assert lost == pytest.approx(100 - e["integral"], abs=1e-6)
            assert e["top"] == sorted(e["top"], key=lambda x: -x["lost"])


def test_rating_through_the_api_and_scope(city_app, client_as):
    chair = client_as("chair").get("/api/v1/ratings?level=district&period=2026-Q2").get_json()
    assert len(chair["rows"]) == 18 and chair["ranked"] == sum(r["place"] is not None for r in chair["rows"])
    kolp = client_as("kolpino").get("/api/v1/ratings?level=district&period=2026-Q2").get_json()
    assert len(kolp["rows"]) == 1
    own = next(r for r in chair["rows"] if r["unit_id"] == kolp["rows"][0]["unit_id"])
    assert kolp["rows"][0]["place"] == own["place"]  # their place among all, without the others' figures
    other = city_app.places["nevsky"]["district_id"]
    res = client_as("kolpino").get(f"/api/v1/ratings?level=mo&parent={other}&period=2026-Q2")
    assert res.status_code == 403
    mo = client_as("chair").get(f"/api/v1/ratings?level=mo&parent={other}&period=2026-Q2&kind=adult_polyclinic").get_json()
    assert mo["rows"] and all("integral" in r for r in mo["rows"])
    for bad, msg in (("level=ward", "level должен быть"), ("period=2026-Q9", "не распознан"), ("kind=zoo", "kind"),
                     ("parent=x&level=mo", "целым кодом")):
        res = client_as("chair").get(f"/api/v1/ratings?{bad}")
        assert res.status_code == 400 and msg in res.get_json()["error"]


def test_a_district_head_sees_the_districts_place_among_all(city_app, client_as):
    """Every district's place and integral score, the own row in full; nobody else's group scores."""
    from tests.test_security import router
    with city_app.app_context():
        full = R.compute("district", parse_period("2026-Q2"))
    own_id = city_app.places["kolpino"]["district_id"]
    own = full.units.set_index("unit_id").loc[own_id]
    text = router(client_as("kolpino"), "/rating", "?level=district&period=2026-Q2").get_data()
    total = int(full.units["place"].notna().sum())
    if own["place"] == own["place"]:
        assert f"место района — {int(own['place'])} из {total}" in text
    for name in full.units["unit_name"]:
        assert name in text  # all 18 districts are listed
    assert text.count("Почему это место?") == 1  # only the own row opens the explanation
    assert "rating-own-row" in text and "rating-method-details" in text


def test_every_rating_group_discriminates(city_app):
    """A group that gives every district the same score (as «Заболеваемость» did: 100,0 everywhere) ranks nothing."""
    with city_app.app_context():
        u = R.compute("district", parse_period("2026-Q2")).units
    groups = [c for c in u.columns if c.startswith("group_")]
    assert groups and "group_morbidity" not in groups
    for g in groups:
        assert u[g].dropna().nunique() > 1, f"{g} is the same for every district"
