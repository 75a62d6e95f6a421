"""The effective contract's pages (issue 20) on the shared test city, both engines: who opens what (an MO's HR
department on its own organisation, the committee's HR everywhere, a district head on his district's heads,
refusals in Russian), exports equal to the screen (the staff table, the payroll), the sheet of one person with
its PDF and XLSX, disagreement marks through the page's form, a new scheme version through the page; and one
browser test: the MO's HR signs in, opens a name, sees the sheet."""
from __future__ import annotations

import io
import json
import re
from urllib.parse import urlencode

import pytest

from tests.conftest import csrf_header, login
from tests.test_scope_views import router_body

MONTH, QUARTER = "2026-09", "2026-Q3"


# ---------------------------------------------------------------- helpers (shared with test_contract_api)
def client(app, who):
    c = app.test_client()
    assert login(c, who).status_code == 302
    c.get("/_dash-dependencies")  # the first request registers the pages' callbacks on this app
    return c


def render(c, path: str, query: dict | None = None) -> dict:
    search = "?" + urlencode(query) if query else ""
    r = c.post("/_dash-update-component", json=router_body(path, search), headers=csrf_header(c))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.get_json()["response"]["_pages_content"]["children"]


def text(tree) -> str:
    return json.dumps(tree, ensure_ascii=False)


def find(tree, ident):
    """The props of the component with this id, or None."""
    if isinstance(tree, dict):
        props = tree.get("props")
        if isinstance(props, dict) and props.get("id") == ident:
            return props
        for v in tree.values():
            if (got := find(v, ident)) is not None:
                return got
    elif isinstance(tree, list):
        for v in tree:
            if (got := find(v, ident)) is not None:
                return got
    return None


def refusal(tree) -> str | None:
    props = find(tree, "access-denied")
    return None if props is None else text(props.get("children"))


def everyone():
    """An access that sees and may do everything (to find the persons the tests look at)."""
    from data_access.scope import CITY
    from services import contract as C
    return C.Access(scope=CITY, staff=True, heads=True, mark=True, schemes=True, login="test")


def staff_of(app, mo_id: int, period: str = MONTH):
    from core.periods import parse_period
    from services import contract as C
    with app.app_context():
        return C.staff(parse_period(period), mo_id, everyone())


def heads_of(app, period: str = QUARTER):
    from core.periods import parse_period
    from services import contract as C
    with app.app_context():
        return C.heads(parse_period(period), everyone())


def other_mo(app) -> int:
    """The first adult polyclinic of Невский (outside the scope of «kadry» and «kolpino»)."""
    import sqlalchemy as sa

    from data_access import schema
    db = app.extensions["iam"]["db"]
    nevsky = app.places["nevsky"]["district_id"]
    with db.engine.connect() as c:
        return c.execute(sa.select(schema.mo.c.mo_id).where(schema.mo.c.district_id == nevsky,
                                                             schema.mo.c.kind == "adult_polyclinic")
                         .order_by(schema.mo.c.mo_id).limit(1)).scalar()


def scored_person(app, mo_id: int, period: str = MONTH) -> dict:
    df = staff_of(app, mo_id, period)
    scored = df[df["status"] == "scored"]
    assert len(scored), f"no scored staff in organisation {mo_id} for {period}"
    return scored.iloc[0].to_dict()


def xlsx_rows(data: bytes) -> list[list]:
    from openpyxl import load_workbook
    ws = load_workbook(io.BytesIO(data)).active
    return [list(r) for r in ws.iter_rows(values_only=True)]


def cells(row: dict, cols: list[dict]) -> list:
    """A screen row as its XLSX cells (an empty text is an empty cell)."""
    return [None if row.get(c["id"]) in ("", None) else row.get(c["id"]) for c in cols]


def blank(xs: list) -> list:
    return [None if x == "" else x for x in xs]


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))


def pdf_title(data: bytes) -> str:
    m = re.search(rb"/Title\s*<([0-9a-fA-F]+)>", data)
    if m:
        return bytes.fromhex(m.group(1).decode()).decode("utf-16")
    m = re.search(rb"/Title\s*\((.*?)\)", data)
    return m.group(1).decode("latin-1") if m else ""


def callback(c, output: list[tuple[str, str]], inputs: list[dict], state: list[dict], changed: str):
    body = {"output": ".." + "...".join(f"{i}.{p}" for i, p in output) + "..",
            "outputs": [{"id": i, "property": p} for i, p in output], "inputs": inputs, "state": state,
            "changedPropIds": [changed]}
    r = c.post("/_dash-update-component", json=body, headers=csrf_header(c))
    assert r.status_code in (200, 204), r.get_data(as_text=True)[:300]
    return r.get_json()["response"] if r.status_code == 200 else {}


