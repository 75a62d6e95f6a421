"""Prevention and screening: the declared rules at their edges, the marts against an independent
pandas computation from the raw tables (both engines), the indicators, the page per role, the API
and the exports."""
from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest
import sqlalchemy as sa

from core import prevention as R
from data_access import marts as M
from tests.conftest import csrf_header, login
from tests.helpers import frame
from tests.test_scope_views import router_body


# ---------------------------------------------------------------- rules
def test_due_dates_at_the_edges():
    # 12 months after a leap day is the last day of February; DTP2 adds its 15 days after the months
    assert R.DOSES["MMR1"].due(dt.date(2024, 2, 29)) == dt.date(2025, 2, 28)
    assert R.DOSES["MMR1"].assess(dt.date(2024, 2, 29)) == dt.date(2026, 2, 28)
    assert R.DOSES["DTP2"].due(dt.date(2024, 1, 31)) == dt.date(2024, 5, 31) + dt.timedelta(days=15)
    assert R.DOSES["BCG"].due(dt.date(2025, 12, 30)) == dt.date(2026, 1, 2)
    assert R.DOSES["HEPB1"].due(dt.date(2025, 3, 1)) == dt.date(2025, 3, 1)
    # dispensarisation by the age reached in the year: every 3 years at 18–39, yearly from 40
    assert [a for a in range(17, 43) if R.disp_due(a)] == [18, 21, 24, 27, 30, 33, 36, 39, 40, 41, 42]
    assert R.age_in_year(dt.date(1986, 12, 31), 2026) == 40
    assert R.band_of(17) == "15-17" and R.band_of(18) == "18-34" and R.band_of(75) == "75+" and R.band_of(74) == "65-74"


def test_screening_rules():
    s = R.SCREENING_BY_CODE
    assert [a for a in range(16, 70) if s["cytology"].due_in_year(a, "F")] == list(range(18, 65, 3))
    assert not s["cytology"].due_in_year(18, "M")
    assert [a for a in range(38, 80) if s["fobt"].due_in_year(a, "M")] == list(range(40, 65, 2)) + list(range(65, 76))
    assert [a for a in range(40, 70) if s["psa"].due_in_year(a, "M")] == [45, 50, 55, 60, 64]
    assert [a for a in range(40, 50) if s["egds"].due_in_year(a, "F")] == [45]
    assert s["mammography"].who == "женщины 40–75 лет раз в 2 года"


def test_calendar_is_consistent():
    for d in R.CALENDAR:
        assert d.assess_months * 31 >= d.months * 31 + d.days, d.code  # assessed at or after the due age
        if d.previous:
            prev = R.DOSES[d.previous]
            assert prev.series == d.series and (prev.months, prev.days) <= (d.months, d.days), d.code
    assert R.DOSES["DTP2"].due_label == "4,5 мес." and R.DOSES["MMR2"].due_label == "6 лет"


# ---------------------------------------------------------------- marts against pandas
def _mart(db, name) -> pd.DataFrame:
    df = db.read_df(sa.select(M.marts.tables[name]))
    df["month"] = pd.to_datetime(df["month"])
    return df


def _month(s: pd.Series) -> pd.Series:
    return s.dt.to_period("M").dt.to_timestamp()


@pytest.fixture(scope="module")
def raw(city):
    _, db = city
    out = {t: frame(db, t) for t in ("patient", "vaccination", "vaccination_exemption", "dispensary_exam",
                                     "cancer_screening", "prevention_plan_band", "mo")}
    for t, cols in (("vaccination_exemption", ("start_date", "end_date")), ("cancer_screening", ("followup_date",))):
        for c in cols:
            out[t][c] = pd.to_datetime(out[t][c])
    return out


