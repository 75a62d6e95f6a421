"""Typed indicator declarations, parsed from ``metrics/indicators.toml`` and validated at start-up.

In the spirit of dbt MetricFlow: a *measure* aggregates one expression of a mart with filters;
an *indicator* is a ratio of two measures times a factor (or a percentile of a histogram).
Hierarchy levels follow Cube: region → district → mo → doctor, each mart answering the levels
whose key column it carries.
"""
from __future__ import annotations

import ast
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from core.dataquality import OUTLIER_THRESHOLD
from data_access import marts as M
from data_access.reference import MO_KINDS

LEVELS = ["region", "district", "mo", "doctor"]
LEVEL_NAMES = {"region": "город", "district": "район", "mo": "медицинская организация", "doctor": "врач"}
LEVEL_COLUMN = {"region": None, "district": "district_id", "mo": "mo_id", "doctor": "doctor_id"}
AGGS = {"sum", "avg_months", "last", "median", "p90"}
DIRECTIONS = {"up", "down"}


class RegistryError(ValueError):
    """A broken indicator declaration; the message says which and why."""


@dataclass(frozen=True)
class Measure:
    name: str
    mart: str
    agg: str
    expr: tuple[str, ...]            # columns summed (agg sum/avg_months/last) or the histogram value column
    weight: str | None = None        # histogram weight column (median/p90)
    filters: tuple[tuple[str, tuple], ...] = ()
    label: str = ""

    @property
    def levels(self) -> list[str]:
        cols = {c.name for c in M.marts.tables[self.mart].columns}
        return [lv for lv in LEVELS if LEVEL_COLUMN[lv] is None or LEVEL_COLUMN[lv] in cols]


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    short: str
    group: str
    method: str
    unit: str
    direction: str
    target: float
    weight: float
    levels: tuple[str, ...]
    numerator: Measure | None
    denominator: Measure | None
    factor: float = 1.0
    decimals: int = 1
    annualize: bool = False
    key: bool = False
    percentile: float | None = None
    numerator_label: str = ""
    denominator_label: str = ""
    kind: str = "ratio"              # ratio, percentile, count (a measure), derived (a formula of indicators)
    formula: str | None = None       # derived: an arithmetic expression over other indicators' codes
    inputs: tuple[str, ...] = ()     # derived: the codes the formula reads
    # Below this denominator a value is shown as «мало наблюдений»: kept out of rankings and colours
    # (a commercial clinic with 12 cases, a percentage over 3 women). 0: every value is judged.
    min_denominator: float = 0.0
    # The kinds of organisation the indicator is meant for (pregnancy — women's consultations): a list of
    # organisations shows these by default, the others on request. Empty: every kind.
    mo_kinds: tuple[str, ...] = ()
    # The modified z-score above which a monthly value is an outlier against the unit's own seasonal baseline
    # (metrics/dataquality.py); the registry's default, or the indicator's own.
    outlier_threshold: float = OUTLIER_THRESHOLD

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "up"

    def valid_at(self, level: str) -> bool:
        return level in self.levels


@dataclass(frozen=True)
class RatingConfig:
    integral_target: float = 90.0
    completeness_indicator: str = "emk_coverage"
    completeness_min: float = 80.0
    min_weight_share: float = 0.7
    peers_visible: bool = True  # scoped people see every district's place and integral score (a committee decision)
    # a unit whose data-quality score (metrics/dataquality.py, 0…100) is below this is flagged and not ranked
    dq_min: float = 60.0


@dataclass
class Registry:
    groups: dict[str, str]
    indicators: dict[str, Indicator] = field(default_factory=dict)
    measures: dict[str, Measure] = field(default_factory=dict)
    version: str = ""  # a digest of the declarations: part of every cache key
    rating: RatingConfig = field(default_factory=RatingConfig)

    def __getitem__(self, code: str) -> Indicator:
        return self.indicators[code]

    def __contains__(self, code: str) -> bool:
        return code in self.indicators

    def __iter__(self):
        return iter(self.indicators.values())

    def by_group(self) -> dict[str, list[Indicator]]:
        out = {g: [] for g in self.groups}
        for ind in self:
            out[ind.group].append(ind)
        return out

    @property
    def key(self) -> list[Indicator]:
        return [i for i in self if i.key]


