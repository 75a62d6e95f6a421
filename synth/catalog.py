"""Calibration tables for the synthetic RMIS (facts.md, sections cited inline)."""
from __future__ import annotations

import numpy as np

CITY_POPULATION = 5_597_763  # Rosstat 2024, facts §1

# name, OKATO where public, recent population (facts §1; 2018 weight × 1.08 where no recent figure),
# age tilt (>0 older than the city, <0 younger): the old centre and the new-build periphery.
DISTRICTS = [
    ("Адмиралтейский", "40262", 163_591, 0.15),
    ("Василеостровский", None, 209_587, 0.15),
    ("Выборгский", None, 540_000, -0.15),
    ("Калининский", None, 538_258, 0.0),
    ("Кировский", None, 336_404, 0.10),
    ("Колпинский", None, 188_688, 0.12),
    ("Красногвардейский", None, 357_906, 0.0),
    ("Красносельский", None, 419_779, -0.15),
    ("Кронштадтский", None, 44_500, 0.05),
    ("Курортный", None, 83_700, 0.20),
    ("Московский", None, 345_298, 0.15),
    ("Невский", None, 548_800, -0.05),
    ("Петроградский", None, 133_626, 0.20),
    ("Петродворцовый", None, 141_103, -0.05),
    ("Приморский", None, 704_000, -0.20),
    ("Пушкинский", None, 233_856, -0.15),
    ("Фрунзенский", None, 383_799, 0.10),
    ("Центральный", "40298", 200_654, 0.25),
]

# City age structure, 5-year groups 0–4 … 85+ (share of population); children ≈ 18 % (facts §1).
AGE_SHARE = np.array([5.3, 6.0, 5.3, 4.3, 4.5, 5.6, 8.0, 9.0, 8.2, 7.0, 6.0, 5.6, 6.3, 6.3, 5.0, 2.8, 2.3, 2.5])
AGE_SHARE = AGE_SHARE / AGE_SHARE.sum()
# Share of women in each age group (women ≈ 54.7 % of the city, facts §1).
FEMALE_SHARE = np.array([0.486, 0.486, 0.486, 0.49, 0.50, 0.50, 0.51, 0.51, 0.53, 0.53,
                         0.56, 0.56, 0.61, 0.61, 0.67, 0.67, 0.74, 0.76])
AGE_MID = np.arange(18) * 5 + 2.5

# id, code, Russian name, category, waiting norm (facts §2)
SPECIALTIES = [
    (1, "therapist", "Врач-терапевт участковый", "primary", "h24"),
    (2, "gp", "Врач общей практики", "primary", "h24"),
    (3, "pediatrician", "Врач-педиатр участковый", "primary", "h24"),
    (4, "cardiologist", "Врач-кардиолог", "specialist", "wd14"),
    (5, "neurologist", "Врач-невролог", "specialist", "wd14"),
    (6, "surgeon", "Врач-хирург", "specialist", "wd14"),
    (7, "traumatologist", "Врач-травматолог-ортопед", "specialist", "wd14"),
    (8, "ophthalmologist", "Врач-офтальмолог", "specialist", "wd14"),
    (9, "ent", "Врач-оториноларинголог", "specialist", "wd14"),
    (10, "endocrinologist", "Врач-эндокринолог", "specialist", "wd14"),
    (11, "urologist", "Врач-уролог", "specialist", "wd14"),
    (12, "gynecologist", "Врач-акушер-гинеколог", "obstetric", "wd14"),
    (13, "oncologist", "Врач-онколог", "specialist", "wd14"),
    (14, "gastroenterologist", "Врач-гастроэнтеролог", "specialist", "wd14"),
    (15, "pulmonologist", "Врач-пульмонолог", "specialist", "wd14"),
    (16, "dermatologist", "Врач-дерматовенеролог", "specialist", "wd14"),
    (17, "infectionist", "Врач-инфекционист", "specialist", "wd14"),
    (18, "psychotherapist", "Врач-психотерапевт", "specialist", "wd14"),
    (19, "dentist", "Врач-стоматолог", "dental", "none"),
    (20, "ultrasound", "Врач ультразвуковой диагностики", "diagnostic", "wd14"),
    (21, "radiologist", "Врач-рентгенолог (рентген, КТ, МРТ)", "diagnostic", "wd14"),
    (22, "functional", "Врач функциональной диагностики", "diagnostic", "wd14"),
    (23, "prevention", "Врач по медицинской профилактике", "prevention", "none"),
    (24, "hospitalist", "Врач-специалист стационара", "inpatient", "none"),
    (25, "obstetrician_inp", "Врач-акушер-гинеколог родильного дома", "inpatient", "none"),
]
SPEC_ID = {code: sid for sid, code, *_ in SPECIALTIES}