def _expected_cohorts(raw, months) -> pd.DataFrame:
    """Per month, MO, area doctor and dose: cohort and the person-level counts, computed in pandas."""
    p = raw["patient"].dropna(subset=["attach_mo_id"]).copy()
    v = raw["vaccination"]
    ex = raw["vaccination_exemption"]
    first = v.groupby(["patient_id", "vaccine"])["vacc_date"].min()
    rows = []
    for d in R.CALENDAR:
        s0 = d
        while s0.previous:
            s0 = R.DOSES[s0.previous]
        assess = p["birth_date"] + pd.DateOffset(months=d.assess_months)
        timely = p["birth_date"] + pd.DateOffset(months=d.months) + pd.Timedelta(days=d.days + R.TIMELY_DAYS)
        keep = _month(assess).isin(months)
        q, assess, timely = p[keep], assess[keep], timely[keep]
        got = pd.Series([first.get((pid, d.code), pd.NaT) for pid in q["patient_id"]], index=q.index)
        got0 = pd.Series([first.get((pid, s0.code), pd.NaT) for pid in q["patient_id"]], index=q.index)
        covered, started = got.notna() & (got <= assess), got0.notna() & (got0 <= assess)

        def exempt(kind, q=q, assess=assess, d=d):
            e = ex[(ex["kind"] == kind) & (ex["vaccine"].isna() | ex["vaccine"].isin([d.code, d.series]))]
            m = q[["patient_id"]].assign(on=assess).reset_index().merge(e, on="patient_id")
            m = m[(m["start_date"] <= m["on"]) & (m["end_date"].isna() | (m["end_date"] >= m["on"]))]
            return q.index.isin(m["index"])
        rows.append(pd.DataFrame({"month": _month(assess), "mo_id": q["attach_mo_id"].astype(int), "vaccine": d.code,
                                  "cohort": 1, "covered": covered.astype(int),
                                  "covered_timely": (got.notna() & (got <= timely)).astype(int),
                                  "started": started.astype(int), "dropped": (started & ~covered).astype(int),
                                  "refused": exempt("refusal").astype(int), "exempt": exempt("medical").astype(int)}))
    return pd.concat(rows).groupby(["month", "mo_id", "vaccine"]).sum()


def test_vaccination_cohorts_equal_a_pandas_computation(city, raw):
    _, db = city
    m = _mart(db, "mart_vaccination")
    months = m["month"].unique()
    got = m[m["cohort"] > 0].groupby(["month", "mo_id", "vaccine"])[
        ["cohort", "covered", "covered_timely", "started", "dropped", "refused", "exempt"]].sum()
    want = _expected_cohorts(raw, months)
    assert len(want) > 100 and want["cohort"].sum() > 1000
    pd.testing.assert_frame_equal(got.sort_index(), want[got.columns].sort_index(), check_dtype=False,
                                  check_index_type=False)
    # the series really drop out somewhere, and some children are under a refusal: the test can fail
    assert want["dropped"].sum() > 0 and want["covered"].sum() < want["cohort"].sum()


def test_doses_delays_and_adult_booster(city, raw):
    _, db = city
    m = _mart(db, "mart_vaccination")
    v, p = raw["vaccination"], raw["patient"].set_index("patient_id")
    months = m["month"].unique()
    vm = v[_month(v["vacc_date"]).isin(months)]
    assert m.groupby("vaccine")["doses"].sum().loc[vm["vaccine"].unique()].sort_index().tolist() == \
        vm.groupby("vaccine").size().sort_index().tolist()
    # delays: days from the due age to the dose, 0 when early, capped
    dl = _mart(db, "mart_vacc_delay")
    for code in ("DTP1", "DTP2", "BCG"):  # months only, months and days, days only
        d = R.DOSES[code]
        x = vm[vm["vaccine"] == code]
        due = pd.Series(p.loc[x["patient_id"], "birth_date"].to_numpy()) + pd.DateOffset(months=d.months) \
            + pd.Timedelta(days=d.days)
        days = (pd.Series(x["vacc_date"].to_numpy()) - due).dt.days.clip(0, 181)
        want = pd.Series(days).value_counts().sort_index()
        got = dl[dl["vaccine"] == code].groupby("delay_days")["doses"].sum().sort_index()
        assert len(x) > 0 and got.to_dict() == {int(k): int(n) for k, n in want.items()}, code
    # the adult booster on the last month: adults attached and those with ADSM within 10 years
    last = months.max()
    end = last + pd.offsets.MonthEnd(0)
    adults = raw["patient"].dropna(subset=["attach_mo_id"])
    adults = adults[adults["birth_date"] <= end - pd.DateOffset(years=18)]
    a = v[(v["vaccine"] == "ADSM") & (v["vacc_date"] > end - pd.DateOffset(years=10)) & (v["vacc_date"] <= end)]
    row = m[(m["month"] == last) & (m["vaccine"] == "ADSM")]
    assert row["adults"].sum() == len(adults)
    assert row["adults_boosted"].sum() == adults["patient_id"].isin(a["patient_id"]).sum() > 0


