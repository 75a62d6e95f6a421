"""Morbidity through the semantic layer: cases and population by age, crude and age-standardised
rates per 100,000 with confidence intervals, the ICD tree, trends, the age–sex pyramid.

The method is described in ``data_access/morbidity.py``. Every count is a query of
``mart_morbidity`` / ``mart_population`` for the unit's rows (its places: districts of the city,
attached organisations of a district, the organisation itself), under the person's scope.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data_access import icd
from data_access import units as U
from data_access.morbidity import ATTACHED_KINDS, CHILD, PATH, PER, Filter, check
from data_access.scope import CITY, Scope

from . import query as Q


def _query(mart: str, measures, by, level: str, unit_id, months, f: Filter, icd_filter: bool = True) -> Q.Query:
    """A morbidity query: sex and age group filters, and the ICD node as a range of three-character codes."""
    ranges = [("age_group", f.age_lo, f.age_hi)]
    rng = icd.code_range(f.icd_kind, f.icd_value) if icd_filter else None
    if rng:
        ranges.append(("icd3", rng[0], rng[1]))
    filters = (("sex", (f.sex,)),) if f.sex else ()
    return Q.months_query([f"{mart}.{m}" for m in measures], by, U.unit(level, unit_id), PATH, months, filters, ranges)


def cases_by_age(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY, by_place: bool = True) -> pd.DataFrame:
    """place (child unit, or 0 for the unit itself), age_group, cases, new_cases."""
    check(level, unit_id, scope)
    by = ("child", "age_group") if by_place else ("age_group",)
    df = Q.answer(_query("mart_morbidity", ("cases", "new_cases"), by, level, unit_id, months, f), scope)
    return _places(df, by_place)


def population_by_age(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY,
                      by_place: bool = True) -> pd.DataFrame:
    """place, age_group, population (the monthly average over the months)."""
    check(level, unit_id, scope)
    by = ("child", "age_group") if by_place else ("age_group",)
    df = Q.answer(_query("mart_population", ("population",), by, level, unit_id, months, f, icd_filter=False), scope)
    df["population"] = df["population"] / max(len(months), 1)
    return _places(df, by_place)


def _places(df: pd.DataFrame, by_place: bool) -> pd.DataFrame:
    if not by_place:
        df.insert(0, "place", 0)
        return df
    return df.rename(columns={"child_id": "place"}).drop(columns="child_name")


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
                        "w_used": g["w"].sum(), "asr_raw": g["wr"].sum(), "var": g["var"].sum()}).astype(float)
    out["crude"] = out["cases"] / out["population"] * annual
    # groups a small place has nobody in are left out of its standardisation; the weights renormalise
    out["asr"] = np.where(out["w_used"] > 0, out["asr_raw"] / out["w_used"] * annual, np.nan)
    se = np.sqrt(out["var"]) / out["w_used"].replace(0, np.nan) * annual
    out["asr_lo"] = (out["asr"] - 1.96 * se).clip(lower=0)
    out["asr_hi"] = out["asr"] + 1.96 * se
    out["new_crude"] = out["new_cases"] / out["population"] * annual
    return out.drop(columns=["asr_raw", "var"]).reset_index()


def place_names(level: str) -> dict:
    return U.names(CHILD[level] or level)


def compare(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY) -> tuple[pd.DataFrame, dict]:
    """Rates of the places under a unit (districts of the city, attached organisations of a district,
    the organisation itself) and of the city as the reference."""
    w = standard(months, f)
    if level == "mo":
        c = cases_by_age(level, unit_id, months, f, scope, by_place=False)
        p = population_by_age(level, unit_id, months, f, scope, by_place=False)
        out = rates(c, p, w, len(months))
        out["place"] = int(unit_id)
        p = p.assign(place=int(unit_id))
    else:
        p = population_by_age(level, unit_id, months, f, scope)
        out = rates(cases_by_age(level, unit_id, months, f, scope), p, w, len(months))
        if level == "district":
            kinds = U.organisations().set_index("mo_id")["kind"]
            out = out[out["place"].map(kinds).isin(ATTACHED_KINDS)]
    out["name"] = out["place"].map(place_names(level))
    city_cases = cases_by_age("region", None, months, f, CITY, by_place=False)
    city_pop = population_by_age("region", None, months, f, CITY, by_place=False)
    city = rates(city_cases, city_pop, w, len(months)).iloc[0]
    ref = {"crude": city["crude"], "asr": city["asr"], "new_crude": city["new_crude"], "cases": city["cases"]}
    # each place against the city's rate over the ages it has people of (a children's polyclinic against the
    # city's children, not against the whole city): the same standard weights, over the same age groups
    out["city_same_ages"] = out["place"].map(_city_over_ages(city_cases, city_pop, p, w, len(months)))
    out["vs_city"] = np.select([out["asr_lo"] > out["city_same_ages"], out["asr_hi"] < out["city_same_ages"]],
                               ["higher", "lower"], "same")
    return out.dropna(subset=["name"]).reset_index(drop=True), ref


def own_vs_city(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY) -> dict | None:
    """One unit's rates, the city's rate over the same ages and the verdict (None: nobody to count)."""
    c = cases_by_age(level, unit_id, months, f, scope, by_place=False)
    p = population_by_age(level, unit_id, months, f, scope, by_place=False)
    own = rates(c, p, standard(months, f), len(months))
    if own.empty:
        return None
    r = own.iloc[0].to_dict()
    city_cases = cases_by_age("region", None, months, f, CITY, by_place=False)
    city_pop = population_by_age("region", None, months, f, CITY, by_place=False)
    ref = _city_over_ages(city_cases, city_pop, p, standard(months, f), len(months)).get(0)
    r["city_same_ages"] = ref
    r["vs_city"] = "higher" if r["asr_lo"] > ref else ("lower" if r["asr_hi"] < ref else "same")
    return r


def _city_over_ages(city_cases: pd.DataFrame, city_pop: pd.DataFrame, pop: pd.DataFrame, weights: pd.Series,
                    n_months: int) -> pd.Series:
    """Per place: the city's directly standardised rate over the age groups the place has population in."""
    cj = city_pop.merge(city_cases, on=["place", "age_group"], how="left").fillna({"cases": 0})
    cj = cj[cj["population"] > 0]
    city_r = (cj.set_index("age_group")["cases"] / cj.set_index("age_group")["population"])
    have = pop[pop["population"] > 0][["place", "age_group"]].drop_duplicates()
    have["w"] = have["age_group"].map(weights).fillna(0.0)
    have["wr"] = have["w"] * have["age_group"].map(city_r).fillna(0.0)
    g = have.groupby("place")
    annual = PER * 12 / max(n_months, 1)
    return (g["wr"].sum() / g["w"].sum().replace(0, np.nan)) * annual


