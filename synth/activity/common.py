"""Shared constants of the activity generator: the ICD catalogue as arrays, specialties, channels, lookups."""
from __future__ import annotations

import datetime as dt

import numpy as np

from core import registers as R
from synth import catalog as cat

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
# The register (index into core.registers.REGISTERS) of each code; -1 outside every register.
CODE_REG = np.array([R.REGISTERS.index(r) if (r := R.register_of(c)) else -1 for c in CODES], dtype=np.int64)
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
