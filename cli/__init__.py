"""Command-line interface on the Flask app: ``flask --app app <command>``."""
from __future__ import annotations

import datetime as dt
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from data_access.db import Database, DatabaseError


class CliError(click.ClickException):
    """An error the operator can act on, printed in Russian without a traceback."""

    def show(self, file=None):
        click.echo(f"Ошибка: {self.format_message()}", err=True)


def _n(x: int) -> str:
    """12345 → «12 345»."""
    return f"{x:,}".replace(",", " ")


def _db() -> Database:
    """The database, reachable and with the application's tables at this release's revision."""
    from data_access import app_schema
    from data_access.migrations import SchemaOutdated
    db: Database = current_app.extensions["iam"]["db"]
    try:
        db.check()
        app_schema.ensure(db)
    except (DatabaseError, SchemaOutdated) as exc:
        raise CliError(str(exc)) from exc
    return db


class Bar:
    """A progress callback drawing a click progress bar with the current step's label."""

    def __init__(self, title: str):
        self.title = title
        self.bar = None

    def __call__(self, label: str, i: int, n: int):
        if self.bar is None:
            self.bar = click.progressbar(length=n, label=self.title, show_pos=True, file=sys.stderr,
                                         item_show_func=lambda _: label)
            self.bar.__enter__()
        self.bar.item_show_func = lambda _: label
        self.bar.update(i - self.bar.pos, label)
        if i >= n:
            self.close()

    def close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


class RuNumber(click.ParamType):
    """A number option whose conversion error is explained in Russian."""

    def __init__(self, kind: type, what: str):
        self.kind, self.what, self.name = kind, what, kind.__name__

    def convert(self, value, param, ctx):
        try:
            return self.kind(str(value).replace(",", ".")) if self.kind is float else self.kind(value)
        except (TypeError, ValueError):
            self.fail(f"{self.what} должно быть {'числом' if self.kind is float else 'целым числом'}, "
                      f"а не «{value}»", param, ctx)


def _month(_ctx, _param, value):
    if value is None:
        return None
    from synth.generate import GenerationError, parse_month
    try:
        return parse_month(value)
    except GenerationError as exc:
        raise click.BadParameter(str(exc)) from exc


def run_demo_data(db: Database, scale: float, seed: int, months: int, end: dt.date | None, marts: bool = True):
    from data_access.marts import build_marts
    from synth.generate import GenerationError, generate
    bar = Bar("Генерация данных")
    try:
        summary = generate(db, scale=scale, seed=seed, months=months, end_month=end, progress=bar)
    except GenerationError as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()
    r = summary.rows
    click.echo(f"Сгенерировано за {summary.seconds:.0f} с: {summary.start:%m.%Y}–{summary.end:%m.%Y}, "
               f"{_n(r.get('patient', 0))} пациентов, {_n(r.get('visit', 0))} посещений, "
               f"{_n(r.get('emd_document', 0))} документов, {_n(r.get('booking', 0))} записей")
    if marts:
        from data_access.refresh_log import recording
        bar = Bar("Построение витрин")
        try:
            with recording(db, "demo-data", by="cli") as rec:
                rec["rows"] = sum(build_marts(db, progress=bar).values())
        finally:
            bar.close()
    current_app.extensions["iam"]["cache"].clear()