def test_dispensarisation_bands_and_stage2(city, raw):
    _, db = city
    band = _mart(db, "mart_prevention_band")
    x = raw["dispensary_exam"].merge(raw["patient"][["patient_id", "birth_date", "sex"]], on="patient_id")
    months = band["month"].unique()
    x = x[_month(x["stage1_end"]).isin(months)]
    age = x["stage1_end"].dt.year - x["birth_date"].dt.year
    x = x.assign(age_band=[R.band_of(int(a)) for a in age], month=_month(x["stage1_end"]))
    want = x.groupby(["month", "mo_id", "program", "age_band", "sex"]).size()
    got = band[band["stage1_done"] > 0].groupby(["month", "mo_id", "program", "age_band", "sex"])["stage1_done"].sum()
    assert got.sort_index().to_dict() == want.sort_index().to_dict()
    # the plan by band sums to the plan; attached on 1 January by the age reached in the year
    plan = raw["prevention_plan_band"]
    jan = band[band["month"].dt.month == 1]
    y = int(jan["month"].dt.year.max())
    assert jan[jan["month"].dt.year == y]["plan_year"].sum() == plan[plan["year"] == y]["planned"].sum() > 0
    p = raw["patient"].dropna(subset=["attach_mo_id"])
    p = p[p["birth_date"] < pd.Timestamp(y, 1, 1)]
    bands = pd.Series([R.band_of(int(a)) for a in y - p["birth_date"].dt.year], index=p.index)
    att = band[(band["month"] == pd.Timestamp(y, 1, 1)) & band["program"].isna()]
    assert att.groupby("age_band")["attached"].sum().to_dict() == bands.value_counts().to_dict()
    # stage 2 by the month of stage 1
    pm = _mart(db, "mart_prevention")
    xr = raw["dispensary_exam"]
    xr = xr[_month(xr["stage1_end"]).isin(pm["month"].unique())]
    for col, res in (("stage2_full", "full"), ("stage2_partial", "partial"), ("stage2_none", "none")):
        assert pm[col].sum() == (xr["stage2_result"] == res).sum()
    assert pm["stage2_full"].sum() > 0 and pm["pathology"].sum() == xr["pathology_found"].fillna(False).sum()


def test_screening_equal_a_pandas_computation(city, raw):
    _, db = city
    sm = _mart(db, "mart_screening")
    c = raw["cancer_screening"]
    months = sm["month"].unique()
    c = c[_month(c["test_date"]).isin(months)]
    for sc in R.SCREENINGS:
        t = c[c["test"] == sc.code]
        pos = t["result"] == "pathology"
        in_time = pos & t["followup_date"].notna() & (t["followup_date"] <= t["test_date"] + pd.Timedelta(days=sc.followup_days))
        g = sm[sm["test"] == sc.code]
        assert (g["tests"].sum(), g["positives"].sum(), g["followed_up"].sum()) == (len(t), pos.sum(), in_time.sum())
    # the yearly target: attached people due in the year, a twelfth on each month
    y = int(pd.Timestamp(months.max()).year)
    p = raw["patient"].dropna(subset=["attach_mo_id"])
    p = p[p["birth_date"] < pd.Timestamp(y, 1, 1)]
    sc = R.SCREENING_BY_CODE["mammography"]
    due = sum(sc.due_in_year(y - b.year, s) for b, s in zip(p["birth_date"], p["sex"]))
    got = sm[(sm["test"] == "mammography") & (sm["month"] == pd.Timestamp(y, 1, 1))]["target_month"].sum()
    assert got == pytest.approx(due / 12) and due > 0
    assert sm["positives"].sum() > sm["followed_up"].sum() > 0


