"""The analytic contract: the primary data the module reads from a regional MIS (RMIS).

Every table and column carries its documentation (``doc`` / ``info``); ``docs/data-contract.md``
is generated from it by ``python -m data_access.contract_doc``. A real RMIS is mapped onto
these tables with views (see each table's ``mapping``).

Large fact tables have no primary-key constraint: DuckDB would maintain an ART index on
every bulk load; the key column is unique by construction and PostgreSQL gets indexes.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Integer, SmallInteger, String

from core import contract_data as K

metadata = sa.MetaData()


def C(name, type_, doc, **kw):
    """A column with its contract documentation."""
    kw.setdefault("nullable", False)
    return sa.Column(name, type_, doc=doc, **kw)


def T(name, *cols, source, mapping, doc, kind="reference"):
    return sa.Table(name, metadata, *cols, info={"source": source, "mapping": mapping, "doc": doc, "kind": kind})


# ---------------------------------------------------------------- reference data
district = T(
    "district",
    C("district_id", SmallInteger, "Код района (1–18)", primary_key=True, autoincrement=False),
    C("name", String(64), "Название района, например «Калининский»"),
    C("okato", String(11), "Код ОКАТО района, где известен", nullable=True),
    doc="Административные районы Санкт-Петербурга (18).",
    source="НСИ региона (справочник районов), ОКАТО",
    mapping="Справочник территорий РМИС; один ряд на район.",
)

district_population = T(
    "district_population",
    C("year", SmallInteger, "Год, на 1 января которого дана численность", primary_key=True, autoincrement=False),
    C("district_id", SmallInteger, "Район проживания", primary_key=True, autoincrement=False),
    C("sex", String(1), "Пол: M — мужской, F — женский", primary_key=True),
    C("age_group", SmallInteger, "Возрастная группа по 5 лет: 0 = 0–4, 1 = 5–9, …, 17 = 85+",
      primary_key=True, autoincrement=False),
    C("population", Integer, "Численность населения, человек"),
    doc="Численность населения районов по полу и возрастным группам на начало года.",
    source="Петростат (оценка численности) или регистр прикреплённого населения ТФОМС",
    mapping="Загружается ежегодно из таблицы Петростата; в демо-данных равна сумме прикреплённого населения района.",
)

mo = T(
    "mo",
    C("mo_id", Integer, "Код медицинской организации (МО)", primary_key=True, autoincrement=False),
    C("name", String(200), "Полное наименование"),
    C("short_name", String(80), "Краткое наименование для таблиц и графиков"),
    C("kind", String(24), "Тип МО: adult_polyclinic, children_polyclinic, womens_consultation, "
      "dental, hospital, maternity, diagnostic_center, private"),
    C("district_id", SmallInteger, "Район расположения"),
    C("parent_mo_id", Integer, "Головная МО для структурного подразделения (например, ЖК в составе поликлиники)",
      nullable=True),
    C("is_state", Boolean, "Государственная (true) или частная (false)"),
    C("has_attachment", Boolean, "Есть прикреплённое население (первичное звено)"),
    C("oid", String(64), "OID организации в ФРМО"),
    doc="Медицинские организации и их структурные подразделения.",
    source="ФРМО / региональный справочник МО",
    mapping="Представление над справочником МО РМИС; kind выводится из типа и профиля МО.",
)

department = T(
    "department",
    C("dept_id", Integer, "Код отделения", primary_key=True, autoincrement=False),
    C("mo_id", Integer, "МО"),
    C("name", String(120), "Наименование отделения"),
    C("profile", String(32), "Профиль: therapy, pediatrics, specialists, diagnostics, prevention, obstetrics, "
      "dental, inpatient, maternity, consult"),
    doc="Отделения (структурные подразделения) МО.",
    source="ФРМО (структура МО)",
    mapping="Справочник подразделений РМИС.",
)

specialty = T(
    "specialty",
    C("specialty_id", SmallInteger, "Код специальности", primary_key=True, autoincrement=False),
    C("code", String(32), "Мнемокод специальности"),
    C("name", String(80), "Наименование должности врача"),
    C("category", String(16), "Группа: primary (терапевт, педиатр, ВОП), specialist, diagnostic, dental, "
      "obstetric, inpatient"),
    C("wait_norm", String(8), "Норматив ожидания по ПГГ: h24 — 24 часа, wd14 — 14 рабочих дней, none — не нормируется"),
    doc="Специальности врачей и норматив ожидания записи по программе госгарантий.",
    source="НСИ 1.2.643.5.1.13.13.11.1002 (должности), ПГГ",
    mapping="Справочник должностей РМИС с привязкой к нормативу.",
)

doctor = T(
    "doctor",
    C("doctor_id", Integer, "Код врача", primary_key=True, autoincrement=False),
    C("full_name", String(120), "ФИО (в демо-данных вымышленные)"),
    C("sex", String(1), "Пол"),
    C("specialty_id", SmallInteger, "Основная специальность"),
    C("mo_id", Integer, "МО основного места работы"),
    C("dept_id", Integer, "Отделение"),
    doc="Врачи (медицинские работники с врачебной должностью).",
    source="ФРМР / кадровая подсистема РМИС",
    mapping="Представление над регистром медработников, основная должность.",
)

staff_position = T(
    "staff_position",
    C("position_id", Integer, "Код штатной должности", primary_key=True, autoincrement=False),
    C("mo_id", Integer, "МО"),
    C("dept_id", Integer, "Отделение"),
    C("specialty_id", SmallInteger, "Специальность"),
    C("rate", Float, "Ставка (1,0; 0,5; 0,25)"),
    C("doctor_id", Integer, "Занявший должность врач; пусто — вакансия", nullable=True),
    doc="Штатное расписание: врачебные должности, занятые и вакантные.",
    source="Кадровая подсистема РМИС (штатное расписание)",
    mapping="Одна строка на штатную единицу; занятость — по действующему назначению.",
)

patient = T(
    "patient",
    C("patient_id", BigInteger, "Код пациента (обезличенный)", primary_key=True, autoincrement=False),
    C("sex", String(1), "Пол"),
    C("birth_date", Date, "Дата рождения"),
    C("district_id", SmallInteger, "Район проживания"),
    C("attach_mo_id", Integer, "МО прикрепления (первичное звено); пусто — не прикреплён", nullable=True),
    C("area_doctor_id", Integer, "Участковый врач (терапевт, педиатр, ВОП) участка, к которому прикреплён пациент; "
      "пусто — участок не указан", nullable=True),
    doc="Прикреплённое население: пациенты с полом, датой рождения и МО прикрепления.",
    source="Регистр прикреплённого населения (ТФОМС / РМИС)",
    mapping="Представление над регистром прикрепления, без персональных данных (ФИО, СНИЛС не нужны модулю).",
)

calendar = T(
    "calendar",
    C("day", Date, "Дата", primary_key=True),
    C("is_working", Boolean, "Рабочий день по производственному календарю РФ"),
    C("wd_index", Integer, "Номер рабочего дня с начала календаря (для счёта рабочих дней)"),
    C("holiday", String(80), "Название праздника или переноса", nullable=True),
    doc="Производственный календарь РФ (праздники и переносы — библиотека holidays).",
    source="Производственный календарь (библиотека holidays)",
    mapping="Строится модулем; не требует данных РМИС.",
)

icd_class = T(
    "icd_class",
    C("class_num", SmallInteger, "Номер класса МКБ-10 (1–22)", primary_key=True, autoincrement=False),
    C("roman", String(6), "Римский номер класса"),
    C("code_from", String(3), "Первая трёхзначная рубрика"),
    C("code_to", String(3), "Последняя трёхзначная рубрика"),
    C("name", String(200), "Название класса по-русски"),
    doc="Классы МКБ-10 с диапазонами рубрик.",
    source="МКБ-10 (НСИ 1.2.643.5.1.13.13.11.1005)",
    mapping="Справочник модуля.",
)

emd_kind = T(
    "emd_kind",
    C("kind_code", String(16), "Код вида документа в модуле", primary_key=True),
    C("name", String(160), "Вид СЭМД по НСИ 1.2.643.5.1.13.13.11.1520"),
    C("basis", String(20), "Что порождает обязанность документа: outpatient_episode, inpatient_episode, "
      "birth, disp_exam; пусто — не нормируется", nullable=True),
    doc="Виды электронных медицинских документов (СЭМД).",
    source="НСИ 1.2.643.5.1.13.13.11.1520",
    mapping="Справочник видов СЭМД, отобранных для мониторинга.",
)

emd_requirement = T(
    "emd_requirement",
    C("mo_kind", String(24), "Тип МО", primary_key=True),
    C("kind_code", String(16), "Вид документа, который МО этого типа обязана передавать", primary_key=True),
    doc="Виды документов, обязательные к передаче по типу МО.",
    source="Региональный приказ о передаче СЭМД в РЭМД",
    mapping="Справочник модуля; ведётся МИАЦ.",
)

# ---------------------------------------------------------------- facts
care_episode = T(
    "care_episode",
    C("episode_id", BigInteger, "Код случая обслуживания (уникален)"),
    C("patient_id", BigInteger, "Пациент"),
    C("mo_id", Integer, "МО"),
    C("dept_id", Integer, "Отделение"),
    C("doctor_id", Integer, "Лечащий врач"),
    C("kind", String(12), "Условия: outpatient — амбулаторно, inpatient — стационар, maternity — роды"),
    C("purpose", String(12), "Цель: disease — заболевание, prevention — профилактика, "
      "dispensary — диспансерное наблюдение, urgent — неотложная помощь"),
    C("icd10", String(6), "Основной диагноз МКБ-10 (например J06.9)"),
    C("is_new_diagnosis", Boolean, "Диагноз установлен впервые"),
    C("opened_date", Date, "Дата открытия случая"),
    C("closed_date", Date, "Дата закрытия; пусто — случай не закрыт", nullable=True),
    C("closed_at", DateTime, "Момент закрытия случая (от него считается своевременность СЭМД)", nullable=True),
    C("visits_count", SmallInteger, "Число посещений в случае"),
    C("outcome", String(12), "Исход госпитализации: recovered — выздоровление, improved — улучшение, unchanged — без "
      "перемен, worse — ухудшение, died — смерть, transferred — переведён; пусто — амбулаторный случай или не закрыт",
      nullable=True),
    doc="Случаи обслуживания (обращения и госпитализации).",
    source="Подсистема ведения ЭМК РМИС (ТАП, КСГ)",
    mapping="Представление над талонами амбулаторного пациента и картами выбывшего из стационара.",
    kind="fact",
)

visit = T(
    "visit",
    C("visit_id", BigInteger, "Код посещения (уникален)"),
    C("episode_id", BigInteger, "Случай обслуживания"),
    C("visit_date", Date, "Дата посещения"),
    C("patient_id", BigInteger, "Пациент"),
    C("doctor_id", Integer, "Врач"),
    C("dept_id", Integer, "Отделение"),
    C("mo_id", Integer, "МО"),
    C("icd10", String(6), "Диагноз МКБ-10"),
    C("is_new_diagnosis", Boolean, "Диагноз установлен впервые"),
    C("purpose", String(12), "Цель посещения (как у случая)"),
    doc="Амбулаторные посещения.",
    source="Подсистема ведения ЭМК РМИС (посещения в ТАП)",
    mapping="Одна строка на посещение врача.",
    kind="fact",
)

slot = T(
    "slot",
    C("slot_id", BigInteger, "Код ячейки расписания (уникален)"),
    C("doctor_id", Integer, "Врач"),
    C("mo_id", Integer, "МО"),
    C("specialty_id", SmallInteger, "Специальность приёма"),
    C("slot_start", DateTime, "Начало приёма"),
    C("duration_min", SmallInteger, "Длительность, минут"),
    C("is_bookable", Boolean, "Открыта для записи (в том числе дистанционной)"),
    C("published_at", DateTime, "Когда ячейка опубликована в расписании"),
    doc="Ячейки расписания врачей.",
    source="Подсистема «Запись на приём» (расписание)",
    mapping="Представление над расписанием; одна строка на ячейку.",
    kind="fact",
)

booking = T(
    "booking",
    C("booking_id", BigInteger, "Код записи (уникален)"),
    C("slot_id", BigInteger, "Ячейка расписания"),
    C("patient_id", BigInteger, "Пациент"),
    C("booked_at", DateTime, "Момент обращения за записью"),
    C("slot_start", DateTime, "Начало приёма (из ячейки)"),
    C("channel", String(12), "Канал: portal — портал, call_center — колл-центр, infomat — инфомат, "
      "registry — регистратура, referral — по направлению врача"),
    C("specialty_id", SmallInteger, "Специальность"),
    C("doctor_id", Integer, "Врач"),
    C("mo_id", Integer, "МО"),
    C("suspicion", String(6), "Подозрение: none, onco — онкология, cvd — сердечно-сосудистое"),
    C("status", String(10), "Статус: attended — явился, no_show — неявка, cancelled — отменена, "
      "booked — ожидается"),
    doc="Записи на приём по всем каналам.",
    source="Подсистема «Запись на приём» (журнал записей)",
    mapping="Представление над журналом записей с полями ячейки.",
    kind="fact",
)

emd_document = T(
    "emd_document",
    C("doc_id", BigInteger, "Код документа (уникален)"),
    C("kind_code", String(16), "Вид СЭМД"),
    C("episode_id", BigInteger, "Случай обслуживания", nullable=True),
    C("patient_id", BigInteger, "Пациент"),
    C("mo_id", Integer, "МО-автор"),
    C("doctor_id", Integer, "Врач-автор"),
    C("created_at", DateTime, "Создан"),
    C("signed_at", DateTime, "Подписан ЭП", nullable=True),
    C("sent_at", DateTime, "Отправлен на регистрацию в РЭМД", nullable=True),
    C("status", String(20), "Статус: created, signed, sent, registered, rejected_regional, "
      "rejected_federal, transmission_error"),
    C("status_at", DateTime, "Момент последнего статуса (регистрации или отказа)", nullable=True),
    C("rejection_reason", String(160), "Причина отказа", nullable=True),
    doc="Электронные медицинские документы и их путь до регистрации в РЭМД.",
    source="Региональный сегмент ЕГИСЗ (РЭМД), журнал СЭМД РМИС",
    mapping="Представление над журналом отправки СЭМД; статус — последний ответ РЭМД.",
    kind="fact",
)

pregnancy = T(
    "pregnancy",
    C("pregnancy_id", BigInteger, "Код беременности"),
    C("patient_id", BigInteger, "Пациентка"),
    C("mo_id", Integer, "Женская консультация, где наблюдается"),
    C("doctor_id", Integer, "Врач акушер-гинеколог"),
    C("lmp_date", Date, "Первый день последней менструации (начало срока)"),
    C("registered_date", Date, "Дата постановки на учёт"),
    C("registered_week", SmallInteger, "Срок при постановке, полных недель"),
    C("risk_group", String(8), "Группа риска: low, medium, high"),
    C("screening1_date", Date, "Скрининг I триместра (11–14 нед.)", nullable=True),
    C("screening2_date", Date, "Скрининг II триместра (19–21 нед.)", nullable=True),
    C("screening3_date", Date, "Скрининг III триместра (30–34 нед.)", nullable=True),
    C("outcome", String(14), "Исход: birth_term, birth_preterm, miscarriage, abortion; пусто — наблюдается",
      nullable=True),
    C("outcome_date", Date, "Дата исхода", nullable=True),
    doc="Беременности, состоящие на учёте.",
    source="Подсистема «Мониторинг беременных» РМИС",
    mapping="Представление над регистром беременных; одна строка на беременность.",
    kind="fact",
)

pregnancy_visit = T(
    "pregnancy_visit",
    C("pregnancy_id", BigInteger, "Беременность"),
    C("visit_date", Date, "Дата явки"),
    C("doctor_id", Integer, "Врач"),
    doc="Явки беременных в женскую консультацию.",
    source="Подсистема «Мониторинг беременных» РМИС",
    mapping="Посещения с целью наблюдения беременности.",
    kind="fact",
)

prevention_plan = T(
    "prevention_plan",
    C("year", SmallInteger, "Год плана", primary_key=True, autoincrement=False),
    C("mo_id", Integer, "МО", primary_key=True, autoincrement=False),
    C("program", String(12), "Программа: disp — диспансеризация взрослых, prof — профосмотр взрослых, "
      "deep — углублённая диспансеризация, child_prof — профосмотры несовершеннолетних", primary_key=True),
    C("planned", Integer, "Плановое число осмотренных за год"),
    doc="План профилактических мероприятий (Приказ 404н) по МО.",
    source="Планы ТФОМС / КЗ",
    mapping="Годовой план по МО и программе.",
)

prevention_plan_band = T(
    "prevention_plan_band",
    C("year", SmallInteger, "Год плана", primary_key=True, autoincrement=False),
    C("mo_id", Integer, "МО", primary_key=True, autoincrement=False),
    C("program", String(12), "Программа (как в плане)", primary_key=True),
    C("age_band", String(6), "Возрастная группа формы № 131/о: 18-34, 35-39, 40-54, 55-59, 60-64, 65-74, 75+; "
      "для несовершеннолетних 0-4, 5-9, 10-14, 15-17", primary_key=True),
    C("sex", String(1), "Пол: M, F", primary_key=True),
    C("planned", Integer, "Плановое число осмотренных за год"),
    doc="План профилактических мероприятий по возрастным группам и полу (форма № 131/о, таблица 1000); "
        "по МО и программе в сумме равен годовому плану.",
    source="Планы ТФОМС / КЗ (поимённые списки на год)",
    mapping="Годовой план МО, разложенный по возрастным группам и полу.",
)

dispensary_exam = T(
    "dispensary_exam",
    C("exam_id", BigInteger, "Код осмотра"),
    C("patient_id", BigInteger, "Пациент"),
    C("mo_id", Integer, "МО"),
    C("program", String(12), "Программа (как в плане)"),
    C("doctor_id", Integer, "Врач, завершивший I этап"),
    C("episode_id", BigInteger, "Случай обслуживания, которым закрыт I этап", nullable=True),
    C("stage1_start", Date, "Начало I этапа"),
    C("stage1_end", Date, "Завершение I этапа"),
    C("stage2_referred", Boolean, "Направлен на II этап"),
    C("stage2_end", Date, "Завершение II этапа", nullable=True),
    C("health_group", String(4), "Группа здоровья: I, II, IIIa, IIIb"),
    C("stage2_result", String(8), "Итог II этапа для направленных: full — пройден полностью, partial — частично, "
      "none — не пройден; пусто — не направлен или II этап ещё идёт", nullable=True),
    C("pathology_found", Boolean, "Выявлено заболевание (впервые) по итогам осмотра", nullable=True),
    C("risk_factors", String(80), "Выявленные факторы риска — коды МКБ-10 через запятую (E78, R73.9, Z72.0, Z72.4, "
      "R63.5, E66, Z72.3, Z72.1, R54); пусто — не выявлены", nullable=True),
    doc="Профилактические осмотры и диспансеризация (I и II этапы).",
    source="Подсистема «Диспансеризация» РМИС (карта 131/у)",
    mapping="Одна строка на карту учёта диспансеризации.",
    kind="fact",
)

vaccination = T(
    "vaccination",
    C("vacc_id", BigInteger, "Код прививки"),
    C("patient_id", BigInteger, "Пациент"),
    C("mo_id", Integer, "МО"),
    C("vaccine", String(8), "Прививка — код дозы национального календаря (HEPB1…3, BCG, PCV1, PCV2, PCVR, DTP1…3, "
      "DTPR1, POL1…3, POLR1…3, MMR1, MMR2, ADSR2, ADSR3; см. раздел «Национальный календарь»), ADSM — АДС-М "
      "взрослым, FLU — грипп"),
    C("vacc_date", Date, "Дата"),
    doc="Проведённые профилактические прививки.",
    source="Подсистема «Иммунопрофилактика» РМИС",
    mapping="Одна строка на введённую дозу.",
    kind="fact",
)

vaccination_exemption = T(
    "vaccination_exemption",
    C("exemption_id", BigInteger, "Код записи"),
    C("patient_id", BigInteger, "Пациент"),
    C("mo_id", Integer, "МО, оформившая отказ или отвод"),
    C("vaccine", String(8), "Прививка (код дозы или серии: DTP, MMR…); пусто — все прививки", nullable=True),
    C("kind", String(8), "Вид: refusal — отказ законного представителя, medical — медицинский отвод"),
    C("start_date", Date, "Дата оформления"),
    C("end_date", Date, "Действует по (для временного отвода); пусто — бессрочно", nullable=True),
    doc="Отказы от прививок и медицинские отводы.",
    source="Подсистема «Иммунопрофилактика» РМИС",
    mapping="Одна строка на оформленный отказ или отвод.",
    kind="fact",
)

cancer_screening = T(
    "cancer_screening",
    C("screening_id", BigInteger, "Код исследования"),
    C("patient_id", BigInteger, "Пациент"),
    C("mo_id", Integer, "МО"),
    C("exam_id", BigInteger, "Карта диспансеризации", nullable=True),
    C("test", String(12), "Исследование: cytology, mammography, fobt, psa, egds"),
    C("test_date", Date, "Дата"),
    C("result", String(10), "Результат: normal, pathology"),
    C("followup_date", Date, "Дата диагностического шага по положительному результату (консультация онколога, "
      "уточняющее исследование); пусто — не проведён или результат нормальный", nullable=True),
    doc="Онкоскрининги в рамках диспансеризации (форма 131/у).",
    source="Подсистема «Диспансеризация» РМИС",
    mapping="Одна строка на исследование.",
    kind="fact",
)

# ---------------------------------------------------------------- registers and quality of care
dispensary_observation = T(
    "dispensary_observation",
    C("obs_id", BigInteger, "Код записи о диспансерном наблюдении"),
    C("patient_id", BigInteger, "Пациент"),
    C("mo_id", Integer, "МО, где пациент состоит на наблюдении"),
    C("doctor_id", Integer, "Врач, осуществляющий наблюдение"),
    C("icd10", String(6), "Диагноз, по которому установлено наблюдение (МКБ-10)"),
    C("start_date", Date, "Дата постановки на диспансерное наблюдение"),
    C("end_date", Date, "Дата снятия с наблюдения; пусто — состоит на наблюдении", nullable=True),
    C("end_reason", String(10), "Причина снятия: recovered — выздоровление (ремиссия), moved — выбыл, died — смерть, "
      "other — другая; пусто — состоит", nullable=True),
    C("visits_per_year", SmallInteger, "Плановая частота диспансерных приёмов в год (приказ № 168н)"),
    doc="Диспансерное наблюдение (приказ № 168н): постановка и снятие по диагнозу, врач, плановая частота приёмов.",
    source="Подсистема «Диспансерное наблюдение» РМИС (контрольная карта, форма № 030/у)",
    mapping="Одна строка на контрольную карту (пациент × диагноз × период наблюдения).",
    kind="fact",
)

lab_result = T(
    "lab_result",
    C("result_id", BigInteger, "Код результата"),
    C("patient_id", BigInteger, "Пациент"),
    C("mo_id", Integer, "МО, направившая на исследование"),
    C("doctor_id", Integer, "Направивший врач"),
    C("test", String(8), "Исследование: HBA1C, GLU, CREA, EGFR, CHOL, LDL, MAU, CBC, CRP, K, NA, UA; SBP — "
      "систолическое АД, измеренное на приёме (см. раздел «Регистры и критерии качества»)"),
    C("taken_date", Date, "Дата взятия материала (измерения)"),
    C("value", Float, "Значение; пусто — исследование не выполнено (тогда указана причина)", nullable=True),
    C("unit", String(20), "Единица измерения (%, ммоль/л, мкмоль/л, мл/мин/1,73 м², мг/л, г/л, мм рт. ст.)"),
    C("not_done_reason", String(20), "Почему не выполнено: refusal — отказ пациента, contraindication — "
      "противопоказание, unavailable — недоступно; пусто — выполнено", nullable=True),
    doc="Результаты лабораторных исследований (и измерения АД на приёме) для критериев качества и целевых "
        "показателей регистров.",
    source="Лабораторная информационная система, интегрированная с РМИС (СЭМД «Протокол лабораторного "
           "исследования»); АД — из протокола приёма",
    mapping="Одна строка на результат теста; невыполненное назначение — строка без значения с причиной.",
    kind="fact",
)

instrumental_study = T(
    "instrumental_study",
    C("study_id", BigInteger, "Код исследования"),
    C("patient_id", BigInteger, "Пациент"),
    C("mo_id", Integer, "МО, выполнившая (направившая) исследование"),
    C("doctor_id", Integer, "Направивший врач"),
    C("study", String(12), "Исследование: ECG — ЭКГ, XRAY_CHEST — рентгенография органов грудной клетки, "
      "ECHO — эхокардиография, SPIRO — спирометрия"),
    C("study_date", Date, "Дата исследования"),
    C("pathology", Boolean, "Заключение: выявлена патология; пусто — не выполнено", nullable=True),
    C("not_done_reason", String(20), "Почему не выполнено (как в lab_result); пусто — выполнено", nullable=True),
    doc="Инструментальные исследования.",
    source="РМИС (протоколы инструментальных исследований, СЭМД «Протокол инструментального исследования»)",
    mapping="Одна строка на исследование; невыполненное назначение — строка с причиной.",
    kind="fact",
)

prescription = T(
    "prescription",
    C("rx_id", BigInteger, "Код назначения"),
    C("patient_id", BigInteger, "Пациент"),
    C("mo_id", Integer, "МО"),
    C("doctor_id", Integer, "Назначивший врач"),
    C("drug_group", String(8), "Группа препаратов: ANTIHYP, STATIN, ANTIPLT, HYPOGLY, ANTIBIO, BRONCH "
      "(см. раздел «Регистры и критерии качества»)"),
    C("rx_date", Date, "Дата назначения"),
    C("not_done_reason", String(20), "Почему не назначено, если врач записал причину (как в lab_result); "
      "пусто — назначено", nullable=True),
    doc="Назначения лекарственных препаратов по группам.",
    source="РМИС (лист назначений, льготные рецепты, СЭМД «Рецепт»)",
    mapping="Одна строка на назначение; группа — по АТХ-коду препарата.",
    kind="fact",
)

volume_plan = T(
    "volume_plan",
    C("year", SmallInteger, "Год плана", primary_key=True, autoincrement=False),
    C("mo_id", Integer, "МО", primary_key=True, autoincrement=False),
    C("kind", String(12), "Объём: visits — посещения, episodes — обращения по заболеванию, dispensary — "
      "посещения диспансерного наблюдения", primary_key=True),
    C("planned", Integer, "Плановый объём на год"),
    doc="Плановые объёмы амбулаторной помощи по МО (территориальная программа госгарантий).",
    source="Решения комиссии по разработке ТП ОМС (ТФОМС)",
    mapping="Годовой план по МО и виду объёма.",
)

# ---------------------------------------------------------------- the effective contract
employment = T(
    "employment",
    C("assignment_id", Integer, "Код назначения", primary_key=True, autoincrement=False),
    C("personnel_no", String(16), "Табельный номер (в МО); у одного работника один номер во всех его назначениях в МО"),
    C("full_name", String(120), "ФИО работника (в демо-данных вымышленные)"),
    C("doctor_id", Integer, "Врач (код в doctor), чьи клинические данные оцениваются; пусто — руководитель или "
      "работник без врачебного приёма", nullable=True),
    C("mo_id", Integer, "МО"),
    C("dept_id", Integer, "Отделение; пусто — администрация", nullable=True),
    C("position", String(24), "Должность по эффективному контракту: " + K.codes_text(K.POSITIONS)),
    C("rate", Float, "Ставка (1,0; 0,5; 0,25)"),
    C("start_date", Date, "Первый день работы в должности"),
    C("end_date", Date, "Последний день работы в должности (включительно); пусто — работает", nullable=True),
    doc="Кадровые назначения: кто, в какой МО, должности и на какой ставке работал с какого по какой день "
        "(эффективный контракт оценивает работника за дни назначения).",
    source="Кадровая подсистема РМИС (приказы о приёме, переводе и увольнении), ФРМР",
    mapping="Одна строка на назначение; перевод — конец прежнего назначения накануне и новое с тем же табельным "
            "номером; назначения одного работника не пересекаются.",
)

doctor_plan = T(
    "doctor_plan",
    C("month", Date, "Месяц плана (первое число)"),
    C("doctor_id", Integer, "Врач"),
    C("mo_id", Integer, "МО, где план выполняется"),
    C("visits_planned", Integer, "Плановое число посещений врача в месяце"),
    doc="План-задание врачам амбулаторного приёма: посещения на месяц.",
    source="План-задание МО (распределение объёмов ТП ОМС по врачам приказом главного врача)",
    mapping="Одна строка на врача, МО и месяц.",
    kind="fact",
)

complaint = T(
    "complaint",
    C("complaint_id", BigInteger, "Код обращения (уникален)"),
    C("received_date", Date, "Дата поступления"),
    C("mo_id", Integer, "МО, на которую поступила жалоба"),
    C("doctor_id", Integer, "Врач, на которого жалоба; пусто — на организацию в целом", nullable=True),
    C("justified", Boolean, "Признана обоснованной (true) или необоснованной (false); пусто — на рассмотрении",
      nullable=True),
    C("topic", String(24), "Тема: " + K.codes_text(K.COMPLAINT_TOPICS)),
    doc="Жалобы граждан на медицинскую помощь и их итог рассмотрения.",
    source="Журнал обращений граждан МО и Комитета по здравоохранению (письменные, электронные, через портал)",
    mapping="Одна строка на жалобу; итог — по заключению комиссии.",
    kind="fact",
)

patient_survey = T(
    "patient_survey",
    C("response_id", BigInteger, "Код анкеты (уникален)"),
    C("answered_date", Date, "Дата заполнения"),
    C("mo_id", Integer, "МО"),
    C("doctor_id", Integer, "Врач, после приёма которого заполнена анкета"),
    C("satisfied", Boolean, "Пациент удовлетворён оказанной помощью"),
    doc="Анкетирование пациентов после приёма (удовлетворённость медицинской помощью).",
    source="Анкетирование на портале «Здоровье петербуржца», в инфоматах и по SMS после приёма",
    mapping="Одна строка на заполненную анкету; удовлетворён — ответ «удовлетворён» или «скорее удовлетворён».",
    kind="fact",
)

cancer_case = T(
    "cancer_case",
    C("case_id", BigInteger, "Код случая (уникален)"),
    C("patient_id", BigInteger, "Пациент"),
    C("diagnosis_date", Date, "Дата установления диагноза"),
    C("icd10", String(6), "Диагноз МКБ-10 (злокачественное новообразование C00–C97)"),
    C("stage", SmallInteger, "Стадия при установлении диагноза (1–4); пусто — не установлена", nullable=True),
    C("mo_id", Integer, "МО, установившая диагноз"),
    doc="Впервые выявленные злокачественные новообразования (для запущенности: IV стадия, III — при визуальных "
        f"локализациях {K.VISUAL_SITES_TEXT}).",
    source="Популяционный канцер-регистр (извещения о больном с впервые установленным диагнозом, форма № 090/у)",
    mapping="Одна строка на впервые выявленное новообразование.",
    kind="fact",
)

salary = T(
    "salary",
    C("month", Date, "Месяц (первое число)"),
    C("mo_id", Integer, "МО"),
    C("staff_group", String(12), "Категория персонала: " + K.codes_text(K.STAFF_GROUPS)),
    C("avg_salary", Float, "Средняя начисленная заработная плата за месяц, руб."),
    C("headcount", Float, "Среднесписочная численность за месяц, человек"),
    doc="Средняя заработная плата персонала МО по категориям за месяц.",
    source="Мониторинг заработной платы работников здравоохранения (форма ЗП-здрав), бухгалтерия МО",
    mapping="Одна строка на МО, категорию персонала и месяц.",
    kind="fact",
)

regional_wage = T(
    "regional_wage",
    C("month", Date, "Месяц (первое число)", primary_key=True),
    C("avg_wage", Float, "Среднемесячная начисленная заработная плата в Санкт-Петербурге, руб."),
    doc="Средняя заработная плата в регионе (база соотношения зарплаты медицинских работников).",
    source="Петростат (среднемесячная начисленная заработная плата работников организаций)",
    mapping="Одна строка на месяц, по мере публикации.",
)

FACT_TABLES = [t for t in metadata.sorted_tables if t.info["kind"] == "fact"]

# The date that places a fact row in a month: the column the marts group the table by, the period the
# data-status page shows, and the months a file import replaces.
MONTH_COLUMNS = {
    "care_episode": "opened_date", "visit": "visit_date", "slot": "slot_start", "booking": "booked_at",
    "emd_document": "created_at", "pregnancy": "registered_date", "pregnancy_visit": "visit_date",
    "dispensary_exam": "stage1_end", "vaccination": "vacc_date", "cancer_screening": "test_date",
    "vaccination_exemption": "start_date", "dispensary_observation": "start_date", "lab_result": "taken_date",
    "instrumental_study": "study_date", "prescription": "rx_date", "doctor_plan": "month", "complaint": "received_date",
    "patient_survey": "answered_date", "cancer_case": "diagnosis_date", "salary": "month",
}
REFERENCE_TABLES = [t for t in metadata.sorted_tables if t.info["kind"] == "reference"]
CONTRACT_TABLES = list(metadata.sorted_tables)

# Indexes only PostgreSQL needs: DuckDB prunes by zone maps and pays for indexes on load.
PG_INDEXES = [
    ("visit", ["visit_date"]), ("care_episode", ["closed_date"]), ("care_episode", ["opened_date"]),
    ("booking", ["booked_at"]), ("slot", ["slot_start"]), ("emd_document", ["created_at"]),
    ("pregnancy", ["registered_date"]), ("pregnancy_visit", ["pregnancy_id"]),
    ("dispensary_exam", ["stage1_end"]), ("vaccination", ["vacc_date"]), ("patient", ["attach_mo_id"]),
    ("vaccination", ["patient_id"]), ("vaccination_exemption", ["patient_id"]), ("dispensary_exam", ["patient_id"]),
    ("cancer_screening", ["patient_id"]), ("patient", ["area_doctor_id"]), ("visit", ["patient_id", "visit_date"]),
    ("care_episode", ["episode_id"]), ("booking", ["slot_id"]), ("slot", ["slot_id"]), ("emd_document", ["episode_id"]),
    ("dispensary_observation", ["patient_id"]), ("dispensary_observation", ["start_date"]),
    ("lab_result", ["patient_id", "taken_date"]), ("instrumental_study", ["patient_id", "study_date"]),
    ("prescription", ["patient_id", "rx_date"]), ("care_episode", ["patient_id"]),
    ("doctor_plan", ["month"]), ("complaint", ["received_date"]), ("patient_survey", ["answered_date"]),
    ("cancer_case", ["diagnosis_date"]), ("salary", ["month"]), ("employment", ["doctor_id"]),
]
