"""Pregnancies, the prevention plan with dispensary exams, vaccinations and cancer screening.

Generated once for the whole history (they span months); the monthly activity reads them to
produce the matching episodes and documents.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from core import prevention as prev

from . import catalog as cat
from .structure import Structure, allocate, rng_for

DAY = np.timedelta64(1, "D")
SCREEN_WINDOWS = [(77, 104), (133, 153), (210, 244)]  # days from LMP: 11–14, 19–21, 30–34 weeks (facts §3)


def _pick(rng, ids: np.ndarray, n: int, weights=None) -> np.ndarray:
    if len(ids) == 0:
        return np.zeros(n, dtype=ids.dtype)
    p = None if weights is None else weights / weights.sum()
    return rng.choice(ids, size=n, p=p)


AREA_DOCTOR_EXAMS = 0.7  # the share of dispensary exams that the участок doctor concludes


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


# Exams by month: a slow January, a spring wave, a summer dip and the autumn peak (facts §4: ~75.7 %
# of the year's plan is done by 20 October).
MONTH_WEIGHTS = np.array([0.55, 0.9, 1.1, 1.15, 0.95, 0.9, 0.7, 0.85, 1.2, 1.25, 1.1, 0.85])
BIG_AGE = 130


def add_months(d: np.ndarray, months: int, days: int = 0) -> np.ndarray:
    """``core.prevention.due_date`` over an array of dates (end-of-month clamped, then days added)."""
    d = d.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    dom = (d - m.astype("datetime64[D]")).astype(np.int64)
    tm = m + months
    mlen = ((tm + 1).astype("datetime64[D]") - tm.astype("datetime64[D]")).astype(np.int64)
    return tm.astype("datetime64[D]") + np.minimum(dom, mlen - 1) * DAY + days * DAY


def _age_tables():
    """Lookups by the age in a year: dispensarisation due, the 131/о band, the exam weight."""
    bands = [b for b, _, _ in prev.CHILD_BANDS + prev.AGE_BANDS]
    band_idx = np.array([bands.index(prev.band_of(a)) if prev.band_of(a) else -1 for a in range(BIG_AGE)])
    disp = np.array([prev.disp_due(a) for a in range(BIG_AGE)])
    return bands, band_idx, disp


def _weighted_sample(rng, idx: np.ndarray, k: int, weights: np.ndarray) -> np.ndarray:
    """``k`` of ``idx`` without replacement, with probabilities by weight (Efraimidis–Spirakis keys)."""
    if k >= len(idx):
        return idx.copy()
    keys = np.log(rng.random(len(idx))) / weights
    return idx[np.argpartition(-keys, k - 1)[:k]]


def prevention(st: Structure, patients: pd.DataFrame, scale: float, seed: int, start: dt.date, end: dt.date,
               calendar) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The yearly plan per organisation (and by age band and sex), the exams done against it, and the
    cancer screening inside dispensarisation. Rules from ``core.prevention``."""
    birth = patients["birth_date"].to_numpy().astype("datetime64[D]")
    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    attach = patients["attach_mo_id"].fillna(0).to_numpy().astype(np.int64)
    pid = patients["patient_id"].to_numpy()
    sex = patients["sex"].to_numpy()
    female = sex == "F"
    f = st.factors
    completion = f["prev_completion"].to_numpy()
    bands, band_of_age, disp_of_age = _age_tables()
    band_w = np.array([cat.EXAM_BAND_WEIGHT[b] for b in bands])
    plans, band_rows, exams = [], [], []
    t_start, t_end = np.datetime64(start, "D"), np.datetime64(end, "D")
    poly = st.mo[st.mo["has_attachment"]]
    adult_mo = np.isin(attach, poly.loc[poly["kind"] != "children_polyclinic", "mo_id"].to_numpy())
    child_mo = np.isin(attach, poly.loc[poly["kind"] == "children_polyclinic", "mo_id"].to_numpy())
    order = np.argsort(attach, kind="stable")
    att_sorted = attach[order]
    for year in range(start.year, end.year + 1):
        rng = rng_for(seed, "prevention", year)
        jan1 = np.datetime64(f"{year}-01-01", "D")
        age = np.clip(year - birth_year, 0, BIG_AGE - 1)  # the age reached in the year (404н)
        alive = birth < jan1
        band = band_of_age[age]
        cell = band * 2 + (~female).astype(np.int64)  # band × sex (F, M)
        weight = band_w[band] * np.where(female, cat.EXAM_FEMALE_WEIGHT, 1.0)
        adult = alive & adult_mo & (age >= 18)
        elig = {"disp": adult & disp_of_age[age], "prof": adult & ~disp_of_age[age], "deep": adult,
                "child_prof": alive & child_mo & (age <= 17)}
        share = {p: min(1.0, cat.PLAN_FULL[p] * scale / max(int(e.sum()), 1)) for p, e in elig.items()}
        # the working days of the year, grouped by month, to draw exam days from
        year_days = np.arange(jan1, np.datetime64(f"{year + 1}-01-01", "D"))
        wd_of_year = year_days[calendar.is_working(year_days)]
        months_of = wd_of_year.astype("datetime64[M]").astype(np.int64) % 12
        m_start = np.searchsorted(months_of, np.arange(12))
        m_len = np.bincount(months_of, minlength=12)
        for m in poly.itertuples(index=False):
            lo, hi = np.searchsorted(att_sorted, [m.mo_id, m.mo_id + 1])
            members = order[lo:hi]
            programs = ["child_prof"] if m.kind == "children_polyclinic" else list(prev.ADULT_PROGRAMS)
            for prog in programs:
                cand = members[elig[prog][members]]
                mult = rng.lognormal(0, cat.PLAN_MO_NOISE)
                planned = min(int(round(len(cand) * share[prog] * mult)), len(cand))
                plans.append((year, m.mo_id, prog, planned))
                if len(cand):
                    counts = np.bincount(cell[cand], minlength=2 * len(bands))
                    cells = np.flatnonzero(counts)
                    split = allocate(planned, counts[cells], 0)
                    band_rows += [(year, m.mo_id, prog, bands[c // 2], "FM"[c % 2], int(v)) for c, v in zip(cells, split)]
                done_year = int(round(planned * completion[m.mo_id - 1] * rng.normal(1, 0.03)))
                done_year = min(max(done_year, 0), len(cand))
                if done_year == 0:
                    continue
                who = _weighted_sample(rng, cand, done_year, weight[cand])
                month = rng.choice(12, size=done_year, p=MONTH_WEIGHTS / MONTH_WEIGHTS.sum())
                s1 = wd_of_year[m_start[month] + np.floor(rng.random(done_year) * m_len[month]).astype(np.int64)]
                exams.append(pd.DataFrame({"patient_idx": who, "mo_id": m.mo_id, "program": prog,
                                           "stage1_start": s1, "year": year}))
    plan = pd.DataFrame(plans, columns=["year", "mo_id", "program", "planned"])
    plan_band = pd.DataFrame(band_rows, columns=["year", "mo_id", "program", "age_band", "sex", "planned"])
    ex = pd.concat(exams, ignore_index=True)
    rng = rng_for(seed, "prevention-details")
    n = len(ex)
    ex["stage1_end"] = calendar.add_working_days(ex["stage1_start"].to_numpy().astype("datetime64[D]"),
                                                 np.floor(rng.random(n) * 8).astype(np.int64))
    ex = ex[(ex["stage1_end"].to_numpy() <= t_end) & (ex["stage1_end"].to_numpy() >= t_start - 400 * DAY)]
    ex = ex.reset_index(drop=True)
    ex = _exam_outcomes(ex, birth_year, female, completion, rng, calendar, t_end)
    ex["patient_id"] = pid[ex["patient_idx"].to_numpy()]
    ex = ex.sort_values(["stage1_end", "patient_id"], kind="stable").reset_index(drop=True)
    ex["exam_id"] = np.arange(1, len(ex) + 1, dtype=np.int64)
    ex["doctor_id"] = _doctors_of(st, ex["mo_id"].to_numpy(), ["prevention"], rng)
    missing = ex["doctor_id"].to_numpy() == 0
    ex.loc[missing, "doctor_id"] = _doctors_of(st, ex["mo_id"].to_numpy()[missing], ["therapist", "pediatrician"], rng)
    # stage 1 ends with the участок doctor's examination (order 404н): most exams of a patient at his own
    # organisation are his. A stream of its own, so that every other draw stays as it was.
    idx = ex["patient_idx"].to_numpy()
    area = patients["area_doctor_id"].fillna(0).to_numpy().astype(np.int64)[idx]
    own = (area > 0) & (attach[idx] == ex["mo_id"].to_numpy())
    own &= rng_for(seed, "prevention-area-doctor").random(len(ex)) < AREA_DOCTOR_EXAMS
    ex.loc[own, "doctor_id"] = area[own]
    screening = _cancer_screening(ex, birth_year, female, completion, rng, calendar, t_end)
    return plan, plan_band, ex, screening


def _exam_outcomes(ex: pd.DataFrame, birth_year, female, completion, rng, calendar, t_end) -> pd.DataFrame:
    """Health group, stage 2 (referral, result, end), pathology found and risk factors of each exam."""
    n = len(ex)
    p_idx = ex["patient_idx"].to_numpy()
    age = ex["year"].to_numpy() - birth_year[p_idx]
    fem = female[p_idx]
    child = ex["program"].to_numpy() == "child_prof"
    lag = np.clip((0.97 - completion[ex["mo_id"].to_numpy() - 1]) / 0.3, 0, 1)  # 0 good … 1 lagging
    # health group by age
    kind = np.select([child, age < 40, age < 65], ["child", "young", "middle"], "old")
    u = rng.random(n)
    g = np.zeros(n, dtype=np.int64)  # index into HEALTH_GROUPS: I, II, IIIa, IIIb
    for k, p in cat.HEALTH_GROUP_P.items():
        sel = kind == k
        g[sel] = np.searchsorted(np.cumsum(p)[:3], u[sel], side="right")
    group = np.array(prev.HEALTH_GROUPS, dtype=object)[g]
    ex["health_group"] = group
    # stage 2 for dispensarisation (by indication: more often in groups II–III)
    s1_end = ex["stage1_end"].to_numpy().astype("datetime64[D]")
    can = ex["program"].isin(["disp", "deep"]).to_numpy()
    referred = can & (rng.random(n) < np.array(cat.STAGE2_REFERRAL_P)[g])
    u = rng.random(n)
    p_full = cat.STAGE2_RESULT_P[0] - 0.2 * lag
    p_part = cat.STAGE2_RESULT_P[1]
    result = np.where(u < p_full, "full", np.where(u < p_full + p_part, "partial", "none")).astype(object)
    late = rng.random(n) < 0.08 + 0.15 * lag
    wd = np.where(late, rng.integers(22, 46, n), rng.integers(3, 21, n))
    s2 = calendar.add_working_days(s1_end, wd)
    done = referred & (result != "none") & (s2 <= t_end)
    known_none = referred & (result == "none") & (s1_end + prev.STAGE2_DUE_DAYS * DAY < t_end)
    result[~(done | known_none)] = None  # not referred, or still running at the end of history
    ex["stage2_referred"] = referred
    ex["stage2_result"] = result
    ex["stage2_end"] = np.where(done, s2, np.datetime64("NaT"))
    ex["pathology_found"] = rng.random(n) < np.array(cat.PATHOLOGY_P)[g] * (1 - 0.25 * lag)
    ex["risk_factors"] = _risk_factors(rng, age, fem, child, g)
    return ex


def _risk_factors(rng, age, fem, child, g) -> np.ndarray:
    """Comma-separated ICD-10 codes of core.prevention.RISK_FACTORS: none for group I, at least one for II."""
    n = len(age)
    bucket = np.select([age < 40, age < 65], [0, 1], 2)
    flags = {}
    for code, (rates, male) in cat.RISK_FACTOR_RATES.items():
        p = np.array(rates)[bucket] * np.where(fem, 1.0, male)
        flags[code] = ~child & (rng.random(n) < p)
    flags["R54"] = ~child & (age >= 65) & (rng.random(n) < np.clip(0.03 + 0.012 * (age - 65), 0, 0.45))
    for code, p in cat.CHILD_RISK_FACTOR_RATES.items():
        flags[code] |= child & (rng.random(n) < p)
    flags["R63.5"] &= ~flags["E66"]  # obesity replaces overweight
    codes = [c for c in prev.RISK_FACTORS if c in flags]
    # group II: risk factors without a disease, so at least one
    need = (g == 1) & ~np.any([flags[c] for c in codes], axis=0)
    pick = rng.choice(["E78", "Z72.3", "R63.5", "Z72.4"], size=n)
    for c in ("E78", "Z72.3", "R63.5", "Z72.4"):
        flags[c] |= need & (pick == c)
    flags["R63.5"] &= ~flags["E66"]
    mask = np.zeros(n, dtype=np.int64)
    for i, c in enumerate(codes):
        mask |= (flags[c] & (g != 0)).astype(np.int64) << i  # group I: no risk factors
    uniq, inv = np.unique(mask, return_inverse=True)
    text = np.array([",".join(c for i, c in enumerate(codes) if m >> i & 1) or None for m in uniq], dtype=object)
    return text[inv]


def _cancer_screening(ex: pd.DataFrame, birth_year, female, completion, rng, calendar, t_end) -> pd.DataFrame:
    """The tests of core.prevention.SCREENINGS due in the year, done at dispensarisation stage 1."""
    p_idx = ex["patient_idx"].to_numpy()
    age = np.clip(ex["year"].to_numpy() - birth_year[p_idx], 0, BIG_AGE - 1)
    fem = female[p_idx]
    disp = ex["program"].to_numpy() == "disp"
    mo = ex["mo_id"].to_numpy()
    lag = np.clip((0.97 - completion[mo - 1]) / 0.3, 0, 1)
    s1 = ex["stage1_start"].to_numpy().astype("datetime64[D]")
    n = len(ex)
    scr = []
    for s in prev.SCREENINGS:
        due_tab = np.array([[s.due_in_year(a, x) for x in ("F", "M")] for a in range(BIG_AGE)])
        due = disp & due_tab[age, (~fem).astype(np.int64)]
        sel = np.flatnonzero(due & (rng.random(n) < cat.SCREEN_TAKE[s.code] * (1 - 0.2 * lag)))
        k = len(sel)
        d = calendar.add_working_days(s1[sel], rng.integers(0, 5, k))
        pos = rng.random(k) < cat.SCREEN_POSITIVE[s.code]
        u = rng.random(k)
        p_in = cat.FOLLOWUP_P[0] - 0.2 * lag[sel]
        p_late = cat.FOLLOWUP_P[1] + 0.05 * lag[sel]
        step = np.where(u < p_in, 1 + np.floor(rng.random(k) * s.followup_days),
                        s.followup_days + 1 + np.floor(rng.random(k) * 90)).astype(np.int64)
        fu = d + step * DAY
        has_fu = pos & (u < p_in + p_late) & (fu <= t_end)
        scr.append(pd.DataFrame({"patient_id": ex["patient_id"].to_numpy()[sel], "mo_id": mo[sel],
                                 "exam_id": ex["exam_id"].to_numpy()[sel], "test": s.code, "test_date": d,
                                 "result": np.where(pos, "pathology", "normal"),
                                 "followup_date": np.where(has_fu, fu, np.datetime64("NaT"))}))
    screening = pd.concat(scr, ignore_index=True)
    screening = screening[screening["test_date"].to_numpy() <= t_end]
    screening = screening.sort_values(["test_date", "patient_id"], kind="stable").reset_index(drop=True)
    screening["screening_id"] = np.arange(1, len(screening) + 1, dtype=np.int64)
    return screening


def _years_back(d: dt.date, years: int) -> np.datetime64:
    return add_months(np.array([np.datetime64(d, "D")]), -12 * years)[0]


def _choose(rng, table: dict, n: int) -> np.ndarray:
    keys = list(table)
    p = np.array([table[k] for k in keys], dtype=float)
    return rng.choice(np.array(keys, dtype=object), size=n, p=p / p.sum())


def _exemptions(rng, b: np.ndarray, lag: np.ndarray, t_end) -> list[dict]:
    """Refusals and medical exemptions of the children (arrays over the children; vaccine "" = all).

    ``vaccine`` names a dose code (core.prevention.DOSES) or a series code (core.prevention.SERIES);
    a row covers a dose when it is empty, equals the dose's code or equals the dose's series.
    """
    n = len(b)
    due = np.stack([add_months(b, d.months, d.days) for d in prev.CALENDAR], axis=1)  # children × doses
    first_of_series = {}
    for j, d in enumerate(prev.CALENDAR):
        first_of_series.setdefault(d.series, j)

    def at_random_due(sel):
        """A due date of a random dose already due by the end of history (the birth when none)."""
        k = len(sel)
        n_due = (due[sel] <= t_end).sum(axis=1)
        j = np.floor(rng.random(k) * np.maximum(n_due, 1)).astype(np.int64)
        return np.where(n_due > 0, due[sel, j], b[sel]), j

    out = []
    # refusals by the legal representative
    has = rng.random(n) < cat.REFUSAL_P * (1 + lag)
    sel = np.flatnonzero(has)
    k = len(sel)
    u = rng.random(k)
    target = np.where(u < cat.REFUSAL_TARGET_P[0], 0, np.where(u < sum(cat.REFUSAL_TARGET_P), 1, 2))
    vacc = np.full(k, "", dtype=object)
    start = b[sel] + np.floor(rng.random(k) * 3).astype(np.int64) * DAY  # at birth, in the maternity hospital
    later_all = (target == 0) & (rng.random(k) < 0.5)
    d_rand, j_rand = at_random_due(sel)
    start = np.where(later_all, d_rand, start)
    series = _choose(rng, cat.REFUSAL_SERIES, k)
    ser_first = np.array([due[i, first_of_series[s]] for i, s in zip(sel, series)], dtype="datetime64[D]") \
        if k else np.array([], dtype="datetime64[D]")
    vacc[target == 1] = series[target == 1]
    start = np.where(target == 1, ser_first, start)
    dose_codes = np.array([d.code for d in prev.CALENDAR], dtype=object)
    vacc[target == 2] = dose_codes[j_rand[target == 2]]
    start = np.where(target == 2, d_rand, start)
    start = start - np.floor(rng.random(k) * 15).astype(np.int64) * DAY
    start = np.maximum(start, b[sel])
    end = start + rng.integers(60, 721, k) * DAY
    end = np.where((rng.random(k) < cat.REFUSAL_WITHDRAWN_P) & (end <= t_end), end, np.datetime64("NaT"))
    out.append({"kind": "refusal", "idx": sel, "vaccine": vacc, "start": start, "end": end})
    # temporary medical exemptions (an illness at a due date): 1–6 months
    sel = np.flatnonzero(rng.random(n) < cat.MEDICAL_TEMP_P)
    k = len(sel)
    start, j = at_random_due(sel)
    start = np.maximum(start - np.floor(rng.random(k) * 10).astype(np.int64) * DAY, b[sel])
    series_of = np.array([d.series for d in prev.CALENDAR], dtype=object)
    vacc = np.where(rng.random(k) < 0.7, "", series_of[j]).astype(object)
    end = start + rng.integers(30, 184, k) * DAY
    out.append({"kind": "medical", "idx": sel, "vaccine": vacc, "start": start, "end": end})
    # permanent medical exemptions from one series (immunodeficiency, a severe reaction)
    sel = np.flatnonzero(rng.random(n) < cat.MEDICAL_PERMANENT_P)
    k = len(sel)
    series = _choose(rng, cat.MEDICAL_PERMANENT_SERIES, k)
    start = np.array([due[i, first_of_series[s]] for i, s in zip(sel, series)], dtype="datetime64[D]") \
        if k else np.array([], dtype="datetime64[D]")
    start = np.maximum(start - np.floor(rng.random(k) * 30).astype(np.int64) * DAY, b[sel])
    out.append({"kind": "medical", "idx": sel, "vaccine": series.astype(object), "start": start,
                "end": np.full(k, np.datetime64("NaT"), dtype="datetime64[D]")})
    for e in out:  # recorded only once they have started
        keep = e["start"] <= t_end
        for key in ("idx", "vaccine", "start", "end"):
            e[key] = e[key][keep]
    return out


def _calendar_doses(st: Structure, patients: pd.DataFrame, seed: int, t_end) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every dose of the national calendar for each attached child born within 18 years before the end
    of history, since birth: person-level series and dropout, delays, refusals and exemptions."""
    rng = rng_for(seed, "vaccination-calendar")
    birth = patients["birth_date"].to_numpy().astype("datetime64[D]")
    attach = patients["attach_mo_id"].fillna(0).to_numpy().astype(np.int64)
    end_date = pd.Timestamp(t_end).date()
    kids = np.flatnonzero((attach > 0) & (birth > _years_back(end_date, 18)) & (birth <= t_end))
    n = len(kids)
    b = birth[kids]
    mo = attach[kids]
    cov = st.factors["vacc_cov"].to_numpy()[mo - 1]
    lag = np.clip((0.97 - cov) / 0.1, 0, 1)  # 0 good … 1 lagging
    limit = add_months(b, prev.CHILD_LIMIT_MONTHS)
    ex = _exemptions(rng_for(seed, "vaccination-exemption"), b, lag, t_end)
    # exemption arrays over the children (one of each: refusal, temporary and permanent medical)
    blocks = []
    for e in ex:
        has = np.zeros(n, dtype=bool)
        vacc = np.full(n, "", dtype=object)
        s = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        en = s.copy()
        has[e["idx"]] = True
        vacc[e["idx"]] = e["vaccine"]
        s[e["idx"]] = e["start"]
        en[e["idx"]] = e["end"]
        blocks.append((has, vacc, s, en))
    cover = np.clip(cov + cat.SERIES_START_EXTRA, 0, 0.999)
    h = cat.HESITANT_SHARE * (1 - cov)
    hesitant = rng.random(n) < h
    p_start = np.where(hesitant, cat.HESITANT_START_P,
                       np.clip((cover - h * cat.HESITANT_START_P) / (1 - h), 0, 1))
    late_p = cat.DOSE_LATE_P + 0.05 * lag
    late_next_p = cat.DOSE_LATE_NEXT_P + 0.03 * lag
    given: dict[str, np.ndarray] = {}
    frames = []
    for d in prev.CALENDAR:
        due = add_months(b, d.months, d.days)
        u = rng.random(n)
        if d.previous is None:
            take = rng.random(n) < p_start
            prev_date = None
        else:
            prev_date = given[d.previous]
            take = ~np.isnat(prev_date) & (rng.random(n) < cat.DOSE_CONTINUE[d.series] - 0.03 * lag)
        if d.months == 0:  # in the maternity hospital, within days
            delay = np.floor(rng.exponential(1.0, n)).astype(np.int64)
        else:  # the first dose of a series is late more often and longer; later ones follow the chain
            lp, (lo, hi) = (late_p, cat.DOSE_LATE_DAYS) if d.previous is None else (late_next_p, cat.DOSE_LATE_NEXT_DAYS)
            delay = np.where(u < cat.DOSE_EARLY_P, -rng.integers(1, 8, n),
                             np.where(u > 1 - lp, rng.integers(lo, hi + 1, n),
                                      np.floor(rng.exponential(cat.DOSE_DELAY_MEAN_DAYS, n)))).astype(np.int64)
        date = np.maximum(due + delay * DAY, b)
        if prev_date is not None:
            ok = ~np.isnat(prev_date)
            date[ok] = np.maximum(date[ok], prev_date[ok] + d.min_interval_days * DAY)
        # refusals and exemptions: postponed past a temporary one, not given during an open one
        for _ in range(2):
            for has, vacc, s, en in blocks:
                covers = has & ((vacc == "") | (vacc == d.code) | (vacc == d.series)) & (date >= s) \
                    & (np.isnat(en) | (date <= en))
                take &= ~(covers & np.isnat(en))
                moved = covers & ~np.isnat(en)
                date[moved] = en[moved] + (1 + np.floor(rng.exponential(14, moved.sum()))).astype(np.int64) * DAY
        take &= (date <= t_end) & (date < limit)
        given[d.code] = np.where(take, date, np.datetime64("NaT"))
        frames.append(pd.DataFrame({"patient_id": patients["patient_id"].to_numpy()[kids[take]], "mo_id": mo[take],
                                    "vaccine": d.code, "vacc_date": date[take]}))
    rows = []
    pid = patients["patient_id"].to_numpy()
    for e in ex:
        rows.append(pd.DataFrame({"patient_id": pid[kids[e["idx"]]], "mo_id": mo[e["idx"]],
                                  "vaccine": pd.Series(e["vaccine"]).replace("", None).to_numpy(),
                                  "kind": e["kind"], "start_date": e["start"], "end_date": e["end"]}))
    exemption = pd.concat(rows, ignore_index=True)
    exemption = exemption.sort_values(["start_date", "patient_id"], kind="stable").reset_index(drop=True)
    exemption["exemption_id"] = np.arange(1, len(exemption) + 1, dtype=np.int64)
    exemption["mo_id"] = exemption["mo_id"].astype(np.int32)
    return pd.concat(frames, ignore_index=True), exemption


def _adult_boosters(st: Structure, patients: pd.DataFrame, seed: int, t_start, t_end) -> pd.DataFrame:
    """АДС-М every 10 years: the last dose of the past 10 years for ~60 % of adults; those whose dose
    fell inside the history also carry the previous one, given 10 years (and a delay) earlier."""
    rng = rng_for(seed, "vaccination-adsm")
    birth = patients["birth_date"].to_numpy().astype("datetime64[D]")
    attach = patients["attach_mo_id"].fillna(0).to_numpy().astype(np.int64)
    n = len(birth)
    cov = np.r_[0.97, st.factors["vacc_cov"].to_numpy()][attach]
    adult18 = add_months(birth, 12 * 18)
    years = prev.ADULT_BOOSTER_YEARS
    span = (t_end - add_months(np.array([t_end]), -12 * years)[0]).astype(np.int64)
    take = (attach > 0) & (adult18 <= t_end) & (rng.random(n) < cat.ADSM_P * cov / 0.97)
    last = t_end - np.floor(rng.random(n) * span).astype(np.int64) * DAY
    take &= last >= adult18
    before = add_months(last, -12 * years) - rng.integers(0, 730, n) * DAY
    again = take & (last >= t_start) & (before >= adult18)
    pid = patients["patient_id"].to_numpy()
    frames = [pd.DataFrame({"patient_id": pid[m], "mo_id": attach[m], "vaccine": prev.ADULT_BOOSTER, "vacc_date": d[m]})
              for m, d in ((take, last), (again, before))]
    return pd.concat(frames, ignore_index=True)


def vaccinations(st: Structure, patients: pd.DataFrame, seed: int, start: dt.date, end: dt.date
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Doses of the national calendar since birth, adult АДС-М boosters, the autumn influenza campaigns,
    and the children's refusals and medical exemptions."""
    rng = rng_for(seed, "vaccination")
    birth = patients["birth_date"].to_numpy().astype("datetime64[D]")
    attach = patients["attach_mo_id"].fillna(0).to_numpy().astype(np.int64)
    pid = patients["patient_id"].to_numpy()
    t_start, t_end = np.datetime64(start, "D"), np.datetime64(end, "D")
    child, exemption = _calendar_doses(st, patients, seed, t_end)
    frames = [child, _adult_boosters(st, patients, seed, t_start, t_end)]
    for year in range(start.year, end.year + 1):
        sept1 = np.datetime64(f"{year}-{prev.FLU_SEASON_START_MONTH:02d}-01", "D")
        age = (sept1 - birth).astype(np.int64) / 365.25
        p = np.where(age < 18, 0.3, np.where(age < 60, 0.25, 0.45))
        sel = (attach > 0) & (age >= 0.5) & (rng.random(len(pid)) < p)
        day = np.floor(rng.choice(4, size=sel.sum(), p=[0.2, 0.45, 0.25, 0.1]) * 30.5
                       + rng.random(sel.sum()) * 30).astype(np.int64)
        d = sept1 + day * DAY
        keep = (d >= t_start) & (d <= t_end)
        frames.append(pd.DataFrame({"patient_id": pid[sel][keep], "mo_id": attach[sel][keep], "vaccine": prev.FLU,
                                    "vacc_date": d[keep]}))
    v = pd.concat(frames, ignore_index=True).sort_values(["vacc_date", "patient_id"], kind="stable").reset_index(drop=True)
    v["vacc_id"] = np.arange(1, len(v) + 1, dtype=np.int64)
    v["mo_id"] = v["mo_id"].astype(np.int32)
    return v, exemption
