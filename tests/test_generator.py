"""The synthetic RMIS: determinism, complete structure at every scale, calibration to facts.md."""
from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access.db import Database
from synth import catalog as cat
from synth.generate import GenerationError, generate, validate
from synth.structure import build_patients, build_structure
from tests.conftest import CITY
from tests.helpers import frame

END = pd.Timestamp(CITY["end_month"]) + pd.offsets.MonthEnd(0)


def _digest(db: Database) -> dict:
    out = {}
    with db.engine.connect() as c:
        for t in ("visit", "emd_document", "booking", "pregnancy", "dispensary_exam"):
            rows = c.execute(sa.text(f"select * from {t} order by 1")).fetchall()
            out[t] = hashlib.md5(repr(rows).encode()).hexdigest()
    return out


def test_same_seed_same_city_other_seed_other_city(tmp_path):
    dbs = [Database(f"duckdb:///{tmp_path / f'{i}.duckdb'}") for i in range(3)]
    for db, seed in zip(dbs, (5, 5, 6)):
        generate(db, scale=0.002, seed=seed, months=2, end_month=dt.date(2026, 6, 1))
    a, b, c = (_digest(db) for db in dbs)
    assert a == b
    assert all(a[t] != c[t] for t in a)


@pytest.mark.parametrize("scale", [0.001, 0.05, 1.0])
def test_structure_is_complete_at_every_scale(scale):
    st = build_structure(scale, seed=3)
    full = build_structure(1.0, seed=3)
    assert list(st.mo["name"]) == list(full.mo["name"])
    assert len(st.mo) >= 700  # facts §1: 700+ organisations with private ones
    primary = st.mo["kind"].isin(["adult_polyclinic", "children_polyclinic", "womens_consultation"]).sum()
    assert 150 <= primary <= 220  # ~164 primary-care organisations
    per_district = st.mo.groupby(["district_id", "kind"]).size().unstack(fill_value=0)
    for kind in ("adult_polyclinic", "children_polyclinic", "womens_consultation", "dental", "hospital", "private"):
        assert (per_district[kind] >= 1).all(), kind
    # every department has staff, and its core position is filled
    pos = st.position
    assert set(st.department["dept_id"]) == set(pos["dept_id"])
    core_filled = pos[pos["core"]].groupby("dept_id")["doctor_id"].apply(lambda s: s.notna().any())
    assert core_filled.all()
    vacancy = pos["doctor_id"].isna().mean()
    assert 0.03 < vacancy < 0.25


def test_population_matches_the_city():
    st = build_structure(0.01, seed=3)
    p = build_patients(st, 0.01, seed=3, ref_date=dt.date(2026, 1, 1))
    assert abs(len(p) - cat.CITY_POPULATION * 0.01) / (cat.CITY_POPULATION * 0.01) < 0.01
    by_d = p.groupby("district_id").size()
    names = dict(zip(st.district["district_id"], st.district["name"]))
    assert names[by_d.idxmax()] == "Приморский" and names[by_d.idxmin()] == "Кронштадтский"
    assert 0.53 < (p["sex"] == "F").mean() < 0.56  # 2,942 of 5,378 thousand are women
    age = (pd.Timestamp("2026-01-01") - pd.to_datetime(p["birth_date"])).dt.days / 365.25
    assert 0.16 < (age < 18).mean() < 0.21  # 973.7 thousand children of 5,377.5
    assert p["attach_mo_id"].isna().mean() < 0.05


@pytest.mark.parametrize("scale,months,msg", [(0, 27, "Масштаб"), (-1, 27, "Масштаб"), (float("nan"), 27, "Масштаб"),
                                              (5, 27, "Масштаб"), (0.01, 0, "месяцев"), (0.01, 2.5, "месяцев")])
def test_bad_parameters_are_refused_in_russian(scale, months, msg):
    with pytest.raises(GenerationError, match=msg):
        validate(scale, months, dt.date(2026, 1, 1))


def test_history_cannot_end_in_an_unfinished_month():
    with pytest.raises(GenerationError, match="ещё не закончился"):
        validate(0.01, 3, dt.date.today().replace(day=1))


