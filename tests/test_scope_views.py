"""Data scope, generated from the list of views (issue 13): every page, Dash callback, API endpoint and export,
for each role with a data scope — committee and analyst (the city), a district manager (Колпинский), an MO head
(one polyclinic of Колпинский).

Nothing here is a hand-picked URL. The views come from the application itself:

- pages: ``dash.page_registry``; the parameters of each ``layout`` (``inspect.signature``) say which URL parameters
  the page takes, and each page is rendered through Dash's own router callback (a POST to
  ``/_dash-update-component`` with ``_pages_location``), exactly what a typed or shared URL does;
- callbacks: ``dash_app.callback_map``; the request body is built from the components of a rendered page, then the
  unit ids in inputs and state (page-state stores, table cells, chart clicks, dropdowns) are replaced by the ids of
  units outside the person's scope — a crafted POST;
- API: the ``/api/v1`` GET rules of the Flask ``url_map``; path parts are read from the endpoint's own 404 answer
  («есть: …»), query parameters from its 400 answer («Неизвестные параметры: …»);
- exports: every registered table builder (``components.tablespec.BUILDERS``) and the indicator export, with the
  parameters of the export links the pages themselves render.

Rules checked (docs/security.md): a unit outside the scope is refused (page: the refusal alert
``id="access-denied"``; API and export: 403) with the same Russian message in every channel, and an audit entry
``forbidden`` is written; an answer for a unit inside the scope is not refused and names no unit outside it.
A request *shape* (a page or endpoint with a parameter pattern at a level) is probed with a foreign unit only when
the same shape works for an own unit of the person, or for the committee, so a page that simply has no
«doctor» level is not counted as a missing refusal.

Names looked for: districts, organisations (short and full names) and doctors outside the scope. Allowed: for an
MO head the name of his own district (a unit that contains his scope is visible as an aggregate: breadcrumbs,
the district row, his district's total); a doctor's name that some doctor inside the scope also bears (the same
name cannot tell the two apart).

DuckDB only: every probe is a real page render, and running both back ends would double a run of about two
minutes; the scope rules live above SQL, and the other suites run the loaders on PostgreSQL.

Each test collects every failing case of its role and channel and reports them all in one assertion message.
"""
from __future__ import annotations

import datetime as dt
import inspect
import json
import re
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import sqlalchemy as sa

from data_access import schema
from data_access.db import Database
from tests.conftest import create_users, csrf_header, login, make_config

pytestmark = pytest.mark.parametrize("backend", ["duckdb"], indirect=True)

# login of the test user of each role (tests/conftest.py USERS)
ROLES = {"committee": "chair", "district": "kolpino", "mo": "glavvrach", "analyst": "analyst"}
OTHER_DISTRICT = "Невский"  # the district of conftest's second district head: "another district" for everyone
CHILD = {"district": "mo", "mo": "doctor"}          # the child level listed under a parent (level=…&parent=…)
PARENT = {"mo": "district", "doctor": "mo", "dept": "mo", "spec": "mo"}
UNIT_LEVELS = ("district", "mo", "dept", "spec", "doctor")

TOKEN = re.compile(r"\w+(?:-\w+)*|№")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def strings(obj) -> str:
    """Every string of a JSON document, one per line: the text a person could read in it."""
    out = []

    def walk(x):
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(obj)
    return "\n".join(out)


class Names:
    """Finds whole names (as token sequences) in text: «Поликлиника № 3» is not found in «Поликлиника № 33»."""

    def __init__(self, names: dict[str, str]):
        self.first = defaultdict(list)
        for name, label in names.items():
            t = tuple(tokens(name))
            if t:
                self.first[t[0]].append((t, name, label))

    def find(self, text: str) -> list[str]:
        tt = tokens(text)
        hits = set()
        for i, w in enumerate(tt):
            for t, name, label in self.first.get(w, ()):
                if tuple(tt[i:i + len(t)]) == t:
                    hits.add(f"{label} «{name}»")
        return sorted(hits)


# ---------------------------------------------------------------- the world: units, users, tasks
@dataclass(frozen=True)
class Unit:
    level: str          # district, mo, dept, spec (a specialty inside one organisation), doctor; task
    id: int
    mo: int | None      # the organisation the unit belongs to (None for a district)
    district: int
    names: tuple        # how it is named on screen (for «is this view about this unit»)

    @property
    def key(self) -> str:
        return f"{self.level}:{self.id}" + (f"@mo{self.mo}" if self.level == "spec" else "")


