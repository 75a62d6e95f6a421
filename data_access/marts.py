"""Marts: the processed layer, built inside the database by INSERT … SELECT … GROUP BY.

Every mart has a ``month`` column (first day of the month). ``build_marts`` rebuilds either all
months (one statement per mart, grouped by month) or a single month (delete that month, insert
it again) with the same Core select, so the two paths cannot drift apart (a test rebuilds months
one by one and compares every mart with the full build). Grains follow the
questions asked of them (engineering notes): month × doctor for activity, month × organisation ×
ICD code × sex × age for morbidity, histograms for waits so that any percentile can be read at
any level.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from sqlalchemy import BigInteger, Date, DateTime, Float, Integer, SmallInteger, String, and_, case, func, literal, or_, select

from . import schema as s
from .cache import cached
from .context import get_db
from .db import Database

marts = sa.MetaData()
DAY = dt.timedelta(days=1)


def _mart(name, *cols, doc):
    return sa.Table(name, marts, sa.Column("month", Date, nullable=False, doc="Месяц (первое число)"), *cols,
                    info={"doc": doc})


def _n(name, doc=""):
    return sa.Column(name, BigInteger, nullable=False, default=0, doc=doc)


def _dims(*names):
    types = {"district_id": SmallInteger, "mo_id": Integer, "dept_id": Integer, "doctor_id": Integer,
             "specialty_id": SmallInteger, "spec_category": String(16), "kind_code": String(16),
             "channel": String(12), "suspicion": String(6), "program": String(12), "vaccine": String(8),
             "icd3": String(3), "sex": String(1), "age_group": SmallInteger, "status": String(20),
             "reason": String(160), "wait_days": SmallInteger, "mo_kind": String(24)}
    return [sa.Column(n, types[n], nullable=n not in ("district_id",)) for n in names]


mart_visits = _mart("mart_visits", *_dims("district_id", "mo_id", "dept_id", "doctor_id", "specialty_id", "spec_category"),
                    _n("visits"), _n("visits_disease"), _n("visits_prevention"), _n("visits_dispensary"),
                    _n("visits_urgent"), _n("visits_new_dx"), _n("shifts", "Дни приёма врача (смены)"),
                    _n("patients", "Уникальные пациенты врача за месяц (не суммируются между врачами)"),
                    doc="Посещения по врачам за месяц.")
mart_morbidity = _mart("mart_morbidity", *_dims("district_id", "mo_id", "icd3", "sex", "age_group"),
                       _n("cases"), _n("new_cases"),
                       doc="Случаи заболеваний по району проживания, МО прикрепления, рубрике МКБ-10, полу и возрасту.")
mart_population = _mart("mart_population", *_dims("district_id", "mo_id", "sex", "age_group"), _n("population"),
                        doc="Население на начало месяца по району проживания, МО прикрепления, полу и возрасту.")
mart_emd_coverage = _mart("mart_emd_coverage", *_dims("district_id", "mo_id", "dept_id", "doctor_id", "kind_code"),
                          _n("required", "Случаи (осмотры), по которым документ обязателен"),
                          _n("with_doc", "…из них с созданным документом"),
                          _n("with_registered", "…из них с документом, зарегистрированным в РЭМД"),
                          _n("registered_1d", "…зарегистрированным не позднее суток после закрытия случая"),
                          doc="Охват случаев обязательными СЭМД (по месяцу закрытия случая).")
mart_emd_flow = _mart("mart_emd_flow", *_dims("district_id", "mo_id", "dept_id", "doctor_id", "kind_code"),
                      _n("created"), _n("signed"), _n("sent"), _n("registered"), _n("rejected_regional"),
                      _n("rejected_federal"), _n("transmission_error"), _n("awaiting"), _n("sent_1d"),
                      _n("reg_lt1h"), _n("reg_lt24h"), _n("reg_lt3d"), _n("reg_lt7d"), _n("reg_later"),
                      doc="Путь документов (по месяцу создания): создан → подписан → отправлен → зарегистрирован; "
                          "задержка регистрации от закрытия случая по корзинам.")
mart_emd_reject = _mart("mart_emd_reject", *_dims("district_id", "mo_id", "kind_code", "status", "reason"), _n("docs"),
                        doc="Отказы в регистрации по причинам.")
mart_emd_day = sa.Table("mart_emd_day", marts, sa.Column("day", Date, nullable=False),
                        sa.Column("month", Date, nullable=False),
                        *_dims("district_id", "mo_id"), _n("created"), _n("sent"), _n("registered"),
                        info={"doc": "Поток документов по дням (для тепловой карты и поиска «молчащих» МО)."})
mart_booking = _mart("mart_booking", *_dims("district_id", "mo_id", "doctor_id", "specialty_id", "spec_category",
                                             "channel", "suspicion"),
                     _n("bookings"), _n("attended"), _n("no_show"), _n("cancelled"), _n("pending"),
                     _n("normed", "Записи с нормативом ожидания"), _n("within_norm"), _n("within_24h"),
                     _n("wait_days_sum"),
                     doc="Записи на приём по месяцу обращения, с соблюдением нормативов ожидания.")
mart_wait_channel = _mart("mart_wait_channel", *_dims("district_id", "mo_id", "spec_category", "channel", "wait_days"),
                          _n("bookings"),
                          doc="Гистограмма ожидания (календарные дни 0…90, 91 = больше) по каналам записи.")
mart_wait_spec = _mart("mart_wait_spec", *_dims("district_id", "mo_id", "specialty_id", "spec_category", "wait_days"),
                       _n("bookings"), doc="Гистограмма ожидания по специальностям.")
mart_wait_hist = _mart("mart_wait_hist", *_dims("district_id", "mo_id", "spec_category", "wait_days"), _n("bookings"),
                       doc="Гистограмма ожидания по группам специальностей — для медиан и перцентилей на любом уровне "
                           "(строится из mart_wait_channel).")
mart_slots = _mart("mart_slots", *_dims("district_id", "mo_id", "doctor_id", "specialty_id", "spec_category"),
                   _n("slots", "Ячейки расписания"), _n("bookable", "…открытые для записи"),
                   _n("booked", "…занятые записью"), _n("attended", "…пациент пришёл"), _n("no_show", "…неявка"),
                   _n("cancelled", "…запись отменена"),
                   doc="Использование расписания по месяцу приёма: предложено, занято, явки, неявки, отмены.")
mart_staff = _mart("mart_staff", *_dims("district_id", "mo_id", "dept_id", "specialty_id", "spec_category"),
                   _n("positions"), sa.Column("rates", Float, nullable=False, default=0), _n("filled"), _n("vacant"),
                   _n("filled_open", "Занятые должности, врач которых имел открытые для записи ячейки в месяце"),
                   doc="Штатные должности, их занятость и открытость для записи.")
mart_pregnancy = _mart("mart_pregnancy", *_dims("district_id", "mo_id", "doctor_id"),
                       _n("registered"), _n("registered_lt12"), _n("active_end"), _n("high_risk_active"),
                       _n("births"), _n("births_term"), _n("births_preterm"), _n("losses"), _n("births_5visits"),
                       _n("s1_due"), _n("s1_in_window"), _n("s2_due"), _n("s2_in_window"), _n("s3_due"),
                       _n("s3_in_window"),
                       doc="Беременные: постановка на учёт, наблюдение, исходы и скрининги (окно скрининга "
                           "закрылось в этом месяце: due; сделан в окне: in_window).")
mart_prevention = _mart("mart_prevention", *_dims("district_id", "mo_id", "program"),
                        sa.Column("plan_month", Float, nullable=False, default=0, doc="Годовой план / 12"),
                        _n("plan_year"), _n("stage1_done"), _n("stage2_referred"), _n("stage2_done"),
                        doc="Профилактические осмотры и диспансеризация против плана.")
mart_vaccination = _mart("mart_vaccination", *_dims("district_id", "mo_id", "vaccine"),
                         _n("doses"), _n("cohort", "Дети, достигшие в месяце возраста оценки охвата"),
                         _n("covered", "…из них привитые к этому возрасту"),
                         doc="Прививки и охват когорт (V1 кори к 24 мес., RV к 7 годам, АКДС V1 к 12 мес.).")

# ------------------------------------------------------------------ rollups (pre-aggregations)
# Coarser copies of a mart for the questions that do not need its finest grain (a district's
# share of bookings seen within 24 h does not need doctors or channels). Built from the mart
# itself after it; the evaluator reads the smallest table that has every column a query needs.
# Non-additive columns (distinct patients) are left out of rollups.
NON_ADDITIVE = {"patients"}
ROLLUPS = {
    "mart_booking_district": ("mart_booking", ["district_id", "spec_category"]),
    "mart_booking_mo": ("mart_booking", ["district_id", "mo_id", "spec_category", "channel", "suspicion"]),
    "mart_visits_mo": ("mart_visits", ["district_id", "mo_id", "spec_category"]),
    "mart_slots_mo": ("mart_slots", ["district_id", "mo_id", "specialty_id", "spec_category"]),
    "mart_emd_flow_mo": ("mart_emd_flow", ["district_id", "mo_id", "kind_code"]),
    "mart_emd_coverage_mo": ("mart_emd_coverage", ["district_id", "mo_id", "kind_code"]),
    "mart_morbidity_mo": ("mart_morbidity", ["district_id", "mo_id"]),
    "mart_wait_hist_district": ("mart_wait_hist", ["district_id", "spec_category", "wait_days"]),
}


def _rollup_table(name: str, source: str, dims: list[str]) -> sa.Table:
    src = marts.tables[source]
    keep = ["month"] + dims
    measures = [c for c in src.columns if c.name not in keep and c.name not in {
        "dept_id", "doctor_id", "specialty_id", "spec_category", "channel", "suspicion", "kind_code", "icd3", "sex",
        "age_group", "district_id", "mo_id"} and c.name not in NON_ADDITIVE]
    cols = [sa.Column(c, src.c[c].type, nullable=src.c[c].nullable) for c in keep]
    cols += [sa.Column(c.name, c.type, nullable=False, default=0) for c in measures]
    return sa.Table(name, marts, *cols, info={"doc": f"Свёртка {source} по: {', '.join(dims)} (для запросов без "
                                                    f"более подробных разрезов).", "rollup_of": source, "dims": dims,
                                              "measures": [c.name for c in measures]})


for _name, (_src, _dims) in ROLLUPS.items():
    _rollup_table(_name, _src, _dims)


def rollups_of(mart: str) -> list[sa.Table]:
    """The rollups of a mart, coarsest first (fewest columns)."""
    out = [marts.tables[n] for n, (src, _) in ROLLUPS.items() if src == mart]
    return sorted(out, key=lambda t: len(t.columns))


@cached(memory=True)
def built_tables() -> frozenset[str]:
    """Marts and rollups that have been built (a rollup added by an upgrade is used once it is built)."""
    with get_db().engine.connect() as c:
        return frozenset(c.execute(select(build_log.c.mart).group_by(build_log.c.mart)).scalars().all())


def table_for(mart: str, need: set[str]) -> sa.Table:
    """The smallest built table with every needed column: a rollup of the mart, or the mart itself."""
    built = built_tables()
    for t in rollups_of(mart):
        if t.name in built and need <= {c.name for c in t.columns}:
            return t
    return marts.tables[mart]


def sel_rollup(name: str):
    def select_rollup(w: Window):
        t = marts.tables[name]
        src = marts.tables[t.info["rollup_of"]]
        keys = [src.c.month] + [src.c[d] for d in t.info["dims"]]
        return select(*keys, *[func.sum(src.c[m]).label(m) for m in t.info["measures"]]).where(
            w.on(src.c.month)).group_by(*keys)
    return select_rollup


build_log = sa.Table(
    "mart_build_log", marts,
    sa.Column("mart", String(40), primary_key=True), sa.Column("month", Date, primary_key=True),
    sa.Column("rows", BigInteger, nullable=False), sa.Column("built_at", DateTime, nullable=False),
    info={"doc": "Когда и сколько строк построено в каждой витрине за каждый месяц."})

MART_TABLES = [t for t in marts.sorted_tables if t.name != "mart_build_log"]


# ------------------------------------------------------------------ SQL helpers
def month_of(col):
    """First day of the month of a date or timestamp column (same SQL on DuckDB and PostgreSQL)."""
    return sa.cast(func.date_trunc(sa.literal_column("'month'"), sa.cast(col, DateTime)), Date)


def as_date(col):
    return sa.cast(col, Date)


def flag(cond):
    return case((cond, 1), else_=0)


def total(cond):
    return func.sum(flag(cond))


def age_group(on, birth):
    """Five-year age group (0…17) at a date; 85+ is 17."""
    return func.least(sa.cast(func.floor((on - birth) / 365.25 / 5), Integer), 17)


@dataclass
class Window:
    """The months a build covers: [first, last] inclusive; one month for an incremental build."""
    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.date:
        return self.first

    @property
    def stop(self) -> dt.date:  # exclusive
        return (self.last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)

    def on(self, col, ts=False):
        lo, hi = (dt.datetime.combine(self.start, dt.time()), dt.datetime.combine(self.stop, dt.time())) if ts \
            else (self.start, self.stop)
        return and_(col >= lo, col < hi)


def months_subquery(w: Window):
    """One row per month of the window (from the calendar table), as a derived table ``months``."""
    cal = s.calendar
    m = month_of(cal.c.day).label("month")
    return select(m).where(w.on(cal.c.day)).group_by(m).subquery("months")


def month_end_of(mcol):
    """Last day of the month of a month column: first day of next month minus one day."""
    return sa.cast(func.date_trunc(sa.literal_column("'month'"), sa.cast(mcol, DateTime) + dt.timedelta(days=32)), Date) - 1


# ------------------------------------------------------------------ mart selects
def sel_visits(w: Window):
    v, d, m, sp = s.visit, s.doctor, s.mo, s.specialty
    mon = month_of(v.c.visit_date)
    cols = [mon, m.c.district_id, v.c.mo_id, v.c.dept_id, v.c.doctor_id, d.c.specialty_id, sp.c.category]
    return select(
        *[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "dept_id", "doctor_id", "specialty_id",
                                             "spec_category"])],
        func.count().label("visits"),
        total(v.c.purpose == "disease").label("visits_disease"),
        total(v.c.purpose == "prevention").label("visits_prevention"),
        total(v.c.purpose == "dispensary").label("visits_dispensary"),
        total(v.c.purpose == "urgent").label("visits_urgent"),
        total(v.c.is_new_diagnosis).label("visits_new_dx"),
        func.count(sa.distinct(v.c.visit_date)).label("shifts"),
        func.count(sa.distinct(v.c.patient_id)).label("patients"),
    ).select_from(v.join(d, d.c.doctor_id == v.c.doctor_id).join(m, m.c.mo_id == v.c.mo_id)
                  .join(sp, sp.c.specialty_id == d.c.specialty_id)
                  ).where(w.on(v.c.visit_date)).group_by(*cols)


def sel_morbidity(w: Window):
    e, p = s.care_episode, s.patient
    mon = month_of(e.c.opened_date)
    icd3 = func.substr(e.c.icd10, 1, 3)
    ag = age_group(e.c.opened_date, p.c.birth_date)
    cols = [mon, p.c.district_id, p.c.attach_mo_id, icd3, p.c.sex, ag]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "icd3", "sex", "age_group"])],
                  func.count().label("cases"), total(e.c.is_new_diagnosis).label("new_cases")
                  ).select_from(e.join(p, p.c.patient_id == e.c.patient_id)
                                ).where(w.on(e.c.opened_date), e.c.purpose == "disease").group_by(*cols)


def sel_population(w: Window):
    p = s.patient
    ms = months_subquery(w)
    ag = age_group(ms.c.month, p.c.birth_date)
    cols = [ms.c.month, p.c.district_id, p.c.attach_mo_id, p.c.sex, ag]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "sex", "age_group"])],
                  func.count().label("population")
                  ).select_from(ms.join(p, p.c.birth_date <= ms.c.month)).group_by(*cols)


def _required_episodes(w: Window):
    """Episodes (and exams) that make a document due, with the kind due and the moment it fell due."""
    e, m, k, r = s.care_episode, s.mo, s.emd_kind, s.emd_requirement
    basis = case((e.c.kind == "inpatient", "inpatient_episode"), (e.c.kind == "maternity", "birth"),
                 (e.c.purpose == "prevention", "prevention"), else_="outpatient_episode")
    ep = select(e.c.episode_id, e.c.mo_id, e.c.doctor_id, e.c.closed_at, e.c.closed_date, basis.label("basis")
                ).where(w.on(e.c.closed_date)).subquery("ep")
    due = select(ep.c.episode_id, ep.c.mo_id, ep.c.doctor_id, ep.c.closed_at, ep.c.closed_date, k.c.kind_code
                 ).select_from(ep.join(m, m.c.mo_id == ep.c.mo_id).join(r, r.c.mo_kind == m.c.kind)
                               .join(k, and_(k.c.kind_code == r.c.kind_code, k.c.basis == ep.c.basis)))
    # Exam results are due per completed stage 1, on the episode that closed it.
    x = s.dispensary_exam
    pe = s.care_episode.alias("pe")
    exams = select(x.c.episode_id, x.c.mo_id, x.c.doctor_id, pe.c.closed_at, x.c.stage1_end.label("closed_date"),
                   literal("DISP_RES").label("kind_code")
                   ).select_from(x.join(pe, pe.c.episode_id == x.c.episode_id)).where(w.on(x.c.stage1_end))
    return sa.union_all(due, exams).subquery("req")


def sel_emd_coverage(w: Window):
    req = _required_episodes(w)
    doc, e = s.emd_document, s.care_episode
    # only the documents of the episodes closed in the window (an index on episode_id serves this)
    in_window = select(e.c.episode_id).where(w.on(e.c.closed_date))
    docs = select(doc.c.episode_id, doc.c.kind_code,
                  func.max(flag(doc.c.status == "registered")).label("reg"),
                  func.min(case((doc.c.status == "registered", doc.c.status_at))).label("reg_at")
                  ).where(doc.c.episode_id.in_(in_window)).group_by(doc.c.episode_id, doc.c.kind_code).subquery("d")
    m, doc = s.mo, s.doctor
    mon = month_of(req.c.closed_date)
    cols = [mon, m.c.district_id, req.c.mo_id, doc.c.dept_id, req.c.doctor_id, req.c.kind_code]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "dept_id", "doctor_id", "kind_code"])],
                  func.count().label("required"),
                  total(docs.c.episode_id.is_not(None)).label("with_doc"),
                  total(docs.c.reg == 1).label("with_registered"),
                  total(docs.c.reg_at <= req.c.closed_at + DAY).label("registered_1d"),
                  ).select_from(req.join(m, m.c.mo_id == req.c.mo_id).join(doc, doc.c.doctor_id == req.c.doctor_id).outerjoin(
                      docs, and_(docs.c.episode_id == req.c.episode_id, docs.c.kind_code == req.c.kind_code))
                  ).group_by(*cols)


def sel_emd_flow(w: Window):
    d, e, m, doc = s.emd_document, s.care_episode, s.mo, s.doctor
    mon = month_of(d.c.created_at)
    reg = d.c.status == "registered"
    delay = d.c.status_at
    base = func.coalesce(e.c.closed_at, d.c.created_at)
    cols = [mon, m.c.district_id, d.c.mo_id, doc.c.dept_id, d.c.doctor_id, d.c.kind_code]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "dept_id", "doctor_id", "kind_code"])],
                  func.count().label("created"),
                  total(d.c.signed_at.is_not(None)).label("signed"),
                  total(d.c.sent_at.is_not(None)).label("sent"),
                  total(reg).label("registered"),
                  total(d.c.status == "rejected_regional").label("rejected_regional"),
                  total(d.c.status == "rejected_federal").label("rejected_federal"),
                  total(d.c.status == "transmission_error").label("transmission_error"),
                  total(d.c.status == "sent").label("awaiting"),
                  total(d.c.sent_at <= d.c.created_at + DAY).label("sent_1d"),
                  total(reg & (delay <= base + dt.timedelta(hours=1))).label("reg_lt1h"),
                  total(reg & (delay > base + dt.timedelta(hours=1)) & (delay <= base + DAY)).label("reg_lt24h"),
                  total(reg & (delay > base + DAY) & (delay <= base + 3 * DAY)).label("reg_lt3d"),
                  total(reg & (delay > base + 3 * DAY) & (delay <= base + 7 * DAY)).label("reg_lt7d"),
                  total(reg & (delay > base + 7 * DAY)).label("reg_later"),
                  ).select_from(d.join(m, m.c.mo_id == d.c.mo_id).join(doc, doc.c.doctor_id == d.c.doctor_id)
                                .outerjoin(e, e.c.episode_id == d.c.episode_id)
                                ).where(w.on(d.c.created_at, ts=True)).group_by(*cols)


def sel_emd_reject(w: Window):
    d, m = s.emd_document, s.mo
    mon = month_of(d.c.created_at)
    cols = [mon, m.c.district_id, d.c.mo_id, d.c.kind_code, d.c.status, func.coalesce(d.c.rejection_reason, "—")]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "kind_code", "status", "reason"])],
                  func.count().label("docs")
                  ).select_from(d.join(m, m.c.mo_id == d.c.mo_id)).where(
        w.on(d.c.created_at, ts=True), d.c.status.in_(["rejected_regional", "rejected_federal", "transmission_error"])
    ).group_by(*cols)


def sel_emd_day(w: Window):
    """Documents per organisation and day: created (by creation day) and sent / registered (by their day)."""
    d, m = s.emd_document, s.mo
    events = sa.union_all(
        select(as_date(d.c.created_at).label("day"), d.c.mo_id, literal(1).label("c"), literal(0).label("s"),
               literal(0).label("r")).where(w.on(d.c.created_at, ts=True)),
        select(as_date(d.c.sent_at).label("day"), d.c.mo_id, literal(0), literal(1), literal(0)
               ).where(w.on(d.c.sent_at, ts=True)),
        select(as_date(d.c.status_at).label("day"), d.c.mo_id, literal(0), literal(0), literal(1)
               ).where(w.on(d.c.status_at, ts=True), d.c.status == "registered"),
    ).subquery("ev")
    cols = [events.c.day, month_of(events.c.day), m.c.district_id, events.c.mo_id]
    return select(*[c.label(n) for c, n in zip(cols, ["day", "month", "district_id", "mo_id"])],
                  func.sum(events.c.c).label("created"), func.sum(events.c.s).label("sent"),
                  func.sum(events.c.r).label("registered")
                  ).select_from(events.join(m, m.c.mo_id == events.c.mo_id)).group_by(*cols)


def _booking_base(w: Window):
    b, sp, m = s.booking, s.specialty, s.mo
    c1, c2 = s.calendar.alias("c1"), s.calendar.alias("c2")
    wd = c2.c.wd_index - c1.c.wd_index
    limit = case((b.c.suspicion != "none", case((sp.c.category == "diagnostic", 7), else_=3)), else_=14)
    within = case((sp.c.wait_norm == "h24", flag(b.c.slot_start <= b.c.booked_at + DAY)),
                  (sp.c.wait_norm == "wd14", flag(wd <= limit)), else_=0)
    days = as_date(b.c.slot_start) - as_date(b.c.booked_at)
    q = select(month_of(b.c.booked_at).label("month"), m.c.district_id, b.c.mo_id, b.c.doctor_id, b.c.specialty_id,
               sp.c.category.label("spec_category"), b.c.channel, b.c.suspicion, b.c.status,
               flag(sp.c.wait_norm != "none").label("normed"), within.label("within_norm"),
               flag(b.c.slot_start <= b.c.booked_at + DAY).label("within_24h"), days.label("wait_days")
               ).select_from(b.join(sp, sp.c.specialty_id == b.c.specialty_id).join(m, m.c.mo_id == b.c.mo_id)
                             .join(c1, c1.c.day == as_date(b.c.booked_at)).join(c2, c2.c.day == as_date(b.c.slot_start))
                             ).where(w.on(b.c.booked_at, ts=True))
    return q.subquery("bk")


def sel_booking(w: Window):
    bk = _booking_base(w)
    dims = [bk.c.month, bk.c.district_id, bk.c.mo_id, bk.c.doctor_id, bk.c.specialty_id, bk.c.spec_category,
            bk.c.channel, bk.c.suspicion]
    return select(*dims, func.count().label("bookings"), total(bk.c.status == "attended").label("attended"),
                  total(bk.c.status == "no_show").label("no_show"), total(bk.c.status == "cancelled").label("cancelled"),
                  total(bk.c.status == "booked").label("pending"), func.sum(bk.c.normed).label("normed"),
                  func.sum(bk.c.within_norm).label("within_norm"), func.sum(bk.c.within_24h).label("within_24h"),
                  func.sum(bk.c.wait_days).label("wait_days_sum")).group_by(*dims)


def _wait_select(w: Window, dims: list[str]):
    bk = _booking_base(w)
    wd = func.least(bk.c.wait_days, 91)
    cols = [bk.c[d] for d in dims]
    return select(*cols, wd.label("wait_days"), func.count().label("bookings")).group_by(*cols, wd)


def sel_wait_channel(w: Window):
    return _wait_select(w, ["month", "district_id", "mo_id", "spec_category", "channel"])


def sel_wait_spec(w: Window):
    return _wait_select(w, ["month", "district_id", "mo_id", "specialty_id", "spec_category"])


def sel_wait_hist(w: Window):
    """Summed over channels from mart_wait_channel (built just before it): no second pass over bookings."""
    t = mart_wait_channel
    dims = [t.c.month, t.c.district_id, t.c.mo_id, t.c.spec_category, t.c.wait_days]
    return select(*dims, func.sum(t.c.bookings).label("bookings")).where(w.on(t.c.month)).group_by(*dims)


def sel_slots(w: Window):
    sl, b, m, sp = s.slot, s.booking, s.mo, s.specialty
    mon = month_of(sl.c.slot_start)
    cols = [mon, m.c.district_id, sl.c.mo_id, sl.c.doctor_id, sl.c.specialty_id, sp.c.category]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "doctor_id", "specialty_id",
                                                      "spec_category"])],
                  func.count().label("slots"), total(sl.c.is_bookable.is_(True)).label("bookable"),
                  total(b.c.booking_id.is_not(None)).label("booked"), total(b.c.status == "attended").label("attended"),
                  total(b.c.status == "no_show").label("no_show"), total(b.c.status == "cancelled").label("cancelled"),
                  ).select_from(sl.join(m, m.c.mo_id == sl.c.mo_id).join(sp, sp.c.specialty_id == sl.c.specialty_id)
                                .outerjoin(b, b.c.slot_id == sl.c.slot_id)).where(w.on(sl.c.slot_start, ts=True)).group_by(*cols)


def sel_staff(w: Window):
    ms = months_subquery(w)
    p, m, sp, sl = s.staff_position, s.mo, s.specialty, s.slot
    open_docs = select(month_of(sl.c.slot_start).label("month"), sl.c.doctor_id).where(
        w.on(sl.c.slot_start, ts=True), sl.c.is_bookable.is_(True)).group_by(month_of(sl.c.slot_start), sl.c.doctor_id
                                                                          ).subquery("od")
    dims = [ms.c.month, m.c.district_id, p.c.mo_id, p.c.dept_id, p.c.specialty_id, sp.c.category]
    return select(*[c.label(n) for c, n in zip(dims, ["month", "district_id", "mo_id", "dept_id", "specialty_id",
                                                      "spec_category"])],
                  func.count().label("positions"), func.sum(p.c.rate).label("rates"),
                  total(p.c.doctor_id.is_not(None)).label("filled"), total(p.c.doctor_id.is_(None)).label("vacant"),
                  total(open_docs.c.doctor_id.is_not(None)).label("filled_open"),
                  ).select_from(ms.join(p, sa.true()).join(m, m.c.mo_id == p.c.mo_id)
                                .join(sp, sp.c.specialty_id == p.c.specialty_id)
                                .outerjoin(open_docs, and_(open_docs.c.doctor_id == p.c.doctor_id,
                                                           open_docs.c.month == ms.c.month))).group_by(*dims)


def sel_pregnancy(w: Window):
    ms = months_subquery(w)
    pr, m = s.pregnancy, s.mo
    end = month_end_of(ms.c.month)
    visits = select(s.pregnancy_visit.c.pregnancy_id, func.count().label("n")).group_by(
        s.pregnancy_visit.c.pregnancy_id).subquery("pv")
    births = pr.c.outcome.in_(["birth_term", "birth_preterm"])
    out_in = and_(pr.c.outcome_date >= ms.c.month, pr.c.outcome_date <= end)
    active = and_(pr.c.registered_date <= end, or_(pr.c.outcome_date.is_(None), pr.c.outcome_date > end))
    cols = [ms.c.month, m.c.district_id, pr.c.mo_id, pr.c.doctor_id]
    win = []
    for k, (lo, hi) in enumerate([(77, 104), (133, 153), (210, 244)], start=1):
        wend = pr.c.lmp_date + hi
        due = and_(wend >= ms.c.month, wend <= end, pr.c.registered_date <= wend,
                   or_(pr.c.outcome_date.is_(None), pr.c.outcome_date > wend))
        sc = pr.c[f"screening{k}_date"]
        win += [total(due).label(f"s{k}_due"),
                total(and_(due, sc >= pr.c.lmp_date + lo, sc <= wend)).label(f"s{k}_in_window")]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "doctor_id"])],
                  total(and_(pr.c.registered_date >= ms.c.month, pr.c.registered_date <= end)).label("registered"),
                  total(and_(pr.c.registered_date >= ms.c.month, pr.c.registered_date <= end,
                             pr.c.registered_week < 12)).label("registered_lt12"),
                  total(active).label("active_end"),
                  total(and_(active, pr.c.risk_group == "high")).label("high_risk_active"),
                  total(and_(out_in, births)).label("births"),
                  total(and_(out_in, pr.c.outcome == "birth_term")).label("births_term"),
                  total(and_(out_in, pr.c.outcome == "birth_preterm")).label("births_preterm"),
                  total(and_(out_in, ~births)).label("losses"),
                  total(and_(out_in, births, func.coalesce(visits.c.n, 0) >= 5)).label("births_5visits"),
                  *win,
                  ).select_from(ms.join(pr, and_(pr.c.registered_date <= end,
                                                 or_(pr.c.outcome_date.is_(None), pr.c.outcome_date >= ms.c.month - 250)))
                                .join(m, m.c.mo_id == pr.c.mo_id)
                                .outerjoin(visits, visits.c.pregnancy_id == pr.c.pregnancy_id)).group_by(*cols)


def sel_prevention(w: Window):
    ms = months_subquery(w)
    pl, x, m = s.prevention_plan, s.dispensary_exam, s.mo
    yr = sa.cast(sa.extract("year", ms.c.month), Integer)
    plans = select(ms.c.month, pl.c.mo_id, pl.c.program, (pl.c.planned / 12.0).label("plan_month"),
                   pl.c.planned.label("plan_year"), literal(0).label("s1"), literal(0).label("s2r"), literal(0).label("s2")
                   ).select_from(ms.join(pl, pl.c.year == yr))
    s1 = select(month_of(x.c.stage1_end).label("month"), x.c.mo_id, x.c.program, literal(0.0), literal(0),
                literal(1), flag(x.c.stage2_referred), literal(0)).where(w.on(x.c.stage1_end))
    s2 = select(month_of(x.c.stage2_end).label("month"), x.c.mo_id, x.c.program, literal(0.0), literal(0),
                literal(0), literal(0), literal(1)).where(w.on(x.c.stage2_end))
    u = sa.union_all(plans, s1, s2).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.program]
    return select(*cols, func.sum(u.c.plan_month).label("plan_month"), func.sum(u.c.plan_year).label("plan_year"),
                  func.sum(u.c.s1).label("stage1_done"), func.sum(u.c.s2r).label("stage2_referred"),
                  func.sum(u.c.s2).label("stage2_done")).select_from(u.join(m, m.c.mo_id == u.c.mo_id)).group_by(*cols)


COHORTS = {"DTP1": 12, "MMR1": 24, "MMR2": 84}  # age in months at which coverage is assessed


def sel_vaccination(w: Window):
    v, p, m = s.vaccination, s.patient, s.mo
    doses = select(month_of(v.c.vacc_date).label("month"), v.c.mo_id, v.c.vaccine, literal(1).label("d"),
                   literal(0).label("c"), literal(0).label("cv")).where(w.on(v.c.vacc_date))
    parts = [doses]
    y = sa.extract("year", p.c.birth_date)
    mo_ = sa.extract("month", p.c.birth_date)
    lo_idx = w.start.year * 12 + w.start.month - 1
    hi_idx = w.last.year * 12 + w.last.month - 1
    for vaccine, months in COHORTS.items():
        idx = y * 12 + mo_ - 1 + months  # month index at which the child reaches the age
        vv = v.alias(f"v_{vaccine}")
        got = select(vv.c.patient_id, func.min(vv.c.vacc_date).label("first")).where(
            vv.c.vaccine == vaccine).group_by(vv.c.patient_id).subquery(f"g_{vaccine}")
        age_day = p.c.birth_date + int(round(months * 30.44))
        month_col = sa.cast(func.date_trunc(sa.literal_column("'month'"),
                                            sa.cast(p.c.birth_date, DateTime) + dt.timedelta(days=int(round(months * 30.44)))),
                            Date)
        parts.append(select(month_col.label("month"), p.c.attach_mo_id.label("mo_id"), literal(vaccine),
                            literal(0), literal(1), flag(got.c.first <= age_day)
                            ).select_from(p.outerjoin(got, got.c.patient_id == p.c.patient_id)
                                          # the calendar-month prefilter (index-friendly) is one month wider
                                          # than the window: the age in days can cross into the next month,
                                          # and the outer WHERE on the exact month makes the cut
                                          ).where(p.c.attach_mo_id.is_not(None), idx >= lo_idx - 1, idx <= hi_idx + 1))
    u = sa.union_all(*parts).subquery("u")
    cols = [u.c.month, m.c.district_id, u.c.mo_id, u.c.vaccine]
    return select(*cols, func.sum(u.c.d).label("doses"), func.sum(u.c.c).label("cohort"),
                  func.sum(u.c.cv).label("covered")).select_from(u.join(m, m.c.mo_id == u.c.mo_id)
                                                                 ).where(u.c.month >= w.start, u.c.month < w.stop
                                                                         ).group_by(*cols)


SELECTS: dict[str, Callable[[Window], sa.Select]] = {
    "mart_visits": sel_visits, "mart_morbidity": sel_morbidity, "mart_population": sel_population,
    "mart_emd_coverage": sel_emd_coverage, "mart_emd_flow": sel_emd_flow, "mart_emd_reject": sel_emd_reject,
    "mart_emd_day": sel_emd_day, "mart_booking": sel_booking, "mart_wait_channel": sel_wait_channel,
    "mart_wait_spec": sel_wait_spec, "mart_wait_hist": sel_wait_hist,
    "mart_slots": sel_slots, "mart_staff": sel_staff, "mart_pregnancy": sel_pregnancy, "mart_prevention": sel_prevention,
    "mart_vaccination": sel_vaccination,
}
SELECTS.update({name: sel_rollup(name) for name in ROLLUPS})  # after their source marts


# ------------------------------------------------------------------ building
def _existing_columns(conn, table: str) -> list[str]:
    q = sa.text("select column_name from information_schema.columns where table_name = :t"
                + ("" if conn.dialect.name == "duckdb" else " and table_schema = current_schema()"))
    return [r[0] for r in conn.execute(q, {"t": table})]


def create_marts(db: Database) -> None:
    """Create the mart tables; a mart whose columns differ from the code (an upgrade) is dropped to be rebuilt."""
    with db.engine.begin() as conn:
        existing = {t.name: _existing_columns(conn, t.name) for t in marts.sorted_tables}
        for t in MART_TABLES:
            cols = existing[t.name]
            if cols and sorted(cols) != sorted(c.name for c in t.columns):
                conn.execute(sa.text(f'DROP TABLE "{t.name}"'))
                if existing[build_log.name]:
                    conn.execute(build_log.delete().where(build_log.c.mart == t.name))
        marts.create_all(conn, checkfirst=True)
        if not db.is_duckdb:
            for t in MART_TABLES:
                cols = "month, mo_id" if "mo_id" in t.c else "month"
                conn.execute(sa.text(f'CREATE INDEX IF NOT EXISTS ix_{t.name}_month ON "{t.name}" ({cols})'))


def data_months(db: Database) -> tuple[dt.date, dt.date] | None:
    """The first and last month of visits in the contract tables, or None when there are none."""
    with db.engine.connect() as conn:
        lo, hi = conn.execute(select(func.min(s.visit.c.visit_date), func.max(s.visit.c.visit_date))).one()
    if lo is None:
        return None
    return lo.replace(day=1), hi.replace(day=1)


timings: dict[str, float] = {}  # seconds per mart of the last build (for the benchmark)


def _build_part(db: Database, name: str, w: Window, now: dt.datetime) -> int:
    """Replace the window's months of one mart in one transaction; returns the rows inserted."""
    table = marts.tables[name]
    q = SELECTS[name](w)
    cols = [c.name for c in q.selected_columns]
    with db.engine.begin() as conn:
        if not db.is_duckdb:
            # aggregates of millions of rows hash in memory instead of spilling to disk
            conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))
        conn.execute(table.delete().where(w.on(table.c.month)))
        conn.execute(table.insert().from_select(cols, q))
        rows = conn.execute(select(month_of(table.c.month), func.count()).where(w.on(table.c.month))
                            .group_by(month_of(table.c.month))).all()
        conn.execute(build_log.delete().where(build_log.c.mart == name, w.on(build_log.c.month)))
        if rows:
            conn.execute(build_log.insert(), [{"mart": name, "month": m, "rows": n, "built_at": now} for m, n in rows])
    return sum(n for _, n in rows)


