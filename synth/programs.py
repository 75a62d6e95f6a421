"""Pregnancies, the prevention plan with dispensary exams, vaccinations and cancer screening.

Generated once for the whole history (they span months); the monthly activity reads them to
produce the matching episodes and documents.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from . import catalog as cat
from .structure import Structure, rng_for

DAY = np.timedelta64(1, "D")
SCREEN_WINDOWS = [(77, 104), (133, 153), (210, 244)]  # days from LMP: 11–14, 19–21, 30–34 weeks (facts §3)


def _pick(rng, ids: np.ndarray, n: int, weights=None) -> np.ndarray:
    if len(ids) == 0:
        return np.zeros(n, dtype=ids.dtype)
    p = None if weights is None else weights / weights.sum()
    return rng.choice(ids, size=n, p=p)


def _doctors_of(st: Structure, mo_ids: np.ndarray, spec_codes: list[str], rng) -> np.ndarray:
    """A random doctor of the given specialties in each organisation (0 where none)."""
    doc = st.doctor
    spec_ids = [cat.SPEC_ID[c] for c in spec_codes]
    pool = doc[doc["specialty_id"].isin(spec_ids)]
    out = np.zeros(len(mo_ids), dtype=np.int64)
    if pool.empty:
        return out
    order = np.argsort(pool["mo_id"].to_numpy(), kind="stable")
    keys = pool["mo_id"].to_numpy()[order]
    ids = pool["doctor_id"].to_numpy()[order]
    uniq, start, count = np.unique(keys, return_index=True, return_counts=True)
    pos = np.clip(np.searchsorted(uniq, mo_ids), 0, len(uniq) - 1)
    found = uniq[pos] == mo_ids
    pick = start[pos] + np.floor(rng.random(len(mo_ids)) * count[pos]).astype(np.int64)
    out[found] = ids[pick[found]]
    return out


def pregnancies(st: Structure, patients: pd.DataFrame, scale: float, seed: int,
                start: dt.date, end: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pregnancies registered in women's consultations, with their visits."""
    rng = rng_for(seed, "pregnancy")
    t0 = np.datetime64(start, "D") - 300 * DAY
    t_end = np.datetime64(end, "D")
    span_years = (t_end - t0).astype(int) / 365.25
    n = int(round(cat.CITY_POPULATION * scale * cat.BIRTHS_PER_1000 / 1000 / 0.86 * span_years))
    lmp = t0 + (rng.random(n) * (t_end - t0).astype(int)).astype(np.int64) * DAY
    birth = patients["birth_date"].to_numpy().astype("datetime64[D]")
    female = patients["sex"].to_numpy() == "F"
    mid = t0 + (t_end - t0) // 2
    age_mid = (mid - birth).astype(np.int64) / 365.25
    fert = np.interp(age_mid, [16, 20, 27, 32, 37, 42, 46], [0.0, 0.5, 1.0, 1.05, 0.6, 0.15, 0.0])
    w = np.where(female, np.clip(fert, 0, None), 0.0)
    mother_idx = rng.choice(len(patients), size=n, p=w / w.sum())
    district = patients["district_id"].to_numpy()[mother_idx]
    mo = st.mo
    wc = mo[mo["kind"] == "womens_consultation"]
    wc_mo = np.zeros(n, dtype=np.int64)
    for d_id, grp in wc.groupby("district_id"):
        sel = np.flatnonzero(district == d_id)
        wgt = grp["share_in_district"].to_numpy()
        wc_mo[sel] = rng.choice(grp["mo_id"].to_numpy(), size=len(sel), p=wgt / wgt.sum())
    f = st.factors
    late_p = f["preg_late"].to_numpy()[wc_mo - 1]
    miss_p = f["preg_miss"].to_numpy()[wc_mo - 1]
    late = rng.random(n) < late_p
    reg_week = np.where(late, 12 + rng.exponential(4.0, n), rng.uniform(5.0, 11.95, n))
    reg_week = np.minimum(reg_week, 30.0)
    reg_day = np.round(reg_week * 7).astype(np.int64)
    mother_age = (lmp - birth[mother_idx]).astype(np.int64) / 365.25
    p_high = np.clip(0.10 + 0.02 * np.maximum(mother_age - 33, 0), 0, 0.4)
    u = rng.random(n)
    risk = np.where(u < p_high, "high", np.where(u < p_high + 0.3, "medium", "low"))
    # Outcome at a gestational age.
    fate = rng.random(n)
    preterm_p = np.where(risk == "high", 0.12, np.where(risk == "medium", 0.06, 0.04))
    loss = (fate < 0.08) & (reg_week < 21)
    preterm = ~loss & (fate > 1 - preterm_p)
    loss_week = np.minimum(reg_week + 0.5, 21.9)
    week = np.where(loss, loss_week + rng.random(n) * (22.0 - loss_week),
                    np.where(preterm, rng.uniform(22.0, 36.9), np.clip(rng.normal(39.3, 1.1, n), 37.0, 41.9)))
    out_day = np.round(week * 7).astype(np.int64)
    outcome = np.where(loss, np.where(rng.random(n) < 0.62, "miscarriage", "abortion"),
                       np.where(preterm, "birth_preterm", "birth_term")).astype(object)
    reg_date = lmp + reg_day * DAY
    out_date = lmp + out_day * DAY
    # registered by the end of the history and not finished before it began
    keep = (reg_date <= t_end) & (out_date >= np.datetime64(start, "D"))
    ongoing = out_date > t_end
    outcome[ongoing] = None
    doctor = _doctors_of(st, wc_mo, ["gynecologist"], rng)
    # Screenings: in the window, late, or not done.
    scr = []
    for lo, hi in SCREEN_WINDOWS:
        in_win = (reg_day <= hi) & (rng.random(n) > miss_p)
        first = np.maximum(lo, reg_day + 3)
        day_in = np.where(first <= hi, first + np.floor(rng.random(n) * (hi - first + 1)).astype(np.int64), hi + 5)
        late_done = ~in_win & (rng.random(n) < np.where(reg_day <= hi, 0.5, 0.3))
        day_late = np.maximum(hi, reg_day) + 1 + np.floor(rng.random(n) * 21).astype(np.int64)
        day = np.where(in_win, day_in, np.where(late_done, day_late, -1))
        date = lmp + np.maximum(day, 0) * DAY
        valid = (day >= 0) & (day < out_day) & (date <= t_end)
        scr.append(np.where(valid, date, np.datetime64("NaT")))
    preg = pd.DataFrame({
        "pregnancy_id": np.arange(1, n + 1, dtype=np.int64),
        "patient_id": patients["patient_id"].to_numpy()[mother_idx],
        "mo_id": wc_mo.astype(np.int32), "doctor_id": doctor.astype(np.int32),
        "lmp_date": lmp, "registered_date": reg_date,
        "registered_week": np.floor(reg_week).astype(np.int16), "risk_group": risk,
        "screening1_date": scr[0], "screening2_date": scr[1], "screening3_date": scr[2],
        "outcome": outcome, "outcome_date": np.where(ongoing, np.datetime64("NaT"), out_date),
    })
    preg = preg[keep].reset_index(drop=True)
    preg["pregnancy_id"] = np.arange(1, len(preg) + 1, dtype=np.int64)

    # Visits: every 6 weeks to 30 weeks, every 3 to 36, then every 2, some missed.
    rd = preg["registered_week"].to_numpy() * 7 + 3
    od = ((preg["outcome_date"].fillna(pd.Timestamp(end) + pd.Timedelta(days=1)).to_numpy().astype("datetime64[D]")
           - preg["lmp_date"].to_numpy().astype("datetime64[D]")).astype(np.int64))
    lmp_k = preg["lmp_date"].to_numpy().astype("datetime64[D]")
    miss_k = f["preg_miss"].to_numpy()[preg["mo_id"].to_numpy() - 1]
    day = rd.copy()
    v_preg, v_date = [], []
    for _k in range(16):
        jitter = np.floor(rng.random(len(day)) * 5).astype(np.int64) - 2
        vd = lmp_k + (day + np.where(_k == 0, 0, jitter)) * DAY
        ok = (day < od) & (vd <= t_end) & ((_k == 0) | (rng.random(len(day)) > miss_k))
        v_preg.append(preg["pregnancy_id"].to_numpy()[ok])
        v_date.append(vd[ok])
        day = day + np.where(day < 210, 42, np.where(day < 252, 21, 14))
    pv_preg = np.concatenate(v_preg)
    pv = pd.DataFrame({"pregnancy_id": pv_preg, "visit_date": np.concatenate(v_date)})
    pv["doctor_id"] = preg["doctor_id"].to_numpy()[pv["pregnancy_id"].to_numpy() - 1]
    pv = pv.sort_values(["visit_date", "pregnancy_id"], kind="stable").reset_index(drop=True)
    return preg, pv


