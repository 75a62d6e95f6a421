"""The effective contract's data of the synthetic city: staff assignments, monthly plans of visits, complaints,
satisfaction surveys, the cancer register, payroll and the regional wage.

Codes (positions, complaint topics, staff groups, visual cancer sites) are declared in ``core.contract_data``;
this module only draws data for them. Calibration is in the named constants below, each with its source or the
assumption.

- Assignments: every doctor has one from before the history (position from the specialty and the kind of his
  organisation), every state organisation a head; inside the history a few primary-care doctors change position
  within their organisation (the same personnel number, the first assignment ending the day before) and a few
  heads are replaced. Doctors do not move between organisations: the visits are generated at the doctor's own.
- The monthly activity (``synth.activity``) gives the visits and episodes; ``month_events`` draws the complaints
  and survey answers about those visits and the cancer cases of those episodes, and counts each doctor's visits.
- ``finish`` sets each month's plan of visits from the doctor's usual volume and the month's season, so that the
  fact is 80–115 % of it, and draws the payroll and the regional wage.

Everything is vectorised over doctors, visits and cases; Python loops run over organisations of a change only.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from core import contract_data as K

from .registers import codes_in
from .structure import Structure, doctor_names, rng_for

DAY = np.timedelta64(1, "D")
YEAR = 365.25

# ---------------------------------------------------------------- calibration
# Assignments (assumptions): doctors and heads started up to this many years before the history; changes inside it.
DOCTOR_YEARS_BEFORE = (0.1, 20.0)
HEAD_YEARS_BEFORE = (0.5, 12.0)
POSITION_CHANGE_SHARE = 0.02   # of primary-care doctors (therapist ↔ GP within the organisation)
HEAD_CHANGE_SHARE = 0.03       # of state organisations: the head replaced in the middle of a month
PERSONNEL_NO_BASE = 1000       # personnel numbers of an organisation are BASE + 1 … BASE + people, shuffled

# Plan of visits: fact / plan of a doctor is his persistent level (normal, clipped) times a monthly noise.
PLAN_LEVEL = (0.97, 0.08, 0.78, 1.15)  # mean, sd, low, high
PLAN_MONTH_NOISE = 0.03

# Complaints: about one per 2,000 visits of state organisations (regional journal of complaints, order of
# magnitude), a doctor's propensity lognormal; received some days after the visit. Decided: justified or not;
# recent ones are more often still under review.
COMPLAINTS_PER_VISIT = 1 / 2000
COMPLAINT_PROPENSITY_SIGMA = 0.7
COMPLAINT_DELAY_DAYS = 6.0
COMPLAINT_ABOUT_MO = 0.15             # about the organisation, no doctor named
JUSTIFIED_OF_DECIDED = 0.45
UNDER_REVIEW = (0.08, 0.6, 30)        # share under review; share among the last N days of the history
COMPLAINT_TOPIC_MIX = {"access": 0.35, "attitude": 0.3, "quality": 0.25, "other": 0.1}

# Surveys: about 5 % of visits of state organisations are followed by an answered questionnaire; a doctor's
# satisfaction rate is 55–90 % (beta between the bounds), a little lower in weaker organisations.
SURVEY_SHARE = 0.05  # of visits: enough answers a month for most doctors to be judged (10)
SATISFACTION_RANGE = (0.55, 0.90)
SATISFACTION_BETA = (2.2, 2.2)
SATISFACTION_WEAKNESS_SLOPE = 0.03
SURVEY_DELAY_P = 0.6                  # answered on the day of the visit; otherwise within two days

# Cancer register: stage at diagnosis I 30 %, II 25 %, III 20 %, IV 20 %, unknown 5 % (Russia, all sites,
# rounded); stages III–IV a little more often among the patients of weaker organisations.
STAGE_MIX = (0.30, 0.25, 0.20, 0.20, 0.05)
STAGE_WEAKNESS_SLOPE = 0.25

# Payroll, St Petersburg 2025–2026 (monitoring of wages in health care; assumptions): doctors 150–230 thousand
# rubles a month, nurses 70–100 thousand, an organisation's level persistent and lower where it is weaker;
# indexed from every 1 January; December pays the year's bonuses. The region's average wage (Petrostat) grows
# slowly from about 100 thousand; nurses per doctor 1.3–2.0.
DOCTOR_SALARY = (195_000.0, 0.07, 150_000.0, 230_000.0)   # mean, log sd, low, high (January 2025)
NURSE_SALARY = (84_000.0, 0.06, 70_000.0, 100_000.0)
SALARY_WEAKNESS_SLOPE = 0.04
SALARY_INDEXATION = 0.06
SALARY_MONTH_NOISE = 0.02
DECEMBER_BONUS = 1.12
REGIONAL_WAGE = (100_500.0, 0.007)   # January 2025, growth a month
REGIONAL_WAGE_NOISE = 0.01
NURSES_PER_DOCTOR = (1.3, 2.0)
HEADCOUNT_PRESENT = (0.95, 1.0)      # the average headcount of a month: some staff on long leave


def _month_index(day: np.ndarray, start: dt.date) -> np.ndarray:
    """Months since the history's first month of each date."""
    m = day.astype("datetime64[M]").astype(np.int64)
    return m - np.datetime64(start, "M").astype(np.int64)


