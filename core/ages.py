"""Calendar ages: full years by birthdays (not days ÷ 365.25), the one rule every age in the module follows.

A child born on 31 August is 2 years old from 31 August two years later; a person born on 29 February
turns a year older on 1 March in a non-leap year. The SQL counterpart is ``data_access.marts.sql.age_years``;
tests check both against ``age_years`` here.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd


def age_years(birth: dt.date, on: dt.date) -> int:
    """Full years on a date."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_years_series(birth: pd.Series, on) -> pd.Series:
    """Full years on a date (one date, or a date per row), vectorised."""
    b = pd.to_datetime(birth)
    o = pd.to_datetime(on) if isinstance(on, pd.Series) else pd.Timestamp(on)
    oy, om, od = (o.dt.year, o.dt.month, o.dt.day) if isinstance(o, pd.Series) else (o.year, o.month, o.day)
    before = (b.dt.month > om) | ((b.dt.month == om) & (b.dt.day > od))
    return (oy - b.dt.year - before.astype(int)).astype(int)


def age_group5(years) -> int | pd.Series:
    """The five-year group 0…17 (0 = 0–4, …, 17 = 85+) of full years."""
    if isinstance(years, pd.Series):
        return (years // 5).clip(upper=17).astype(int)
    return min(int(years) // 5, 17)
