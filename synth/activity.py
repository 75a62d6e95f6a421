"""Monthly activity of the synthetic city: episodes, visits, documents, bookings and slots.

Everything is vectorised over patients, episodes and documents with numpy; the only Python
loops run over months, over the few hundred (district, sex, age) cells, and over fixed
small lists (visit slots of a pregnancy, document kinds).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from . import catalog as cat
from .structure import Structure, rng_for

DAY = np.timedelta64(1, "D")
HOUR = np.timedelta64(3600, "s")
SEC = np.timedelta64(1, "s")
CODES = np.array([row[0] for row in cat.ICD_CATALOG])
CODE3 = np.array([c[:3] for c in CODES])
CHRONIC = np.array([row[6] for row in cat.ICD_CATALOG])
SEASON_KIND = [row[5] for row in cat.ICD_CATALOG]
SPEC_OF_CODE = np.array([cat.SPEC_ID[row[7]] if row[7] else 0 for row in cat.ICD_CATALOG])
SPEC_SHARE = np.array([row[8] for row in cat.ICD_CATALOG])
CLASS_OF_CODE = np.array([ord(c[0]) for c in CODES])  # letter as a coarse class key for district effects
INPATIENT_WEIGHT = {"J18": 8, "I63": 25, "I20": 5, "I25": 0.6, "I48": 3, "I50": 6, "I11": 0.2, "I10": 0.05,
                    "K80": 8, "S72": 25, "S82": 4, "S52": 2, "C50": 6, "C18": 8, "C34": 8, "C61": 4, "N20": 3,
                    "J44": 1, "E11": 0.15, "M17": 0.6, "H25": 1.0, "G40": 1, "O26": 2, "K29": 0.1, "I67": 0.3,
                    "J45": 0.3, "D25": 1.5, "N18": 0.5, "T14": 0.3, "S62": 0.5, "J20": 0.1, "A09": 0.4}
INP_W = np.array([INPATIENT_WEIGHT.get(c, 0.02) for c in CODE3])
ACUTE_FOR_URGENT = np.isin(CODE3, ["J06", "J02", "J03", "J11", "J20", "I10", "M54", "R50", "R10", "R51", "A09",
                                   "A08", "B34", "H66", "H65", "T14", "S93", "L23"])
INP_DEPT = np.select(
    [np.isin(CODE3, ["I10", "I11", "I20", "I25", "I48", "I50", "Q21"]),
     np.isin(CODE3, ["I63", "I67", "G40", "G20", "G43", "G47", "G56"]),
     np.array([c[0] in "SCT" for c in CODE3]) | np.isin(CODE3, ["K80", "N20", "H25", "I83", "D25", "M17"])],
    [2, 3, 1], 0)  # index of the ward among a hospital's inpatient departments (0 therapy, 1 surgery, 2 cardio, 3 neuro)

SPEC = cat.SPEC_ID
PRIMARY = {SPEC["therapist"], SPEC["gp"], SPEC["pediatrician"]}
SPECIALIST_IDS = np.array([s[0] for s in cat.SPECIALTIES if s[3] in ("specialist", "obstetric")])
DIAG_IDS = np.array([SPEC["ultrasound"], SPEC["radiologist"], SPEC["functional"]])
CHANNELS = np.array(["portal", "call_center", "infomat", "registry", "referral"])
CHANNEL_MIX = {  # primary / specialist / diagnostic, facts §1 (portal, call centres, infomats and others)
    "primary": np.array([0.46, 0.27, 0.08, 0.19, 0.0]),
    "specialist": np.array([0.33, 0.2, 0.05, 0.15, 0.27]),
    "diagnostic": np.array([0.14, 0.1, 0.03, 0.18, 0.55]),
}


def month_days(month: dt.date) -> np.ndarray:
    nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return np.arange(np.datetime64(month, "D"), np.datetime64(nxt, "D"))


class Lookup:
    """Pick a random member of a group (for example a doctor of an organisation and specialty)."""

    def __init__(self, keys: np.ndarray, values: np.ndarray):
        order = np.argsort(keys, kind="stable")
        self.keys, self.values = keys[order], values[order]
        self.uniq, self.start, self.count = np.unique(self.keys, return_index=True, return_counts=True)

    def pick(self, keys: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Values for each key (-1 where the key has no members)."""
        if len(self.uniq) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(self.uniq, keys), 0, len(self.uniq) - 1)
        found = self.uniq[pos] == keys
        idx = self.start[pos] + np.minimum(np.floor(u * self.count[pos]).astype(np.int64), self.count[pos] - 1)
        return np.where(found, self.values[idx], -1)


