"""Users, roles and data scope; login, lockout, CSRF, API tokens, audit; the user CLI."""
from __future__ import annotations

import json
import os
import stat

import pytest
import sqlalchemy as sa

from data_access import schema
from data_access.app_schema import api_token, audit_log
from security import users
from tests.conftest import PASSWORD, csrf_header, login

PAGES = ["/", "/indicators", "/indicator/emk_coverage", "/data", "/admin/users", "/admin/audit", "/tokens"]


def district_id(app, name):
    with app.app_context():
        db = app.extensions["iam"]["db"]
        with db.engine.connect() as c:
            return c.execute(sa.select(schema.district.c.district_id).where(schema.district.c.name == name)).scalar()


def mos_of(app, district):
    with app.app_context():
        db = app.extensions["iam"]["db"]
        with db.engine.connect() as c:
            return c.execute(sa.select(schema.mo.c.mo_id, schema.mo.c.short_name).where(
                schema.mo.c.district_id == district, schema.mo.c.kind == "adult_polyclinic")).all()


def audit_rows(app, action=None):
    with app.app_context():
        db = app.extensions["iam"]["db"]
        q = sa.select(audit_log)
        if action:
            q = q.where(audit_log.c.action == action)
        return db.read_df(q)


# ---------------------------------------------------------------- anonymous requests
@pytest.mark.parametrize("path", PAGES)
def test_anonymous_pages_go_to_login(city_app, path):
    res = city_app.test_client().get(path)
    assert res.status_code == 302 and res.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path,method", [("/api/v1/meta", "GET"), ("/api/v1/indicators/emk_coverage", "GET"),
                                         ("/_dash-layout", "GET"), ("/_dash-dependencies", "GET"),
                                         ("/_dash-update-component", "POST"), ("/export/indicator.csv", "GET")])
def test_anonymous_data_endpoints_are_401(city_app, path, method):
    res = city_app.test_client().open(path, method=method, json={})
    assert res.status_code in (401, 302)
    if res.status_code == 401:
        assert "вход" in res.get_json()["error"]


def test_login_page_is_russian_and_static_assets_are_public(city_app):
    c = city_app.test_client()
    page = c.get("/login").get_data(as_text=True)
    assert "Логин" in page and "Пароль" in page and "Запомнить меня" in page and 'name="csrf_token"' in page
    assert 'id="remember" name="remember" value="1">' in page  # remember-me is off by default
    assert c.get("/assets/00_bootstrap.min.css").status_code == 200


# ---------------------------------------------------------------- sign-in
def test_login_sets_safe_cookies_and_logout_ends_the_session(city_app):
    c = city_app.test_client()
    res = login(c, "chair")
    assert res.status_code == 302 and res.headers["Location"] == "/"
    cookies = res.headers.getlist("Set-Cookie")
    session_cookie = next(x for x in cookies if x.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert not any(x.startswith("remember_token=") for x in cookies)  # remember-me off by default
    assert c.get("/").status_code == 200
    assert c.post("/logout").status_code == 403  # logout without the CSRF token is refused
    assert c.post("/logout", headers=csrf_header(c)).status_code == 302
    assert c.get("/").status_code == 302


def test_remember_me_when_asked(city_app):
    res = login(city_app.test_client(), "chair", remember=True)
    remember = [x for x in res.headers.getlist("Set-Cookie") if x.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0]


def test_login_form_requires_csrf(city_app):
    res = city_app.test_client().post("/login", data={"login": "chair", "password": PASSWORD})
    assert res.status_code == 400 and "CSRF" in res.get_json()["error"]


def test_open_redirect_is_not_followed(city_app):
    import re
    c = city_app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)
    res = c.post("/login", data={"csrf_token": token, "login": "chair", "password": PASSWORD, "next": "//evil.example"})
    assert res.headers["Location"] == "/"


def test_lockout_after_repeated_failures(city_app):
    with city_app.app_context():
        users.create(city_app.extensions["iam"]["db"], login="victim", full_name="Жертва", role="analyst",
                     password=PASSWORD)
    c = city_app.test_client()
    for _ in range(5):
        res = login(c, "victim", "wrong-password-1")
        assert res.status_code == 401 and "Неверный логин или пароль" in res.get_data(as_text=True)
    res = login(c, "victim", PASSWORD)  # even the right password is refused while locked
    assert res.status_code == 429 and "заблокирован" in res.get_data(as_text=True)
    fails = audit_rows(city_app, "login_failure")
    assert (fails["login"] == "victim").sum() == 5
    assert (audit_rows(city_app, "login_locked")["login"] == "victim").any()


