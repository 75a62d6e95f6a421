"""The data-quality review's presentation (issue 22) on the shared test city, both engines: the page /data-quality
per role and scope (a district head refused another district's organisations, an MO head sees only his
organisation), the API parts and their refusals, every table's exports equal to the screen, outliers accepted and
returned through the API (CSRF, comment, history, audit) and through the page's form, the data-quality score
beside each rating place and the rating's trust flag under ``[rating] dq_min``; and one browser test: the committee
opens the page and the outliers."""
from __future__ import annotations

import io
import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import sqlalchemy as sa

from metrics.model import REGISTRY_PATH
from tests.conftest import create_users, csrf_header, login
from tests.test_scope_views import router_body

MONTH, QUARTER = "2026-09", "2026-Q2"
TABS = {"scores": "dq-scores-table", "outliers": "dq-outliers-table", "rules": "dq-rules-table",
        "completeness": "dq-completeness-table", "denominators": "dq-denominators-table"}


# ---------------------------------------------------------------- helpers
def client(app, who):
    c = app.test_client()
    assert login(c, who).status_code == 302
    c.get("/_dash-dependencies")  # the first request registers the pages' callbacks on this app
    return c


def render(c, path: str, query: dict | None = None):
    search = "?" + urlencode(query) if query else ""
    r = c.post("/_dash-update-component", json=router_body(path, search), headers=csrf_header(c))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.get_json()["response"]["_pages_content"]["children"]


def text(tree) -> str:
    return json.dumps(tree, ensure_ascii=False)


def _walk(tree, match):
    if isinstance(tree, dict):
        props = tree.get("props")
        if isinstance(props, dict) and match(tree, props.get("id")):
            return props
        for v in tree.values():
            if (got := _walk(v, match)) is not None:
                return got
    elif isinstance(tree, list):
        for v in tree:
            if (got := _walk(v, match)) is not None:
                return got
    return None


def find(tree, ident):
    """The props of the component with this id, or None; a table's id names its DataTable (a drillable table's
    DataTable has a pattern id with that «table»), not the block around it."""
    table = _walk(tree, lambda node, i: node.get("type") == "DataTable" and (
        i == ident or (isinstance(i, dict) and i.get("table") == ident)))
    return table if table is not None else _walk(tree, lambda node, i: i == ident)


def refusal(tree) -> str | None:
    props = find(tree, "access-denied")
    return None if props is None else text(props.get("children"))


def callback(c, output: list[tuple[str, str]], inputs: list[dict], state: list[dict], changed: str):
    body = {"output": ".." + "...".join(f"{i}.{p}" for i, p in output) + "..",
            "outputs": [{"id": i, "property": p} for i, p in output], "inputs": inputs, "state": state,
            "changedPropIds": [changed]}
    if len(output) == 1:
        body["output"], body["outputs"] = f"{output[0][0]}.{output[0][1]}", body["outputs"][0]
    r = c.post("/_dash-update-component", json=body, headers=csrf_header(c))
    assert r.status_code in (200, 204), r.get_data(as_text=True)[:300]
    return r.get_json()["response"] if r.status_code == 200 else {}


def unit_name(app, level: str, uid: int) -> str:
    from data_access import units as U
    with app.app_context():
        return U.unit(level, uid).name


def mos_of(app, district_id: int) -> list[int]:
    with app.extensions["iam"]["db"].engine.connect() as c:
        return [int(x) for x in c.execute(sa.text("select mo_id from mo where district_id = :d order by mo_id"),
                                          {"d": district_id}).scalars()]


def scores(app, level: str, parent, period: str = MONTH):
    from core.periods import parse_period
    from metrics import dataquality as DQ
    with app.app_context():
        return DQ.scores(parse_period(period), level, parent)


