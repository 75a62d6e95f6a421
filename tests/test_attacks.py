"""Replays of the attack audit (issue 16): each reproduction gets the safe answer."""
from __future__ import annotations

import json
import statistics
import time
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest

from tests.conftest import PASSWORD, csrf_header, login


def _form_token(client) -> str:
    import re
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# ---------------------------------------------------------------- open redirect
@pytest.mark.parametrize("target,expected", [
    ("/%09/evil.example", "/"),            # a tab the browser drops: //evil.example
    ("/%0d%0a/x", "/"),                     # a header injection attempt
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),              # a backslash browsers read as a slash
    ("https://evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("/emk?level=district&id=3&period=2026-09", "/emk?level=district&id=3&period=2026-09"),
])
def test_after_sign_in_only_same_site_paths(city_app, target, expected):
    c = city_app.test_client()
    res = c.post("/login", data={"csrf_token": _form_token(c), "login": "chair", "password": PASSWORD,
                                 "next": target.replace("%09", "\t").replace("%0d%0a", "\r\n")})
    assert res.status_code == 302 and res.headers["Location"] == expected
    again = c.get("/login?" + urlencode({"next": unquote(target)}))  # signed in already: the same rule
    assert again.status_code == 302 and again.headers["Location"] == expected


def test_a_shared_link_survives_the_sign_in(city_app):
    c = city_app.test_client()
    link = f"/indicator/emk_coverage?level=doctor&parent={city_app.places['glavvrach']['mo_id']}&period=2026-09"
    res = c.get(link)
    assert res.status_code == 302
    nxt = parse_qs(urlsplit(res.headers["Location"]).query)["next"][0]
    assert nxt == link  # encoded as a whole: «parent» and «period» are not lost
    res = c.post("/login", data={"csrf_token": _form_token(c), "login": "chair", "password": PASSWORD, "next": nxt})
    assert res.headers["Location"] == link


# ---------------------------------------------------------------- sessions that end
def _copy_session(city_app, client):
    thief = city_app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_copied_session_cookie_dies_at_logout(city_app):
    c = city_app.test_client()
    login(c, "analyst")
    thief = _copy_session(city_app, c)
    assert thief.get("/api/v1/meta").status_code == 200
    res = c.post("/logout", data={"csrf_token": _session_csrf(c)})
    assert res.status_code == 302
    assert thief.get("/api/v1/meta").status_code == 401


def _session_csrf(client) -> str:
    client.get("/api/v1/meta")  # any page or call of a signed-in person sets the CSRF cookie
    return csrf_header(client)["X-CSRFToken"]


def test_a_password_change_ends_every_session(city_copy, make_app):
    from security import users
    from tests.conftest import create_users
    app = make_app(city_copy, login_failure_delay=0)
    with app.app_context():
        create_users(city_copy)
    c = app.test_client()
    login(c, "analyst", remember=True)
    remember = c.get_cookie("remember_token").value
    thief = _copy_session(app, c)
    users.set_password(city_copy, "analyst", "Novyi-parol-2026", by="test")
    assert c.get("/api/v1/meta").status_code == 401
    assert thief.get("/api/v1/meta").status_code == 401
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)  # the remember-me cookie names the old password
    assert fresh.get("/api/v1/meta").status_code == 401


def test_another_browser_cannot_use_the_session(city_app):
    c = city_app.test_client()
    login(c, "analyst")
    thief = _copy_session(city_app, c)
    assert thief.get("/api/v1/meta", headers={"User-Agent": "Other/1.0"}).status_code == 401


def test_logout_deletes_the_remember_me_cookie(city_app):
    c = city_app.test_client()
    login(c, "analyst", remember=True)
    assert c.get_cookie("remember_token") is not None
    res = c.post("/logout", data={"csrf_token": _session_csrf(c)})
    assert any(h.startswith("remember_token=;") for h in res.headers.getlist("Set-Cookie"))
    assert c.get_cookie("remember_token") is None
    assert c.get("/api/v1/meta").status_code == 401


def test_remember_me_signs_in_again_with_a_new_server_session(city_app):
    c = city_app.test_client()
    login(c, "analyst", remember=True)
    remember = c.get_cookie("remember_token").value
    later = city_app.test_client()  # the browser was closed: only the remember-me cookie is left
    later.set_cookie("remember_token", remember)
    assert later.get("/api/v1/meta").status_code == 200
    assert later.get("/api/v1/meta").status_code == 200