# Organisation counts for the whole city (facts §1: ~164 primary-care, 700+ in all with private).
# kind: (people of its base served per organisation, minimum per district, name, short name).
# Bases: adults for adult polyclinics, children for children's, women 15–64 for consultations,
# the whole population otherwise.
MO_PLAN = {
    "adult_polyclinic": (45_000, 1, "СПб ГБУЗ «Городская поликлиника № {n}»", "Поликлиника № {n}"),
    "children_polyclinic": (27_000, 1, "СПб ГБУЗ «Детская городская поликлиника № {n}»", "Детская пол-ка № {n}"),
    "womens_consultation": (40_000, 1, "Женская консультация № {n}", "ЖК № {n}"),
    "dental": (150_000, 1, "СПб ГБУЗ «Стоматологическая поликлиника № {n}»", "Стомат. пол-ка № {n}"),
    "hospital": (100_000, 1, "СПб ГБУЗ «Городская больница № {n}»", "Больница № {n}"),
    "maternity": (350_000, 0, "СПб ГБУЗ «Родильный дом № {n}»", "Роддом № {n}"),
    "diagnostic_center": (450_000, 0, "СПб ГБУЗ «Консультативно-диагностический центр № {n}»", "КДЦ № {n}"),
    "private": (14_000, 2, "ООО «{brand}»", "{brand}"),
}
PRIVATE_BRANDS = ["Медицентр", "Здоровье", "Первая клиника", "Семейный доктор", "Медика", "Альфа-мед",
                  "Клиника на Неве", "Балтмед", "Поликлиника плюс", "Доктор рядом", "Северная клиника",
                  "Медлайн", "Эскулап", "Династия", "Мединцентр", "Евромед", "Авиценна", "Гиппократ",
                  "Добрый доктор", "Меди-Ком", "Санитас", "Вита", "Элит-мед", "Линия жизни"]

