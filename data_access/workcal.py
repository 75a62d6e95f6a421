"""The Russian production calendar: working days with public holidays and transfers.

Built from the maintained ``holidays`` library (holidays and substituted days off, and its
``weekend_workdays`` for Saturdays made working), never from a hand-written list.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
import numpy as np
import pandas as pd


@lru_cache(maxsize=64)
def _ru(years: tuple[int, ...]):
    return holidays.country_holidays("RU", years=list(years), language="ru")


def calendar_frame(start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per day from start to end inclusive: is_working, wd_index, holiday name."""
    days = pd.date_range(start, end, freq="D")
    years = tuple(range(start.year, end.year + 1))
    ru = _ru(years)
    workdays = set(getattr(ru, "weekend_workdays", set()))
    is_working = []
    names = []
    for d in days.date:
        name = ru.get(d)
        working = (d.weekday() < 5 and name is None) or d in workdays
        is_working.append(working)
        names.append(name if name else ("Рабочая суббота (перенос)" if d in workdays else None))
    is_working = np.array(is_working)
    # wd_index counts working days up to and including the day: the difference of two
    # indexes is the number of working days between two dates, in SQL or in numpy.
    wd_index = np.cumsum(is_working).astype(np.int32)
    return pd.DataFrame({"day": days.date, "is_working": is_working, "wd_index": wd_index, "holiday": names})


class WorkCalendar:
    """Working-day arithmetic over a fixed range of dates."""

    def __init__(self, start: dt.date, end: dt.date):
        self.frame = calendar_frame(start, end)
        self.start = start
        self.end = end
        self._working = self.frame["is_working"].to_numpy()
        self._index = self.frame["wd_index"].to_numpy()
        self._workdays = np.flatnonzero(self._working)  # day offsets of working days
        dow = (np.arange(len(self.frame)) + start.weekday()) % 7
        # Polyclinics also receive on Saturdays that are not public holidays (duty doctors).
        self._clinic = self._working | ((dow == 5) & self.frame["holiday"].isna().to_numpy())
        self._clinic_days = np.flatnonzero(self._clinic)

    def offset(self, day) -> np.ndarray:
        d = np.asarray(day, dtype="datetime64[D]")
        return (d - np.datetime64(self.start, "D")).astype(np.int64)

    def is_working(self, day) -> np.ndarray:
        return self._working[self.offset(day)]

    def working_days_between(self, a, b) -> np.ndarray:
        """Working days after a up to and including b (0 when b is a or the next non-working days)."""
        return self._index[self.offset(b)] - self._index[self.offset(a)]

    def add_working_days(self, day, n) -> np.ndarray:
        """The date n working days after day (n = 0: day itself if working, else the next working day)."""
        off = self.offset(day)
        n = np.asarray(n, dtype=np.int64)
        # index of the first working day >= day
        first = np.searchsorted(self._workdays, off)
        pos = np.where(n > 0, np.searchsorted(self._workdays, off, side="right") + n - 1, first)
        pos = np.clip(pos, 0, len(self._workdays) - 1)
        return np.datetime64(self.start, "D") + self._workdays[pos]

    def next_working(self, day) -> np.ndarray:
        return self.add_working_days(day, 0)

    def prev_working(self, day) -> np.ndarray:
        """The last working day on or before ``day``."""
        off = self.offset(day)
        pos = np.searchsorted(self._workdays, off, side="right") - 1
        return np.datetime64(self.start, "D") + self._workdays[np.clip(pos, 0, len(self._workdays) - 1)]

    def is_clinic_day(self, day) -> np.ndarray:
        """Working days and non-holiday Saturdays, when polyclinics receive patients."""
        return self._clinic[self.offset(day)]

    def next_clinic_day(self, day, after: bool = False) -> np.ndarray:
        """The first clinic day on or after ``day`` (strictly after when ``after``)."""
        off = self.offset(day)
        pos = np.searchsorted(self._clinic_days, off, side="right" if after else "left")
        return np.datetime64(self.start, "D") + self._clinic_days[np.clip(pos, 0, len(self._clinic_days) - 1)]
