"""Russian formats: numbers with no-break-space groups and a decimal comma, signs, plural forms, month names."""
from __future__ import annotations

import datetime as dt

import pytest

from core import fmt

S = "\u00a0"


@pytest.mark.parametrize("value, decimals, sign, text", [
    (12345.6, 1, False, f"12{S}345,6"), (-12345.6, 1, False, f"−12{S}345,6"), (1234567, 0, False, f"1{S}234{S}567"),
    (2.25, 1, True, "+2,2"), (-3, 0, True, "−3"),
    # a value that rounds to zero carries no sign
    (-0.04, 1, True, "0,0"), (0.04, 1, True, "0,0"), (-0.4, 0, False, "0"),
    (None, 1, False, "—"), (float("nan"), 1, False, "—"),
])
def test_numbers(value, decimals, sign, text):
    assert fmt.number(value, decimals, sign) == text


def test_percent():
    assert fmt.percent(95.04) == f"95,0{S}%" and fmt.percent(None) == "—"


@pytest.mark.parametrize("n, form", [(1, "показатель"), (2, "показателя"), (5, "показателей"), (11, "показателей"),
                                     (21, "показатель"), (24, "показателя"), (112, "показателей"), (0, "показателей"),
                                     (1.5, "показателя")])
def test_plural_forms_follow_the_cldr_rules(n, form):
    assert fmt.plural(n, "показатель", "показателя", "показателей") == form


def test_month_names_and_dates():
    assert fmt.month_name(dt.date(2026, 10, 1)) == "октябрь 2026"
    assert fmt.month_short(dt.date(2026, 8, 1)) == "авг 2026"
    assert fmt.date(dt.date(2026, 10, 1)) == "01.10.2026"


def test_mirrored_axis_labels_are_positive_and_axes_never_abbreviate():
    from components import charts

    ticks = charts.symmetric_ticks(1234)
    assert ticks["tickvals"] == [-1500, -1000, -500, 0, 500, 1000, 1500]
    assert ticks["ticktext"] == [f"1{S}500", f"1{S}000", "500", "0", "500", f"1{S}000", f"1{S}500"]
    layout = charts._layout()
    assert layout["xaxis"]["exponentformat"] == layout["yaxis"]["exponentformat"] == "none"  # never «12k»


def test_trend_months_fit_without_rotation():
    import datetime as dt

    from components import charts
    from core.periods import month_add
    months = [month_add(dt.date(2024, 10, 1), k) for k in range(24)]  # October 2024 … September 2026
    t = charts.month_ticks(months)
    assert t["tickangle"] == 0 and len(t["tickvals"]) <= 8
    assert t["ticktext"][0] == "окт<br>2024"
    years = [x for x in t["ticktext"] if "<br>" in x]
    assert [y.split("<br>")[1] for y in years] == ["2024", "2025", "2026"]  # each year named once
