"""Data-quality declarations (issue 22), validated at import: a broken declaration stops the application.

- *Consistency rules* between related figures, in the manner of DHIS2's validation rules: a left measure, an
  operator, a right measure, the levels where the rule applies and a missing-value strategy. The rules name
  measures of the indicator registry; that they exist there and answer at the rule's levels is checked against
  the running application's registry by ``metrics.dataquality.check_rules``.
- *Outliers* (consistency over time): the modified z-score of Iglewicz and Hoaglin on the unit's own seasonal
  baseline; the threshold by default (each indicator may declare its own ``outlier_threshold`` in the registry).
- *The data-quality score*: the weights of its components, and the level under which a component is named
  among the reasons that pull the score down.
- *Population denominators*: the band the register's population must stay in against the registered one.

The method in Russian: docs/data-quality.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


class DeclarationError(ValueError):
    """A broken data-quality declaration; the message says which and why (Russian)."""


# ---------------------------------------------------------------- consistency rules (validation rules)
OPERATORS = {"<=": "≤", ">=": "≥", "==": "="}
# DHIS2's missing-value strategies: skip the comparison when either side has no data (the default), only when
# both have none (a missing side counts as 0), or never (both missing sides count as 0).
STRATEGIES = {
    "skip_if_any_missing": "не проверяется, если нет данных хотя бы одной стороны",
    "skip_if_all_missing": "не проверяется, только если нет данных обеих сторон (отсутствующая сторона — 0)",
    "never_skip": "проверяется всегда (отсутствующие данные — 0)",
}
RULE_LEVELS = ("region", "district", "mo")


@dataclass(frozen=True)
class Rule:
    """``left op right`` on the sums of two registry measures over a period, for each unit of a level."""
    code: str
    name: str                     # Russian, short: shown in tables and in the reasons of a score
    left: str                     # a registry measure (a sum over the period)
    op: str                       # <=, >=, ==
    right: str
    levels: tuple[str, ...]
    missing: str = "skip_if_any_missing"
    # Below this count on both sides the comparison is not judged («мало наблюдений»): two registrations of the
    # same events drift apart by a few at month boundaries. 0: every comparison is judged (identities).
    min_count: float = 0.0
    description: str = ""         # Russian: why the rule holds on correct data

    def holds(self, left: float, right: float) -> bool:
        if self.op == "<=":
            return left <= right
        if self.op == ">=":
            return left >= right
        return left == right

    def excess(self, left: float, right: float) -> float:
        """By how much the comparison is broken (positive when violated, 0 when it holds)."""
        if self.holds(left, right):
            return 0.0
        return abs(left - right)

    @property
    def sign(self) -> str:
        return OPERATORS[self.op]


RULES: tuple[Rule, ...] = (
    Rule("dtp3_le_dtp1", "АКДС: V3 не больше V1", "dtp3_covered", "<=", "dtp_started", ("region", "district", "mo"),
         description="Дети, которым исполнилось 12 месяцев: получивший третью дозу АКДС к 12 месяцам получил и первую "
                     "(одна когорта, одна дата оценки). Больше V3, чем V1, — потерянная запись о первой дозе."),
    Rule("births_le_pregnancies_ended", "Роды не больше завершившихся беременностей", "births", "<=", "preg_ended",
         ("region", "district", "mo"),
         description="Роды месяца — часть беременностей, завершившихся в месяце (роды, выкидыши, аборты). В витринах "
                     "ИАМ обе стороны читаются из регистра беременных; правило ловит ошибку отображения исходов "
                     "в представлении РМИС."),
    Rule("visits_ge_attended", "Посещения не меньше явок по записи", "visits", ">=", "attended_bookings",
         ("region", "district", "mo"), missing="skip_if_all_missing", min_count=20,
         description="Каждая явка по записи к врачу (кроме диагностических исследований) — посещение этого месяца. "
                     "Явок больше, чем посещений, — посещения не переданы. Организация с явками и без единого "
                     "посещения нарушает правило (отсутствующие посещения — 0); меньше 20 с обеих сторон — не "
                     "проверяется."),
    Rule("stage2_full_le_referred", "II этап: прошедшие не больше направленных", "stage2_full", "<=",
         "stage2_referred", ("region", "district", "mo"),
         description="Прошедшие II этап диспансеризации полностью — часть направленных на него (по месяцу I этапа)."),
)

# ---------------------------------------------------------------- outliers (consistency over time)
OUTLIER_THRESHOLD = 3.5      # |modified z| above this is an outlier (Iglewicz–Hoaglin; DHIS2's default method)
MAD_FACTOR = 0.6745          # z = 0.6745 × (x − median) / MAD
MEANAD_FACTOR = 1.253314     # MAD = 0: z = (x − median) / (1.253314 × mean absolute deviation)
SEASON_WINDOW = 1            # the same calendar month ± this many months, in each earlier year with data
MIN_BASELINE = 3             # fewer baseline values: no score («мало наблюдений»)
# A deviation is an outlier only if chance cannot explain it either: larger than NOISE_Z standard errors of the
# value at its own denominator (a Poisson count of the numerator around the baseline rate). On a big unit the
# baseline's three to six values can lie within hundredths of a percent, and the z-score alone would flag a
# shift of a tenth of a point that the month's numbers cannot resolve.
NOISE_Z = 3.0

# ---------------------------------------------------------------- the data-quality score
SCORE_WEIGHTS = {"completeness": 0.3, "timeliness": 0.2, "consistency_time": 0.3, "consistency_rules": 0.2}
COMPONENTS = {
    "completeness": "Полнота",
    "timeliness": "Своевременность",
    "consistency_time": "Согласованность во времени",
    "consistency_rules": "Согласованность показателей",
}
REASON_BELOW = 95.0          # a component under this is named among the reasons of a lower score
MIN_JUDGED_VALUES = 5        # consistency over time on fewer judged values: left out of the score
COMPLETENESS_MONTHS = 12     # reporting months counted up to the period's last month
COMPLETENESS_INDICATOR = "emk_coverage"       # share of closed cases with a registered document
TIMELINESS_INDICATOR = "emk_registered_1d"    # share registered within a day of closing the case

# ---------------------------------------------------------------- population denominators
DENOMINATOR_BAND = (90.0, 110.0)  # register population, % of the registered (Petrostat) population

# ---------------------------------------------------------------- acknowledged outliers
ACK_STATES = {"ack": "Подтверждено", "reopen": "Подтверждение снято"}


def _validate() -> None:
    seen = set()
    for r in RULES:
        where = f"правило «{r.code}»"
        if not r.code or r.code in seen:
            raise DeclarationError(f"{where}: код пуст или повторяется")
        seen.add(r.code)
        if not r.name or not r.left or not r.right:
            raise DeclarationError(f"{where}: нужны название и обе меры")
        if r.op not in OPERATORS:
            raise DeclarationError(f"{where}: оператор «{r.op}» не из {sorted(OPERATORS)}")
        if not r.levels or any(lv not in RULE_LEVELS for lv in r.levels):
            raise DeclarationError(f"{where}: уровни {list(r.levels)} — из {list(RULE_LEVELS)}")
        if r.missing not in STRATEGIES:
            raise DeclarationError(f"{where}: стратегия пропусков «{r.missing}» не из {sorted(STRATEGIES)}")
        if not (isinstance(r.min_count, (int, float)) and r.min_count >= 0):
            raise DeclarationError(f"{where}: min_count — неотрицательное число")
    if not OUTLIER_THRESHOLD > 0 or MIN_BASELINE < 2 or SEASON_WINDOW < 0 or NOISE_Z < 0 or MIN_JUDGED_VALUES < 1:
        raise DeclarationError("выбросы: порог > 0, не меньше 2 базовых значений, окно ≥ 0")
    if set(SCORE_WEIGHTS) != set(COMPONENTS) or any(not (w >= 0 and math.isfinite(w)) for w in SCORE_WEIGHTS.values()) \
            or not sum(SCORE_WEIGHTS.values()) > 0:
        raise DeclarationError(f"оценка качества данных: веса {sorted(COMPONENTS)} — неотрицательные, не все нули")
    lo, hi = DENOMINATOR_BAND
    if not 0 < lo < 100 < hi:
        raise DeclarationError("знаменатели: допустимый коридор должен охватывать 100 %")


_validate()

# Groups of the registry whose values are not judged for outliers by default: the effective contract's payroll and
# staffing figures move by decision (a yearly salary indexation, a new staff schedule), not by how data are entered.
OUTLIER_SKIP_GROUPS = ("contract",)