def marks_count(app) -> int:
    import sqlalchemy as sa
    with app.extensions["iam"]["db"].engine.connect() as c:
        return c.execute(sa.text("select count(*) from contract_mark")).scalar()


# ---------------------------------------------------------------- who opens what
def test_hr_of_an_organisation_lands_on_its_staff(city_app):
    from data_access import units as U
    mo = city_app.places["kadry"]["mo_id"]
    assert mo == city_app.places["glavvrach"]["mo_id"]
    c = city_app.test_client()
    r = login(c, "kadry")
    assert r.status_code == 302 and r.headers["Location"].endswith("/contract")  # no page asked: the contract
    c.get("/_dash-dependencies")
    tree = render(c, "/contract")
    with city_app.app_context():
        name = U.unit("mo", mo).name
    assert refusal(tree) is None
    assert name in find(tree, "contract-title")["children"]
    table = find(tree, "contract-staff-table")
    df = staff_of(city_app, mo)
    assert table is not None and len(table["data"]) == len(df) > 0
    assert [r["full_name"] for r in table["data"]] == list(df["full_name"])
    assert find(tree, "contract-persons")["children"] == str(len(df))
    assert find(tree, "contract-payroll")["href"].startswith(f"/export/table/contract-payroll.xlsx?mo={mo}")
    # the MO head sees the same staff; «next» still wins over the landing page
    head = client(city_app, "glavvrach")
    assert len(find(render(head, "/contract"), "contract-staff-table")["data"]) == len(df)
    c2 = city_app.test_client()
    page = c2.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c2.post("/login", data={"csrf_token": token, "login": "kadry", "password": "Kontrol-2026-test",
                                "next": "/indicators"})
    assert r.headers["Location"].endswith("/indicators")


def test_refusals_in_russian(city_app):
    kadry = client(city_app, "kadry")
    other = other_mo(city_app)
    assert "вне вашей области доступа" in refusal(render(kadry, "/contract", {"mo": other}))
    assert "руководителей организаций доступны" in refusal(render(kadry, "/contract/heads"))
    assert "вне вашей области доступа" in refusal(render(kadry, "/contract/sheet", {"mo": other, "person": "1"}))
    analyst = client(city_app, "analyst")
    for path in ("/contract", "/contract/heads", "/contract/sheet", "/contract/schemes"):
        assert "недоступна для вашей роли" in refusal(render(analyst, path)), path
    # the committee sees the heads, not the staff: a refusal with the way to the heads
    chair = client(city_app, "chair")
    t = refusal(render(chair, "/contract"))
    assert "сотрудников" in t and "/contract/heads" in t
    # bad parameters are explained, not a traceback
    assert "помесячно" in text(render(kadry, "/contract", {"period": QUARTER}))
    assert "не распознан" in text(render(kadry, "/contract", {"period": "2026-13"}))
    assert "данных нет" in text(render(kadry, "/contract", {"period": "2030-01"}))
    assert "целым числом" in text(render(kadry, "/contract", {"mo": "abc"}))


def test_menu_entry_by_role(client_as):
    def layout(who):
        return json.dumps(client_as(who).get("/_dash-layout").get_json(), ensure_ascii=False)
    entry = '"nav-pages.contract"'
    assert entry in layout("kadry") and '"Контракт"' in layout("kadry") and '"/contract"' in layout("kadry")
    assert entry in layout("chair") and '"/contract/heads"' in layout("chair")
    assert entry not in layout("analyst") and '"Контракт"' not in layout("analyst")


def test_committee_hr_chooses_any_organisation_and_sees_the_heads(city_app):
    kz = client(city_app, "kadry_kz")
    tree = render(kz, "/contract")
    assert find(tree, "contract-choose") is not None and find(tree, "contract-district") is not None
    other = other_mo(city_app)
    table = find(render(kz, "/contract", {"mo": other, "period": MONTH}), "contract-staff-table")
    assert table is not None and len(table["data"]) == len(staff_of(city_app, other)) > 0
    tree = render(kz, "/contract/heads")
    heads = find(tree, "contract-heads-table")
    df = heads_of(city_app)
    assert heads is not None and len(heads["data"]) == len(df) > 0
    crit = df.attrs["criteria"]
    assert crit and all(f"c_{code}" in [c["id"] for c in heads["columns"]] for code, _ in crit)
    assert QUARTER in text(tree)


