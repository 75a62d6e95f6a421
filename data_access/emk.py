"""Completeness of data transfer to the regional EHR: the document reference and day-level checks.

The view walks the drill path ``units.PATHS["emk"]``: the city → districts → organisations →
departments → doctors. Its mart figures (coverage, funnel, timeliness, rejections, daily flow) are
read through the semantic layer (``metrics/emk.py``); here are the names of the document steps and
the working-day checks that find «silent» organisations.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa

from . import schema as s
from . import units as U
from .cache import cached
from .context import get_db

PATH = "emk"
CHILD = {lv: U.child_level(lv, PATH) for lv in U.PATHS[PATH]}
FLOW_STEPS = [("created", "Создано"), ("signed", "Подписано"), ("sent", "Отправлено"), ("registered", "Зарегистрировано")]
REJECTS = [("rejected_regional", "Отказ регионального ФЛК"), ("rejected_federal", "Отказ федерального ФЛК"),
           ("transmission_error", "Ошибка передачи"), ("awaiting", "Ответа нет")]
BUCKETS = [("reg_lt1h", "до 1 часа"), ("reg_lt24h", "1–24 часа"), ("reg_lt3d", "1–3 дня"), ("reg_lt7d", "3–7 дней"),
           ("reg_later", "позже 7 дней")]


@cached(memory=True)
def working_days(first: dt.date, last: dt.date) -> list[dt.date]:
    c = s.calendar
    df = get_db().read_df(sa.select(c.c.day).where(c.c.day >= first, c.c.day <= last, c.c.is_working.is_(True))
                          .order_by(c.c.day))
    return [x if isinstance(x, dt.date) else x.date() for x in df["day"]]


def silent_periods(days: pd.DataFrame, workdays: list[dt.date], min_days: int = 3) -> pd.DataFrame:
    """Runs of at least ``min_days`` consecutive working days on which a unit sent no documents
    although it created some during the run — for units that normally create documents every
    working day (median ≥ 1), so that a small clinic's quiet day is not an alarm.

    days: unit_id, name, day, created, sent. Returns unit_id, name, first, last, working_days, created and
    severity (created × working_days), the most severe first.
    """
    cols = ["unit_id", "name", "first", "last", "working_days", "created"]
    if days.empty or not workdays:
        return pd.DataFrame(columns=cols + ["severity"])
    # one matrix units × working days (a pandas loop per unit took 1.7 s for the city's ~700 organisations)
    names = days.drop_duplicates("unit_id").set_index("unit_id")["name"]
    wide = days.pivot_table(index="unit_id", columns="day", values=["created", "sent"], aggfunc="sum", fill_value=0)
    created = wide["created"].reindex(index=names.index, columns=workdays, fill_value=0).to_numpy()
    sent = wide["sent"].reindex(index=names.index, columns=workdays, fill_value=0).to_numpy()
    rows = []
    for i in np.flatnonzero(np.median(created, axis=1) >= 1):
        edges = np.diff(np.concatenate(([0], (sent[i] == 0).astype(np.int8), [0])))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):  # runs of days with nothing sent
            made = int(created[i, a:b].sum())
            if b - a >= min_days and made > 0:
                uid = names.index[i]
                rows.append((uid, names[uid], workdays[a], workdays[b - 1], int(b - a), made))
    out = pd.DataFrame(rows, columns=cols)
    # Severity: documents left unsent × working days silent — a polyclinic silent six days with 162
    # documents comes before a clinic that held one document for three days; the name breaks ties,
    # so that the order does not depend on the order the rows were read in.
    out["severity"] = out["created"] * out["working_days"]
    return out.sort_values(["severity", "last", "name"], ascending=[False, False, True],
                           kind="stable").reset_index(drop=True)


def share(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
        return np.where(den > 0, num / den * 100, np.nan)