def test_unknown_login_gets_the_same_answer(city_app):
    res = login(city_app.test_client(), "nobody-here", "whatever-123")
    assert res.status_code == 401 and "Неверный логин или пароль" in res.get_data(as_text=True)


@pytest.mark.parametrize("password,problem", [("short1", "не короче 10"), ("onlyletterslong", "буквы и цифры"),
                                              ("1234567890", "буквы и цифры"), ("chair12345x", "не содержать логин"),
                                              ("aaaaaa1111", "повторов")])
def test_password_policy(password, problem):
    assert any(problem in p for p in users.password_problems(password, "chair"))


def test_passwords_are_hashed_with_argon2(city_app):
    with city_app.app_context():
        db = city_app.extensions["iam"]["db"]
        user, stored = users.by_login(db, "chair")
    assert stored.startswith("$argon2") and PASSWORD not in stored


# ---------------------------------------------------------------- CSRF on Dash callbacks
def _router_payload(pathname, search):
    return {"output": ".._pages_content.children..._pages_store.data..",
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": pathname},
                       {"id": "_pages_location", "property": "search", "value": search}],
            "changedPropIds": ["_pages_location.pathname"], "state": []}


class Answer:
    """A Dash response with its JSON decoded back to readable Russian text."""

    def __init__(self, res):
        self.status_code = res.status_code
        data = res.get_json(silent=True)
        self.text = json.dumps(data, ensure_ascii=False) if data is not None else res.get_data(as_text=True)

    def get_data(self, as_text=True):
        return self.text


def router(client, pathname, search="", csrf=True):
    client.get("/_dash-dependencies")  # the router callback is registered on the first request
    return Answer(client.post("/_dash-update-component", json=_router_payload(pathname, search),
                              headers=csrf_header(client) if csrf else {}))


def test_dash_callbacks_need_the_csrf_header(client_as):
    c = client_as("chair")
    assert router(c, "/indicators", csrf=False).status_code == 403
    assert router(c, "/indicators").status_code == 200


# ---------------------------------------------------------------- scope, per role
def test_district_head_is_refused_another_district_everywhere(city_app, client_as):
    c = client_as("kolpino")
    own, other = district_id(city_app, "Колпинский"), district_id(city_app, "Невский")
    other_names = [n for _, n in mos_of(city_app, other)]
    # API
    res = c.get(f"/api/v1/indicators/emk_coverage?level=mo&parent={other}&period=2026-09")
    assert res.status_code == 403 and "вне вашей области" in res.get_json()["error"]
    other_mo = mos_of(city_app, other)[0][0]
    assert c.get(f"/api/v1/indicators/emk_coverage?level=doctor&parent={other_mo}").status_code == 403
    districts = c.get("/api/v1/indicators/emk_coverage?level=district&period=2026-09").get_json()["rows"]
    assert [r["unit_id"] for r in districts] == [own]  # the city context: only their own district
    region = c.get("/api/v1/indicators/emk_coverage?level=region&period=2026-09").get_json()["rows"]
    assert len(region) == 1  # the city's aggregate is visible to every role
    all_mos = c.get("/api/v1/indicators/emk_coverage?level=mo&period=2026-09").get_json()["rows"]
    own_ids = {m for m, _ in mos_of(city_app, own)}
    assert all_mos and own_ids & {r["unit_id"] for r in all_mos}
    assert not {r["unit_id"] for r in all_mos} & {m for m, _ in mos_of(city_app, other)}
    # a crafted call of the page router (what a URL or a hand-made POST would do)
    body = router(c, "/indicator/emk_coverage", f"?level=mo&parent={other}&period=2026-09").get_data(as_text=True)
    assert "вне вашей области доступа" in body
    assert not any(name in body for name in other_names)
    # export
    res = c.get(f"/export/indicator.csv?code=emk_coverage&level=mo&parent={other}&period=2026-09")
    assert res.status_code == 403
    # their own district works
    ok = router(c, "/indicator/emk_coverage", f"?level=mo&parent={own}&period=2026-09").get_data(as_text=True)
    assert any(name in ok for _, name in mos_of(city_app, own))
    assert (audit_rows(city_app, "forbidden")["login"] == "kolpino").sum() >= 3


