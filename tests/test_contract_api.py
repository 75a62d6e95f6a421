"""The effective contract's API (issue 20), both engines: role scopes of the two HR departments, a district head
and an analyst (403 with a Russian JSON message), answers equal to the tables, the sheet as JSON, PDF and XLSX,
disagreement marks with their history (CSRF, a bad comment saves nothing), scheme versions (a new one with its
diff, a stale base refused with 409, an MO's HR department refused)."""
from __future__ import annotations

from urllib.parse import urlencode

from tests import test_contract_pages as P
from tests.conftest import csrf_header


def _error(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    body = r.get_json()
    assert body["status"] == status and body["error"]
    return body["error"]


def test_hr_of_an_organisation_gets_its_staff_and_nothing_else(city_app):
    mo, other = city_app.places["kadry"]["mo_id"], P.other_mo(city_app)
    c = P.client(city_app, "kadry")
    r = c.get(f"/api/v1/contract/staff?period={P.MONTH}")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    body = r.get_json()
    df = P.staff_of(city_app, mo)
    assert body["params"] == {"mo": mo, "period": P.MONTH}
    assert [x["personnel_no"] for x in body["rows"]] == list(df["personnel_no"].astype(str))
    assert body["totals"]["persons"] == len(df) and body["totals"]["disputed"] == int(df["disputed"].sum())
    assert {c["id"] for c in body["columns"]} >= {"full_name", "personnel_no", "points", "share"}
    pay = c.get(f"/api/v1/contract/payroll?mo={mo}&period={P.MONTH}").get_json()
    assert [c["name"] for c in pay["columns"]] == ["Табельный номер", "ФИО", "Должность", "Организация", "Период",
                                                   "Дней в периоде", "Баллы", "Доля премии, %"]
    assert len(pay["rows"]) == len(df)
    person = P.scored_person(city_app, mo)
    assert c.get(f"/api/v1/contract/sheet?mo={mo}&person={person['personnel_no']}&period={P.MONTH}").status_code == 200
    # another organisation: its staff, a person's sheet and its payroll are refused; the heads too
    assert "вне вашей области доступа" in _error(c.get(f"/api/v1/contract/staff?mo={other}"), 403)
    assert "вне вашей области доступа" in _error(c.get(f"/api/v1/contract/sheet?mo={other}&person=1"), 403)
    assert "вне вашей области доступа" in _error(c.get(f"/api/v1/contract/payroll?mo={other}"), 403)
    assert "руководителей" in _error(c.get("/api/v1/contract/heads"), 403)
    assert "руководителей" in _error(c.get("/api/v1/contract/heads/payroll"), 403)
    assert c.get(f"/api/v1/contract/staff?mo={other}&format=xlsx").status_code == 403


def test_bad_parameters_are_400_in_russian(city_app):
    c = P.client(city_app, "kadry")
    assert "Неизвестные параметры: level" in _error(c.get("/api/v1/contract/staff?level=mo"), 400)
    assert "помесячно" in _error(c.get(f"/api/v1/contract/staff?period={P.QUARTER}"), 400)
    assert "не распознан" in _error(c.get("/api/v1/contract/staff?period=2026-13"), 400)
    assert "целым числом" in _error(c.get("/api/v1/contract/staff?mo=x"), 400)
    assert _error(c.get("/api/v1/contract/staff?mo=999999"), 404)
    assert "табельный номер" in _error(c.get("/api/v1/contract/sheet"), 400).lower()
    assert "format" in _error(c.get("/api/v1/contract/staff?format=pdf"), 400)
    kz = P.client(city_app, "kadry_kz")
    assert "поквартально" in _error(kz.get(f"/api/v1/contract/heads?period={P.MONTH}"), 400)
    assert "Укажите организацию" in _error(kz.get("/api/v1/contract/staff"), 400)
    assert "есть: " in _error(kz.get("/api/v1/contract/schemes/no_such"), 404)


def test_committee_hr_sees_any_staff_and_the_heads(city_app):
    kz = P.client(city_app, "kadry_kz")
    other = P.other_mo(city_app)
    r = kz.get(f"/api/v1/contract/staff?mo={other}&period={P.MONTH}")
    assert r.status_code == 200 and len(r.get_json()["rows"]) == len(P.staff_of(city_app, other)) > 0
    body = kz.get(f"/api/v1/contract/heads?period={P.QUARTER}").get_json()
    df = P.heads_of(city_app)
    assert len(body["rows"]) == len(df) > 0
    codes = [c for c, _ in df.attrs["criteria"]]
    assert codes and all(f"c_{code}" in body["rows"][0] for code in codes)
    first = df.iloc[0]
    assert body["rows"][0]["mo_id"] == int(first["mo_id"]) and body["rows"][0]["full_name"] == first["full_name"]
    r = kz.get(f"/api/v1/contract/heads/payroll?period={P.QUARTER}&format=xlsx")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    # a head's sheet: the quarter's criteria at the organisation's level
    sheet = kz.get(f"/api/v1/contract/sheet?mo={int(first['mo_id'])}&person={first['personnel_no']}"
                   f"&period={P.QUARTER}").get_json()
    assert sheet["person"]["is_head"] and sheet["parts"][0]["criteria"][0]["level"] == "mo"
    assert sheet["parts"][0]["criteria"][0]["data"].startswith("/indicator/")


def test_district_head_gets_only_his_districts_heads(city_app):
    kolpino, nevsky = city_app.places["kolpino"]["district_id"], city_app.places["nevsky"]["district_id"]
    c = P.client(city_app, "kolpino")
    rows = c.get(f"/api/v1/contract/heads?period={P.QUARTER}").get_json()["rows"]
    assert rows and {r["district_id"] for r in rows} == {kolpino}
    assert "вне вашей области доступа" in _error(c.get(f"/api/v1/contract/heads?district={nevsky}"), 403)
    assert _error(c.get("/api/v1/contract/staff"), 403)
    assert c.get(f"/api/v1/contract/heads?district={kolpino}").status_code == 200


def test_analyst_is_refused(city_app):
    c = P.client(city_app, "analyst")
    mo = city_app.places["kadry"]["mo_id"]
    for path in (f"/api/v1/contract/staff?mo={mo}", "/api/v1/contract/heads", f"/api/v1/contract/payroll?mo={mo}",
                 f"/api/v1/contract/sheet?mo={mo}&person=1", "/api/v1/contract/schemes",
                 "/api/v1/contract/schemes/therapist"):
        assert _error(c.get(path), 403), path
    assert c.get(f"/export/table/contract-staff.xlsx?mo={mo}").status_code == 403


def test_sheet_json_pdf_and_xlsx(city_app):
    mo = city_app.places["kadry"]["mo_id"]
    person = P.scored_person(city_app, mo)
    c = P.client(city_app, "kadry")
    q = urlencode({"mo": mo, "person": person["personnel_no"], "period": P.MONTH})
    body = c.get(f"/api/v1/contract/sheet?{q}").get_json()
    assert body["person"]["full_name"] == person["full_name"]
    assert body["points"] == round(person["points"], 4) and body["share"] == round(person["share"], 4)
    part = body["parts"][0]
    assert part["scheme"]["version"] >= 1 and part["criteria"]
    crit = part["criteria"][0]
    assert {"value", "value_text", "rule", "met", "points", "max_points", "few", "data"} <= set(crit)
    total = sum(p["points"] * p["days"] / p["period_days"] for p in body["parts"])
    assert abs(total - body["points"]) < 1e-3  # the parts weighted by their days
    pdf = c.get(f"/api/v1/contract/sheet?{q}&format=pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert P.pdf_pages(pdf.data) == 1 and person["full_name"] in P.pdf_title(pdf.data)
    x = c.get(f"/api/v1/contract/sheet?{q}&format=xlsx")
    assert x.status_code == 200 and x.data[:2] == b"PK"


# ---------------------------------------------------------------- marks
def test_marks_with_history(app):
    mo = app.places["kadry"]["mo_id"]
    person = P.scored_person(app, mo)
    c = P.client(app, "kadry")
    body = {"mo": mo, "person": person["personnel_no"], "period": P.MONTH, "state": "disagree",
            "comment": "Не учтён отпуск врача"}
    # without the CSRF token of the session the request is refused before anything is done
    assert c.post("/api/v1/contract/marks", json=body).status_code == 403
    before = P.marks_count(app)
    assert "Комментарий" in _error(c.post("/api/v1/contract/marks", json={**body, "comment": " "},
                                          headers=csrf_header(c)), 400)
    assert "resolved" in _error(c.post("/api/v1/contract/marks", json={**body, "state": "maybe"},
                                       headers=csrf_header(c)), 400)
    assert _error(c.post("/api/v1/contract/marks", json={**body, "state": "resolved", "comment": "Снимаю"},
                         headers=csrf_header(c)), 400)  # nothing to resolve yet
    assert P.marks_count(app) == before
    r = c.post("/api/v1/contract/marks", json=body, headers=csrf_header(c))
    assert r.status_code == 201, r.get_data(as_text=True)[:300]
    assert r.get_json()["disputed"] is True
    staff = c.get(f"/api/v1/contract/staff?period={P.MONTH}").get_json()
    assert staff["totals"]["disputed"] >= 1
    assert next(x for x in staff["rows"] if x["personnel_no"] == person["personnel_no"])["disputed"] == "не согласен"
    r = c.post("/api/v1/contract/marks", json={**body, "state": "resolved", "comment": "Пересчитано, согласны"},
               headers=csrf_header(c))
    assert r.status_code == 201
    marks = r.get_json()["marks"]
    assert [(m["state"], m["comment"]) for m in marks] == [("disagree", "Не учтён отпуск врача"),
                                                          ("resolved", "Пересчитано, согласны")]
    assert marks[0]["author"] == "kadry" and r.get_json()["disputed"] is False
    sheet = c.get(f"/api/v1/contract/sheet?mo={mo}&person={person['personnel_no']}&period={P.MONTH}").get_json()
    assert [m["state"] for m in sheet["marks"]] == ["disagree", "resolved"]
    # audited
    import sqlalchemy as sa
    with app.extensions["iam"]["db"].engine.connect() as conn:
        n = conn.execute(sa.text("select count(*) from audit_log where action = 'contract_mark' and login = 'kadry'"))
        assert n.scalar() == 2
    # the MO head and another organisation's person: refused, nothing saved
    head = P.client(app, "glavvrach")
    assert _error(head.post("/api/v1/contract/marks", json=body, headers=csrf_header(head)), 403)
    other = {**body, "mo": P.other_mo(app)}
    assert "вне вашей области доступа" in _error(c.post("/api/v1/contract/marks", json=other,
                                                        headers=csrf_header(c)), 403)
    assert P.marks_count(app) == before + 2


# ---------------------------------------------------------------- schemes
def test_scheme_versions_through_the_api(app):
    kz = P.client(app, "kadry_kz")
    schemes = kz.get("/api/v1/contract/schemes").get_json()["schemes"]
    assert {"therapist", "paediatrician"} <= {s["code"] for s in schemes}
    one = kz.get("/api/v1/contract/schemes/therapist").get_json()
    base, text = one["version"], one["text"]
    assert one["versions"][0]["version"] == base and "[[scheme]]" in text
    new = text.replace("{ min = 68, points = 1 }", "{ min = 70, points = 1 }")
    save = {"text": new, "valid_from": "2026-10", "comment": "Порог удовлетворённости — 70 %", "base_version": base}
    r = kz.post("/api/v1/contract/schemes/therapist", json={**save, "text": new.replace("points = 1 }", "points = x }")},
                headers=csrf_header(kz))
    assert r.status_code == 400 and r.get_json()["problems"]
    r = kz.post("/api/v1/contract/schemes/therapist", json=save, headers=csrf_header(kz))
    assert r.status_code == 201, r.get_data(as_text=True)[:300]
    assert r.get_json()["version"] == base + 1
    one = kz.get("/api/v1/contract/schemes/therapist").get_json()
    latest = one["versions"][0]
    assert latest["version"] == base + 1 and latest["author"] == "kadry_kz" and latest["valid_from"] == "2026-10"
    assert any(line.startswith("-") and "min = 68" in line for line in latest["diff"])
    assert any(line.startswith("+") and "min = 70" in line for line in latest["diff"])
    old = kz.get(f"/api/v1/contract/schemes/therapist?version={base}").get_json()
    assert old["text_version"] == base and "min = 68" in old["text"]
    # a stale base: somebody saved in between — 409, nothing saved
    r = kz.post("/api/v1/contract/schemes/therapist", json={**save, "text": new.replace("min = 70", "min = 75")},
                headers=csrf_header(kz))
    assert r.status_code == 409 and r.get_json()["current_version"] == base + 1
    assert kz.get("/api/v1/contract/schemes/therapist").get_json()["version"] == base + 1
    # an MO's HR department reads the schemes but may not change them
    kadry = P.client(app, "kadry")
    assert kadry.get("/api/v1/contract/schemes/therapist").status_code == 200
    r = kadry.post("/api/v1/contract/schemes/therapist", json={**save, "base_version": base + 1},
                   headers=csrf_header(kadry))
    assert "кадровая служба комитета" in _error(r, 403)