# Departments per organisation kind: (name, profile, [(specialty code, full-scale positions per
# 10,000 people served)]). The first specialty of a department is its core and always staffed.
MO_DEPARTMENTS = {
    "adult_polyclinic": [
        ("Терапевтическое отделение № 1", "therapy", [("therapist", 3.0), ("gp", 0.3)]),
        ("Терапевтическое отделение № 2", "therapy", [("therapist", 3.0), ("gp", 0.3)]),
        ("Отделение специализированной помощи", "specialists", [
            ("cardiologist", 0.5), ("neurologist", 0.5), ("surgeon", 0.4), ("traumatologist", 0.35),
            ("ophthalmologist", 0.5), ("ent", 0.4), ("endocrinologist", 0.35), ("urologist", 0.25),
            ("oncologist", 0.2), ("gastroenterologist", 0.15), ("pulmonologist", 0.12),
            ("dermatologist", 0.15), ("infectionist", 0.12), ("psychotherapist", 0.08)]),
        ("Отделение лучевой и функциональной диагностики", "diagnostics", [
            ("ultrasound", 0.6), ("radiologist", 0.4), ("functional", 0.4)]),
        ("Отделение медицинской профилактики", "prevention", [("prevention", 0.35)]),
    ],
    "children_polyclinic": [
        ("Педиатрическое отделение", "pediatrics", [("pediatrician", 12.0)]),
        ("Отделение специализированной помощи детям", "specialists", [
            ("neurologist", 1.0), ("ophthalmologist", 1.0), ("ent", 1.0), ("surgeon", 0.7),
            ("traumatologist", 0.7), ("endocrinologist", 0.5), ("gastroenterologist", 0.4),
            ("cardiologist", 0.5), ("dermatologist", 0.4)]),
        ("Диагностическое отделение", "diagnostics", [("ultrasound", 1.0), ("functional", 0.4)]),
    ],
    "womens_consultation": [
        ("Акушерско-гинекологическое отделение", "obstetrics", [("gynecologist", 2.0), ("ultrasound", 0.3)]),
    ],
    "dental": [
        ("Терапевтическое стоматологическое отделение", "dental", [("dentist", 2.0)]),
        ("Хирургическое стоматологическое отделение", "dental", [("dentist", 0.6)]),
    ],
    "hospital": [
        ("Консультативно-диагностическая поликлиника", "consult", [
            ("cardiologist", 0.3), ("neurologist", 0.3), ("surgeon", 0.3), ("urologist", 0.2),
            ("oncologist", 0.2), ("ultrasound", 0.3), ("radiologist", 0.3)]),
        ("Терапевтическое отделение (стационар)", "inpatient", [("hospitalist", 1.2)]),
        ("Хирургическое отделение (стационар)", "inpatient", [("hospitalist", 1.0)]),
        ("Кардиологическое отделение (стационар)", "inpatient", [("hospitalist", 0.8)]),
        ("Неврологическое отделение (стационар)", "inpatient", [("hospitalist", 0.8)]),
    ],
    "maternity": [
        ("Родовое отделение", "maternity", [("obstetrician_inp", 0.6)]),
        ("Отделение патологии беременности", "maternity", [("obstetrician_inp", 0.3)]),
    ],
    "diagnostic_center": [
        ("Консультативное отделение", "specialists", [
            ("cardiologist", 0.1), ("neurologist", 0.1), ("oncologist", 0.08), ("endocrinologist", 0.08),
            ("gastroenterologist", 0.06), ("pulmonologist", 0.05)]),
        ("Отделение лучевой диагностики", "diagnostics", [("radiologist", 0.25), ("ultrasound", 0.2),
                                                           ("functional", 0.12)]),
    ],
    "private": [
        ("Лечебно-диагностическое отделение", "specialists", [
            ("therapist", 1.5), ("gynecologist", 1.0), ("neurologist", 0.6), ("ent", 0.5),
            ("ophthalmologist", 0.5), ("cardiologist", 0.4), ("urologist", 0.4), ("dermatologist", 0.4),
            ("ultrasound", 1.0), ("dentist", 1.2)]),
    ],
}

# ---------------------------------------------------------------- morbidity
# Age profiles over the 18 five-year groups.
_mid = AGE_MID


def _profile(name: str) -> np.ndarray:
    if name == "child":
        return np.array([3.0, 2.4, 1.5, 0.8, 0.55, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.55, 0.55, 0.6, 0.65, 0.65, 0.65])
    if name == "chronic":
        p = np.exp(0.065 * (_mid - 60))
        p[_mid < 18] = 0.01
        return p
    if name == "elderly":
        p = np.exp(0.09 * (_mid - 72))
        p[_mid < 30] = 0.005
        return p
    if name == "adult":
        p = np.ones(18)
        p[_mid < 18] = 0.25
        return p
    if name == "young":
        return np.array([0.5, 0.8, 1.1, 1.4, 1.4, 1.3, 1.2, 1.1, 1.0, 0.95, 0.9, 0.85, 0.8, 0.8, 0.8, 0.9, 1.0, 1.1])
    if name == "repro":
        p = np.where((_mid > 15) & (_mid < 50), 1.0, 0.05)
        return p
    if name == "infant":
        return np.where(_mid < 5, 1.0, 0.0)
    return np.ones(18)  # flat


# Seasonal multipliers, January … December.
SEASON = {
    "resp": np.array([1.6, 1.7, 1.35, 1.05, 0.8, 0.6, 0.5, 0.55, 0.9, 1.2, 1.35, 1.5]),
    "flu": np.array([2.6, 2.9, 1.5, 0.6, 0.2, 0.1, 0.1, 0.1, 0.3, 0.7, 1.2, 1.9]),
    "injury": np.array([1.3, 1.25, 1.0, 0.95, 1.0, 1.05, 1.05, 1.0, 0.95, 0.9, 0.95, 1.15]),
    "spring": np.array([1.0, 1.2, 1.4, 1.4, 1.2, 0.8, 0.5, 0.5, 0.7, 0.9, 1.0, 1.0]),
    "flat": np.array([1.0, 1.0, 1.05, 1.0, 0.95, 0.85, 0.8, 0.85, 1.0, 1.05, 1.05, 1.0]),
}

