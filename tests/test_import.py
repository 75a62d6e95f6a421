"""Loading contract data from files: a clean monthly extract round-trips into the marts, every kind of
bad file is refused with its Russian message and leaves the database unchanged, on both databases."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import importer, schema
from data_access import marts as M
from data_access.db import Database

MONTH = dt.date(2026, 6, 1)  # inside the test city (07.2025–09.2026), with months on both sides
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "extract-2026-09"


def checksums(db: Database) -> dict[str, tuple]:
    """Every table of the database (contract, marts, anything else) → (rows, sum of row hashes)."""
    with db.engine.connect() as conn:
        if db.is_duckdb:
            names = conn.execute(sa.text("select table_name from information_schema.tables")).scalars().all()
            row_hash = "hash(t)::hugeint"
        else:
            names = conn.execute(sa.text("select table_name from information_schema.tables "
                                         "where table_schema = current_schema()")).scalars().all()
            row_hash = "hashtext(t::text)::numeric"
        return {n: tuple(conn.execute(sa.text(f'select count(*), sum({row_hash}) from "{n}" t')).one())
                for n in sorted(names)}


def month_rows(db: Database, table: sa.Table) -> pd.DataFrame:
    df = db.read_df(sa.select(table).where(table.c.month == MONTH))
    return df.sort_values(list(df.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def extract(city, tmp_path_factory) -> Path:
    """One month of the shared city, every contract table, as the RMIS would send it."""
    _, db = city
    out = tmp_path_factory.mktemp("extract") / "2026-06"
    importer.export_month(db, out, MONTH)
    db.dispose()
    return out


@pytest.fixture(scope="module")
def target(dbs, city):
    """A copy of the city that the refused loads must leave exactly as it was, and its checksums."""
    name, db = city
    db.dispose()
    d = Database(dbs.url(dbs.new(template=name)))
    yield d, checksums(d)
    d.dispose()


def test_contract_rules_are_generated_from_the_schema():
    keys = {t.name: importer.key_columns(t) for t in schema.FACT_TABLES}
    assert keys == {"care_episode": ["episode_id"], "visit": ["visit_id"], "slot": ["slot_id"],
                    "booking": ["booking_id"], "emd_document": ["doc_id"], "pregnancy": ["pregnancy_id"],
                    "pregnancy_visit": [], "dispensary_exam": ["exam_id"], "vaccination": ["vacc_id"],
                    "cancer_screening": ["screening_id"], "vaccination_exemption": ["exemption_id"],
                    "dispensary_observation": ["obs_id"], "lab_result": ["result_id"],
                    "instrumental_study": ["study_id"], "prescription": ["rx_id"], "doctor_plan": [],
                    "complaint": ["complaint_id"], "patient_survey": ["response_id"], "cancer_case": ["case_id"],
                    "salary": []}
    assert set(importer.MONTH_COLUMNS) == {t.name for t in schema.FACT_TABLES}
    for t in schema.CONTRACT_TABLES:
        sch = importer.pandera_schema(t)
        assert list(sch.columns) == [c.name for c in t.columns]
        assert all(sch.columns[c.name].nullable == c.nullable for c in t.columns)


def test_clean_extract_replaces_the_month_and_its_marts(city, city_copy, extract, make_app):
    _, original = city
    db = city_copy
    v, e, mo = schema.visit, schema.care_episode, schema.mo
    with db.engine.begin() as conn:  # the month as a broken earlier load left it
        conn.execute(v.delete().where(v.c.visit_date >= MONTH, v.c.visit_date < dt.date(2026, 7, 1),
                                      v.c.visit_id % 3 == 0))
        conn.execute(e.update().where(e.c.opened_date >= MONTH, e.c.opened_date < dt.date(2026, 7, 1))
                     .values(icd10="J06.9"))
        conn.execute(mo.update().where(mo.c.mo_id == sa.select(sa.func.min(mo.c.mo_id)).scalar_subquery())
                     .values(short_name="Переименована"))
    M.build_marts(db, MONTH)
    assert not month_rows(db, M.mart_visits).equals(month_rows(original, M.mart_visits))
    db.dispose()

    res = make_app(db).test_cli_runner().invoke(args=["import-data", str(extract), "--month", "2026-06"])
    assert res.exit_code == 0, res.output
    assert "Загружено" in res.output and "Заменены месяцы: 06.2026" in res.output
    assert "Перестроены витрины: 06.2026" in res.output and "существующих" in res.output

    for t in M.MART_TABLES:  # the marts of the month are those of the original city
        pd.testing.assert_frame_equal(month_rows(db, t), month_rows(original, t), check_dtype=False, obj=t.name)
    mine, theirs = checksums(db), checksums(original)
    for t in schema.CONTRACT_TABLES:  # and so is every contract table, row for row
        assert mine[t.name] == theirs[t.name], t.name
    assert not [n for n in mine if n.startswith("_import_")]  # staging tables dropped
    original.dispose()


def _edit(src: Path, dst: Path, table: str, fn) -> None:
    """Copy the extract and rewrite one file's lines (header included) with ``fn``."""
    shutil.copytree(src, dst)
    path = dst / f"{table}.csv"
    lines = path.read_text(encoding="utf-8").split("\n")[:-1]
    path.write_text("\n".join(fn(lines)) + "\n", encoding="utf-8")


def _set(lines, column, line_nos, value):
    """Put a value into one column of some lines (header = line 1)."""
    header = lines[0].split(";")
    for n in [line_nos] if isinstance(line_nos, int) else line_nos:
        fields = lines[n - 1].split(";")
        fields[header.index(column)] = value
        lines[n - 1] = ";".join(fields)
    return lines


