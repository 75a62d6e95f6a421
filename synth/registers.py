"""Nosology registers of the synthetic city: dispensary observation (order 168н), the events the quality
criteria look for (order 203н: laboratory tests, instrumental studies, prescriptions), routine monitoring of
the registers' control targets, and the yearly volume plan of the outpatient organisations.

The registers, tests, studies, drug groups and criteria are declared in ``core.registers``; this module only
draws data for them. Calibration is in the named constants below, each with its source or the assumption.

- Observations are drawn once for the history: those under observation when it starts (enrolled up to
  ``years_back`` years earlier) and new enrolments spread over its months, by age- and sex-dependent
  prevalence; removals (death, move, recovery, other) by yearly hazards. The stock at the end of the history
  is calibrated to the register's target share.
- Organisations and doctors differ: a persistent per-organisation and per-doctor quality factor (lognormal:
  ``exp`` of a normal log-factor) drives whether criteria events are done in time, how regularly enrolled
  patients come to dispensary visits, and how well their control targets are met.
- The monthly activity (``synth.activity``) reads the state here: who is under observation, when each was
  last seen, who has died; it gives the dispensary, disease and inpatient episodes with a register's codes
  to enrolled patients of the same district, age group and sex, and reports in-hospital deaths back.

Everything is vectorised over patients, observations and events; Python loops run over registers, codes,
criteria and tests only.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import registers as R

from . import catalog as cat
from .structure import Structure, rng_for

DAY = np.timedelta64(1, "D")
NAT = np.datetime64("NaT", "D")
YEAR = 365.25


# ---------------------------------------------------------------- calibration: register sizes and movement
@dataclass(frozen=True)
class Code:
    """An ICD-10 code of a register with its share of the register's patients and its age/sex profile:
    prevalence grows with age as a logistic curve reaching half its plateau at ``mid`` years (flat where
    ``mid`` is None), zero below ``min_age``, times the sex multipliers."""

    icd10: str
    share: float
    min_age: float
    mid: float | None
    width: float = 9.0
    female: float = 1.0
    male: float = 1.0


@dataclass(frozen=True)
class Plan:
    """How big a register is and how it moves.

    stock: the share under observation at the end of the history, of adults (``among="adults"``) or of the
        whole population (``"all"``).
    new_per_100k: new enrolments a year per 100,000 of the whole population.
    years_back: those under observation when the history starts were enrolled up to this many years before.
    death_rr: the relative risk of death of the register's patients against the population's.
    recovered: yearly removals by recovery (remission, removal after five years without relapse).
    """

    stock: float
    among: str
    new_per_100k: float
    years_back: float
    death_rr: float
    recovered: float
    codes: tuple[Code, ...]


# Targets (assumptions within public ranges; facts.md §8 gives new cases per 100,000 in 2019: hypertension
# 1,168, diabetes 278, malignant tumours 373 — enrolments are set somewhat lower, not every new case is put
# under observation in the year). Register sizes are at the lower end of the ranges the brief names (under
# observation: hypertension 10–14 % of adults, diabetes 3–4 % of the population, IHD 4–5 % of adults,
# HF ~1.5 %, COPD and asthma 2–3 %, oncology ~2.5 %): the dispensary visit volume of the ОМС norm
# (0.262 a person a year, facts §1) cannot serve bigger registers at their planned frequencies.
PLANS: dict[str, Plan] = {
    "ht": Plan(0.11, "adults", 950, 15, 1.2, 0.002, (
        Code("I10", 0.55, 18, 60), Code("I11.9", 0.45, 25, 65))),
    "dm": Plan(0.032, "all", 240, 15, 1.7, 0.001, (
        Code("E11.9", 0.93, 25, 62, female=1.1),  # type 2
        Code("E10.9", 0.07, 1, None, male=1.1))),  # type 1, children included
    "ihd": Plan(0.042, "adults", 450, 12, 1.6, 0.0, (
        Code("I25.1", 0.85, 35, 70, 8, 0.85, 1.25), Code("I20.8", 0.15, 35, 66, 8, 0.8, 1.3))),
    "hf": Plan(0.014, "adults", 200, 8, 3.0, 0.0, (
        Code("I50.0", 1.0, 40, 78, 7, 1.0, 1.1),)),
    "copd": Plan(0.022, "all", 180, 15, 1.6, 0.01, (
        Code("J45.9", 0.6, 3, None, female=1.15, male=0.9),  # asthma, children included
        Code("J44.9", 0.4, 40, 68, 8, 0.6, 1.7))),
    "onco": Plan(0.024, "all", 320, 10, 2.0, 0.04, (
        Code("C50.9", 0.3, 25, 58, 9, 1.0, 0.0), Code("C18.9", 0.15, 30, 68, 8, 1.0, 1.1),
        Code("C34.9", 0.1, 35, 66, 7, 0.5, 2.0), Code("C61", 0.15, 45, 70, 6, 0.0, 2.0),
        Code("C44.3", 0.3, 30, 72, 9))),
}
MAX_PREVALENCE = 0.85
# Deaths a year at age a: GOMPERTZ[0] × exp(GOMPERTZ[1] × (a − 20)) — about 0.4 % at 50, 2 % at 70 and 7 % at
# 85 (Russia, both sexes, rounded), times the highest relative risk of the patient's registers.
GOMPERTZ = (0.00025, 0.085)
MOVE_RATE = 0.015    # a year: the patient leaves the organisation (a move, a change of attachment)
OTHER_RATE = 0.008   # a year: removed for another reason
# Chronic kidney disease (N18.3) under observation: the exemption of the criterion dm_mau. Not a register.
CKD_CODE, CKD_SHARE_DM, CKD_SHARE_HT_65, CKD_VISITS = "N18.3", 0.12, 0.03, 2

# ---------------------------------------------------------------- calibration: quality of care
# The quality of an organisation and a doctor: persistent lognormal factors exp(z). An organisation's log-factor
# is its own noise plus the shared management weakness of ``structure.mo_factors`` (lagging organisations
# lag here too); a doctor's is his own. Their sum s (observing organisation + doctor) shifts the log-odds of
# doing a criterion's event in time, the regularity of dispensary visits and the control of targets.
MO_QUALITY_SIGMA = 0.3
MO_WEAKNESS_WEIGHT = 0.25
DOCTOR_QUALITY_SIGMA = 0.45
# The probability that a criterion's event is done within its window for s = 0 (the log-odds move by s).
CRITERION_DONE_P = {
    "dm_hba1c": 0.82, "dm_kidney": 0.78, "dm_mau": 0.6, "dm_lipids": 0.75, "dm_ecg": 0.78,
    "ht_cbc": 0.8, "ht_biochem": 0.74, "ht_glucose": 0.78, "ht_ecg": 0.72, "ht_therapy": 0.88,
    "ihd_statin": 0.82, "ihd_antiplatelet": 0.85, "ihd_ecg": 0.8, "ihd_echo": 0.62,
    "cap_xray": 0.84, "cap_cbc": 0.82, "cap_crp": 0.6, "cap_antibiotic": 0.88,
}
INPATIENT_BONUS = 0.5  # log-odds: a hospital does the pneumonia work-up more reliably than an outpatient visit
# Of the cases not done in time: done late (after the window), not done with a recorded reason, or nothing.
NOT_DONE_SPLIT = {"late": 0.35, "reason": 0.25}
REASON_MIX = {"refusal": 0.5, "contraindication": 0.25, "unavailable": 0.25}
LATE_DAYS_MEAN = 20
# Routine prescriptions at enrolment that no criterion checks (for realism of the prescription table).
ROUTINE_RX = {"dm": ("HYPOGLY", 0.85), "copd": ("BRONCH", 0.8)}

# Dispensary visits: an enrolled patient comes regularly with the probability expit(logit(REGULAR_P) +
# VISIT_QUALITY_SLOPE × s) (the observing organisation and doctor invite and remind), then with a lognormal
# propensity; irregular patients come when a regular one is not due (weight IRREGULAR_WEIGHT). The dispensary
# visits of the ОМС volume go to the registers' codes by what their patients need (regular ones: planned
# visits × DISPENSARY_FULFILMENT; irregular: IRREGULAR_NEED of it), at most DISPENSARY_REGISTER_CAP of a cell's
# dispensary visits (the rest stays with the other chronic codes).
REGULAR_P = 0.68
VISIT_QUALITY_SLOPE = 1.2
ADHERENCE_SIGMA = 0.3
IRREGULAR_WEIGHT = 0.03
DISPENSARY_FULFILMENT = 1.05
IRREGULAR_NEED = 0.15
DISPENSARY_REGISTER_CAP = 0.92
# Disease and urgent episodes with a register's code go to a patient under observation by it with this
# probability at s = 0 of the patient's organisation (the log-odds move by COVERAGE_SLOPE × its log-factor);
# the others stay with a patient of the cell (diagnosed, not enrolled). Inpatient: a fixed probability.
DIAGNOSED_ENROLLED_P = 0.95
COVERAGE_SLOPE = 1.0
INPATIENT_ENROLLED_P = 0.9

# Inpatient outcomes: deaths are INPATIENT_DEATH_SHARE of closed stays on average, more for stroke, heart
# failure, cancer, pneumonia and hip fracture and with age; the other outcomes by a fixed mix.
INPATIENT_DEATH_SHARE = 0.02
DEATH_CODE_RR = {"I63": 5.0, "I50": 4.0, "C": 3.5, "J18": 2.5, "S72": 2.5, "J44": 2.0, "I20": 1.5, "I25": 1.5}
DEATH_AGE_SLOPE = 0.045
OUTCOME_MIX = {"transferred": 0.03, "worse": 0.015, "unchanged": 0.07, "improved": 0.55, "recovered": 0.335}

# Control targets: the patient's mean value is the register's mean − slope × s plus his own deviation; each
# measurement adds noise. HbA1c 7.3 ± 1.3 %, SBP 138 ± 14 mm Hg, LDL 2.3 ± 0.8 mmol/l (brief; assumptions).
CONTROL = {  # test: (mean, quality slope, patient sd, measurement sd, low, high, decimals)
    "HBA1C": (7.3, 0.45, 1.1, 0.45, 4.5, 14.0, 1),
    "SBP": (138.0, 5.0, 11.0, 7.0, 95.0, 220.0, 0),
    "LDL": (2.3, 0.3, 0.7, 0.25, 0.6, 7.0, 2),
}
HBA1C_PER_YEAR = 1.7   # routine HbA1c tests of a diabetic a year (× exp(0.5 s) × adherence)
LDL_PER_YEAR = 1.2     # routine LDL tests of an IHD patient a year
SBP_BEFORE_PER_YEAR = 0.9  # dispensary measurements of a hypertensive in the year before the history
ADHERENCE_TESTS = (4.0, 0.25)  # gamma shape and scale of a patient's adherence to routine tests (mean 1)
MAX_TESTS_PER_YEAR = 4.0

# Volume plan: the generated annual fact × a persistent lognormal factor of the organisation × a little
# yearly noise, so that some organisations are under plan and some over.
PLAN_FACTOR = (0.01, 0.08)
PLAN_YEAR_NOISE = 0.02
PLAN_KINDS = ("visits", "episodes", "dispensary")


# ---------------------------------------------------------------- helpers
def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _shape(code: Code, age: np.ndarray, female: np.ndarray) -> np.ndarray:
    f = np.ones(len(age)) if code.mid is None else _expit((age - code.mid) / code.width)
    return f * (age >= code.min_age) * np.where(female, code.female, code.male)


def _days(years: np.ndarray) -> np.ndarray:
    return np.minimum(np.floor(np.asarray(years) * YEAR), 10**6).astype(np.int64) * DAY


def _choose(rng, table: dict, n: int) -> np.ndarray:
    keys = np.array(list(table), dtype=object)
    p = np.array(list(table.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def group_pick(rng, cand_key: np.ndarray, cand_w: np.ndarray, req_key: np.ndarray, unique: bool) -> np.ndarray:
    """For each request, a candidate with the same key, by weight; -1 where the key has no candidates.

    ``unique``: the requests of a key first take distinct candidates (weighted sampling without replacement,
    Efraimidis–Spirakis keys), the requests beyond a key's candidates then draw with replacement.
    Returns indices into the candidate arrays.
    """
    out = np.full(len(req_key), -1, dtype=np.int64)
    if len(cand_key) == 0 or len(req_key) == 0:
        return out
    w = np.maximum(cand_w, 1e-12)
    if unique:
        es = np.log(rng.random(len(cand_key))) / w
        order = np.lexsort((-es, cand_key))
    else:  # a stable sort of small integers is a radix sort
        order = np.argsort(cand_key.astype(np.uint16) if cand_key.max() < 2**16 else cand_key, kind="stable")
    ks, ws = cand_key[order], w[order]
    start = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    uniq = ks[start]
    count = np.diff(np.r_[start, len(ks)])
    pos = np.clip(np.searchsorted(uniq, req_key), 0, len(uniq) - 1)
    found = uniq[pos] == req_key
    rest = found
    if unique:
        ro = np.argsort(req_key, kind="stable")
        rk = req_key[ro]
        first = np.r_[True, rk[1:] != rk[:-1]]
        gstart = np.maximum.accumulate(np.where(first, np.arange(len(rk)), 0))
        rank = np.empty(len(rk), dtype=np.int64)
        rank[ro] = np.arange(len(rk)) - gstart
        direct = found & (rank < count[pos])
        out[direct] = order[start[pos[direct]] + rank[direct]]
        rest = found & ~direct
    if rest.any():
        cw = np.cumsum(ws)
        lo = np.where(start > 0, cw[np.maximum(start - 1, 0)], 0.0)
        tot = cw[start + count - 1] - lo
        pr = pos[rest]
        t = lo[pr] + rng.random(len(pr)) * tot[pr]
        j = np.clip(np.searchsorted(cw, t, side="right"), start[pr], start[pr] + count[pr] - 1)
        out[rest] = order[j]
    return out


@dataclass
class Quality:
    """Log quality factors (``exp`` is the lognormal factor) per mo_id and per doctor_id (index 0 unused)."""

    mo: np.ndarray
    doctor: np.ndarray


def quality_factors(st: Structure, seed: int) -> Quality:
    rng = rng_for(seed, "register-quality")
    weak = st.factors["weakness"].to_numpy()
    z = (weak - weak.mean()) / max(weak.std(), 1e-9)
    mo = -MO_WEAKNESS_WEIGHT * z + rng.normal(0, MO_QUALITY_SIGMA, len(weak))
    doc = rng.normal(0, DOCTOR_QUALITY_SIGMA, len(st.doctor))
    return Quality(mo=np.r_[0.0, mo], doctor=np.r_[0.0, doc])


def lab_value(rng, test: str, n: int, female: np.ndarray, age: np.ndarray, dm: np.ndarray | None = None,
              pneumonia: bool = False) -> np.ndarray:
    """Values of a laboratory test in the unit of core.registers.LAB_TESTS (control tests: see CONTROL)."""
    if test == "GLU":
        diab = np.zeros(n, dtype=bool) if dm is None else dm
        v = np.where(diab, rng.normal(8.2, 2.2, n), rng.normal(5.5, 0.7, n))
        return np.round(np.clip(v, 3.0, 25.0), 1)
    if test == "CREA":
        v = rng.normal(np.where(female, 78.0, 92.0) + 0.35 * np.maximum(age - 50, 0), 18.0, n)
        return np.round(np.clip(v, 40, 450), 0)
    if test == "CHOL":
        return np.round(np.clip(rng.normal(5.3, 1.1, n), 2.5, 10.0), 1)
    if test == "LDL":
        return np.round(np.clip(rng.normal(3.1, 0.9, n), 0.8, 7.0), 2)
    if test == "MAU":
        return np.round(np.clip(rng.lognormal(np.log(12.0), 0.9, n), 1, 600), 0)
    if test == "CBC":
        v = rng.normal(np.where(female, 131.0, 145.0) - (6.0 if pneumonia else 0.0), 12.0, n)
        return np.round(np.clip(v, 70, 190), 0)
    if test == "CRP":
        med = 55.0 if pneumonia else 3.0
        return np.round(np.clip(rng.lognormal(np.log(med), 0.8, n), 0.5, 400), 0)
    if test == "K":
        return np.round(np.clip(rng.normal(4.4, 0.4, n), 2.8, 6.5), 1)
    if test == "NA":
        return np.round(np.clip(rng.normal(140.0, 2.5, n), 125, 155), 0)
    if test == "UA":
        return np.round(np.clip(rng.exponential(0.05, n), 0, 3), 2)
    raise ValueError(test)


def egfr(crea: np.ndarray, female: np.ndarray, age: np.ndarray) -> np.ndarray:
    """eGFR (MDRD) from creatinine in µmol/l, so that a panel's values agree."""
    v = 175.0 * (crea / 88.4) ** -1.154 * np.maximum(age, 18) ** -0.203 * np.where(female, 0.742, 1.0)
    return np.round(np.clip(v, 5, 150), 0)


