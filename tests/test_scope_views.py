"""Data scope, generated from the list of views (issue 13): every page, Dash callback, API endpoint and export,
for each role with a data scope — committee and analyst (the city), a district manager (Колпинский), an MO head
(one polyclinic of Колпинский), and the effective contract's HR departments: of that polyclinic (the MO head's scope
without patient lists) and of the committee (the city).

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
«doctor» level is not counted as a missing refusal. A view refused by role (its default refused — for an API
endpoint or an export, with a message other than the scope's «вне вашей области доступа»: patient lists, the
effective contract's scores) is not for that person at all and is not probed.

Names looked for (as whole token sequences, in every string of the answer: text, table rows, dropdown options,
chart labels, stores): districts, organisations (short and full names), doctors and other staff (the heads of
organisations) outside the scope. Allowed: for an MO head the name of his own district (a unit that contains his
scope is visible as an aggregate: breadcrumbs, the district row, his district's total); a doctor's name that some
doctor inside the scope also bears (the same name cannot tell the two apart; so also for the staff); a one-word
organisation name without a number («Здоровье») is looked for by its full name only, because the word also occurs
in the product's own texts.

Fixed choices: the six test users of tests/conftest.py (one per role); «another district» is Невский (conftest's
second district head); the probed organisations are the MO head's polyclinic, the first other polyclinic of his district
and the first polyclinic of Невский, each with its first doctor, that doctor's department and specialty; four
control tasks (on those three organisations and on Невский) are created through the API.

DuckDB only: every probe is a real page render or request, and running both back ends would double a run of
about two minutes; the same SQL runs on PostgreSQL in the other suites.

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
from tests.conftest import app_on_copy, csrf_header, login

pytestmark = pytest.mark.parametrize("backend", ["duckdb"], indirect=True)

# login of the test user of each role (tests/conftest.py USERS)
ROLES = {"committee": "chair", "district": "kolpino", "mo": "glavvrach", "analyst": "analyst",
         # the effective contract's HR departments: one polyclinic (the MO head's, without patient lists), the city
         "hr": "kadry", "hr_committee": "kadry_kz"}
OTHER_DISTRICT = "Невский"  # the district of conftest's second district head: "another district" for everyone
CHILD = {"district": "mo", "mo": "doctor"}          # the child level listed under a parent (level=…&parent=…)
PARENT = {"mo": "district", "doctor": "mo", "dept": "mo", "spec": "mo"}

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
            # the people of the organisations' staff (the effective contract): doctors and the heads of organisations
            self.staff = c.execute(sa.select(schema.employment.c.full_name, schema.employment.c.mo_id)
                                   .distinct()).all()
        self.renders: dict = {}      # (login, path, search) → Answer of the page router
        self.answers: dict = {}      # (login, "GET", url) → Answer
        self.params: dict = {}       # API path → the unit parameters it takes
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
            elif role in ("mo", "hr"):
                p = Person(role, login_, self.kolp, own["mo"].id)
                p.own = [K, *own.values()]
                p.foreign = [*nb.values(), N, *far.values()]
                p.variants = [{"district": N, **far}, {"district": K, **nb}]
            else:  # the city: every unit is its own; probe a district and an organisation foreign to the others
                p = Person(role, login_, None, None)
                p.own = [N, far["mo"]]
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
        for name, m in self.staff:  # a head of an organisation is a person of its staff, not a doctor
            ok = p.inside(Unit("mo", m, m, self.mos[m].district_id, ()))
            (allowed.add(name) if ok else names.setdefault(name, "сотрудник"))
        return Names({n: label for n, label in names.items() if n not in allowed})


@pytest.fixture(scope="module")
def world(dbs, city, tmp_path_factory):
    """A private copy of the shared city (with control tasks added) and an app on it, the users signed in."""
    app = app_on_copy(dbs, city, tmp_path_factory.mktemp("scope_views"))
    w = World(app, app.extensions["iam"]["db"], app.places)
    clients = {}
    for login_ in ROLES.values():
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


def text_of(x) -> str:
    """The visible text of a component tree (children only, not class names or ids)."""
    if isinstance(x, (str, int, float)):
        return str(x)
    if isinstance(x, list):
        return " ".join(text_of(v) for v in x)
    if isinstance(x, dict) and isinstance(x.get("props"), dict):
        return text_of(x["props"].get("children"))
    return ""


def refusal_text(tree) -> str | None:
    alerts = find_components(tree, lambda p: p.get("id") == "access-denied")
    if not alerts:
        return None
    return " ".join(text_of(alerts[0]).split())


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


def get(w: World, p: Person, url: str) -> Answer:
    """A GET of the API or an export (memoised per person and URL: the same question is not asked twice)."""
    key = (p.login, "GET", url)
    if key not in w.answers:
        w.answers[key] = call(p.client.get, url)
    return w.answers[key]


SCOPE_REFUSAL = "вне вашей области доступа"  # the words of every refusal of a unit (data_access.scope)


def by_role(a: Answer) -> bool:
    """A refusal of the request as such — the role may not see this kind of data at all (patient lists, the
    effective contract's scores) — rather than of a unit: a 403 whose message is not the scope's."""
    return a.status == 403 and not a.broken and SCOPE_REFUSAL not in a.text


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
        self.p, self.cases, self.lines, self.seen = p, 0, [], set()

    def fail(self, what: str, why: str):
        # one line per failing request; the same crafted request from several pages is one case
        line = f"{what}: {why}"
        key = re.sub(r" \(from [^)]*\)", "", line)
        if key not in self.seen:
            self.seen.add(key)
            self.lines.append(line)

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



def show(path: str, query: dict) -> str:
    return path + ("?" + urlencode(query) if query else "")


# ---------------------------------------------------------------- pages
def pages() -> list[tuple[str, set]]:
    """(path or path template, URL parameters of the layout) of every registered page."""
    import dash
    out = []
    for page in dash.page_registry.values():
        layout = page["layout"]
        if not callable(layout):
            continue
        sig = inspect.signature(layout).parameters
        out.append((page.get("path_template") or page["path"],
                    {n for n, x in sig.items() if x.kind not in (x.VAR_KEYWORD, x.VAR_POSITIONAL)}))
    return out


def page_url(template: str, query: dict, code: str) -> tuple[str, dict]:
    query, path = dict(query), template
    for var in re.findall(r"<(\w+)>", template):
        path = path.replace(f"<{var}>", str(query.pop(var, code if var == "code" else "")))
    return path, query


def check_pages(w: World, p: Person, rep: Report) -> None:
    com = w.people_by_role["committee"]
    for template, params in pages():
        units = [u for u in p.own + p.foreign if (u.level == "task") == ("task_id" in params)]
        probes = unit_queries(params, units, w.code)
        if "<task_id>" in template:
            probes = probes[1:]  # a task page has no default view
        else:
            path, q = page_url(template, {}, w.code)
            a = render(w, p, path, q)
            if a.broken:
                rep.cases += 1
                rep.fail(f"page {path}", f"error {a.error or a.status}")
                continue
            if a.status != 200 or a.refusal is not None:
                continue  # the page is not for this role at all (refused by role; tests/test_security.py)
            rep.cases += 1
            rep.check_names(f"page {path}", a)
        works = set()
        for shape, query, u in probes:
            if u is not None and p.inside(u):
                path, q = page_url(template, query, w.code)
                a = render(w, p, path, q)
                expect(w, rep, f"page {show(path, q)}", u, a, a.refusal, "page", None)
                if about(a, u):
                    works.add(shape)
        for shape, query, u in probes:
            if u is None or p.inside(u):
                continue
            path, q = page_url(template, query, w.code)
            if shape not in works and not about(render(w, com, path, q), u):
                continue  # the page does not take this request even from the committee
            before = forbidden_count(w, p.login)
            a = render(w, p, path, q)
            expect(w, rep, f"page {show(path, q)}", u, a, a.refusal, "page", before)


@pytest.mark.parametrize("role", list(ROLES))
def test_pages(world, role):
    p = world.people_by_role[role]
    rep = Report(p)
    check_pages(world, p, rep)
    rep.done("pages")


# ---------------------------------------------------------------- Dash callbacks, crafted
def parse_id(s: str):
    return json.loads(s) if s.startswith("{") else s


def stringify(cid) -> str:
    return json.dumps(cid, sort_keys=True, separators=(",", ":"), ensure_ascii=False) if isinstance(cid, dict) else cid


def wildcard(pattern) -> str | None:
    if isinstance(pattern, dict):
        for v in pattern.values():
            if isinstance(v, list):
                return v[0]
    return None


def matches(pattern, cid) -> bool:
    if isinstance(pattern, str):
        return pattern == cid
    return isinstance(cid, dict) and set(cid) == set(pattern) and all(
        isinstance(v, list) or cid[k] == v for k, v in pattern.items())


def components(a: Answer) -> list[dict]:
    if not hasattr(a, "_comps"):
        a._comps = find_components(a.data, lambda pr: "id" in pr) if a.data is not None else []
    return a._comps


def id_tokens(cid) -> set:
    return set(re.split(r"[-_]", cid)) if isinstance(cid, str) else set()


class Crafter:
    """Puts the ids of units outside the scope where a request carries unit ids."""

    def __init__(self, p: Person, variant: dict, tasks: list):
        self.p, self.v, self.hits = p, variant, []
        self.task = next((t for t in tasks if not p.inside(t)), None)

    def use(self, u: Unit) -> int:
        self.hits.append(u)
        return u.id

    def value(self, v):
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        lvl, out = v.get("level"), {}
        for k, x in v.items():
            if x in (None, "") or isinstance(x, (dict, list)):
                out[k] = self.value(x)
            elif k in ("id", "unit_id") and lvl in self.v:
                out[k] = self.use(self.v[lvl])
            elif k == "parent" and PARENT.get(lvl) in self.v:
                out[k] = self.use(self.v[PARENT[lvl]])
            elif k == "mo" and lvl == "spec":
                out[k] = self.v["spec"].mo
            elif k in ("district", "district_id"):
                out[k] = self.use(self.v["district"])
            elif k in ("mo", "mo_id"):
                out[k] = self.use(self.v["mo"])
            elif k == "task_id" and self.task is not None:
                out[k] = self.use(self.task)
            else:
                out[k] = x
        return out

    def scalar(self, cid, prop, v):
        """A dropdown or input named after a district or an organisation («tasks-district», «task-dlg-mo»)."""
        t = id_tokens(cid)
        if prop == "value" and (v is None or isinstance(v, int)):  # «rating-mo-kind» holds a kind, not an id
            if "district" in t:
                return self.use(self.v["district"])
            if "mo" in t:
                return self.use(self.v["mo"])
        return v

    def row(self, v, child):
        """A table cell or a chart point: the row or point of a unit of the child level."""
        if child not in self.v:
            return v
        u = self.v[child]
        # only where the page itself puts unit ids (an ICD tree's rows are codes, not units)
        if isinstance(v, dict) and isinstance(v.get("row_id"), int):
            return {**v, "row_id": self.use(u)}
        if isinstance(v, dict) and "points" in v and isinstance(v["points"][0].get("customdata"), int):
            return {"points": [{**v["points"][0], "customdata": self.use(u)}]}
        return v

    @property
    def foreign(self) -> list:
        return [u for u in self.hits if not self.p.inside(u)]


DUE = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def trigger_values(comp: dict, prop: str) -> list:
    """What a click or a change of the triggering component sends: two other options of a choice."""
    pr = comp["props"]
    if prop == "value" and pr.get("options"):
        opts = [o.get("value") if isinstance(o, dict) else o for o in pr["options"]]
        return [o for o in opts if o != pr.get(prop)][:2] or [pr.get(prop)]
    return [trigger_value(comp, prop)]


def trigger_value(comp: dict, prop: str):
    pr = comp["props"]
    v = pr.get(prop)
    if prop == "n_clicks":
        return 1
    if prop == "active_cell":
        cols = [c["id"] for c in pr.get("columns") or []]
        links = [x["if"]["column_id"] for x in pr.get("style_data_conditional") or []
                 if x.get("cursor") == "pointer" and "column_id" in x.get("if", {})]
        col = (links or cols or ["name"])[0]
        rows = pr.get("data") or [{}]
        return {"row": 0, "column": cols.index(col) if col in cols else 0, "column_id": col, "row_id": rows[0].get("id")}
    if prop == "clickData":
        data = (pr.get("figure") or {}).get("data") or [{}]
        cd = next((t["customdata"] for t in data if t.get("customdata")), [None])
        return {"points": [{"curveNumber": 0, "pointNumber": 0, "customdata": cd[0]}]}
    if prop == "value" and isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) for x in v):
        return [v[0], max(v[0], v[1] - 1)]  # a range slider moved
    if prop == "date":
        return (dt.date.fromisoformat(v[:10]) - dt.timedelta(days=1)).isoformat() if v else DUE
    return v


def plain_value(comp: dict, prop: str):
    v = comp["props"].get(prop)
    if v is None and prop == "date":
        return DUE
    if v is None and prop == "value" and comp["type"] in ("Input", "Textarea"):
        return "Проверка области доступа"
    return v


def callback_requests(w: World, p: Person, key: str, spec: dict, variant: dict):
    """Bodies of crafted requests to one callback: values from rendered pages, unit ids from ``variant``."""
    deps = [("inputs", d) for d in spec["inputs"]] + [("state", d) for d in spec["state"]]
    com = w.people_by_role["committee"].login
    bases = [(k, a) for k, a in w.renders.items() if k[0] == p.login] + \
            [(k, a) for k, a in w.renders.items() if k[0] == com]
    seen, out = set(), []
    for (_, path, search), a in bases:
        if a.status != 200 or a.refusal is not None or a.data is None:
            continue
        comps = components(a)
        found = []
        for kind, d in deps:
            pat = parse_id(d["id"])
            m = [c for c in comps if matches(pat, c["props"]["id"])]
            if not m and (kind == "inputs" or wildcard(pat) not in ("ALL", "ALLSMALLER")):
                break
            found.append((kind, d, pat, m))
        else:
            trig = next(f for f in found if f[0] == "inputs")
            for tv in trigger_values(trig[3][0], trig[1]["property"]) if trig[3] else []:
                body = build_body(w, p, key, spec, found, variant, tv)
                # one request per page, trigger value and set of crafted units (not one per period or filter)
                sig = (path, json.dumps(tv, sort_keys=True, default=str),
                       tuple(sorted(u.key for u in body[1])) if body else None)
                if body is not None and sig not in seen:
                    seen.add(sig)
                    out.append((*body, show(path, dict(parse_qsl(search.lstrip("?"))))))
    if not out:  # no page shows these components to anybody: craft the request from the callback alone
        found = []
        for kind, d in deps:
            pat = parse_id(d["id"])
            if wildcard(pat):
                if kind == "inputs" and wildcard(pat) == "MATCH":
                    return []
                found.append((kind, d, pat, []))
            else:
                found.append((kind, d, pat, [{"type": "", "props": {"id": pat}}]))
        trig = next((f for f in found if f[0] == "inputs" and f[3]), None)
        body = trig and build_body(w, p, key, spec, found, variant, trigger_value(trig[3][0], trig[1]["property"]))
        out = [(*body, "no page")] if body else []
    return out


def build_body(w, p, key, spec, found, variant, trig_value):
    craft = Crafter(p, variant, w.tasks)
    child = None
    for _kind, d, _pat, m in found:
        for c in m:
            v = c["props"].get(d["property"])
            if isinstance(v, dict) and isinstance(v.get("child"), str):
                child = v["child"]
    trig_kind, trig_d, trig_pat, trig_m = next(f for f in found if f[0] == "inputs")
    if not trig_m:
        return None
    trig = trig_m[0]
    body = {"inputs": [], "state": []}
    for kind, d, pat, m in found:
        items = []
        for c in m:
            prop = d["property"]
            if c is trig:
                v = craft.row(trig_value, child)
            elif wildcard(pat) and kind == "inputs" and prop == "n_clicks":
                v = 1
            else:
                v = plain_value(c, prop)
            v = craft.scalar(c["props"]["id"], prop, craft.value(v))
            items.append({"id": c["props"]["id"], "property": prop, "value": v})
        body[kind].append(items if wildcard(pat) in ("ALL", "ALLSMALLER") else items[0])
    outs = []
    from dash._utils import split_callback_id
    parts = split_callback_id(key)
    for o in (parts if isinstance(parts, list) else [parts]):
        oid = parse_id(o["id"])
        if isinstance(oid, dict):
            oid = {k: (trig["props"]["id"].get(k) if isinstance(v, list) and isinstance(trig["props"]["id"], dict) else v)
                   for k, v in oid.items()}
        outs.append({"id": oid, "property": o["property"].split("@")[0]})
    body.update(output=key, outputs=outs if isinstance(parts, list) else outs[0],
                changedPropIds=[f"{stringify(trig['props']['id'])}.{trig_d['property']}"])
    return body, craft.foreign


def short(key: str) -> str:
    return re.sub(r"@[0-9a-f]+", "", key).strip(".")


@pytest.mark.parametrize("role", list(ROLES))
def test_callbacks(world, role):
    w, p = world, world.people_by_role[role]
    check_pages(w, p, Report(p))  # the rendered pages the request bodies are built from (memoised)
    check_pages(w, w.people_by_role["committee"], Report(w.people_by_role["committee"]))
    rep = Report(p)
    cmap = w.app.dash_app.callback_map
    assert len(cmap) > 3, "the pages' callbacks are not registered on the app"
    for key, spec in cmap.items():
        if "_pages_content" in key:
            continue  # the page router: every page probe above is a request to it
        if spec.get("callback") is None:
            continue  # a clientside callback (Dash's own page title): nothing runs on the server
        sent = 0
        for variant in p.variants:
            for body, foreign, base in callback_requests(w, p, key, spec, variant):
                sent += 1
                trig = body["inputs"][0] if isinstance(body["inputs"][0], dict) else body["inputs"][0][0]
                what = f"callback {short(key)} ← {stringify(trig['id'])}.{trig['property']} (from {base})" + \
                    (f" with {', '.join(u.key for u in foreign)}" if foreign else "")
                a = call(p.client.post, "/_dash-update-component", json=body, headers=csrf_header(p.client))
                rep.cases += 1
                if a.broken or a.status not in (200, 204):
                    rep.fail(what, f"error {a.status} {a.error or a.text[:200]}")
                    continue
                rep.check_names(what, a)
                if a.data is None:
                    continue
                if p.city or not foreign:
                    continue  # where the request carried units outside the scope, follow the link it returns
                for href in re.findall(r'"href": "(/[^"]*)"', json.dumps(a.data.get("response", {}), ensure_ascii=False)):
                    parts = urlsplit(href)
                    r = render(w, p, parts.path, dict(parse_qsl(parts.query)))
                    if r.broken:
                        rep.fail(f"{what} → {href}", f"error {r.error or r.status}")
                    else:
                        rep.check_names(f"{what} → {href}", r)
        if not sent:
            rep.fail(f"callback {short(key)}", "not exercised: no rendered page holds its inputs and they cannot be made up")
    rep.done("callbacks")


# ---------------------------------------------------------------- API
def api_rules(w: World) -> list:
    return [r for r in w.app.url_map.iter_rules() if r.rule.startswith("/api/v1/") and "GET" in r.methods
            and "<path:" not in r.rule]


def api_paths(w: World, p: Person, rule) -> list[tuple[str, Unit | None]]:
    """Concrete paths of a rule: the path parts the endpoint itself names, tasks for a task id."""
    chair = w.people_by_role["committee"].client
    paths = [(rule.rule, None)]
    for var in rule.arguments:
        nxt = []
        for path, u in paths:
            if var == "code":
                nxt.append((re.sub(rf"<[^>]*{var}>", w.code, path), u))
            elif var == "task_id":
                nxt += [(re.sub(rf"<[^>]*{var}>", str(t.id), path), t) for t in p.own + p.foreign if t.level == "task"]
            else:  # a fixed set of parts: the 404 answer to an unknown one lists them («есть: a, b»)
                probe = re.sub(rf"<[^>]*{var}>", "no-such-part", path)
                msg = (chair.get(probe).get_json(silent=True) or {}).get("error", "")
                m = re.search(r"есть: (.+)$", msg)
                assert m, f"{probe} does not list its parts: «{msg}»"
                nxt += [(re.sub(rf"<[^>]*{var}>", part.strip(), path), u) for part in m.group(1).split(",")]
        paths = nxt
    return paths


def api_params(w: World, path: str) -> set:
    """The unit parameters an endpoint takes: it names the unknown ones in its 400 answer."""
    cands = {"level", "id", "parent", "mo", "district"}
    chair = w.people_by_role["committee"].client
    res = chair.get(path + "?" + urlencode({**{c: "" for c in cands}, "no_such_param": "1"}))
    msg = (res.get_json(silent=True) or {}).get("error", "")
    if res.status_code != 400 or "no_such_param" not in msg:
        return set()
    unknown = set(re.split(r"[,:\s]+", msg))
    return {c for c in cands if c not in unknown}


def check_ids(p: Person, w: World, data, rep: Report, what: str):
    """Unit ids in an API answer: rows of a level, tasks with their district and organisation."""
    bad = set()

    def unit(level, uid):
        if not isinstance(uid, (int, float)) or uid != uid:
            return None
        uid = int(uid)
        if level == "district":
            return Unit("district", uid, None, uid, ())
        if level == "mo" and uid in w.mos:
            return Unit("mo", uid, uid, w.mos[uid].district_id, ())
        if level == "doctor":
            d = next((x for x in w.doctors if x.doctor_id == uid), None)
            return d and Unit("doctor", uid, d.mo_id, w.mos[d.mo_id].district_id, ())
        return None

    def walk(x, level=None):
        if isinstance(x, list):
            for v in x:
                walk(v, level)
        elif isinstance(x, dict):
            lvl = x.get("level") if isinstance(x.get("level"), str) else level
            for k, v in x.items():
                u = None
                if k == "unit_id" and lvl in ("district", "mo", "doctor"):
                    u = unit(lvl, v)
                elif k == "district_id":
                    u = unit("district", v)
                elif k == "mo_id":
                    u = unit("mo", v)
                if u is not None and not p.inside(u):
                    bad.add(u.key)
                walk(v, lvl)
    walk(data)
    if bad:
        rep.fail(what, "ids of units outside the scope: " + ", ".join(sorted(bad)[:6]))


@pytest.mark.parametrize("role", list(ROLES))
def test_api(world, role):
    w, p = world, world.people_by_role[role]
    com = w.people_by_role["committee"]
    rep = Report(p)
    rules = api_rules(w)
    assert rules
    for rule in rules:
        for path, path_unit in api_paths(w, p, rule):
            if path_unit is None and path not in w.params:
                w.params[path] = api_params(w, path)
            params = w.params[path] if path_unit is None else set()
            if path_unit is None and get(w, p, path).status == 403 and (
                    p.city or get(w, com, path).status == 403 or by_role(get(w, p, path))):
                # not for this role at all: patient lists (district and MO heads only), administrators' endpoints,
                # the effective contract's staff (HR departments and MO heads) and heads (committee, district heads)
                continue
            units = [u for u in p.own + p.foreign if u.level != "task"]
            probes = [(("path",), {}, path_unit)] if path_unit else unit_queries(params, units, w.code)
            works = set()
            for own in (True, False):
                for shape, query, u in probes:
                    if (u is None or p.inside(u)) != own:
                        continue
                    url = show(path, query)
                    if not own and shape not in works and get(w, com, url).status != 200:
                        continue  # the endpoint does not take this request even from the committee
                    before = forbidden_count(w, p.login) if not own else None
                    a = get(w, p, url) if own else call(p.client.get, url)
                    refused = (a.data or {}).get("error") if a.status == 403 and isinstance(a.data, dict) else None
                    if a.status == 403 and refused is None:
                        refused = "(403 without a JSON message)"
                    if own and a.status not in (200, 403) and not a.broken:
                        continue  # not a request this endpoint takes (400/404): nothing to check
                    expect(w, rep, f"GET {url}", u, a, refused, "api", before)
                    if a.status == 200:
                        works.add(shape)
                        check_ids(p, w, a.data, rep, f"GET {url}")
                    if not own and a.status == 403 and not isinstance(a.data, dict):
                        rep.fail(f"GET {url}", "403 without a JSON body")
    rep.done("API")


# ---------------------------------------------------------------- exports
def export_targets(w: World) -> list[str]:
    """Every export path: the indicator export and each registered table builder, as CSV."""
    try:
        from components.tablespec import BUILDERS
    except ImportError:  # moved: then the tables the pages link to
        BUILDERS = {re.sub(r"\.\w+$", "", h.split("?")[0].rsplit("/", 1)[-1]) for links in w.exports_seen.values()
                    for h in links if h.startswith("/export/table/")}
    out = []
    for r in w.app.url_map.iter_rules():
        if not r.rule.startswith("/export/") or "GET" not in r.methods:
            continue
        path = r.rule.replace("<fmt>", "csv")
        if "<name>" in path:
            out += [path.replace("<name>", n) for n in sorted(BUILDERS)]
        else:
            out.append(path)
    return out


@pytest.mark.parametrize("role", list(ROLES))
def test_exports(world, role):
    w, p = world, world.people_by_role[role]
    com = w.people_by_role["committee"]
    check_pages(w, p, Report(p))  # the pages whose export links give each export its parameters (memoised)
    check_pages(w, com, Report(com))
    rep = Report(p)
    links = defaultdict(list)
    for who in (p.login, com.login):
        for href in sorted(w.exports_seen[who]):
            parts = urlsplit(href)
            links[parts.path].append((who, dict(parse_qsl(parts.query))))
    targets = export_targets(w)
    missing = [t for t in targets if t not in links and t.replace(".csv", ".xlsx") not in links]
    for t in targets:
        mine = links.get(t) or links.get(t.replace(".csv", ".xlsx")) or []
        def shape(q):
            return json.dumps(sorted(q)) + str(q.get("level"))
        own_queries = {shape(q): q for who, q in mine if who == p.login}
        shapes = {shape(q): q for who, q in mine}
        if t in missing:  # no page links to it: the unit parameters every table builder reads
            shapes = {str(u.key): q for _, q, u in unit_queries({"level", "id", "mo"}, p.own, w.code) if u is not None}
            own_queries = dict(shapes)
        region = next((q for q in own_queries.values() if q.get("level") == "region"), {"level": "region"})
        if (p.city and get(w, p, show(t, region)).status == 403) or by_role(get(w, p, show(t, region))):
            continue  # not for this role at all (patient lists: district and MO heads only; the effective contract)
        for q in own_queries.values():
            a = get(w, p, show(t, q))
            if a.status in (400, 404):
                continue
            expect(w, rep, f"GET {show(t, q)}", None, a, a.text if a.status == 403 else None, "export", None)
        for variant in p.variants:
            for q in shapes.values():
                craft = Crafter(p, variant, w.tasks)
                fq = craft.value(q)
                if not craft.foreign:
                    continue
                u = craft.foreign[0]
                url = show(t, fq)
                before = forbidden_count(w, p.login)
                a = call(p.client.get, url)
                if a.status in (400, 404) and get(w, com, url).status in (400, 404):
                    continue  # not a request this export takes
                expect(w, rep, f"GET {url}", u, a, a.text if a.status == 403 else None, "export", before)
    rep.done("exports")


# ---------------------------------------------------------------- one message
@pytest.mark.parametrize("role", ["district", "mo", "hr"])
def test_the_same_refusal_everywhere(world, role):
    """A unit outside the scope is refused with one Russian message on the page, in the API and in the export."""
    w, p = world, world.people_by_role[role]
    got = {k: v for k, v in w.refusals.items() if k[0] == role}
    if not got:
        pytest.skip("run with the channel tests above: they collect the refusals")
    bad = []
    for (_, key), answers in sorted(got.items()):
        texts = defaultdict(set)
        for channel, msg in answers:
            texts[msg].add(channel)
        if len(texts) > 1:
            bad.append(f"{key}: " + "; ".join(f"{sorted(ch)} «{m}»" for m, ch in texts.items()))
    assert not bad, f"{p.login}: different refusals of one unit\n" + "\n".join(bad)