def test_indicators_are_ratios_of_the_marts(city_app):
    from core.periods import parse_period
    from metrics import evaluate as E
    db = city_app.extensions["iam"]["db"]
    with city_app.app_context():
        per = parse_period("2026")
        m = _mart(db, "mart_vaccination")
        m = m[(m["month"].dt.year == 2026) & (m["vaccine"] == "DTP3")]
        v = E.unit_value("prev_dtp3_coverage", "region", None, per)
        assert v["value"] == pytest.approx(m["covered"].sum() / m["cohort"].sum() * 100)
        v = E.unit_value("prev_dtp_dropout", "region", None, per)
        assert v["value"] == pytest.approx(m["dropped"].sum() / m["started"].sum() * 100)
        s = _mart(db, "mart_screening")
        s = s[s["month"].dt.year == 2026]
        v = E.unit_value("prev_screening_followup", "region", None, per)
        assert v["value"] == pytest.approx(s["followed_up"].sum() / s["positives"].sum() * 100)


# ---------------------------------------------------------------- the page, API and exports per role
def _client(app, who):
    c = app.test_client()
    assert login(c, who).status_code == 302
    c.get("/_dash-dependencies")  # the first request registers the pages' callbacks on this app
    return c


def _page(c, query: str):
    r = c.post("/_dash-update-component", json=router_body("/prevention", query), headers=csrf_header(c))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    # the visible text and the tables' data: both are what the person sees
    return json.dumps(r.get_json()["response"]["_pages_content"]["children"], ensure_ascii=False)


def test_page_opens_on_the_persons_own_unit(city_app):
    places = city_app.places
    with city_app.app_context():
        from data_access import units as U
        kolpino = U.unit("district", places["kolpino"]["district_id"]).name
        mo = U.unit("mo", places["glavvrach"]["mo_id"]).name
    t = (_page(_client(city_app, "kolpino"), ""))
    assert kolpino in t and "Национальный календарь прививок" in t and "Охват прививками" in t
    t = (_page(_client(city_app, "glavvrach"), "?tab=dispensary"))
    assert mo in t and "Форма № 131/о, таблица 1000" in t
    t = (_page(_client(city_app, "chair"), "?tab=screening"))
    assert "Онкоскрининг" in t and "Цитология шейки матки" in t
    # another district is refused to a district manager
    other = places["nevsky"]["district_id"]
    t = (_page(_client(city_app, "kolpino"), f"?level=district&id={other}"))
    assert "вне вашей области доступа" in t


def test_worklist_per_role_and_audit(city_app):
    places = city_app.places
    mo = places["glavvrach"]["mo_id"]
    db = city_app.extensions["iam"]["db"]
    head = _client(city_app, "glavvrach")

    def audited():
        with db.engine.connect() as c:
            return c.execute(sa.text("select count(*) from audit_log where action = 'view_patients' and "
                                     "login = 'glavvrach' and object like 'prevention-worklist%'")).scalar()
    before = audited()
    t = (_page(head, "?tab=worklist"))
    assert "Кого пригласить на" in t and "По участкам на" in t
    assert audited() == before + 1  # the page's view
    r = head.get(f"/api/v1/prevention/worklist?level=mo&id={mo}")
    assert r.status_code == 200
    rows = r.get_json()["rows"]
    assert rows and {"patient_id", "what", "since"} <= set(rows[0])
    assert audited() == before + 2  # and the API's
    # the committee sees counts by участок but no names of patients
    chair = _client(city_app, "chair")
    t = (_page(chair, f"?tab=worklist&level=mo&id={mo}"))
    assert "нет доступа к персональным спискам" in t and "По участкам на" in t
    assert chair.get(f"/api/v1/prevention/worklist?level=mo&id={mo}").status_code == 403
    # at the district level the list asks for an organisation
    t = (_page(_client(city_app, "kolpino"), "?tab=worklist"))
    assert "выберите организацию" in t
    # another district's organisation is refused to a district manager
    nevsky_mo = _other_mo(city_app, places["nevsky"]["district_id"])
    assert _client(city_app, "kolpino").get(f"/api/v1/prevention/worklist?level=mo&id={nevsky_mo}").status_code == 403


