"""Morbidity by ICD-10: cases, crude and age-standardised rates per 100,000, trends, the ICD tree.

Rates are per 100,000 of the relevant population per year: residents for the city and a district,
the attached population for an organisation. Age standardisation is direct, with the city's own
population of the same period (and sex and age filter) as the standard, so a district with an older
population compares fairly: ASR = Σ_g w_g × cases_g / population_g, w_g = the city's share of age
group g. Its 95 % confidence interval uses the normal approximation var = Σ w_g² × cases_g / pop_g².
"""
from __future__ import annotations

from dataclasses import dataclass

from . import units as U
from .scope import Scope

PATH = "morbidity"
CHILD = {lv: U.child_level(lv, PATH) for lv in U.PATHS[PATH]}
ATTACHED_KINDS = ("adult_polyclinic", "children_polyclinic")
PER = 100_000


@dataclass(frozen=True)
class Filter:
    """What is counted: an ICD node, a sex (or both), a range of five-year age groups."""
    icd_kind: str = "all"
    icd_value: str | None = None
    sex: str | None = None
    age_lo: int = 0
    age_hi: int = 17


def check(level: str, unit_id, scope: Scope) -> U.Unit:
    return U.scoped_unit(level, unit_id, scope, PATH)