def test_district_head_sees_only_his_districts_heads(city_app):
    kolpino, nevsky = city_app.places["kolpino"]["district_id"], city_app.places["nevsky"]["district_id"]
    head = client(city_app, "kolpino")
    rows = find(render(head, "/contract/heads"), "contract-heads-table")["data"]
    every = heads_of(city_app)
    assert rows and len(rows) == int((every["district_id"] == kolpino).sum())
    assert {r["district_id"] for r in rows} == {kolpino}
    assert "вне вашей области доступа" in refusal(render(head, "/contract/heads", {"district": nevsky}))
    assert "сотрудников" in refusal(render(head, "/contract"))


# ---------------------------------------------------------------- exports equal to the screen
def test_staff_export_and_payroll_equal_the_screen(city_app):
    mo = city_app.places["kadry"]["mo_id"]
    c = client(city_app, "kadry")
    table = find(render(c, "/contract", {"period": MONTH}), "contract-staff-table")
    r = c.get(f"/export/table/contract-staff.xlsx?mo={mo}&period={MONTH}")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    rows = xlsx_rows(r.data)
    cols = table["columns"]
    assert rows[2] == [col["name"] for col in cols]
    body = [x for x in rows[3:] if any(v is not None for v in x)]
    assert len(body) == len(table["data"]) > 0
    for got, shown in zip(body, table["data"]):
        assert blank(got) == cells(shown, cols)
    # the payroll: one row per person, the columns the payroll department reads
    r = c.get(f"/export/table/contract-payroll.xlsx?mo={mo}&period={MONTH}")
    assert r.status_code == 200
    rows = xlsx_rows(r.data)
    assert rows[2] == ["Табельный номер", "ФИО", "Должность", "Организация", "Период", "Дней в периоде", "Баллы",
                       "Доля премии, %"]
    pay = [x for x in rows[3:] if any(v is not None for v in x)]
    assert len(pay) == len(table["data"]) and len({x[0] for x in pay}) == len(pay)
    by_no = {x[0]: x for x in pay}
    for shown in table["data"]:
        got = by_no[shown["personnel_no"]]
        assert got[1] == shown["full_name"] and got[4] == "сентябрь 2026"
        assert got[5] == shown["days"]
        assert got[6] == shown["points"] and got[7] == shown["share"]   # both empty for a person without a scheme
    # another organisation's payroll is refused
    assert c.get(f"/export/table/contract-payroll.xlsx?mo={other_mo(city_app)}&period={MONTH}").status_code == 403


def test_heads_export_equals_the_screen(city_app):
    c = client(city_app, "kadry_kz")
    table = find(render(c, "/contract/heads", {"period": QUARTER}), "contract-heads-table")
    rows = xlsx_rows(c.get(f"/export/table/contract-heads.xlsx?period={QUARTER}").data)
    body = [x for x in rows[3:] if any(v is not None for v in x)]
    assert rows[2] == [col["name"] for col in table["columns"]]
    assert len(body) == len(table["data"]) > 0
    for got, shown in zip(body, table["data"]):
        assert blank(got) == cells(shown, table["columns"])
    pay = xlsx_rows(c.get(f"/export/table/contract-payroll-heads.xlsx?period={QUARTER}").data)
    assert len([x for x in pay[3:] if any(v is not None for v in x)]) == len(body)
    assert {x[2] for x in pay[3:] if x[2]} == {"Главный врач"}