def build_marts(db: Database, month: dt.date | None = None, *,
                progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Build every mart for all months, or rebuild one month without touching the others.

    Returns the number of rows inserted per mart.
    """
    progress = progress or (lambda label, i, n: None)
    create_marts(db)
    span = data_months(db)
    if span is None:
        raise ValueError("В базе нет первичных данных: сначала загрузите их (flask --app app demo-data)")
    if month is not None:
        month = month.replace(day=1)
        if not (span[0] <= month <= span[1]):
            raise ValueError(f"Месяц {month:%m.%Y} вне периода данных {span[0]:%m.%Y}–{span[1]:%m.%Y}")
        w = Window(month, month)
    else:
        w = Window(*span)
    counts = {}
    timings.clear()
    now = dt.datetime.now().replace(microsecond=0)
    # One statement per mart for the whole window: month-sized statements side by side on several
    # PostgreSQL connections were measured twice as slow at scale 1.0 (each month re-scans the
    # large fact tables that have no index on the mart's date column).
    for i, name in enumerate(SELECTS):
        started = time.perf_counter()
        progress(f"Витрина {name}", i, len(SELECTS))
        counts[name] = _build_part(db, name, w, now)
        timings[name] = round(time.perf_counter() - started, 2)
    progress("Витрины построены", len(SELECTS), len(SELECTS))
    if not db.is_duckdb:
        with db.engine.begin() as conn:
            for t in MART_TABLES:
                conn.execute(sa.text(f'ANALYZE "{t.name}"'))
    return counts


def refresh_rollups(db: Database) -> None:
    """Rebuild every rollup from its mart for all the mart's months (after marts were written directly)."""
    create_marts(db)
    for name, (source, _dims) in ROLLUPS.items():
        src = marts.tables[source]
        with db.engine.connect() as conn:
            lo, hi = conn.execute(select(func.min(src.c.month), func.max(src.c.month))).one()
        if lo is None:
            continue
        w = Window(lo, hi)
        table = marts.tables[name]
        q = SELECTS[name](w)
        with db.engine.begin() as conn:
            conn.execute(table.delete().where(w.on(table.c.month)))
            conn.execute(table.insert().from_select([c.name for c in q.selected_columns], q))


def data_version(db: Database) -> str:
    """A token that changes whenever a mart is rebuilt (the cache key's salt)."""
    try:
        with db.engine.connect() as conn:
            v = conn.execute(select(func.max(build_log.c.built_at), func.count())).one()
        return f"{v[0]}|{v[1]}"
    except Exception:
        return "none"
