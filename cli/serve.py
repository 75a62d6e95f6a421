"""Serving through gunicorn: workers and threads sized from the CPU count, overridable by environment.

``python app.py`` (and ``bin/run``) prepares the database, releases it and starts gunicorn here;
each worker builds its own application with ``create_app()``, so no connection crosses a fork.
"""
from __future__ import annotations

import os

from gunicorn.app.base import BaseApplication

from config import Config


def sizing(cfg: Config, cpus: int | None = None) -> tuple[int, int, str | None]:
    """Workers, threads and a note for the operator, from the configuration and the CPU count.

    The embedded DuckDB file may be open in one process at a time, so it gets one worker with
    threads; PostgreSQL gets a worker per CPU (at least two) with four threads each.
    """
    cpus = cpus or os.cpu_count() or 1
    duck = cfg.database_url.startswith("duckdb")
    workers = cfg.web_workers if cfg.web_workers > 0 else (1 if duck else max(2, cpus))
    threads = cfg.web_threads if cfg.web_threads > 0 else (max(4, 2 * cpus) if duck else 4)
    note = None
    if duck and workers > 1:
        note = (f"WEB_WORKERS={workers} не подходит для встроенной DuckDB: файл базы открывает один процесс. "
                "Запускаю один процесс; для нескольких используйте PostgreSQL.")
        workers = 1
    return workers, threads, note


class Server(BaseApplication):
    """gunicorn's custom application: options from the configuration, the app from the factory."""

    def __init__(self, cfg: Config, factory):
        self.cfg_iam = cfg
        self.factory = factory
        super().__init__()

    def load_config(self):
        workers, threads, note = sizing(self.cfg_iam)
        if note:
            print(note, flush=True)
        options = {
            "bind": f"{self.cfg_iam.host}:{self.cfg_iam.port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": self.cfg_iam.web_timeout,
            "graceful_timeout": 30,
            "keepalive": 5,
            "accesslog": os.environ.get("WEB_ACCESS_LOG") or None,
            "errorlog": "-",
            "proc_name": "iam",
            "control_socket_disable": True,  # gunicornc is not used; two instances would share ~/.gunicorn
        }
        for key, value in options.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self):
        app = self.factory(self.cfg_iam)
        if self.cfg_iam.warm_cache:
            from .warm import start
            start(app)  # the default views computed in the background, again after every mart rebuild
        if self.cfg_iam.refresh_cron:
            from services.refresh import start_schedule
            # each worker keeps the schedule; the refresh's lock lets one of them run it
            start_schedule(app.extensions["iam"]["refresher"], self.cfg_iam.refresh_cron, self.cfg_iam.refresh_months)
        return app


def serve(cfg: Config, factory) -> None:
    """Run gunicorn in the foreground until it is stopped (SIGTERM/SIGINT)."""
    Server(cfg, factory).run()
