"""The read API: the same numbers as the computation, JSON errors for every bad input."""
from __future__ import annotations

import csv
import io

import dash
import pytest

from core.periods import parse_period
from metrics.evaluate import Context, children, registry


def test_meta_and_registry(client_as):
    c = client_as("analyst")
    meta = c.get("/api/v1/meta").get_json()
    assert meta["periods"] == {"first": "2025-07", "last": "2026-09"}
    assert meta["levels"] == ["region", "district", "mo", "doctor"]
    inds = c.get("/api/v1/indicators").get_json()["indicators"]
    assert len(inds) == len(registry().indicators) >= 16
    one = next(i for i in inds if i["code"] == "emk_coverage")
    assert one["numerator"]["mart"] == "mart_emd_coverage" and one["direction"] == "up" and one["factor"] == 100
    assert "Доля случаев" in one["name"] and one["group_name"] == "Передача данных в ЭМК"


def test_values_equal_the_computation(city_app, client_as):
    c = client_as("chair")
    body = c.get("/api/v1/indicators/emk_coverage?level=district&period=2026-Q2").get_json()
    assert body["period"] == {"key": "2026-Q2", "label": "2 квартал 2026", "first": "2026-04", "last": "2026-06",
                              "partial": False}
    assert body["previous_period"] == "2026-Q1" and body["last_year_period"] == "2025-Q2"
    rows = {r["unit_id"]: r for r in body["rows"]}
    assert len(rows) == 18
    with city_app.app_context():
        expected = children(Context("emk_coverage", "district", parse_period("2026-Q2")))
    for r in expected.itertuples():
        got = rows[r.unit_id]
        assert got["unit_name"] == r.unit_name and got["numerator"] == r.numerator
        assert got["value"] == pytest.approx(r.value) and got["target"] == 95
        assert set(got) == {"unit_id", "unit_name", "numerator", "denominator", "value", "target", "previous_value",
                            "last_year_value", "status"}


def test_drill_down_and_csv(client_as):
    c = client_as("chair")
    districts = c.get("/api/v1/indicators/access_primary_24h?level=district&period=2026-09").get_json()["rows"]
    d = districts[0]["unit_id"]
    mos = c.get(f"/api/v1/indicators/access_primary_24h?level=mo&parent={d}&period=2026-09").get_json()["rows"]
    assert mos and sum(r["numerator"] for r in mos) == districts[0]["numerator"]
    mo = max(mos, key=lambda r: r["denominator"])["unit_id"]
    docs = c.get(f"/api/v1/indicators/access_primary_24h?level=doctor&parent={mo}&period=2026-09").get_json()["rows"]
    assert docs and sum(r["numerator"] for r in docs) == max(mos, key=lambda r: r["denominator"])["numerator"]
    res = c.get(f"/api/v1/indicators/access_primary_24h?level=mo&parent={d}&period=2026-09&format=csv")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))
    assert [int(r["unit_id"]) for r in table] == [r["unit_id"] for r in mos]
    assert float(table[0]["value"]) == pytest.approx(mos[0]["value"])


@pytest.mark.parametrize("url,status,message", [
    ("/api/v1/indicators/nope", 404, "не найден"),
    ("/api/v1/indicators/emk_coverage?level=planet", 400, "level должен быть"),
    ("/api/v1/indicators/emk_coverage?period=2026-13", 400, "не распознан"),
    ("/api/v1/indicators/emk_coverage?period=2001-01", 404, "данных нет"),
    ("/api/v1/indicators/emk_coverage?level=mo&parent=abc", 400, "целым кодом"),
    ("/api/v1/indicators/emk_coverage?level=mo&parent=-5", 400, "отрицательным"),
    ("/api/v1/indicators/emk_coverage?level=mo&parent=99999", 404, "не найдена"),
    ("/api/v1/indicators/emk_coverage?level=doctor", 400, "укажите организацию"),
    ("/api/v1/indicators/morb_new_100k?level=doctor&parent=1", 400, "не считается на уровне"),
    ("/api/v1/indicators/emk_coverage?format=pdf", 400, "format"),
    ("/api/v1/indicators/emk_coverage?colour=red", 400, "Неизвестные параметры"),
    ("/api/v1/nothing-here", 404, "Не найдено"),
])
def test_bad_requests_get_json_errors(client_as, url, status, message):
    res = client_as("analyst").get(url)
    assert res.status_code == status
    body = res.get_json()
    assert body["status"] == status and message in body["error"]


