"""Morbidity by ICD-10: cases, crude and age-standardised rates per 100,000, trends, the ICD tree.

Rates are per 100,000 of the relevant population per year: residents for the city and a district,
the attached population for an organisation. Age standardisation is direct, with the city's own
population of the same period (and sex and age filter) as the standard, so a district with an older
population compares fairly: ASR = Σ_g w_g × cases_g / population_g, w_g = the city's share of age
group g. Its 95 % confidence interval uses the normal approximation var = Σ w_g² × cases_g / pop_g².
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import func

from . import icd
from . import marts as M
from . import units as U
from .cache import cached
from .context import get_db
from .scope import CITY, Scope

LEVELS = ["region", "district", "mo"]
CHILD = {"region": "district", "district": "mo", "mo": None}
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


def check(level: str, unit_id, scope: Scope):
    return U.scoped_unit(level, unit_id, scope, LEVELS)


def _conds(t, level: str, unit_id, months, f: Filter, scope: Scope, icd_filter: bool = True):
    conds = [t.c.month.in_(list(months)), t.c.age_group >= f.age_lo, t.c.age_group <= f.age_hi]
    if f.sex:
        conds.append(t.c.sex == f.sex)
    if level == "district":
        conds.append(t.c.district_id == int(unit_id))
    elif level == "mo":
        conds.append(t.c.mo_id == int(unit_id))
    if scope.districts is not None:
        conds.append(t.c.district_id.in_(sorted(scope.districts)))
    if scope.mos is not None:
        conds.append(t.c.mo_id.in_(sorted(scope.mos)))
    rng = icd.code_range(f.icd_kind, f.icd_value) if icd_filter and "icd3" in t.c else None
    if rng:
        conds += [t.c.icd3 >= rng[0], t.c.icd3 <= rng[1]]
    return conds


def _place_key(level: str) -> str:
    return {"region": "district_id", "district": "mo_id", "mo": "mo_id"}[level]


@cached(timeout=600)
def cases_by_age(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY, by_place: bool = True) -> pd.DataFrame:
    """place (child unit, or 0 for the unit itself), age_group, cases, new_cases."""
    check(level, unit_id, scope)
    t = M.mart_morbidity
    keys = ([t.c[_place_key(level)].label("place")] if by_place else []) + [t.c.age_group]
    q = sa.select(*keys, func.sum(t.c.cases).label("cases"), func.sum(t.c.new_cases).label("new_cases")).where(
        *_conds(t, level, unit_id, months, f, scope)).group_by(*keys)
    df = get_db().read_df(q)
    if not by_place:
        df.insert(0, "place", 0)
    return df


@cached(timeout=600)
def population_by_age(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY,
                      by_place: bool = True) -> pd.DataFrame:
    """place, age_group, population (the monthly average over the months)."""
    check(level, unit_id, scope)
    t = M.mart_population
    keys = ([t.c[_place_key(level)].label("place")] if by_place else []) + [t.c.age_group]
    q = sa.select(*keys, func.sum(t.c.population).label("population")).where(
        *_conds(t, level, unit_id, months, f, scope, icd_filter=False)).group_by(*keys)
    df = get_db().read_df(q)
    df["population"] = df["population"] / max(len(months), 1)
    if not by_place:
        df.insert(0, "place", 0)
    return df


def standard(months: tuple, f: Filter) -> pd.Series:
    """The standard population: the city's by age group for the same months and filters (weights sum to 1)."""
    pop = population_by_age("region", None, months, f, CITY, by_place=False).set_index("age_group")["population"]
    return pop / pop.sum() if pop.sum() else pop


def rates(cases: pd.DataFrame, pop: pd.DataFrame, weights: pd.Series, n_months: int) -> pd.DataFrame:
    """Crude and directly standardised rates per 100,000 a year with 95 % confidence intervals, per place.

    cases: place, age_group, cases, new_cases; pop: place, age_group, population.
    """
    annual = PER * 12 / max(n_months, 1)
    j = pop.merge(cases, on=["place", "age_group"], how="left").fillna({"cases": 0, "new_cases": 0})
    j = j[j["population"] > 0].copy()
    j["w"] = j["age_group"].map(weights).fillna(0.0)
    j["r"] = j["cases"] / j["population"]
    j["wr"] = j["w"] * j["r"]
    j["var"] = j["w"] ** 2 * j["cases"] / j["population"] ** 2
    g = j.groupby("place")
    out = pd.DataFrame({"cases": g["cases"].sum(), "new_cases": g["new_cases"].sum(), "population": g["population"].sum(),
                        "w_used": g["w"].sum(), "asr_raw": g["wr"].sum(), "var": g["var"].sum()})
    out["crude"] = out["cases"] / out["population"] * annual
    # groups a small place has nobody in are left out of its standardisation; the weights renormalise
    out["asr"] = np.where(out["w_used"] > 0, out["asr_raw"] / out["w_used"] * annual, np.nan)
    se = np.sqrt(out["var"]) / out["w_used"].replace(0, np.nan) * annual
    out["asr_lo"] = (out["asr"] - 1.96 * se).clip(lower=0)
    out["asr_hi"] = out["asr"] + 1.96 * se
    out["new_crude"] = out["new_cases"] / out["population"] * annual
    return out.drop(columns=["asr_raw", "var"]).reset_index()