# ---------------------------------------------------------------- no login enumeration by timing
def test_unknown_and_known_logins_take_the_same_time(city_copy, make_app):
    from tests.conftest import create_users
    app = make_app(city_copy, login_failure_delay=0, login_max_failures=1000)  # no lockout in the way
    with app.app_context():
        create_users(city_copy)

    def attempt(name: str) -> float:
        c = app.test_client()
        token = _form_token(c)
        t = time.perf_counter()
        res = c.post("/login", data={"csrf_token": token, "login": name, "password": "Wrong-password-1"})
        elapsed = time.perf_counter() - t
        assert res.status_code == 401
        return elapsed
    known, unknown = [], []
    for i in range(7):  # alternating, so that a busy moment of the machine hits both
        known.append(attempt("chair"))
        unknown.append(attempt(f"nobody-{i}"))
    k, u = statistics.median(known), statistics.median(unknown)
    assert abs(k - u) <= 0.25 * max(k, u), (k, u)


# ---------------------------------------------------------------- hostile input: answers, never 500
@pytest.fixture
def world(city_copy, make_app):
    """A private app (its writes do not touch the shared city) with the test users signed in on demand."""
    from tests.conftest import create_users
    app = make_app(city_copy, login_failure_delay=0)
    with app.app_context():
        app.places = create_users(city_copy)

    def client(name: str):
        c = app.test_client()
        assert login(c, name).status_code == 302
        c.get("/api/v1/meta")  # the CSRF cookie
        return c
    app.client = client
    return app


def _new_task(c, mo_id: int) -> dict:
    body = {"code": "emk_coverage", "level": "mo", "unit_id": mo_id, "period": "2026-09", "assignee": "Иванов И. И.",
            "due_date": "2099-01-31", "description": "Проверить передачу СЭМД"}
    res = c.post("/api/v1/tasks", json=body, headers=csrf_header(c))
    assert res.status_code == 201, res.get_json()
    return res.get_json()


HOSTILE = ["", None, [], {}, 10 ** 30, -1, float("inf"), "९", "\x00\r\n", "a" * 200_000, True, 1.5]


@pytest.mark.parametrize("field", ["code", "level", "unit_id", "period", "assignee", "due_date", "description", "mo_id"])
def test_task_creation_with_hostile_values_is_refused_cleanly(world, field):
    c = world.client("chair")
    mo = world.places["glavvrach"]["mo_id"]
    base = {"code": "emk_coverage", "level": "mo", "unit_id": mo, "period": "2026-09", "assignee": "Иванов",
            "due_date": "2099-01-31", "description": "Проверить"}
    for value in HOSTILE:
        rest = {k: v for k, v in base.items() if k != field}
        # Python's json writes infinity as «Infinity», as a careless client would
        raw = json.dumps(rest)[:-1] + f', "{field}": ' + json.dumps(value) + "}"
        res = c.post("/api/v1/tasks", data=raw, content_type="application/json", headers=csrf_header(c))
        assert res.status_code in (201, 400, 404), (field, value, res.status_code)
        assert res.status_code == 201 or "error" in res.get_json()


@pytest.mark.parametrize("field", ["status", "assignee", "description", "due_date", "mo_id", "version", "comment"])
def test_task_changes_with_hostile_values_are_refused_cleanly(world, field):
    c = world.client("chair")
    t = _new_task(c, world.places["glavvrach"]["mo_id"])
    for value in HOSTILE:
        body = {"version": t["version"], field: value}
        res = c.patch(f"/api/v1/tasks/{t['task_id']}", json=body, headers=csrf_header(c))
        assert res.status_code in (200, 400, 409), (field, value, res.status_code, res.get_data(as_text=True)[:200])
    long = c.patch(f"/api/v1/tasks/{t['task_id']}", json={"version": t["version"], "description": "x" * 4001},
                   headers=csrf_header(c))
    assert long.status_code == 400 and "4000" in long.get_json()["error"]


def test_deeply_nested_json_is_a_400(world):
    c = world.client("chair")
    res = c.post("/api/v1/tasks", data="[" * 100_000 + "]" * 100_000, content_type="application/json",
                 headers=csrf_header(c))
    assert res.status_code in (400, 413) and res.is_json


