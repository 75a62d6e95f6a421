"""Bookings of appointments and schedule slots: channels, waits, no-shows, free slots."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from synth import catalog as cat
from synth.structure import rng_for

from .common import (
    CHANNEL_MIX,
    CHANNELS,
    DAY,
    DIAG_IDS,
    PRIMARY,
    SEC,
    SPEC,
    SPEC_OF_CODE,
    SPEC_SHARE,
    SPECIALIST_IDS,
    Lookup,
    month_days,
)


class BookingsMixin:
    """Bookings and slots of the month (a part of ``ActivityGenerator``)."""

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
        if self.reg is not None:  # the dead book nothing: their bookings go to living patients of the same cell
            cell = (self.district - 1) * 36 + grp * 2 + self.sex_m
            p_idx = self._revive(rng_for(self.seed, "register-redirect-bookings", mkey), days, cell, alive, p_idx)
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
