"""Nosology registers and machine-checkable quality criteria, declared once.

Dispensary observation follows order 168н (15.03.2022): a chronic condition is enrolled with its
ICD-10 code, doctor and planned visit frequency. Quality criteria follow order 203н (in the edition
in force from 01.09.2025): each criterion is a disease (ICD-10 range), the event that must happen
(a laboratory test, an instrumental study, a prescription or a dispensary visit), the window after
the anchor (the enrolment or the diagnosis), an exemption, and the regional scoring: done 1, not
done with a recorded reason 0.5, not done 0.

The generator, the marts, the registry indicators, the pages and the docs read these declarations;
``validate()`` runs at import and fails loudly on a broken declaration.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# ---------------------------------------------------------------- ICD-10 ranges
_RANGE = re.compile(r"^([A-Z]\d\d)(?:-([A-Z]\d\d))?$")


@dataclass(frozen=True)
class IcdRange:
    """An inclusive range of three-character ICD-10 rubrics, for example E10–E14."""

    lo: str
    hi: str

    def contains(self, code: str) -> bool:
        return self.lo <= code[:3].upper() <= self.hi

    def __str__(self) -> str:
        return self.lo if self.lo == self.hi else f"{self.lo}–{self.hi}"


def icd_ranges(text: str) -> tuple[IcdRange, ...]:
    """Parse "E10-E14, I10-I15" (or single rubrics "I50") into ranges; raises ValueError on bad text."""
    out = []
    for part in text.replace("–", "-").split(","):
        m = _RANGE.match(part.strip().upper())
        if not m:
            raise ValueError(f"Диапазон МКБ-10 «{part.strip()}» должен иметь вид A00 или A00-A99")
        lo, hi = m.group(1), m.group(2) or m.group(1)
        if hi < lo:
            raise ValueError(f"Диапазон МКБ-10 «{part.strip()}»: конец раньше начала")
        out.append(IcdRange(lo, hi))
    return tuple(out)


def in_ranges(code: str, ranges: tuple[IcdRange, ...]) -> bool:
    return any(r.contains(code) for r in ranges)


def ranges_text(ranges: tuple[IcdRange, ...]) -> str:
    return ", ".join(map(str, ranges))


# ---------------------------------------------------------------- laboratory tests, studies, drugs
@dataclass(frozen=True)
class LabTest:
    code: str
    name: str
    unit: str


LAB_TESTS: dict[str, LabTest] = {t.code: t for t in (
    LabTest("HBA1C", "Гликированный гемоглобин (HbA1c)", "%"),
    LabTest("GLU", "Глюкоза плазмы натощак", "ммоль/л"),
    LabTest("CREA", "Креатинин крови", "мкмоль/л"),
    LabTest("EGFR", "Расчётная скорость клубочковой фильтрации", "мл/мин/1,73 м²"),
    LabTest("CHOL", "Общий холестерин", "ммоль/л"),
    LabTest("LDL", "Холестерин ЛПНП", "ммоль/л"),
    LabTest("MAU", "Альбумин в моче (микроальбуминурия)", "мг/л"),
    LabTest("CBC", "Общий (клинический) анализ крови: гемоглобин", "г/л"),
    LabTest("CRP", "С-реактивный белок", "мг/л"),
    LabTest("K", "Калий крови", "ммоль/л"),
    LabTest("NA", "Натрий крови", "ммоль/л"),
    LabTest("UA", "Общий анализ мочи: белок", "г/л"),
    # Blood pressure is measured at a visit, not in a laboratory; the RMIS keeps it with the visit's
    # vital signs and the contract carries it in the same table, so that control targets read one place.
    LabTest("SBP", "Систолическое артериальное давление (измерение на приёме)", "мм рт. ст."),
)}


@dataclass(frozen=True)
class Study:
    code: str
    name: str


STUDIES: dict[str, Study] = {s.code: s for s in (
    Study("ECG", "Электрокардиография (ЭКГ)"),
    Study("XRAY_CHEST", "Рентгенография органов грудной клетки"),
    Study("ECHO", "Эхокардиография"),
    Study("SPIRO", "Спирометрия"),
)}

DRUG_GROUPS: dict[str, str] = {
    "ANTIHYP": "Антигипертензивные препараты",
    "STATIN": "Статины (гиполипидемические)",
    "ANTIPLT": "Антиагреганты",
    "HYPOGLY": "Сахароснижающие препараты",
    "ANTIBIO": "Антибактериальные препараты системного действия",
    "BRONCH": "Ингаляционные бронхолитики и глюкокортикостероиды",
}

# Why a test, study or prescription was not done: recorded in the row's ``not_done_reason``.
NOT_DONE_REASONS: dict[str, str] = {
    "refusal": "отказ пациента",
    "contraindication": "противопоказание",
    "unavailable": "исследование недоступно",
}

# Why a dispensary observation ended (``dispensary_observation.end_reason``).
END_REASONS: dict[str, str] = {
    "recovered": "выздоровление (ремиссия)",
    "moved": "выбыл (смена прикрепления, переезд)",
    "died": "смерть",
    "other": "другая причина",
}


# ---------------------------------------------------------------- registers (168н)
@dataclass(frozen=True)
class Control:
    """A control target of a register: the latest value of a test in the last 12 months meets it."""

    test: str
    below: float          # the target: value < below
    label: str            # as shown: "HbA1c < 7 %"


@dataclass(frozen=True)
class Register:
    """A nosology register: patients under dispensary observation with an ICD-10 code in its ranges.

    Attributes:
        visits_per_year: the planned frequency of dispensary visits (order 168н: at least …).
        control: the control target, or None where the register has none.
    """

    code: str
    name: str
    icd: tuple[IcdRange, ...]
    visits_per_year: int
    control: Control | None = None

    @property
    def icd_text(self) -> str:
        return ranges_text(self.icd)


REGISTERS: tuple[Register, ...] = (
    Register("dm", "Сахарный диабет", icd_ranges("E10-E14"), 2, Control("HBA1C", 7.0, "HbA1c < 7 %")),
    Register("ht", "Артериальная гипертония", icd_ranges("I10-I15"), 1,
             Control("SBP", 140, "САД < 140 мм рт. ст.")),
    Register("ihd", "Ишемическая болезнь сердца", icd_ranges("I20-I25"), 2, Control("LDL", 1.8, "ЛПНП < 1,8 ммоль/л")),
    Register("hf", "Хроническая сердечная недостаточность", icd_ranges("I50"), 2),
    Register("copd", "ХОБЛ и бронхиальная астма", icd_ranges("J44-J46"), 1),
    Register("onco", "Онкологические заболевания", icd_ranges("C00-C97, D00-D09"), 2),
)
REGISTER_BY_CODE = {r.code: r for r in REGISTERS}


def register_of(code: str) -> Register | None:
    """The first register whose ranges hold an ICD-10 code (registers do not overlap)."""
    return next((r for r in REGISTERS if in_ranges(code, r.icd)), None)


# ---------------------------------------------------------------- quality criteria (203н)
SCORE_DONE, SCORE_REASON, SCORE_NOT_DONE = 1.0, 0.5, 0.0
# An enrolment case is not judged when the observation ended for one of these reasons before its window closed:
# the patient died or left the organisation's care, nothing more could be done there.
LEFT_CARE = ("died", "moved")
ANCHORS = {"enrolment": "постановки на диспансерное наблюдение", "diagnosis": "установления диагноза"}
EVENTS = {"lab": "исследование", "study": "инструментальное исследование", "rx": "назначение",
          "visit": "диспансерный приём"}


@dataclass(frozen=True)
class Criterion:
    """A machine-checkable quality criterion.

    A *case* is an enrolment into dispensary observation (anchor ``enrolment``) or an episode of care
    opened with the diagnosis (anchor ``diagnosis``) whose ICD-10 code is in ``icd``. The criterion is
    met when an event of ``event`` kind with one of ``codes`` happened within ``window_days`` days from
    the anchor (the anchor's day is day 0). A case is judged in the month its window closes. It is
    exempt when the patient was under dispensary observation, on the anchor's day, for a code in
    ``exempt_icd``, and (an enrolment) when the observation ended by death or departure (``LEFT_CARE``) on
    or before the window's last day.
    """

    code: str
    name: str
    disease: str
    icd: tuple[IcdRange, ...]
    anchor: str
    event: str
    codes: tuple[str, ...]
    window_days: int
    exempt_icd: tuple[IcdRange, ...] = ()
    exempt_text: str = ""

    @property
    def icd_text(self) -> str:
        return ranges_text(self.icd)

    @property
    def window_text(self) -> str:
        from core.fmt import plural
        n = self.window_days
        return f"в течение {n} {plural(n, 'дня', 'дней', 'дней')} после {ANCHORS[self.anchor]}"


def _c(code, name, disease, icd, anchor, event, codes, window, exempt="", exempt_text=""):
    return Criterion(code, name, disease, icd_ranges(icd), anchor, event, tuple(codes.split()), window,
                     icd_ranges(exempt) if exempt else (), exempt_text)


DM, HT, IHD, CAP = ("Сахарный диабет", "Артериальная гипертония", "Ишемическая болезнь сердца",
                    "Внебольничная пневмония")
CRITERIA: tuple[Criterion, ...] = (
    _c("dm_hba1c", "Выполнено исследование уровня гликированного гемоглобина (HbA1c)", DM, "E10-E14",
       "enrolment", "lab", "HBA1C", 90),
    _c("dm_kidney", "Выполнено исследование креатинина крови с расчётом СКФ", DM, "E10-E14",
       "enrolment", "lab", "CREA EGFR", 90),
    _c("dm_mau", "Выполнено исследование альбумина в моче (микроальбуминурия)", DM, "E10-E14",
       "enrolment", "lab", "MAU", 180, "N18", "хроническая болезнь почек под наблюдением (N18)"),
    _c("dm_lipids", "Выполнено исследование липидного профиля", DM, "E10-E14",
       "enrolment", "lab", "CHOL LDL", 90),
    _c("dm_ecg", "Выполнена электрокардиография", DM, "E10-E14", "enrolment", "study", "ECG", 180),
    _c("ht_cbc", "Выполнен общий (клинический) анализ крови", HT, "I10-I15", "enrolment", "lab", "CBC", 90),
    _c("ht_biochem", "Выполнено исследование креатинина и электролитов (калий, натрий) крови", HT, "I10-I15",
       "enrolment", "lab", "CREA EGFR K NA", 90),
    _c("ht_glucose", "Выполнено исследование глюкозы плазмы натощак", HT, "I10-I15", "enrolment", "lab", "GLU", 90,
       "E10-E14", "сахарный диабет под наблюдением (контроль по HbA1c)"),
    _c("ht_ecg", "Выполнена электрокардиография", HT, "I10-I15", "enrolment", "study", "ECG", 30),
    _c("ht_therapy", "Назначена антигипертензивная терапия", HT, "I10-I15", "enrolment", "rx", "ANTIHYP", 30),
    _c("ihd_statin", "Назначены статины", IHD, "I20-I25", "enrolment", "rx", "STATIN", 30),
    _c("ihd_antiplatelet", "Назначены антиагреганты", IHD, "I20-I25", "enrolment", "rx", "ANTIPLT", 30),
    _c("ihd_ecg", "Выполнена электрокардиография", IHD, "I20-I25", "enrolment", "study", "ECG", 30),
    _c("ihd_echo", "Выполнена эхокардиография", IHD, "I20-I25", "enrolment", "study", "ECHO", 180),
    _c("cap_xray", "Выполнена рентгенография органов грудной клетки", CAP, "J12-J18",
       "diagnosis", "study", "XRAY_CHEST", 3),
    _c("cap_cbc", "Выполнен общий (клинический) анализ крови", CAP, "J12-J18", "diagnosis", "lab", "CBC", 3),
    _c("cap_crp", "Выполнено исследование уровня С-реактивного белка", CAP, "J12-J18", "diagnosis", "lab", "CRP", 3),
    _c("cap_antibiotic", "Назначена антибактериальная терапия", CAP, "J12-J18", "diagnosis", "rx", "ANTIBIO", 1),
)
CRITERION_BY_CODE = {c.code: c for c in CRITERIA}
DISEASES: tuple[str, ...] = tuple(dict.fromkeys(c.disease for c in CRITERIA))


class DeclarationError(ValueError):
    """A broken register or criterion declaration; the message says which and why."""


def validate() -> None:
    """Check every declaration; raises DeclarationError with a Russian message."""
    seen = set()
    for r in REGISTERS:
        if r.code in seen or not r.icd or r.visits_per_year < 1:
            raise DeclarationError(f"Регистр «{r.code}»: повтор кода, нет диапазона МКБ-10 или частоты приёмов")
        seen.add(r.code)
        if r.control and r.control.test not in LAB_TESTS:
            raise DeclarationError(f"Регистр «{r.code}»: целевой показатель по неизвестному исследованию "
                                   f"«{r.control.test}»")
    for a in REGISTERS:
        for b in REGISTERS:
            if a.code < b.code and any(x.lo <= y.hi and y.lo <= x.hi for x in a.icd for y in b.icd):
                raise DeclarationError(f"Регистры «{a.code}» и «{b.code}» пересекаются по МКБ-10")
    known = {"lab": LAB_TESTS, "study": STUDIES, "rx": DRUG_GROUPS, "visit": {"dispensary": 1}}
    seen = set()
    for c in CRITERIA:
        where = f"Критерий «{c.code}»"
        if c.code in seen:
            raise DeclarationError(f"{where}: код повторяется")
        seen.add(c.code)
        if c.anchor not in ANCHORS:
            raise DeclarationError(f"{where}: точка отсчёта «{c.anchor}» не из {sorted(ANCHORS)}")
        if c.event not in known:
            raise DeclarationError(f"{where}: событие «{c.event}» не из {sorted(known)}")
        if not c.codes or any(code not in known[c.event] for code in c.codes):
            raise DeclarationError(f"{where}: неизвестные коды {list(c.codes)} для события «{c.event}»")
        if not (0 <= c.window_days <= 366):
            raise DeclarationError(f"{where}: окно {c.window_days} дней вне 0…366")
        if not c.icd or (c.exempt_icd and not c.exempt_text):
            raise DeclarationError(f"{where}: нет диапазона МКБ-10 или описания исключения")
        if c.anchor == "enrolment" and not any(register_of(r.lo) for r in c.icd):
            raise DeclarationError(f"{where}: точка отсчёта — постановка на наблюдение, но МКБ-10 {c.icd_text} "
                                   f"не относится ни к одному регистру")


validate()
