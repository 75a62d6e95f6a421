"""Replays of the attack audit (issue 16): each reproduction gets the safe answer."""
from __future__ import annotations

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