def test_a_role_that_may_not_set_tasks_gets_403(world):
    res = world.client("analyst").post("/api/v1/tasks", json={
        "code": "emk_coverage", "level": "mo", "unit_id": world.places["glavvrach"]["mo_id"], "period": "2026-09",
        "assignee": "Иванов", "due_date": "2099-01-31", "description": "x"}, headers=csrf_header(world.client("analyst")))
    assert res.status_code in (401, 403)


def test_a_stale_version_is_409_before_anything_else(world):
    c = world.client("chair")
    t = _new_task(c, world.places["glavvrach"]["mo_id"])
    ok = c.patch(f"/api/v1/tasks/{t['task_id']}", json={"version": t["version"], "assignee": "Петров"},
                 headers=csrf_header(c))
    assert ok.status_code == 200
    stale = c.patch(f"/api/v1/tasks/{t['task_id']}", json={"version": t["version"], "status": "done"},
                    headers=csrf_header(c))  # «done» is not reachable from «new» either: the version speaks first
    assert stale.status_code == 409


def test_icd_filters_in_other_scripts_are_refused_at_once(world):
    c = world.client("chair")
    t = time.perf_counter()
    res = c.get("/export/table/morb-tree.csv?level=region&period=2026-09&icd=%E0%A5%AF")
    assert res.status_code == 400 and time.perf_counter() - t < 5


@pytest.mark.parametrize("parent", ["9999", "0", "-1", "99999999999999999999", "abc"])
def test_the_rating_page_with_a_unit_that_does_not_exist(world, parent):
    import dash
    from flask import g

    from security import users
    with world.test_request_context("/"):
        g.iam_user = users.by_login(world.extensions["iam"]["db"], "chair")[0]
        tree = dash.page_registry["pages.rating"]["layout"](level="mo", parent=parent)
    assert "rating-problem" in str(tree)


# ---------------------------------------------------------------- concurrency: no 500, one winner
def _parallel(fn, n: int) -> list:
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: fn(), range(n)))


def test_parallel_calls_with_one_token_all_succeed(world):
    from security import tokens, users
    with world.app_context():
        db = world.extensions["iam"]["db"]
        token = tokens.create(db, users.by_login(db, "analyst")[0], "load")
    statuses = _parallel(lambda: world.test_client().get(
        "/api/v1/meta", headers={"Authorization": f"Bearer {token}"}).status_code, 10)
    assert statuses == [200] * 10


def test_parallel_sign_ins_of_one_user_all_succeed(world):
    statuses = _parallel(lambda: login(world.test_client(), "chair").status_code, 8)
    assert statuses == [302] * 8


def test_concurrent_changes_of_one_task_give_one_winner(world):
    c = world.client("chair")
    t = _new_task(c, world.places["glavvrach"]["mo_id"])
    clients = [world.client("chair") for _ in range(6)]
    it = iter(clients)

    def change():
        cl = next(it)
        return cl.patch(f"/api/v1/tasks/{t['task_id']}", json={"version": t["version"], "assignee": f"Исполнитель {id(cl)}"},
                        headers=csrf_header(cl)).status_code
    statuses = _parallel(change, 6)
    assert sorted(statuses) == [200] + [409] * 5, statuses


def test_concurrent_saves_of_one_target_leave_one_override(world):
    import datetime as dt

    from metrics import evaluate as E
    from metrics import targets as TG
    d = world.places["kolpino"]["district_id"]

    def save():
        with world.app_context():
            try:
                TG.save(E.registry()["emk_coverage"], TG.Change("emk_coverage", "district", d, dt.date(2026, 1, 1), None,
                                                                 96.0, ""), "tester")
                return "ok"
            except TG.TargetError:
                return "refused"
    results = _parallel(save, 6)
    assert "ok" in results
    with world.app_context():
        ov = TG.overrides("emk_coverage")
    assert len(ov[(ov["level"] == "district") & (ov["unit_id"] == d)]) == 1


