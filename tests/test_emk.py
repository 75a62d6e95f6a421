"""EHR completeness: coverage and timeliness arithmetic, silent organisations, exports equal the table."""
from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from components.tablespec import build
from data_access import emk as K
from data_access import marts as M
from data_access import reference, schema
from data_access import units as U
from data_access.scope import CITY
from data_access.setup import create_contract
from data_access.workcal import calendar_frame

T0 = dt.datetime(2026, 3, 10, 12, 0)


@pytest.fixture
def fixture_app(empty_db, make_app):
    """One polyclinic, one doctor, four closed episodes with hand-made documents."""
    db = empty_db
    create_contract(db)
    h = dt.timedelta(hours=1)
    with db.engine.begin() as c:
        c.execute(schema.district.insert().values(district_id=1, name="Альфа", okato=None))
        c.execute(schema.mo.insert().values(mo_id=10, name="Поликлиника 10", short_name="Пол-ка 10", kind="adult_polyclinic",
                                            district_id=1, parent_mo_id=None, is_state=True, has_attachment=True, oid="x"))
        c.execute(schema.department.insert().values(dept_id=1, mo_id=10, name="Терапия", profile="therapy"))
        c.execute(schema.specialty.insert().values(specialty_id=1, code="therapist", name="Терапевт", category="primary",
                                                   wait_norm="h24"))
        c.execute(schema.doctor.insert().values(doctor_id=100, full_name="Иванова Анна Петровна", sex="F", specialty_id=1,
                                                mo_id=10, dept_id=1))
        c.execute(schema.patient.insert(), [dict(patient_id=i, sex="F", birth_date=dt.date(1970, 1, 1), district_id=1,
                                                 attach_mo_id=10) for i in range(1, 5)])
        c.execute(schema.emd_kind.insert(), [dict(kind_code=k, name=n, basis=b) for k, n, b in reference.EMD_KINDS])
        c.execute(schema.emd_requirement.insert(), [dict(mo_kind=k, kind_code=x) for k, xs in reference.EMD_REQUIREMENTS.items()
                                                    for x in xs])
        c.execute(schema.care_episode.insert(), [
            dict(episode_id=i, patient_id=i, mo_id=10, dept_id=1, doctor_id=100, kind="outpatient", purpose="disease",
                 icd10="J06.9", is_new_diagnosis=True, opened_date=dt.date(2026, 3, 10), closed_date=dt.date(2026, 3, 10),
                 closed_at=T0, visits_count=1) for i in range(1, 5)])
        c.execute(schema.visit.insert(), [dict(visit_id=i, episode_id=i, visit_date=dt.date(2026, 3, 10), patient_id=i,
                                               doctor_id=100, dept_id=1, mo_id=10, icd10="J06.9", is_new_diagnosis=True,
                                               purpose="disease") for i in range(1, 5)])
        doc = dict(kind_code="EPI_AMB", patient_id=1, mo_id=10, doctor_id=100, rejection_reason=None)
        c.execute(schema.emd_document.insert(), [
            # registered 30 minutes after the episode closed
            dict(doc, doc_id=1, episode_id=1, created_at=T0 + 0.1 * h, signed_at=T0 + 0.2 * h, sent_at=T0 + 0.3 * h,
                 status="registered", status_at=T0 + 0.5 * h),
            # registered after 5 hours
            dict(doc, doc_id=2, episode_id=2, created_at=T0 + 1 * h, signed_at=T0 + 2 * h, sent_at=T0 + 4 * h,
                 status="registered", status_at=T0 + 5 * h),
            # rejected by the regional check after 2 days
            dict(doc, doc_id=3, episode_id=3, created_at=T0 + 1 * h, signed_at=T0 + 2 * h, sent_at=T0 + 30 * h,
                 status="rejected_regional", status_at=T0 + 48 * h, rejection_reason="Отсутствует СНИЛС пациента"),
            # episode 4 has no document at all
        ])
    with db.engine.begin() as c:
        c.execute(schema.calendar.insert(), calendar_frame(dt.date(2026, 1, 1), dt.date(2026, 12, 31)).to_dict("records"))
    M.build_marts(db)
    app = make_app(db)
    with app.app_context():
        yield app


