"""Registers, quality of care and volumes (issue 19), the presentation: the table builders against the registry
indicators on the shared test city (both engines), the patient-level tables per role with their audit, the page
per role, the API parts and their refusals, exports equal to the screen, and the docs' tables equal to the
declarations."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from core import registers as R
from tests.conftest import csrf_header, login
from tests.test_scope_views import router_body

PERIOD = "2026-09-YTD"


# ---------------------------------------------------------------- helpers
def _client(app, who):
    c = app.test_client()
    assert login(c, who).status_code == 302
    c.get("/_dash-dependencies")  # the first request registers the pages' callbacks on this app
    return c


def _render(c, query: str) -> dict:
    r = c.post("/_dash-update-component", json=router_body("/registers", query), headers=csrf_header(c))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.get_json()["response"]["_pages_content"]["children"]


def _page(c, query: str) -> str:
    return json.dumps(_render(c, query), ensure_ascii=False)


def _tables(tree) -> dict:
    """Every DataTable of a rendered page by its id (a drillable table's id is a dict: keyed by its «table»)."""
    out = {}

    def walk(x):
        if isinstance(x, dict):
            if x.get("type") == "DataTable":
                i = x["props"]["id"]
                out[i["table"] if isinstance(i, dict) else i] = x["props"]
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(tree)
    return out


def _audited(app, login_: str, prefix: str) -> int:
    db = app.extensions["iam"]["db"]
    with db.engine.connect() as c:
        return c.execute(sa.text("select count(*) from audit_log where action = 'view_patients' and login = :l "
                                 "and object like :o"), {"l": login_, "o": prefix + "%"}).scalar()


def _ids(app, sql: str, **kw):
    db = app.extensions["iam"]["db"]
    with db.engine.connect() as c:
        return c.execute(sa.text(sql), kw).scalar()


def _mo_with_patients(app, district_id: int, register: str = "dm") -> tuple[int, int]:
    """(organisation, doctor) of the district whose doctor has the most patients of a register in the mart."""
    row = app.extensions["iam"]["db"].read_df(sa.text(
        "select mo_id, doctor_id, sum(enrolled) as n from mart_register where district_id = :d and register = :r "
        "and month = (select max(month) from mart_register) group by mo_id, doctor_id order by n desc, doctor_id "
        "limit 1").bindparams(d=district_id, r=register))
    return int(row["mo_id"][0]), int(row["doctor_id"][0])


# ---------------------------------------------------------------- the builders against the registry
def _spec(app, name, params, scope=None):
    from components.tablespec import build
    from data_access.scope import CITY
    with app.test_request_context():
        return build(name, params, scope or CITY)


def _value(app, code, level, uid, period=PERIOD):
    from core.periods import parse_period
    from metrics import evaluate as E
    with app.app_context():
        return E.unit_value(code, level, uid, parse_period(period))["value"]


def _row(spec, key, value):
    return next(r for r in spec.records if r[key] == value)


def test_register_tables_equal_the_registry_indicators(city_app):
    district = city_app.places["kolpino"]["district_id"]
    for level, uid in (("region", None), ("district", district)):
        params = {"level": level, "id": uid, "period": PERIOD}
        summary = _spec(city_app, "reg-summary", params)
        dm, ht = _row(summary, "register", "dm"), _row(summary, "register", "ht")
        assert dm["enrolled"] > 0 and dm["controlled"] is not None
        assert dm["controlled"] == pytest.approx(_value(city_app, "reg_dm_controlled", level, uid), abs=0.051)
        assert dm["tested"] == pytest.approx(_value(city_app, "reg_dm_tested", level, uid), abs=0.051)
        assert ht["controlled"] == pytest.approx(_value(city_app, "reg_ht_controlled", level, uid), abs=0.051)
        # every register together: coverage, visits against the plan, hospitalisations per 1000 a year
        every = _row(summary, "register", "all")
        assert every["enrolled"] == sum(r["enrolled"] for r in summary.records if r["register"] != "all")
        assert every["coverage"] == pytest.approx(_value(city_app, "reg_disp_coverage", level, uid), abs=0.051)
        assert every["visits"] == pytest.approx(_value(city_app, "reg_visits_met", level, uid), abs=0.051)
        assert every["hosp_rate"] == pytest.approx(_value(city_app, "reg_hospitalisation", level, uid), abs=0.51)
        # the children of the unit for diabetes: each child's row is the indicator's value for that child
        units = _spec(city_app, "reg-units", {**params, "register": "dm"})
        assert units.records and units.params["register"] == "dm"
        child = {"region": "district", "district": "mo"}[level]
        worst = units.records[0]
        assert worst["controlled"] == pytest.approx(_value(city_app, "reg_dm_controlled", child, worst["child_id"]),
                                                    abs=0.051)
        judged = [r["controlled"] for r in units.records if r["controlled"] is not None and not r["note"]]
        assert judged == sorted(judged)  # the worst first: the problems stand out
        notes = [r["note"] for r in units.records if r["controlled"] is not None]
        assert notes == sorted(notes)  # values on too few observations («мало наблюдений») after the judged ones


def test_quality_and_volume_tables_equal_the_registry_indicators(city_app):
    district = city_app.places["kolpino"]["district_id"]
    params = {"level": "district", "id": district, "period": PERIOD}
    crit = _spec(city_app, "quality-criteria", params)
    assert [r["criterion"] for r in crit.records] == [c.code for c in R.CRITERIA]
    cases = sum(r["cases"] for r in crit.records)
    score = sum(r["score"] * r["cases"] / 100 for r in crit.records if r["score"] is not None)
    assert cases > 0
    assert score / cases * 100 == pytest.approx(_value(city_app, "quality_score", "district", district), abs=0.1)
    units = _spec(city_app, "quality-units", params)
    assert units.records
    first = units.records[0]
    assert first["score"] == pytest.approx(_value(city_app, "quality_score", "mo", first["child_id"]), abs=0.051)
    assert first["dm"] == pytest.approx(_value(city_app, "quality_dm", "mo", first["child_id"]), abs=0.051)
    # one criterion per organisation: its figures add up to the criteria table's row of the district
    per = _spec(city_app, "quality-criterion-units", {**params, "criterion": "dm_hba1c"})
    row = _row(crit, "criterion", "dm_hba1c")
    assert sum(r["cases"] for r in per.records) == row["cases"] > 0
    assert sum(r["failed"] for r in per.records) == row["failed"]
    vol = _spec(city_app, "vol-units", params)
    assert vol.records
    v = vol.records[0]
    assert v["visits_pct"] == pytest.approx(_value(city_app, "vol_visits_plan", "mo", v["child_id"]), abs=0.051)
    assert v["dispensary_pct"] == pytest.approx(_value(city_app, "vol_disp_plan", "mo", v["child_id"]), abs=0.051)
    months = _spec(city_app, "vol-months", params)
    assert len(months.records) == 9 and months.records[0]["month"] == "январь 2026"


def test_bad_parameters_are_explained(city_app):
    from components.tablespec import TableParamError
    for name, params, message in (("reg-units", {"register": "xx"}, "Регистр — один из"),
                                  ("quality-criterion-units", {}, "Укажите критерий"),
                                  ("quality-criterion-units", {"criterion": "nope"}, "Критерия «nope» нет"),
                                  ("reg-summary", {"period": "2026-13"}, "2026-13")):
        with pytest.raises(TableParamError, match=message):
            _spec(city_app, name, params)
    # volumes are planned per organisation: a doctor is explained, not an empty table
    _, doctor = _mo_with_patients(city_app, city_app.places["kolpino"]["district_id"])
    with pytest.raises(TableParamError, match="планируются по медицинской организации"):
        _spec(city_app, "vol-units", {"level": "doctor", "id": doctor})


# ---------------------------------------------------------------- patient-level tables: roles, scope, audit
def test_patient_lists_per_role_scope_and_audit(city_app):
    places = city_app.places
    kolpino, nevsky = places["kolpino"]["district_id"], places["nevsky"]["district_id"]
    mo, doctor = _mo_with_patients(city_app, kolpino)
    _, foreign_doctor = _mo_with_patients(city_app, nevsky)
    head = _client(city_app, "kolpino")
    before = _audited(city_app, "kolpino", "register-patients")
    r = head.get(f"/api/v1/registers/patients?level=doctor&id={doctor}&register=dm")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    rows = r.get_json()["rows"]
    assert rows and {"patient_id", "visits", "value", "controlled", "problems"} <= set(rows[0])
    assert _audited(city_app, "kolpino", "register-patients") == before + 1
    # the organisation's list too; the district's is not a list of patients
    assert head.get(f"/api/v1/registers/patients?level=mo&id={mo}").status_code == 200
    r = head.get(f"/api/v1/registers/patients?level=district&id={kolpino}")
    assert r.status_code == 400 and "врача или медицинской организации" in r.get_json()["error"]
    # another district's doctor: refused, and the refusal is audited as every refusal
    r = head.get(f"/api/v1/registers/patients?level=doctor&id={foreign_doctor}")
    assert r.status_code == 403 and "вне вашей области доступа" in r.get_json()["error"]
    # the committee and the analysts see the same patients as numbers only
    for who in ("chair", "analyst"):
        c = _client(city_app, who)
        r = c.get(f"/api/v1/registers/patients?level=doctor&id={doctor}")
        assert r.status_code == 403 and "руководителям районов" in r.get_json()["error"]
        assert c.get(f"/api/v1/quality/cases?level=mo&id={mo}&criterion=dm_hba1c").status_code == 403
        assert c.get(f"/export/table/reg-patients.csv?level=doctor&id={doctor}").status_code == 403
    assert _audited(city_app, "chair", "register-patients") == 0


def test_quality_cases_per_role_and_audit(city_app):
    places = city_app.places
    kolpino, nevsky = places["kolpino"]["district_id"], places["nevsky"]["district_id"]
    mo, _ = _mo_with_patients(city_app, kolpino)
    head = _client(city_app, "kolpino")
    before = _audited(city_app, "kolpino", "quality-cases")
    r = head.get(f"/api/v1/quality/cases?level=district&id={kolpino}&criterion=dm_hba1c&period={PERIOD}")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    rows = r.get_json()["rows"]
    assert _audited(city_app, "kolpino", "quality-cases") == before + 1
    # the failed cases are the figure of the table: cases not done (with a reason or without)
    crit = head.get(f"/api/v1/quality/criteria?level=district&id={kolpino}&period={PERIOD}").get_json()["rows"]
    hba1c = next(x for x in crit if x["name"] == R.CRITERION_BY_CODE["dm_hba1c"].name)
    assert len(rows) == hba1c["failed"] > 0
    assert {x["result"] for x in rows} <= {"не выполнено", "не выполнено, указана причина"}
    every = head.get(f"/api/v1/quality/cases?level=district&id={kolpino}&criterion=dm_hba1c&period={PERIOD}"
                     "&result=all").get_json()["rows"]
    assert len(every) == hba1c["cases"]
    assert head.get(f"/api/v1/quality/cases?level=mo&id={mo}&criterion=dm_hba1c").status_code == 200
    assert head.get(f"/api/v1/quality/cases?level=district&id={nevsky}&criterion=dm_hba1c").status_code == 403
    assert head.get(f"/api/v1/quality/cases?level=district&id={kolpino}").status_code == 400
    r = head.get(f"/api/v1/quality/cases?level=district&id={kolpino}&criterion=dm_hba1c&result=maybe")
    assert r.status_code == 400 and "Результат" in r.get_json()["error"]
    # a city-wide list of cases is not given even to a district head
    assert head.get("/api/v1/quality/cases?criterion=dm_hba1c").status_code == 400


# ---------------------------------------------------------------- API and exports
def test_api_parts_answer_and_refuse(city_app):
    c = _client(city_app, "analyst")
    for subject, parts in (("registers", ("summary", "units")),
                           ("quality", ("criteria", "units", "volumes", "volume-months"))):
        for part in parts:
            r = c.get(f"/api/v1/{subject}/{part}?period={PERIOD}")
            assert r.status_code == 200, (part, r.get_data(as_text=True)[:200])
            assert r.get_json()["rows"], part
    r = c.get(f"/api/v1/quality/criterion-units?criterion=ht_ecg&period={PERIOD}")
    assert r.status_code == 200 and r.get_json()["rows"]
    assert c.get("/api/v1/registers/units?register=xx").status_code == 400
    assert c.get("/api/v1/registers/units?period=2026-13").status_code == 400
    r = c.get("/api/v1/registers/units?icd=E11")
    assert r.status_code == 400 and "Неизвестные параметры" in r.get_json()["error"]
    r = c.get("/api/v1/registers/nope")
    assert r.status_code == 404 and "summary" in r.get_json()["error"]
    assert c.get("/api/v1/registers/units?level=district&id=999999").status_code == 404
    head = _client(city_app, "kolpino")
    nevsky = city_app.places["nevsky"]["district_id"]
    assert head.get(f"/api/v1/registers/units?level=district&id={nevsky}").status_code == 403
    assert head.get(f"/api/v1/quality/volumes?level=district&id={nevsky}").status_code == 403


def test_export_equals_screen(city_app):
    """The page's table, its CSV and the API answer carry the same rows, in the same order, as shown."""
    from components.export import _cell
    district = city_app.places["kolpino"]["district_id"]
    head = _client(city_app, "kolpino")
    tree = _render(head, f"?period={PERIOD}")
    shown = _tables(tree)["reg-units-table"]
    api = head.get(f"/api/v1/registers/units?level=district&id={district}&period={PERIOD}&register=dm").get_json()
    csv = head.get(f"/export/table/reg-units.csv?level=district&id={district}&period={PERIOD}&register=dm")
    assert csv.status_code == 200
    lines = [ln for ln in csv.get_data(as_text=True).lstrip("\ufeff").splitlines() if ln.strip()]
    cols = shown["columns"]
    assert lines[0].split(";") == [c["name"] for c in cols] == [c["name"] for c in api["columns"]]
    assert len(lines) - 1 == len(shown["data"]) == len(api["rows"]) > 0
    for line, row, arow in zip(lines[1:], shown["data"], api["rows"]):
        assert line.split(";") == [_cell(row.get(c["id"]), {**c, "format": _format(c)}) for c in cols]
        assert [arow[c["id"]] for c in cols] == [row.get(c["id"]) for c in cols]
    # the XLSX of the patients' list is the same list (and is audited as a view and an export)
    _, doctor = _mo_with_patients(city_app, district)
    before = _audited(city_app, "kolpino", "register-patients")
    x = head.get(f"/export/table/reg-patients.xlsx?level=doctor&id={doctor}&register=dm")
    assert x.status_code == 200 and x.data[:2] == b"PK"
    assert _audited(city_app, "kolpino", "register-patients") == before + 1


def _format(col: dict):
    """A column's number format from its JSON form (as the page receives it) back to a Format."""
    from dash.dash_table.Format import Format, Scheme
    f = col.get("format")
    if not f:
        return None
    decimals = int(re.search(r"\.(\d+)f", f["specifier"]).group(1))
    return Format(precision=decimals, scheme=Scheme.fixed).group(True)


# ---------------------------------------------------------------- the page per role
def test_page_opens_on_the_persons_own_unit_and_drills(city_app):
    from data_access import units as U
    places = city_app.places
    kolpino = places["kolpino"]["district_id"]
    mo, doctor = _mo_with_patients(city_app, kolpino)
    with city_app.app_context():
        district_name = U.unit("district", kolpino).name
        mo_name = U.unit("mo", mo).name
    head = _client(city_app, "kolpino")
    t = _page(head, "")
    assert district_name in t and "Сахарный диабет по организациям" in t and "Регистры заболеваний" in t
    assert "HbA1c &lt; 7 %" in t or "HbA1c < 7 %" in t
    t = _page(head, f"?level=mo&id={mo}&register=ht")
    assert mo_name in t and "Артериальная гипертония по врачам" in t
    # at a doctor: the register's patients for a district head, a note for the committee
    t = _page(head, f"?level=doctor&id={doctor}")
    assert "пациенты на наблюдении" in t
    chair = _client(city_app, "chair")
    t = _page(chair, f"?level=doctor&id={doctor}")
    assert "reg-no-patients" in t and "пациенты на наблюдении" not in t
    # the quality tab with a criterion: the organisations behind it and the failed cases
    t = _page(head, f"?tab=quality&criterion=dm_hba1c&period={PERIOD}")
    assert "quality-criterion-units-table" in t and "quality-cases-table" in t and "Критерии качества" in t
    t = _page(chair, f"?tab=quality&criterion=dm_hba1c&level=district&id={kolpino}&period={PERIOD}")
    assert "quality-criterion-units-table" in t and "quality-no-patients" in t and "quality-cases-table" not in t
    t = _page(head, "?tab=volumes")
    assert "Объёмы помощи против плана по организациям" in t
    t = _page(head, f"?tab=volumes&level=doctor&id={doctor}")
    assert "vol-level-note" in t
    # another district is refused; a bad parameter is explained in Russian
    t = _page(head, f"?level=district&id={places['nevsky']['district_id']}")
    assert "вне вашей области доступа" in t
    assert "Регистр — один из" in _page(head, "?register=xx")
    assert "Раздела «nope» нет" in _page(head, "?tab=nope")


def test_a_patient_list_view_on_the_page_is_audited(city_app):
    kolpino = city_app.places["kolpino"]["district_id"]
    _, doctor = _mo_with_patients(city_app, kolpino)
    head = _client(city_app, "kolpino")
    before = (_audited(city_app, "kolpino", "register-patients"), _audited(city_app, "kolpino", "quality-cases"))
    _page(head, f"?level=doctor&id={doctor}")
    _page(head, f"?tab=quality&criterion=dm_hba1c&level=doctor&id={doctor}&period={PERIOD}")
    assert (_audited(city_app, "kolpino", "register-patients"), _audited(city_app, "kolpino", "quality-cases")) == \
        (before[0] + 1, before[1] + 1)


# ---------------------------------------------------------------- docs
def test_docs_list_the_declarations():
    from reports.registers import criteria_markdown, registers_markdown
    doc = (Path(__file__).resolve().parent.parent / "docs" / "registers.md").read_text(encoding="utf-8")
    assert criteria_markdown() in doc and registers_markdown() in doc, \
        "regenerate the tables: python -c 'from reports.registers import *; print(registers_markdown(), " \
        "criteria_markdown())'"
    from metrics.registry import registry
    for group in ("registers", "quality", "volumes"):
        for ind in registry().by_group()[group]:
            assert f"(`{ind.code}`;" in doc, ind.code
