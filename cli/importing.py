"""``flask --app app import-data DIR [--month ГГГГ-ММ]``: load contract data from files, validated first."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import Bar, CliError, _db, _month, _n


def register(app: Flask) -> None:
    @app.cli.command("import-data")
    @click.argument("directory", metavar="КАТАЛОГ")
    @click.option("--month", callback=_month, default=None,
                  help="Месяц ГГГГ-ММ, который заменяется: все строки фактов должны попасть в него "
                       "(без параметра — месяцы, которые покрывают файлы)")
    @with_appcontext
    def import_data(directory, month):
        """Загрузить первичные данные из файлов КАТАЛОГА (<таблица>.csv или .parquet).

        Сначала проверяются все файлы; при любой ошибке база не меняется, а отчёт показывает
        строки и колонки с ошибками. Затем в одной транзакции факты заменяются за месяцы файлов,
        справочники дополняются и обновляются, и перестраиваются витрины этих месяцев.
        """
        from core.fmt import plural
        from data_access.importer import ImportRefused, load
        from data_access.refresh_log import recording
        path = Path(directory)
        if not path.is_dir():
            raise CliError(f"Каталог «{directory}» не найден")
        db = _db()
        bar = Bar("Загрузка данных")
        try:
            with recording(db, "import-data", [month] if month else None, by="cli") as rec:
                summary = load(db, path, month, progress=bar)
                rec["rows"] = sum(summary.rows.values())
                rec["message"] = f"{path}: месяцы " + (", ".join(f"{m:%m.%Y}" for m in summary.months) or "—")
        except ImportRefused as exc:
            raise CliError(exc.report.text()) from exc
        except ValueError as exc:  # the marts of a loaded month could not be rebuilt: the data are in
            raise CliError(f"Данные загружены, но витрины не перестроены: {exc}. Выполните build-marts.") from exc
        finally:
            bar.close()
        current_app.extensions["iam"]["cache"].clear()
        click.echo(f"Загружено за {summary.seconds:.1f} с из {path}:")
        for name, rows in summary.rows.items():
            word = plural(rows, "строка", "строки", "строк")
            if name in summary.inserted:
                click.echo(f"  {name:<20}{_n(rows):>12} {word:<6} справочник: новых {_n(summary.inserted[name])}, "
                           f"существующих {_n(summary.updated[name])} (перезаписаны)")
            else:
                click.echo(f"  {name:<20}{_n(rows):>12} {word:<6} факты: строки месяцев заменены")
        months = ", ".join(f"{m:%m.%Y}" for m in summary.months) or "нет (загружены только справочники)"
        click.echo(f"Заменены месяцы: {months}")
        if summary.marts:
            built = ", ".join(f"{m:%m.%Y} ({_n(n)} строк)" for m, n in summary.marts.items())
            click.echo(f"Перестроены витрины: {built}")
        if summary.skipped_marts:
            click.echo("Витрины не перестроены (нет посещений за месяц): "
                       + ", ".join(f"{m:%m.%Y}" for m in summary.skipped_marts))
