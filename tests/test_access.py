"""Availability: working days across holidays, the norm per specialty, the nearest free slot,
doctors who cannot be booked."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa

from components.tablespec import build
from data_access import access as A
from data_access import marts as M
from data_access import schema
from data_access.scope import CITY
from data_access.setup import create_contract
from data_access.workcal import WorkCalendar, calendar_frame

CAL = WorkCalendar(dt.date(2024, 1, 1), dt.date(2027, 12, 31))
D = np.datetime64


@pytest.mark.parametrize("start,n,expected", [
    ("2025-12-30", 1, "2026-01-12"),   # 31 December and the New Year holidays to 11 January are off
    ("2026-01-09", 0, "2026-01-12"),   # 9 January 2026 is a transferred day off
    ("2025-10-31", 1, "2025-11-01"),   # Saturday 1 November 2025 was a working day (transfer)
    ("2025-11-01", 1, "2025-11-05"),   # 3 and 4 November are off
    ("2026-05-08", 1, "2026-05-12"),   # 9 May is a Saturday, the day off moves to Monday 11 May
    ("2026-03-06", 1, "2026-03-10"),   # 8 March is a Sunday: Monday 9 March is off
    ("2026-06-10", 14, "2026-07-01"),  # 12 June off: 14 working days reach 1 July
])
def test_working_days_follow_the_production_calendar(start, n, expected):
    assert CAL.add_working_days(D(start), n) == D(expected)


@pytest.mark.parametrize("a,b,expected", [("2025-12-29", "2026-01-16", 6), ("2025-12-30", "2026-01-16", 5),
                                          ("2026-04-27", "2026-05-15", 12), ("2026-11-02", "2026-11-09", 4)])
def test_working_days_between(a, b, expected):
    assert CAL.working_days_between(D(a), D(b)) == expected


def test_calendar_comes_from_the_holidays_library():
    f = calendar_frame(dt.date(2026, 1, 1), dt.date(2026, 12, 31)).set_index("day")
    assert f.loc[dt.date(2026, 6, 12), "holiday"] and not f.loc[dt.date(2026, 6, 12), "is_working"]
    assert f["is_working"].sum() == 247  # the 2026 production calendar: 247 working days


# ---------------------------------------------------------------- a hand-made polyclinic
T = dt.datetime


@pytest.fixture
def clinic(empty_db, make_app):
    db = empty_db
    create_contract(db)
    with db.engine.begin() as c:
        c.execute(schema.district.insert().values(district_id=1, name="Альфа", okato=None))
        c.execute(schema.mo.insert().values(mo_id=10, name="Поликлиника 10", short_name="Пол-ка 10", kind="adult_polyclinic",
                                            district_id=1, parent_mo_id=None, is_state=True, has_attachment=True, oid="x"))
        c.execute(schema.department.insert().values(dept_id=1, mo_id=10, name="Отделение", profile="specialists"))
        c.execute(schema.specialty.insert(), [
            dict(specialty_id=1, code="therapist", name="Врач-терапевт участковый", category="primary", wait_norm="h24"),
            dict(specialty_id=4, code="cardiologist", name="Врач-кардиолог", category="specialist", wait_norm="wd14"),
            dict(specialty_id=20, code="ultrasound", name="Врач УЗД", category="diagnostic", wait_norm="wd14")])
        c.execute(schema.doctor.insert(), [
            dict(doctor_id=d, full_name=n, sex="F", specialty_id=sp, mo_id=10, dept_id=1)
            for d, n, sp in ((1, "Терапевтова Анна Ивановна", 1), (2, "Кардиологова Вера Петровна", 4),
                             (3, "Закрытова Ольга Сергеевна", 4), (4, "Узиева Мария Олеговна", 20))])
        c.execute(schema.staff_position.insert(), [
            dict(position_id=i, mo_id=10, dept_id=1, specialty_id=sp, rate=1.0, doctor_id=d)
            for i, (sp, d) in enumerate(((1, 1), (4, 2), (4, 3), (20, 4), (4, None)), start=1)])
        c.execute(schema.patient.insert().values(patient_id=1, sex="F", birth_date=dt.date(1960, 1, 1), district_id=1,
                                                 attach_mo_id=10))
        c.execute(schema.visit.insert().values(visit_id=1, episode_id=1, visit_date=dt.date(2025, 12, 29), patient_id=1,
                                               doctor_id=1, dept_id=1, mo_id=10, icd10="J06.9", is_new_diagnosis=True,
                                               purpose="disease"))
        bookings = [  # (id, doctor, specialty, booked_at, slot_start, suspicion, status, within the norm?)
            (1, 1, 1, T(2025, 12, 26, 15), T(2025, 12, 29, 10), "none", "attended"),   # Friday → Monday: 67 h
            (2, 1, 1, T(2025, 12, 29, 9), T(2025, 12, 29, 16), "none", "attended"),    # the same day
            (3, 2, 4, T(2025, 12, 29, 10), T(2026, 1, 16, 10), "none", "attended"),    # 6 working days over New Year
            (4, 2, 4, T(2025, 12, 1, 10), T(2025, 12, 5, 10), "onco", "attended"),     # 4 working days, 3 allowed
            (5, 4, 20, T(2025, 12, 1, 10), T(2025, 12, 9, 10), "cvd", "no_show"),      # 6 working days, 7 allowed
            (6, 4, 20, T(2025, 12, 1, 10), T(2025, 12, 22, 10), "none", "attended"),   # 15 working days, 14 allowed
        ]
        c.execute(schema.slot.insert(), [dict(slot_id=b[0], doctor_id=b[1], mo_id=10, specialty_id=b[2], slot_start=b[4],
                                              duration_min=15, is_bookable=True, published_at=b[3] - dt.timedelta(days=1))
                                         for b in bookings])
        c.execute(schema.booking.insert(), [dict(booking_id=b[0], slot_id=b[0], patient_id=1, booked_at=b[3], slot_start=b[4],
                                                 channel="portal", specialty_id=b[2], doctor_id=b[1], mo_id=10,
                                                 suspicion=b[5], status=b[6]) for b in bookings])
        # the schedule after 1 February 2026: what is free as of that date
        free = [(101, 2, 4, T(2026, 2, 3, 9), True), (102, 2, 4, T(2026, 2, 5, 9), True),
                (103, 2, 4, T(2026, 2, 2, 9), False), (104, 1, 1, T(2026, 2, 24, 9), True),
                (105, 3, 4, T(2026, 2, 3, 10), False), (106, 4, 20, T(2026, 3, 30, 9), True)]
        c.execute(schema.slot.insert(), [dict(slot_id=i, doctor_id=d, mo_id=10, specialty_id=sp, slot_start=st,
                                              duration_min=15, is_bookable=ok, published_at=T(2026, 1, 1))
                                         for i, d, sp, st, ok in free])
        # slot 101 was booked on 20 January (taken as of 1 February); slot 102 only on 5 February (free then)
        c.execute(schema.booking.insert(), [
            dict(booking_id=201, slot_id=101, patient_id=1, booked_at=T(2026, 1, 20, 9), slot_start=T(2026, 2, 3, 9),
                 channel="portal", specialty_id=4, doctor_id=2, mo_id=10, suspicion="none", status="booked"),
            dict(booking_id=202, slot_id=102, patient_id=1, booked_at=T(2026, 2, 5, 8), slot_start=T(2026, 2, 5, 9),
                 channel="portal", specialty_id=4, doctor_id=2, mo_id=10, suspicion="none", status="booked")])
        c.execute(schema.calendar.insert(), calendar_frame(dt.date(2025, 1, 1), dt.date(2026, 12, 31)).to_dict("records"))
    M.build_marts(db)
    app = make_app(db)
    with app.app_context():
        yield db


def test_the_norm_of_each_booking(clinic):
    with clinic.engine.connect() as c:
        rows = c.execute(sa.select(M.mart_booking.c.doctor_id, M.mart_booking.c.suspicion,
                                   sa.func.sum(M.mart_booking.c.bookings), sa.func.sum(M.mart_booking.c.within_norm),
                                   sa.func.sum(M.mart_booking.c.within_24h))
                         .group_by(M.mart_booking.c.doctor_id, M.mart_booking.c.suspicion)).all()
    got = {(d, s): (int(b), int(w), int(h)) for d, s, b, w, h in rows}
    assert got[(1, "none")] == (2, 1, 1)      # only the same-day visit is within 24 hours
    assert got[(2, "none")] == (1, 1, 0)      # 6 working days across the New Year holidays: within 14
    assert got[(2, "onco")] == (1, 0, 0)      # suspected cancer: 4 working days is over the 3 allowed
    assert got[(4, "cvd")] == (1, 1, 0)       # diagnostics on suspicion: 6 of 7 working days
    assert got[(4, "none")] == (1, 0, 0)      # diagnostics: 15 working days is over 14
    spec = build("access-specialties", {"level": "mo", "id": 10, "period": "2025-12"}, CITY).records
    by = {r["specialty"]: r for r in spec}
    assert by["Врач-терапевт участковый"]["norm"] == "24 часа" and by["Врач-терапевт участковый"]["within"] == 50.0
    assert by["Врач УЗД"]["norm"].startswith("14 рабочих дней (7") and by["Врач УЗД"]["within"] == 50.0


def test_nearest_free_slot_as_of_a_date(clinic):
    df = A.nearest_free("mo", 10, None, dt.date(2026, 2, 1)).set_index("specialty_id")
    # the cardiologist: 2 Feb is not bookable, 3 Feb was booked on 20 January, 5 Feb was still free on 1 February
    assert df.loc[4, "slot_start"] == T(2026, 2, 5, 9) and df.loc[4, "working_days"] == 4 and not df.loc[4, "beyond_norm"]
    # the therapist's first free slot is 23 days away: beyond 24 hours
    assert df.loc[1, "beyond_norm"]
    # ultrasound: 30 March is beyond 14 working days
    assert df.loc[20, "working_days"] > 14 and df.loc[20, "beyond_norm"]
    table = build("access-nearest", {"level": "mo", "id": 10, "date": "2026-02-01"}, CITY).records
    assert [r["beyond"] for r in table if r["specialty"] == "Врач-кардиолог"] == [""]


def test_doctors_not_open_for_booking(clinic):
    df = A.not_bookable("mo", 10, None, dt.date(2026, 2, 1))
    state = {(r["full_name"] if r["full_name"] == r["full_name"] else None): r["state"] for r in df.to_dict("records")}
    assert state["Кардиологова Вера Петровна"] == "open"   # bookable slots within 14 days
    assert state["Закрытова Ольга Сергеевна"] == "closed"  # only a slot closed for booking
    assert state["Терапевтова Анна Ивановна"] == "closed"  # her first slot is 23 days away
    assert state[None] == "vacant"
    rows = build("access-not-bookable", {"level": "mo", "id": 10, "date": "2026-02-01"}, CITY).records
    card = next(r for r in rows if r["specialty"] == "Врач-кардиолог")
    assert (card["filled"], card["open"], card["closed"], card["vacant"]) == (2, 1, 1, 1)
    assert card["doctors"] == "Закрытова Ольга Сергеевна"


def test_access_api_and_scope(client_as, city_app):
    own = city_app.places["kolpino"]["district_id"]
    other = city_app.places["nevsky"]["district_id"]
    k = client_as("kolpino")
    for part in ("children", "specialties", "channels", "nearest", "not-bookable", "slots"):
        res = k.get(f"/api/v1/access/{part}?level=district&id={own}&period=2026-09")
        assert res.status_code == 200 and "rows" in res.get_json(), part
        assert k.get(f"/api/v1/access/{part}?level=district&id={other}&period=2026-09").status_code == 403
    assert k.get("/api/v1/access/nearest?level=district&id=1&date=01.02.2026").status_code in (400, 403)
    ch = client_as("chair").get("/api/v1/access/channels?level=region&period=2026-09").get_json()["rows"]
    assert abs(sum(r["share"] for r in ch) - 100) < 0.5


def test_a_slot_with_a_cancelled_booking_is_not_occupied(clinic):
    """«Занято» counts slots whose booking stands; a cancelled booking frees the slot (it is counted apart)."""
    with clinic.engine.begin() as c:
        c.execute(schema.slot.insert(), [dict(slot_id=i, doctor_id=1, mo_id=10, specialty_id=1, slot_start=T(2026, 5, d, 9),
                                              duration_min=15, is_bookable=True, published_at=T(2026, 4, 1))
                                         for i, d in ((301, 12), (302, 13), (303, 14))])
        c.execute(schema.booking.insert(), [
            dict(booking_id=i, slot_id=i, patient_id=1, booked_at=T(2026, 5, 5, 9), slot_start=T(2026, 5, d, 9),
                 channel="portal", specialty_id=1, doctor_id=1, mo_id=10, suspicion="none", status=st)
            for i, d, st in ((301, 12, "cancelled"), (302, 13, "attended"))])
        c.execute(schema.visit.insert().values(visit_id=2, episode_id=2, visit_date=dt.date(2026, 5, 13), patient_id=1,
                                               doctor_id=1, dept_id=1, mo_id=10, icd10="J06.9", is_new_diagnosis=True,
                                               purpose="disease"))  # the data now reach May
    M.build_marts(clinic, dt.date(2026, 5, 1))
    with clinic.engine.connect() as c:
        t = M.marts.tables["mart_slots"]
        row = c.execute(sa.select(*[sa.func.sum(t.c[k]) for k in ("slots", "booked", "attended", "cancelled")])
                        .where(t.c.month == dt.date(2026, 5, 1))).one()
    assert tuple(int(x) for x in row) == (3, 1, 1, 1)