class ActivityGenerator:
    """Generates one month of activity at a time, deterministically for (seed, month)."""

    def __init__(self, st: Structure, patients: pd.DataFrame, scale: float, seed: int,
                 start: dt.date, end: dt.date, calendar, preg: pd.DataFrame, exams: pd.DataFrame):
        self.st, self.scale, self.seed = st, scale, seed
        self.start, self.end = start, end
        self.t_end = np.datetime64(end, "D")
        self.ts_end = np.datetime64(end, "s") + 86399 * SEC
        self.cal = calendar
        self.preg, self.exams = preg, exams
        self.n_mo = len(st.mo)
        p = patients
        self.pid = p["patient_id"].to_numpy()
        self.sex_m = (p["sex"].to_numpy() == "M").astype(np.int64)  # 0 = F, 1 = M (catalog order)
        self.birth = p["birth_date"].to_numpy().astype("datetime64[D]")
        self.district = p["district_id"].to_numpy().astype(np.int64)  # 1..18
        self.attach = p["attach_mo_id"].fillna(0).to_numpy().astype(np.int64)
        self.frailty = rng_for(seed, "frailty").gamma(2.0, 0.5, len(p))
        mo = st.mo
        self.mo_kind = mo["kind"].to_numpy()
        self.mo_district = mo["district_id"].to_numpy().astype(np.int64)
        self.f = st.factors
        d = st.doctor
        self.doc_mo = d["mo_id"].to_numpy().astype(np.int64)
        self.doc_dept = d["dept_id"].to_numpy().astype(np.int64)
        self.doc_spec = d["specialty_id"].to_numpy().astype(np.int64)
        self.doc_ids = d["doctor_id"].to_numpy().astype(np.int64)
        doc_kind = self.mo_kind[self.doc_mo - 1]
        doc_dist = self.mo_district[self.doc_mo - 1]
        state_outp = ~np.isin(doc_kind, ["private", "maternity"])
        self.by_mo = Lookup(self.doc_mo * 64 + self.doc_spec, self.doc_ids)
        self.by_dist = Lookup((doc_dist * 64 + self.doc_spec)[state_outp], self.doc_ids[state_outp])
        priv = doc_kind == "private"
        self.by_dist_priv = Lookup((doc_dist * 64 + self.doc_spec)[priv], self.doc_ids[priv])
        self.by_city = Lookup(self.doc_spec[state_outp], self.doc_ids[state_outp])
        self.by_dept = Lookup(self.doc_dept, self.doc_ids)
        # Hospitals' inpatient wards in catalogue order (therapy, surgery, cardio, neuro).
        dept = st.department
        inp = dept[dept["profile"] == "inpatient"].sort_values(["mo_id", "dept_id"])
        self.ward = np.zeros((self.n_mo + 1, 4), dtype=np.int64)
        for m, g in inp.groupby("mo_id"):
            ids_ = g["dept_id"].to_numpy()
            self.ward[m, :] = np.r_[ids_, np.repeat(ids_[-1:], 4)][:4]
        hosp = mo[mo["kind"] == "hospital"]
        self.hosp_by_dist = Lookup(hosp["district_id"].to_numpy().astype(np.int64), hosp["mo_id"].to_numpy())
        self.hosp_all = hosp["mo_id"].to_numpy()
        mat = mo[mo["kind"] == "maternity"]
        self.mat_by_dist = Lookup(mat["district_id"].to_numpy().astype(np.int64), mat["mo_id"].to_numpy())
        self.mat_all = mat["mo_id"].to_numpy()
        self._rates()
        self.silent = silent_windows(st, seed, start, end, calendar)
        # A persistent share of each organisation's doctors is not open for booking.
        self.doc_closed_latent = rng_for(seed, "closed-doctors").random(len(d))
        self.queue_noise = rng_for(seed, "queue").lognormal(0, 0.3, (self.n_mo + 1, 32))

    # ------------------------------------------------------------- rates
    def _rates(self):
        """Annual episode rates per (district, age group, sex) cell and ICD code."""
        base = np.array([row[1] for row in cat.ICD_CATALOG])
        prof = cat.ICD_PROFILE            # codes × 18
        sexf = cat.ICD_SEX                # codes × 2
        rng = rng_for(self.seed, "district-morbidity")
        letters = np.unique(CLASS_OF_CODE)
        dfac = rng.lognormal(0, 0.08, (18, len(letters)))
        # Kolpino's circulatory morbidity is higher than its age alone explains (a finding to test).
        kolp = [i for i, d in enumerate(cat.DISTRICTS) if d[0] == "Колпинский"][0]
        dfac[kolp, np.searchsorted(letters, ord("I"))] *= 1.12
        self.dfac = dfac[:, np.searchsorted(letters, CLASS_OF_CODE)]  # 18 × codes
        r = base[None, None, :] * prof.T[:, None, :] * sexf.T[None, :, :]  # g × s × codes
        pop = (self.st.district["population_full"].to_numpy()[:, None, None] * self.st.age_dist)  # d × g × s
        avg = (pop[:, :, :, None] * r[None] * self.dfac[:, None, None, :]).sum() / pop.sum()
        self.rate = r * (cat.DISEASE_EPISODES_PER_PERSON / avg)  # g × s × codes, annual, flat season

        def per_person(mask):
            return (pop[:, :, :, None] * self.rate[None] * self.dfac[:, None, None, :] * mask).sum() / pop.sum()
        # Dispensary follow-up covers chronic codes, urgent care acute ones, at their own volumes.
        self.k_disp = cat.DISPENSARY_VISITS_PER_PERSON / per_person(CHRONIC)
        self.k_urgent = cat.URGENT_VISITS_PER_PERSON / per_person(ACUTE_FOR_URGENT)

    def _season(self, month: dt.date) -> np.ndarray:
        m = month.month - 1
        # The winter epidemic differs from season to season.
        season_year = month.year if month.month >= 7 else month.year - 1
        amp = rng_for(self.seed, "epidemic", season_year).lognormal(0, 0.15)
        out = np.empty(len(CODES))
        for i, kind in enumerate(SEASON_KIND):
            s = cat.SEASON[kind][m]
            out[i] = max(0.05, 1 + (s - 1) * amp) if kind in ("resp", "flu") else s
        return out

    # ------------------------------------------------------------- helpers
    def _age_group(self, when: np.datetime64):
        age = (when - self.birth).astype(np.int64) / 365.25
        return age, np.clip((age // 5).astype(np.int64), 0, 17)

    def _day_weights(self, days: np.ndarray, saturday=0.2, sunday=0.0) -> np.ndarray:
        """Relative activity of each day: working days 1, open Saturdays and closed days less."""
        working = self.cal.is_working(days)
        clinic = self.cal.is_clinic_day(days)
        return np.where(working, 1.0, np.where(clinic, saturday, sunday))

    def _pick_doctor(self, rng, mo_ids, spec, district, allow_private=True):
        u = rng.random(len(spec))
        doc = self.by_mo.pick(mo_ids * 64 + spec, u)
        miss = doc < 0
        if miss.any():
            doc[miss] = self.by_dist.pick(district[miss] * 64 + spec[miss], u[miss])
        miss = doc < 0
        if miss.any() and allow_private:
            doc[miss] = self.by_dist_priv.pick(district[miss] * 64 + spec[miss], u[miss])
        miss = doc < 0
        if miss.any():
            doc[miss] = self.by_city.pick(spec[miss], u[miss])
        return doc

    # ------------------------------------------------------------- episodes
    def episodes(self, month: dt.date, ids) -> dict[str, pd.DataFrame]:
        rng = rng_for(self.seed, "episodes", month.year * 12 + month.month)
        days = month_days(month)
        mid = days[len(days) // 2]
        age, grp = self._age_group(mid)
        alive = self.birth <= days[-1]
        cell = (self.district - 1) * 36 + grp * 2 + self.sex_m
        season = self._season(month)
        # cells × codes monthly rates
        r = self.rate[None] * self.dfac[:, None, None, :] * season[None, None, None, :]   # d × g × s × codes
        r = r.reshape(18 * 36, len(CODES)) / 12
        parts = []

        def draw(rate_cells, purpose):
            lam_cell = rate_cells.sum(axis=1)
            lam = lam_cell[cell] * self.frailty * alive
            counts = rng.poisson(lam)
            p_idx = np.repeat(np.arange(len(lam)), counts)
            c = cell[p_idx]
            order = np.argsort(c, kind="stable")
            p_idx, c = p_idx[order], c[order]
            codes = np.empty(len(c), dtype=np.int64)
            uc, st_, cnt = np.unique(c, return_index=True, return_counts=True)
            for k, s0, n in zip(uc, st_, cnt):
                w = rate_cells[k]
                codes[s0:s0 + n] = rng.choice(len(CODES), size=n, p=w / w.sum())
            parts.append((p_idx, codes, purpose))

        draw(r, "disease")
        chronic = r * CHRONIC[None, :]
        draw(chronic * self.k_disp, "dispensary")
        draw(r * ACUTE_FOR_URGENT[None, :] * self.k_urgent, "urgent")
        p_idx = np.concatenate([p[0] for p in parts])
        code = np.concatenate([p[1] for p in parts])
        purpose = np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in parts])
        n = len(p_idx)
        child = age[p_idx] < 18
        district = self.district[p_idx]
        # Specialty: the code's specialist for a share of episodes, otherwise primary care.
        to_spec = (SPEC_OF_CODE[code] > 0) & (rng.random(n) < SPEC_SHARE[code] * np.where(purpose == "urgent", 0.2, 1.0))
        primary = np.where(child, SPEC["pediatrician"], np.where(rng.random(n) < 0.08, SPEC["gp"], SPEC["therapist"]))
        spec = np.where(to_spec, SPEC_OF_CODE[code], primary)
        # Organisation: attachment for primary care, the district network or private clinics otherwise.
        route = rng.random(n)
        mo_ids = self.attach[p_idx].copy()
        dental = spec == SPEC["dentist"]
        gyn = spec == SPEC["gynecologist"]
        private = (~child & (route > 0.93)) | (dental & (route > 0.8)) | (gyn & (route > 0.85))
        mo_ids[to_spec & (route > 0.8) & (route <= 0.93)] = 0  # district network (consult clinics, centres)
        mo_ids[dental | gyn] = 0
        doc = np.full(n, -1, dtype=np.int64)
        u = rng.random(n)
        doc[private] = self.by_dist_priv.pick(district[private] * 64 + spec[private], u[private])
        doc[private & (doc < 0)] = self.by_dist_priv.pick(district[private & (doc < 0)] * 64 + SPEC["therapist"],
                                                          u[private & (doc < 0)])
        rest = doc < 0
        doc[rest] = self._pick_doctor(rng, mo_ids[rest], spec[rest], district[rest], allow_private=False)
        ok = doc > 0
        p_idx, code, purpose, doc, child = p_idx[ok], code[ok], purpose[ok], doc[ok], child[ok]
        n = len(p_idx)
        # Dates: the opening day weighted by the production calendar, later visits days apart.
        open_day = days[rng.choice(len(days), size=n, p=(w := self._day_weights(days)) / w.sum())]
        is_new = np.where(CHRONIC[code], rng.random(n) < 0.08, rng.random(n) < 0.85)
        nvis = np.where(purpose == "disease", rng.geometric(0.38, n), 1)
        born = open_day >= self.birth[p_idx]  # a child born late in the month has no care before birth
        open_day, nvis, p_idx, doc, code, is_new, purpose = (a[born] for a in (open_day, nvis, p_idx, doc, code, is_new, purpose))
        outp = self._visits_frame(rng, open_day, nvis, p_idx, doc, code, is_new, purpose, "outpatient", ids)
        inp = self.inpatient(rng, month, days, r, cell, alive, ids)
        return {"outpatient": outp, "inpatient": inp}

    def _visits_frame(self, rng, open_day, nvis, p_idx, doc, code, is_new, purpose, kind, ids):
        n = len(open_day)
        ep_id = ids.take("episode", n)
        v_ep = np.repeat(np.arange(n), nvis)
        # follow-ups come a few working days apart (mean about 3), so no weekday piles up
        gaps = rng.geometric(0.35, len(v_ep))
        first = np.r_[0, np.cumsum(nvis)[:-1]]
        gaps[first] = 0
        cs = np.cumsum(gaps)
        offset = cs - np.repeat(cs[first], nvis)
        vdate = np.where(offset == 0, open_day[v_ep], self.cal.add_working_days(open_day[v_ep], offset))
        keep = vdate <= self.t_end
        # visits after the end of the history have not happened yet: the episode stays open
        kept = np.bincount(v_ep[keep], minlength=n)
        last_idx = np.cumsum(nvis) - 1
        closed = np.where(kept == nvis, vdate[last_idx], np.datetime64("NaT"))
        has = kept > 0
        d = doc - 1
        ep = pd.DataFrame({
            "episode_id": ep_id, "patient_id": self.pid[p_idx], "mo_id": self.doc_mo[d], "dept_id": self.doc_dept[d],
            "doctor_id": doc, "kind": kind, "purpose": purpose, "icd10": CODES[code], "is_new_diagnosis": is_new,
            "opened_date": vdate[first], "closed_date": closed, "visits_count": kept.astype(np.int16),
        })[has]
        vis = pd.DataFrame({
            "episode_id": ep_id[v_ep], "visit_date": vdate, "patient_id": self.pid[p_idx][v_ep], "doctor_id": doc[v_ep],
            "dept_id": self.doc_dept[d][v_ep], "mo_id": self.doc_mo[d][v_ep], "icd10": CODES[code][v_ep],
            "is_new_diagnosis": is_new[v_ep], "purpose": purpose[v_ep],
        })[keep]
        vis.insert(0, "visit_id", ids.take("visit", len(vis)))
        return {"episodes": ep, "visits": vis}

    def inpatient(self, rng, month, days, r, cell, alive, ids) -> pd.DataFrame:
        w = r * INP_W[None, :]
        lam_cell = w.sum(axis=1)
        scale_to = cat.INPATIENT_EPISODES_PER_PERSON / 12 / (lam_cell[cell] * alive).mean()
        counts = rng.poisson(lam_cell[cell] * scale_to * self.frailty * alive)
        p_idx = np.repeat(np.arange(len(counts)), counts)
        c = cell[p_idx]
        n = len(p_idx)
        probs = w / w.sum(axis=1, keepdims=True)
        cum = np.cumsum(probs, axis=1)
        code = (rng.random(n)[:, None] > cum[c]).sum(axis=1)
        code = np.minimum(code, len(CODES) - 1)
        district = self.district[p_idx]
        hosp = self.hosp_by_dist.pick(district, rng.random(n))
        far = (rng.random(n) < 0.25) | (hosp < 0)
        hosp[far] = rng.choice(self.hosp_all, size=far.sum())
        ward_idx = INP_DEPT[code]
        dept = self.ward[hosp, ward_idx]
        doc = self.by_dept.pick(dept, rng.random(n))
        opened = days[rng.choice(len(days), size=n, p=(wd := self._day_weights(days, 0.6, 0.5)) / wd.sum())]
        los = (2 + rng.gamma(2.0, 3.0, n)).astype(np.int64)
        closed = opened + los * DAY
        ok = (doc > 0) & (opened >= self.birth[p_idx])
        return pd.DataFrame({
            "episode_id": ids.take("episode", n), "patient_id": self.pid[p_idx], "mo_id": hosp, "dept_id": dept,
            "doctor_id": doc, "kind": "inpatient", "purpose": "disease", "icd10": CODES[code],
            "is_new_diagnosis": np.where(CHRONIC[code], rng.random(n) < 0.1, rng.random(n) < 0.8),
            "opened_date": opened, "closed_date": np.where(closed <= self.t_end, closed, np.datetime64("NaT")),
            "visits_count": np.zeros(n, dtype=np.int16),
        })[ok]

    def maternity(self, month: dt.date, ids) -> pd.DataFrame:
        """Birth stays in maternity hospitals for pregnancies that ended in births this month."""
        rng = rng_for(self.seed, "maternity", month.year * 12 + month.month)
        days = month_days(month)
        pr = self.preg
        od = pr["outcome_date"].to_numpy().astype("datetime64[D]")
        sel = pr["outcome"].isin(["birth_term", "birth_preterm"]).to_numpy() & (od >= days[0]) & (od <= days[-1])
        pr = pr[sel]
        n = len(pr)
        district = self.district[pr["patient_id"].to_numpy() - 1]
        mo_ids = self.mat_by_dist.pick(district, rng.random(n))
        far = (mo_ids < 0) | (rng.random(n) < 0.3)
        mo_ids[far] = rng.choice(self.mat_all, size=far.sum())
        maternity_dept = self.st.department[self.st.department["profile"] == "maternity"].groupby("mo_id")["dept_id"].min()
        dept = maternity_dept.reindex(mo_ids).to_numpy()
        doc = self.by_dept.pick(dept, rng.random(n))
        opened = od[sel] - 1 * DAY
        closed = od[sel] + (2 + (rng.random(n) * 3).astype(np.int64)) * DAY
        return pd.DataFrame({
            "episode_id": ids.take("episode", n), "patient_id": pr["patient_id"].to_numpy(), "mo_id": mo_ids,
            "dept_id": dept, "doctor_id": doc, "kind": "maternity", "purpose": "disease",
            "icd10": np.where(pr["outcome"].to_numpy() == "birth_term", "O80.0", "O60.1"), "is_new_diagnosis": True,
            "opened_date": opened, "closed_date": np.where(closed <= self.t_end, closed, np.datetime64("NaT")),
            "visits_count": np.zeros(n, dtype=np.int16),
        })[doc > 0]

    def prevention_episodes(self, month: dt.date, ids) -> dict:
        """One episode with one visit for each exam stage completed this month."""
        days = month_days(month)
        ex = self.exams
        frames = []
        for stage, col, code in ((1, "stage1_end", "Z00.0"), (2, "stage2_end", "Z01.8")):
            d = ex[col].to_numpy().astype("datetime64[D]")
            sel = (d >= days[0]) & (d <= days[-1])
            e = ex[sel]
            frames.append(pd.DataFrame({"patient_id": e["patient_id"].to_numpy(), "mo_id": e["mo_id"].to_numpy(),
                                        "doctor_id": e["doctor_id"].to_numpy(), "date": d[sel], "icd10": code,
                                        "exam_id": np.where(stage == 1, e["exam_id"].to_numpy(), -1)}))
        f = pd.concat(frames, ignore_index=True)
        n = len(f)
        ep_id = ids.take("episode", n)
        dept = self.doc_dept[f["doctor_id"].to_numpy() - 1]
        ep = pd.DataFrame({"episode_id": ep_id, "patient_id": f["patient_id"], "mo_id": f["mo_id"], "dept_id": dept,
                           "doctor_id": f["doctor_id"], "kind": "outpatient", "purpose": "prevention",
                           "icd10": f["icd10"], "is_new_diagnosis": False, "opened_date": f["date"],
                           "closed_date": f["date"], "visits_count": np.ones(n, dtype=np.int16)})
        vis = pd.DataFrame({"visit_id": ids.take("visit", n), "episode_id": ep_id, "visit_date": f["date"],
                            "patient_id": f["patient_id"], "doctor_id": f["doctor_id"], "dept_id": dept,
                            "mo_id": f["mo_id"], "icd10": f["icd10"], "is_new_diagnosis": False,
                            "purpose": "prevention"})
        return {"episodes": ep, "visits": vis, "exam_of_episode": f["exam_id"].to_numpy()}

    # ------------------------------------------------------------- documents
    def documents(self, month: dt.date, episodes: pd.DataFrame, exam_flag: np.ndarray, ids) -> pd.DataFrame:
        """Electronic documents for this batch of episodes, with their path to registration."""
        rng = rng_for(self.seed, "documents", month.year * 12 + month.month)
        ep = episodes[episodes["closed_date"].notna()]
        close_time = np.where(ep["kind"].to_numpy() == "outpatient", 9 * 3600 + rng.random(len(ep)) * 10 * 3600,
                              10 * 3600 + rng.random(len(ep)) * 6 * 3600).astype(np.int64)
        episodes.loc[episodes["closed_date"].notna(), "closed_at"] = (
            ep["closed_date"].to_numpy().astype("datetime64[D]").astype("datetime64[s]") + close_time * SEC)
        ep = episodes[episodes["closed_date"].notna()]
        exam_flag = exam_flag[episodes["closed_date"].notna().to_numpy()]
        mo_ids = ep["mo_id"].to_numpy().astype(np.int64)
        kind = ep["kind"].to_numpy()
        purpose = ep["purpose"].to_numpy()
        mkind = self.mo_kind[mo_ids - 1]
        n = len(ep)
        t_month = (month.year - self.start.year) * 12 + month.month - self.start.month
        cov = np.clip(self.f["doc_cov"].to_numpy()[mo_ids - 1] + self.f["doc_trend"].to_numpy()[mo_ids - 1] * t_month,
                      0.3, 0.995)
        plan = []
        # Required documents: the epicrisis of each closed episode, the result of each exam.
        outp = (kind == "outpatient") & (purpose != "prevention") & (mkind != "maternity")
        plan.append(("EPI_AMB", outp & (rng.random(n) < cov)))
        plan.append(("DISP_RES", (exam_flag > 0) & (rng.random(n) < cov)))
        plan.append(("EPI_STAC", (kind == "inpatient") & (rng.random(n) < cov * 0.92)))
        plan.append(("EPI_ROD", (kind == "maternity") & (rng.random(n) < cov)))
        plan.append(("MS_BIRTH", (kind == "maternity") & (rng.random(n) < np.minimum(cov + 0.03, 0.998))))
        # Documents that are not due per episode: referrals, protocols, prescriptions, certificates.
        disease = (kind == "outpatient") & (purpose == "disease")
        chronic = np.isin(ep["icd10"].to_numpy(), CODES[CHRONIC])
        spec = self.doc_spec[ep["doctor_id"].to_numpy() - 1]
        plan.append(("PROT_CONS", disease & ~np.isin(spec, list(PRIMARY)) & (rng.random(n) < 0.6 * cov)))
        plan.append(("PROT_LAB", disease & (rng.random(n) < 0.15 * cov)))
        plan.append(("PROT_INSTR", disease & (rng.random(n) < 0.08 * cov)))
        plan.append(("NAPR_CONS", disease & np.isin(spec, list(PRIMARY)) & (rng.random(n) < 0.08)))
        plan.append(("NAPR_OBS", disease & (rng.random(n) < 0.04)))
        plan.append(("NAPR_HOSP", disease & (rng.random(n) < 0.015)))
        plan.append(("RECIPE", (disease | (purpose == "dispensary")) & chronic & (rng.random(n) < 0.3)))
        plan.append(("SPRAVKA", disease & (rng.random(n) < 0.03)))
        sel_idx = np.concatenate([np.flatnonzero(m) for _, m in plan])
        kinds = np.concatenate([np.full(m.sum(), k, dtype=object) for k, m in plan])
        m = len(sel_idx)
        e = ep.iloc[sel_idx]
        d_mo = e["mo_id"].to_numpy().astype(np.int64)
        fac = self.f.iloc[d_mo - 1]
        close = e["closed_at"].to_numpy().astype("datetime64[s]")
        delay_mult = fac["send_delay_mult"].to_numpy()
        created = close + (rng.exponential(0.5, m) * 3600 * np.where(rng.random(m) < 0.9, 1, 30) * delay_mult ** 0.5).astype(np.int64) * SEC
        signed = created + (rng.exponential(1.5, m) * 3600).astype(np.int64) * SEC
        never_signed = rng.random(m) < 0.02 * delay_mult ** 0.5
        u = rng.random(m)
        send_h = np.where(u < 0.8, rng.exponential(2, m), np.where(u < 0.95, rng.exponential(20, m), rng.exponential(96, m)))
        sent = signed + (send_h * 3600 * delay_mult).astype(np.int64) * SEC
        # Silent windows: nothing leaves the organisation; the backlog goes out afterwards, some never.
        lost = np.zeros(m, dtype=bool)
        for mo_id, ws, we in self.silent:
            hit = (d_mo == mo_id) & (sent >= ws) & (sent < we)
            if hit.any():
                sent[hit] = we + (rng.random(hit.sum()) * 2 * 86400).astype(np.int64) * SEC
                lost[hit] = rng.random(hit.sum()) < 0.15
        latency = (rng.lognormal(np.log(600), 1.4, m)).astype(np.int64) * SEC  # median 10 minutes
        reply = sent + latency
        rej = fac["reject_mult"].to_numpy()
        u = rng.random(m)
        status = np.select([u < 0.025 * rej, u < 0.04 * rej, u < 0.05 * rej, u < 0.05 * rej + 0.004],
                           ["rejected_regional", "rejected_federal", "transmission_error", "sent"], "registered").astype(object)
        reason = np.full(m, None, dtype=object)
        rr = status == "rejected_regional"
        reason[rr] = rng.choice(cat.REJECTION_REASONS_REGIONAL, size=rr.sum())
        rf = status == "rejected_federal"
        reason[rf] = rng.choice(cat.REJECTION_REASONS_FEDERAL, size=rf.sum())
        status_at = np.where(status == "sent", np.datetime64("NaT"), reply)
        # What has not happened by the end of the history is not there yet.
        not_sent = never_signed | lost | (sent > self.ts_end)
        status[not_sent] = "signed"
        status[never_signed | (signed > self.ts_end)] = "created"
        pending = ~not_sent & (reply > self.ts_end)
        status[pending] = "sent"
        reason[not_sent | pending] = None
        status_at = np.where(not_sent | pending, np.datetime64("NaT"), status_at)
        signed = np.where((status == "created"), np.datetime64("NaT"), signed)
        sent = np.where(not_sent, np.datetime64("NaT"), sent)
        keep = created <= self.ts_end
        docs = pd.DataFrame({
            "kind_code": kinds, "episode_id": e["episode_id"].to_numpy(), "patient_id": e["patient_id"].to_numpy(),
            "mo_id": d_mo, "doctor_id": e["doctor_id"].to_numpy(), "created_at": created, "signed_at": signed,
            "sent_at": sent, "status": status, "status_at": status_at, "rejection_reason": reason,
        })[keep]
        docs = docs.sort_values(["created_at", "episode_id"], kind="stable").reset_index(drop=True)
        docs.insert(0, "doc_id", ids.take("doc", len(docs)))
        return docs

    # ------------------------------------------------------------- bookings
    def bookings(self, month: dt.date, ids, future: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Bookings made this month and the slots they occupy, plus slots left free."""
        mkey = month.year * 12 + month.month
        rng = rng_for(self.seed, "bookings", mkey)
        days = month_days(month)
        age, grp = self._age_group(days[len(days) // 2])
        alive = self.birth <= days[-1]
        t_month = (month.year - self.start.year) * 12 + month.month - self.start.month
        # Doctors open for booking this month.
        closed_share = self.f["closed_booking"].to_numpy()[self.doc_mo - 1]
        noise = rng.random(len(self.doc_ids))
        open_doc = ~((self.doc_closed_latent < closed_share * 0.6) | (noise < closed_share * 0.4))
        bookable_spec = np.isin(self.doc_spec, list(PRIMARY) + list(SPECIALIST_IDS) + list(DIAG_IDS))
        open_doc &= bookable_spec
        if future:
            return self._future_slots(rng, month, open_doc, ids)
        prof = np.where(age < 18, 2.8, np.where(age < 40, 1.6, np.where(age < 60, 2.6, 4.0)))
        lam = prof * np.sqrt(self.frailty) * alive
        lam *= cat.BOOKINGS_PER_PERSON / 12 / lam[alive].mean()
        counts = rng.poisson(lam)
        p_idx = np.repeat(np.arange(len(lam)), counts)
        n = len(p_idx)
        child = age[p_idx] < 18
        u = rng.random(n)
        cat_ = np.where(u < np.where(child, 0.65, 0.55), 0, np.where(u < np.where(child, 0.9, 0.88), 1, 2))
        # Specialty demand follows the morbidity of the patient's age and sex.
        spec = np.where(child, SPEC["pediatrician"], np.where(rng.random(n) < 0.08, SPEC["gp"], SPEC["therapist"]))
        sp = cat_ == 1
        demand = self.rate * SPEC_SHARE[None, None, :]  # g × s × codes
        spec_of = SPEC_OF_CODE
        cells = grp[p_idx] * 2 + self.sex_m[p_idx]
        spec_choices = np.unique(spec_of[spec_of > 0])
        spec_choices = spec_choices[spec_choices != SPEC["dentist"]]
        dm = np.stack([demand[:, :, spec_of == s].sum(axis=2) for s in spec_choices], axis=-1).reshape(36, -1)
        cum = np.cumsum(dm / dm.sum(axis=1, keepdims=True), axis=1)
        pick = (rng.random(sp.sum())[:, None] > cum[cells[sp]]).sum(axis=1)
        spec[sp] = spec_choices[np.minimum(pick, len(spec_choices) - 1)]
        dg = cat_ == 2
        spec[dg] = rng.choice(DIAG_IDS, size=dg.sum(), p=[0.5, 0.3, 0.2])
        district = self.district[p_idx]
        mo_ids = self.attach[p_idx].copy()
        route = rng.random(n)
        mo_ids[(spec == SPEC["gynecologist"]) | (dg & (route < 0.4))] = 0
        # Doctors must be open for booking: lookups restricted to open doctors.
        od = open_doc
        by_mo = Lookup((self.doc_mo * 64 + self.doc_spec)[od], self.doc_ids[od])
        dist_all = self.mo_district[self.doc_mo - 1]
        state = ~np.isin(self.mo_kind[self.doc_mo - 1], ["private", "maternity", "hospital"]) | \
            (self.mo_kind[self.doc_mo - 1] == "hospital") & ~np.isin(self.doc_spec, [SPEC["hospitalist"]])
        by_dist = Lookup((dist_all * 64 + self.doc_spec)[od & state], self.doc_ids[od & state])
        by_priv = Lookup((dist_all * 64 + self.doc_spec)[od & (self.mo_kind[self.doc_mo - 1] == "private")],
                         self.doc_ids[od & (self.mo_kind[self.doc_mo - 1] == "private")])
        uu = rng.random(n)
        doc = by_mo.pick(mo_ids * 64 + spec, uu)
        priv = (doc < 0) & (route > 0.9) | (route > 0.96)
        doc[priv] = by_priv.pick(district[priv] * 64 + spec[priv], uu[priv])
        miss = doc < 0
        doc[miss] = by_dist.pick(district[miss] * 64 + spec[miss], uu[miss])
        ok = doc > 0
        p_idx, spec, cat_, doc, district = p_idx[ok], spec[ok], cat_[ok], doc[ok], district[ok]
        n = len(p_idx)
        b_mo = self.doc_mo[doc - 1]
        # Channels, with the portal gaining about 4 points a year from the registry desk.
        shift = 0.04 * t_month / 12
        chan = np.empty(n, dtype=object)
        for k, name in enumerate(("primary", "specialist", "diagnostic")):
            sel = cat_ == k
            mix = CHANNEL_MIX[name].copy()
            mix[0] += shift * (1 - mix[4])
            mix[3] = max(mix[3] - shift * (1 - mix[4]), 0.02)
            chan[sel] = rng.choice(CHANNELS, size=sel.sum(), p=mix / mix.sum())
        remote = np.isin(chan, ["portal"])
        w_all = self._day_weights(days, saturday=0.6, sunday=0.5)
        w_desk = self._day_weights(days, saturday=0.3, sunday=0.0)
        bday = np.where(remote, days[rng.choice(len(days), n, p=w_all / w_all.sum())],
                        days[rng.choice(len(days), n, p=w_desk / w_desk.sum())])
        hour = np.where(remote, np.clip(rng.normal(14, 4.5, n), 0, 23.99), rng.uniform(8, 20, n))
        booked_at = bday.astype("datetime64[s]") + (hour * 3600).astype(np.int64) * SEC
        # Waits: a queue per organisation and specialty (working days), hours for primary care.
        f = self.f
        q = f["queue_wd"].to_numpy()[b_mo - 1] * self.queue_noise[b_mo, spec % 32]
        winter = 1.2 if month.month in (1, 2, 3, 11, 12) else 1.0
        q = np.where(cat_ == 2, q * 1.25, q) * winter
        susp = np.full(n, "none", dtype=object)
        s_u = rng.random(n)
        susp[(cat_ >= 1) & (s_u < 0.012)] = "onco"
        susp[(cat_ >= 1) & (s_u >= 0.012) & (s_u < 0.02)] = "cvd"
        wd = np.round(q + rng.exponential(1.5, n)).astype(np.int64)
        urgent = susp != "none"
        wd[urgent] = np.where(rng.random(urgent.sum()) < 0.85, rng.integers(0, 4, urgent.sum()),
                              rng.integers(4, 9, urgent.sum()))
        slot_day = self.cal.add_working_days(bday, np.maximum(wd, 1))
        minute = (8 * 60 + rng.integers(0, 48, n) * 15).astype(np.int64)
        slot_start = slot_day.astype("datetime64[s]") + minute * 60 * SEC
        # Primary care: the same clinic day if time is left, else the next one no later than the hour
        # of contact (within 24 hours when that day is tomorrow); where the queue is long, days later.
        pr = cat_ == 0
        ok24 = rng.random(n) < f["primary_ok"].to_numpy()[b_mo - 1]
        open_today = self.cal.is_clinic_day(bday) & (hour < 18.5)
        same = ok24 & open_today & (rng.random(n) < 0.45)
        t_same = booked_at + (rng.uniform(0.5, 1.0, n) * np.clip(19.75 - np.maximum(hour, 8), 0.25, None) * 3600 +
                              np.maximum(8 - hour, 0) * 3600).astype(np.int64) * SEC
        nxt = self.cal.next_clinic_day(bday, after=True)
        late_days = np.where(ok24, 0, rng.integers(1, 4, n))
        nxt = np.where(late_days > 0, self.cal.add_working_days(nxt, late_days), nxt)
        h_next = 8 + rng.random(n) * np.clip(np.where(ok24, hour, 19.75) - 8, 0.25, 11.75)
        t_next = nxt.astype("datetime64[s]") + (h_next * 3600).astype(np.int64) * SEC
        slot_start = np.where(pr, np.where(same, t_same, t_next), slot_start)
        born = bday >= self.birth[p_idx]
        past = slot_start <= self.ts_end
        u = rng.random(n)
        status = np.where(~past, "booked", np.where(u < 0.8, "attended", np.where(u < 0.87, "no_show", "cancelled")))
        slot_id = ids.take("slot", n)
        duration = np.where(cat_ == 0, 15, np.where(cat_ == 1, 20, 30)).astype(np.int16)
        published = np.minimum(booked_at - 3600 * SEC, slot_start - 21 * 86400 * SEC)
        book = pd.DataFrame({
            "booking_id": ids.take("booking", n), "slot_id": slot_id, "patient_id": self.pid[p_idx],
            "booked_at": booked_at, "slot_start": slot_start, "channel": chan, "specialty_id": spec.astype(np.int16),
            "doctor_id": doc, "mo_id": b_mo, "suspicion": susp, "status": status,
        })
        slots = pd.DataFrame({"slot_id": slot_id, "doctor_id": doc, "mo_id": b_mo, "specialty_id": spec.astype(np.int16),
                              "slot_start": slot_start, "duration_min": duration, "is_bookable": True,
                              "published_at": published})
        book, slots = book[born], slots[born]
        # Free slots: where queues are short some capacity stays unbooked.
        # Every open doctor publishes a schedule; where queues are short some of it stays free,
        # where they are long the free cells lie beyond the queue.
        per_doc = np.bincount(doc, minlength=len(self.doc_ids) + 1)[1:]
        qd = f["queue_wd"].to_numpy()[self.doc_mo - 1]
        n_free = rng.poisson((2 + per_doc * np.where(qd <= 4, 0.15, 0.01)) * open_doc)
        free_doc = np.repeat(self.doc_ids, n_free)
        workdays = days[self.cal.is_working(days)]
        fq = np.round(qd[free_doc - 1]).astype(np.int64)
        offset = np.where(fq <= 4, rng.integers(0, max(len(workdays), 1), len(free_doc)),
                          fq + rng.integers(0, 10, len(free_doc)))
        fd = self.cal.add_working_days(np.repeat(days[0], len(free_doc)), offset)
        free_start = fd.astype("datetime64[s]") + (8 * 3600 + rng.integers(0, 48, len(free_doc)) * 900) * SEC
        free = pd.DataFrame({"slot_id": ids.take("slot", len(free_doc)), "doctor_id": free_doc,
                             "mo_id": self.doc_mo[free_doc - 1], "specialty_id": self.doc_spec[free_doc - 1].astype(np.int16),
                             "slot_start": free_start, "duration_min": np.int16(20), "is_bookable": True,
                             "published_at": free_start - 21 * 86400 * SEC})
        # Doctors closed for remote booking still keep an internal schedule for some of them.
        closed = np.flatnonzero(~open_doc & bookable_spec & (rng.random(len(self.doc_ids)) < 0.4))
        k = 6
        c_doc = np.repeat(self.doc_ids[closed], k)
        cd = workdays[rng.integers(0, len(workdays), len(c_doc))] if len(workdays) else np.zeros(0, "datetime64[D]")
        c_start = cd.astype("datetime64[s]") + (8 * 3600 + rng.integers(0, 48, len(c_doc)) * 900) * SEC
        internal = pd.DataFrame({"slot_id": ids.take("slot", len(c_doc)), "doctor_id": c_doc,
                                 "mo_id": self.doc_mo[c_doc - 1], "specialty_id": self.doc_spec[c_doc - 1].astype(np.int16),
                                 "slot_start": c_start, "duration_min": np.int16(20), "is_bookable": False,
                                 "published_at": c_start - 7 * 86400 * SEC})
        slots = pd.concat([slots, free, internal], ignore_index=True)
        return book, slots

    def _future_slots(self, rng, month, open_doc, ids):
        """The published schedule beyond the history: free slots from each doctor's queue on."""
        days = month_days(month)
        qd = self.f["queue_wd"].to_numpy()[self.doc_mo - 1] * self.queue_noise[self.doc_mo, self.doc_spec % 32]
        primary = np.isin(self.doc_spec, list(PRIMARY))
        first_free = np.where(primary, 0, np.round(qd)).astype(np.int64)
        n_free = np.where(open_doc, rng.poisson(np.where(primary, 30, 12), len(self.doc_ids)), 0)
        docs = np.repeat(np.arange(len(self.doc_ids)), n_free)
        start_day = self.cal.add_working_days(np.repeat(np.datetime64(self.t_end), len(docs)), first_free[docs] + 1)
        extra = rng.integers(0, 15, len(docs))
        day = self.cal.add_working_days(start_day, extra)
        st_ = day.astype("datetime64[s]") + (8 * 3600 + rng.integers(0, 48, len(docs)) * 900) * SEC
        slots = pd.DataFrame({"slot_id": ids.take("slot", len(docs)), "doctor_id": self.doc_ids[docs],
                              "mo_id": self.doc_mo[docs], "specialty_id": self.doc_spec[docs].astype(np.int16),
                              "slot_start": st_, "duration_min": np.int16(20), "is_bookable": True,
                              "published_at": np.minimum(st_ - 21 * 86400 * SEC, np.datetime64(self.ts_end))})
        return pd.DataFrame(), slots[slots["slot_start"].to_numpy() < (days[-1] + 20 * DAY).astype("datetime64[s]")]


def silent_windows(st: Structure, seed: int, start: dt.date, end: dt.date, calendar):
    """Periods in which an organisation sends no documents at all (a broken interface, a strike of IT).

    About one organisation in 150 each quarter, weaker ones more often, for 5–10 working days;
    one adult polyclinic goes silent in the last month, so the dashboard has something current.
    """
    rng = rng_for(seed, "silent")
    mo = st.mo
    w = np.exp(st.factors["weakness"].to_numpy())
    w[mo["kind"].to_numpy() == "maternity"] = 0
    out = []
    q = np.datetime64(start, "D")
    t_end = np.datetime64(end, "D")
    while q <= t_end:
        k = max(1, int(round(len(mo) / 150)))
        for mo_id in rng.choice(mo["mo_id"].to_numpy(), size=k, replace=False, p=w / w.sum()):
            s = calendar.next_working(q + int(rng.integers(0, 80)) * DAY)
            e = calendar.add_working_days(s, int(rng.integers(5, 11)))
            out.append((int(mo_id), s.astype("datetime64[s]"), e.astype("datetime64[s]")))
        q = q + 91 * DAY
    last_month = np.datetime64(end.replace(day=1), "D")
    poly = mo[mo["kind"] == "adult_polyclinic"]["mo_id"].to_numpy()
    mo_id = int(rng.choice(poly))
    s = calendar.next_working(last_month + int(rng.integers(3, 10)) * DAY)
    e = calendar.add_working_days(s, 6)
    out.append((mo_id, s.astype("datetime64[s]"), e.astype("datetime64[s]")))
    return out