STUDY_PATHOLOGY = {("ECG", "dm"): 0.25, ("ECG", "ht"): 0.35, ("ECG", "ihd"): 0.6, ("ECHO", "ihd"): 0.5,
                   ("XRAY_CHEST", "cap"): 0.9}


# ---------------------------------------------------------------- the registers
class Registers:
    """The registers of the city: observations drawn once for the history, the state the monthly activity
    reads and updates, and the events produced when the history is done (``finish``).

    Arrays over observations (position = internal index): ``pidx`` (patient index = patient_id − 1),
    ``reg`` (index into core.registers.REGISTERS; -1 for an observation outside the registers), ``code``
    (``code_idx``: its index in catalog.ICD_CATALOG, -1 if not there),
    ``start``, ``end`` (NaT: under observation at the end), ``reason``, ``mo``, ``doctor``, ``vpy``,
    ``s`` (log quality factor of the observing organisation and doctor), ``prop`` (dispensary visit
    propensity), ``eff`` (the patient's own deviation of his control value), ``last_visit``.
    """

    def __init__(self, st: Structure, patients: pd.DataFrame, scale: float, seed: int, start: dt.date,
                 end: dt.date):
        self.st, self.seed = st, seed
        self.t0, self.t_end = np.datetime64(start, "D"), np.datetime64(end, "D")
        self.pid = patients["patient_id"].to_numpy()
        self.birth = patients["birth_date"].to_numpy().astype("datetime64[D]")
        self.female = patients["sex"].to_numpy() == "F"
        self.district = patients["district_id"].to_numpy().astype(np.int64)
        self.attach = patients["attach_mo_id"].fillna(0).to_numpy().astype(np.int64)
        self.area_doc = patients["area_doctor_id"].fillna(0).to_numpy().astype(np.int64)
        self.q = quality_factors(st, seed)
        self.death = np.full(len(self.pid), NAT)        # any death known so far (drawn or in hospital)
        self.hosp_death = np.full(len(self.pid), NAT)   # in-hospital deaths reported by the activity
        self._draw()
        self._labs: list[pd.DataFrame] = []
        self._studies: list[pd.DataFrame] = []
        self._rx: list[pd.DataFrame] = []
        self._volume: list[pd.DataFrame] = []

    # ------------------------------------------------------------- drawing the observations
    def _draw(self):
        n = len(self.pid)
        t0, t_end = self.t0, self.t_end
        span = (t_end - t0).astype(np.int64) + 1
        years = span / YEAR
        age0 = (t0 - self.birth).astype(np.int64) / YEAR
        age_end = (t_end - self.birth).astype(np.int64) / YEAR
        attached = self.attach > 0
        parts = []
        for r_i, reg in enumerate(R.REGISTERS):
            plan = PLANS[reg.code]
            rng = rng_for(self.seed, "register", r_i)
            target_pop = (age_end >= 18) if plan.among == "adults" else (age_end >= 0)
            n_target = max(int(target_pop.sum()), 1)
            w = np.zeros(n)
            norms = []
            for c in plan.codes:
                f = _shape(c, age0, self.female)
                norm = max(f[target_pop].mean(), 1e-12)
                norms.append(norm)
                w += c.share * f / norm
            w *= attached
            h = GOMPERTZ[0] * np.exp(GOMPERTZ[1] * (np.maximum(age0, 0) + years / 2 - 20)) * plan.death_rr \
                + MOVE_RATE + OTHER_RATE + plan.recovered
            surv, surv_new = np.exp(-h * years), np.exp(-h * years / 2)
            # new enrolments: c × w of each patient not yet enrolled, so that their expected number (of those
            # still alive at the enrolment) is new_per_100k a year; the stock at the start then makes up the
            # target at the end: E[end] = k0 Σ w S + c Σ w S'
            c_new = plan.new_per_100k / 1e5 * n * years / max((w * surv_new).sum(), 1e-9)
            target = plan.stock * n_target
            k0 = max((target - c_new * (w * surv_new).sum()) / max((w * surv).sum(), 1e-9), 0.0)
            p0 = np.minimum(k0 * w, MAX_PREVALENCE)
            q = np.clip(c_new * w / (1 - p0), 0, 0.9)
            prevalent = rng.random(n) < p0
            new = ~prevalent & (rng.random(n) < q)
            sel = np.flatnonzero(prevalent | new)
            # the code, by the codes' weights at the patient's age
            wc = np.stack([c.share * _shape(c, age0[sel], self.female[sel]) / nm
                           for c, nm in zip(plan.codes, norms)], axis=1)
            cum = np.cumsum(wc, axis=1)
            k = (rng.random(len(sel))[:, None] * cum[:, -1:] > cum).sum(axis=1)
            k = np.minimum(k, len(plan.codes) - 1)
            min_age = np.array([c.min_age for c in plan.codes])[k]
            is_prev = prevalent[sel]
            back = rng.random(len(sel)) * np.minimum(plan.years_back, np.maximum(age0[sel] - min_age, 0))
            start = np.where(is_prev, t0 - _days(back) - DAY,
                             t0 + np.floor(rng.random(len(sel)) * span).astype(np.int64) * DAY)
            parts.append(pd.DataFrame({"pidx": sel, "reg": r_i, "code": np.array([c.icd10 for c in plan.codes],
                                                                                 dtype=object)[k],
                                       "start": start}))
        obs = pd.concat(parts, ignore_index=True)
        pidx = obs["pidx"].to_numpy()
        reg = obs["reg"].to_numpy()
        start = obs["start"].to_numpy().astype("datetime64[D]")
        # removals: death and moves end all of a patient's observations on one day; recovery and other reasons one
        rng = rng_for(self.seed, "register-removal")
        pat, inv = np.unique(pidx, return_inverse=True)
        rr_reg = np.array([PLANS[r.code].death_rr for r in R.REGISTERS])
        rr = np.zeros(len(pat))
        np.maximum.at(rr, inv, rr_reg[reg])
        age_p = np.maximum(age0[pat], 0)
        h_death = GOMPERTZ[0] * np.exp(GOMPERTZ[1] * (age_p - 20)) * rr
        t_death = t0 + _days(rng.exponential(1.0, len(pat)) / h_death)
        t_move = t0 + _days(rng.exponential(1.0, len(pat)) / MOVE_RATE)
        gone = np.minimum(t_death, t_move)
        gone_reason = np.where(t_death <= t_move, "died", "moved")
        died_in = (gone_reason == "died") & (t_death <= t_end)
        self.death[pat[died_in]] = t_death[died_in]
        anchor = np.maximum(start, t0)
        rec = np.array([PLANS[r.code].recovered for r in R.REGISTERS])[reg]
        t_rec = anchor + _days(rng.exponential(1.0, len(reg)) / np.maximum(rec, 1e-9))
        t_oth = anchor + _days(rng.exponential(1.0, len(reg)) / OTHER_RATE)
        # CKD (N18.3) under observation for some diabetics and older hypertensives (criterion dm_mau's exemption)
        ckd_p = np.where(reg == R.REGISTERS.index(R.REGISTER_BY_CODE["dm"]), CKD_SHARE_DM,
                         np.where((reg == R.REGISTERS.index(R.REGISTER_BY_CODE["ht"])) & (age0[pidx] >= 65),
                                  CKD_SHARE_HT_65, 0.0))
        ckd = np.flatnonzero(rng.random(len(reg)) < ckd_p)
        ckd = ckd[~pd.Series(pidx[ckd]).duplicated().to_numpy()]  # one CKD observation per patient
        adult18 = self.birth[pidx[ckd]] + _days(np.full(len(ckd), 18.0))
        ckd_start = np.maximum(start[ckd] + (rng.integers(-4 * 365, 2 * 365, len(ckd))) * DAY, adult18)
        ckd_oth = np.maximum(ckd_start, t0) + _days(rng.exponential(1.0, len(ckd)) / OTHER_RATE)
        pidx = np.r_[pidx, pidx[ckd]]
        reg = np.r_[reg, np.full(len(ckd), -1)]
        code = np.r_[obs["code"].to_numpy(), np.full(len(ckd), CKD_CODE, dtype=object)]
        start = np.r_[start, ckd_start]
        inv = np.r_[inv, inv[ckd]]
        t_rec = np.r_[t_rec, np.full(len(ckd), t0 + 10**6 * DAY)]
        t_oth = np.r_[t_oth, ckd_oth]
        keep = (start < gone[inv]) & (start <= t_end)
        stack = np.stack([gone[inv], t_rec, t_oth], axis=1)
        which = np.argmin(stack, axis=1)
        end = np.maximum(stack[np.arange(len(which)), which], start + DAY)
        reason = np.array(["", "recovered", "other"], dtype=object)[which]
        reason[which == 0] = gone_reason[inv][which == 0]
        open_ = end > t_end
        end[open_] = NAT
        reason[open_] = None
        # one array per column, sorted by start date (the order of obs_id)
        order = np.lexsort((code[keep], pidx[keep], start[keep]))
        self.pidx = pidx[keep][order]
        self.reg = reg[keep][order].astype(np.int64)
        self.code = code[keep][order]
        self.start = start[keep][order]
        self.end = end[keep][order]
        self.reason = reason[keep][order]
        self.vpy = np.array([r.visits_per_year for r in R.REGISTERS] + [CKD_VISITS])[self.reg].astype(np.int16)
        catalog = {row[0]: i for i, row in enumerate(cat.ICD_CATALOG)}
        self.code_idx = np.array([catalog.get(c, -1) for c in self.code], dtype=np.int64)  # -1: not in the catalogue
        self._observers(rng_for(self.seed, "register-observer"))
        m = len(self.pidx)
        rng = rng_for(self.seed, "register-patient")
        self.s = self.q.mo[self.mo] + self.q.doctor[self.doctor]
        self.regular = rng.random(m) < _expit(_logit(REGULAR_P) + VISIT_QUALITY_SLOPE * self.s)
        self.prop = np.where(self.regular, rng.lognormal(0, ADHERENCE_SIGMA, m), IRREGULAR_WEIGHT)
        self.test_adherence = rng.gamma(*ADHERENCE_TESTS, m)
        self.eff = rng.normal(0, 1, m)
        interval = np.round(YEAR / self.vpy).astype(np.int64)
        self.last_visit = np.maximum(self.start, t0 - (rng.random(m) * interval).astype(np.int64) * DAY)

    def _observers(self, rng):
        """The organisation and doctor of each observation: the attachment organisation and the участок doctor;
        cancer by an oncologist of the attachment organisation, else of the district's state outpatient
        network, else the участок doctor."""
        from .activity.common import Lookup
        d = self.st.doctor
        doc_ids = d["doctor_id"].to_numpy().astype(np.int64)
        doc_mo = d["mo_id"].to_numpy().astype(np.int64)
        doc_spec = d["specialty_id"].to_numpy().astype(np.int64)
        mo = self.st.mo
        kind = mo["kind"].to_numpy()[doc_mo - 1]
        doc_dist = mo["district_id"].to_numpy().astype(np.int64)[doc_mo - 1]
        p = self.pidx
        m = len(p)
        mo_ids = self.attach[p].copy()
        doctor = self.area_doc[p].copy()
        u = rng.random(m)
        primary = np.isin(doc_spec, [cat.SPEC_ID[c] for c in ("therapist", "gp", "pediatrician")])
        by_mo_primary = Lookup(doc_mo[primary], doc_ids[primary])
        by_mo = Lookup(doc_mo, doc_ids)
        miss = doctor == 0
        doctor[miss] = by_mo_primary.pick(mo_ids[miss], u[miss])
        miss = doctor <= 0
        doctor[miss] = by_mo.pick(mo_ids[miss], u[miss])
        onco_reg = R.REGISTERS.index(R.REGISTER_BY_CODE["onco"])
        onc = doc_spec == cat.SPEC_ID["oncologist"]
        state_outp = onc & ~np.isin(kind, ["private", "maternity", "hospital"])
        sel = np.flatnonzero(self.reg == onco_reg)
        own = Lookup(doc_mo[onc], doc_ids[onc]).pick(mo_ids[sel], u[sel])
        dist = Lookup(doc_dist[state_outp], doc_ids[state_outp]).pick(self.district[p[sel]], u[sel])
        pick = np.where(own > 0, own, dist)
        doctor[sel[pick > 0]] = pick[pick > 0]
        mo_ids[sel[pick > 0]] = doc_mo[pick[pick > 0] - 1]
        self.mo, self.doctor = mo_ids, doctor

    # ------------------------------------------------------------- state the monthly activity reads
    def active(self, first: np.datetime64, last: np.datetime64) -> np.ndarray:
        """Register observations active through a period, of patients alive at its end."""
        dead = self.death[self.pidx]
        return (self.reg >= 0) & (self.start <= first) & (np.isnat(self.end) | (self.end > last)) \
            & (np.isnat(dead) | (dead > last))

    def need_by_cell(self, cell_of_patient: np.ndarray, n_cells: int, day: np.datetime64) -> np.ndarray:
        """Dispensary visits a year the observations active on a day need, by cell of the patient and register
        (cells × registers): planned visits × DISPENSARY_FULFILMENT for regular patients, × IRREGULAR_NEED for
        the others."""
        act = self.active(day, day)
        out = np.zeros((n_cells, len(R.REGISTERS)))
        w = self.vpy[act] * np.where(self.regular[act], DISPENSARY_FULFILMENT, IRREGULAR_NEED)
        np.add.at(out, (cell_of_patient[self.pidx[act]], self.reg[act]), w)
        return out

    def alive_on(self, patient_id: pd.Series, day: pd.Series) -> np.ndarray:
        """Whether each patient was alive on a day (had not died before it)."""
        dead = self.death[patient_id.to_numpy().astype(np.int64) - 1]
        return np.isnat(dead) | (dead >= day.to_numpy().astype("datetime64[D]"))

    def report_deaths(self, pidx: np.ndarray, day: np.ndarray) -> None:
        """In-hospital deaths: the patients' observations end that day (see ``finish``)."""
        if len(pidx):
            cur = self.hosp_death[pidx]
            self.hosp_death[pidx] = np.where(np.isnat(cur) | (day < cur), day, cur)
            cur = self.death[pidx]
            self.death[pidx] = np.where(np.isnat(cur) | (day < cur), day, cur)

    # ------------------------------------------------------------- events of the month
    def month_events(self, month: dt.date, episodes: pd.DataFrame, visits: pd.DataFrame) -> None:
        """Pneumonia work-up for the month's J12–J18 episodes (criteria anchored at the diagnosis), SBP measured
        at the dispensary visits of hypertensives, and the volumes of the month's care."""
        rng = rng_for(self.seed, "register-month", month.year * 12 + month.month)
        icd = episodes["icd10"].to_numpy()
        fact = pd.factorize(icd)
        for c in R.CRITERIA:
            if c.anchor != "diagnosis":
                continue
            sel = episodes[codes_in(icd, c.icd, fact)
                           & episodes["purpose"].isin(["disease", "urgent"]).to_numpy()
                           & episodes["kind"].isin(["outpatient", "inpatient"]).to_numpy()]
            if sel.empty:
                continue
            mo = sel["mo_id"].to_numpy().astype(np.int64)
            doc = sel["doctor_id"].to_numpy().astype(np.int64)
            s = self.q.mo[mo] + self.q.doctor[doc] + INPATIENT_BONUS * (sel["kind"].to_numpy() == "inpatient")
            anchor = sel["opened_date"].to_numpy().astype("datetime64[D]")
            pidx = sel["patient_id"].to_numpy().astype(np.int64) - 1
            self._criterion_events(rng, c, pidx, anchor, mo, doc, s, "cap")
        # SBP at the dispensary visits of hypertensives under observation
        ht = R.REGISTERS.index(R.REGISTER_BY_CODE["ht"])
        v = visits[visits["purpose"].to_numpy() == "dispensary"]
        v = v[codes_in(v["icd10"].to_numpy(), R.REGISTER_BY_CODE["ht"].icd)]
        if len(v):
            obs = self._obs_of(v["patient_id"].to_numpy().astype(np.int64) - 1, ht)
            day = v["visit_date"].to_numpy().astype("datetime64[D]")
            ok = obs >= 0
            ok[ok] &= (self.start[obs[ok]] <= day[ok]) & (np.isnat(self.end[obs[ok]]) | (self.end[obs[ok]] > day[ok]))
            o = obs[ok]
            self._labs.append(self._control_rows(rng, "SBP", o, day[ok], v["mo_id"].to_numpy()[ok],
                                                 v["doctor_id"].to_numpy()[ok]))
        # volumes: every visit and the dispensary ones by visit year, outpatient disease episodes by opening year
        n_mo = len(self.st.mo) + 1
        y0 = int(self.t0.astype("datetime64[Y]").astype(np.int64)) + 1970
        vy = visits["visit_date"].to_numpy().astype("datetime64[Y]").astype(np.int64) + 1970 - y0
        ey = episodes["opened_date"].to_numpy().astype("datetime64[Y]").astype(np.int64) + 1970 - y0
        vmo = visits["mo_id"].to_numpy().astype(np.int64)
        outp = (episodes["kind"].to_numpy() == "outpatient") & (episodes["purpose"].to_numpy() == "disease")
        disp = visits["purpose"].to_numpy() == "dispensary"
        for kind, years, mos in (("visits", vy, vmo), ("dispensary", vy[disp], vmo[disp]),
                                 ("episodes", ey[outp], episodes["mo_id"].to_numpy().astype(np.int64)[outp])):
            counts = np.bincount(years * n_mo + mos, minlength=0)
            nz = np.flatnonzero(counts)
            self._volume.append(pd.DataFrame({"year": nz // n_mo + y0, "mo_id": nz % n_mo, "kind": kind,
                                              "fact": counts[nz]}))

    def _obs_of(self, pidx: np.ndarray, reg: int) -> np.ndarray:
        """The latest observation of each patient in a register (-1 if none)."""
        sel = np.flatnonzero(self.reg == reg)
        lookup = np.full(len(self.pid), -1, dtype=np.int64)
        lookup[self.pidx[sel]] = sel  # sorted by start: the latest wins
        return lookup[pidx]

    # ------------------------------------------------------------- event rows
    def _lab_frame(self, pidx, test, day, value, mo, doc, reason=None) -> pd.DataFrame:
        n = len(pidx)
        return pd.DataFrame({"patient_id": self.pid[pidx], "mo_id": mo, "doctor_id": doc,
                             "test": np.full(n, test, dtype=object) if isinstance(test, str) else test,
                             "taken_date": day, "value": value,
                             "not_done_reason": np.full(n, None, dtype=object) if reason is None else reason})

    def _control_rows(self, rng, test, obs, day, mo, doc) -> pd.DataFrame:
        mean, slope, sd_p, sd_m, lo, hi, dec = CONTROL[test]
        v = mean - slope * self.s[obs] + sd_p * self.eff[obs] + rng.normal(0, sd_m, len(obs))
        return self._lab_frame(self.pidx[obs], test, day, np.round(np.clip(v, lo, hi), dec), mo, doc)

    def _criterion_events(self, rng, c: R.Criterion, pidx, anchor, mo, doc, s, context: str,
                          reg_code: str | None = None, obs: np.ndarray | None = None) -> None:
        """The event of a criterion for each case: done in the window (by CRITERION_DONE_P and the quality s), or
        of the rest done late, not done with a recorded reason, or nothing (NOT_DONE_SPLIT). A laboratory panel
        (several codes) gives every test of it; a reason is recorded once, on the first. ``obs``: the enrolment
        of each case (its patient's own control value)."""
        n = len(pidx)
        if n == 0:
            return
        done = rng.random(n) < _expit(_logit(CRITERION_DONE_P[c.code]) + s)
        u = rng.random(n)
        late = ~done & (u < NOT_DONE_SPLIT["late"])
        with_reason = ~done & ~late & (u < NOT_DONE_SPLIT["late"] + NOT_DONE_SPLIT["reason"])
        w = c.window_days
        day_in = np.minimum(np.floor(rng.exponential(max(0.6, 0.22 * w), n)), w).astype(np.int64)
        day_late = w + 1 + np.floor(rng.exponential(LATE_DAYS_MEAN, n)).astype(np.int64)
        date = anchor + np.where(late, day_late, day_in) * DAY
        reason = np.where(with_reason, _choose(rng, REASON_MIX, n), None)
        age = (date - self.birth[pidx]).astype(np.int64) / YEAR
        fem = self.female[pidx]
        idx = np.flatnonzero(done | late | with_reason)
        if c.event == "lab":
            crea = None
            for j, test in enumerate(c.codes):
                rows = idx if j == 0 else idx[~with_reason[idx]]
                if test == "EGFR":
                    val = egfr(crea if crea is not None else lab_value(rng, "CREA", n, fem, age), fem, age)
                elif test == "HBA1C":  # at enrolment a little above the patient's later level
                    mean, slope, sd_p, sd_m, lo, hi, dec = CONTROL[test]
                    v = mean + 0.3 - slope * s + sd_p * self.eff[obs] + rng.normal(0, sd_m, n)
                    val = np.round(np.clip(v, lo, hi), dec)
                else:
                    val = lab_value(rng, test, n, fem, age, dm=np.full(n, reg_code == "dm"), pneumonia=context == "cap")
                if test == "CREA":
                    crea = val
                value = np.where(with_reason, np.nan, val)
                self._labs.append(self._lab_frame(pidx[rows], test, date[rows], value[rows], mo[rows], doc[rows],
                                                  reason[rows]))
        elif c.event == "study":
            key = reg_code if reg_code else context
            p_path = STUDY_PATHOLOGY.get((c.codes[0], key), 0.2)
            path = pd.array(np.where(with_reason, False, rng.random(n) < p_path), dtype="boolean")
            path[with_reason] = pd.NA
            self._studies.append(pd.DataFrame({
                "patient_id": self.pid[pidx[idx]], "mo_id": mo[idx], "doctor_id": doc[idx], "study": c.codes[0],
                "study_date": date[idx], "pathology": path[idx], "not_done_reason": reason[idx]}))
        elif c.event == "rx":
            self._rx.append(pd.DataFrame({
                "patient_id": self.pid[pidx[idx]], "mo_id": mo[idx], "doctor_id": doc[idx], "drug_group": c.codes[0],
                "rx_date": date[idx], "not_done_reason": reason[idx]}))

    # ------------------------------------------------------------- finishing
    def finish(self) -> dict[str, pd.DataFrame]:
        """End the observations of patients who died in hospital, draw the enrolment criteria and the routine
        monitoring, and return the tables: dispensary_observation, lab_result, instrumental_study, prescription."""
        t0, t_end = self.t0, self.t_end
        hd = self.hosp_death[self.pidx]
        dropped = ~np.isnat(hd) & (self.start >= hd)
        ends = ~np.isnat(hd) & ~dropped & (np.isnat(self.end) | (self.end > hd))
        self.end[ends] = hd[ends]
        self.reason[ends] = "died"
        keep = ~dropped
        obs = pd.DataFrame({"patient_id": self.pid[self.pidx], "mo_id": self.mo.astype(np.int32),
                            "doctor_id": self.doctor.astype(np.int32), "icd10": self.code, "start_date": self.start,
                            "end_date": self.end, "end_reason": self.reason, "visits_per_year": self.vpy})[keep]
        obs = obs.reset_index(drop=True)
        obs.insert(0, "obs_id", np.arange(1, len(obs) + 1, dtype=np.int64))
        # enrolment criteria for every enrolment whose window reaches into the history
        rng = rng_for(self.seed, "register-enrolment")
        reach = max(c.window_days for c in R.CRITERIA) + 1
        for r_i, reg in enumerate(R.REGISTERS):
            sel = np.flatnonzero(keep & (self.reg == r_i) & (self.start >= t0 - reach * DAY))
            for c in R.CRITERIA:
                if c.anchor != "enrolment":
                    continue
                o = sel[codes_in(self.code[sel], c.icd)]
                self._criterion_events(rng, c, self.pidx[o], self.start[o], self.mo[o], self.doctor[o], self.s[o],
                                       "enrolment", reg_code=reg.code, obs=o)
            if reg.code in ROUTINE_RX:
                group, p = ROUTINE_RX[reg.code]
                o = sel
                take = rng.random(len(o)) < p
                o = o[take]
                day = self.start[o] + np.floor(rng.exponential(4.0, len(o))).astype(np.int64) * DAY
                self._rx.append(pd.DataFrame({"patient_id": self.pid[self.pidx[o]], "mo_id": self.mo[o],
                                              "doctor_id": self.doctor[o], "drug_group": group, "rx_date": day,
                                              "not_done_reason": None}))
        self._routine(keep)
        death = self.death
        out = {"dispensary_observation": obs}
        for name, frames, date_col, sort in (("lab_result", self._labs, "taken_date", "test"),
                                             ("instrumental_study", self._studies, "study_date", "study"),
                                             ("prescription", self._rx, "rx_date", "drug_group")):
            df = pd.concat([f for f in frames if len(f)], ignore_index=True)
            d = df[date_col].to_numpy().astype("datetime64[D]")
            dead = death[df["patient_id"].to_numpy() - 1]
            df = df[(d <= t_end) & (np.isnat(dead) | (d <= dead))]
            df = df.sort_values([date_col, "patient_id", sort], kind="stable").reset_index(drop=True)
            key = {"lab_result": "result_id", "instrumental_study": "study_id", "prescription": "rx_id"}[name]
            df.insert(0, key, np.arange(1, len(df) + 1, dtype=np.int64))
            df["mo_id"] = df["mo_id"].astype(np.int32)
            df["doctor_id"] = df["doctor_id"].astype(np.int32)
            if name == "lab_result":
                df["unit"] = df["test"].map({k: t.unit for k, t in R.LAB_TESTS.items()})
            out[name] = df
        return out

    def _routine(self, keep: np.ndarray) -> None:
        """Routine HbA1c of diabetics and LDL of IHD patients while observed (from a year before the history, so
        that its first months have their 12 months), and SBP in the year before the history."""
        rng = rng_for(self.seed, "register-routine")
        t0, t_end = self.t0, self.t_end
        lo_all = t0 - 365 * DAY
        for reg_code, test, rate in (("dm", "HBA1C", HBA1C_PER_YEAR), ("ihd", "LDL", LDL_PER_YEAR),
                                     ("ht", "SBP", SBP_BEFORE_PER_YEAR)):
            r_i = R.REGISTERS.index(R.REGISTER_BY_CODE[reg_code])
            sel = np.flatnonzero(keep & (self.reg == r_i))
            lo = np.maximum(self.start[sel], lo_all)
            hi_end = np.where(np.isnat(self.end[sel]), t_end, self.end[sel] - DAY)
            hi = np.minimum(hi_end, t0 - DAY) if test == "SBP" else hi_end
            span = (hi - lo).astype(np.int64) + 1
            ok = span > 0
            sel, lo, span = sel[ok], lo[ok], span[ok]
            per_year = np.minimum(rate * np.exp(0.5 * self.s[sel]) * self.test_adherence[sel], MAX_TESTS_PER_YEAR)
            k = rng.poisson(per_year * span / YEAR)
            o = np.repeat(sel, k)
            # spread over the span: the j-th of k tests falls in the j-th of k equal parts
            j = np.arange(len(o)) - np.repeat(np.cumsum(k) - k, k)
            part = np.repeat(span / np.maximum(k, 1), k)
            day = np.repeat(lo, k) + np.floor((j + rng.uniform(0.15, 0.85, len(o))) * part).astype(np.int64) * DAY
            self._labs.append(self._control_rows(rng, test, o, day, self.mo[o], self.doctor[o]))

    # ------------------------------------------------------------- the volume plan
    def volume_plan(self, months: int) -> pd.DataFrame:
        """The yearly plan per state outpatient organisation: the year's fact (annualised over the months of the
        year inside the history) × a persistent factor of the organisation × a little yearly noise."""
        if not self._volume:
            return pd.DataFrame(columns=["year", "mo_id", "kind", "planned"])
        v = pd.concat(self._volume, ignore_index=True)
        mo = self.st.mo
        eligible = mo.loc[mo["is_state"].to_numpy() & ~mo["kind"].isin(["hospital", "maternity"]).to_numpy(), "mo_id"]
        v = v[v["mo_id"].isin(eligible) & (v["year"] >= self.t0.astype("datetime64[Y]").astype(int) + 1970)
              & (v["year"] <= self.t_end.astype("datetime64[Y]").astype(int) + 1970)]
        fact = v.groupby(["year", "mo_id", "kind"])["fact"].sum().reset_index()
        months_in = {}
        m = self.t0.astype("datetime64[M]")
        while m <= self.t_end.astype("datetime64[M]"):
            y = int(m.astype("datetime64[Y]").astype(int) + 1970)
            months_in[y] = months_in.get(y, 0) + 1
            m = m + 1
        rng = rng_for(self.seed, "volume-plan")
        factor = rng.lognormal(PLAN_FACTOR[0], PLAN_FACTOR[1], len(mo) + 1)
        noise = rng_for(self.seed, "volume-plan-year")
        n = len(fact)
        yearly = noise.lognormal(0, PLAN_YEAR_NOISE, n)
        annual = fact["fact"].to_numpy() * 12 / fact["year"].map(months_in).to_numpy()
        fact["planned"] = np.maximum(np.round(annual * factor[fact["mo_id"].to_numpy()] * yearly), 1).astype(np.int64)
        out = fact[["year", "mo_id", "kind", "planned"]].copy()
        out["year"] = out["year"].astype(np.int16)
        out["mo_id"] = out["mo_id"].astype(np.int32)
        return out.sort_values(["year", "mo_id", "kind"]).reset_index(drop=True)