def place_names(level: str) -> dict:
    child = CHILD[level] or level
    if child == "district":
        return dict(zip(U.districts()["district_id"], U.districts()["name"]))
    o = U.organisations()
    return dict(zip(o["mo_id"], o["short_name"]))


def compare(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY) -> tuple[pd.DataFrame, dict]:
    """Rates of the places under a unit (districts of the city, attached organisations of a district,
    the organisation itself) and of the city as the reference."""
    w = standard(months, f)
    if level == "mo":
        c = cases_by_age(level, unit_id, months, f, scope, by_place=False)
        p = population_by_age(level, unit_id, months, f, scope, by_place=False)
        out = rates(c, p, w, len(months))
        out["place"] = int(unit_id)
    else:
        out = rates(cases_by_age(level, unit_id, months, f, scope), population_by_age(level, unit_id, months, f, scope),
                    w, len(months))
        if level == "district":
            kinds = U.organisations().set_index("mo_id")["kind"]
            out = out[out["place"].map(kinds).isin(ATTACHED_KINDS)]
    out["name"] = out["place"].map(place_names(level))
    city = rates(cases_by_age("region", None, months, f, CITY, by_place=False),
                 population_by_age("region", None, months, f, CITY, by_place=False), w, len(months)).iloc[0]
    ref = {"crude": city["crude"], "asr": city["asr"], "new_crude": city["new_crude"], "cases": city["cases"]}
    out["vs_city"] = np.select([out["asr_lo"] > ref["asr"], out["asr_hi"] < ref["asr"]], ["higher", "lower"], "same")
    return out.dropna(subset=["name"]).reset_index(drop=True), ref


@cached(timeout=600)
def by_code(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY) -> pd.DataFrame:
    """icd3, cases, new_cases for the unit and filter."""
    check(level, unit_id, scope)
    t = M.mart_morbidity
    q = sa.select(t.c.icd3, func.sum(t.c.cases).label("cases"), func.sum(t.c.new_cases).label("new_cases")).where(
        *_conds(t, level, unit_id, months, f, scope)).group_by(t.c.icd3)
    return get_db().read_df(q)


def tree(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY) -> pd.DataFrame:
    """The children of the filter's ICD node with cases: classes, blocks of a class, codes of a block."""
    df = by_code(level, unit_id, months, f, scope)
    if df.empty:
        return pd.DataFrame(columns=["node", "kind", "name", "cases", "new_cases"])
    if f.icd_kind == "all":
        df["node"] = df["icd3"].map(icd.class_of).astype("Int64").astype(str)
        kind = "class"
    elif f.icd_kind == "class":
        df["node"] = df["icd3"].map(icd.block_of)
        kind = "block"
    else:
        df["node"] = df["icd3"]
        kind = "code"
    g = df.dropna(subset=["node"]).groupby("node")[["cases", "new_cases"]].sum().reset_index()
    g["kind"] = kind
    g["name"] = [icd.name(n) for n in g["node"]]
    if kind == "class":
        g["roman"] = [icd.ROMAN[int(n)] for n in g["node"]]
    return g.sort_values("cases", ascending=False).reset_index(drop=True)


@cached(timeout=600)
def monthly(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY) -> pd.DataFrame:
    """month, cases, new_cases, population for the unit."""
    check(level, unit_id, scope)
    t, p = M.mart_morbidity, M.mart_population
    c = get_db().read_df(sa.select(t.c.month, func.sum(t.c.cases).label("cases"), func.sum(t.c.new_cases).label("new_cases"))
                         .where(*_conds(t, level, unit_id, months, f, scope)).group_by(t.c.month))
    pop = get_db().read_df(sa.select(p.c.month, func.sum(p.c.population).label("population"))
                           .where(*_conds(p, level, unit_id, months, f, scope, icd_filter=False)).group_by(p.c.month))
    out = pop.merge(c, on="month", how="left").fillna(0)
    out["month"] = pd.to_datetime(out["month"]).dt.date
    out["rate"] = np.where(out["population"] > 0, out["cases"] / out["population"] * PER * 12, np.nan)
    return out.sort_values("month").reset_index(drop=True)


def age_sex(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY) -> pd.DataFrame:
    """age_group, sex, population, cases, rate (per 100,000 a year)."""
    check(level, unit_id, scope)
    t, p = M.mart_morbidity, M.mart_population
    c = get_db().read_df(sa.select(t.c.age_group, t.c.sex, func.sum(t.c.cases).label("cases")).where(
        *_conds(t, level, unit_id, months, f, scope)).group_by(t.c.age_group, t.c.sex))
    pop = get_db().read_df(sa.select(p.c.age_group, p.c.sex, func.sum(p.c.population).label("population")).where(
        *_conds(p, level, unit_id, months, f, scope, icd_filter=False)).group_by(p.c.age_group, p.c.sex))
    pop["population"] = pop["population"] / max(len(months), 1)
    out = pop.merge(c, on=["age_group", "sex"], how="left").fillna({"cases": 0})
    out["rate"] = np.where(out["population"] > 0, out["cases"] / out["population"] * PER * 12 / max(len(months), 1), np.nan)
    return out.sort_values(["age_group", "sex"]).reset_index(drop=True)
