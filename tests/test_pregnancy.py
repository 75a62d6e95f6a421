"""Pregnancy monitoring: screening windows and overdue logic at the edges, the worklist's scope and audit."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from components.tablespec import build
from data_access import pregnancy as P
from data_access.app_schema import audit_log
from data_access.scope import CITY, Scope, ScopeError

AS_OF = dt.date(2026, 9, 15)


def preg(day: int, s1=None, s2=None, s3=None, outcome_day=None, last_visit_gap=None, risk="low", reg_day=60):
    """A pregnancy whose gestational age on AS_OF is ``day`` days; screening and other dates as days from the LMP."""
    lmp = AS_OF - dt.timedelta(days=day)

    def at(x):
        return None if x is None else lmp + dt.timedelta(days=x)
    return {"lmp_date": lmp, "registered_date": at(reg_day), "risk_group": risk,
            "screening1_date": at(s1), "screening2_date": at(s2), "screening3_date": at(s3), "outcome_date": at(outcome_day),
            "last_visit": None if last_visit_gap is None else AS_OF - dt.timedelta(days=last_visit_gap)}


def status(**kw):
    return P.statuses(pd.DataFrame([preg(**kw)]), AS_OF).iloc[0]


@pytest.mark.parametrize("day,s1,expected", [
    (76, None, "not_yet"),      # 10 weeks 6 days: the window has not opened
    (77, None, "open"),         # 11 weeks 0 days
    (104, None, "open"),        # 14 weeks 6 days: the last day of the window
    (105, None, "overdue"),     # 15 weeks 0 days: overdue from the day after the window
    (120, 104, "in_window"),    # done on the last day of the window
    (120, 77, "in_window"),     # done on the first day
    (120, 105, "late"),         # a day after the window
    (120, 76, "early"),         # a day before it
    (120, 130, "overdue"),      # a date after AS_OF has not happened yet
])
def test_first_trimester_window_edges(day, s1, expected):
    assert status(day=day, s1=s1)["s1"] == expected


def test_overdue_since_and_other_windows():
    r = status(day=160, s1=90)
    assert r["s1"] == "in_window" and r["s2"] == "overdue" and r["s3"] == "not_yet"
    lmp = AS_OF - dt.timedelta(days=160)
    assert r["s2_since"] == lmp + dt.timedelta(days=154)  # 22 weeks 0 days
    assert status(day=245, s1=80, s2=140, s3=244)["s3"] == "in_window"
    assert status(day=245, s1=80, s2=140)["s3"] == "overdue"


def test_a_pregnancy_ended_before_the_window_is_not_overdue():
    assert status(day=110, outcome_day=100)["s1"] == "na"


@pytest.mark.parametrize("day,gap,missed", [(150, 42, False), (150, 43, True), (215, 21, False), (215, 22, True),
                                             (253, 14, False), (253, 15, True)])
def test_visit_schedule(day, gap, missed):
    assert bool(status(day=day, s1=80, s2=140, last_visit_gap=gap)["visit_missed"]) is missed


def test_high_risk_without_a_recent_visit():
    assert bool(status(day=150, s1=80, risk="high", last_visit_gap=29)["high_risk_no_visit"]) is True
    assert bool(status(day=150, s1=80, risk="high", last_visit_gap=28)["high_risk_no_visit"]) is False
    assert bool(status(day=150, s1=80, risk="low", last_visit_gap=35)["high_risk_no_visit"]) is False
    # no visit yet: counted from registration
    assert status(day=150, s1=80, risk="high", reg_day=100)["days_since_visit"] == 50


# ---------------------------------------------------------------- on the generated city
def test_worklist_is_for_roles_with_patient_access(city_app):
    with city_app.app_context():
        d = city_app.places["kolpino"]["district_id"]
        with pytest.raises(ScopeError, match="руководителям районов"):
            P.worklist("district", d, AS_OF, CITY)  # the whole city, but no patient access
        everyone = P.worklist("region", None, AS_OF, Scope(patients=True))
        assert len(everyone) > 0 and everyone["problems"].str.len().min() > 0
        assert everyone["risk_code"].iloc[0] == "high" or (everyone["risk_code"] != "high").all()  # high risk first
        rows = P.worklist("district", d, AS_OF, Scope(districts=frozenset({d}), patients=True))
        from data_access import units as U
        own = set(U.organisations().query("district_id == @d")["short_name"])
        assert set(rows["mo"]) <= own
        assert set(rows["pregnancy_id"]) == set(everyone.loc[everyone["mo"].isin(own), "pregnancy_id"])


def test_worklist_api_scope_and_audit(client_as, city_app):
    own, other = city_app.places["kolpino"]["district_id"], city_app.places["nevsky"]["district_id"]
    with city_app.app_context():  # the shared app's log holds other tests' entries: only this test's count
        db = city_app.extensions["iam"]["db"]
        since = db.read_df(sa.select(sa.func.coalesce(sa.func.max(audit_log.c.audit_id), 0).label("m")))["m"].iloc[0]
    k = client_as("kolpino")
    res = k.get(f"/api/v1/pregnancy/worklist?level=district&id={own}&date=2026-09-15")
    assert res.status_code == 200 and {c["id"] for c in res.get_json()["columns"]} >= {"patient_id", "problems"}
    assert k.get(f"/api/v1/pregnancy/worklist?level=district&id={other}&date=2026-09-15").status_code == 403
    assert client_as("chair").get("/api/v1/pregnancy/worklist?level=region&date=2026-09-15").status_code == 403
    assert client_as("analyst").get(f"/export/table/preg-worklist.csv?level=district&id={own}").status_code == 403
    ok = k.get(f"/export/table/preg-worklist.xlsx?level=district&id={own}&date=2026-09-15")
    assert ok.status_code == 200
    with city_app.app_context():
        db = city_app.extensions["iam"]["db"]
        log = db.read_df(sa.select(audit_log).where(audit_log.c.action.in_(["view_patients", "export"]),
                                                    audit_log.c.audit_id > int(since)))
    views = log[(log["action"] == "view_patients") & (log["login"] == "kolpino")]
    assert len(views) >= 2 and views["object"].str.contains("pregnancy-worklist").all()
    assert ((log["action"] == "export") & log["object"].str.contains("preg-worklist")).any()
    bad = k.get(f"/api/v1/pregnancy/status?level=district&id={own}&weeks=50")
    assert bad.status_code == 400 and "недель" in bad.get_json()["error"]


def test_register_and_status_tables(city_app):
    with city_app.app_context():
        reg = build("preg-register", {"level": "region", "period": "2026-Q2"}, CITY).records
        assert len(reg) == 18 and sum(r["registered"] for r in reg) > 0
        st = build("preg-status", {"level": "region", "date": "2026-09-15"}, CITY).records
        assert sum(r["observed"] for r in st) == len(P.observed("region", None, AS_OF, CITY))


def test_an_adult_polyclinic_head_is_told_why_there_are_no_pregnancies(client_as, city_app):
    from tests.test_security import router
    text = router(client_as("glavvrach"), "/pregnancy").get_data()
    assert "не ведёт наблюдение беременных" in text
    assert "preg-register-table" not in text  # no city cards or empty tables under the explanation
    with city_app.app_context():
        from data_access import units as U
        org = U.organisations()
        consultation = int(org[org["kind"] == "womens_consultation"]["mo_id"].iloc[0])
        assert P.observes_pregnancies(city_app.places["glavvrach"]["mo_id"]) is False
        assert P.observes_pregnancies(consultation) is True


def test_a_woman_registered_after_the_window_is_not_overdue_for_it():
    """Registered at 16 weeks (day 112): the first-trimester window (to day 104) closed before — «не применим»,
    not «просрочен»; registered on its last day she still could have been screened — overdue."""
    assert status(day=120, reg_day=112)["s1"] == "na"
    assert status(day=120, reg_day=104)["s1"] == "overdue"
    assert status(day=120, reg_day=112, s1=118)["s1"] == "late"  # screened late all the same: shown as done
