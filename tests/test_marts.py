"""Marts equal the raw aggregation (computed independently in pandas), on both databases,
and one month can be rebuilt without touching the others."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from core.ages import age_group5, age_years_series
from data_access import marts as M
from data_access import schema
from data_access.workcal import WorkCalendar
from tests.helpers import frame


@pytest.fixture(scope="module")
def raw(city):
    _, db = city
    names = ("patient", "visit", "care_episode", "booking", "emd_document", "pregnancy", "pregnancy_visit",
             "dispensary_exam", "prevention_plan", "mo", "specialty", "doctor", "vaccination", "staff_position",
             "slot", "emd_requirement", "emd_kind")
    return {t: frame(db, t) for t in names}


def mart(db, name) -> pd.DataFrame:
    df = db.read_df(sa.select(M.marts.tables[name]))
    for c in ("month", "day"):
        if c in df:
            df[c] = pd.to_datetime(df[c])
    return df


def month(s: pd.Series) -> pd.Series:
    return s.dt.to_period("M").dt.to_timestamp()


def _unit(s: pd.Series) -> pd.Series:
    """Same datetime resolution on every index level, so that indexes compare by value."""
    idx = s.index
    if isinstance(idx, pd.MultiIndex):
        idx = idx.set_levels([lv.astype("datetime64[us]") if isinstance(lv, pd.DatetimeIndex) else lv
                              for lv in idx.levels])
    elif isinstance(idx, pd.DatetimeIndex):
        idx = idx.astype("datetime64[us]")
    return pd.Series(s.to_numpy(), index=idx)


def assert_same(actual: pd.Series, expected: pd.Series):
    actual, expected = _unit(actual), _unit(expected)
    a = actual.astype(float).sort_index()
    e = expected.astype(float).reindex(a.index.union(expected.index), fill_value=0).sort_index()
    a = a.reindex(e.index, fill_value=0)
    assert len(e) > 0
    pd.testing.assert_series_equal(a, e, check_names=False)


def test_visits_mart(city, raw):
    _, db = city
    m = mart(db, "mart_visits")
    v = raw["visit"].assign(month=lambda d: month(d["visit_date"]))
    assert_same(m.groupby(["month", "mo_id"])["visits"].sum(), v.groupby(["month", "mo_id"]).size())
    assert_same(m.groupby(["month", "doctor_id"])["shifts"].sum(),
                v.groupby(["month", "doctor_id"])["visit_date"].nunique())
    assert_same(m.groupby(["month", "doctor_id"])["patients"].sum(),
                v.groupby(["month", "doctor_id"])["patient_id"].nunique())
    assert_same(m.groupby("month")["visits_prevention"].sum(),
                v[v["purpose"] == "prevention"].groupby("month").size())
    dist = raw["mo"].set_index("mo_id")["district_id"]
    assert_same(m.groupby("district_id")["visits_new_dx"].sum(),
                v[v["is_new_diagnosis"]].groupby(dist.loc[v.loc[v["is_new_diagnosis"], "mo_id"]].to_numpy()).size())


def test_morbidity_and_population_marts(city, raw):
    _, db = city
    m = mart(db, "mart_morbidity")
    e = raw["care_episode"]
    e = e[e["purpose"] == "disease"].merge(raw["patient"], on="patient_id")
    e["month"] = month(e["opened_date"])
    e = e[e["month"] >= m["month"].min()]  # a birth on the 1st opens its stay the day before the history
    e["icd3"] = e["icd10"].str[:3]
    e["age_group"] = age_group5(age_years_series(e["birth_date"], e["opened_date"]))  # calendar ages
    keys = ["month", "district_id", "icd3", "sex", "age_group"]
    assert_same(m.groupby(keys)["cases"].sum(), e.groupby(keys).size())
    assert_same(m.groupby(["month", "icd3"])["new_cases"].sum(), e[e["is_new_diagnosis"]].groupby(["month", "icd3"]).size())
    pop = mart(db, "mart_population")
    p = raw["patient"]
    for mon in pop["month"].drop_duplicates().sample(3, random_state=1):
        alive = p[p["birth_date"] <= mon]
        ag = age_group5(age_years_series(alive["birth_date"], mon))
        got = pop[pop["month"] == mon].groupby(["district_id", "sex", "age_group"])["population"].sum()
        assert_same(got, alive.groupby([alive["district_id"], alive["sex"], ag.rename("age_group")]).size())


def test_emd_marts(city, raw):
    _, db = city
    d = raw["emd_document"].merge(raw["care_episode"][["episode_id", "closed_at"]], on="episode_id", how="left")
    d["month"] = month(d["created_at"])
    flow = mart(db, "mart_emd_flow")
    k = ["month", "mo_id", "kind_code"]
    assert_same(flow.groupby(k)["created"].sum(), d.groupby(k).size())
    assert_same(flow.groupby(k)["registered"].sum(), d[d["status"] == "registered"].groupby(k).size())
    assert_same(flow.groupby(["month", "mo_id"])["sent_1d"].sum(),
                d[d["sent_at"] - d["created_at"] <= pd.Timedelta(days=1)].groupby(["month", "mo_id"]).size())
    reg = d[d["status"] == "registered"]
    delay = reg["status_at"] - reg["closed_at"].fillna(reg["created_at"])
    buckets = pd.cut(delay, [pd.Timedelta(-1, "s"), pd.Timedelta(hours=1), pd.Timedelta(days=1), pd.Timedelta(days=3),
                             pd.Timedelta(days=7), pd.Timedelta(days=10_000)],
                     labels=["reg_lt1h", "reg_lt24h", "reg_lt3d", "reg_lt7d", "reg_later"])
    expected = buckets.value_counts()
    for col in expected.index:
        assert flow[col].sum() == expected[col], col
    rej = mart(db, "mart_emd_reject")
    assert rej["docs"].sum() == d["status"].isin(["rejected_regional", "rejected_federal", "transmission_error"]).sum()
    # coverage of required episodes: the outpatient epicrisis
    e, mo = raw["care_episode"], raw["mo"].set_index("mo_id")
    req = raw["emd_requirement"]
    must = set(req.loc[req["kind_code"] == "EPI_AMB", "mo_kind"])
    outp = e[(e["kind"] == "outpatient") & (e["purpose"] != "prevention") & e["closed_date"].notna()]
    outp = outp[mo.loc[outp["mo_id"], "kind"].isin(must).to_numpy()].assign(month=lambda x: month(x["closed_date"]))
    epi = d[d["kind_code"] == "EPI_AMB"]
    registered = set(epi.loc[epi["status"] == "registered", "episode_id"])
    cov = mart(db, "mart_emd_coverage")
    cov = cov[cov["kind_code"] == "EPI_AMB"]
    assert_same(cov.groupby(["month", "mo_id"])["required"].sum(), outp.groupby(["month", "mo_id"]).size())
    assert_same(cov.groupby(["month", "mo_id"])["with_registered"].sum(),
                outp[outp["episode_id"].isin(registered)].groupby(["month", "mo_id"]).size())
    x = raw["dispensary_exam"].assign(month=lambda t: month(t["stage1_end"]))
    disp = mart(db, "mart_emd_coverage")
    assert_same(disp[disp["kind_code"] == "DISP_RES"].groupby("month")["required"].sum(),
                x[x["episode_id"].notna()].groupby("month").size())
    day = mart(db, "mart_emd_day")
    sent = d.dropna(subset=["sent_at"])
    assert_same(day.groupby(["day", "mo_id"])["sent"].sum(),
                sent.groupby([sent["sent_at"].dt.normalize().rename("day"), "mo_id"]).size())


def test_booking_marts_with_working_days(city, raw):
    _, db = city
    b = raw["booking"].merge(raw["specialty"], on="specialty_id")
    b["month"] = month(b["booked_at"])
    cal = WorkCalendar(dt.date(2020, 1, 1), dt.date(2028, 12, 31))
    wd = cal.working_days_between(b["booked_at"].dt.normalize().to_numpy().astype("datetime64[D]"),
                                  b["slot_start"].dt.normalize().to_numpy().astype("datetime64[D]"))
    limit = np.where(b["suspicion"] != "none", np.where(b["category"] == "diagnostic", 7, 3), 14)
    within = np.where(b["wait_norm"] == "h24", b["slot_start"] - b["booked_at"] <= pd.Timedelta(hours=24),
                      np.where(b["wait_norm"] == "wd14", wd <= limit, False))
    m = mart(db, "mart_booking")
    k = ["month", "mo_id", "specialty_id", "channel"]
    assert_same(m.groupby(k)["bookings"].sum(), b.groupby(k).size())
    assert_same(m.groupby(k)["within_norm"].sum(), b[within].groupby(k).size())
    assert_same(m.groupby(["month", "mo_id"])["no_show"].sum(), b[b["status"] == "no_show"].groupby(["month", "mo_id"]).size())
    days = np.minimum((b["slot_start"].dt.normalize() - b["booked_at"].dt.normalize()).dt.days, 91).rename("wait_days")
    spec = mart(db, "mart_wait_spec")
    assert_same(spec.groupby(["month", "specialty_id", "wait_days"])["bookings"].sum(),
                b.groupby(["month", "specialty_id", days]).size())
    chan = mart(db, "mart_wait_channel")
    assert_same(chan.groupby(["month", "mo_id", "channel", "wait_days"])["bookings"].sum(),
                b.groupby(["month", "mo_id", "channel", days]).size())
    h = mart(db, "mart_wait_hist")
    assert_same(h.groupby(["month", "mo_id", "spec_category", "wait_days"])["bookings"].sum(),
                b.groupby(["month", "mo_id", "category", days]).size())


def test_staff_mart(city, raw):
    _, db = city
    m = mart(db, "mart_staff")
    pos = raw["staff_position"]
    mon = m["month"].max()
    last = m[m["month"] == mon]
    assert last["positions"].sum() == len(pos) and last["filled"].sum() == pos["doctor_id"].notna().sum()
    s = raw["slot"]
    s = s[s["is_bookable"] & (month(s["slot_start"]) == mon)]
    open_ = pos["doctor_id"].isin(s["doctor_id"])
    assert_same(last.groupby("mo_id")["filled_open"].sum(), pos[open_].groupby("mo_id").size())


def test_pregnancy_mart(city, raw):
    _, db = city
    m = mart(db, "mart_pregnancy")
    p = raw["pregnancy"].copy()
    p["month"] = month(p["registered_date"])
    months = m["month"].unique()
    reg = p[p["month"].isin(months)]  # pregnancies registered before the history are not in its months
    assert_same(m.groupby(["month", "mo_id"])["registered"].sum(), reg.groupby(["month", "mo_id"]).size())
    assert_same(m.groupby("month")["registered_lt12"].sum(), reg[reg["registered_week"] < 12].groupby("month").size())
    wend = p["lmp_date"] + pd.Timedelta(days=104)
    due = (p["registered_date"] <= wend) & (p["outcome_date"].isna() | (p["outcome_date"] > wend))
    inwin = due & (p["screening1_date"] >= p["lmp_date"] + pd.Timedelta(days=77)) & (p["screening1_date"] <= wend)
    dm = month(wend)
    assert_same(m.groupby("month")["s1_due"].sum(), p[due & dm.isin(months)].groupby(dm).size())
    assert_same(m.groupby("month")["s1_in_window"].sum(), p[inwin & dm.isin(months)].groupby(dm).size())
    nv = raw["pregnancy_visit"].groupby("pregnancy_id").size()
    b = p[p["outcome"].isin(["birth_term", "birth_preterm"])]
    bm = month(b["outcome_date"])
    ok = nv.reindex(b["pregnancy_id"], fill_value=0).to_numpy() >= 5
    assert_same(m.groupby("month")["births_5visits"].sum(), b[ok & bm.isin(months).to_numpy()].groupby(bm).size())


def test_prevention_and_vaccination_marts(city, raw):
    _, db = city
    m = mart(db, "mart_prevention")
    x = raw["dispensary_exam"]
    x = x[month(x["stage1_end"]).isin(m["month"].unique())]  # the plan year began before the history
    assert_same(m.groupby(["month", "mo_id", "program"])["stage1_done"].sum(),
                x.groupby([month(x["stage1_end"]).rename("month"), "mo_id", "program"]).size())
    plan = raw["prevention_plan"]
    jan = m[m["month"].dt.month == 1]
    assert_same(jan.groupby([jan["month"].dt.year.rename("year"), "mo_id", "program"])["plan_year"].sum(),
                plan[plan["year"].isin(jan["month"].dt.year)].set_index(["year", "mo_id", "program"])["planned"])
    v = mart(db, "mart_vaccination")
    p = raw["patient"].dropna(subset=["attach_mo_id"])
    mmr = raw["vaccination"]
    first = mmr[mmr["vaccine"] == "MMR1"].groupby("patient_id")["vacc_date"].min()
    # measles V1 coverage is assessed at 24 calendar months (core.prevention: MMR1), end-of-month clamped
    at24 = p["birth_date"] + pd.DateOffset(months=24)
    reach = at24.dt.to_period("M").dt.to_timestamp()
    months = v["month"].unique()
    cohort = p[reach.isin(months)]
    cm = reach[reach.isin(months)]
    covered = first.reindex(cohort["patient_id"]).to_numpy() <= at24[reach.isin(months)].to_numpy()
    vv = v[v["vaccine"] == "MMR1"]
    assert_same(vv.groupby("month")["cohort"].sum(), cohort.groupby(cm).size())
    assert_same(vv.groupby("month")["covered"].sum(), cohort[covered].groupby(cm[covered]).size())


def test_one_month_rebuilds_without_touching_the_others(city_copy):
    db = city_copy
    log = M.build_log
    with db.engine.connect() as c:
        before = {(r.mart, r.month): (r.rows, r.built_at) for r in c.execute(sa.select(log))}
        months = sorted({m for _, m in before})
        target, other = months[5], months[6]
        visits_other = c.execute(sa.select(sa.func.sum(M.mart_visits.c.visits)).where(M.mart_visits.c.month == other)).scalar()
        victim = c.execute(sa.select(schema.visit.c.mo_id).where(
            schema.visit.c.visit_date >= target, schema.visit.c.visit_date < other).limit(1)).scalar()
    # change the raw data of one month: one organisation's visits vanish
    with db.engine.begin() as c:
        removed = c.execute(schema.visit.delete().where(schema.visit.c.mo_id == victim)).rowcount
    assert removed > 0
    M.build_marts(db, target)
    with db.engine.connect() as c:
        after = {(r.mart, r.month): (r.rows, r.built_at) for r in c.execute(sa.select(log))}
        vt = c.execute(sa.select(sa.func.sum(M.mart_visits.c.visits)).where(
            M.mart_visits.c.month == target, M.mart_visits.c.mo_id == victim)).scalar()
        vo = c.execute(sa.select(sa.func.sum(M.mart_visits.c.visits)).where(M.mart_visits.c.month == other)).scalar()
        raw_target = c.execute(sa.select(sa.func.count()).where(
            schema.visit.c.visit_date >= target, schema.visit.c.visit_date < other)).scalar()
        mart_target = c.execute(sa.select(sa.func.sum(M.mart_visits.c.visits)).where(M.mart_visits.c.month == target)).scalar()
    assert vt is None  # the rebuilt month reflects the change
    assert mart_target == raw_target
    assert vo == visits_other  # the next month was not rebuilt: its old numbers stand
    for key, (rows, built) in before.items():
        if key[1] != target:
            assert after[key] == (rows, built), key
        else:
            assert after[key][1] >= built


def test_every_mart_rebuilt_month_by_month_equals_the_full_build(city_copy):
    """Month-sized windows (the incremental path) give the same rows as one window over the whole
    history, mart by mart."""
    db = city_copy
    with db.engine.connect() as c:
        months = sorted({r[0] for r in c.execute(sa.select(M.build_log.c.month).distinct())})
    picked = months[::2]

    def rows(name):
        df = mart(db, name)
        df = df[pd.to_datetime(df["month"]).isin(pd.to_datetime(picked))]
        return df.sort_values(list(df.columns)).reset_index(drop=True)

    before = {name: rows(name) for name in M.SELECTS}
    for m in picked:
        M.build_marts(db, m)
    for name, df in before.items():
        assert len(df) > 0, name
        pd.testing.assert_frame_equal(rows(name), df, check_dtype=False, obj=name)


def test_rebuild_refuses_a_month_outside_the_data(city_copy):
    with pytest.raises(ValueError, match="вне периода"):
        M.build_marts(city_copy, dt.date(2001, 1, 1))


@pytest.mark.parametrize("name", sorted(M.ROLLUPS))
def test_rollups_equal_their_mart(city, name):
    _, db = city
    t = M.marts.tables[name]
    src = mart(db, t.info["rollup_of"])
    got = mart(db, name)
    keys = ["month"] + t.info["dims"]
    for m in t.info["measures"]:
        assert_same(got.groupby(keys, dropna=False)[m].sum(), src.groupby(keys, dropna=False)[m].sum())
    assert "patients" not in got.columns  # distinct counts do not add up


def test_the_evaluator_reads_the_smallest_table(city_app):
    from data_access import units as U
    from data_access.scope import Scope
    from metrics import query as Q
    from metrics.evaluate import registry

    def table(by, unit=U.CITY, scope=Scope()):
        q = Q.months_query([ind.numerator.name, ind.denominator.name], by, unit, months=[dt.date(2026, 9, 1)])
        (_, sel), = Q.statements(q, scope)
        return sel.get_final_froms()[0].name

    ind = registry()["access_primary_24h"]
    with city_app.app_context():
        district = U.unit("district", int(U.districts()["district_id"].iloc[0]))
        mo = U.unit("mo", int(U.organisations()["mo_id"].iloc[0]))
        assert table(("district",)) == "mart_booking_district"
        assert table(("mo",), district) == "mart_booking_mo"
        assert table(("doctor",), mo) == "mart_booking"
        assert table(("mo",), scope=Scope(districts=frozenset({1}), mos=frozenset({5}))) == "mart_booking_mo"


def test_the_contract_document_is_current():
    """docs/data-contract.md is generated from the declarations; a changed table or mart must regenerate it."""
    from pathlib import Path

    from data_access.contract_doc import render
    doc = Path(__file__).resolve().parent.parent / "docs" / "data-contract.md"
    assert doc.read_text(encoding="utf-8") == render(), "run: python -m data_access.contract_doc > docs/data-contract.md"