# ---------------------------------------------------------------- the sheet
def test_sheet_of_a_person_with_pdf_and_xlsx(city_app):
    mo = city_app.places["kadry"]["mo_id"]
    person = scored_person(city_app, mo)
    c = client(city_app, "kadry")
    key = {"mo": mo, "person": person["personnel_no"], "period": MONTH}
    tree = render(c, "/contract/sheet", key)
    assert refusal(tree) is None, refusal(tree)
    assert find(tree, "sheet-title")["children"] == person["full_name"]
    part = find(tree, "sheet-part-0")
    assert part is not None and part["data"]
    row = part["data"][0]
    assert row["rule"] and row["met"] and row["data"].startswith("[данные](/indicator/")
    assert f"parent={mo}" in row["data"] and f"period={MONTH}" in row["data"]
    assert find(tree, "sheet-form") is not None  # the HR department may mark a disagreement
    # the PDF: one page, the person's name in its title; the XLSX: the criteria as on the screen
    r = c.get(f"/export/contract/sheet.pdf?{urlencode(key)}")
    assert r.status_code == 200 and r.data[:5] == b"%PDF-"
    assert pdf_pages(r.data) == 1 and person["full_name"] in pdf_title(r.data)
    r = c.get(f"/export/contract/sheet.xlsx?{urlencode(key)}")
    rows = xlsx_rows(r.data)
    assert rows[1][:2] == ["Сотрудник", person["full_name"]]
    header = rows.index(["Критерий", "Показатель", "По", "Значение", "Числитель / знаменатель", "Правило",
                         "Выполнено условие", "Баллы", "Максимум"])
    assert rows[header + 1][:4] == [row["name"], row["indicator"], row["level"], row["value"]]
    assert rows[header + 1][7] == row["points"]
    # another organisation's person: refused on the page and in the file; a head's sheet is not for the MO's HR
    other = other_mo(city_app)
    assert c.get(f"/export/contract/sheet.pdf?mo={other}&person=1&period={MONTH}").status_code == 403
    assert c.get(f"/export/contract/sheet.csv?{urlencode(key)}").status_code == 400
    heads = heads_of(city_app)
    own_head = heads[heads["mo_id"] == mo]
    if len(own_head):
        t = render(c, "/contract/sheet", {"mo": mo, "person": own_head.iloc[0]["personnel_no"], "period": QUARTER})
        assert refusal(t) is not None
    # the MO head sees the sheet, without the form
    t = render(client(city_app, "glavvrach"), "/contract/sheet", key)
    assert find(t, "sheet-title") is not None and find(t, "sheet-form") is None


def test_a_position_change_is_two_parts(city_app):
    """A doctor whose position changed within a month: the sheet shows each part with its days, and the person's
    points are the parts' weighted by their days."""
    import sqlalchemy as sa
    db = city_app.extensions["iam"]["db"]
    with db.engine.connect() as c:
        row = c.execute(sa.text(
            "select b.mo_id, b.personnel_no, b.start_date from employment a join employment b "
            "on a.mo_id = b.mo_id and a.personnel_no = b.personnel_no and b.start_date > a.start_date "
            "where b.position <> 'head' and b.start_date between :first and :last and extract(day from b.start_date) > 1 "
            "order by b.start_date desc, b.mo_id limit 1"), {"first": "2025-08-02", "last": "2026-09-30"}).first()
    if row is None:
        pytest.skip("no position change inside the test city's history")
    month = f"{row.start_date:%Y-%m}" if hasattr(row.start_date, "year") else str(row.start_date)[:7]
    kz = client(city_app, "kadry_kz")
    key = {"mo": row.mo_id, "person": row.personnel_no, "period": month}
    tree = render(kz, "/contract/sheet", key)
    assert refusal(tree) is None
    assert find(tree, "sheet-part-0-box") is not None and find(tree, "sheet-part-1-box") is not None
    body = kz.get("/api/v1/contract/sheet?" + urlencode(key)).get_json()
    parts = body["parts"]
    assert len(parts) == 2 and parts[0]["position"] != parts[1]["position"]
    assert sum(p["days"] for p in parts) == parts[0]["period_days"]
    weighted = sum(p["points"] * p["days"] / p["period_days"] for p in parts)
    assert abs(weighted - body["points"]) < 1e-3


# ---------------------------------------------------------------- marks through the page
MARK_OUT = [("sheet-mark-msg", "children"), ("sheet-marks", "children"), ("sheet-status", "children"),
            ("sheet-comment", "value")]


def mark_via_page(c, key: dict, button: str, comment):
    other = "sheet-resolve" if button == "sheet-disagree" else "sheet-disagree"
    return callback(c, MARK_OUT, [{"id": button, "property": "n_clicks", "value": 1},
                                  {"id": other, "property": "n_clicks", "value": None}],
                    [{"id": "sheet-key", "property": "data", "value": key},
                     {"id": "sheet-comment", "property": "value", "value": comment},
                     {"id": "sheet-criterion", "property": "value", "value": ""}], f"{button}.n_clicks")