@dataclass
class Person:
    role: str
    login: str
    district: int | None
    mo: int | None
    client: object = None
    own: list = field(default_factory=list)        # units inside the scope to probe
    foreign: list = field(default_factory=list)    # units outside the scope to probe
    variants: list = field(default_factory=list)   # level → foreign unit, for crafting callback bodies
    names: Names | None = None                     # names of units outside the scope

    @property
    def city(self) -> bool:
        return self.district is None

    def inside(self, u: Unit) -> bool:
        """The scope rules of docs/security.md, independently of the application's code."""
        if self.city:
            return True
        if u.level == "district":
            return u.id == self.district  # an MO head sees his own district as an aggregate
        if self.mo is None:
            return u.district == self.district
        return u.mo == self.mo


class World:
    def __init__(self, app, db, places):
        self.app, self.db = app, db
        with db.engine.connect() as c:
            self.districts = dict(c.execute(sa.select(schema.district.c.district_id, schema.district.c.name)).all())
            self.mos = {r.mo_id: r for r in c.execute(sa.select(schema.mo.c.mo_id, schema.mo.c.name, schema.mo.c.short_name,
                                                                 schema.mo.c.kind, schema.mo.c.district_id)).all()}
            self.doctors = c.execute(sa.select(schema.doctor.c.doctor_id, schema.doctor.c.full_name, schema.doctor.c.mo_id,
                                               schema.doctor.c.dept_id, schema.doctor.c.specialty_id)
                                     .order_by(schema.doctor.c.doctor_id)).all()
            self.depts = {r.dept_id: r for r in c.execute(sa.select(schema.department.c.dept_id, schema.department.c.mo_id,
                                                                     schema.department.c.name)).all()}
            self.specs = dict(c.execute(sa.select(schema.specialty.c.specialty_id, schema.specialty.c.name)).all())
        self.renders: dict = {}      # (login, path, search) → Rendered
        self.refusals: dict = defaultdict(set)  # (role, unit key) → {(channel, message)}
        self.exports_seen: dict = defaultdict(set)  # login → export links found on pages
        kolp = places["kolpino"]["district_id"]
        own_mo = places["glavvrach"]["mo_id"]
        other = next(d for d, n in self.districts.items() if n == OTHER_DISTRICT)
        # the organisations to probe: the MO head's own, a neighbour of the same kind in his district, and one of
        # that kind in the other district (the first by code: deterministic for the seed)
        kind = self.mos[own_mo].kind
        neighbour = min(m for m, r in self.mos.items() if r.district_id == kolp and r.kind == kind and m != own_mo)
        far = min(m for m, r in self.mos.items() if r.district_id == other and r.kind == kind)
        self.family = {"own": self._family(own_mo), "neighbour": self._family(neighbour), "other": self._family(far)}
        self.district_unit = {d: Unit("district", d, None, d, (self.districts[d],)) for d in (kolp, other)}
        self.kolp, self.other = kolp, other
        self.code = None
        self.tasks: list[Unit] = []

    def _family(self, mo_id: int) -> dict[str, Unit]:
        r = self.mos[mo_id]
        doc = next(d for d in self.doctors if d.mo_id == mo_id)
        d = r.district_id
        return {"mo": Unit("mo", mo_id, mo_id, d, (r.short_name, r.name)),
                "doctor": Unit("doctor", doc.doctor_id, mo_id, d, (doc.full_name,)),
                "dept": Unit("dept", doc.dept_id, mo_id, d, (self.depts[doc.dept_id].name,)),
                "spec": Unit("spec", doc.specialty_id, mo_id, d, (self.specs[doc.specialty_id],))}

    def people(self) -> dict[str, Person]:
        out = {}
        own, nb, far = self.family["own"], self.family["neighbour"], self.family["other"]
        K, N = self.district_unit[self.kolp], self.district_unit[self.other]
        for role, login_ in ROLES.items():
            if role == "district":
                p = Person(role, login_, self.kolp, None)
                p.own = [K, *own.values(), nb["mo"]]
                p.foreign = [N, *far.values()]
                p.variants = [{"district": N, **far}]
            elif role == "mo":
                p = Person(role, login_, self.kolp, own["mo"].id)
                p.own = [K, *own.values()]
                p.foreign = [*nb.values(), N, *far.values()]
                p.variants = [{"district": N, **far}, {"district": K, **nb}]
            else:  # the city: every unit is its own; probe those that are foreign to the others
                p = Person(role, login_, None, None)
                p.own = [N, *far.values(), *nb.values()]
                p.variants = [{"district": N, **far}]
            p.own += [t for t in self.tasks if p.inside(t)]
            p.foreign += [t for t in self.tasks if not p.inside(t)]
            p.names = self.foreign_names(p)
            out[role] = p
        return out

    def foreign_names(self, p: Person) -> Names:
        if p.city:
            return Names({})
        names = {}
        allowed = set()
        for d, n in self.districts.items():
            (allowed.add(n) if d == p.district else names.setdefault(n, "район"))
        for m, r in self.mos.items():
            ok = p.inside(Unit("mo", m, m, r.district_id, ()))
            for n in (r.short_name, r.name):
                if ok:
                    allowed.add(n)
                elif len(tokens(n)) > 1 or re.search(r"\d", n):
                    # a one-word brand without a number («Здоровье») is also an ordinary word of the product's
                    # texts («Портал «Здоровье петербуржца»»): such an organisation is looked for by its full name
                    names.setdefault(n, "организация")
        for d in self.doctors:
            ok = p.inside(Unit("doctor", d.doctor_id, d.mo_id, self.mos[d.mo_id].district_id, ()))
            (allowed.add(d.full_name) if ok else names.setdefault(d.full_name, "врач"))
        return Names({n: label for n, label in names.items() if n not in allowed})


