"""Reporting periods: a month, a quarter, a year or year-to-date, with their comparisons."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .fmt import MONTHS, MONTHS_GEN

KINDS = {"month": "месяц", "quarter": "квартал", "year": "год", "ytd": "с начала года"}


class PeriodError(ValueError):
    """A period the user typed that cannot be understood."""


def month_end(d: dt.date) -> dt.date:
    """The last day of a date's month."""
    return month_add(d.replace(day=1), 1) - dt.timedelta(days=1)


def month_add(d: dt.date, k: int) -> dt.date:
    i = d.year * 12 + d.month - 1 + k
    return dt.date(i // 12, i % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str
    first: dt.date  # first month (first day)
    last: dt.date   # last month (first day), inclusive

    @property
    def months(self) -> list[dt.date]:
        n = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month
        return [month_add(self.first, k) for k in range(n + 1)]

    @property
    def key(self) -> str:
        f = self.first
        if self.kind == "month":
            return f"{f:%Y-%m}"
        if self.kind == "quarter":
            return f"{f.year}-Q{(f.month - 1) // 3 + 1}"
        if self.kind == "year":
            return f"{f.year}"
        return f"{self.last:%Y-%m}-YTD"

    @property
    def label(self) -> str:
        f, last = self.first, self.last
        if self.kind == "month":
            return f"{MONTHS[f.month - 1]} {f.year}"
        if self.kind == "quarter":
            return f"{(f.month - 1) // 3 + 1} квартал {f.year}"
        if self.kind == "year":
            return f"{f.year} год"
        return f"январь–{MONTHS[last.month - 1]} {last.year}" if last.month > 1 else f"январь {last.year}"

    def shift_years(self, k: int) -> "Period":
        return Period(self.kind, month_add(self.first, 12 * k), month_add(self.last, 12 * k))

    def previous(self) -> "Period":
        """The period just before: previous month, quarter, year; year-to-date of the previous month."""
        if self.kind == "month":
            return Period("month", month_add(self.first, -1), month_add(self.first, -1))
        if self.kind == "quarter":
            return Period("quarter", month_add(self.first, -3), month_add(self.first, -1))
        if self.kind == "year":
            return self.shift_years(-1)
        prev_last = month_add(self.last, -1)
        return Period("ytd", dt.date(prev_last.year, 1, 1), prev_last)

    def last_year(self) -> "Period":
        return self.shift_years(-1)

    def clip(self, last_month: dt.date) -> "Period":
        """The part of the period for which data exist (a year still running ends at the last month)."""
        return self if self.last <= last_month else Period(self.kind, self.first, max(self.first, last_month))

    def contains(self, d: dt.date) -> bool:
        return self.first <= d <= self.last


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-[QqКк]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_YTD = re.compile(r"^(\d{4})-(\d{1,2})-(?:YTD|ytd)$")


def months_between(first: dt.date, last: dt.date) -> tuple[dt.date, ...]:
    """The first days of the months from ``first``'s month to ``last``'s, inclusive."""
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = month_add(m, 1)
    return tuple(out)


def parse_period(text: str | None) -> Period:
    """'2026-10' → month, '2026-Q3' → quarter, '2026' → year, '2026-10-YTD' → January–October 2026."""
    t = (text or "").strip()
    for rx, kind in ((_MONTH, "month"), (_QUARTER, "quarter"), (_YEAR, "year"), (_YTD, "ytd")):
        m = rx.match(t)
        if not m:
            continue
        y = int(m.group(1))
        if not 2000 <= y <= 2100:
            break
        if kind == "month":
            mm = int(m.group(2))
            if 1 <= mm <= 12:
                return Period("month", dt.date(y, mm, 1), dt.date(y, mm, 1))
        elif kind == "quarter":
            q = int(m.group(2))
            return Period("quarter", dt.date(y, 3 * q - 2, 1), dt.date(y, 3 * q, 1))
        elif kind == "year":
            return Period("year", dt.date(y, 1, 1), dt.date(y, 12, 1))
        else:
            mm = int(m.group(2))
            if 1 <= mm <= 12:
                return Period("ytd", dt.date(y, 1, 1), dt.date(y, mm, 1))
        break
    raise PeriodError(f"Период «{text}» не распознан: укажите месяц 2026-10, квартал 2026-Q3, год 2026 "
                      f"или с начала года 2026-10-YTD")


def period_of_kind(kind: str, last_month: dt.date) -> Period:
    """The latest complete period of a kind given the last month with data."""
    if kind == "month":
        return Period("month", last_month, last_month)
    if kind == "quarter":
        q_end = month_add(dt.date(last_month.year, ((last_month.month - 1) // 3) * 3 + 3, 1), 0)
        if q_end > last_month:
            q_end = month_add(q_end, -3)
        return Period("quarter", month_add(q_end, -2), q_end)
    if kind == "year":
        y = last_month.year if last_month.month == 12 else last_month.year - 1
        return Period("year", dt.date(y, 1, 1), dt.date(y, 12, 1))
    return Period("ytd", dt.date(last_month.year, 1, 1), last_month)


def choices(kind: str, first_month: dt.date, last_month: dt.date) -> list[Period]:
    """Complete periods of a kind within the data, newest first (year-to-date: each month)."""
    out = []
    p = period_of_kind(kind, last_month)
    while p.first >= first_month:
        out.append(p)
        p = p.previous() if kind != "ytd" else Period("ytd", dt.date(month_add(p.last, -1).year, 1, 1), month_add(p.last, -1))
        if kind == "ytd" and p.last < first_month:
            break
    return out


def month_label_gen(d: dt.date) -> str:
    return f"{d.day} {MONTHS_GEN[d.month - 1]} {d.year}"


def words(key: str | None) -> str:
    """A stored period key in words: «2026-10» → «октябрь 2026», «2026-Q3» → «3 квартал 2026» (unknown: as is)."""
    try:
        return parse_period(key).label
    except PeriodError:
        return key or ""