def test_organisation_head_sees_only_their_organisation(city_app, client_as):
    c = client_as("glavvrach")
    mo = city_app.places["glavvrach"]["mo_id"]
    own = district_id(city_app, "Колпинский")
    rows = c.get(f"/api/v1/indicators/emk_coverage?level=mo&parent={own}&period=2026-09").get_json()["rows"]
    assert [r["unit_id"] for r in rows] == [mo]
    assert c.get(f"/api/v1/indicators/emk_coverage?level=doctor&parent={mo}&period=2026-09").status_code == 200
    neighbour = next(m for m, _ in mos_of(city_app, own) if m != mo)
    assert c.get(f"/api/v1/indicators/emk_coverage?level=doctor&parent={neighbour}").status_code == 403


def test_committee_sees_the_whole_city(city_app, client_as):
    c = client_as("chair")
    other = district_id(city_app, "Невский")
    assert len(c.get("/api/v1/indicators/emk_coverage?level=district").get_json()["rows"]) == 18
    assert c.get(f"/api/v1/indicators/emk_coverage?level=mo&parent={other}").status_code == 200


@pytest.mark.parametrize("user,path,allowed", [
    ("kolpino", "/data", False), ("analyst", "/data", True), ("chair", "/admin/users", False),
    ("admin", "/admin/users", True), ("admin", "/admin/audit", True), ("analyst", "/admin/audit", False),
    ("chair", "/tokens", False), ("analyst", "/tokens", True), ("glavvrach", "/indicators", True),
])
def test_pages_by_role(client_as, user, path, allowed):
    body = router(client_as(user), path).get_data(as_text=True)
    assert ("недоступна для вашей роли" not in body) == allowed


def test_menu_shows_only_what_the_role_may_open(client_as):
    layout = json.dumps(client_as("kolpino").get("/_dash-layout").get_json(), ensure_ascii=False)
    assert "Главная" in layout and "Пользователи" not in layout and "API-токены" not in layout
    admin_layout = json.dumps(client_as("admin").get("/_dash-layout").get_json(), ensure_ascii=False)
    assert "Пользователи" in admin_layout and "Журнал аудита" in admin_layout


# ---------------------------------------------------------------- tokens and audit
def test_api_token_create_use_revoke(city_app):
    from security import tokens
    with city_app.app_context():
        db = city_app.extensions["iam"]["db"]
        analyst = users.by_login(db, "analyst")[0]
        token = tokens.create(db, analyst, "BI")
        with db.engine.connect() as c:
            stored = c.execute(sa.select(api_token.c.token_hash, api_token.c.prefix).where(api_token.c.name == "BI")).one()
        assert token not in stored.token_hash and len(stored.token_hash) == 64
        with pytest.raises(users.UserError, match="аналитикам и администраторам"):
            tokens.create(db, users.by_login(db, "chair")[0], "x")
    client = city_app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/meta", headers=auth).status_code == 200
    assert client.get("/api/v1/meta", headers={"Authorization": "Bearer iam_forged"}).status_code == 401
    with city_app.app_context():
        tid = tokens.list_for(db, analyst).iloc[0]["token_id"]
        tokens.revoke(db, analyst, int(tid))
    assert client.get("/api/v1/meta", headers=auth).status_code == 401
    actions = set(audit_rows(city_app)["action"])
    assert {"token_create", "token_revoke"} <= actions


def test_exports_are_audited(city_app, client_as):
    c = client_as("analyst")
    res = c.get("/export/indicator.xlsx?code=emk_coverage&level=district&period=2026-09")
    assert res.status_code == 200 and res.data[:2] == b"PK"
    ex = audit_rows(city_app, "export")
    assert (ex["login"] == "analyst").any() and ex["object"].str.contains("emk_coverage").any()
    logins = audit_rows(city_app, "login_success")
    assert (logins["login"] == "analyst").any()


