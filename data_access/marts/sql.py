"""SQL helpers shared by the mart selects and the build: months, flags, age groups, the build window."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Date, DateTime, Integer, and_, case, func, select

from data_access import schema as s

DAY = dt.timedelta(days=1)


def month_of(col):
    """First day of the month of a date or timestamp column (same SQL on DuckDB and PostgreSQL)."""
    return sa.cast(func.date_trunc(sa.literal_column("'month'"), sa.cast(col, DateTime)), Date)


def as_date(col):
    return sa.cast(col, Date)


def flag(cond):
    return case((cond, 1), else_=0)


def total(cond):
    return func.sum(flag(cond))


def age_years(on, birth):
    """Full years at a date by calendar birthdays (``core.ages.age_years`` in SQL, the same on both engines)."""
    def part(what, col):
        return sa.cast(sa.extract(what, col), Integer)
    before = case((sa.or_(part("month", on) < part("month", birth),
                          and_(part("month", on) == part("month", birth), part("day", on) < part("day", birth))), 1),
                  else_=0)
    return part("year", on) - part("year", birth) - before


def age_group(on, birth):
    """Five-year age group (0…17) at a date by calendar age; 85+ is 17."""
    return func.least(sa.cast(func.floor(age_years(on, birth) / 5), Integer), 17)


@dataclass
class Window:
    """The months a build covers: [first, last] inclusive; one month for an incremental build."""
    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.date:
        return self.first

    @property
    def stop(self) -> dt.date:  # exclusive
        return (self.last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)

    def on(self, col, ts=False):
        lo, hi = (dt.datetime.combine(self.start, dt.time()), dt.datetime.combine(self.stop, dt.time())) if ts \
            else (self.start, self.stop)
        return and_(col >= lo, col < hi)


def months_subquery(w: Window):
    """One row per month of the window (from the calendar table), as a derived table ``months``."""
    cal = s.calendar
    m = month_of(cal.c.day).label("month")
    return select(m).where(w.on(cal.c.day)).group_by(m).subquery("months")


def month_end_of(mcol):
    """Last day of the month of a month column: first day of next month minus one day."""
    return sa.cast(func.date_trunc(sa.literal_column("'month'"), sa.cast(mcol, DateTime) + dt.timedelta(days=32)), Date) - 1