def register(app: Flask) -> None:
    @app.cli.command("demo-data")
    @click.option("--scale", type=RuNumber(float, "Масштаб"), default=None,
                  help="Масштаб: 1,0 — весь город (5,6 млн человек)")
    @click.option("--seed", type=RuNumber(int, "Зерно"), default=None,
                  help="Зерно генератора (одинаковое зерно — одинаковые данные)")
    @click.option("--months", type=RuNumber(int, "Число месяцев"), default=None,
                  help="Сколько месяцев истории (не меньше 27 для сравнения с прошлым годом)")
    @click.option("--end", "end", callback=_month, default=None,
                  help="Последний месяц истории ГГГГ-ММ (по умолчанию — последний полный)")
    @click.option("--no-marts", is_flag=True, help="Не строить витрины")
    @with_appcontext
    def demo_data(scale, seed, months, end, no_marts):
        """Заменить первичные данные синтетическим городом и построить витрины."""
        cfg = current_app.extensions["iam"]["config"]
        scale = cfg.demo_scale if scale is None else scale
        seed = cfg.demo_seed if seed is None else seed
        months = cfg.demo_months if months is None else months
        from synth.generate import GenerationError, last_complete_month, validate
        try:
            validate(scale, months, end or last_complete_month())
        except GenerationError as exc:
            raise CliError(str(exc)) from exc
        run_demo_data(_db(), scale, seed, months, end, marts=not no_marts)

    @app.cli.command("build-marts")
    @click.option("--month", callback=_month, default=None, help="Перестроить только этот месяц ГГГГ-ММ")
    @click.option("--warm/--no-warm", default=True, show_default=True,
                  help="Заполнить кэш представлениями по умолчанию (город и каждый район)")
    @with_appcontext
    def build_marts_cmd(month, warm):
        """Построить витрины (все месяцы или один)."""
        from data_access.marts import build_marts
        from data_access.refresh_log import recording
        db = _db()
        bar = Bar("Построение витрин")
        try:
            with recording(db, "build-marts", [month] if month else None, by="cli") as rec:
                counts = build_marts(db, month, progress=bar)
                rec["rows"] = sum(counts.values())
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        finally:
            bar.close()
        cache = current_app.extensions["iam"]["cache"]
        cache.clear()
        click.echo(f"Построено строк: {_n(sum(counts.values()))}")
        if warm and cache.timeout > 0:
            from .warm import claim
            from .warm import warm as warm_views
            app_ = current_app._get_current_object()
            claim(app_)  # marked as warmed for this version, so a serving process does not repeat the work
            result = warm_views(app_)
            click.echo(f"Кэш заполнен: представлений {_n(result['views'])} за {result['seconds']} с"
                       + (f"; не удалось: {len(result['failed'])}" if result["failed"] else ""))

    @app.cli.command("data-status")
    @with_appcontext
    def data_status_cmd():
        """Показать, какие данные и витрины есть в базе."""
        from data_access.status import data_status
        st = data_status(_db())
        click.echo("Первичные данные (строк):")
        for name, n in st.tables.items():
            period = st.periods.get(name)
            span = f"  {period[0]:%d.%m.%Y} – {period[1]:%d.%m.%Y}" if period else ""
            click.echo(f"  {name:<22}{_n(n):>14}{span}")
        click.echo("Витрины:")
        for name, m in st.marts.items():
            span = f"{m['first']:%m.%Y} – {m['last']:%m.%Y}" if m["months"] else "не построена"
            click.echo(f"  {name:<22}{_n(m['rows'] or 0):>14}  {span}")
        if not st.has_data:
            click.echo("Данных нет: flask --app app demo-data")

    from . import users as users_cli
    users_cli.register(app)
    from . import importing
    importing.register(app)
    from . import migrate
    migrate.register(app)


def prepare_demo(app: Flask) -> None:
    """First start in demo mode: generate data and build marts when the database is empty."""
    from data_access.marts import build_marts
    from data_access.status import data_status
    with app.app_context():
        db: Database = app.extensions["iam"]["db"]
        cfg = app.extensions["iam"]["config"]
        st = data_status(db)
        if not st.has_data:
            click.echo(f"База пуста: генерирую демонстрационный город (масштаб {cfg.demo_scale}, "
                       f"{cfg.demo_months} мес.)…")
            run_demo_data(db, cfg.demo_scale, cfg.demo_seed, cfg.demo_months, None)
        elif st.missing_marts:
            click.echo(f"Строю витрины, которых нет в базе: {', '.join(st.missing_marts)}")
            bar = Bar("Построение витрин")
            try:
                build_marts(db, progress=bar)
            finally:
                bar.close()
        from security import users
        users.ensure_demo_users(app)
        from .demo import ensure_demo_tasks
        ensure_demo_tasks(app)