# code, relative annual rate at profile 1, profile, female × , male ×, season, chronic, specialist, share to specialist
ICD_CATALOG = [
    ("J06.9", 0.45, "child", 1, 1, "resp", False, None, 0),
    ("J20.9", 0.06, "child", 1, 1, "resp", False, "pulmonologist", 0.05),
    ("J18.9", 0.012, "flat", 1, 1.1, "resp", False, "pulmonologist", 0.2),
    ("J02.9", 0.05, "child", 1, 1, "resp", False, "ent", 0.1),
    ("J03.9", 0.03, "child", 1, 1, "resp", False, "ent", 0.2),
    ("J01.9", 0.025, "adult", 1.1, 1, "resp", False, "ent", 0.5),
    ("J11.1", 0.02, "flat", 1, 1, "flu", False, None, 0),
    ("J45.9", 0.03, "adult", 1.1, 1, "flat", True, "pulmonologist", 0.3),
    ("J44.9", 0.02, "elderly", 0.7, 1.6, "resp", True, "pulmonologist", 0.3),
    ("J30.4", 0.015, "young", 1, 1, "spring", True, "ent", 0.3),
    ("I10", 0.22, "chronic", 1.05, 1, "flat", True, "cardiologist", 0.15),
    ("I11.9", 0.12, "chronic", 1.05, 1, "flat", True, "cardiologist", 0.2),
    ("I25.1", 0.10, "chronic", 0.85, 1.2, "flat", True, "cardiologist", 0.35),
    ("I20.8", 0.02, "chronic", 0.8, 1.3, "flat", True, "cardiologist", 0.5),
    ("I48.0", 0.02, "elderly", 1, 1.1, "flat", True, "cardiologist", 0.5),
    ("I63.9", 0.006, "elderly", 1, 1.2, "flat", False, "neurologist", 0.6),
    ("I67.8", 0.05, "elderly", 1.1, 1, "flat", True, "neurologist", 0.5),
    ("I83.9", 0.02, "adult", 1.5, 0.6, "flat", True, "surgeon", 0.6),
    ("I50.0", 0.015, "elderly", 1, 1.1, "flat", True, "cardiologist", 0.3),
    ("E11.9", 0.06, "chronic", 1.1, 1, "flat", True, "endocrinologist", 0.4),
    ("E03.9", 0.025, "adult", 2.5, 0.4, "flat", True, "endocrinologist", 0.6),
    ("E66.0", 0.015, "adult", 1.2, 0.9, "flat", True, "endocrinologist", 0.3),
    ("E78.0", 0.02, "chronic", 1, 1, "flat", True, "cardiologist", 0.2),
    ("M54.5", 0.08, "adult", 1.1, 1, "flat", False, "neurologist", 0.4),
    ("M17.9", 0.035, "chronic", 1.4, 0.7, "flat", True, "traumatologist", 0.5),
    ("M42.1", 0.03, "adult", 1.1, 1, "flat", True, "neurologist", 0.4),
    ("M81.0", 0.01, "elderly", 3.5, 0.3, "flat", True, "traumatologist", 0.4),
    ("M79.1", 0.01, "adult", 1, 1, "flat", False, None, 0),
    ("H52.1", 0.05, "flat", 1, 1, "flat", True, "ophthalmologist", 0.9),
    ("H10.9", 0.025, "child", 1, 1, "spring", False, "ophthalmologist", 0.4),
    ("H25.9", 0.02, "elderly", 1.2, 0.9, "flat", True, "ophthalmologist", 0.9),
    ("H40.1", 0.015, "elderly", 1, 1, "flat", True, "ophthalmologist", 0.9),
    ("H65.9", 0.02, "child", 1, 1, "resp", False, "ent", 0.7),
    ("H66.9", 0.015, "child", 1, 1, "resp", False, "ent", 0.7),
    ("H61.2", 0.01, "flat", 1, 1, "flat", False, "ent", 0.8),
    ("H90.3", 0.01, "elderly", 1, 1.2, "flat", True, "ent", 0.8),
    ("K29.7", 0.05, "adult", 1, 1, "flat", True, "gastroenterologist", 0.25),
    ("K21.9", 0.02, "adult", 1, 1, "flat", True, "gastroenterologist", 0.3),
    ("K80.2", 0.01, "adult", 2, 0.6, "flat", False, "surgeon", 0.5),
    ("K58.9", 0.01, "adult", 1.3, 0.8, "flat", True, "gastroenterologist", 0.4),
    ("K02.1", 0.15, "flat", 1, 1, "flat", False, "dentist", 1.0),
    ("K05.1", 0.04, "adult", 1, 1, "flat", False, "dentist", 1.0),
    ("K04.0", 0.04, "flat", 1, 1, "flat", False, "dentist", 1.0),
    ("K08.1", 0.02, "elderly", 1, 1, "flat", False, "dentist", 1.0),
    ("N30.0", 0.03, "adult", 4, 0.2, "flat", False, "urologist", 0.2),
    ("N40", 0.02, "elderly", 0, 2.2, "flat", True, "urologist", 0.7),
    ("N76.0", 0.025, "repro", 1, 0, "flat", False, "gynecologist", 1.0),
    ("N92.0", 0.02, "repro", 1, 0, "flat", False, "gynecologist", 1.0),
    ("N18.3", 0.01, "elderly", 1, 1, "flat", True, None, 0),
    ("N20.0", 0.008, "adult", 0.8, 1.2, "flat", False, "urologist", 0.6),
    ("S93.4", 0.02, "young", 1, 1.2, "injury", False, "traumatologist", 0.9),
    ("S62.6", 0.015, "young", 0.8, 1.3, "injury", False, "traumatologist", 0.9),
    ("S52.5", 0.012, "flat", 1.2, 0.9, "injury", False, "traumatologist", 0.9),
    ("S82.6", 0.01, "flat", 1.1, 1, "injury", False, "traumatologist", 0.9),
    ("T14.0", 0.02, "young", 0.9, 1.2, "injury", False, "surgeon", 0.5),
    ("S00.8", 0.015, "child", 1, 1.1, "injury", False, "surgeon", 0.5),
    ("S72.0", 0.004, "elderly", 2, 0.7, "injury", False, "traumatologist", 0.8),
    ("L20.8", 0.02, "child", 1, 1, "flat", True, "dermatologist", 0.6),
    ("L30.9", 0.02, "flat", 1, 1, "flat", False, "dermatologist", 0.6),
    ("L70.0", 0.01, "young", 1.1, 0.9, "flat", False, "dermatologist", 0.8),
    ("L23.9", 0.01, "adult", 1, 1, "flat", False, "dermatologist", 0.6),
    ("G43.9", 0.015, "adult", 2, 0.5, "flat", True, "neurologist", 0.6),
    ("G47.0", 0.01, "adult", 1, 1, "flat", False, "neurologist", 0.4),
    ("G40.9", 0.005, "flat", 1, 1, "flat", True, "neurologist", 0.8),
    ("G20", 0.003, "elderly", 0.9, 1.1, "flat", True, "neurologist", 0.9),
    ("G56.0", 0.005, "adult", 1.5, 0.7, "flat", False, "neurologist", 0.7),
    ("C50.9", 0.003, "chronic", 1, 0, "flat", True, "oncologist", 0.9),
    ("C18.9", 0.0015, "elderly", 1, 1.1, "flat", True, "oncologist", 0.9),
    ("C34.9", 0.0015, "elderly", 0.5, 2, "flat", True, "oncologist", 0.9),
    ("C61", 0.002, "elderly", 0, 2, "flat", True, "oncologist", 0.9),
    ("C44.3", 0.003, "elderly", 1, 1, "flat", True, "oncologist", 0.8),
    ("D25.9", 0.01, "repro", 1, 0, "flat", True, "gynecologist", 1.0),
    ("D22.5", 0.008, "flat", 1, 1, "flat", False, "dermatologist", 0.7),
    ("A09.9", 0.02, "child", 1, 1, "injury", False, "infectionist", 0.1),
    ("B01.9", 0.01, "child", 1, 1, "spring", False, None, 0),
    ("B35.1", 0.008, "adult", 1, 1, "flat", False, "dermatologist", 0.8),
    ("A08.4", 0.01, "child", 1, 1, "resp", False, "infectionist", 0.1),
    ("B34.9", 0.015, "child", 1, 1, "resp", False, None, 0),
    ("D50.9", 0.015, "repro", 1, 0.2, "flat", True, None, 0),
    ("F32.0", 0.005, "adult", 1.6, 0.6, "flat", False, "psychotherapist", 0.7),
    ("F41.1", 0.008, "adult", 1.5, 0.7, "flat", False, "psychotherapist", 0.6),
    ("F45.3", 0.004, "adult", 1.2, 0.8, "flat", False, "psychotherapist", 0.5),
    ("O26.8", 0.01, "repro", 1, 0, "flat", False, "gynecologist", 1.0),
    ("Q21.1", 0.002, "child", 1, 1, "flat", True, "cardiologist", 0.8),
    ("R10.4", 0.01, "flat", 1.2, 0.9, "flat", False, None, 0),
    ("R51", 0.008, "adult", 1.3, 0.8, "flat", False, None, 0),
    ("R50.9", 0.01, "child", 1, 1, "resp", False, None, 0),
    ("P59.9", 0.004, "infant", 1, 1, "flat", False, None, 0),
]
DISEASE_EPISODES_PER_PERSON = 1.8   # обращения по заболеванию, facts §1 (1.79 per insured person)
DISPENSARY_VISITS_PER_PERSON = 0.262  # диспансерное наблюдение, facts §1
URGENT_VISITS_PER_PERSON = 0.54       # неотложная помощь, facts §1
INPATIENT_EPISODES_PER_PERSON = 0.17
BOOKINGS_PER_PERSON = 2.7             # 15+ M remote bookings a year for 5.6 M people, facts §1
BIRTHS_PER_1000 = 8.5                 # facts §1 (2024)

