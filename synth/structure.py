"""Organisation structure, staffing and the attached population of the synthetic city.

The structure (organisations, departments, every kind of position) is complete at every
scale; the number of people, doctors and events scales.
"""
from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import catalog as cat


def rng_for(seed: int, stream: str, *extra: int) -> np.random.Generator:
    """An independent, reproducible random stream for one part of the generation.

    The stream name is hashed with CRC-32, not ``hash()``, which Python salts per process.
    """
    return np.random.default_rng([seed, zlib.crc32(stream.encode()), *extra])


def stochastic_round(rng, x):
    """Round to an integer, up with probability equal to the fraction (keeps totals unbiased)."""
    x = np.asarray(x, dtype=float)
    base = np.floor(x)
    return (base + (rng.random(x.shape) < (x - base))).astype(np.int64)


def allocate(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Split an integer total by weights (largest remainders), each share at least ``minimum``."""
    w = np.asarray(weights, dtype=float)
    raw = w / w.sum() * total
    out = np.maximum(np.floor(raw).astype(int), minimum)
    rest = total - out.sum()
    if rest > 0:
        order = np.argsort(-(raw - np.floor(raw)))
        out[order[:rest]] += 1
    return out


@dataclass
class Structure:
    district: pd.DataFrame
    age_dist: np.ndarray          # districts × 18 age groups × 2 sexes (F, M): share of district pop
    mo: pd.DataFrame
    department: pd.DataFrame
    specialty: pd.DataFrame
    doctor: pd.DataFrame
    position: pd.DataFrame
    factors: pd.DataFrame         # per MO latent quality factors (generator-internal)
    served_full: np.ndarray       # per MO people served at full scale


def district_table() -> pd.DataFrame:
    pops = np.array([d[2] for d in cat.DISTRICTS], dtype=float)
    pops = np.round(pops / pops.sum() * cat.CITY_POPULATION).astype(np.int64)
    return pd.DataFrame({
        "district_id": np.arange(1, len(cat.DISTRICTS) + 1, dtype=np.int16),
        "name": [d[0] for d in cat.DISTRICTS],
        "okato": [d[1] for d in cat.DISTRICTS],
        "population_full": pops,
        "age_tilt": [d[3] for d in cat.DISTRICTS],
    })


def age_distribution(districts: pd.DataFrame) -> np.ndarray:
    """Share of each district's population by age group and sex; older districts tilt right."""
    out = np.zeros((len(districts), 18, 2))
    for i, tilt in enumerate(districts["age_tilt"]):
        w = cat.AGE_SHARE * np.exp(tilt * (cat.AGE_MID - 40) / 25)
        w = w / w.sum()
        out[i, :, 0] = w * cat.FEMALE_SHARE
        out[i, :, 1] = w * (1 - cat.FEMALE_SHARE)
    return out


def build_structure(scale: float, seed: int) -> Structure:
    rng = rng_for(seed, "structure")
    districts = district_table()
    age = age_distribution(districts)
    pop = districts["population_full"].to_numpy()
    # children are 0–17: three full 5-year groups and 3/5 of the 15–19 group
    children = pop * (age[:, :3, :].sum(axis=(1, 2)) + 0.6 * age[:, 3, :].sum(axis=1))
    adults = pop - children
    women_15_64 = pop * age[:, 3:13, 0].sum(axis=1)
    bases = {"children_polyclinic": children, "adult_polyclinic": adults, "womens_consultation": women_15_64}

    rows = []
    counters = {}
    for kind, (served, minimum, pattern, short) in cat.MO_PLAN.items():
        base = bases.get(kind, pop)
        total = int(round(base.sum() / served))
        counts = allocate(max(total, minimum * len(pop)), base, minimum)
        for d_idx, n in enumerate(counts):
            weights = rng.lognormal(0, 0.25, n) if n else np.array([])
            share = weights / weights.sum() if n else weights
            for k in range(n):
                counters[kind] = counters.get(kind, 0) + 1
                num = counters[kind]
                if kind == "private":
                    brand = cat.PRIVATE_BRANDS[(num - 1) % len(cat.PRIVATE_BRANDS)]
                    suffix = (num - 1) // len(cat.PRIVATE_BRANDS)
                    brand = brand if suffix == 0 else f"{brand}-{suffix + 1}"
                    name, sname = pattern.format(brand=brand), short.format(brand=brand)
                else:
                    name, sname = pattern.format(n=num), short.format(n=num)
                rows.append({"kind": kind, "district_idx": d_idx, "name": name, "short_name": sname,
                             "served_full": float(base[d_idx] * share[k]) if kind != "private" else float(served),
                             "share_in_district": float(share[k])})
    mo = pd.DataFrame(rows)
    # City-level organisations (maternity, diagnostic centres) serve more than their district.
    for kind in ("maternity", "diagnostic_center"):
        sel = mo["kind"] == kind
        mo.loc[sel, "served_full"] = cat.CITY_POPULATION / max(sel.sum(), 1)
    mo["mo_id"] = np.arange(1, len(mo) + 1, dtype=np.int32)
    mo["district_id"] = (mo["district_idx"] + 1).astype(np.int16)
    mo["is_state"] = mo["kind"] != "private"
    mo["has_attachment"] = mo["kind"].isin(["adult_polyclinic", "children_polyclinic"])
    mo["oid"] = "1.2.643.5.1.13.13.12.2.78." + (7000 + mo["mo_id"]).astype(str)
    # 60 % of women's consultations are subdivisions of an adult polyclinic in their district.
    parent = np.full(len(mo), -1, dtype=np.int64)
    for idx in np.flatnonzero((mo["kind"] == "womens_consultation").to_numpy()):
        if rng.random() < 0.6:
            cands = mo.index[(mo["kind"] == "adult_polyclinic") & (mo["district_idx"] == mo.at[idx, "district_idx"])]
            parent[idx] = mo.at[rng.choice(cands), "mo_id"]
    mo["parent_mo_id"] = pd.array(np.where(parent > 0, parent, 0), dtype="Int64").astype("Int64")
    mo.loc[parent <= 0, "parent_mo_id"] = pd.NA

    specialty = pd.DataFrame(cat.SPECIALTIES, columns=["specialty_id", "code", "name", "category", "wait_norm"])
    specialty["specialty_id"] = specialty["specialty_id"].astype(np.int16)

    # Departments and positions.
    dept_rows, pos_rows = [], []
    for m in mo.itertuples(index=False):
        for d_name, profile, specs in cat.MO_DEPARTMENTS[m.kind]:
            dept_id = len(dept_rows) + 1
            dept_rows.append({"dept_id": dept_id, "mo_id": m.mo_id, "name": d_name, "profile": profile})
            for j, (spec_code, per10k) in enumerate(specs):
                n_full = m.served_full / 10_000 * per10k
                if m.kind == "private":
                    n_full = per10k * rng.uniform(0.3, 1.6)
                # every position kind of the template exists at any scale; the number scales
                n = max(int(stochastic_round(rng, n_full * scale)), 1)
                pos_rows.append((m.mo_id, dept_id, cat.SPEC_ID[spec_code], j == 0, n))
    department = pd.DataFrame(dept_rows)
    department["dept_id"] = department["dept_id"].astype(np.int32)
    groups = pd.DataFrame(pos_rows, columns=["mo_id", "dept_id", "specialty_id", "core", "n"])
    position = groups.loc[groups.index.repeat(groups["n"])].drop(columns="n").reset_index(drop=True)
    position["position_id"] = np.arange(1, len(position) + 1, dtype=np.int32)
    position["rate"] = rng.choice([1.0, 1.0, 1.0, 1.0, 0.5, 0.25], size=len(position))

    factors = mo_factors(mo, seed)
    # Vacancies: ~12 % of positions, more where management is weak; the first core position stays filled.
    vac_p = np.clip(0.10 + 0.08 * factors["weakness"].to_numpy()[position["mo_id"].to_numpy() - 1], 0.02, 0.4)
    first_core = position["core"].to_numpy() & ~position.duplicated(["dept_id", "core"]).to_numpy()
    vacant = (rng.random(len(position)) < vac_p) & ~first_core
    filled_idx = np.flatnonzero(~vacant)
    names = doctor_names(rng_for(seed, "names"), len(filled_idx))
    doctor = pd.DataFrame({
        "doctor_id": np.arange(1, len(filled_idx) + 1, dtype=np.int32),
        "full_name": names["full_name"], "sex": names["sex"],
        "specialty_id": position["specialty_id"].to_numpy()[filled_idx].astype(np.int16),
        "mo_id": position["mo_id"].to_numpy()[filled_idx].astype(np.int32),
        "dept_id": position["dept_id"].to_numpy()[filled_idx].astype(np.int32),
    })
    doc_of_pos = np.zeros(len(position), dtype=np.int64)
    doc_of_pos[filled_idx] = doctor["doctor_id"].to_numpy()
    position["doctor_id"] = pd.array(np.where(doc_of_pos > 0, doc_of_pos, 0), dtype="Int64")
    position.loc[doc_of_pos == 0, "doctor_id"] = pd.NA

    return Structure(district=districts, age_dist=age, mo=mo, department=department, specialty=specialty,
                     doctor=doctor, position=position, factors=factors,
                     served_full=mo["served_full"].to_numpy())


def mo_factors(mo: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Latent quality of each organisation: a shared 'weakness' plus domain-specific noise.

    Lagging organisations lag in several domains at once (as real weak management does),
    and some districts are weaker than others, so integral ratings have something to find.
    """
    rng = rng_for(seed, "factors")
    n = len(mo)
    district_shift = rng.normal(0, 0.45, 18)
    weakness = rng.normal(0, 1, n) + district_shift[mo["district_idx"].to_numpy()]
    weakness[mo["kind"].to_numpy() == "private"] += 0.4

    def lag(share, among=None):
        # a domain lags where weakness plus its own noise is in the top ``share`` (of ``among``)
        z = 0.65 * weakness + 0.75 * rng.normal(0, 1, n)
        return z > np.quantile(z if among is None else z[among], 1 - share)

    f = pd.DataFrame({"weakness": weakness})
    lag_docs = lag(0.12)
    f["doc_cov"] = np.where(lag_docs, rng.uniform(0.62, 0.84, n), np.clip(rng.normal(0.962, 0.015, n), 0.9, 0.995))
    # A few organisations improve month by month (control works), a few slide.
    trend = np.zeros(n)
    improving = lag_docs & (rng.random(n) < 0.35)
    sliding = ~lag_docs & (rng.random(n) < 0.04)
    trend[improving] = rng.uniform(0.004, 0.009, improving.sum())
    trend[sliding] = -rng.uniform(0.003, 0.006, sliding.sum())
    f["doc_trend"] = trend
    f["send_delay_mult"] = np.where(lag_docs, rng.uniform(4, 10, n), rng.lognormal(0, 0.3, n))
    f["reject_mult"] = np.where(lag_docs, rng.uniform(2, 4, n), rng.lognormal(0, 0.25, n))
    lag_wait = lag(0.15)
    f["queue_wd"] = np.where(lag_wait, rng.uniform(11, 22, n), rng.gamma(2.2, 2.0, n))
    f["primary_ok"] = np.where(lag_wait, rng.uniform(0.5, 0.72, n), np.clip(rng.normal(0.9, 0.03, n), 0.8, 0.97))
    f["closed_booking"] = np.where(lag(0.15), rng.uniform(0.15, 0.35, n), rng.uniform(0.01, 0.07, n))
    lag_preg = lag(0.2)
    f["preg_late"] = np.where(lag_preg, rng.uniform(0.3, 0.45, n), rng.uniform(0.08, 0.18, n))
    f["preg_miss"] = np.where(lag_preg, rng.uniform(0.15, 0.3, n), rng.uniform(0.03, 0.08, n))
    # prevention and vaccination lag among the organisations that do them (with attachment; children's for the
    # calendar), so that every city has some at any seed
    attached = mo["has_attachment"].to_numpy()
    children = (mo["kind"] == "children_polyclinic").to_numpy()
    f["prev_completion"] = np.where(lag(0.15, attached), rng.uniform(0.62, 0.8, n), np.clip(rng.normal(1.02, 0.03, n), 0.9, 1.08))
    f["vacc_cov"] = np.where(lag(0.12, children), rng.uniform(0.86, 0.93, n), np.clip(rng.normal(0.97, 0.008, n), 0.95, 0.99))
    return f


def doctor_names(rng, n: int) -> pd.DataFrame:
    female = rng.random(n) < 0.7  # most doctors in Russian polyclinics are women
    sur = rng.choice(cat.SURNAMES, n)
    first = np.where(female, rng.choice(cat.FEMALE_NAMES, n), rng.choice(cat.MALE_NAMES, n))
    root = rng.choice(cat.PATRONYMIC_ROOTS, n)
    surname = np.where(female, np.char.add(sur.astype(str), "а"), sur)
    patronymic = np.where(female, np.char.add(root.astype(str), "на"), np.char.add(root.astype(str), "ич"))
    full = np.char.add(np.char.add(np.char.add(surname.astype(str), " "), first.astype(str)),
                       np.char.add(" ", patronymic.astype(str)))
    return pd.DataFrame({"full_name": full.astype(object), "sex": np.where(female, "F", "M")})


def build_patients(st: Structure, scale: float, seed: int, ref_date: dt.date) -> pd.DataFrame:
    """The attached population as of ``ref_date``: sex, birth date, district, organisation."""
    rng = rng_for(seed, "patients")
    pop = st.district["population_full"].to_numpy()
    counts = stochastic_round(rng, pop[:, None, None] * st.age_dist * scale)  # d × g × s
    d_idx, g_idx, s_idx = np.nonzero(counts >= 0)
    reps = counts[d_idx, g_idx, s_idx]
    d = np.repeat(d_idx, reps)
    g = np.repeat(g_idx, reps)
    s = np.repeat(s_idx, reps)
    n = len(d)
    span = np.where(g == 17, 12.0, 5.0)
    age_years = g * 5 + rng.random(n) * span
    ref = np.datetime64(ref_date, "D")
    birth = ref - np.round(age_years * 365.25).astype("timedelta64[D]")
    adult = age_years >= 18
    attach = np.zeros(n, dtype=np.int64)
    mo = st.mo
    for kind, mask in (("adult_polyclinic", adult), ("children_polyclinic", ~adult)):
        sub = mo[mo["kind"] == kind]
        for d_i, grp in sub.groupby("district_idx"):
            sel = np.flatnonzero(mask & (d == d_i))
            w = grp["share_in_district"].to_numpy()
            attach[sel] = rng.choice(grp["mo_id"].to_numpy(), size=len(sel), p=w / w.sum())
    attach[rng.random(n) < 0.03] = 0  # ~3 % are not attached anywhere
    perm = rng.permutation(n)  # ids carry no order by district or age
    out = pd.DataFrame({
        "patient_id": np.arange(1, n + 1, dtype=np.int64),
        "sex": np.where(s[perm] == 0, "F", "M"),
        "birth_date": birth[perm],
        "district_id": (d[perm] + 1).astype(np.int16),
        "attach_mo_id": pd.array(attach[perm], dtype="Int64"),
    })
    out.loc[out["attach_mo_id"] == 0, "attach_mo_id"] = pd.NA
    out["area_doctor_id"] = area_doctors(st, out, seed, ref_date)
    return out


def area_doctors(st: Structure, patients: pd.DataFrame, seed: int, ref_date: dt.date) -> pd.Series:
    """The участок doctor of each attached patient: a therapist or GP of his organisation for an adult,
    a paediatrician for a child (under 18 at ``ref_date``); the organisation's patients are split evenly
    between its участок doctors in a random order. Null where not attached or no such doctor works there."""
    rng = rng_for(seed, "area-doctor")
    n = len(patients)
    attach = patients["attach_mo_id"].fillna(0).to_numpy().astype(np.int64)
    child = patients["birth_date"].to_numpy().astype("datetime64[D]") > _years_before(ref_date, 18)
    out = np.zeros(n, dtype=np.int64)
    doc = st.doctor
    for is_child, specs in ((False, cat.AREA_ADULT_SPECIALTIES), (True, cat.AREA_CHILD_SPECIALTIES)):
        ids = [cat.SPEC_ID[c] for c in specs]
        pool = doc[doc["specialty_id"].isin(ids)].sort_values("doctor_id")
        by_mo = {m: g["doctor_id"].to_numpy() for m, g in pool.groupby("mo_id")}
        sel = np.flatnonzero((attach > 0) & (child == is_child))
        order = sel[np.argsort(attach[sel], kind="stable")]
        mos, start, count = np.unique(attach[order], return_index=True, return_counts=True)
        for mo_id, a, k in zip(mos, start, count):
            docs = by_mo.get(int(mo_id))
            if docs is None:
                continue
            members = rng.permutation(order[a:a + k])
            # equal blocks: the i-th of k patients goes to doctor floor(i × d / k)
            out[members] = docs[(np.arange(k) * len(docs)) // k]
    res = pd.array(out, dtype="Int64")
    res[out == 0] = pd.NA
    return pd.Series(res, index=patients.index)


def _years_before(d: dt.date, years: int) -> np.datetime64:
    try:
        back = d.replace(year=d.year - years)
    except ValueError:  # 29 February
        back = d.replace(year=d.year - years, day=28)
    return np.datetime64(back, "D")


def district_population(patients: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """Population by district, sex and age group on 1 January of each year (from the register)."""
    birth = patients["birth_date"].to_numpy().astype("datetime64[D]")
    frames = []
    for y in years:
        jan1 = np.datetime64(f"{y}-01-01", "D")
        alive = birth <= jan1
        age = ((jan1 - birth[alive]).astype(np.int64) / 365.25).astype(np.int64)
        grp = np.minimum(age // 5, 17)
        df = pd.DataFrame({"district_id": patients["district_id"].to_numpy()[alive],
                           "sex": patients["sex"].to_numpy()[alive], "age_group": grp})
        agg = df.groupby(["district_id", "sex", "age_group"]).size().rename("population").reset_index()
        agg.insert(0, "year", y)
        frames.append(agg)
    out = pd.concat(frames, ignore_index=True)
    out["year"] = out["year"].astype(np.int16)
    out["age_group"] = out["age_group"].astype(np.int16)
    return out