MONTH_WEIGHTS = np.array([0.35, 0.7, 0.95, 1.0, 0.85, 0.8, 0.65, 0.75, 1.1, 1.25, 1.3, 1.3])


def prevention(st: Structure, patients: pd.DataFrame, seed: int, start: dt.date, end: dt.date,
               calendar) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The yearly plan per organisation and the exams done against it, with cancer screening."""
    birth = patients["birth_date"].to_numpy().astype("datetime64[D]")
    attach = patients["attach_mo_id"].fillna(0).to_numpy().astype(np.int64)
    pid = patients["patient_id"].to_numpy()
    sex = patients["sex"].to_numpy()
    f = st.factors
    plans, exams = [], []
    t_start, t_end = np.datetime64(start, "D"), np.datetime64(end, "D")
    poly = st.mo[st.mo["has_attachment"]]
    for year in range(start.year, end.year + 1):
        rng = rng_for(seed, "prevention", year)
        jan1 = np.datetime64(f"{year}-01-01", "D")
        age = ((jan1 - birth).astype(np.int64) // 365.25).astype(np.int64)
        alive = birth <= jan1
        disp_elig = alive & (((age >= 18) & (age <= 39) & (age % 3 == 0)) | (age >= 40))
        prof_elig = alive & (age >= 18) & ~disp_elig
        deep_elig = alive & (age >= 40)
        child_elig = alive & (age < 18)
        # the working days of the year, grouped by month, to draw exam days from
        year_days = np.arange(jan1, np.datetime64(f"{year + 1}-01-01", "D"))
        wd_of_year = year_days[calendar.is_working(year_days)]
        months_of = wd_of_year.astype("datetime64[M]").astype(np.int64) % 12
        m_start = np.searchsorted(months_of, np.arange(12))
        m_len = np.bincount(months_of, minlength=12)
        order = np.argsort(attach, kind="stable")
        att_sorted = attach[order]
        for m in poly.itertuples(index=False):
            lo, hi = np.searchsorted(att_sorted, [m.mo_id, m.mo_id + 1])
            members = order[lo:hi]
            programs = [("child_prof", child_elig, 0.95)] if m.kind == "children_polyclinic" else [
                ("disp", disp_elig, 0.72), ("prof", prof_elig, 0.30), ("deep", deep_elig, 0.08)]
            for prog, elig, plan_share in programs:
                cand = members[elig[members]]
                planned = int(round(len(cand) * plan_share))
                plans.append((year, m.mo_id, prog, planned))
                done_year = int(round(planned * f["prev_completion"].iat[m.mo_id - 1] * rng.normal(1, 0.03)))
                done_year = min(max(done_year, 0), len(cand))
                if done_year == 0:
                    continue
                who = rng.choice(cand, size=done_year, replace=False)
                month = rng.choice(12, size=done_year, p=MONTH_WEIGHTS / MONTH_WEIGHTS.sum())
                s1 = wd_of_year[m_start[month] + np.floor(rng.random(done_year) * m_len[month]).astype(np.int64)]
                exams.append(pd.DataFrame({"patient_idx": who, "mo_id": m.mo_id, "program": prog,
                                           "stage1_start": s1, "year": year}))
    plan = pd.DataFrame(plans, columns=["year", "mo_id", "program", "planned"])
    ex = pd.concat(exams, ignore_index=True)
    rng = rng_for(seed, "prevention-details")
    n = len(ex)
    ex["stage1_end"] = calendar.add_working_days(ex["stage1_start"].to_numpy().astype("datetime64[D]"),
                                                 np.floor(rng.random(n) * 8).astype(np.int64))
    ex = ex[(ex["stage1_end"].to_numpy() <= t_end) & (ex["stage1_end"].to_numpy() >= t_start - 400 * DAY)]
    n = len(ex)
    referred = (ex["program"].isin(["disp", "deep"]).to_numpy()) & (rng.random(n) < 0.2)
    s2 = calendar.add_working_days(ex["stage1_end"].to_numpy().astype("datetime64[D]"), rng.integers(5, 29, n))
    s2_done = referred & (s2 <= t_end) & (rng.random(n) < 0.85)
    ex = ex.assign(stage2_referred=referred, stage2_end=np.where(s2_done, s2, np.datetime64("NaT")))
    u = rng.random(n)
    ex["health_group"] = np.select([u < 0.25, u < 0.45, u < 0.9], ["I", "II", "IIIa"], "IIIb")
    ex["patient_id"] = pid[ex["patient_idx"].to_numpy()]
    ex = ex.sort_values(["stage1_end", "patient_id"], kind="stable").reset_index(drop=True)
    ex["exam_id"] = np.arange(1, len(ex) + 1, dtype=np.int64)
    ex["doctor_id"] = _doctors_of(st, ex["mo_id"].to_numpy(), ["prevention"], rng)
    missing = ex["doctor_id"].to_numpy() == 0
    ex.loc[missing, "doctor_id"] = _doctors_of(st, ex["mo_id"].to_numpy()[missing], ["therapist", "pediatrician"], rng)

    # Cancer screening inside диспансеризация (facts §5).
    p_idx = ex["patient_idx"].to_numpy()
    age = ((ex["stage1_start"].to_numpy().astype("datetime64[D]") - birth[p_idx]).astype(np.int64) // 365.25)
    is_f = sex[p_idx] == "F"
    adult_prog = ex["program"].isin(["disp", "deep"]).to_numpy()
    tests = [
        ("cytology", adult_prog & is_f & (age >= 18) & (age <= 64), 0.9),
        ("mammography", adult_prog & is_f & (age >= 40) & (age <= 75), 0.55),
        ("fobt", adult_prog & (age >= 40) & (age <= 75), 0.6),
        ("psa", adult_prog & ~is_f & np.isin(age, [45, 50, 55, 60, 64]), 0.9),
        ("egds", adult_prog & (age == 45), 0.85),
    ]
    scr = []
    for test, elig, p in tests:
        sel = np.flatnonzero(elig & (rng.random(n) < p))
        d = calendar.add_working_days(ex["stage1_start"].to_numpy().astype("datetime64[D]")[sel],
                                      rng.integers(0, 5, len(sel)))
        scr.append(pd.DataFrame({"patient_id": ex["patient_id"].to_numpy()[sel], "mo_id": ex["mo_id"].to_numpy()[sel],
                                 "exam_id": ex["exam_id"].to_numpy()[sel], "test": test, "test_date": d,
                                 "result": np.where(rng.random(len(sel)) < 0.03, "pathology", "normal")}))
    screening = pd.concat(scr, ignore_index=True)
    screening = screening[screening["test_date"].to_numpy() <= t_end]
    screening = screening.sort_values(["test_date", "patient_id"], kind="stable").reset_index(drop=True)
    screening["screening_id"] = np.arange(1, len(screening) + 1, dtype=np.int64)
    return plan, ex, screening


def vaccinations(st: Structure, patients: pd.DataFrame, seed: int, start: dt.date, end: dt.date) -> pd.DataFrame:
    """National-calendar doses (DTP1, MMR1, MMR2) and the autumn influenza campaigns."""
    rng = rng_for(seed, "vaccination")
    birth = patients["birth_date"].to_numpy().astype("datetime64[D]")
    attach = patients["attach_mo_id"].fillna(0).to_numpy().astype(np.int64)
    pid = patients["patient_id"].to_numpy()
    t_start, t_end = np.datetime64(start, "D"), np.datetime64(end, "D")
    cov = np.r_[1.0, st.factors["vacc_cov"].to_numpy()][attach]
    frames = []
    for vaccine, due_days, delay in (("DTP1", 91, 20), ("MMR1", 365, 30), ("MMR2", 2192, 45)):
        due = birth + due_days * DAY
        # doses from three years before the history so that cohort coverage is complete
        elig = (attach > 0) & (due >= t_start - 3 * 365 * DAY) & (due <= t_end)
        take = elig & (rng.random(len(pid)) < cov)
        late = rng.random(len(pid)) < 0.08
        lag = np.where(late, rng.uniform(60, 300, len(pid)), rng.exponential(delay, len(pid))).astype(np.int64)
        d = due + lag * DAY
        sel = take & (d <= t_end)
        frames.append(pd.DataFrame({"patient_id": pid[sel], "mo_id": attach[sel], "vaccine": vaccine, "vacc_date": d[sel]}))
    for year in range(start.year, end.year + 1):
        sept1 = np.datetime64(f"{year}-09-01", "D")
        age = (sept1 - birth).astype(np.int64) / 365.25
        p = np.where(age < 18, 0.3, np.where(age < 60, 0.25, 0.45))
        sel = (attach > 0) & (age >= 0.5) & (rng.random(len(pid)) < p)
        day = np.floor(rng.choice(4, size=sel.sum(), p=[0.2, 0.45, 0.25, 0.1]) * 30.5
                       + rng.random(sel.sum()) * 30).astype(np.int64)
        d = sept1 + day * DAY
        keep = (d >= t_start) & (d <= t_end)
        frames.append(pd.DataFrame({"patient_id": pid[sel][keep], "mo_id": attach[sel][keep], "vaccine": "FLU",
                                    "vacc_date": d[keep]}))
    v = pd.concat(frames, ignore_index=True).sort_values(["vacc_date", "patient_id"], kind="stable").reset_index(drop=True)
    v["vacc_id"] = np.arange(1, len(v) + 1, dtype=np.int64)
    v["mo_id"] = v["mo_id"].astype(np.int32)
    return v
