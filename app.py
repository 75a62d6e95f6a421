"""ИАМ — the information-analytics module of the regional health system.

``create_app()`` builds the Flask server, binds the database, cache and login, and mounts the
Dash application on it; ``python app.py`` also prepares demo data on an empty embedded database.
"""
from __future__ import annotations

import sys
from pathlib import Path

import dash
from flask import Flask

from config import Config
from data_access import cache as cache_mod
from data_access.db import Database, DatabaseError
from data_access.marts import data_version
from data_access.migrations import SchemaOutdated
from metrics.model import RegistryError
from metrics.targets import targets_version


def create_app(config: Config | None = None) -> Flask:
    """Application factory: Flask server first, extensions, then Dash on top of it."""
    cfg = config or Config()
    from metrics import evaluate
    registry = evaluate.reload_registry(cfg.indicators_file)  # RegistryError names a broken declaration
    from metrics import contract, dataquality
    contract.validate_shipped(registry)  # so does SchemeError: a scheme of the effective contract
    dataquality.check_rules(registry)  # …and a data-quality rule over a measure the registry lacks

    def indicator_name(code: str) -> str | None:  # storage of control tasks names them by indicator
        return registry[code].short if code in registry else None
    server = Flask(__name__, instance_path=str(cfg.instance_dir.resolve()))
    server.config.update(
        SECRET_KEY=cfg.resolve_secret(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        TESTING=cfg.testing,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,  # a request body larger than any form or callback the app sends
    )
    if cfg.trusted_proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=cfg.trusted_proxies, x_proto=cfg.trusted_proxies)
    server.json.ensure_ascii = False  # Russian messages as they are, not \u escapes
    db = Database(cfg.database_url, duckdb_memory_limit=cfg.duckdb_memory_limit, duckdb_threads=cfg.duckdb_threads)
    # the cache key carries the mart build version and the target version: a rebuild or a changed
    # target makes every cached value computed before unreachable
    server.extensions["iam"] = {"config": cfg, "db": db, "registry": registry, "indicator_name": indicator_name,
                                "cache": cache_mod.Cache(cfg.cache_dir, cfg.cache_timeout, db,
                                                         versions=[data_version, targets_version,
                                                                   lambda _db: registry.version])}

    _check_schema(db)
    from services.refresh import Refresher
    server.extensions["iam"]["refresher"] = Refresher(db, server.extensions["iam"]["cache"])
    import cli
    cli.register(server)
    from security import web
    web.init_app(server)
    import reports  # noqa: F401  registers the table builders shared by pages and exports
    from api import blueprint as api_blueprint
    from api.exports import exports
    from api.health import health
    server.register_blueprint(api_blueprint)
    server.register_blueprint(exports)
    server.register_blueprint(health)
    from api import consistent_reads
    consistent_reads(server)

    dash_app = dash.Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder="pages",
        # Bootstrap and its icons are served from assets/ (no CDN: the app works offline).
        suppress_callback_exceptions=True,
        title="ИАМ — здравоохранение Санкт-Петербурга",
        update_title=None,
        compress=True,  # flask-compress: zstd/brotli/gzip for bundles, assets and callback responses
    )
    _partial_plotly(server)
    from components import period, view
    from components.shell import bind_frame_callbacks, instrument_pages, shell
    dash_app.layout = shell
    bind_frame_callbacks(dash_app)
    instrument_pages()  # each page ends with the readiness marker of its URL
    period.register_callbacks(dash_app)
    view.register_callbacks(dash_app)  # the one drill-down callback of every page
    server.after_request(_cache_fingerprinted_assets)
    server.dash_app = dash_app
    return server


def _check_schema(db: Database) -> None:
    """Refuse to serve on application tables of another revision (``SchemaOutdated``); install an empty database.

    Not inside a CLI command: ``flask --app app db upgrade`` builds this app to migrate such a database, and
    the other commands check the revision themselves. An unreachable database is reported where it is used.
    """
    import click

    from data_access import app_schema
    if click.get_current_context(silent=True) is not None:
        return
    try:
        app_schema.ensure(db)
    except DatabaseError:
        pass
    except SchemaOutdated:
        db.dispose()  # release the database (DuckDB: its file lock) for the operator's `db upgrade`
        raise


PLOTLY_BUNDLE = Path(__file__).resolve().parent / "components" / "vendor" / "plotly-cartesian-4.1.1.min.js"


def _partial_plotly(server: Flask) -> None:
    """Serve plotly.js's cartesian bundle (0.5 MB compressed) where dcc.Graph loads the full one (1.4 MB) from.

    dcc.Graph fetches plotly.js itself, on the first chart of a visit, from a fixed address; this exact
    rule outranks Dash's generic component-suite rule. The charts use only bar, scatter, heatmap, box and
    pie traces, all in the cartesian bundle (tests/test_serving.py checks the list). Pages without charts
    (the home page's sparklines are images) load no plotly.js at all.
    """
    from flask import send_file

    def plotly_bundle():
        return send_file(PLOTLY_BUNDLE, mimetype="text/javascript", max_age=86400, conditional=True, etag=True)
    server.add_url_rule("/_dash-component-suites/plotly/package_data/plotly.min.js", "plotly_bundle", plotly_bundle)


def _cache_fingerprinted_assets(response):
    """Assets are linked as ``/assets/x.css?m=<mtime>``: a changed file gets a new URL, so the browser may keep one."""
    from flask import request
    if request.path.startswith("/assets/") and "m" in request.args and response.status_code == 200:
        response.cache_control.public = True
        response.cache_control.max_age = 31536000
        response.cache_control.immutable = True
    return response


def main() -> int:
    """Run the server; on an empty embedded database first generate demo data and marts."""
    cfg = Config()
    if cfg.refresh_cron:  # a malformed schedule stops the start with its message, not a worker later
        from apscheduler.triggers.cron import CronTrigger
        try:
            CronTrigger.from_crontab(cfg.refresh_cron)
        except ValueError:
            print(f"Ошибка: REFRESH_CRON «{cfg.refresh_cron}» — не строка crontab (пример: «0 3 * * *»)", file=sys.stderr)
            return 1
    try:
        server = create_app(cfg)
        db: Database = server.extensions["iam"]["db"]
        db.check()
        if cfg.demo:
            import cli
            cli.prepare_demo(server)
    except (DatabaseError, RegistryError, SchemaOutdated) as exc:
        print(f"Ошибка: {exc}", file=sys.stderr)
        return 1
    print(f"ИАМ: http://{cfg.host}:{cfg.port}/", flush=True)
    if cfg.debug:  # Werkzeug's development server, with Dash's dev tools
        server.dash_app.run(host=cfg.host, port=cfg.port, debug=True)
        return 0
    db.dispose()  # each gunicorn worker opens the database itself (DuckDB: one process at a time)
    from cli.serve import serve
    serve(cfg, create_app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
