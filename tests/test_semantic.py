"""The semantic layer: levels and scope declared once, the one query, the same district row everywhere."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import marts as M
from data_access import units as U
from data_access.scope import Scope, ScopeError
from metrics import query as Q

SEP, AUG, JUL = dt.date(2026, 9, 1), dt.date(2026, 8, 1), dt.date(2026, 7, 1)


def mart_frame(db, name: str) -> pd.DataFrame:
    df = db.read_df(sa.select(M.marts.tables[name]))
    df["month"] = pd.to_datetime(df["month"]).dt.date
    return df


def test_a_query_equals_the_mart_summed_by_hand(city_app):
    db = city_app.extensions["iam"]["db"]
    raw = mart_frame(db, "mart_booking")
    with city_app.app_context():
        d = int(U.districts()["district_id"].iloc[3])
        district = U.unit("district", d)
        q = Q.Query(("mart_booking.bookings", "primary_bookings"), ("child", "spec_category"), district, "access",
                    (("cur", (SEP,)), ("prev", (AUG, JUL))))
        got = Q.run(q, Scope())
    sub = raw[(raw["district_id"] == d) & raw["month"].isin([SEP, AUG, JUL])].copy()
    sub["tag"] = sub["month"].map({SEP: "cur", AUG: "prev", JUL: "prev"})
    sub["primary"] = sub["bookings"].where(sub["spec_category"] == "primary", 0)
    want = sub.groupby(["mo_id", "spec_category", "tag"])[["bookings", "primary"]].sum().reset_index()
    merged = want.merge(got, left_on=["mo_id", "spec_category", "tag"], right_on=["child_id", "spec_category", "tag"],
                        suffixes=("_want", ""))
    assert len(merged) == len(want) == len(got) > 10
    assert (merged["bookings_want"] == merged["bookings"]).all()
    assert (merged["primary"] == merged["primary_bookings"]).all()
    assert got["child_name"].notna().all()


def test_a_stock_counts_the_last_month_of_each_period_and_each_month_by_month(city_app):
    db = city_app.extensions["iam"]["db"]
    raw = mart_frame(db, "mart_staff")
    with city_app.app_context():
        per = Q.run(Q.months_query(["filled_bookable"], (), U.CITY, months=(JUL, AUG, SEP)), Scope())
        monthly = Q.run(Q.months_query(["filled_bookable"], ("month",), U.CITY, months=(JUL, AUG, SEP)), Scope())
    cats = ["primary", "specialist", "obstetric", "diagnostic"]
    want = raw[raw["spec_category"].isin(cats)].groupby("month")["filled"].sum()
    assert per["filled_bookable"].iloc[0] == want[SEP]
    by_month = dict(zip(pd.to_datetime(monthly["month"]).dt.date, monthly["filled_bookable"]))
    assert by_month == {m: want[m] for m in (JUL, AUG, SEP)}


def test_the_scope_filters_rows_at_their_grain(city_app):
    """An MO head sees his district whole (as a unit containing his scope) but only his own organisation in it."""
    places = city_app.places["glavvrach"]
    head = Scope(districts=frozenset({places["district_id"]}), mos=frozenset({places["mo_id"]}), patients=True)
    with city_app.app_context():
        district = U.unit("district", places["district_id"])
        total = lambda scope: Q.run(Q.months_query(["mart_booking.bookings"], (), district, months=(SEP,)), scope)  # noqa: E731
        by_child = Q.run(Q.months_query(["mart_booking.bookings"], ("child",), district, months=(SEP,)), head)
        assert total(head)["bookings"].iloc[0] == total(Scope())["bookings"].iloc[0] > 0
        assert by_child["child_id"].tolist() == [places["mo_id"]]
        other = next(i for i in U.districts()["district_id"] if i != places["district_id"])
        with pytest.raises(ScopeError):
            U.require(head, U.unit("district", int(other)))
        t = M.marts.tables["mart_booking"]
        sql = " ".join(str(c.compile(compile_kwargs={"literal_binds": True})) for c in U.scope_where(t, head, "doctor"))
        assert "district_id IN" in sql and "mo_id IN" in sql
        assert U.scope_where(t, head, "region") == []
        with pytest.raises(ValueError):  # a table that cannot be scoped is an error, never an unfiltered answer
            U.scope_where(M.marts.tables["mart_emd_reject"].alias("x").select().with_only_columns(
                M.marts.tables["mart_emd_reject"].c.month).subquery(), head, "mo")


def test_levels_lineage_and_home(city_app):
    places = city_app.places["glavvrach"]
    with city_app.app_context():
        mo = U.unit("mo", places["mo_id"])
        doctors = U.doctors_of(mo.id)
        doc = U.node("doctor", int(doctors["doctor_id"].iloc[0]), path="emk")
        assert [u.level for u in U.lineage(doc, "emk")] == ["region", "district", "mo", "dept", "doctor"]
        assert [u.level for u in U.lineage(doc, "access")] == ["region", "district", "mo", "spec", "doctor"]
        assert [u.level for u in U.lineage(doc)] == ["region", "district", "mo", "doctor"]
        assert U.lineage(doc, "access")[3].mo_id == mo.id
        assert U.home(Scope(districts=frozenset({mo.district_id}), mos=frozenset({mo.id}))) == mo
        assert U.home(Scope(districts=frozenset({mo.district_id}))).level == "district"
        assert U.home(Scope(districts=frozenset({mo.district_id}), mos=frozenset({mo.id})), "morbidity") == mo
        assert U.home(Scope()) == U.CITY
        with pytest.raises(U.UnitError, match="допустимы"):
            U.node("dept", 1, path="access")
        with pytest.raises(U.UnitNotFound):
            U.node("mo", 999999)
        with pytest.raises(U.UnitError, match="числами"):
            U.node("mo", "abc")


# the district row of each subject's table against the indicator page for the same indicator
AGREEMENT = [
    ("/api/v1/emk/coverage?level=region&period=2026-Q2", "coverage", "emk_coverage"),
    ("/api/v1/access/children?level=region&period=2026-Q2", "primary_24h", "access_primary_24h"),
    ("/api/v1/pregnancy/register?level=region&period=2026-Q2", "lt12", "mat_registered_12w"),
    ("/api/v1/morbidity/places?level=region&period=2026-Q2", "crude", "morb_total_100k"),
]


@pytest.mark.parametrize("login", ["kolpino", "glavvrach", "chair"])
@pytest.mark.parametrize("url,column,code", AGREEMENT)
def test_the_district_row_agrees_with_the_indicator_page(client_as, city_app, login, url, column, code):
    c = client_as(login)
    rows = [r for r in c.get(url).get_json()["rows"] if r["id"] > 0]  # not the city shown as a standard
    ind = {r["unit_id"]: r for r in c.get(f"/api/v1/indicators/{code}?level=district&period=2026-Q2").get_json()["rows"]}
    own = city_app.places[login]["district_id"]
    if own is not None:
        assert {r["id"] for r in rows} == {own} == set(ind)  # only the person's district, counted whole
    assert len(rows) >= 1
    for r in rows:
        assert r[column] == pytest.approx(ind[r["id"]]["value"], abs=0.051), r
