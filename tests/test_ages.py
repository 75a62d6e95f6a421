"""Calendar ages: one rule in Python (core.ages) and in SQL (marts), on both engines."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from core.ages import age_group5, age_years, age_years_series

D = dt.date
CASES = [  # birth, on, full years
    (D(2024, 8, 31), D(2026, 8, 30), 1), (D(2024, 8, 31), D(2026, 8, 31), 2),  # the second birthday itself
    (D(2024, 9, 1), D(2026, 8, 31), 1),
    (D(2020, 2, 29), D(2025, 2, 28), 4), (D(2020, 2, 29), D(2025, 3, 1), 5),  # a leap-day birth
    (D(1941, 6, 22), D(2026, 6, 21), 84), (D(1941, 6, 22), D(2026, 6, 22), 85),
    (D(2026, 1, 1), D(2026, 1, 1), 0),
]


@pytest.mark.parametrize("birth, on, years", CASES)
def test_full_years_by_birthdays(birth, on, years):
    assert age_years(birth, on) == years


def test_the_series_and_the_scalar_agree():
    b = pd.Series([c[0] for c in CASES])
    on = pd.Series([c[1] for c in CASES])
    assert age_years_series(b, on).tolist() == [c[2] for c in CASES]
    assert age_years_series(b, D(2026, 8, 31)).tolist() == [age_years(x, D(2026, 8, 31)) for x in b]
    assert age_group5(pd.Series([0, 4, 5, 84, 85, 101])).tolist() == [0, 0, 1, 16, 17, 17] and age_group5(37) == 7


def test_sql_ages_equal_the_python_ones(empty_db):
    from data_access.marts.sql import age_group
    from data_access.marts.sql import age_years as sql_age
    rows = [sa.select(sql_age(sa.literal(on, sa.Date), sa.literal(b, sa.Date)).label("years"),
                      age_group(sa.literal(on, sa.Date), sa.literal(b, sa.Date)).label("grp")) for b, on, _ in CASES]
    with empty_db.engine.connect() as c:
        got = [tuple(c.execute(q).one()) for q in rows]
    assert got == [(y, min(y // 5, 17)) for _, _, y in CASES]