ICD_PROFILE = np.array([_profile(row[2]) for row in ICD_CATALOG])   # codes × 18 age groups
ICD_SEX = np.array([[row[3], row[4]] for row in ICD_CATALOG])        # codes × (F, M)

SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
            "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов",
            "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв",
            "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов",
            "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков",
            "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов", "Жуков", "Баранов",
            "Филиппов", "Комаров", "Давыдов", "Беляев", "Герасимов", "Богданов", "Осипов", "Сидоров"]
MALE_NAMES = ["Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём", "Илья", "Кирилл",
              "Михаил", "Никита", "Матвей", "Роман", "Егор", "Арсений", "Иван", "Денис", "Евгений", "Тимофей",
              "Владимир", "Павел", "Олег", "Игорь", "Николай", "Виктор", "Юрий", "Константин", "Григорий"]
FEMALE_NAMES = ["Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Екатерина", "Светлана",
                "Юлия", "Анастасия", "Дарья", "Марина", "Людмила", "Галина", "Виктория", "Ксения", "Алина",
                "Полина", "Софья", "Надежда", "Вера", "Любовь", "Валентина", "Елизавета", "Александра"]
PATRONYMIC_ROOTS = ["Александров", "Дмитриев", "Сергеев", "Андреев", "Алексеев", "Михайлов", "Иванов",
                    "Николаев", "Владимиров", "Викторов", "Юрьев", "Павлов", "Олегов", "Игорев", "Евгеньев",
                    "Петров", "Васильев", "Борисов", "Анатольев", "Геннадьев"]

