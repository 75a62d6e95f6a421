"""Episodes of care and their visits: outpatient, inpatient, maternity and preventive examinations."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from synth import catalog as cat
from synth import registers as SR
from synth.structure import rng_for

from .common import (
    ACUTE_FOR_URGENT,
    CHRONIC,
    CODES,
    DAY,
    INP_DEPT,
    INP_W,
    SPEC,
    SPEC_OF_CODE,
    SPEC_SHARE,
    month_days,
)


class EpisodesMixin:
    """Episodes of the month (a part of ``ActivityGenerator``)."""

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
        disp = r * CHRONIC[None, :] * self.k_disp
        if self.disp_comp is not None:  # the same volume per cell, shared by what the registers' patients need
            disp = disp.sum(axis=1, keepdims=True) * self.disp_comp
        draw(disp, "dispensary")
        draw(r * ACUTE_FOR_URGENT[None, :] * self.k_urgent, "urgent")
        p_idx = np.concatenate([p[0] for p in parts])
        code = np.concatenate([p[1] for p in parts])
        purpose = np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in parts])
        obs = np.full(len(p_idx), -1, dtype=np.int64)
        if self.reg is not None:
            p_idx, obs = self.register_redirect(month, days, cell, alive, p_idx, code, purpose)
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
        if self.reg is not None:  # a dispensary visit is with the observing doctor when his specialty is the visit's
            od = np.where(obs >= 0, self.reg.doctor[obs], 1)
            use = (obs >= 0) & (purpose == "dispensary") & (~to_spec | (spec == self.doc_spec[od - 1]))
            doc[use] = od[use]
        ok = doc > 0
        p_idx, code, purpose, doc, child, obs = p_idx[ok], code[ok], purpose[ok], doc[ok], child[ok], obs[ok]
        n = len(p_idx)
        # Dates: the opening day weighted by the production calendar, later visits days apart.
        open_day = days[rng.choice(len(days), size=n, p=(w := self._day_weights(days)) / w.sum())]
        is_new = np.where(CHRONIC[code], rng.random(n) < 0.08, rng.random(n) < 0.85)
        nvis = np.where(purpose == "disease", rng.geometric(0.38, n), 1)
        born = open_day >= self.birth[p_idx]  # a child born late in the month has no care before birth
        open_day, nvis, p_idx, doc, code, is_new, purpose, obs = (
            a[born] for a in (open_day, nvis, p_idx, doc, code, is_new, purpose, obs))
        icd = CODES[code]
        if self.reg is not None:  # an enrolled patient's episode carries his observation's code
            icd = np.where(obs >= 0, self.reg.code[obs], icd)
            seen = (obs >= 0) & (purpose == "dispensary")
            self.reg.last_visit[obs[seen]] = open_day[seen]
        outp = self._visits_frame(rng, open_day, nvis, p_idx, doc, code, is_new, purpose, "outpatient", ids, icd)
        inp = self.inpatient(rng, month, days, r, cell, alive, ids)
        return {"outpatient": outp, "inpatient": inp}

    def _visits_frame(self, rng, open_day, nvis, p_idx, doc, code, is_new, purpose, kind, ids, icd=None):
        n = len(open_day)
        icd = CODES[code] if icd is None else icd
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
            "doctor_id": doc, "kind": kind, "purpose": purpose, "icd10": icd, "is_new_diagnosis": is_new,
            "opened_date": vdate[first], "closed_date": closed, "visits_count": kept.astype(np.int16),
            "outcome": np.full(n, None, dtype=object),
        })[has]
        vis = pd.DataFrame({
            "episode_id": ep_id[v_ep], "visit_date": vdate, "patient_id": self.pid[p_idx][v_ep], "doctor_id": doc[v_ep],
            "dept_id": self.doc_dept[d][v_ep], "mo_id": self.doc_mo[d][v_ep], "icd10": icd[v_ep],
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
        obs = np.full(n, -1, dtype=np.int64)
        if self.reg is not None:
            p_idx, obs = self.register_redirect(month, days, cell, alive, p_idx, code, None, inpatient=True)
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
        icd = CODES[code] if self.reg is None else np.where(obs >= 0, self.reg.code[obs], CODES[code])
        closed_date = np.where(closed <= self.t_end, closed, np.datetime64("NaT"))
        age = (opened - self.birth[p_idx]).astype(np.int64) / 365.25
        outcome = SR.inpatient_outcome(rng_for(self.seed, "inpatient-outcome", month.year * 12 + month.month),
                                       icd, age, closed_date)
        if self.reg is not None:  # an in-hospital death ends the patient's observations and his care
            died = ok & (outcome == "died")
            self.reg.report_deaths(p_idx[died], closed_date[died])
        return pd.DataFrame({
            "episode_id": ids.take("episode", n), "patient_id": self.pid[p_idx], "mo_id": hosp, "dept_id": dept,
            "doctor_id": doc, "kind": "inpatient", "purpose": "disease", "icd10": icd,
            "is_new_diagnosis": np.where(CHRONIC[code], rng.random(n) < 0.1, rng.random(n) < 0.8),
            "opened_date": opened, "closed_date": closed_date,
            "visits_count": np.zeros(n, dtype=np.int16), "outcome": outcome,
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
            "outcome": np.where(closed <= self.t_end, "recovered", None),
        })[doc > 0]

    def prevention_episodes(self, month: dt.date, ids) -> dict:
        """One episode with one visit for each exam stage completed this month."""
        days = month_days(month)
        ex = self.exams
        frames = []
        for stage, col, code in ((1, "stage1_end", "Z00.0"), (2, "stage2_end", "Z01.8")):
            d = ex[col].to_numpy().astype("datetime64[D]")
            sel = (d >= days[0]) & (d <= days[-1])
            if self.reg is not None:  # the dead are examined no more (their exams are dropped at the end)
                dead = self.reg.death[ex["patient_id"].to_numpy() - 1]
                sel &= np.isnat(dead) | (dead >= d)
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
                           "closed_date": f["date"], "visits_count": np.ones(n, dtype=np.int16),
                           "outcome": np.full(n, None, dtype=object)})
        vis = pd.DataFrame({"visit_id": ids.take("visit", n), "episode_id": ep_id, "visit_date": f["date"],
                            "patient_id": f["patient_id"], "doctor_id": f["doctor_id"], "dept_id": dept,
                            "mo_id": f["mo_id"], "icd10": f["icd10"], "is_new_diagnosis": False,
                            "purpose": "prevention"})
        return {"episodes": ep, "visits": vis, "exam_of_episode": f["exam_id"].to_numpy()}
