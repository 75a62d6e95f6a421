"""Demo mode: a few control tasks with dates in the history, so that a newcomer sees the whole loop."""
from __future__ import annotations

import datetime as dt

from core.periods import Period
from data_access import tasks as T
from data_access import users as user_store


def ensure_demo_tasks(app) -> int:
    """Create the demo tasks once (when there are no tasks); returns how many were created."""
    from api.tasks import data_link
    from metrics import evaluate as E
    from security import users
    db = app.extensions["iam"]["db"]
    with app.app_context():
        if T.count(db):
            return 0
        kolp = user_store.demo_places(db)[0]
        chair, head = users.by_login(db, "chair"), users.by_login(db, "kolpino")
        chief = users.by_login(db, "glavvrach")
        span = E.data_span()
        if not (chair and head and chief and span and kolp):
            return 0
        chair, head, chief = chair[0], head[0], chief[0]
        last = span[1]

        def month(k):  # k months before the last one
            i = last.year * 12 + last.month - 1 - k
            return dt.date(i // 12, i % 12 + 1, 1)

        def make(by, code, level, unit, per_month, created, due, descr, assignee, moves=()):
            per = Period("month", per_month, per_month)
            v = E.unit_value(code, level, unit, per)
            t = T.create(db, by, code=code, level=level, unit_id=unit, period=per.key, assignee=assignee, due_date=due,
                         description=descr, value=v["value"], target=v["target"],
                         data_link=data_link(code, level, unit, per.key), today=created.date(), now=created)
            for i, (who, status) in enumerate(moves):
                t = T.update(db, who, t["task_id"], t["version"], {"status": status},
                             today=created.date(), now=created + dt.timedelta(days=7 * (i + 1)))
            return t

        start = month(3)
        made = [
            make(chair, "emk_coverage", "district", kolp, start, dt.datetime.combine(start + dt.timedelta(days=40), dt.time(10)),
                 month(1) + dt.timedelta(days=20), "Выяснить, почему поликлиники района не регистрируют эпикризы, "
                 "и восстановить передачу в РЭМД.", "Руководитель Колпинского района", [(head, "in_progress")]),
            make(head, "access_primary_24h", "mo", chief.mo_id, month(2),
                 dt.datetime.combine(month(1) + dt.timedelta(days=5), dt.time(11)), last + dt.timedelta(days=25),
                 "Открыть дополнительные приёмы участковых терапевтов на ближайшие сутки.", "Главный врач",
                 [(chief, "in_progress"), (chief, "review")]),
        ]
    return len(made)