@pytest.fixture(scope="module")
def world(dbs, city, tmp_path_factory):
    """A private copy of the shared city (with control tasks added) and an app on it, the users signed in."""
    from app import create_app
    name, db = city
    db.dispose()
    copy = Database(dbs.url(dbs.new(template=name)))
    app = create_app(make_config(copy.url, tmp_path_factory.mktemp("scope_views"), login_failure_delay=0))
    with app.app_context():
        places = create_users(app.extensions["iam"]["db"])
    w = World(app, app.extensions["iam"]["db"], places)
    clients = {}
    for role, login_ in ROLES.items():
        c = app.test_client()
        assert login(c, login_).status_code == 302
        c.get("/_dash-dependencies")  # the first request registers the pages' callbacks on this app
        clients[login_] = c
    chair = clients["chair"]
    # the indicator valid at the most levels stands for "an indicator" in paths (/indicator/<code>, API, export)
    inds = chair.get("/api/v1/indicators").get_json()["indicators"]
    w.code = max(inds, key=lambda i: len(i["levels"]))["code"]
    # control tasks on the probed organisations and the other district (created through the API, as the committee)
    last = chair.get("/api/v1/meta").get_json()["periods"]["last"]
    due = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    for u in (w.family["own"]["mo"], w.family["neighbour"]["mo"], w.family["other"]["mo"], w.district_unit[w.other]):
        res = chair.post("/api/v1/tasks", headers=csrf_header(chair),
                         json={"code": w.code, "level": u.level, "unit_id": u.id, "period": last, "assignee": "Проверка",
                               "due_date": due, "description": "Проверка области доступа"})
        assert res.status_code == 201, res.get_data(as_text=True)
        t = res.get_json()
        w.tasks.append(Unit("task", t["task_id"], u.mo, u.district, (t["title"],)))
    w.people_by_role = w.people()
    for p in w.people_by_role.values():
        p.client = clients[p.login]
    return w


# ---------------------------------------------------------------- requests and answers
@dataclass
class Answer:
    status: int
    text: str = ""            # readable text (JSON strings, CSV, HTML)
    data: object = None       # decoded JSON
    error: str | None = None  # an exception raised inside the app, with the place it came from
    refusal: str | None = None

    @property
    def broken(self) -> bool:
        return self.error is not None or self.status >= 500


def _where(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/site-packages/" not in f.filename
              and "/tests/" not in f.filename]
    f = frames[-1] if frames else traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__}: {exc} at {f.filename.split('/main/')[-1]}:{f.lineno} {f.name}"


def call(fn, *args, **kw) -> Answer:
    try:
        res = fn(*args, **kw)
    except Exception as exc:  # TESTING propagates exceptions: that is a 500 for a user
        return Answer(500, error=_where(exc))
    data = res.get_json(silent=True)
    text = strings(data) if data is not None else res.get_data(as_text=True)
    return Answer(res.status_code, text, data)


def find_components(tree, pred) -> list[dict]:
    out = []

    def walk(x):
        if isinstance(x, dict):
            props = x.get("props")
            if isinstance(props, dict) and "type" in x and "namespace" in x and pred(props):
                out.append(x)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(tree)
    return out