# ---------------------------------------------------------------- scope and audit gaps
def test_targets_api_shows_a_district_head_only_his_overrides(world):
    import datetime as dt

    from metrics import evaluate as E
    from metrics import targets as TG
    own, other = world.places["kolpino"]["district_id"], world.places["nevsky"]["district_id"]
    with world.app_context():
        for d in (own, other):
            TG.save(E.registry()["emk_coverage"], TG.Change("emk_coverage", "district", d, dt.date(2026, 1, 1), None,
                                                             97.0, ""), "tester")
    body = world.client("kolpino").get("/api/v1/targets?code=emk_coverage").get_json()
    assert {o["unit_id"] for o in body["targets"][0]["overrides"]} == {own}
    body = world.client("chair").get("/api/v1/targets?code=emk_coverage").get_json()
    assert {o["unit_id"] for o in body["targets"][0]["overrides"]} >= {own, other}


def test_a_refusal_is_audited_with_the_unit_asked_for(world):
    other = world.places["nevsky"]["district_id"]
    res = world.client("kolpino").get(f"/api/v1/indicators/emk_coverage?level=mo&parent={other}&period=2026-09")
    assert res.status_code == 403
    from security import audit
    with world.app_context():
        rows = audit.search(world.extensions["iam"]["db"], action="forbidden")
    assert any(f"district:{other}" in str(d) for d in rows["details"])


def test_forwarded_for_is_not_believed_without_a_trusted_proxy(world):
    c = world.test_client()
    c.post("/login", data={"csrf_token": _form_token(c), "login": "chair", "password": PASSWORD},
           headers={"X-Forwarded-For": "203.0.113.9"})
    from security import audit
    with world.app_context():
        rows = audit.search(world.extensions["iam"]["db"])
    assert len(rows) and "203.0.113.9" not in set(rows["ip"])


FUZZ = ["९", "\x00", "-1", "99999999999999999999", "Ω" * 3000]


def test_no_500_on_hostile_query_parameters(world):
    """Every subject table of the API and its export, every indicator and rating call, with hostile values."""
    from urllib.parse import quote

    from api.tables import SUBJECTS
    c = world.client("kolpino")
    calls = []
    for subject, (parts, accepted) in SUBJECTS.items():
        for part, builder in parts.items():
            for p in sorted(accepted):
                for v in FUZZ:
                    calls.append(f"/api/v1/{subject}/{part}?{p}={quote(v)}")
                calls.append(f"/export/table/{builder}.csv?{p}={quote(FUZZ[0])}")
    for p in ("level", "period", "parent", "format"):
        calls += [f"/api/v1/indicators/emk_coverage?{p}={quote(v)}" for v in FUZZ]
        calls += [f"/export/indicator.csv?code=emk_coverage&{p}={quote(v)}" for v in FUZZ]
    for p in ("level", "period", "parent", "kind"):
        calls += [f"/api/v1/ratings?{p}={quote(v)}" for v in FUZZ]
    for p in ("district", "mo", "code", "status", "overdue"):
        calls += [f"/api/v1/tasks?{p}={quote(v)}" for v in FUZZ]
    calls += [f"/api/v1/targets?code={quote(v)}" for v in FUZZ] + [f"/api/v1/indicators/{quote(v)}" for v in FUZZ]
    errors = [(url, r.status_code) for url in calls if (r := c.get(url)).status_code >= 500]
    assert not errors, errors[:10]


def test_a_login_with_control_characters_is_just_wrong(world):
    c = world.test_client()
    res = c.post("/login", data={"csrf_token": _form_token(c), "login": "chair\x00", "password": "x"})
    assert res.status_code == 401


# ---------------------------------------------------------------- the lockout holds against a parallel burst
def test_a_parallel_burst_of_guesses_meets_the_lockout(world):
    max_failures = 5  # the default LOGIN_MAX_FAILURES
    it = iter(["Wrong-guess-%02d" % i for i in range(20)])
    lock = __import__("threading").Lock()

    def guess():
        c = world.test_client()
        token = _form_token(c)
        with lock:
            password = next(it)
        return c.post("/login", data={"csrf_token": token, "login": "kolpino", "password": password}).status_code
    statuses = _parallel(guess, 20)
    assert statuses.count(401) == max_failures and statuses.count(429) == 20 - max_failures, statuses
    c = world.test_client()  # the right password waits for the lockout too
    assert c.post("/login", data={"csrf_token": _form_token(c), "login": "kolpino", "password": PASSWORD}).status_code == 429