def inpatient_outcome(rng, code: np.ndarray, age: np.ndarray, closed: np.ndarray) -> np.ndarray:
    """Outcomes of inpatient stays (None where the stay is not closed): deaths by code and age, averaging
    INPATIENT_DEATH_SHARE, the rest by OUTCOME_MIX."""
    n = len(code)
    rr = np.ones(n)
    code = np.asarray(code).astype(str)
    for prefix, k in DEATH_CODE_RR.items():
        rr = np.where(np.char.startswith(code, prefix), k, rr)
    raw = rr * np.exp(DEATH_AGE_SLOPE * (age - 65))
    p = np.clip(raw * INPATIENT_DEATH_SHARE / max(raw.mean(), 1e-9), 0, 0.5) if n else raw
    died = rng.random(n) < p
    out = _choose(rng, OUTCOME_MIX, n)
    out[died] = "died"
    out[np.isnat(closed)] = None
    return out


def codes_in(codes, ranges, factorized=None) -> np.ndarray:
    """Whether each ICD-10 code of an array is within ranges (evaluated once per distinct code);
    ``factorized``: ``pd.factorize(codes)`` when the caller has it."""
    idx, uniques = factorized if factorized is not None else pd.factorize(np.asarray(codes, dtype=object))
    flags = np.array([isinstance(c, str) and R.in_ranges(c, ranges) for c in uniques] + [False], dtype=bool)
    return flags[idx]


def register_of_codes(codes) -> np.ndarray:
    """The register index (into core.registers.REGISTERS) of each ICD-10 code, -1 outside every register."""
    index = {r.code: i for i, r in enumerate(R.REGISTERS)}
    return np.array([index[r.code] if (r := R.register_of(c)) else -1 for c in codes], dtype=np.int64)
