"""Mart tables: one per question grain, each with a ``month`` column; and the build log."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import BigInteger, Date, DateTime, Float, Integer, SmallInteger, String

marts = sa.MetaData()


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
             "reason": String(160), "wait_days": SmallInteger, "mo_kind": String(24),
             "age_band": String(6), "test": String(12), "delay_days": SmallInteger,
             "register": String(8), "criterion": String(20), "volume": String(12)}
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
                   _n("booked", "…занятые записью (без отменённых: ячейка с отменённой записью свободна)"),
                   _n("attended", "…пациент пришёл"), _n("no_show", "…неявка"),
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
                        _n("plan_year"), _n("stage1_done", "Завершили I этап"),
                        _n("stage2_referred", "…из них направлены на II этап"),
                        _n("stage2_done", "Завершили II этап (по месяцу завершения)"),
                        _n("stage2_full", "Направленные, прошедшие II этап полностью (по месяцу I этапа)"),
                        _n("stage2_partial", "…частично"), _n("stage2_none", "…не прошедшие"),
                        _n("pathology", "Выявлено заболевание"), _n("with_risk", "Выявлены факторы риска"),
                        _n("hg_1", "I группа здоровья"), _n("hg_2", "II группа здоровья"),
                        _n("hg_3a", "IIIа группа здоровья"), _n("hg_3b", "IIIб группа здоровья"),
                        doc="Профилактические осмотры и диспансеризация против плана; II этап, находки и группы "
                            "здоровья — по месяцу завершения I этапа.")
mart_prevention_band = _mart("mart_prevention_band", *_dims("district_id", "mo_id", "program", "age_band", "sex"),
                             sa.Column("plan_month", Float, nullable=False, default=0, doc="Годовой план / 12"),
                             _n("plan_year"), _n("stage1_done", "Завершили I этап"),
                             _n("attached", "Прикреплённые на 1 января (возраст — исполняющийся в году; запас: "
                                            "читается по последнему месяцу периода)"),
                             doc="Форма № 131/о, таблица 1000: прикреплённые, план и прошедшие по возрастным группам "
                                 "и полу.")
mart_vaccination = _mart("mart_vaccination", *_dims("district_id", "mo_id", "doctor_id", "vaccine"),
                         _n("doses", "Введённые дозы (по месяцу прививки)"),
                         _n("cohort", "Дети, достигшие в месяце возраста оценки охвата этой дозой"),
                         _n("covered", "…из них привитые к возрасту оценки"),
                         _n("covered_timely", "…из них привитые в срок (до возраста по календарю + 30 дней)"),
                         _n("started", "…из них получившие первую дозу серии к возрасту оценки"),
                         _n("dropped", "…из них начавшие серию, но не получившие эту дозу (выбывание)"),
                         _n("refused", "…из них с отказом от прививки на дату оценки"),
                         _n("exempt", "…из них с медицинским отводом на дату оценки"),
                         _n("adults", "Прикреплённые взрослые на конец месяца (запас; строки прививки ADSM)"),
                         _n("adults_boosted", "…из них с прививкой АДС-М за последние 10 лет"),
                         doc="Прививки национального календаря (приказ № 1122н): дозы и охват когорт по МО и участку "
                             "прикрепления; врач — участковый врач ребёнка.")
mart_vacc_delay = _mart("mart_vacc_delay", *_dims("district_id", "mo_id", "vaccine", "delay_days"), _n("doses"),
                        doc="Своевременность: дозы календаря по числу дней от возраста по календарю до прививки "
                            "(0 — в срок или раньше, 181 — больше 180).")
mart_screening = _mart("mart_screening", *_dims("district_id", "mo_id", "test"),
                       _n("tests", "Проведённые исследования"), _n("positives", "…из них с патологией"),
                       _n("followed_up", "…из них с диагностическим шагом в установленный срок"),
                       _n("followed_any", "…из них с диагностическим шагом в любой срок"),
                       sa.Column("target_month", Float, nullable=False, default=0,
                                 doc="Подлежащие исследованию в году прикреплённые / 12"),
                       doc="Онкоскрининг (приказ № 404н): исследования, положительные результаты и их дообследование "
                           "по месяцу исследования; целевая группа года.")

mart_register = _mart("mart_register", *_dims("district_id", "mo_id", "doctor_id", "register"),
                      _n("enrolled", "Состоят на диспансерном наблюдении на конец месяца"),
                      _n("added", "Поставлены на наблюдение в месяце"), _n("removed", "Сняты с наблюдения в месяце"),
                      _n("died", "…из них по причине смерти"),
                      _n("diagnosed", "Прикреплённые пациенты с диагнозом регистра в случаях за последние 12 месяцев "
                                      "(МО и врач — прикрепления)"),
                      _n("diagnosed_enrolled", "…из них состоят на наблюдении по регистру на конец месяца"),
                      _n("year_observed", "Состоят на наблюдении 12 месяцев и дольше на конец месяца"),
                      _n("visits_met", "…из них с числом диспансерных приёмов за 12 месяцев не меньше планового"),
                      _n("tested", "Состоящие, у кого за 12 месяцев есть значение целевого показателя регистра"),
                      _n("controlled", "…из них последнее значение достигает цели"),
                      _n("hospitalised", "Госпитализации состоящих на наблюдении с диагнозом регистра (по месяцу "
                                         "поступления)"),
                      doc="Регистры заболеваний (диспансерное наблюдение, приказ № 168н): численность, движение, "
                          "охват, частота приёмов, достижение целевых показателей, госпитализации; врач — "
                          "наблюдающий врач (для охвата — участковый врач прикрепления).")
mart_quality = _mart("mart_quality", *_dims("district_id", "mo_id", "doctor_id", "criterion"),
                     _n("cases", "Случаи, окно критерия которых закрылось в месяце (без исключённых)"),
                     _n("exempt", "Исключённые случаи (условие исключения критерия), в cases не входят"),
                     _n("done", "Случаи с выполненным событием в окне (1 балл)"),
                     _n("with_reason", "Случаи, где событие не выполнено, но в окне записана причина (0,5 балла)"),
                     sa.Column("score", Float, nullable=False, default=0,
                               doc="Сумма баллов по случаям (1; 0,5; 0)"),
                     doc="Критерии качества медицинской помощи (приказ № 203н): случаи и баллы по месяцу закрытия "
                         "окна критерия; врач и МО — поставившие на наблюдение или открывшие случай.")
mart_volume = _mart("mart_volume", *_dims("district_id", "mo_id", "volume"),
                    sa.Column("plan_month", Float, nullable=False, default=0, doc="Годовой план / 12"),
                    _n("fact", "Выполненный объём в месяце"),
                    doc="Объёмы амбулаторной помощи против плана: посещения, обращения по заболеванию, посещения "
                        "диспансерного наблюдения — только МО, у которых есть план этого вида на год.")

mart_contract = _mart("mart_contract", *_dims("district_id", "mo_id", "doctor_id"),
                      _n("visits_planned", "План посещений врача на месяц (план-задание)"),
                      _n("visits_fact", "Посещения врача в месяце в МО плана — только у врачей с планом"),
                      _n("complaints", "Жалобы, поступившие в месяце (врач пусто — на организацию)"),
                      _n("complaints_justified", "…из них признанные обоснованными (на рассмотрении — нет)"),
                      _n("survey_responses", "Анкеты пациентов после приёма, заполненные в месяце"),
                      _n("survey_satisfied", "…из них удовлетворённые оказанной помощью"),
                      _n("cancer_cases", "Впервые выявленные злокачественные новообразования (C00–C97) по месяцу "
                                         "диагноза; МО и врач — прикрепления пациента (участковый врач)"),
                      _n("cancer_neglected", "…из них запущенные: IV стадия или III стадия визуальной локализации"),
                      doc="Эффективный контракт врача: выполнение плана посещений, жалобы, удовлетворённость, "
                          "запущенные случаи рака.")
mart_contract_mo = _mart("mart_contract_mo", *_dims("district_id", "mo_id"),
                         *[sa.Column(n, Float, nullable=False, default=0, doc=d) for n, d in (
                             ("salary_fund_doctors", "Фонд зарплаты врачей за месяц: средняя зарплата × численность, "
                                                     "руб."),
                             ("wage_base_doctors", "Численность врачей × средняя зарплата в регионе за месяц "
                                                   "(последний опубликованный месяц не позже этого), руб."),
                             ("salary_fund_nurses", "Фонд зарплаты среднего медицинского персонала за месяц, руб."),
                             ("wage_base_nurses", "Численность среднего персонала × средняя зарплата в регионе, руб."),
                             ("staff_rates", "Штатные врачебные ставки государственной МО (текущее штатное "
                                             "расписание на каждый месяц)"),
                             ("staff_rates_filled", "…из них занятые (у должности есть врач)"))],
                         doc="Эффективный контракт руководителя: зарплата врачей и среднего персонала против средней "
                             "по региону, укомплектованность врачебных ставок.")

build_log = sa.Table(
    "mart_build_log", marts,
    sa.Column("mart", String(40), primary_key=True), sa.Column("month", Date, primary_key=True),
    sa.Column("rows", BigInteger, nullable=False), sa.Column("built_at", DateTime, nullable=False),
    info={"doc": "Когда и сколько строк построено в каждой витрине за каждый месяц."})
