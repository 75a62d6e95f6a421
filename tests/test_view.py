"""The view model of the ranking pages (ListView) and the shared drill of tables and charts."""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

from components.view import VIEWS, ListView, Problem, child_url, clicked_unit
from data_access import units as U
from data_access.scope import Scope, ScopeError

SPAN = (dt.date(2025, 10, 1), dt.date(2026, 9, 30))
LIST = ListView(page="test-list", path="/test-list", prefix="tl")


def scopes(app):
    p = app.places
    return {"chair": Scope(),
            "kolpino": Scope(districts=frozenset({p["kolpino"]["district_id"]})),
            "glavvrach": Scope(districts=frozenset({p["glavvrach"]["district_id"]}),
                               mos=frozenset({p["glavvrach"]["mo_id"]}))}


@pytest.mark.parametrize("login, level, parent_key", [
    ("chair", "district", None), ("kolpino", "mo", "district_id"), ("glavvrach", "doctor", "mo_id")])
def test_a_ranking_page_opens_on_the_children_of_the_persons_own_unit(city_app, login, level, parent_key):
    with city_app.app_context():
        st = LIST.parse({}, scopes(city_app)[login], SPAN)
        assert st.level == level
        assert st.parent_id == (city_app.places[login][parent_key] if parent_key else None)
        assert st.period.key == "2026-09"  # the latest month by default
        assert st.child == U.CHILD_LEVEL[level]
        # the breadcrumbs run from the city to the parent; every crumb but the last lists that unit's children
        crumbs = st.crumbs()
        assert crumbs[0][0] == U.CITY_NAME and crumbs[-1][1] is None
        assert [c[1] for c in crumbs[:-1]] == [st.url(U.CHILD_LEVEL[u.level], None if u.level == "region" else u.id)
                                               for u in U.lineage(st.parent)[:-1]]


def test_a_ranking_page_refuses_bad_parameters_in_russian(city_app):
    with city_app.app_context():
        kolp = city_app.places["kolpino"]["district_id"]
        other = int(next(d for d in U.districts()["district_id"] if d != kolp))
        s = scopes(city_app)
        cases = [({"level": "planet"}, "неизвестен"),
                 ({"level": "mo", "parent": "abc"}, "должен быть числом"),
                 ({"level": "mo", "parent": "999999"}, "не найдена"),
                 ({"period": "2031-01"}, "данных нет"),
                 ({"period": "январь"}, "не распознан")]
        for params, text in cases:
            with pytest.raises(Problem, match=text):
                LIST.parse(params, s["chair"], SPAN)
        with pytest.raises(Problem, match="здесь не показывается"):
            LIST.parse({"level": "doctor"}, s["chair"], SPAN, levels=("district", "mo"))
        with pytest.raises(Problem, match="Витрины"):
            LIST.parse({}, s["chair"], None)
        with pytest.raises(ScopeError):
            LIST.parse({"level": "mo", "parent": other}, s["kolpino"], SPAN)
        assert LIST.parse({"level": "mo", "parent": kolp}, s["kolpino"], SPAN).parent.id == kolp
        # every organisation of the city: no parent, a district column on the page
        assert LIST.parse({"level": "mo"}, s["chair"], SPAN).whole_city


def test_one_drill_for_tables_and_charts_of_every_page(city_app):
    with city_app.app_context():
        kolp = city_app.places["kolpino"]["district_id"]
        st = LIST.parse({"level": "mo", "parent": kolp, "period": "2026-Q2"}, Scope(), SPAN)
    store = st.store().data
    assert child_url({**store, "page": "test-list"}, 42) == "/test-list?level=doctor&parent=42&period=2026-Q2"
    assert child_url({**store, "page": "test-list", "child": None}, 42) is None  # the finest level
    assert child_url({**store, "page": "no-such-page"}, 42) is None
    # a unit page: the child unit by its id (an organisation's specialty keeps its organisation)
    access = VIEWS["access"]
    unit_store = {"page": "access", "path": "/access", "child": "spec",
                  "query": {"level": "mo", "id": 7, "period": "2026-09", "date": "2026-09-30"}}
    got = parse_qs(urlsplit(child_url(unit_store, 3)).query)
    assert got == {"level": ["spec"], "id": ["3"], "mo": ["7"], "period": ["2026-09"], "date": ["2026-09-30"]}
    assert child_url(unit_store, 3).startswith(access.path + "?")
    # a chart point carries the unit's id in customdata (a number or a one-item list)
    assert clicked_unit({"points": [{"customdata": 17}]}) == 17
    assert clicked_unit({"points": [{"customdata": [18, "x"]}]}) == 18
    assert clicked_unit({"points": [{"customdata": "x"}]}) is None
    assert clicked_unit({"points": []}) is None and clicked_unit(None) is None
