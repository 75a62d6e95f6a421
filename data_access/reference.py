"""Static reference data the module owns: ICD-10 classes, document kinds, code lists.

These are loaded into the contract's reference tables and also used directly by the
application for labels (Russian names of codes).
"""
from __future__ import annotations

# (class number, roman numeral, first code, last code, Russian name) — facts §8.
ICD_CLASSES = [
    (1, "I", "A00", "B99", "Некоторые инфекционные и паразитарные болезни"),
    (2, "II", "C00", "D48", "Новообразования"),
    (3, "III", "D50", "D89", "Болезни крови, кроветворных органов и отдельные нарушения, вовлекающие иммунный механизм"),
    (4, "IV", "E00", "E90", "Болезни эндокринной системы, расстройства питания и нарушения обмена веществ"),
    (5, "V", "F00", "F99", "Психические расстройства и расстройства поведения"),
    (6, "VI", "G00", "G99", "Болезни нервной системы"),
    (7, "VII", "H00", "H59", "Болезни глаза и его придаточного аппарата"),
    (8, "VIII", "H60", "H95", "Болезни уха и сосцевидного отростка"),
    (9, "IX", "I00", "I99", "Болезни системы кровообращения"),
    (10, "X", "J00", "J99", "Болезни органов дыхания"),
    (11, "XI", "K00", "K93", "Болезни органов пищеварения"),
    (12, "XII", "L00", "L99", "Болезни кожи и подкожной клетчатки"),
    (13, "XIII", "M00", "M99", "Болезни костно-мышечной системы и соединительной ткани"),
    (14, "XIV", "N00", "N99", "Болезни мочеполовой системы"),
    (15, "XV", "O00", "O99", "Беременность, роды и послеродовой период"),
    (16, "XVI", "P00", "P96", "Отдельные состояния, возникающие в перинатальном периоде"),
    (17, "XVII", "Q00", "Q99", "Врождённые аномалии (пороки развития), деформации и хромосомные нарушения"),
    (18, "XVIII", "R00", "R99", "Симптомы, признаки и отклонения от нормы, не классифицированные в других рубриках"),
    (19, "XIX", "S00", "T98", "Травмы, отравления и некоторые другие последствия воздействия внешних причин"),
    (20, "XX", "V01", "Y98", "Внешние причины заболеваемости и смертности"),
    (21, "XXI", "Z00", "Z99", "Факторы, влияющие на состояние здоровья населения и обращения в учреждения здравоохранения"),
    (22, "XXII", "U00", "U85", "Коды для особых целей"),
]


def icd_class_of(code: str) -> int | None:
    """ICD-10 class number of a code such as 'J06.9' or 'D48'; None outside every class."""
    c3 = (code or "").strip().upper()[:3]
    if len(c3) != 3:
        return None
    for num, _roman, lo, hi, _name in ICD_CLASSES:
        if lo <= c3 <= hi:
            return num
    return None


# Document kinds monitored (facts §7); basis = what makes the document due.
EMD_KINDS = [
    ("EPI_AMB", "Эпикриз по законченному случаю амбулаторный", "outpatient_episode"),
    ("EPI_STAC", "Эпикриз выписной (стационар)", "inpatient_episode"),
    ("EPI_ROD", "Выписной эпикриз из родильного дома", "birth"),
    ("DISP_RES", "Сведения о результатах диспансеризации", "disp_exam"),
    ("MS_BIRTH", "Медицинское свидетельство о рождении", "birth"),
    ("NAPR_HOSP", "Направление на госпитализацию", None),
    ("NAPR_CONS", "Направление на консультацию", None),
    ("NAPR_OBS", "Направление на обследование", None),
    ("PROT_CONS", "Протокол консультации", None),
    ("PROT_LAB", "Протокол лабораторного исследования", None),
    ("PROT_INSTR", "Протокол инструментального исследования", None),
    ("RECIPE", "Рецепт на лекарственный препарат", None),
    ("SPRAVKA", "Медицинская справка", None),
]
EMD_KIND_NAMES = {k: n for k, n, _ in EMD_KINDS}

# Which kinds each type of organisation must send (the seed's "types of documents to be sent").
EMD_REQUIREMENTS = {
    "adult_polyclinic": ["EPI_AMB", "DISP_RES"],
    "children_polyclinic": ["EPI_AMB", "DISP_RES"],
    "womens_consultation": ["EPI_AMB"],
    "dental": ["EPI_AMB"],
    "diagnostic_center": ["EPI_AMB"],
    "private": ["EPI_AMB"],
    "hospital": ["EPI_AMB", "EPI_STAC"],
    "maternity": ["EPI_ROD", "MS_BIRTH"],
}

MO_KINDS = {
    "adult_polyclinic": "Взрослая поликлиника",
    "children_polyclinic": "Детская поликлиника",
    "womens_consultation": "Женская консультация",
    "dental": "Стоматологическая поликлиника",
    "hospital": "Больница",
    "maternity": "Родильный дом",
    "diagnostic_center": "Диагностический центр",
    "private": "Частная клиника",
}

EMD_STATUSES = {
    "created": "Создан, не подписан",
    "signed": "Подписан, не отправлен",
    "sent": "Отправлен, ответа нет",
    "registered": "Зарегистрирован в РЭМД",
    "rejected_regional": "Не прошёл региональный ФЛК",
    "rejected_federal": "Не прошёл федеральный ФЛК",
    "transmission_error": "Ошибка передачи",
}

CHANNELS = {
    "portal": "Портал «Здоровье петербуржца»",
    "call_center": "Колл-центр",
    "infomat": "Инфомат",
    "registry": "Регистратура",
    "referral": "Направление врача",
}

PURPOSES = {
    "disease": "Заболевание",
    "prevention": "Профилактика",
    "dispensary": "Диспансерное наблюдение",
    "urgent": "Неотложная помощь",
}

PREVENTION_PROGRAMS = {
    "disp": "Диспансеризация взрослых",
    "prof": "Профосмотр взрослых",
    "deep": "Углублённая диспансеризация",
    "child_prof": "Профосмотры несовершеннолетних",
}

VACCINES = {
    "MMR1": "Корь, краснуха, паротит — V1 (12 мес.)",
    "MMR2": "Корь, краснуха, паротит — RV (6 лет)",
    "DTP1": "АКДС — V1 (3 мес.)",
    "FLU": "Грипп",
}

SCREENING_TESTS = {
    "cytology": "Цитология шейки матки",
    "mammography": "Маммография",
    "fobt": "Кал на скрытую кровь",
    "psa": "ПСА",
    "egds": "ЭГДС",
}

AGE_GROUPS = [f"{5 * g}–{5 * g + 4}" for g in range(17)] + ["85+"]