REJECTION_REASONS_REGIONAL = [
    "Не заполнен обязательный элемент СЭМД",
    "Отсутствует СНИЛС пациента",
    "Неверный OID организации",
    "Несоответствие версии структуры СЭМД",
    "Ошибка в коде диагноза МКБ-10",
]
REJECTION_REASONS_FEDERAL = [
    "Ошибка проверки электронной подписи",
    "Сертификат подписи врача истёк",
    "Врач не найден в ФРМР",
    "Документ с таким идентификатором уже зарегистрирован",
]

# ---------------------------------------------------------------- prevention and vaccination
# The участок doctor of an attached patient (schema: patient.area_doctor_id).
AREA_ADULT_SPECIALTIES = ["therapist", "gp"]
AREA_CHILD_SPECIALTIES = ["pediatrician"]

# The yearly prevention plan of the city at full scale (facts §4, SPb 2025: 2.33 M adults, of which the
# split into dispensarisation and check-ups is set so that check-ups (adult and children's) per resident
# come to the ОМС norm of 0.311 (facts §1); 311 k in-depth; 1.03 M children). Each organisation's plan is
# its eligible attached population times the city share, with a little noise.
PLAN_FULL = {"disp": 1_470_000, "prof": 860_000, "deep": 311_000, "child_prof": 1_030_000}
PLAN_MO_NOISE = 0.04  # lognormal sigma of an organisation's plan share
# Who of the eligible comes (relative weights): older people and women come more, young men less.
EXAM_BAND_WEIGHT = {"18-34": 0.8, "35-39": 0.9, "40-54": 1.0, "55-59": 1.1, "60-64": 1.2, "65-74": 1.25,
                    "75+": 0.9, "0-4": 1.0, "5-9": 1.0, "10-14": 1.0, "15-17": 0.95}
