"""Rules of prevention, declared once: the national vaccination calendar, the dispensarisation age
rules and age bands of form № 131/о, and the cancer-screening programme.

The generator, the marts, the worklists and the pages read these declarations; nothing else
states a due age, an interval or an age band. Sources: order 1122н (calendar), 404н
(dispensarisation and its screening items), 1207н (form № 131/о); see the method texts.

Ages are counted as calendar arithmetic from the birth date (``due_date``): 12 months after
29.02.2024 is 28.02.2025, the same clamping PostgreSQL and DuckDB apply to ``date + interval``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta


@dataclass(frozen=True)
class Dose:
    """One dose of the national calendar.

    Attributes:
        code: the code in the contract's ``vaccination.vaccine`` column.
        name: the Russian name shown on screen.
        months, days: the due age (months and days after birth).
        assess_months: the age at which coverage is assessed ("by due age + N months").
        previous: the previous dose of the same series (for dropout and the minimum interval).
        min_interval_days: the least number of days after the previous dose.
        series: the series the dose belongs to (a row group on screen).
    """

    code: str
    name: str
    months: int
    days: int
    assess_months: int
    previous: str | None
    min_interval_days: int
    series: str

    def due(self, birth: dt.date) -> dt.date:
        return due_date(birth, self.months, self.days)

    def assess(self, birth: dt.date) -> dt.date:
        return due_date(birth, self.assess_months)

    @property
    def due_label(self) -> str:
        from core.fmt import plural
        if self.months == 0:
            return "в первые 24 часа" if self.days == 0 else f"{self.days} {plural(self.days, 'день', 'дня', 'дней')}"
        if self.months % 12 == 0:
            y = self.months // 12
            return f"{y} {plural(y, 'год', 'года', 'лет')}"
        half = ",5" if self.days >= 15 else ""
        return f"{self.months}{half} мес."


def due_date(birth: dt.date, months: int, days: int = 0) -> dt.date:
    """The day a child reaches an age of ``months`` months and ``days`` days (end-of-month clamped)."""
    return birth + relativedelta(months=months) + dt.timedelta(days=days)


SERIES = {"HEPB": "Гепатит B", "TB": "Туберкулёз (БЦЖ)", "PCV": "Пневмококковая инфекция",
          "DTP": "Дифтерия, коклюш, столбняк", "POL": "Полиомиелит", "MMR": "Корь, краснуха, паротит"}

# Order 1122н, the children's part (Hib and the risk-group doses are left out: they are not given to
# every child). Coverage is assessed at 12 months for the first-year doses, at 24 months for the
# second-year doses, at 7 years for the 6-year doses and at 15 years for the 14-year doses.
CALENDAR: tuple[Dose, ...] = (
    Dose("HEPB1", "Гепатит B, V1", 0, 0, 12, None, 0, "HEPB"),
    Dose("BCG", "БЦЖ", 0, 3, 12, None, 0, "TB"),
    Dose("HEPB2", "Гепатит B, V2", 1, 0, 12, "HEPB1", 28, "HEPB"),
    Dose("PCV1", "Пневмококковая, V1", 2, 0, 12, None, 0, "PCV"),
    Dose("DTP1", "АКДС, V1", 3, 0, 12, None, 0, "DTP"),
    Dose("POL1", "Полиомиелит, V1", 3, 0, 12, None, 0, "POL"),
    Dose("DTP2", "АКДС, V2", 4, 15, 12, "DTP1", 45, "DTP"),
    Dose("POL2", "Полиомиелит, V2", 4, 15, 12, "POL1", 45, "POL"),
    Dose("PCV2", "Пневмококковая, V2", 4, 15, 12, "PCV1", 56, "PCV"),
    Dose("DTP3", "АКДС, V3", 6, 0, 12, "DTP2", 45, "DTP"),
    Dose("POL3", "Полиомиелит, V3", 6, 0, 12, "POL2", 45, "POL"),
    Dose("HEPB3", "Гепатит B, V3", 6, 0, 12, "HEPB2", 56, "HEPB"),
    Dose("MMR1", "Корь, краснуха, паротит, V", 12, 0, 24, None, 0, "MMR"),
    Dose("PCVR", "Пневмококковая, RV", 15, 0, 24, "PCV2", 120, "PCV"),
    Dose("DTPR1", "АКДС, RV1", 18, 0, 24, "DTP3", 365, "DTP"),
    Dose("POLR1", "Полиомиелит, RV1", 18, 0, 24, "POL3", 365, "POL"),
    Dose("POLR2", "Полиомиелит, RV2", 20, 0, 24, "POLR1", 60, "POL"),
    Dose("MMR2", "Корь, краснуха, паротит, RV", 72, 0, 84, "MMR1", 180, "MMR"),
    Dose("ADSR2", "АДС-М, RV2", 72, 0, 84, "DTPR1", 1095, "DTP"),
    Dose("ADSR3", "АДС-М, RV3", 168, 0, 180, "ADSR2", 1825, "DTP"),
    Dose("POLR3", "Полиомиелит, RV3", 168, 0, 180, "POLR2", 1825, "POL"),
)
DOSES = {d.code: d for d in CALENDAR}
TIMELY_DAYS = 30  # a dose "в срок" is given no later than a month after the due age
CHILD_LIMIT_MONTHS = 18 * 12  # a child dose is listed as due until 18 years

# Adults: the diphtheria–tetanus booster every 10 years and the seasonal influenza campaign.
ADULT_BOOSTER = "ADSM"
ADULT_BOOSTER_YEARS = 10
FLU = "FLU"
FLU_SEASON_START_MONTH = 9  # a season runs from September to August
OTHER_VACCINES = {ADULT_BOOSTER: "АДС-М взрослым (каждые 10 лет)", FLU: "Грипп (сезонная)"}
VACCINE_NAMES = {**{d.code: d.name for d in CALENDAR}, **OTHER_VACCINES}

# Dropout between doses of one child (person-level), assessed at the later dose's assessment age.
DROPOUT = (("DTP1", "DTP3"), ("MMR1", "MMR2"))

EXEMPTION_KINDS = {"refusal": "отказ", "medical": "медицинский отвод"}


# ---------------------------------------------------------------- dispensarisation (404н, 131/о)
def age_in_year(birth: dt.date, year: int) -> int:
    """The age a person reaches in a calendar year: 404н counts eligibility by it."""
    return year - birth.year


def disp_due(age: int) -> bool:
    """Dispensarisation (not just a check-up) in a year: every 3 years at 18–39, yearly from 40."""
    return age >= 40 or (18 <= age <= 39 and age % 3 == 0)


PROGRAMS = {"disp": "Диспансеризация взрослых", "prof": "Профосмотр взрослых", "deep": "Углублённая диспансеризация",
            "child_prof": "Профосмотры несовершеннолетних"}
ADULT_PROGRAMS = ("disp", "prof", "deep")
YEARLY_PROGRAMS = ("disp", "prof")  # the year's check-up or dispensarisation; the in-depth one comes in addition
STAGE2_PROGRAMS = ("disp", "deep")  # programs with a second stage

# Form № 131/о table 1000: adult age bands (lower bound inclusive, upper inclusive; None = no bound).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("18-34", 18, 34), ("35-39", 35, 39), ("40-54", 40, 54), ("55-59", 55, 59), ("60-64", 60, 64),
    ("65-74", 65, 74), ("75+", 75, None))
CHILD_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-4", 0, 4), ("5-9", 5, 9), ("10-14", 10, 14), ("15-17", 15, 17))
BAND_NAMES = {b: (f"{lo}–{hi}" if hi is not None else f"{lo} и старше") for b, lo, hi in AGE_BANDS + CHILD_BANDS}


def band_of(age: int) -> str | None:
    for code, lo, hi in CHILD_BANDS + AGE_BANDS:
        if age >= lo and (hi is None or age <= hi):
            return code
    return None


HEALTH_GROUPS = ("I", "II", "IIIa", "IIIb")
HEALTH_GROUP_NAMES = {"I": "I", "II": "II", "IIIa": "IIIа", "IIIb": "IIIб"}
STAGE2_RESULTS = {"full": "полностью", "partial": "частично", "none": "не прошёл"}
STAGE2_DUE_DAYS = 30  # a referral to stage 2 not completed after this many days is overdue
# Risk factors found at dispensarisation (404н), as ICD-10 codes in ``dispensary_exam.risk_factors``.
RISK_FACTORS = {"E78": "гиперхолестеринемия", "R73.9": "гипергликемия", "Z72.0": "курение",
                "Z72.4": "нерациональное питание", "R63.5": "избыточная масса тела", "E66": "ожирение",
                "Z72.3": "низкая физическая активность", "Z72.1": "риск пагубного потребления алкоголя",
                "R54": "старческая астения"}


# ---------------------------------------------------------------- cancer screening (404н)
@dataclass(frozen=True)
class Screening:
    """One test of the cancer-screening programme.

    Attributes:
        code: the code in ``cancer_screening.test``.
        sex: "F", "M" or None (both).
        rules: (age from, age to, interval in years; 0 = once at each listed age) by the age in the year.
        ages: for tests done at listed ages only (PSA, gastroscopy).
        followup_days: days within which a positive result needs its diagnostic step.
    """

    code: str
    name: str
    sex: str | None
    rules: tuple[tuple[int, int, int], ...]
    ages: tuple[int, ...] = ()
    followup_days: int = 30

    def interval(self, age: int) -> int | None:
        """Years between tests at an age (0 = this age only), or None when the age is not eligible."""
        if self.ages:
            return 0 if age in self.ages else None
        for lo, hi, every in self.rules:
            if lo <= age <= hi:
                return every
        return None

    def due_in_year(self, age: int, sex: str) -> bool:
        """Eligible and due in a year when tested every ``interval`` years from the first eligible age."""
        if self.sex and sex != self.sex:
            return False
        every = self.interval(age)
        if every is None:
            return False
        if every <= 1:
            return True
        lo = next(r[0] for r in self.rules if r[0] <= age <= r[1])
        return (age - lo) % every == 0

    @property
    def who(self) -> str:
        sex = {"F": "женщины ", "M": "мужчины ", None: ""}[self.sex]
        from core.fmt import plural
        if self.ages:
            ages = ", ".join(map(str, self.ages[:-1])) + " и " + str(self.ages[-1]) if len(self.ages) > 1 \
                else str(self.ages[0])
            return f"{sex}в возрасте {ages} лет".strip()
        parts = []
        for lo, hi, every in self.rules:
            often = "ежегодно" if every == 1 else f"раз в {every} {plural(every, 'год', 'года', 'лет')}"
            parts.append(f"{lo}–{hi} лет {often}")
        return sex + "; ".join(parts)


SCREENINGS: tuple[Screening, ...] = (
    Screening("cytology", "Цитология шейки матки", "F", ((18, 64, 3),)),
    Screening("mammography", "Маммография", "F", ((40, 75, 2),)),
    Screening("fobt", "Кал на скрытую кровь", None, ((40, 64, 2), (65, 75, 1))),
    Screening("psa", "ПСА", "M", (), ages=(45, 50, 55, 60, 64)),
    Screening("egds", "Эзофагогастродуоденоскопия", None, (), ages=(45,)),
)
SCREENING_BY_CODE = {s.code: s for s in SCREENINGS}
