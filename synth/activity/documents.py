"""Electronic medical documents (СЭМД) of the episodes, and windows in which an organisation sends none."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from synth import catalog as cat
from synth.structure import Structure, rng_for

from .common import (
    CHRONIC,
    CODES,
    DAY,
    PRIMARY,
    SEC,
)


class DocumentsMixin:
    """Documents of the month's episodes (a part of ``ActivityGenerator``)."""

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
        created = close + (rng.exponential(0.5, m) * 3600 * np.where(rng.random(m) < 0.9, 1, 30)
                           * delay_mult ** 0.5).astype(np.int64) * SEC
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