# ---------------------------------------------------------------- calibration on the shared city
@pytest.fixture(scope="module")
def raw(city):
    _, db = city
    return {t: frame(db, t) for t in ("patient", "visit", "care_episode", "booking", "emd_document", "pregnancy",
                                      "pregnancy_visit", "dispensary_exam", "prevention_plan", "mo", "calendar",
                                      "slot", "specialty", "doctor")}


def test_nothing_happens_after_the_end_of_history(raw):
    assert raw["visit"]["visit_date"].max() <= END
    assert raw["care_episode"]["closed_date"].max() <= END
    assert raw["booking"]["booked_at"].max() < END + pd.Timedelta(days=1)
    assert raw["emd_document"]["status_at"].max() < END + pd.Timedelta(days=1)
    assert raw["pregnancy"]["registered_date"].max() <= END
    future = raw["booking"]["slot_start"] > END + pd.Timedelta(days=1)
    assert (raw["booking"].loc[future, "status"] == "booked").all()


def test_references_hold(raw):
    v, e, d, b, s = raw["visit"], raw["care_episode"], raw["emd_document"], raw["booking"], raw["slot"]
    assert v["episode_id"].isin(e["episode_id"]).all()
    assert d["episode_id"].dropna().isin(e["episode_id"]).all()
    assert b["slot_id"].isin(s["slot_id"]).all()
    assert not b["slot_id"].duplicated().any()
    for t in (v, e, d, b):
        assert t[t.columns[0]].is_unique
    doc_mo = raw["doctor"].set_index("doctor_id")["mo_id"]
    assert (v["mo_id"].to_numpy() == doc_mo.loc[v["doctor_id"]].to_numpy()).all()
    assert raw["patient"]["patient_id"].is_unique


def test_visits_per_resident_and_purposes(raw):
    v = raw["visit"]
    year = v[(v["visit_date"] > END - pd.DateOffset(years=1))]
    per_person = len(year) / len(raw["patient"])
    assert 5.0 < per_person < 8.0  # facts §1: ~7–8 polyclinic visits per resident a year
    share = v["purpose"].value_counts(normalize=True)
    assert 0.55 < share["disease"] < 0.85 and share["prevention"] > 0.05 and share["urgent"] > 0.03


def test_winter_respiratory_peak_and_working_days(raw):
    v = raw["visit"]
    resp = v[v["icd10"].str.startswith("J")]
    by_month = resp.groupby(resp["visit_date"].dt.month).size()
    assert by_month.loc[[1, 2]].mean() > 1.6 * by_month.loc[[7, 8]].mean()
    cal = raw["calendar"].set_index("day")
    per_day = v.groupby("visit_date").size().reindex(pd.date_range(v["visit_date"].min(), END), fill_value=0)
    working = per_day[cal.loc[per_day.index, "is_working"].to_numpy()].mean()
    holidays = per_day.loc["2026-01-01":"2026-01-08"].mean()
    sundays = per_day[per_day.index.dayofweek == 6].mean()
    assert holidays < 0.15 * working and sundays < 0.05 * working


def test_booking_channels_and_waits(raw):
    b = raw["booking"]
    ch = b["channel"].value_counts(normalize=True)
    assert 0.3 < ch["portal"] < 0.55 and 0.15 < ch["call_center"] < 0.32 and 0.03 < ch["infomat"] < 0.12
    assert 0.05 < ch["referral"] < 0.25 and 0.08 < ch["registry"] < 0.25
    spec = raw["specialty"].set_index("specialty_id")["category"]
    cat_ = spec.loc[b["specialty_id"]].to_numpy()
    prim = b[cat_ == "primary"]
    within = (prim["slot_start"] - prim["booked_at"] <= pd.Timedelta(hours=24)).mean()
    assert 0.6 < within < 0.92
    specialist_days = (b.loc[cat_ == "specialist", "slot_start"] - b.loc[cat_ == "specialist", "booked_at"]).dt.days
    assert 4 <= specialist_days.median() <= 14
    st = b["status"][b["slot_start"] <= END].value_counts(normalize=True)
    assert 0.7 < st["attended"] < 0.9 and 0.03 < st["no_show"] < 0.12