def test_coverage_funnel_and_timeliness_arithmetic(fixture_app):
    params = {"level": "district", "id": 1, "period": "2026-03"}
    cov = build("emk-coverage", params, CITY)
    row = cov.records[0]
    assert row["name"] == "Пол-ка 10" and row["required"] == 4 and row["registered"] == 2
    assert row["EPI_AMB"] == 50.0 and row["coverage"] == 50.0 and row["target"] == 95
    fun = build("emk-funnel", params, CITY).records[0]
    assert (fun["created"], fun["signed"], fun["sent"], fun["registered"], fun["rejected_regional"]) == (3, 3, 3, 2, 1)
    assert fun["registered_share"] == pytest.approx(66.7, abs=0.05)
    tim = build("emk-timeliness", params, CITY).records[0]
    assert tim["created"] == 3 and tim["sent_1d"] == pytest.approx(66.7, abs=0.05)  # the third waited 29 hours
    assert tim["reg_lt1h"] == 50.0 and tim["reg_lt24h"] == 50.0 and tim["reg_lt3d"] == 0
    assert tim["rejected"] == pytest.approx(33.3, abs=0.05)
    reasons = build("emk-reasons", params, CITY).records
    assert reasons == [{"status": "Не прошёл региональный ФЛК", "reason": "Отсутствует СНИЛС пациента", "docs": 1,
                        "share": 100.0}]
    # the doctor level: one doctor, the same numbers
    doc = build("emk-coverage", {"level": "dept", "id": 1, "period": "2026-03"}, CITY).records
    assert doc[0]["name"] == "Иванова Анна Петровна" and doc[0]["coverage"] == 50.0


def test_silent_periods_on_a_fixture():
    days = [dt.date(2026, 3, d) for d in (2, 3, 4, 5, 6, 10, 11, 12, 13)]  # working days (8–9 March are off)
    rows = []
    for d in days:
        rows.append(dict(unit_id=1, name="Молчит", day=d, created=20, sent=0 if d <= dt.date(2026, 3, 10) else 18))
        rows.append(dict(unit_id=2, name="Работает", day=d, created=20, sent=19))
        rows.append(dict(unit_id=3, name="Два дня", day=d, created=5, sent=0 if d in days[:2] else 5))
        if d.day % 3 == 0:  # a small clinic: a document now and then, sent in batches — not an alarm
            rows.append(dict(unit_id=4, name="Маленькая", day=d, created=1, sent=0))
    rows.append(dict(unit_id=4, name="Маленькая", day=days[-1], created=0, sent=3))
    out = K.silent_periods(pd.DataFrame(rows), days)
    assert out["name"].tolist() == ["Молчит"]
    r = out.iloc[0]
    assert (r["first"], r["last"], r["working_days"], r["created"]) == (dt.date(2026, 3, 2), dt.date(2026, 3, 10), 6, 120)


def test_silent_periods_most_severe_first():
    """Documents unsent × working days silent orders the list, not the date the silence ended."""
    days = [dt.date(2026, 3, d) for d in (2, 3, 4, 5, 6, 10, 11, 12, 13)]
    rows = []
    for d in days:
        # a polyclinic silent 6 working days with 27 documents a day (162 unsent) that ended earlier …
        rows.append(dict(unit_id=1, name="Поликлиника", day=d, created=27, sent=0 if d <= dt.date(2026, 3, 10) else 27))
        # … and a clinic holding one document a day for the last 3 working days
        rows.append(dict(unit_id=2, name="Клиника", day=d, created=1, sent=0 if d >= dt.date(2026, 3, 11) else 1))
    out = K.silent_periods(pd.DataFrame(rows), days)
    assert out["name"].tolist() == ["Поликлиника", "Клиника"]
    assert out["severity"].tolist() == [162 * 6, 3 * 3]