def test_admin_creates_a_user_through_the_page(client_as, city_app):
    c = client_as("admin")
    c.get("/_dash-dependencies")
    payload = {"output": "..users-message.children...users-table.data...user-password.value..",
               "outputs": [{"id": "users-message", "property": "children"}, {"id": "users-table", "property": "data"},
                           {"id": "user-password", "property": "value"}],
               "inputs": [{"id": "user-create", "property": "n_clicks", "value": 1}],
               "state": [{"id": "user-login", "property": "value", "value": "newhead"},
                         {"id": "user-name", "property": "value", "value": "Новый руководитель"},
                         {"id": "user-role", "property": "value", "value": "district"},
                         {"id": "user-district", "property": "value", "value": district_id(city_app, "Невский")},
                         {"id": "user-mo", "property": "value", "value": None},
                         {"id": "user-password", "property": "value", "value": "Nevsky-2026-head"}],
               "changedPropIds": ["user-create.n_clicks"]}
    res = Answer(c.post("/_dash-update-component", json=payload, headers=csrf_header(c)))
    assert res.status_code == 200 and "создан" in res.get_data(as_text=True)
    # the same call by a district head is refused and creates nobody
    k = client_as("kolpino")
    k.get("/_dash-dependencies")
    payload["state"][0]["value"] = "intruder"
    body = Answer(k.post("/_dash-update-component", json=payload, headers=csrf_header(k))).get_data()
    assert "только администратор" in body
    with city_app.app_context():
        db = city_app.extensions["iam"]["db"]
        assert users.by_login(db, "newhead") and users.by_login(db, "intruder") is None
    assert (audit_rows(city_app, "user_create")["object"] == "newhead").any()


# ---------------------------------------------------------------- CLI and demo users
def test_user_cli(empty_db, make_app):
    from data_access.setup import create_contract
    create_contract(empty_db)
    with empty_db.engine.begin() as c:
        c.execute(schema.district.insert().values(district_id=1, name="Альфа", okato=None))
    app = make_app(empty_db)
    r = app.test_cli_runner()
    res = r.invoke(args=["create-user", "--login", "boss", "--role", "district", "--district", "1"], input="Kontrol-2026-x\n")
    assert res.exit_code == 0 and "Создан пользователь boss" in res.output
    res = r.invoke(args=["create-user", "--login", "boss2", "--role", "district"], input="Kontrol-2026-x\n")
    assert res.exit_code == 1 and "укажите район" in res.output
    res = r.invoke(args=["create-user", "--login", "weak", "--role", "analyst"], input="123\n")
    assert res.exit_code == 1 and "не короче 10 символов" in res.output
    res = r.invoke(args=["create-user", "--login", "x", "--role", "king"], input="Kontrol-2026-x\n")
    assert res.exit_code != 0
    res = r.invoke(args=["set-password", "--login", "boss"], input="Another-pass-2\n")
    assert res.exit_code == 0
    with app.app_context():
        user, stored = users.by_login(empty_db, "boss")
        assert users.verify_password(stored, "Another-pass-2")
    res = r.invoke(args=["create-token", "--login", "boss"])
    assert res.exit_code == 1 and "аналитикам" in res.output
    r.invoke(args=["create-user", "--login", "ana", "--role", "analyst"], input="Kontrol-2026-y\n")
    res = r.invoke(args=["create-token", "--login", "ana", "--name", "BI"])
    assert res.exit_code == 0 and res.output.strip().startswith("iam_")


def test_demo_users_are_created_once_with_a_private_file(city_copy, make_app, capsys):
    app = make_app(city_copy)
    made = users.ensure_demo_users(app)
    assert {m[0] for m in made} == {"admin", "chair", "kolpino", "glavvrach", "analyst", "kadry", "kadry_kz"}
    path = app.extensions["iam"]["config"].instance_dir / "demo-users.txt"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert all(pw in text for _, _, pw in made)
    assert users.ensure_demo_users(app) is None  # never again once users exist
    assert "kolpino" in capsys.readouterr().out


def test_an_unknown_address_gets_a_russian_page_with_a_way_back(client_as):
    c = client_as("kolpino")
    res = router(c, "/no-such-page", "?x=1")
    assert res.status_code == 200
    text = res.get_data()
    assert "Страница не найдена" in text and '"href": "/"' in text and "404 - Page not found" not in text


def test_the_registry_page_counts_in_russian_without_code_paths(client_as, city_app):
    from core import fmt
    from metrics import evaluate as E
    with city_app.app_context():
        n = len(E.registry().indicators)
    text = router(client_as("analyst"), "/indicators").get_data()
    assert f"{n} {fmt.plural(n, 'показатель', 'показателя', 'показателей')} в " in text
    assert ".toml" not in text and "metrics/" not in text