def by_code(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY) -> pd.DataFrame:
    """icd3, cases, new_cases for the unit and filter."""
    check(level, unit_id, scope)
    return Q.answer(_query("mart_morbidity", ("cases", "new_cases"), ("icd3",), level, unit_id, months, f), scope)


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


def monthly(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY) -> pd.DataFrame:
    """month, cases, new_cases, population for the unit."""
    check(level, unit_id, scope)
    c = Q.answer(_query("mart_morbidity", ("cases", "new_cases"), ("month",), level, unit_id, months, f), scope)
    pop = Q.answer(_query("mart_population", ("population",), ("month",), level, unit_id, months, f, icd_filter=False),
                   scope)
    out = pop.merge(c, on="month", how="left").fillna(0)
    out["month"] = pd.to_datetime(out["month"]).dt.date
    out["rate"] = np.where(out["population"] > 0, out["cases"] / out["population"] * PER * 12, np.nan)
    return out.sort_values("month").reset_index(drop=True)


def age_sex(level: str, unit_id, months: tuple, f: Filter, scope: Scope = CITY) -> pd.DataFrame:
    """age_group, sex, population, cases, rate (per 100,000 a year)."""
    check(level, unit_id, scope)
    c = Q.answer(_query("mart_morbidity", ("cases",), ("age_group", "sex"), level, unit_id, months, f), scope)
    pop = Q.answer(_query("mart_population", ("population",), ("age_group", "sex"), level, unit_id, months, f,
                          icd_filter=False), scope)
    pop["population"] = pop["population"] / max(len(months), 1)
    out = pop.merge(c, on=["age_group", "sex"], how="left").fillna({"cases": 0})
    out["rate"] = np.where(out["population"] > 0, out["cases"] / out["population"] * PER * 12 / max(len(months), 1), np.nan)
    return out.sort_values(["age_group", "sex"]).reset_index(drop=True)
