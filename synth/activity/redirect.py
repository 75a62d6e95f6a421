"""Who gets the episodes of chronic patients: the registers' patients (a part of ``ActivityGenerator``).

The monthly draws decide how many episodes of each ICD-10 code a (district, age group, sex) cell has; this
mixin only changes who of the cell gets them, from its own random streams, so the other draws do not shift
and the morbidity of a cell stays as it was:

- an episode of a patient who has died (by the end of the month) goes to a living patient of the cell, and so
  does a booking;
- a dispensary episode with a register's code goes to a patient under observation by that register, weighted
  by his propensity to come (the observing doctor's quality and his own adherence) and by how long ago he
  was last seen against his planned frequency, so that regular patients come at their interval. An adult's
  goes to an adult of the same district and sex of any age: the dispensary volume of a cell follows the
  morbidity profile of the chronic codes, while the registers' patients are younger than the oldest cells;
- disease and urgent episodes with a register's code go to its patients observed with that very code with a
  high probability (the others stay with a patient of the cell: diagnosed, not enrolled), inpatient ones
  too; their codes do not change, so the morbidity of a cell by code stays as drawn (a dispensary visit takes
  the code of the observation it serves);
- the dispensary visits of a cell are shared between the registers' codes and the other chronic codes by
  what the registers' patients need (``dispensary_composition``), keeping the cell's total; with the norm's
  volume (0.262 a person a year) the registers take most of it, the other chronic codes keep the rest.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from core import registers as R
from synth import registers as SR
from synth.structure import rng_for

from .common import CHRONIC, CODE_REG

N_CELLS = 18 * 36
N_GROUPS = N_CELLS + 36  # dispensary groups: a child's cell, or an adult's district and sex


def _take(values: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """values[pick] where pick ≥ 0, else -1."""
    if len(values) == 0:
        return np.full(len(pick), -1, dtype=np.int64)
    return np.where(pick >= 0, values[np.maximum(pick, 0)], -1)


class RedirectMixin:
    """Register-aware choice of patients (a part of ``ActivityGenerator``; ``self.reg`` is ``Registers``)."""

    def _cells_at(self, day: np.datetime64) -> np.ndarray:
        _, grp = self._age_group(day)
        return (self.district - 1) * 36 + grp * 2 + self.sex_m

    def _disp_groups(self, day: np.datetime64, cell: np.ndarray) -> np.ndarray:
        """The dispensary group of each patient: his cell for a child, his district and sex for an adult."""
        age, _ = self._age_group(day)
        return np.where(age < 18, cell, N_CELLS + (self.district - 1) * 2 + self.sex_m)

    def dispensary_composition(self) -> np.ndarray:
        """Cells × codes: the share of a cell's dispensary visits each chronic code takes.

        A register's codes get what its patients need (``Registers.need_by_cell`` at the middle of the
        history): in a child's cell what the cell's patients need, in an adult's cell (20 years and older) the
        same share as in all adult cells of its district and sex, whose patients share the visits (see the
        module); at most DISPENSARY_REGISTER_CAP of a cell together, split between the register's codes by
        their morbidity; the other chronic codes share the rest.
        """
        mid = self.t_end - (self.t_end - np.datetime64(self.start, "D")) // 2
        cell = self._cells_at(mid)
        persons = np.bincount(cell[self.birth <= mid], minlength=N_CELLS)
        need = self.reg.need_by_cell(self._disp_groups(mid, cell), N_GROUPS, mid)
        w = (self.rate[None] * self.dfac[:, None, None, :]).reshape(N_CELLS, -1) * CHRONIC[None, :] * self.k_disp
        total = w.sum(axis=1)
        share = need[:N_CELLS] / np.maximum(total * persons, 1e-12)[:, None]
        adult = (np.arange(N_CELLS) // 2) % 18 >= 4
        ds = (np.arange(N_CELLS) // 36) * 2 + np.arange(N_CELLS) % 2  # district and sex of a cell
        volume_ds = np.bincount(ds[adult], weights=(total * persons)[adult], minlength=36)
        share[adult] = need[N_CELLS:][ds[adult]] / np.maximum(volume_ds[ds[adult]], 1e-12)[:, None]
        tot = share.sum(axis=1)
        share *= np.where(tot > SR.DISPENSARY_REGISTER_CAP, SR.DISPENSARY_REGISTER_CAP / np.maximum(tot, 1e-12), 1.0)[:, None]
        comp = np.zeros_like(w)
        for r_i in range(len(R.REGISTERS)):
            m = CODE_REG == r_i
            ws = w[:, m].sum(axis=1, keepdims=True)
            comp[:, m] = share[:, [r_i]] * np.divide(w[:, m], ws, out=np.zeros_like(w[:, m]), where=ws > 0)
        other = (CODE_REG < 0) & CHRONIC
        wo = w[:, other].sum(axis=1, keepdims=True)
        rest = 1.0 - comp.sum(axis=1, keepdims=True)
        comp[:, other] = rest * np.divide(w[:, other], wo, out=np.zeros_like(w[:, other]), where=wo > 0)
        return comp

    def _revive(self, rng, days, cell, alive, p_idx) -> np.ndarray:
        """Episodes (bookings) of patients dead by the end of the month go to living patients of the same cell."""
        dead = self.reg.death[p_idx]
        gone = ~np.isnat(dead) & (dead <= days[-1])
        if gone.any():
            living = np.flatnonzero(alive & (np.isnat(self.reg.death) | (self.reg.death > days[-1])))
            pick = SR.group_pick(rng, cell[living], np.ones(len(living)), cell[p_idx[gone]], unique=False)
            p_idx[gone] = np.where(pick >= 0, living[np.maximum(pick, 0)], p_idx[gone])
        return p_idx

    def register_redirect(self, month: dt.date, days, cell, alive, p_idx, code, purpose, inpatient=False):
        """New patients for the month's episodes (see the module); returns (p_idx, observation index or -1)."""
        reg = self.reg
        rng = rng_for(self.seed, "register-redirect-inpatient" if inpatient else "register-redirect",
                      month.year * 12 + month.month)
        p_idx = self._revive(rng, days, cell, alive, p_idx.copy())
        n = len(p_idx)
        obs = np.full(n, -1, dtype=np.int64)
        r = CODE_REG[code]
        act = np.flatnonzero(reg.active(days[0], days[-1]))
        coded = act[reg.code_idx[act] >= 0]  # the same code in the same cell
        ckey = reg.code_idx[coded] * N_CELLS + cell[reg.pidx[coded]]
        if inpatient:
            sel = np.flatnonzero((r >= 0) & (rng.random(n) < SR.INPATIENT_ENROLLED_P))
            # the worse a patient is looked after, the likelier his admission
            pick = SR.group_pick(rng, ckey, np.exp(-0.5 * reg.s[coded]), code[sel] * N_CELLS + cell[p_idx[sel]], False)
            pick = _take(coded, pick)
        else:
            disp = np.flatnonzero((r >= 0) & (purpose == "dispensary"))
            interval = SR.YEAR / reg.vpy[act]
            since = (days[len(days) // 2] - reg.last_visit[act]).astype(np.int64)
            due = np.clip((since / interval) ** 4, 0.01, 3.0)
            group = self._disp_groups(days[len(days) // 2], cell)
            pick_d = SR.group_pick(rng, reg.reg[act] * N_GROUPS + group[reg.pidx[act]], reg.prop[act] * due,
                                   r[disp] * N_GROUPS + group[p_idx[disp]], True)
            sick = np.flatnonzero((r >= 0) & (purpose != "dispensary"))
            p = SR._expit(SR._logit(SR.DIAGNOSED_ENROLLED_P) + SR.COVERAGE_SLOPE * reg.q.mo[self.attach[p_idx[sick]]])
            sick = sick[rng.random(len(sick)) < p]
            pick_s = SR.group_pick(rng, ckey, np.ones(len(coded)), code[sick] * N_CELLS + cell[p_idx[sick]], False)
            sel = np.r_[disp, sick]
            pick = np.r_[_take(act, pick_d), _take(coded, pick_s)]
        ok = pick >= 0
        obs[sel[ok]] = pick[ok]
        p_idx[sel[ok]] = reg.pidx[obs[sel[ok]]]
        return p_idx, obs
