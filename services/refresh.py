"""Refreshing the marts while the application serves: on demand (admin page, API) or on a schedule.

One refresh at a time per database: an in-process lock, and on PostgreSQL an advisory lock across the
workers. The months are rebuilt in one transaction (``marts.refresh_months``), so a request sees either the
old or the new numbers; the cache's data version is re-read at once after the commit. Every run is written
to the refresh log (``data_refresh``) with its duration and outcome, also when it fails.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

from data_access import refresh_log
from data_access.cache import Cache
from data_access.db import Database
from data_access.marts import refresh_months
from data_access.marts.build import data_months

log = logging.getLogger("iam.refresh")


class RefreshBusy(RuntimeError):
    """Another refresh of this database is under way."""


class RefreshError(ValueError):
    """Months that cannot be refreshed (the message is Russian)."""


def last_months(db: Database, n: int) -> tuple[dt.date, dt.date]:
    """The last ``n`` months of the data (the newest month with visits and the n−1 before it)."""
    span = data_months(db)
    if span is None:
        raise RefreshError("В базе нет первичных данных")
    if n < 1:
        raise RefreshError("Число месяцев должно быть не меньше 1")
    last = span[1]
    first = last
    for _ in range(n - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return max(first, span[0]), last


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = (m + dt.timedelta(days=32)).replace(day=1)
    return out


class Refresher:
    """Runs refreshes of one database for one app (created by ``create_app``)."""

    def __init__(self, db: Database, cache: Cache):
        self.db, self.cache = db, cache
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def _exclusively(self, kind: str, months: list[dt.date] | None, by: str | None, work) -> dict:
        """Run ``work(rec)`` as the only refresh of this database, recorded in the refresh log."""
        if not self._lock.acquire(blocking=False):
            raise RefreshBusy("Обновление данных уже идёт: дождитесь его окончания")
        try:
            with refresh_log.exclusive(self.db) as mine:
                if not mine:
                    raise RefreshBusy("Обновление данных уже идёт в другом процессе")
                with refresh_log.recording(self.db, kind, months, by) as rec:
                    work(rec)
            self.cache.touch()  # this process's requests switch to the new numbers at once
            return {"id": rec["id"], "rows": rec.get("rows")}
        finally:
            self._lock.release()

    def run(self, first: dt.date, last: dt.date, *, kind: str = "build-marts", by: str | None = None) -> dict:
        """Refresh the marts of the months first…last now; returns {"id", "rows"}. RefreshBusy when one runs."""
        def work(rec):
            try:
                rec["rows"] = sum(refresh_months(self.db, first, last).values())
            except ValueError as exc:
                raise RefreshError(str(exc)) from exc
        return self._exclusively(kind, _months(first, last), by, work)

    def run_import(self, directory: Path, month: dt.date | None = None, *, by: str | None = None) -> dict:
        """Validate and load a directory of contract files, then rebuild its months' marts (``importer.load``).

        Refused files (``ImportRefused``) change nothing; the report is kept in the refresh log's message.
        """
        from data_access import importer

        def work(rec):
            summary = importer.load(self.db, directory, month)
            rec["rows"] = sum(summary.rows.values())
            rec["message"] = f"{directory.name}: месяцы " + (", ".join(f"{m:%m.%Y}" for m in summary.months) or "—")
        return self._exclusively("import-data", [month] if month else None, by, work)

    def start(self, first: dt.date, last: dt.date, *, kind: str = "build-marts", by: str | None = None
              ) -> threading.Thread:
        """Refresh in a background thread (a request does not wait); RefreshBusy when one is under way."""
        return self._background(lambda: self.run(first, last, kind=kind, by=by))

    def start_import(self, directory: Path, month: dt.date | None = None, *, by: str | None = None
                     ) -> threading.Thread:
        return self._background(lambda: self.run_import(directory, month, by=by))

    def _background(self, job) -> threading.Thread:
        if self.busy:
            raise RefreshBusy("Обновление данных уже идёт: дождитесь его окончания")

        def work():
            try:
                job()
            except RefreshBusy:
                pass
            except Exception:  # recorded in the refresh log; a background thread has nobody else to tell
                log.exception("refresh failed")
        t = threading.Thread(target=work, name="iam-refresh", daemon=True)
        t.start()
        return t


def start_schedule(refresher: Refresher, cron: str, months: int):
    """A background scheduler refreshing the last ``months`` months by a crontab line; None when ``cron`` is empty.

    Raises ValueError (Russian) for a malformed line, at start-up.
    """
    if not cron:
        return None
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    try:
        trigger = CronTrigger.from_crontab(cron)
    except ValueError as exc:
        raise ValueError(f"REFRESH_CRON «{cron}» — не строка crontab (пример: «0 3 * * *»): {exc}") from exc

    def job():
        try:
            first, last = last_months(refresher.db, months)
            refresher.run(first, last, kind="scheduled", by="schedule")
        except RefreshBusy:
            pass  # another worker or an operator is refreshing
        except Exception:
            log.exception("scheduled refresh failed")

    sched = BackgroundScheduler(daemon=True)
    # coalesce: a night missed while the server was down runs once, not once per missed night
    sched.add_job(job, trigger, id="refresh", coalesce=True, max_instances=1, misfire_grace_time=3600)
    sched.start()
    return sched