EXAM_FEMALE_WEIGHT = 1.15
# Health groups (I, II, IIIa, IIIb) by age of the adult (< 40, 40–64, 65+) and for children.
HEALTH_GROUP_P = {"young": (0.40, 0.30, 0.25, 0.05), "middle": (0.15, 0.27, 0.48, 0.10),
                  "old": (0.03, 0.12, 0.68, 0.17), "child": (0.28, 0.55, 0.14, 0.03)}
STAGE2_REFERRAL_P = (0.06, 0.24, 0.33, 0.38)    # by health group, disp and deep only (≈ 25 %)
STAGE2_RESULT_P = (0.72, 0.15)                  # full, partial (rest none) in a good organisation
PATHOLOGY_P = (0.02, 0.05, 0.25, 0.35)           # a disease found, by health group
# Risk factors (ICD-10): women's rate at 18–39, 40–64, 65+ and the men's multiplier. R54 is 65+ only.
RISK_FACTOR_RATES = {"E78": ((0.06, 0.22, 0.30), 1.0), "R73.9": ((0.02, 0.06, 0.09), 1.0),
                     "Z72.0": ((0.12, 0.09, 0.03), 2.0), "Z72.4": ((0.09, 0.10, 0.08), 1.2),
                     "R63.5": ((0.12, 0.17, 0.15), 1.1), "E66": ((0.05, 0.11, 0.13), 0.9),
                     "Z72.3": ((0.10, 0.12, 0.18), 1.0), "Z72.1": ((0.01, 0.02, 0.01), 3.0)}
CHILD_RISK_FACTOR_RATES = {"R63.5": 0.06, "E66": 0.03}
# Cancer screening inside dispensarisation: the share of the due who are tested, and positives.
SCREEN_TAKE = {"cytology": 0.9, "mammography": 0.8, "fobt": 0.75, "psa": 0.9, "egds": 0.85}
SCREEN_POSITIVE = {"cytology": 0.045, "mammography": 0.025, "fobt": 0.05, "psa": 0.035, "egds": 0.02}
FOLLOWUP_P = (0.75, 0.10)  # a positive's diagnostic step: within followup_days, later (rest: none yet)

# Vaccination by the national calendar (core.prevention.CALENDAR).
SERIES_START_EXTRA = 0.02      # a series is started a little more often than the organisation's coverage
HESITANT_SHARE = 0.35          # × (1 − coverage): children of hesitant families, who start few series
HESITANT_START_P = 0.3
DOSE_CONTINUE = {"HEPB": 0.99, "TB": 1.0, "PCV": 0.985, "DTP": 0.992, "POL": 0.992, "MMR": 0.965}
DOSE_EARLY_P = 0.03            # given up to a week early (never before the previous dose + interval)
DOSE_LATE_P = 0.08             # the first dose of a series late by months (more in lagging organisations)
DOSE_LATE_DAYS = (30, 180)
DOSE_LATE_NEXT_P = 0.04        # a later dose late by months on its own (besides following a late one)
DOSE_LATE_NEXT_DAYS = (30, 100)
DOSE_DELAY_MEAN_DAYS = 9       # otherwise within a few weeks of the due age
REFUSAL_P = 0.012              # per child (more in lagging organisations)
REFUSAL_TARGET_P = (0.45, 0.35)  # all vaccines, one series (rest: one dose)
REFUSAL_SERIES = {"MMR": 0.45, "DTP": 0.2, "POL": 0.1, "HEPB": 0.1, "PCV": 0.1, "TB": 0.05}
REFUSAL_WITHDRAWN_P = 0.15
MEDICAL_TEMP_P = 0.01
MEDICAL_PERMANENT_P = 0.002
MEDICAL_PERMANENT_SERIES = {"MMR": 0.4, "TB": 0.2, "DTP": 0.2, "POL": 0.1, "PCV": 0.1}
ADSM_P = 0.6                   # adults with an АДС-М dose in the last 10 years
