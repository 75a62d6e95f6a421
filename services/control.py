"""The result of a control task: the indicator's value at the due date against the target."""
from __future__ import annotations

import datetime as dt

from core.periods import Period
from data_access.scope import CITY
from metrics import evaluate as E


def outcome(task: dict, today: dt.date | None = None) -> dict | None:
    """After the due date: the value for the month of the due date, its target and whether it was reached.

    None while the task is not yet due; {"month": …, "value": None} when that month has no data yet.
    """
    today = today or dt.date.today()
    due = task["due_date"]
    if due >= today:
        return None
    month = due.replace(day=1)
    res = {"month": month, "value": None, "target": None, "status": "none", "achieved": None}
    if month not in set(E.data_months()):
        return res
    v = E.unit_value(task["code"], task["level"], task["unit_id"], Period("month", month, month), CITY)
    res.update(value=v["value"], target=v["target"], status=v["status"],
               achieved=None if v["value"] is None else v["status"] == "good")
    return res