def _drop_column(lines, column):
    i = lines[0].split(";").index(column)
    return [";".join(f for j, f in enumerate(line.split(";")) if j != i) for line in lines]


def _truncate(src: Path, dst: Path):
    shutil.copytree(src, dst)
    path = dst / "booking.csv"
    data = path.read_bytes().rstrip(b"\n")
    path.write_bytes(data[: data.rfind(b"\n") + 1 + 30])  # the last line cut after 30 characters


def _recode(src: Path, dst: Path):
    shutil.copytree(src, dst)
    path = dst / "mo.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1251"))


def _unknown_file(src: Path, dst: Path):
    shutil.copytree(src, dst)
    shutil.copy(dst / "visit.csv", dst / "visits.csv")


BAD = {
    "missing column": (lambda s, d: _edit(s, d, "visit", lambda ls: _drop_column(ls, "icd10")),
                       ["visit.csv: нет обязательной колонки icd10"]),
    "wrong type": (lambda s, d: _edit(s, d, "visit", lambda ls: _set(ls, "doctor_id", 3, "abc")),
                   ["visit.csv: колонка doctor_id, 1 строка: не целое число", "(строка 3; значения: «abc»)"]),
    "bad date": (lambda s, d: _edit(s, d, "care_episode", lambda ls: _set(ls, "closed_date", 4, "31.02.2026")),
                 ["care_episode.csv: колонка closed_date, 1 строка: не дата", "строка 4"]),
    "unknown organisation": (
        lambda s, d: _edit(s, d, "visit", lambda ls: _set(ls, "mo_id", range(2, 8), "999999")),
        ["visit.csv: колонка mo_id, 6 строк: код МО, которого нет в справочнике mo",
         "(строки 2, 3, 4, 5, 6 …; значения: «999999»)"]),
    "unknown ICD-10 code": (lambda s, d: _edit(s, d, "visit", lambda ls: _set(ls, "icd10", 2, "K98.1")),
                            ["visit.csv: колонка icd10, 1 строка: не код МКБ-10"]),
    "date outside the month": (
        lambda s, d: _edit(s, d, "visit", lambda ls: _set(ls, "visit_date", 5, "2026-07-03")),
        ["visit.csv: колонка visit_date, 1 строка: дата вне месяца 06.2026 (строка 5; значения: «2026-07-03»)"]),
    "duplicate key": (lambda s, d: _edit(s, d, "visit", lambda ls: ls + [ls[1]]),
                      ["visit.csv: колонка visit_id, 1 строка: повторяющийся ключ"]),
    "truncated file": (_truncate, ["booking.csv: 1 строка: файл обрезан: последняя строка неполная"]),
    "wrong encoding": (_recode, ["mo.csv: ", "строк: файл не в кодировке UTF-8", "Windows-1251",
                                "iconv -f cp1251 -t utf-8 mo.csv"]),
    "unknown file": (_unknown_file, ["visits.csv: файл не относится к контракту"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_file_is_refused_and_nothing_changes(case, extract, target, tmp_path):
    make, messages = BAD[case]
    bad = tmp_path / "bad"
    make(extract, bad)
    db, before = target
    with pytest.raises(importer.ImportRefused) as err:
        importer.load(db, bad, MONTH)
    text = err.value.report.text()
    assert text.startswith("Данные не загружены, база не изменена")
    for m in messages:
        assert m in text, text
    assert len(err.value.report.problems) <= 2, text  # the broken spot only, not a cascade
    assert checksums(db) == before


def test_months_are_those_the_files_cover(extract, target, tmp_path):
    """Without --month the fact rows decide the months; a second month in a file is a second month replaced."""
    db, _ = target
    report = importer.validate(db, extract)
    assert report.ok, report.text()
    assert report.months == [MONTH]
    two = tmp_path / "two"
    _edit(extract, two, "vaccination", lambda ls: _set(ls, "vacc_date", 2, "2026-05-20"))
    assert importer.validate(db, two).months == [dt.date(2026, 5, 1), MONTH]


def test_cli_refuses_bad_files_with_the_report(extract, city_copy, make_app, tmp_path):
    bad = tmp_path / "bad"
    _edit(extract, bad, "visit", lambda ls: _set(ls, "visit_date", 5, "2026-07-03"))
    res = make_app(city_copy).test_cli_runner().invoke(args=["import-data", str(bad), "--month", "2026-06"])
    assert res.exit_code == 1
    assert "Данные не загружены, база не изменена" in res.output
    assert "visit.csv: колонка visit_date, 1 строка: дата вне месяца 06.2026" in res.output
    assert "Traceback" not in res.output
    res = make_app(city_copy).test_cli_runner().invoke(args=["import-data", str(tmp_path / "нет такого")])
    assert res.exit_code != 0 and "не найден" in res.output


def test_committed_example_loads_into_the_city_it_was_cut_from(empty_db):
    """examples/extract-2026-09 is the city of bench/make_extract.py's defaults; it loads there as is."""
    from synth.generate import generate
    generate(empty_db, scale=0.0005, seed=42, months=2, end_month=dt.date(2026, 9, 1))
    M.build_marts(empty_db)
    before = checksums(empty_db)
    summary = importer.load(empty_db, EXAMPLE, dt.date(2026, 9, 1))
    assert summary.months == [dt.date(2026, 9, 1)] and summary.rows["visit"] > 0
    after = checksums(empty_db)
    assert {n: v for n, v in after.items() if n != "mart_build_log"} == \
        {n: v for n, v in before.items() if n != "mart_build_log"}  # the same rows: only build times differ