def test_the_silent_polyclinic_of_the_last_month_is_found(city_app):
    with city_app.app_context():
        spec = build("emk-silent", {"level": "region", "id": None, "period": "2026-09"}, CITY)
        org = U.organisations().set_index("short_name")
    # the generator stops one adult polyclinic for six working days in the last month
    hits = [r for r in spec.records if r["working_days"] >= 5 and org.loc[r["name"], "kind"] == "adult_polyclinic"]
    assert hits and all(r["created"] > 0 for r in hits)


@pytest.mark.parametrize("name", ["emk-coverage", "emk-funnel", "emk-timeliness", "emk-reasons", "emk-silent"])
def test_exports_equal_the_table(client_as, city_app, name):
    c = client_as("chair")
    params = {"level": "district", "id": city_app.places["kolpino"]["district_id"], "period": "2026-09"}
    with city_app.app_context():
        spec = build(name, params, CITY)
    q = "&".join(f"{k}={v}" for k, v in params.items())
    res = c.get(f"/export/table/{name}.csv?{q}")
    assert res.status_code == 200 and res.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == [col["name"] for col in spec.columns]
    assert len(rows) - 1 == len(spec.records)
    from core import fmt
    for got, rec in zip(rows[1:], spec.records):
        for cell, col in zip(got, spec.columns):
            v = rec.get(col["id"])
            if col.get("type") == "numeric":
                d = int(col["format"].to_plotly_json()["specifier"].split(".")[-1][0])
                assert cell == ("" if v is None else fmt.number(v, d).replace("\u00a0", " ").replace("−", "-"))
            else:
                assert cell == ("" if v is None else str(v))
    x = c.get(f"/export/table/{name}.xlsx?{q}")
    ws = openpyxl.load_workbook(io.BytesIO(x.data)).active
    assert [cell.value for cell in ws[3]] == [col["name"] for col in spec.columns]
    values = [[cell.value for cell in row] for row in ws.iter_rows(min_row=4)]
    assert values == [[rec.get(col["id"]) for col in spec.columns] for rec in spec.records]


def test_emk_api_and_scope(client_as, city_app):
    own = city_app.places["kolpino"]["district_id"]
    other = city_app.places["nevsky"]["district_id"]
    k = client_as("kolpino")
    body = k.get(f"/api/v1/emk/coverage?level=district&id={own}&period=2026-09").get_json()
    assert body["rows"] and {c["id"] for c in body["columns"]} >= {"name", "coverage", "target"}
    assert k.get(f"/api/v1/emk/coverage?level=district&id={other}&period=2026-09").status_code == 403
    assert k.get(f"/export/table/emk-coverage.csv?level=district&id={other}&period=2026-09").status_code == 403
    city = k.get("/api/v1/emk/coverage?level=region&period=2026-09").get_json()["rows"]
    assert [r["id"] for r in city] == [own]  # only their district in the city list
    for url, status in (("/api/v1/emk/nothing", 404), ("/api/v1/emk/coverage?level=ward", 400),
                        ("/api/v1/emk/coverage?level=mo&id=abc", 400), ("/api/v1/emk/reasons?level=doctor&id=1", 400)):
        assert k.get(url).status_code in (status, 403), url


@pytest.mark.parametrize("cell, state, expected", [
    ({"column_id": "name", "row_id": 7}, {"child": "mo"}, 7),
    ({"column_id": "name", "row_id": "12"}, {"child": "doctor"}, 12),
    ({"column_id": "name", "row_id": 0}, {"child": "mo"}, 0),
    ({"column_id": "value", "row_id": 7}, {"child": "mo"}, None),  # another column
    ({"column_id": "name", "row_id": 7}, {"child": None}, None),  # the finest level
    ({"column_id": "name"}, {"child": "mo"}, None),  # a row without an id
    (None, {"child": "mo"}, None),
    ({"column_id": "name", "row_id": 7}, None, None),
])
def test_a_click_drills_down_only_from_the_name_of_a_unit(cell, state, expected):
    from components.table import drilled_row
    assert drilled_row(cell, state) == expected