def test_marks_through_the_page(app):
    mo = app.places["kadry"]["mo_id"]
    person = scored_person(app, mo)
    key = {"mo": mo, "person": person["personnel_no"], "period": MONTH}
    c = client(app, "kadry")
    before = marks_count(app)
    out = mark_via_page(c, key, "sheet-disagree", "   ")
    assert "sheet-mark-problem" in text(out) and marks_count(app) == before  # a comment is required
    out = mark_via_page(c, key, "sheet-disagree", "План посещений занижен: врач был в отпуске")
    assert "sheet-mark-saved" in text(out) and marks_count(app) == before + 1
    assert out["sheet-comment"]["value"] == ""
    assert "не согласен" in text(out["sheet-status"])
    staff = find(render(c, "/contract", {"period": MONTH}), "contract-staff-table")["data"]
    assert next(r for r in staff if r["personnel_no"] == person["personnel_no"])["disputed"] == "не согласен"
    out = mark_via_page(c, key, "sheet-resolve", "План пересчитан, замечание снято")
    assert "sheet-mark-saved" in text(out)
    history = text(out["sheet-marks"])
    assert history.index("План посещений занижен") < history.index("План пересчитан")
    # the MO head may see the marks but not make them: refused, nothing saved
    head = client(app, "glavvrach")
    n = marks_count(app)
    assert "access-denied" in text(mark_via_page(head, key, "sheet-disagree", "Не согласен с расчётом"))
    assert marks_count(app) == n


# ---------------------------------------------------------------- schemes through the page
SAVE_OUT = [("scheme-msg", "children"), ("scheme-versions", "children"), ("scheme-key", "data")]


def save_via_page(c, key: dict, body: str, valid_from: str, comment: str):
    return callback(c, SAVE_OUT, [{"id": "scheme-save", "property": "n_clicks", "value": 1}],
                    [{"id": "scheme-key", "property": "data", "value": key},
                     {"id": "scheme-text", "property": "value", "value": body},
                     {"id": "scheme-from", "property": "value", "value": valid_from},
                     {"id": "scheme-comment", "property": "value", "value": comment}], "scheme-save.n_clicks")


def test_a_new_scheme_version_through_the_page(app):
    kz = client(app, "kadry_kz")
    tree = render(kz, "/contract/schemes", {"scheme": "therapist"})
    assert find(tree, "schemes-table") is not None
    body, key = find(tree, "scheme-text")["value"], find(tree, "scheme-key")["data"]
    assert "[[scheme]]" in body and key == {"code": "therapist", "base": key["base"]}
    new = body.replace("{ min = 68, points = 1 }", "{ min = 70, points = 1 }")
    assert new != body
    # a problem of the text is listed, nothing is saved
    out = save_via_page(kz, key, new.replace("points = 1 }", "points = x }", 1), "2026-10", "Порог 70 %")
    assert "scheme-problem" in text(out) and "scheme-versions" not in out
    out = save_via_page(kz, key, new, "2026-10", "Порог удовлетворённости — 70 %")
    assert "scheme-saved" in text(out)
    saved = out["scheme-key"]["data"]["base"]
    assert saved == key["base"] + 1
    diff = text(out["scheme-versions"])
    assert "min = 70" in diff and "min = 68" in diff and "diff-added" in diff and "diff-removed" in diff
    # somebody saved in between: the stale base is refused; the typed text stays (the form is not an output)
    out = save_via_page(kz, key, new.replace("min = 70", "min = 75"), "2026-11", "Ещё одно изменение")
    assert "scheme-problem" in text(out) and "другой пользователь" in text(out)
    assert "scheme-text" not in out
    page = text(render(kz, "/contract/schemes", {"scheme": "therapist"}))
    assert f"Версия {saved}" in page and "Порог удовлетворённости — 70 %" in page
    # the MO's HR department sees the schemes, without the form, and cannot save
    kadry = client(app, "kadry")
    tree = render(kadry, "/contract/schemes", {"scheme": "therapist"})
    assert find(tree, "scheme-versions") is not None and find(tree, "scheme-form") is None
    out = save_via_page(kadry, {"code": "therapist", "base": saved}, new, "2026-12", "Попытка")
    assert "access-denied" in text(out)
    assert f"Версия {saved + 1}" not in text(render(kz, "/contract/schemes", {"scheme": "therapist"}))


# ---------------------------------------------------------------- the browser
@pytest.mark.browser
def test_hr_opens_a_name_and_sees_the_sheet(dash_duo, city_app):
    from tests.browser import clean_log, click_fresh, sign_in, wait_text, wait_url
    sign_in(dash_duo, city_app, "kadry")  # lands on /contract
    assert dash_duo.driver.current_url.endswith("/contract")
    wait_text(dash_duo, "#contract-title", "сотрудники")
    name = click_fresh(dash_duo, "#contract-staff-table td[data-dash-column='full_name']")
    wait_url(dash_duo, "/contract/sheet")
    wait_text(dash_duo, "#sheet-title", name)
    wait_text(dash_duo, "#sheet-part-0-box", "Правило")
    assert clean_log(dash_duo) == []
