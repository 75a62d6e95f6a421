"""Targets: overrides per district or organisation and period, the most specific wins, history kept."""
from __future__ import annotations

import datetime as dt

import pytest

from core.periods import parse_period
from metrics import evaluate as E
from metrics import targets as TG

CODE = "emk_coverage"


@pytest.fixture
def bare_app(city_copy, make_app):
    from tests.conftest import create_users
    a = make_app(city_copy, login_failure_delay=0)
    with a.app_context():
        a.places = create_users(city_copy)
    return a


@pytest.fixture
def app(bare_app):
    """With an application context, for tests of the data layer (not for HTTP requests)."""
    with bare_app.app_context():
        yield bare_app


def _save(level, unit, start, value, end=None, comment=""):
    ind = E.registry()[CODE]
    TG.save(ind, TG.Change(CODE, level, unit, start, end, value, comment), "tester")
    from flask import current_app
    current_app.extensions["iam"]["cache"].touch()


def test_most_specific_override_wins_by_period(app):
    ind = E.registry()[CODE]
    d = app.places["kolpino"]["district_id"]
    mo = app.places["glavvrach"]["mo_id"]
    oct_ = dt.date(2026, 6, 1)
    assert TG.resolve(ind, "mo", mo, oct_) == 95  # the registry's default
    _save("region", 0, dt.date(2026, 1, 1), 93)
    _save("district", d, dt.date(2026, 4, 1), 90, end=dt.date(2026, 6, 1))
    _save("mo", mo, dt.date(2026, 6, 1), 85)
    assert TG.resolve(ind, "district", d, dt.date(2026, 3, 1)) == 93  # before the district's own target
    assert TG.resolve(ind, "district", d, dt.date(2026, 5, 1)) == 90
    assert TG.resolve(ind, "district", d, dt.date(2026, 7, 1)) == 93  # after it ended
    assert TG.resolve(ind, "mo", mo, dt.date(2026, 5, 1)) == 90       # inherits its district's
    assert TG.resolve(ind, "mo", mo, dt.date(2026, 6, 1)) == 85       # its own
    assert TG.resolve(ind, "region", 0, dt.date(2025, 12, 1)) == 95
    doctors = E.children(E.Context(CODE, "doctor", parse_period("2026-06"), mo))
    assert (doctors["target"] == 85).all()  # doctors take their organisation's target
    districts = E.children(E.Context(CODE, "district", parse_period("2026-Q2")))
    t = districts.set_index("unit_id")["target"]
    assert t[d] == 90 and (t.drop(d) == 93).all()  # a quarter takes the target in force in its last month


def test_changes_are_kept_with_who_when_old_and_new(app):
    d = app.places["nevsky"]["district_id"]
    _save("district", d, dt.date(2026, 1, 1), 91, comment="Приказ № 1")
    _save("district", d, dt.date(2026, 1, 1), 92.5, comment="Приказ № 2")
    _save("district", d, dt.date(2026, 1, 1), None, comment="отмена")
    h = TG.history(CODE)
    h = h[h["unit_id"] == d].sort_values("history_id")
    assert list(h["old_value"].fillna(-1)) == [-1, 91, 92.5]
    assert list(h["new_value"].fillna(-1)) == [91, 92.5, -1]
    assert set(h["changed_by"]) == {"tester"} and list(h["comment"]) == ["Приказ № 1", "Приказ № 2", "отмена"]
    assert TG.resolve(E.registry()[CODE], "district", d, dt.date(2026, 3, 1)) == 95


@pytest.mark.parametrize("change,message", [
    (dict(level="district", unit=1, start=dt.date(2026, 1, 1), value=120), "больше 100"),
    (dict(level="district", unit=1, start=dt.date(2026, 1, 1), value=-1), "неотрицательное"),
    (dict(level="district", unit=1, start=dt.date(2026, 5, 1), value=90, end=dt.date(2026, 1, 1)), "раньше начала"),
    (dict(level="district", unit=999, start=dt.date(2026, 1, 1), value=90), "не найдена"),
    (dict(level="doctor", unit=1, start=dt.date(2026, 1, 1), value=90), "города, района или организации"),
])
def test_bad_target_changes_are_refused(app, change, message):
    with pytest.raises(TG.TargetError, match=message):
        _save(change["level"], change["unit"], change["start"], change["value"], end=change.get("end"))


def test_targets_api(bare_app):
    from tests.conftest import login
    app = bare_app
    d = app.places["kolpino"]["district_id"]
    with app.app_context():
        _save("district", d, dt.date(2026, 2, 1), 88)
    c = app.test_client()
    login(c, "analyst")
    body = c.get(f"/api/v1/targets?code={CODE}").get_json()["targets"][0]
    assert body["default"] == 95 and body["overrides"][0]["value"] == 88 and body["overrides"][0]["valid_from"] == "2026-02"
    assert c.get("/api/v1/targets?code=nope").status_code == 404
    rows = c.get(f"/api/v1/indicators/{CODE}?level=district&period=2026-06").get_json()["rows"]
    assert next(r for r in rows if r["unit_id"] == d)["target"] == 88


def test_the_emk_table_colours_by_the_target_of_the_period_shown(app):
    """A target in force from September does not judge June (it did: the table read the last month's targets)."""
    from components.tablespec import build
    from data_access.scope import CITY
    d = app.places["kolpino"]["district_id"]
    mo = app.places["glavvrach"]["mo_id"]
    _save("mo", mo, dt.date(2026, 9, 1), 50)
    june = build("emk-coverage", {"level": "district", "id": d, "period": "2026-06"}, CITY).records
    september = build("emk-coverage", {"level": "district", "id": d, "period": "2026-09"}, CITY).records
    assert next(r for r in june if r["child_id"] == mo)["target"] == 95
    assert next(r for r in september if r["child_id"] == mo)["target"] == 50