def _random_days(rng, lo: np.datetime64, hi: np.datetime64, n: int) -> np.ndarray:
    """n days uniformly in [lo, hi]."""
    span = (hi - lo).astype(np.int64) + 1
    return lo + rng.integers(0, span, n) * DAY


def _months(start: dt.date, end: dt.date) -> np.ndarray:
    return np.arange(np.datetime64(start, "M"), np.datetime64(end, "M") + 1).astype("datetime64[D]")


class Contract:
    """The contract's data of one history: assignments drawn at once, events month by month, the rest at the end."""

    def __init__(self, st: Structure, patients: pd.DataFrame, seed: int, start: dt.date, end: dt.date):
        self.st, self.seed, self.start, self.end = st, seed, start, end
        self.t0, self.t_end = np.datetime64(start, "D"), np.datetime64(end, "D")
        self.n_months = len(_months(start, end))
        mo = st.mo
        self.is_state = np.r_[False, mo["is_state"].to_numpy()]              # by mo_id
        weak = st.factors["weakness"].to_numpy()
        self.weak_z = np.r_[0.0, (weak - weak.mean()) / max(weak.std(), 1e-9)]  # by mo_id
        d = st.doctor
        self.n_doc = len(d)
        self.doc_mo = np.r_[0, d["mo_id"].to_numpy().astype(np.int64)]          # by doctor_id
        self.attach = patients["attach_mo_id"].fillna(0).to_numpy().astype(np.int64)  # by patient_id − 1
        rng = rng_for(seed, "contract-doctors")
        self.complaint_w = np.r_[0.0, rng.lognormal(0, COMPLAINT_PROPENSITY_SIGMA, self.n_doc)]
        lo, hi = SATISFACTION_RANGE
        sat = lo + (hi - lo) * rng.beta(*SATISFACTION_BETA, self.n_doc)
        self.satisfaction = np.r_[0.0, np.clip(sat - SATISFACTION_WEAKNESS_SLOPE * self.weak_z[self.doc_mo[1:]],
                                               0.4, 0.97)]
        self.visits = np.zeros((self.n_months, self.n_doc + 1), dtype=np.int64)  # month × doctor_id
        self._complaints: list[pd.DataFrame] = []
        self._surveys: list[pd.DataFrame] = []
        self._cancer: list[pd.DataFrame] = []
        self._seen_cancer: set[tuple[int, str]] = set()
        self.employment = self._employment()

    # ------------------------------------------------------------- assignments
    def _positions(self) -> np.ndarray:
        """The position of each doctor (by row of st.doctor) from his specialty and his organisation's kind."""
        d, sp, mo = self.st.doctor, self.st.specialty, self.st.mo
        spec = sp.set_index("specialty_id").loc[d["specialty_id"].to_numpy()]
        code, category = spec["code"].to_numpy(), spec["category"].to_numpy()
        mo_rows = mo.set_index("mo_id").loc[d["mo_id"].to_numpy()]
        kind, attached = mo_rows["kind"].to_numpy(), mo_rows["has_attachment"].to_numpy()
        primary = {"therapist": "therapist", "gp": "gp", "pediatrician": "paediatrician"}
        out = np.full(len(d), "other", dtype=object)
        for c, pos in primary.items():
            out[(code == c) & attached] = pos
        out[category == "specialist"] = "specialist"
        out[(category == "obstetric") & (kind == "womens_consultation")] = "obgyn"
        return out

    def _employment(self) -> pd.DataFrame:
        rng = rng_for(self.seed, "contract-employment")
        st, t0, t_end = self.st, self.t0, self.t_end
        d = st.doctor
        pos = st.position.dropna(subset=["doctor_id"])
        rate = pd.Series(pos["rate"].to_numpy(), index=pos["doctor_id"].to_numpy().astype(np.int64))
        n = len(d)
        years = rng.uniform(*DOCTOR_YEARS_BEFORE, n)
        doctors = pd.DataFrame({
            "person": np.arange(n), "full_name": d["full_name"].to_numpy(),
            "doctor_id": d["doctor_id"].to_numpy().astype(np.int64), "mo_id": d["mo_id"].to_numpy().astype(np.int64),
            "dept_id": d["dept_id"].to_numpy().astype(np.int64), "position": self._positions(),
            "rate": rate.loc[d["doctor_id"].to_numpy()].to_numpy(),
            "start_date": t0 - np.floor(years * YEAR).astype(np.int64) * DAY, "end_date": np.datetime64("NaT", "D")})
        # heads of state organisations; some replaced in the middle of a month of the history
        state = st.mo.loc[st.mo["is_state"].to_numpy(), "mo_id"].to_numpy().astype(np.int64)
        changed = rng.random(len(state)) < HEAD_CHANGE_SHARE
        n_heads = len(state) + int(changed.sum())
        names = doctor_names(rng_for(self.seed, "contract-head-names"), n_heads)
        day = _random_days(rng, t0 + DAY, t_end, len(state))
        first_start = t0 - np.floor(rng.uniform(*HEAD_YEARS_BEFORE, len(state)) * YEAR).astype(np.int64) * DAY
        heads = pd.DataFrame({
            "person": n + np.arange(n_heads), "full_name": names["full_name"].to_numpy(), "doctor_id": 0,
            "mo_id": np.r_[state, state[changed]], "dept_id": 0, "position": K.HEAD, "rate": 1.0,
            "start_date": np.r_[first_start, day[changed]],
            "end_date": np.r_[np.where(changed, day - DAY, np.datetime64("NaT", "D")),
                              np.full(int(changed.sum()), np.datetime64("NaT", "D"))]})
        # personnel numbers: unique per person within the organisation
        people = pd.concat([doctors[["person", "mo_id"]], heads[["person", "mo_id"]]], ignore_index=True)
        people["u"] = rng.random(len(people))
        people = people.sort_values(["mo_id", "u"], kind="stable")
        people["no"] = PERSONNEL_NO_BASE + 1 + people.groupby("mo_id").cumcount()
        number = people.set_index("person")["no"]
        # position changes therapist ↔ GP within the organisation
        prim = np.flatnonzero(np.isin(doctors["position"].to_numpy(), ["therapist", "gp", "paediatrician"]))
        movable = np.flatnonzero(np.isin(doctors["position"].to_numpy(), ["therapist", "gp"]))
        k = min(int(round(POSITION_CHANGE_SHARE * len(prim))), len(movable))
        who = np.sort(rng.choice(movable, k, replace=False)) if k else np.array([], dtype=np.int64)
        when = _random_days(rng, t0 + DAY, t_end, len(who))
        moved = doctors.iloc[who].copy()
        moved["position"] = np.where(moved["position"].to_numpy() == "therapist", "gp", "therapist")
        moved["start_date"] = when
        doctors.loc[doctors.index[who], "end_date"] = when - DAY
        out = pd.concat([doctors, moved, heads], ignore_index=True)
        out["personnel_no"] = number.loc[out["person"].to_numpy()].astype(str).to_numpy()
        out = out.sort_values(["mo_id", "personnel_no", "start_date"], kind="stable").reset_index(drop=True)
        out.insert(0, "assignment_id", np.arange(1, len(out) + 1, dtype=np.int32))
        for col in ("doctor_id", "dept_id"):
            v = out[col].to_numpy()
            out[col] = pd.array(np.where(v > 0, v, 0), dtype="Int64")
            out.loc[v == 0, col] = pd.NA
        out["mo_id"] = out["mo_id"].astype(np.int32)
        return out[["assignment_id", "personnel_no", "full_name", "doctor_id", "mo_id", "dept_id", "position", "rate",
                    "start_date", "end_date"]]

    def planned_doctors(self) -> np.ndarray:
        """doctor_ids of state organisations whose assignments are all of planned positions."""
        e = self.employment
        doc = e[e["doctor_id"].notna()]
        ids = doc["doctor_id"].to_numpy().astype(np.int64)
        ids = np.setdiff1d(ids, ids[~doc["position"].isin(K.PLANNED_POSITIONS).to_numpy()])
        return ids[self.is_state[self.doc_mo[ids]]]

    # ------------------------------------------------------------- monthly events
    def month_events(self, month: dt.date, episodes: pd.DataFrame, visits: pd.DataFrame) -> None:
        """Count the month's visits per doctor; draw complaints and survey answers about them and the cancer
        register's cases of the month's episodes."""
        k = _month_index(np.array([np.datetime64(month, "D")]), self.start)[0]
        doc = visits["doctor_id"].to_numpy().astype(np.int64)
        vmo = visits["mo_id"].to_numpy().astype(np.int64)
        state = self.is_state[vmo]
        vday = visits["visit_date"].to_numpy().astype("datetime64[D]")
        # by the month of the visit: an episode's later visits fall into the next month
        vk = _month_index(vday, self.start)
        inside = (vk >= 0) & (vk < self.n_months)
        cell = vk[inside] * (self.n_doc + 1) + doc[inside]
        self.visits += np.bincount(cell, minlength=self.visits.size).reshape(self.visits.shape)
        self._draw_complaints(rng_for(self.seed, "contract-complaints", int(k)), doc[state], vmo[state], vday[state])
        self._draw_surveys(rng_for(self.seed, "contract-surveys", int(k)), doc[state], vmo[state], vday[state])
        self._draw_cancer(rng_for(self.seed, "contract-cancer", int(k)), episodes)

    def _draw_complaints(self, rng, doc, mo, day) -> None:
        n = rng.poisson(len(doc) * COMPLAINTS_PER_VISIT)
        if n == 0:
            return
        w = self.complaint_w[doc]
        pick = rng.choice(len(doc), n, p=w / w.sum())
        received = day[pick] + np.floor(rng.exponential(COMPLAINT_DELAY_DAYS, n)).astype(np.int64) * DAY
        keep = received <= self.t_end
        pick, received = pick[keep], received[keep]
        n = len(pick)
        recent = received > self.t_end - UNDER_REVIEW[2] * DAY
        review = rng.random(n) < np.where(recent, UNDER_REVIEW[1], UNDER_REVIEW[0])
        justified = pd.array(rng.random(n) < JUSTIFIED_OF_DECIDED, dtype="boolean")
        justified[review] = pd.NA
        doctor = pd.array(doc[pick], dtype="Int64")
        doctor[rng.random(n) < COMPLAINT_ABOUT_MO] = pd.NA
        topics = np.array(list(COMPLAINT_TOPIC_MIX), dtype=object)
        p = np.array(list(COMPLAINT_TOPIC_MIX.values()))
        self._complaints.append(pd.DataFrame({
            "received_date": received, "mo_id": mo[pick].astype(np.int32), "doctor_id": doctor,
            "justified": justified, "topic": topics[rng.choice(len(topics), n, p=p / p.sum())]}))

    def _draw_surveys(self, rng, doc, mo, day) -> None:
        sel = np.flatnonzero(rng.random(len(doc)) < SURVEY_SHARE)
        answered = day[sel] + np.where(rng.random(len(sel)) < SURVEY_DELAY_P, 0, rng.integers(1, 3, len(sel))) * DAY
        keep = answered <= self.t_end
        sel, answered = sel[keep], answered[keep]
        self._surveys.append(pd.DataFrame({
            "answered_date": answered, "mo_id": mo[sel].astype(np.int32), "doctor_id": doc[sel].astype(np.int32),
            "satisfied": rng.random(len(sel)) < self.satisfaction[doc[sel]]}))

    def _draw_cancer(self, rng, episodes: pd.DataFrame) -> None:
        e = episodes[episodes["is_new_diagnosis"].to_numpy().astype(bool)]
        e = e[codes_in(e["icd10"].to_numpy(), K.MALIGNANT)].sort_values(["opened_date", "episode_id"], kind="stable")
        # the first diagnosis of a rubric in the patient's life (in the history): later «new» episodes repeat it
        first = []
        for pid, code in zip(e["patient_id"].to_numpy(), e["icd10"].to_numpy()):
            key = (int(pid), code[:3])
            first.append(key not in self._seen_cancer)
            self._seen_cancer.add(key)
        e = e[np.array(first, dtype=bool)]
        n = len(e)
        if n == 0:
            return
        z = self.weak_z[self.attach[e["patient_id"].to_numpy().astype(np.int64) - 1]]
        p = np.tile(np.array(STAGE_MIX), (n, 1))
        p[:, 2:4] *= np.exp(STAGE_WEAKNESS_SLOPE * z)[:, None]
        p /= p.sum(axis=1, keepdims=True)
        k = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
        stage = pd.array(np.minimum(k + 1, 4), dtype="Int16")
        stage[k >= 4] = pd.NA
        self._cancer.append(pd.DataFrame({
            "patient_id": e["patient_id"].to_numpy().astype(np.int64), "diagnosis_date": e["opened_date"].to_numpy(),
            "icd10": e["icd10"].to_numpy(), "stage": stage, "mo_id": e["mo_id"].to_numpy().astype(np.int32)}))

    # ------------------------------------------------------------- finishing
    def finish(self) -> dict[str, pd.DataFrame]:
        """The tables: employment, doctor_plan, complaint, patient_survey, cancer_case, salary, regional_wage."""
        out = {"employment": self.employment, "doctor_plan": self._plans()}
        for name, frames, date_col, key in (("complaint", self._complaints, "received_date", "complaint_id"),
                                            ("patient_survey", self._surveys, "answered_date", "response_id"),
                                            ("cancer_case", self._cancer, "diagnosis_date", "case_id")):
            frames = [f for f in frames if len(f)]
            df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[date_col])
            df = df.sort_values(date_col, kind="stable").reset_index(drop=True)
            df.insert(0, key, np.arange(1, len(df) + 1, dtype=np.int64))
            out[name] = df
        out["regional_wage"], out["salary"] = self._payroll()
        return out

    def _plans(self) -> pd.DataFrame:
        """Each planned doctor's plan of every month: his usual monthly volume × the month's season / his level."""
        rng = rng_for(self.seed, "contract-plan")
        ids = self.planned_doctors()
        fact = self.visits[:, ids].astype(float)                     # months × doctors
        usual = fact.mean(axis=0)
        totals = fact.sum(axis=1)
        season = totals / max(totals.mean(), 1e-9)
        mean, sd, lo, hi = PLAN_LEVEL
        level = np.clip(rng.normal(mean, sd, len(ids)), lo, hi)
        noise = rng.lognormal(0, PLAN_MONTH_NOISE, fact.shape)
        planned = np.maximum(np.round(season[:, None] * usual[None, :] / (level[None, :] * noise)), 1).astype(np.int64)
        keep = usual > 0                                             # a doctor who saw nobody in the history: no plan
        months = _months(self.start, self.end)
        m_idx, d_idx = np.nonzero(np.broadcast_to(keep[None, :], planned.shape))
        return pd.DataFrame({"month": months[m_idx], "doctor_id": ids[d_idx].astype(np.int32),
                             "mo_id": self.doc_mo[ids[d_idx]].astype(np.int32),
                             "visits_planned": planned[m_idx, d_idx].astype(np.int32)})

    def _payroll(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The regional wage of every month, and each state organisation's salaries of doctors and nurses."""
        rng = rng_for(self.seed, "contract-payroll")
        months = _months(self.start, self.end)
        since_2025 = (months.astype("datetime64[M]").astype(np.int64) - np.datetime64("2025-01", "M").astype(np.int64))
        december = months.astype("datetime64[M]").astype(np.int64) % 12 == 11
        bonus = np.where(december, DECEMBER_BONUS, 1.0)
        wage = REGIONAL_WAGE[0] * (1 + REGIONAL_WAGE[1]) ** since_2025 * bonus \
            * rng.lognormal(0, REGIONAL_WAGE_NOISE, len(months))
        regional = pd.DataFrame({"month": months, "avg_wage": np.round(wage, -1)})
        mo = self.st.mo
        state = mo.loc[mo["is_state"].to_numpy(), "mo_id"].to_numpy().astype(np.int64)
        doctors = np.bincount(self.doc_mo[1:], minlength=len(mo) + 1)[state]
        state, doctors = state[doctors > 0], doctors[doctors > 0]
        nurses = doctors * rng.uniform(*NURSES_PER_DOCTOR, len(state))
        years = np.floor(since_2025 / 12)
        frames = []
        for group, (mean, sigma, lo, hi), count in (("doctors", DOCTOR_SALARY, doctors), ("nurses", NURSE_SALARY, nurses)):
            level = np.clip(mean * np.exp(rng.normal(0, sigma, len(state)) - SALARY_WEAKNESS_SLOPE * self.weak_z[state]),
                            lo, hi)
            pay = level[None, :] * ((1 + SALARY_INDEXATION) ** years * bonus)[:, None] \
                * rng.lognormal(0, SALARY_MONTH_NOISE, (len(months), len(state)))
            present = count[None, :] * rng.uniform(*HEADCOUNT_PRESENT, (len(months), len(state)))
            m_idx, o_idx = np.indices(pay.shape).reshape(2, -1)
            frames.append(pd.DataFrame({"month": months[m_idx], "mo_id": state[o_idx].astype(np.int32),
                                        "staff_group": group, "avg_salary": np.round(pay[m_idx, o_idx], -1),
                                        "headcount": np.round(present[m_idx, o_idx], 1)}))
        salary = pd.concat(frames, ignore_index=True).sort_values(["month", "mo_id", "staff_group"], kind="stable")
        return regional, salary.reset_index(drop=True)