def test_documents_flow_like_the_regional_ehr(raw):
    d = raw["emd_document"]
    st = d["status"].value_counts(normalize=True)
    assert 0.85 < st["registered"] < 0.97
    assert st["rejected_regional"] > st["rejected_federal"] > 0
    sent = d[d["sent_at"].notna()]
    assert 0.8 < (sent["sent_at"] - sent["created_at"] <= pd.Timedelta(days=1)).mean() < 0.97
    assert set(d["kind_code"]) >= {"EPI_AMB", "EPI_STAC", "EPI_ROD", "MS_BIRTH", "DISP_RES", "RECIPE", "NAPR_CONS"}
    rejected = d[d["status"].str.startswith("rejected")]
    assert rejected["rejection_reason"].notna().all()
    # coverage of the outpatient epicrisis differs: laggards and good senders exist
    e = raw["care_episode"]
    outp = e[(e["kind"] == "outpatient") & (e["purpose"] != "prevention") & e["closed_date"].notna()]
    mo = raw["mo"].set_index("mo_id")
    outp = outp[mo.loc[outp["mo_id"], "kind"].isin(["adult_polyclinic", "children_polyclinic"]).to_numpy()]
    has = outp["episode_id"].isin(d.loc[d["kind_code"] == "EPI_AMB", "episode_id"])
    cov = has.groupby(outp["mo_id"]).mean()
    big = outp.groupby("mo_id").size() >= 200
    assert cov[big].min() < 0.85 and cov[big].max() > 0.95


def test_one_polyclinic_goes_silent_in_the_last_month(raw):
    d = raw["emd_document"]
    mo = raw["mo"].set_index("mo_id")
    last = d[(d["created_at"] >= END.replace(day=1)) & mo.loc[d["mo_id"], "kind"].eq("adult_polyclinic").to_numpy()]
    cal = raw["calendar"]
    workdays = cal.loc[(cal["day"] >= END.replace(day=1)) & (cal["day"] <= END) & cal["is_working"], "day"]
    sent_days = last.dropna(subset=["sent_at"]).groupby("mo_id")["sent_at"].apply(lambda s: set(s.dt.normalize()))
    created = last.groupby("mo_id").size()
    silent = []
    for mo_id, days in sent_days.items():
        run = best = 0
        for day in workdays:
            run = 0 if day in days else run + 1
            best = max(best, run)
        if best >= 5 and created[mo_id] > 20:
            silent.append(mo_id)
    assert silent, "no adult polyclinic stopped sending documents for a week in the last month"


def test_pregnancies_and_births(raw):
    p = raw["pregnancy"]
    year = p[p["registered_date"] > END - pd.DateOffset(years=1)]
    assert 0.7 < (year["registered_week"] < 12).mean() < 0.92
    births = p[p["outcome"].isin(["birth_term", "birth_preterm"]) & (p["outcome_date"] > END - pd.DateOffset(years=1))]
    per_1000 = len(births) / len(raw["patient"]) * 1000
    assert 6.5 < per_1000 < 10.5  # facts §1: 8.5 per 1,000
    assert 0.03 < (births["outcome"] == "birth_preterm").mean() < 0.12
    nvis = raw["pregnancy_visit"].groupby("pregnancy_id").size()
    term = births[births["outcome"] == "birth_term"]
    assert 0.75 < (nvis.reindex(term["pregnancy_id"], fill_value=0) >= 5).mean() < 0.98
    s1 = year["screening1_date"]
    in_window = ((s1 - year["lmp_date"]).dt.days.between(77, 104)).mean()
    assert 0.6 < in_window < 0.95


def test_dispensary_plan_is_mostly_done_by_year_end(raw):
    plan = raw["prevention_plan"]
    x = raw["dispensary_exam"]
    done = x[x["stage1_end"].dt.year == 2025].groupby("program").size()
    planned = plan[plan["year"] == 2025].groupby("program")["planned"].sum()
    ratio = done / planned
    assert ((ratio > 0.8) & (ratio < 1.0)).all(), ratio.to_dict()
    assert 0.1 < x.loc[x["program"] == "disp", "stage2_referred"].mean() < 0.3