def csv_lines(resp) -> list[list[str]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    import csv
    body = resp.get_data(as_text=True).lstrip("\ufeff")
    return [row for row in csv.reader(io.StringIO(body), delimiter=";") if row]


def export_href(tree, table_id: str, fmt: str = "csv") -> str:
    props = find(tree, f"{table_id}-{fmt}")
    assert props is not None, f"no {fmt} export link of {table_id}"
    return props["href"]


def shown_cells(row: dict, cols: list[dict]) -> list[str]:
    """A screen row as the CSV writes it (the column's number format, decimal comma)."""
    from dash.dash_table.Format import Format, Scheme

    from components.export import _cell
    out = []
    for c in cols:
        f = c.get("format")
        if f:
            decimals = int(re.search(r"\.(\d+)f", f["specifier"]).group(1))
            fmt_ = Format(precision=decimals, scheme=Scheme.fixed).group(True)
            f = fmt_.sign("+") if f["specifier"].startswith("+") else fmt_
        out.append(_cell(row.get(c["id"]), {**c, "format": f}))
    return out


# ---------------------------------------------------------------- the page per role and scope
def test_the_committee_sees_the_districts_and_every_tab(city_app):
    chair = client(city_app, "chair")
    tree = render(chair, "/data-quality", {"period": MONTH})
    assert refusal(tree) is None
    table = find(tree, "dq-scores-table")
    expected = scores(city_app, "district", None)
    assert table is not None and len(table["data"]) == len(expected) == 18
    got = [r["score"] for r in table["data"]]
    assert got == sorted(got)  # the worst first
    worst = expected.iloc[0]
    assert table["data"][0]["name"] == worst["unit_name"] and table["data"][0]["score"] == round(worst["score"])
    assert table["data"][0]["reasons"] == (worst["reasons"] or "—")
    assert "Оценка качества данных" in text(find(tree, "dq-own"))  # the city's own score above the tabs
    for tab, tid in TABS.items():
        t = render(chair, "/data-quality", {"period": MONTH, "tab": tab})
        assert find(t, tid) is not None, tab
    # a quarter (the rating's period) is accepted; outliers are of its last month
    t = render(chair, "/data-quality", {"period": QUARTER, "tab": "outliers"})
    assert "dq-outliers-month" in text(t) and "июнь 2026" in text(find(t, "dq-outliers-month"))
    assert "Раздела «nope» нет" in text(render(chair, "/data-quality", {"tab": "nope"}))
    assert "не распознан" in text(render(chair, "/data-quality", {"period": "2026-13"}))


def test_a_district_head_is_refused_another_districts_organisations(city_app):
    places = city_app.places
    kolpino, nevsky = places["kolpino"]["district_id"], places["nevsky"]["district_id"]
    head = client(city_app, "kolpino")
    tree = render(head, "/data-quality", {"period": MONTH})
    assert unit_name(city_app, "district", kolpino) in text(find(tree, "dq-subtitle"))
    rows = find(tree, "dq-scores-table")["data"]
    assert rows and {r["child_id"] for r in rows} <= set(mos_of(city_app, kolpino))
    foreign = mos_of(city_app, nevsky)[0]
    for query in ({"level": "district", "id": nevsky}, {"level": "mo", "id": foreign},
                  {"level": "mo", "id": foreign, "tab": "outliers"}):
        assert "вне вашей области доступа" in refusal(render(head, "/data-quality", query)), query
    # the API and the exports refuse the same
    for part, q in (("scores", f"level=mo&parent={nevsky}"), ("outliers", f"level=doctor&parent={foreign}"),
                    ("rules", f"level=mo&id={foreign}"), ("denominators", f"level=district&id={nevsky}")):
        r = head.get(f"/api/v1/quality/data/{part}?{q}")
        assert r.status_code == 403 and "вне вашей области доступа" in r.get_json()["error"], part
    assert head.get(f"/export/table/dq-scores.csv?level=mo&parent={nevsky}").status_code == 403
    # without a parent: the organisations of his scope only
    rows = head.get(f"/api/v1/quality/data/scores?level=mo&period={MONTH}").get_json()["rows"]
    assert rows and {r["child_id"] for r in rows} <= set(mos_of(city_app, kolpino))


def test_an_mo_head_sees_only_his_organisation(city_app):
    places = city_app.places
    own, kolpino = places["glavvrach"]["mo_id"], places["kolpino"]["district_id"]
    head = client(city_app, "glavvrach")
    tree = render(head, "/data-quality", {"period": MONTH})
    assert unit_name(city_app, "mo", own) in text(find(tree, "dq-subtitle"))
    assert [r["child_id"] for r in find(tree, "dq-scores-table")["data"]] == [own]
    neighbour = next(m for m in mos_of(city_app, kolpino) if m != own)
    assert "вне вашей области доступа" in refusal(render(head, "/data-quality", {"level": "mo", "id": neighbour}))
    # his district's list through the API holds his organisation only
    rows = head.get(f"/api/v1/quality/data/scores?level=mo&parent={kolpino}&period={MONTH}").get_json()["rows"]
    assert [r["child_id"] for r in rows] == [own]
    assert head.get(f"/api/v1/quality/data/outliers?level=doctor&parent={neighbour}").status_code == 403
    # the outliers of his organisation are those of its doctors
    r = head.get(f"/api/v1/quality/data/outliers?level=doctor&parent={own}&period={MONTH}")
    assert r.status_code == 200 and r.get_json()["params"]["level"] == "doctor"


def test_roles_without_the_page(city_app, client_as):
    assert "недоступна для вашей роли" in refusal(render(client(city_app, "kadry"), "/data-quality"))
    for who, shown in (("chair", True), ("kolpino", True), ("glavvrach", True), ("analyst", True), ("admin", True),
                       ("kadry", False), ("kadry_kz", False)):
        layout = json.dumps(client_as(who).get("/_dash-layout").get_json(), ensure_ascii=False)
        assert ('"Качество данных"' in layout) == shown, who


def test_api_parameters_are_explained(city_app):
    c = client(city_app, "analyst")
    for part in ("scores", "outliers", "rules", "completeness", "denominators", "history"):
        r = c.get(f"/api/v1/quality/data/{part}?period={MONTH}")
        assert r.status_code == 200, (part, r.get_data(as_text=True)[:200])
    r = c.get("/api/v1/quality/data/nope")
    assert r.status_code == 404 and "scores" in r.get_json()["error"]
    for q, status, message in (("level=ward", 400, "Уровень"), ("level=mo&parent=abc", 400, "целый код"),
                               ("level=mo&parent=999999", 404, "нет"), ("period=2026-13", 400, "не распознан"),
                               ("level=district&parent=1", 400, "только город"), ("icd=E11", 400, "Неизвестные")):
        r = c.get(f"/api/v1/quality/data/scores?{q}")
        assert r.status_code == status and message in r.get_json()["error"], (q, r.get_json())
    r = c.get("/api/v1/quality/data/outliers?level=doctor")
    assert r.status_code == 400 and "организацию" in r.get_json()["error"]


# ---------------------------------------------------------------- exports equal to the screen
@pytest.mark.parametrize("who,query", [("chair", {}), ("kolpino", {}), ("glavvrach", {})])
def test_exports_equal_the_screen(city_app, who, query):
    """Each tab's table, its CSV (from the page's own export link), its XLSX and the API rows are the same rows
    in the same order, as shown."""
    from openpyxl import load_workbook
    c = client(city_app, who)
    for tab, tid in TABS.items():
        tree = render(c, "/data-quality", {"period": MONTH, "tab": tab, **query})
        shown = find(tree, tid)
        if shown is None:  # an empty table: the page says so, the export is empty too
            assert "Нет данных за период" in text(tree) or "dq-no-outliers" in text(tree), (who, tab)
            continue
        cols = shown["columns"]
        href = export_href(tree, tid)
        lines = csv_lines(c.get(href))
        assert lines[0] == [col["name"] for col in cols], tab
        assert len(lines) - 1 == len(shown["data"]) > 0, tab
        for line, row in zip(lines[1:], shown["data"]):
            assert line == shown_cells(row, cols), (tab, row)
        x = c.get(export_href(tree, tid, "xlsx"))
        assert x.status_code == 200 and x.data[:2] == b"PK"
        ws = load_workbook(io.BytesIO(x.data)).active
        body = [list(r) for r in ws.iter_rows(min_row=4, values_only=True) if any(v is not None for v in r)]
        assert len(body) == len(shown["data"])
        assert [None if v in ("", None) else v for v in body[0]] == \
            [None if shown["data"][0].get(col["id"]) in ("", None) else shown["data"][0].get(col["id"]) for col in cols]
        # the API from the same parameters
        params = dict(parse_qsl(urlsplit(href).query))
        api = c.get(f"/api/v1/quality/data/{tab}?{urlencode(params)}").get_json()
        assert [col["name"] for col in api["columns"]] == [col["name"] for col in cols]
        assert [[r[col["id"]] for col in cols] for r in api["rows"]] == \
            [[row.get(col["id"]) for col in cols] for row in shown["data"]], tab


# ---------------------------------------------------------------- acknowledgements
def _outlier(c, district_id: int, period: str = MONTH) -> dict:
    rows = c.get(f"/api/v1/quality/data/outliers?level=mo&parent={district_id}&period={period}").get_json()["rows"]
    assert rows, "no outlier among the district's organisations in the test city"
    return rows[0]


def _acks(app) -> int:
    with app.extensions["iam"]["db"].engine.connect() as c:
        return c.execute(sa.text("select count(*) from outlier_ack")).scalar()


def _audited(app, login_: str) -> int:
    with app.extensions["iam"]["db"].engine.connect() as c:
        return c.execute(sa.text("select count(*) from audit_log where action = 'outlier_ack' and login = :l"),
                         {"l": login_}).scalar()


def test_acknowledgement_through_the_api_with_csrf_and_history(app):
    kolpino, nevsky = app.places["kolpino"]["district_id"], app.places["nevsky"]["district_id"]
    head = client(app, "kolpino")
    o = _outlier(head, kolpino)
    assert o["state"] == "не рассмотрен" and o["acknowledged"] is False
    body = {k: o[k] for k in ("code", "level", "unit_id", "month")}
    url = "/api/v1/quality/data/outliers/ack"
    n = _acks(app)
    # without the CSRF token of the session: refused before anything is looked at
    r = head.post(url, json={**body, "comment": "Открыт новый корпус", "state": "ack"})
    assert r.status_code == 403 and "CSRF" in r.get_json()["error"] and _acks(app) == n
    hdr = csrf_header(head)
    for bad, status, message in (({**body, "comment": "  "}, 400, "Комментарий обязателен"),
                                 ({**body, "comment": "x", "state": "maybe"}, 400, "Состояние"),
                                 ({**body, "comment": "x", "month": "2026-Q3"}, 400, "месяц"),
                                 ({**body, "comment": "x", "unit_id": "1.5"}, 400, "целый код"),
                                 ({**body, "comment": "x", "code": "nope"}, 404, "не найден"),
                                 ({**body, "comment": "x", "extra": 1}, 400, "Неизвестные поля"),
                                 ({**body, "comment": "x", "state": "reopen"}, 400, "снимать нечего")):
        r = head.post(url, json=bad, headers=hdr)
        assert r.status_code == status and message in r.get_json()["error"], (bad, r.get_json())
    assert _acks(app) == n
    before = _audited(app, "kolpino")
    r = head.post(url, json={**body, "comment": "Открыт новый корпус", "state": "ack"}, headers=hdr)
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    assert out["state"] == "ack" and [h["state"] for h in out["history"]] == ["ack"]
    assert out["history"][0]["comment"] == "Открыт новый корпус" and out["history"][0]["author"] == "kolpino"
    assert _audited(app, "kolpino") == before + 1
    again = next(x for x in head.get(f"/api/v1/quality/data/outliers?level=mo&parent={kolpino}&period={MONTH}")
                 .get_json()["rows"] if x["key"] == o["key"])
    assert again["acknowledged"] is True and again["state"] == "принят" and again["ack_comment"] == "Открыт новый корпус"
    r = head.post(url, json={**body, "comment": "Корпус открыт позже, перепроверить", "state": "reopen"}, headers=hdr)
    assert r.status_code == 201 and [h["state"] for h in r.get_json()["history"]] == ["ack", "reopen"]
    history = head.get(f"/api/v1/quality/data/history?level=mo&parent={kolpino}&period={MONTH}").get_json()["rows"]
    assert [h["state"] for h in history if h["key"] == o["key"]] == ["возвращён", "принят"]  # the latest first
    # the analyst may read, not decide; another district's organisation is refused
    analyst = client(app, "analyst")
    r = analyst.post(url, json={**body, "comment": "Верно"}, headers=csrf_header(analyst))
    assert r.status_code == 403 and "руководители" in r.get_json()["error"]
    chair = client(app, "chair")
    foreign = _outlier(chair, nevsky) if chair.get(f"/api/v1/quality/data/outliers?level=mo&parent={nevsky}"
                                                   f"&period={MONTH}").get_json()["rows"] else None
    if foreign is not None:
        r = head.post(url, json={**{k: foreign[k] for k in body}, "comment": "Верно"}, headers=hdr)
        assert r.status_code == 403 and "вне вашей области доступа" in r.get_json()["error"]
    assert _acks(app) == n + 2


ACK_OUT = [("dq-outliers-box", "children")]


def decide_via_page(c, query: dict, button: str, key, comment):
    other = "dq-reopen" if button == "dq-ack" else "dq-ack"
    state = {"path": "/data-quality", "query": query, "tab": "outliers"}
    return callback(c, ACK_OUT, [{"id": button, "property": "n_clicks", "value": 1},
                                 {"id": other, "property": "n_clicks", "value": None}],
                    [{"id": "dq-ack-outlier", "property": "value", "value": key},
                     {"id": "dq-ack-comment", "property": "value", "value": comment},
                     {"id": {"type": "page-state", "page": "dataquality"}, "property": "data", "value": state}],
                    f"{button}.n_clicks")


def test_acknowledgement_through_the_page(app):
    kolpino = app.places["kolpino"]["district_id"]
    head = client(app, "kolpino")
    tree = render(head, "/data-quality", {"period": MONTH, "tab": "outliers"})
    assert find(tree, "dq-ack-form") is not None
    row = find(tree, "dq-outliers-table")["data"][0]
    query = {"level": "district", "id": kolpino, "period": MONTH, "tab": "outliers"}
    n = _acks(app)
    out = decide_via_page(head, query, "dq-ack", row["key"], "")
    assert "dq-ack-problem" in text(out) and "Комментарий обязателен" in text(out) and _acks(app) == n
    out = decide_via_page(head, query, "dq-ack", None, "Верно")
    assert "dq-ack-problem" in text(out) and _acks(app) == n
    out = decide_via_page(head, query, "dq-ack", row["key"], "Открыт новый корпус")
    assert "dq-ack-saved" in text(out) and _acks(app) == n + 1
    table = find(out, "dq-outliers-table")
    assert next(r for r in table["data"] if r["key"] == row["key"])["state"] == "принят"
    assert "Открыт новый корпус" in text(find(out, "dq-history-table"))
    # the analyst sees the outliers without the form; a forged click is refused and saves nothing
    analyst = client(app, "analyst")
    tree = render(analyst, "/data-quality", {"period": MONTH, "tab": "outliers", "level": "district", "id": kolpino})
    assert find(tree, "dq-outliers-table") is not None and find(tree, "dq-ack-form") is None
    assert "access-denied" in text(decide_via_page(analyst, query, "dq-reopen", row["key"], "Нет"))
    assert _acks(app) == n + 1


# ---------------------------------------------------------------- the rating
def test_the_rating_shows_the_data_quality_score_beside_each_place(city_app):
    from core.periods import parse_period
    from services import rating as R
    with city_app.app_context():
        r = R.compute("district", parse_period(QUARTER))
    dq = scores(city_app, "district", None, QUARTER).set_index("unit_id")
    assert r.units["dq_score"].round(6).tolist() == dq["score"].reindex(r.units["unit_id"]).round(6).tolist()
    tree = render(client(city_app, "chair"), "/rating", {"level": "district", "period": QUARTER})
    for u in r.units.to_dict("records"):
        cell = find(tree, {"type": "rating-dq", "unit": int(u["unit_id"])})
        assert cell is not None, u["unit_name"]
        link = cell["children"]["props"]
        assert link["children"] == f"{u['dq_score']:.0f}" and f"period={QUARTER}" in link["href"]
        assert link["href"].startswith(f"/data-quality?level=district&id={int(u['unit_id'])}")
    assert "оценка качества данных ниже" in text(find(tree, "rating-method"))
    with city_app.app_context():
        e = R.explain(r, int(r.units["unit_id"].iloc[0]))
    assert e["dq_score"] == pytest.approx(float(r.units["dq_score"].iloc[0]))
    # organisations: each one's own score, as among every organisation of its district
    kolpino = city_app.places["kolpino"]["district_id"]
    with city_app.app_context():
        mos = R.compute("mo", parse_period(QUARTER), kolpino).units
    every = scores(city_app, "mo", kolpino, QUARTER).set_index("unit_id")["score"]
    assert len(mos) and mos["dq_score"].round(6).tolist() == every.reindex(mos["unit_id"]).round(6).tolist()


@pytest.fixture
def strict_app(city_app, city_copy, make_app, tmp_path):
    """An app whose registry sets ``dq_min`` at the median district's data-quality score of the quarter."""
    median = float(scores(city_app, "district", None, QUARTER)["score"].median())
    text_ = REGISTRY_PATH.read_text(encoding="utf-8")
    assert "\ndq_min = " in text_
    registry = tmp_path / "indicators.toml"
    registry.write_text(re.sub(r"\ndq_min = [0-9.]+", f"\ndq_min = {median:.4f}", text_), encoding="utf-8")
    app = make_app(city_copy, indicators_file=registry, login_failure_delay=0)
    with app.app_context():
        app.places = create_users(city_copy)
    app.dq_min = round(median, 4)
    return app


def test_a_unit_under_the_threshold_is_flagged_and_not_ranked(strict_app):
    from core.periods import parse_period
    from metrics import evaluate as E
    from services import rating as R
    app = strict_app
    with app.app_context():
        cfg = E.registry().rating
        assert cfg.dq_min == app.dq_min
        r = R.compute("district", parse_period(QUARTER))
    u = r.units.set_index("unit_id")
    incomplete = u["completeness"] < cfg.completeness_min
    low = u["dq_score"] < cfg.dq_min
    assert low.sum() >= 8 and (~low).sum() >= 8  # about half the districts under the median
    assert (u.loc[incomplete, "flag"] == "incomplete").all()  # the completeness rule is kept, and first
    assert (u.loc[low & ~incomplete, "flag"] == "dq").all()
    assert u.loc[u["flag"] != "", "place"].isna().all() and u.loc[u["flag"] == "", "place"].notna().all()
    assert set(u.index[u["flag"] == "dq"]) == set(u.index[low & ~incomplete])
    tree = render(client(app, "chair"), "/rating", {"level": "district", "period": QUARTER})
    flagged = u[u["flag"] == "dq"]
    if len(flagged):
        assert text(tree).count(R.FLAG_TEXT["dq"]) == len(flagged)


# ---------------------------------------------------------------- the browser
@pytest.mark.browser
def test_the_committee_opens_the_outliers(dash_duo, city_app):
    from tests.browser import clean_log, click_fresh, open_page, sign_in, wait_text, wait_url
    sign_in(dash_duo, city_app, "chair")
    open_page(dash_duo, "/data-quality")
    wait_text(dash_duo, "#dq-subtitle", "Санкт-Петербург")
    assert dash_duo.find_elements("#dq-scores-table td")
    click_fresh(dash_duo, "#dq-tab a.nav-link", pick=lambda xs: next((x for x in xs if x.text == "Выбросы"), None))
    wait_url(dash_duo, "tab=outliers")
    wait_text(dash_duo, "#dq-outliers-table", "Модифицированный z")
    assert dash_duo.find_elements("#dq-outliers-table td[data-dash-column='indicator']")
    assert dash_duo.find_elements("#dq-ack-form")  # the committee may accept an outlier
    # the page is no wider than a 1024 px window (its wide tables scroll inside themselves)
    dash_duo.driver.set_window_size(1024, 900)
    open_page(dash_duo, "/data-quality?tab=outliers")
    assert dash_duo.driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth;") <= 1
    assert clean_log(dash_duo) == []
