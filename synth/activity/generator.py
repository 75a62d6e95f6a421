"""The activity generator: the city's state and rates, with episodes, documents and bookings mixed in."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from synth import catalog as cat
from synth.structure import Structure, rng_for

from .bookings import BookingsMixin
from .common import (
    ACUTE_FOR_URGENT,
    CHRONIC,
    CLASS_OF_CODE,
    CODES,
    SEASON_KIND,
    SEC,
    Lookup,
)
from .documents import DocumentsMixin, silent_windows
from .episodes import EpisodesMixin
from .redirect import RedirectMixin


class ActivityGenerator(EpisodesMixin, DocumentsMixin, BookingsMixin, RedirectMixin):
    """Generates one month of activity at a time, deterministically for (seed, month).

    With ``registers`` (``synth.registers.Registers``) the episodes of the registers' codes go to their
    enrolled patients and the dead get no care (``RedirectMixin``).
    """

    def __init__(self, st: Structure, patients: pd.DataFrame, scale: float, seed: int,
                 start: dt.date, end: dt.date, calendar, preg: pd.DataFrame, exams: pd.DataFrame,
                 registers=None):
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
        self.reg = registers
        self.disp_comp = self.dispensary_composition() if registers is not None else None
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