def _other_mo(app, district_id):
    db = app.extensions["iam"]["db"]
    with db.engine.connect() as c:
        return c.execute(sa.text("select min(mo_id) from mo where district_id = :d and kind = 'adult_polyclinic'"),
                         {"d": district_id}).scalar()


def test_invitation_status_through_the_api(app):
    mo = app.places["glavvrach"]["mo_id"]
    head = _client(app, "glavvrach")
    rows = head.get(f"/api/v1/prevention/worklist?level=mo&id={mo}").get_json()["rows"]
    table = head.get(f"/api/v1/prevention/worklist?level=mo&id={mo}")
    assert table.status_code == 200
    # the API rows carry what the screen shows; the item code comes from the builder's records
    from components.tablespec import build
    from security import current_scope  # noqa: F401  (the builder reads the scope of the request)
    with app.test_request_context():
        from data_access.scope import Scope
        spec = build("prev-worklist", {"level": "mo", "id": mo}, Scope(mos=frozenset({mo}), patients=True))
    first = spec.records[0]
    assert str(first["patient_id"]) == str(rows[0]["patient_id"])
    body = {"patient_id": first["patient_id"], "item": first["item"], "mo_id": mo, "status": "invited",
            "comment": "позвонили"}
    r = head.post("/api/v1/prevention/worklist/status", json=body, headers=csrf_header(head))
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["status_name"] == "приглашён"
    again = head.get(f"/api/v1/prevention/worklist?level=mo&id={mo}").get_json()["rows"]
    mine = [x for x in again if str(x["patient_id"]) == str(first["patient_id"]) and x["status"] == "приглашён"]
    assert len(mine) == 1 and mine[0]["comment"] == "позвонили" and mine[0]["what"] == first["what"]
    bad = head.post("/api/v1/prevention/worklist/status", json={**body, "status": "maybe"}, headers=csrf_header(head))
    assert bad.status_code == 400 and "Неизвестный статус" in bad.get_json()["error"]
    chair = _client(app, "chair")
    assert chair.post("/api/v1/prevention/worklist/status", json=body, headers=csrf_header(chair)).status_code == 403
    db = app.extensions["iam"]["db"]
    with db.engine.connect() as c:
        assert c.execute(sa.text("select count(*) from audit_log where action = 'invitation_status'")).scalar() == 1


def test_api_tables_and_exports_equal(city_app):
    c = _client(city_app, "analyst")
    for part in ("vaccination", "vaccination-units", "dispensary", "dispensary-months", "form-1000", "children",
                 "screening", "screening-units"):
        r = c.get(f"/api/v1/prevention/{part}?period=2026")
        assert r.status_code == 200, (part, r.get_data(as_text=True)[:200])
        assert r.get_json()["rows"], part
    r = c.get("/api/v1/prevention/vaccination?period=2026-13")
    assert r.status_code == 400 and r.get_json()["error"]
    r = c.get("/api/v1/prevention/dispensary?program=nope")
    assert r.status_code == 400 and "Программа" in r.get_json()["error"]
    api = c.get("/api/v1/prevention/vaccination?period=2026").get_json()
    csv = c.get("/export/table/prev-calendar.csv?period=2026").get_data(as_text=True)
    lines = [ln for ln in csv.splitlines() if ln.strip()]
    dtp3 = next(r for r in api["rows"] if r["name"] == "АКДС, V3")
    line = next(ln for ln in lines if ln.startswith("АКДС, V3"))
    assert re.sub(r"\s", "", line.split(";")[3]) == str(dtp3["cohort"])
