"""Generate the synthetic RMIS into a database, month by month, with progress."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data_access import reference, schema
from data_access.db import Database, bulk_load
from data_access.setup import create_contract, create_pg_indexes
from data_access.workcal import WorkCalendar

from .activity import ActivityGenerator
from .contract import Contract
from .programs import pregnancies, prevention, vaccinations
from .registers import Registers
from .structure import build_patients, build_structure, district_population

Progress = Callable[[str, int, int], None]
MAX_SCALE = 2.0


class GenerationError(ValueError):
    """Bad generation parameters, explained in Russian."""


def last_complete_month(today: dt.date | None = None) -> dt.date:
    today = today or dt.date.today()
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def parse_month(text: str) -> dt.date:
    try:
        y, m = text.strip().split("-")
        return dt.date(int(y), int(m), 1)
    except Exception as exc:
        raise GenerationError(f"Месяц «{text}» должен быть в формате ГГГГ-ММ, например 2026-10") from exc


def add_months(d: dt.date, k: int) -> dt.date:
    idx = d.year * 12 + d.month - 1 + k
    return dt.date(idx // 12, idx % 12 + 1, 1)


def month_end(d: dt.date) -> dt.date:
    return add_months(d, 1) - dt.timedelta(days=1)


def validate(scale: float, months: int, end_month: dt.date) -> None:
    if not (isinstance(scale, (int, float)) and np.isfinite(scale)) or scale <= 0 or scale > MAX_SCALE:
        raise GenerationError(f"Масштаб должен быть числом больше 0 и не больше {MAX_SCALE} "
                              f"(1,0 — весь город, 5,6 млн человек); получено: {scale}")
    if int(months) != months or months < 1 or months > 120:
        raise GenerationError(f"Число месяцев должно быть целым от 1 до 120; получено: {months}")
    if end_month > last_complete_month():
        raise GenerationError(f"Последний месяц истории ({end_month:%Y-%m}) ещё не закончился; "
                              f"последний полный месяц — {last_complete_month():%Y-%m}")


class Ids:
    """Sequential ids per table, in the fixed order of generation (deterministic)."""

    def __init__(self):
        self.next = {}

    def take(self, name: str, n: int) -> np.ndarray:
        start = self.next.get(name, 1)
        self.next[name] = start + n
        return np.arange(start, start + n, dtype=np.int64)


@dataclass
class Summary:
    scale: float
    seed: int
    start: dt.date
    end: dt.date
    rows: dict = field(default_factory=dict)
    seconds: float = 0.0


def generate(db: Database, *, scale: float, seed: int, months: int, end_month: dt.date | None = None,
             progress: Progress | None = None) -> Summary:
    """Replace the contract tables with a synthetic city (marts are built separately)."""
    end_month = end_month or last_complete_month()
    validate(scale, months, end_month)
    progress = progress or (lambda label, i, n: None)
    t0 = time.time()
    start = add_months(end_month, -(months - 1))
    end = month_end(end_month)
    summary = Summary(scale=scale, seed=seed, start=start, end=end)

    def load(table: sa.Table, df: pd.DataFrame):
        summary.rows[table.name] = summary.rows.get(table.name, 0) + bulk_load(db, table, df)

    steps = months + 8
    progress("Справочники и структура", 0, steps)
    create_contract(db, drop=True)
    cal = WorkCalendar(dt.date(start.year - 8, 1, 1), dt.date(end.year + 1, 12, 31))
    st = build_structure(scale, seed)
    load(schema.calendar, cal.frame)
    load(schema.district, st.district[["district_id", "name", "okato"]])
    load(schema.specialty, st.specialty)
    load(schema.mo, st.mo)
    load(schema.department, st.department)
    load(schema.doctor, st.doctor)
    load(schema.staff_position, st.position)
    load(schema.icd_class, pd.DataFrame(reference.ICD_CLASSES, columns=["class_num", "roman", "code_from", "code_to", "name"]))
    load(schema.emd_kind, pd.DataFrame(reference.EMD_KINDS, columns=["kind_code", "name", "basis"]))
    load(schema.emd_requirement, pd.DataFrame([(k, c) for k, cs in reference.EMD_REQUIREMENTS.items() for c in cs],
                                              columns=["mo_kind", "kind_code"]))
    progress("Прикреплённое население", 1, steps)
    patients = build_patients(st, scale, seed, end)
    load(schema.patient, patients)
    load(schema.district_population, district_population(patients, list(range(start.year, end.year + 1))))
    reg = Registers(st, patients, scale, seed, start, end)  # the registers' deaths: nobody is seen after his death
    contract = Contract(st, patients, seed, start, end)
    progress("Беременности", 2, steps)
    preg, pvis = pregnancies(st, patients, scale, seed, start, end)
    load(schema.pregnancy, preg)
    load(schema.pregnancy_visit, pvis)
    progress("Диспансеризация и прививки", 3, steps)
    plan, plan_band, exams, screening = prevention(st, patients, scale, seed, start, end, cal)
    load(schema.prevention_plan, plan)
    load(schema.prevention_plan_band, plan_band)
    exam_episode = np.zeros(len(exams) + 1, dtype=np.int64)  # filled as the months produce the episodes
    vacc, exemption = vaccinations(st, patients, seed, start, end)
    load(schema.vaccination_exemption, exemption)
    gen = ActivityGenerator(st, patients, scale, seed, start, end, cal, preg, exams, registers=reg)
    ids = Ids()
    for k in range(months):
        month = add_months(start, k)
        progress(f"Случаи, документы и записи: {month:%m.%Y}", 4 + k, steps)
        ep = gen.episodes(month, ids)
        mat = gen.maternity(month, ids)
        prev = gen.prevention_episodes(month, ids)
        episodes = pd.concat([ep["outpatient"]["episodes"], ep["inpatient"], mat, prev["episodes"]], ignore_index=True)
        exam_flag = np.r_[np.zeros(len(episodes) - len(prev["episodes"]), dtype=np.int64), prev["exam_of_episode"]]
        linked = prev["exam_of_episode"] > 0
        exam_episode[prev["exam_of_episode"][linked]] = prev["episodes"]["episode_id"].to_numpy()[linked]
        episodes["closed_at"] = pd.Series(pd.NaT, index=episodes.index, dtype="datetime64[s]")
        docs = gen.documents(month, episodes, exam_flag, ids)  # also sets episodes.closed_at
        load(schema.care_episode, episodes)
        visits = pd.concat([ep["outpatient"]["visits"], prev["visits"]], ignore_index=True)
        load(schema.visit, visits)
        reg.month_events(month, episodes, visits)
        contract.month_events(month, episodes, visits)
        load(schema.emd_document, docs)
        book, slots = gen.bookings(month, ids)
        load(schema.booking, book)
        load(schema.slot, slots)
    exams["episode_id"] = pd.array(exam_episode[exams["exam_id"].to_numpy()], dtype="Int64")
    exams.loc[exams["episode_id"] == 0, "episode_id"] = pd.NA
    progress("Регистры: наблюдение, исследования, назначения, план объёмов", 4 + months, steps)
    for name, df in reg.finish().items():
        load(schema.metadata.tables[name], df)
    # what was drawn before the deaths were known: nothing after a patient's death
    exams = exams[reg.alive_on(exams["patient_id"], exams["stage1_start"])]
    load(schema.dispensary_exam, exams)
    load(schema.cancer_screening, screening[screening["exam_id"].isin(exams["exam_id"])
                                           & reg.alive_on(screening["patient_id"], screening["test_date"])])
    load(schema.vaccination, vacc[reg.alive_on(vacc["patient_id"], vacc["vacc_date"])])
    load(schema.volume_plan, reg.volume_plan(months))
    progress("Эффективный контракт: назначения, планы, жалобы, анкеты, канцер-регистр, зарплата", 5 + months, steps)
    for name, df in contract.finish().items():
        load(schema.metadata.tables[name], df)
    progress("Расписание на будущий месяц", 6 + months, steps)
    _, future = gen.bookings(add_months(end_month, 1), ids, future=True)
    load(schema.slot, future)
    progress("Индексы", 7 + months, steps)
    create_pg_indexes(db)
    summary.seconds = time.time() - t0
    progress("Готово", steps, steps)
    return summary
