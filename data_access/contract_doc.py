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