def refusal_text(tree) -> str | None:
    alerts = find_components(tree, lambda p: p.get("id") == "access-denied")
    if not alerts:
        return None
    return " ".join(strings(alerts[0]["props"].get("children")).split()).strip()


def router_body(pathname: str, search: str) -> dict:
    return {"output": ".._pages_content.children..._pages_store.data..",
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": pathname},
                       {"id": "_pages_location", "property": "search", "value": search}],
            "changedPropIds": ["_pages_location.pathname"], "state": []}


def render(w: World, p: Person, path: str, query: dict) -> Answer:
    """A page as Dash's router renders it for a URL (memoised per person and URL)."""
    search = ("?" + urlencode(query)) if query else ""
    key = (p.login, path, search)
    if key not in w.renders:
        a = call(p.client.post, "/_dash-update-component", json=router_body(path, search), headers=csrf_header(p.client))
        if a.data is not None:
            a.refusal = refusal_text(a.data)
            for href in re.findall(r'"(/export/[^"]+)"', json.dumps(a.data, ensure_ascii=False)):
                w.exports_seen[p.login].add(href)
        w.renders[key] = a
    return w.renders[key]


def forbidden_count(w: World, login_: str) -> int:
    with w.db.engine.connect() as c:
        return c.execute(sa.text("select count(*) from audit_log where action = 'forbidden' and login = :l"),
                         {"l": login_}).scalar()


# ---------------------------------------------------------------- probes: a view × a unit
def unit_queries(params: set, units: list, code: str | None) -> list[tuple[tuple, dict, Unit | None]]:
    """(shape, query, unit) for the URL parameters a view takes; the shape tells which requests are alike."""
    out = [(("default",), {}, None)]
    for u in units:
        if u.level == "task":
            if "task_id" in params:
                out.append((("task_id",), {"task_id": u.id}, u))
            continue
        if {"level", "id"} <= params:
            if u.level == "spec":
                if "mo" in params:
                    out.append((("level+id", "spec"), {"level": "spec", "id": u.id, "mo": u.mo}, u))
            else:
                out.append((("level+id", u.level), {"level": u.level, "id": u.id}, u))
        if {"level", "parent"} <= params and u.level in CHILD:
            out.append((("level+parent", u.level), {"level": CHILD[u.level], "parent": u.id}, u))
        if "district" in params and u.level == "district":
            out.append((("district",), {"district": u.id}, u))
        if "mo" in params and "level" not in params and u.level == "mo":
            out.append((("mo",), {"mo": u.id}, u))
    return out


def about(a: Answer, u: Unit) -> bool:
    """Whether a rendered page shows this unit (its name is on it): the page takes this kind of request."""
    return a.status == 200 and not a.broken and a.refusal is None and any(
        Names({n: ""}).find(a.text) for n in u.names)


class Report:
    def __init__(self, p: Person):
        self.p, self.cases, self.lines = p, 0, []

    def fail(self, what: str, why: str):
        self.lines.append(f"{what}: {why}")

    def check_names(self, what: str, a: Answer):
        if hits := self.p.names.find(a.text):
            self.fail(what, "names units outside the scope: " + ", ".join(hits[:6]) + (" …" if len(hits) > 6 else ""))

    def done(self, channel: str):
        assert not self.lines, f"{channel}, {self.p.role} ({self.p.login}): {len(self.lines)} of {self.cases} cases fail\n" \
            + "\n".join(self.lines)


def expect(w: World, rep: Report, what: str, u: Unit | None, a: Answer, refused: str | None, channel: str,
           audit_before: int | None):
    """The common verdict: no error; a foreign unit refused (and audited); an own unit answered without foreign names."""
    p = rep.p
    rep.cases += 1
    if a.broken:
        rep.fail(what, f"error {a.status} {a.error or a.text[:200]}")
        return
    if u is not None and not p.inside(u):
        if refused is None:
            rep.fail(what, f"{u.level} outside the scope answered without a refusal (status {a.status})")
        else:
            w.refusals[(p.role, u.key)].add((channel, refused))
            if audit_before is not None and forbidden_count(w, p.login) <= audit_before:
                rep.fail(what, "refused without an audit entry «forbidden»")
    elif refused is not None:
        rep.fail(what, f"refused a unit inside the scope: «{refused}»")
    rep.check_names(what, a)