def test_unauthenticated_api_is_401(city_app):
    res = city_app.test_client().get("/api/v1/meta")
    assert res.status_code == 401 and "вход" in res.get_json()["error"]


@pytest.mark.parametrize("url", [
    "/api/v1/ratings?level=mo&period=2026-09&parent={district}&kind=maternity",  # no unit of that kind there
    "/api/v1/morbidity/places?level=mo&id={mo}&period=2026-09&sex=M&age=0-0",     # nobody of that age and sex
])
def test_empty_answers_are_answers_not_errors(client_as, city_app, url):
    places = city_app.places["glavvrach"]
    res = client_as("chair").get(url.format(district=places["district_id"], mo=places["mo_id"]))
    assert res.status_code == 200, res.get_json()
    assert isinstance(res.get_json()["rows"], list)


def test_a_year_that_starts_before_the_data_says_which_months_it_covers(client_as):
    """The test city begins in July 2025: «2025» covers July–December, and says it is partial."""
    body = client_as("chair").get("/api/v1/indicators/emk_coverage?period=2025").get_json()
    assert body["period"]["first"] == "2025-07" and body["period"]["last"] == "2025-12"
    assert body["period"]["partial"] is True


def test_organisations_default_to_the_kinds_the_indicator_is_meant_for(client_as, city_app):
    """At the organisations' level a list shows the kinds its indicator is meant for (declared ``mo_kinds``); every
    kind on request; the export lists what the API (and the page) list; an unknown kind is a JSON error."""
    from data_access import units as U
    from metrics import evaluate as E
    c = client_as("chair")
    with city_app.app_context():
        kind = U.organisations().set_index("short_name")["kind"]
        declared = [i for i in E.registry() if i.mo_kinds and i.valid_at("mo")]
    assert {"mat_registered_12w", "reg_dm_controlled", "prev_dtp3_coverage"} <= {i.code for i in declared}
    widened = 0
    for ind in declared:
        base = f"/api/v1/indicators/{ind.code}?level=mo&period=2026-Q2"
        own = c.get(base).get_json()["rows"]
        every = c.get(base + "&kind=all").get_json()["rows"]
        assert {kind[r["unit_name"]] for r in own} <= set(ind.mo_kinds), ind.code
        assert {r["unit_name"] for r in own} <= {r["unit_name"] for r in every}
        widened += len(every) > len(own)
        csv_rows = c.get(f"/export/indicator.csv?code={ind.code}&level=mo&period=2026-Q2").get_data(as_text=True)
        assert len(csv_rows.strip().splitlines()) - 1 == len(own), ind.code  # the export lists the same units
    assert widened, "some indicator should have data in organisations of other kinds too"
    res = c.get("/api/v1/indicators/mat_registered_12w?level=mo&period=2026-Q2&kind=zoo")
    assert res.status_code == 400 and "zoo" in res.get_json()["error"]


def test_the_kind_picker_writes_the_kind_into_the_address(city_app):
    from pages.indicator import change_kind  # the app has imported the pages
    state = {"path": "/indicator/mat_registered_12w", "query": {"level": "mo", "parent": 5, "period": "2026-Q2",
                                                                "kind": None}}
    assert change_kind("all", state) == "/indicator/mat_registered_12w?level=mo&parent=5&period=2026-Q2&kind=all"
    back = {**state, "query": {**state["query"], "kind": "all"}}
    assert change_kind("", back) == "/indicator/mat_registered_12w?level=mo&parent=5&period=2026-Q2"
    assert change_kind("", state) is dash.no_update and change_kind("all", {**state, "query": {"level": "district"}}) \
        is dash.no_update
