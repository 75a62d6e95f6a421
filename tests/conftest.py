"""Fixtures: a generated city per database back end, fresh databases per test, app instances.

PostgreSQL tests run against a real server (``TEST_PG_URL``, default the local one). They skip
when it is unreachable, unless ``IAM_REQUIRE_POSTGRES=1`` (CI), where they fail.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from config import Config
from data_access.db import Database

PG_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("IAM_REQUIRE_POSTGRES") == "1"
BACKENDS = ["duckdb", "postgresql"]

# The generated city every read-only test shares: small, but with 15 months so that a month
# has its same month of the previous year.
CITY = dict(scale=0.004, seed=11, months=15, end_month=dt.date(2026, 9, 1))


def _pg_admin() -> sa.Engine:
    return sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_available() -> bool:
    try:
        with _pg_admin().connect() as c:
            c.execute(sa.text("select 1"))
        return True
    except Exception as exc:  # pragma: no cover - depends on the machine
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (IAM_REQUIRE_POSTGRES=1) but unreachable at {PG_URL}: {exc}")
        return False


class DbFactory:
    """Creates and drops databases of one back end for the test session."""

    def __init__(self, backend: str, tmp: Path):
        self.backend, self.tmp, self.created = backend, tmp, []

    def url(self, name: str) -> str:
        if self.backend == "duckdb":
            return f"duckdb:///{self.tmp / (name + '.duckdb')}"
        return sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    def new(self, template: str | None = None) -> str:
        name = f"iam_t_{uuid.uuid4().hex[:10]}"
        if self.backend == "duckdb":
            if template:
                shutil.copy(self.tmp / (template + ".duckdb"), self.tmp / (name + ".duckdb"))
        else:
            with _pg_admin().connect() as c:
                c.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        self.created.append(name)
        return name

    def drop_all(self):
        if self.backend == "postgresql":
            with _pg_admin().connect() as c:
                for name in self.created:
                    c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, pg_available):
    if request.param == "postgresql" and not pg_available:
        pytest.skip("PostgreSQL is not reachable")
    return request.param


@pytest.fixture(scope="session")
def dbs(backend, tmp_path_factory):
    f = DbFactory(backend, tmp_path_factory.mktemp(f"db_{backend}"))
    yield f
    f.drop_all()


@pytest.fixture(scope="session")
def city(dbs):
    """(database name, Database) of the shared generated city with marts built. Read-only."""
    from data_access.marts import build_marts
    from synth.generate import generate
    name = dbs.new()
    db = Database(dbs.url(name))
    generate(db, **CITY)
    build_marts(db)
    db.dispose()
    return name, Database(dbs.url(name))


@pytest.fixture
def city_copy(dbs, city):
    """A private copy of the generated city that a test may change."""
    name, db = city
    db.dispose()  # PostgreSQL copies a template only while nobody is connected to it
    copy = dbs.new(template=name)
    d = Database(dbs.url(copy))
    yield d
    d.dispose()


@pytest.fixture
def empty_db(dbs):
    d = Database(dbs.url(dbs.new()))
    yield d
    d.dispose()


def make_config(url: str, tmp: Path, **kw) -> Config:
    return Config(database_url=url, instance_dir=tmp, cache_dir=tmp / "cache", demo=False, testing=True,
                  secret_key="test-secret-key-" + "x" * 32, **kw)


@pytest.fixture
def make_app(tmp_path):
    """Build an app bound to a given Database (each test its own instance folder and cache)."""
    from app import create_app

    def _make(db: Database, **kw):
        return create_app(make_config(db.url, tmp_path, **kw))
    return _make


# ---------------------------------------------------------------- users and sign-in
PASSWORD = "Kontrol-2026-test"
USERS = {  # login: (role, district name, organisation index in that district)
    "admin": ("admin", None), "chair": ("committee", None), "analyst": ("analyst", None),
    "kolpino": ("district", "Колпинский"), "nevsky": ("district", "Невский"),
    "glavvrach": ("mo", "Колпинский"),
    # the effective contract's HR departments: of the same polyclinic as «glavvrach», and of the committee
    "kadry": ("hr", "Колпинский"), "kadry_kz": ("hr_committee", None),
}


def create_users(db: Database) -> dict:
    """The test users (one per role, two district heads); returns login → {district_id, mo_id}."""
    from data_access import schema
    from security import users
    out = {}
    with db.engine.connect() as c:
        dist = dict(c.execute(sa.select(schema.district.c.name, schema.district.c.district_id)).all())
    for login, (role, dname) in USERS.items():
        d = dist.get(dname)
        mo = None
        if role in ("mo", "hr"):
            with db.engine.connect() as c:
                mo = c.execute(sa.select(schema.mo.c.mo_id).where(schema.mo.c.district_id == d,
                                                                   schema.mo.c.kind == "adult_polyclinic")
                               .order_by(schema.mo.c.mo_id).limit(1)).scalar()
        if users.by_login(db, login) is None:
            users.create(db, login=login, full_name=login.capitalize(), role=role, password=PASSWORD,
                         district_id=d if role == "district" else None, mo_id=mo, by="test")
        out[login] = {"district_id": d, "mo_id": mo}
    return out


def login(client, name: str, password: str = PASSWORD, remember: bool = False):
    """Sign in through the real login form (with its CSRF token)."""
    import re
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "login": name, "password": password, "next": "/"}
    if remember:
        data["remember"] = "1"
    return client.post("/login", data=data)


def csrf_header(client) -> dict:
    cookie = client.get_cookie("_csrf_token")
    return {"X-CSRFToken": cookie.value if cookie else ""}


def app_on_copy(dbs, city, instance: Path):
    """An app on a private copy of the shared city, with the test users (``app.places``: their units)."""
    from app import create_app
    name, db = city
    db.dispose()
    copy = Database(dbs.url(dbs.new(template=name)))
    app = create_app(make_config(copy.url, instance, login_failure_delay=0))
    with app.app_context():
        app.places = create_users(app.extensions["iam"]["db"])
    return app


@pytest.fixture(scope="session")
def city_app(dbs, city, tmp_path_factory):
    """An app on a private copy of the city, with the test users. Tests must not change its data."""
    return app_on_copy(dbs, city, tmp_path_factory.mktemp("city_app"))


@pytest.fixture
def app(city_copy, make_app):
    """An app on a private copy of the city that a test may change, with the test users (``app.places``)."""
    a = make_app(city_copy, login_failure_delay=0)
    with a.app_context():
        a.places = create_users(city_copy)
    return a


@pytest.fixture
def client_as(city_app):
    """A test client signed in as a given user."""
    def _as(name: str):
        c = city_app.test_client()
        r = login(c, name)
        assert r.status_code == 302, r.get_data(as_text=True)
        return c
    return _as


def pytest_setup_options():
    """Chromium options for dash.testing: headless as root, no background networking (closed network)."""
    from selenium.webdriver.chrome.options import Options
    options = Options()
    for arg in ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1400,1200",
                "--lang=ru"):
        options.add_argument(arg)
    if os.path.exists("/usr/bin/chromium"):
        options.binary_location = "/usr/bin/chromium"
    return options
