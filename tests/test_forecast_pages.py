"""The forecast of target attainment on screen (issue 22), on the shared test city, both engines: the line on the KPI
cards that miss their target (filled after the page, by one callback: the page itself does not wait for the
models), the control task before its due date (on track by the due month?) and after it (reached?), and the API
``/api/v1/forecast/…`` with its refusals."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from components.kpi import sentence
from tests.conftest import csrf_header, login
from tests.test_dataquality_pages import client, find, render, text

LAST = dt.date(2026, 9, 1)  # the test city's last month


def _requests(tree) -> dict[str, dict]:
    """code → the forecast request of each card that has a forecast line."""
    out = {}

    def walk(x):
        if isinstance(x, dict):
            props = x.get("props")
            if isinstance(props, dict) and isinstance(props.get("id"), dict) \
                    and props["id"].get("type") == "kpi-forecast-request":
                out[props["id"]["code"]] = props["data"]
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(tree)
    return out


def _state(tree, page: str) -> dict:
    props = find(tree, {"type": "page-state", "page": page})
    assert props is not None
    return props["data"]


def fill(c, requests: dict[str, dict], page: str, state: dict) -> dict[str, str]:
    """Run the cards' forecast callback as the browser does after the page; code → the line's text."""
    deps = c.get("/_dash-dependencies").get_json()
    cb = next(d for d in deps if "kpi-forecast" in d["output"] and "request" not in d["output"])
    codes = list(requests)
    body = {"output": cb["output"],
            "outputs": [{"id": {"type": "kpi-forecast", "code": k}, "property": "children"} for k in codes],
            "inputs": [[{"id": {"type": "kpi-forecast-request", "code": k}, "property": "data", "value": requests[k]}
                        for k in codes]],
            "state": [[{"id": {"type": "page-state", "page": page}, "property": "data", "value": state}]],
            "changedPropIds": []}
    r = c.post("/_dash-update-component", json=body, headers=csrf_header(c))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    resp = r.get_json()["response"]
    out = {}
    for k in codes:
        key = json.dumps({"code": k, "type": "kpi-forecast"}, separators=(",", ":"))
        line = resp[key]["children"]
        out[k] = "" if line is None else text(line)
    return out


def _forecast(app, code, level, uid, as_of=LAST, until=None):
    from metrics import forecast as F
    with app.app_context():
        return F.forecast(code, level, uid, as_of, until)


def _statuses(app, level, uid, period_key):
    from core.periods import parse_period
    from metrics import evaluate as E
    with app.app_context():
        per = parse_period(period_key)
        return {i.code: E.unit_value(i.code, level, uid, per) for i in E.registry().key if i.valid_at(level)}


# ---------------------------------------------------------------- KPI cards
def test_the_forecast_line_on_the_cards_that_miss_their_target(city_app):
    chair = client(city_app, "chair")
    tree = render(chair, "/", {"period": "2026-Q3"})
    reqs = _requests(tree)
    values = _statuses(city_app, "region", None, "2026-Q3")
    missing = {c for c, v in values.items() if v["status"] in ("warn", "bad") and v["target"] is not None}
    assert set(reqs) == missing and missing, "a line on every card that misses its target, none on the others"
    lines = fill(chair, reqs, "home", _state(tree, "home"))
    for code, line in lines.items():
        f = _forecast(city_app, code, "region", None)
        assert f["text"] and sentence(f["text"]) in line and f["text"].startswith(sentence(f["text"])), (code, line)
        if f["reach"] == "no":
            assert "text-danger" in line
    # a district head's home: his district's forecasts (the cards name no unit: the page's state does)
    kolpino = city_app.places["kolpino"]["district_id"]
    head = client(city_app, "kolpino")
    tree = render(head, "/", {"period": "2026-Q3"})
    reqs = _requests(tree)
    assert reqs and all("level" not in r for r in reqs.values())
    code = next(iter(reqs))
    line = fill(head, {code: reqs[code]}, "home", _state(tree, "home"))[code]
    assert sentence(_forecast(city_app, code, "district", kolpino)["text"]) in line
    # a subject page's cards name their unit and period
    tree = render(head, "/emk", {"period": "2026-Q3"})
    for code, r in _requests(tree).items():
        assert r == {"code": code, "level": "district", "id": kolpino, "period": "2026-Q3"}


def test_a_forged_forecast_request_does_not_leak_another_unit(city_app):
    """The callback answers within the person's scope: another district's forecast is an empty line."""
    nevsky = city_app.places["nevsky"]["district_id"]
    head = client(city_app, "kolpino")
    tree = render(head, "/", {"period": "2026-Q3"})
    code = next(iter(_requests(tree)))
    forged = {code: {"code": code, "level": "district", "id": nevsky, "period": "2026-Q3"}}
    assert fill(head, forged, "home", _state(tree, "home"))[code] == ""


# ---------------------------------------------------------------- control tasks
def _task(app, due: dt.date, code="emk_coverage"):
    from data_access import tasks as T
    from security import users
    db = app.extensions["iam"]["db"]
    mo = app.places["glavvrach"]["mo_id"]
    with app.app_context():
        by = users.by_login(db, "kolpino")[0]
        return T.create(db, by, code=code, level="mo", unit_id=mo, period="2026-09", assignee="Заведующий",
                        due_date=due, description="Наладить передачу эпикризов", value=70.0, target=95.0,
                        data_link=f"/indicator/{code}?level=doctor&parent={mo}&period=2026-09",
                        today=min(due, dt.date.today()) - dt.timedelta(days=1))


def test_a_task_before_its_due_date_says_whether_it_is_on_track(app):
    from tests.test_security import router
    due = dt.date.today() + dt.timedelta(days=40)
    t = _task(app, due)
    c = app.test_client()
    login(c, "kolpino")
    page = router(c, f"/task/{t['task_id']}").get_data()
    f = _forecast(app, "emk_coverage", "mo", app.places["glavvrach"]["mo_id"], LAST, due.replace(day=1))
    assert f["reach"] in ("yes", "no", "uncertain")
    assert "task-forecast" in page and "task-outcome" not in page
    verdict = {"yes": "цель будет достигнута", "no": "цель не будет достигнута",
               "uncertain": "достижение цели не определено"}[f["reach"]]
    assert f"при текущей динамике {verdict}" in page
    # after the due date: whether the target was reached, no forecast
    done = _task(app, dt.date(2026, 8, 20))
    page = router(c, f"/task/{done['task_id']}").get_data()
    assert "task-outcome" in page and "task-forecast" not in page
    assert "Цель достигнута" in page or "Цель не достигнута" in page


# ---------------------------------------------------------------- the API
def test_forecast_api(city_app):
    kolpino, nevsky = city_app.places["kolpino"]["district_id"], city_app.places["nevsky"]["district_id"]
    chair = client(city_app, "chair")
    r = chair.get(f"/api/v1/forecast/emk_coverage?level=district&id={kolpino}")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    f = _forecast(city_app, "emk_coverage", "district", kolpino)
    assert body["text"] == f["text"] and body["value"] == pytest.approx(f["value"])
    assert body["low"] <= body["value"] <= body["high"] and body["until"] == "2026-12" and body["as_of"] == "2026-09"
    r = chair.get("/api/v1/forecast/emk_coverage?as_of=2026-06&until=2026-12")
    assert r.status_code == 200 and r.get_json()["level"] == "region"
    units = chair.get("/api/v1/forecast/emk_coverage/units?level=district").get_json()
    assert len(units["rows"]) == 18 and {"unit_id", "value", "low", "high", "reach", "text"} <= set(units["rows"][0])
    own = next(x for x in units["rows"] if x["unit_id"] == kolpino)
    assert own["text"] == f["text"]
    head = client(city_app, "kolpino")
    assert head.get(f"/api/v1/forecast/emk_coverage?level=district&id={nevsky}").status_code == 403
    assert head.get(f"/api/v1/forecast/emk_coverage/units?level=mo&parent={nevsky}").status_code == 403
    rows = head.get("/api/v1/forecast/emk_coverage/units?level=district").get_json()["rows"]
    assert [x["unit_id"] for x in rows] == [kolpino]
    for q, status, message in (("nope?level=region", 404, "не найден"), ("emk_coverage?level=ward", 400, "level"),
                               ("emk_coverage?level=district", 400, "id"), ("emk_coverage?as_of=2031-01", 400, "as_of"),
                               ("emk_coverage?as_of=2026-09&until=2026-03", 400, "until"),
                               ("emk_coverage?as_of=2026-Q3", 400, "месяц"), ("emk_coverage?x=1", 400, "Неизвестные"),
                               ("emk_coverage/units?level=doctor", 400, "организацию")):
        r = chair.get(f"/api/v1/forecast/{q}")
        assert r.status_code == status and message in r.get_json()["error"], (q, r.get_json())