def _measure(name: str, raw: dict, where: str) -> Measure:
    known = {"mart", "agg", "expr", "weight", "filters", "label"}
    if unknown := set(raw) - known:
        raise RegistryError(f"{where}: неизвестные поля меры {sorted(unknown)}")
    mart = raw.get("mart")
    if mart not in M.marts.tables or mart == M.build_log.name:
        raise RegistryError(f"{where}: нет витрины «{mart}»")
    agg = raw.get("agg", "sum")
    if agg not in AGGS:
        raise RegistryError(f"{where}: агрегат «{agg}» не из {sorted(AGGS)}")
    expr = raw.get("expr")
    expr = (expr,) if isinstance(expr, str) else tuple(expr or ())
    cols = {c.name for c in M.marts.tables[mart].columns}
    if not expr or any(e not in cols for e in expr):
        raise RegistryError(f"{where}: выражение {list(expr)} ссылается на колонки, которых нет в {mart}")
    weight = raw.get("weight")
    if agg in ("median", "p90") and (weight not in cols or len(expr) != 1):
        raise RegistryError(f"{where}: перцентиль требует одну колонку значения и колонку веса из {mart}")
    filters = []
    for col, val in (raw.get("filters") or {}).items():
        if col not in cols:
            raise RegistryError(f"{where}: фильтр по колонке «{col}», которой нет в {mart}")
        filters.append((col, tuple(val) if isinstance(val, list) else (val,)))
    return Measure(name=name, mart=mart, agg=agg, expr=expr, weight=weight, filters=tuple(filters),
                   label=raw.get("label", ""))


_FORMULA_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd,
                  ast.Constant, ast.Name, ast.Load)


def formula_inputs(formula: str, where: str = "формула") -> tuple[str, ...]:
    """The indicator codes an arithmetic formula reads (numbers, + − × ÷ and brackets only)."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise RegistryError(f"{where}: формула «{formula}» не разбирается") from exc
    for node in ast.walk(tree):
        if not isinstance(node, _FORMULA_NODES) or (isinstance(node, ast.Constant)
                                                    and not isinstance(node.value, (int, float))):
            raise RegistryError(f"{where}: в формуле допустимы коды показателей, числа, + − × ÷ и скобки")
    return tuple(dict.fromkeys(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)))


def evaluate_formula(formula: str, values: dict):
    """The formula over aligned arrays of the inputs' values; a division by zero gives NaN."""
    import numpy as np

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return np.asarray(values[node.id], dtype=float)
        if isinstance(node, ast.UnaryOp):
            return -ev(node.operand) if isinstance(node.op, ast.USub) else ev(node.operand)
        a, b = ev(node.left), ev(node.right)
        with np.errstate(divide="ignore", invalid="ignore"):
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            return np.where(np.asarray(b) != 0, a / np.where(np.asarray(b) != 0, b, 1), np.nan)
    return ev(ast.parse(formula, mode="eval"))


def column_measure(mart: str, column: str) -> Measure:
    """An additive column of a mart as a measure named ``<mart>.<column>`` (summed; label: its documentation)."""
    if mart not in M.marts.tables or mart == M.build_log.name:
        raise RegistryError(f"Нет витрины «{mart}»")
    t = M.marts.tables[mart]
    if column not in t.c or not isinstance(t.c[column].type, (sa.BigInteger, sa.Float)):
        raise RegistryError(f"В витрине {mart} нет суммируемой колонки «{column}»")
    return Measure(name=f"{mart}.{column}", mart=mart, agg="sum", expr=(column,), label=t.c[column].doc or column)


def parse_registry(data: dict) -> Registry:
    """Build a Registry from parsed TOML, raising RegistryError with a precise message."""
    groups = data.get("groups") or {}
    if not groups:
        raise RegistryError("В реестре нет направлений (groups)")
    measures = {name: _measure(name, raw, f"мера «{name}»") for name, raw in (data.get("measures") or {}).items()}
    reg = Registry(groups=dict(groups), measures=measures)
    try:  # the registry-wide default threshold of small denominators, overridden per indicator
        default_min = float((data.get("defaults") or {}).get("min_denominator", 0))
    except (TypeError, ValueError) as exc:
        raise RegistryError("defaults: min_denominator должен быть числом") from exc
    try:  # the default outlier threshold (modified z-score), overridden per indicator
        default_threshold = float((data.get("defaults") or {}).get("outlier_threshold", OUTLIER_THRESHOLD))
    except (TypeError, ValueError) as exc:
        raise RegistryError("defaults: outlier_threshold должен быть числом") from exc
    required = {"code", "name", "group", "method", "unit", "direction", "target", "weight", "levels"}
    by_kind = {"ratio": {"denominator"}, "count": {"measure"}, "derived": {"formula"}}
    for i, raw in enumerate(data.get("indicator") or []):
        code = raw.get("code") or f"#{i + 1}"
        where = f"показатель «{code}»"
        kind = raw.get("type", "ratio")
        if kind not in by_kind:
            raise RegistryError(f"{where}: type — одно из {sorted(by_kind)} (перцентиль — ratio со знаменателем-гистограммой)")
        if missing := (required | by_kind[kind]) - set(raw):
            raise RegistryError(f"{where}: не заданы поля {sorted(missing)}")
        if code in reg.indicators:
            raise RegistryError(f"{where}: код повторяется")
        if raw["group"] not in groups:
            raise RegistryError(f"{where}: направление «{raw['group']}» не объявлено в groups")
        if raw["direction"] not in DIRECTIONS:
            raise RegistryError(f"{where}: direction должно быть up или down")
        for m in ("numerator", "denominator", "measure"):
            if m in raw and raw[m] not in measures:
                raise RegistryError(f"{where}: мера «{raw[m]}» не объявлена")
        num = den = pct = formula = None
        inputs: tuple[str, ...] = ()
        if kind == "ratio":
            den = measures[raw["denominator"]]
            num = measures.get(raw.get("numerator")) if raw.get("numerator") else None
            pct = {"median": 0.5, "p90": 0.9}.get(den.agg)
            if num is None and pct is None:
                raise RegistryError(f"{where}: нужен числитель (или знаменатель-гистограмма для перцентиля)")
            if num is not None and (num.agg in ("median", "p90") or pct is not None):
                raise RegistryError(f"{where}: перцентиль не делится на другую меру")
            if pct is not None:
                kind = "percentile"
        elif kind == "count":
            num = measures[raw["measure"]]
            if num.agg in ("median", "p90"):
                raise RegistryError(f"{where}: гистограмма — это перцентиль (type = ratio), а не счёт")
        else:
            formula = str(raw["formula"])
            inputs = formula_inputs(formula, where)
            if bad := [c for c in inputs if c not in reg.indicators]:
                raise RegistryError(f"{where}: формула ссылается на показатели {bad}, не объявленные выше")
        levels = tuple(raw["levels"])
        if bad := [lv for lv in levels if lv not in LEVELS]:
            raise RegistryError(f"{where}: неизвестные уровни {bad}")
        for m in (num, den):
            if m is not None and (bad := [lv for lv in levels if lv not in m.levels]):
                raise RegistryError(f"{where}: мера «{m.name}» (витрина {m.mart}) не отвечает на уровнях {bad}")
        for c in inputs:
            if bad := [lv for lv in levels if lv not in reg.indicators[c].levels]:
                raise RegistryError(f"{where}: показатель «{c}» формулы не считается на уровнях {bad}")
        try:
            target, weight = float(raw["target"]), float(raw["weight"])
            factor = float(raw.get("factor", 1))
        except (TypeError, ValueError) as exc:
            raise RegistryError(f"{where}: target, weight и factor должны быть числами") from exc
        if weight < 0:
            raise RegistryError(f"{where}: вес не может быть отрицательным")
        try:
            min_den = float(raw.get("min_denominator", default_min if kind in ("ratio", "percentile") else 0))
        except (TypeError, ValueError) as exc:
            raise RegistryError(f"{where}: min_denominator должен быть числом") from exc
        if min_den < 0 or (min_den > 0 and kind not in ("ratio", "percentile")):
            raise RegistryError(f"{where}: min_denominator — неотрицательное число, только для отношений и перцентилей")
        try:
            threshold = float(raw.get("outlier_threshold", default_threshold))
        except (TypeError, ValueError) as exc:
            raise RegistryError(f"{where}: outlier_threshold должен быть числом") from exc
        if not threshold > 0:
            raise RegistryError(f"{where}: outlier_threshold должен быть больше нуля")
        mo_kinds = tuple(raw.get("mo_kinds") or ())
        if bad := [k for k in mo_kinds if k not in MO_KINDS]:
            raise RegistryError(f"{where}: неизвестные типы организаций в mo_kinds: {bad}")
        reg.indicators[code] = Indicator(
            code=code, name=raw["name"], short=raw.get("short", raw["name"]), group=raw["group"],
            method=raw["method"], unit=raw["unit"], direction=raw["direction"], target=target, weight=weight,
            levels=levels, numerator=num, denominator=den, factor=factor, decimals=int(raw.get("decimals", 1)),
            annualize=bool(raw.get("annualize", False)), key=bool(raw.get("key", False)), percentile=pct,
            numerator_label=(num.label if num else ""), denominator_label=(den.label if den else ""),
            kind=kind, formula=formula, inputs=inputs, min_denominator=min_den, mo_kinds=mo_kinds,
            outlier_threshold=threshold,
        )
    if not reg.indicators:
        raise RegistryError("В реестре нет ни одного показателя")
    raw_rating = data.get("rating") or {}
    try:
        reg.rating = RatingConfig(
            integral_target=float(raw_rating.get("integral_target", 90)),
            completeness_indicator=raw_rating.get("completeness_indicator", "emk_coverage"),
            completeness_min=float(raw_rating.get("completeness_min", 80)),
            min_weight_share=float(raw_rating.get("min_weight_share", 0.7)),
            peers_visible=bool(raw_rating.get("peers_visible", True)),
            dq_min=float(raw_rating.get("dq_min", 60)))
    except (TypeError, ValueError) as exc:
        raise RegistryError("rating: числовые параметры рейтинга должны быть числами") from exc
    if reg.rating.completeness_indicator not in reg.indicators:
        raise RegistryError(f"rating: показатель полноты «{reg.rating.completeness_indicator}» не объявлен")
    if not 0 < reg.rating.min_weight_share <= 1:
        raise RegistryError("rating: min_weight_share должен быть в (0; 1]")
    if not 0 <= reg.rating.dq_min <= 100:
        raise RegistryError("rating: dq_min — оценка качества данных от 0 до 100")
    if not any(i.weight > 0 for i in reg):
        raise RegistryError("rating: ни у одного показателя нет веса")
    return reg


REGISTRY_PATH = Path(__file__).with_name("indicators.toml")


def load_registry(path: Path = REGISTRY_PATH) -> Registry:
    raw = Path(path).read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{Path(path).name}: ошибка синтаксиса TOML: {exc}") from exc
    reg = parse_registry(data)
    reg.version = hashlib.sha256(raw).hexdigest()[:16]
    return reg
