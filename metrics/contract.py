"""The effective contract's schemes: declared as data, parsed into typed objects, validated, versioned.

A scheme (``contract_schemes.toml``; format in its header) names the positions it scores, the level its
criteria are read at (the doctor in his organisation, or the organisation for its head), its period, its
criteria — each a registry indicator turned into points by bands or by a scale — and the conversion of the
total into the bonus share. The shipped file is version 1 of each scheme; later versions are saved by the
committee's HR (``save``) with a month they apply from, the author and a comment, and never change.
The version in force for a period is the latest whose ``valid_from`` is not after the period's first month.
"""
from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.contract_data import POSITIONS
from core.fmt import number as num
from core.fmt import plural
from core.periods import Period
from data_access import contract as store
from data_access.context import get_db
from data_access.reference import MO_KINDS
from data_access.scope import CITY, Scope

from . import evaluate as E
from .model import Registry, RegistryError

SCHEMES_PATH = Path(__file__).with_name("contract_schemes.toml")
LEVELS = {"doctor": "врач", "mo": "организация"}
PERIODS = {"month": "месяц", "quarter": "квартал"}
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
_SCHEME_KEYS = {"code", "name", "positions", "mo_kinds", "level", "period", "valid_from", "share", "max_total",
                "criterion"}
_CRITERION_KEYS = {"code", "name", "indicator", "bands", "scale", "weight", "cap", "no_data"}
_BAND_KEYS = {"min", "max", "above", "below", "points"}


class SchemeError(RegistryError):
    """A scheme that cannot be used; ``problems`` lists what is wrong, in Russian (a broken declaration, as a
    broken indicator is: the app refuses to start on a shipped one)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class StaleScheme(SchemeError):
    """Somebody saved a version of the scheme after the one the edit started from; nothing was saved."""


@dataclass(frozen=True)
class Band:
    """An interval of values and its points: every bound given must hold (min ≤ v ≤ max, above < v < below)."""
    points: float
    min: float | None = None
    max: float | None = None
    above: float | None = None
    below: float | None = None

    def matches(self, v: float) -> bool:
        v = round(v, 9)  # 29 / 100 × 100 is 28,999…: a ratio exactly on an edge belongs to it
        return ((self.min is None or v >= self.min) and (self.max is None or v <= self.max)
                and (self.above is None or v > self.above) and (self.below is None or v < self.below))

    def text(self, unit: str = "", decimals: int = 1) -> str:
        """The interval in Russian: «≥ 100 %», «≥ 95 и < 100 %», «0» (a count: none), «< 180 на 1000»."""
        def n(x):
            return num(x, 0) if float(x).is_integer() else short(x)
        lo = f"≥ {n(self.min)}" if self.min is not None else f"> {n(self.above)}" if self.above is not None else ""
        hi = f"≤ {n(self.max)}" if self.max is not None else f"< {n(self.below)}" if self.below is not None else ""
        if self.min is not None and self.max is not None and self.min == self.max:
            body = f"= {n(self.min)}"
        elif self.max == 0 and not lo:
            body = "0"  # a count: none at all
        elif lo and hi:
            body = f"{lo} и {hi}"
        else:
            body = lo or hi
        return f"{body} {unit}".strip()


@dataclass(frozen=True)
class Criterion:
    code: str
    name: str
    indicator: str
    bands: tuple[Band, ...] = ()
    scale: float | None = None       # points = value × scale (instead of bands)
    weight: float = 1.0              # points × weight
    cap: float | None = None         # at most this many points (after the weight)
    no_data: float = 0.0             # points when there are no data or too few observations

    @property
    def max_points(self) -> float:
        if self.scale is not None:
            return float(self.cap)
        best = max(max((b.points for b in self.bands), default=0.0), 0.0) * self.weight
        return min(best, self.cap) if self.cap is not None else best

    def score(self, value: float | None) -> tuple[float, Band | None]:
        """Points for a value (None: no data) and the band that gave them (None: no band or a scale)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.no_data, None
        if self.scale is not None:
            pts = value * self.scale * self.weight
            band = None
        else:
            band = next((b for b in self.bands if b.matches(value)), None)
            pts = band.points * self.weight if band else 0.0
        if self.cap is not None:
            pts = min(pts, self.cap)
        return float(pts), band

    def rule(self, unit: str = "", decimals: int = 1) -> str:
        """The criterion's rule in Russian: «≥ 100 % — 3 балла; ≥ 95 и < 100 % — 1 балл; иначе — 0 баллов»."""
        w = f" × {short(self.weight)}" if self.weight != 1 else ""
        if self.scale is not None:
            text = f"значение × {short(self.scale)}{w}, не более {points_text(self.cap)}"
        else:
            text = "; ".join(f"{b.text(unit, decimals)} — {points_text(b.points)}{w}" for b in self.bands)
            text += "; иначе — 0 баллов"
            if self.cap is not None:
                text += f"; не более {points_text(self.cap)}"
        if self.no_data:
            text += f"; нет данных — {points_text(self.no_data)}"
        return text


@dataclass(frozen=True)
class ShareBand:
    min: float
    share: float


@dataclass(frozen=True)
class Scheme:
    code: str
    name: str
    positions: tuple[str, ...]
    level: str
    period: str
    valid_from: dt.date
    criteria: tuple[Criterion, ...]
    share: tuple[ShareBand, ...]     # by min, highest first
    max_total: float | None = None
    mo_kinds: tuple[str, ...] = ()   # the kinds of organisation it applies to; empty: every kind
    version: int = 0
    body: str = field(default="", compare=False, repr=False)

    def applies(self, position: str, mo_kind: str | None) -> bool:
        """Whether the scheme scores this position in an organisation of this kind."""
        return position in self.positions and (not self.mo_kinds or mo_kind in self.mo_kinds)

    @property
    def max_points(self) -> float:
        total = sum(c.max_points for c in self.criteria)
        return min(total, self.max_total) if self.max_total is not None else total

    def total(self, points: list[float]) -> float:
        t = float(sum(points))
        return min(t, self.max_total) if self.max_total is not None else t

    def share_of(self, total: float) -> float:
        """The bonus share (0–1) for a total: the first band whose min the total reaches."""
        return next((b.share for b in self.share if total >= b.min), 0.0)

    def share_rule(self) -> str:
        parts = [f"от {points_text(b.min)} — {num(b.share * 100, 0)} %" for b in self.share]
        return "; ".join(parts) + "; меньше — 0 %"


def points_text(x: float) -> str:
    """«3 балла», «0,5 балла», «−1 балл» (Russian plural for whole numbers; a fraction takes the genitive)."""
    x = round(float(x), 2)
    if x.is_integer():
        return f"{num(x, 0)} {plural(abs(int(x)), 'балл', 'балла', 'баллов')}"
    return f"{short(x)} балла"


def short(x: float) -> str:
    """A number with as many decimals as it has (up to two): «0,5», «0,25», «2,6», «12»."""
    x = round(float(x), 2)
    d = 0 if x.is_integer() else 1 if round(x, 1) == x else 2
    return num(x, d)


@functools.lru_cache(maxsize=4096)
def rule_text(c: Criterion, unit: str = "", decimals: int = 1) -> str:
    """``Criterion.rule``, remembered: a list of heads repeats the same few criteria hundreds of times."""
    return c.rule(unit, decimals)


# ------------------------------------------------------------------ parsing and validation
def _number(raw, key: str, where: str, problems: list[str]) -> float | None:
    v = raw.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        problems.append(f"{where}: «{key}» должно быть числом")
        return None
    return float(v)


def _unknown(raw: dict, allowed: set[str], where: str, problems: list[str]) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        problems.append(f"{where}: неизвестные поля {', '.join(extra)} (допустимы: {', '.join(sorted(allowed))})")


def _band(raw, where: str, problems: list[str]) -> Band | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: интервал задаётся как {{ min = …, points = … }}")
        return None
    _unknown(raw, _BAND_KEYS, where, problems)
    vals = {k: _number(raw, k, where, problems) for k in _BAND_KEYS}
    if vals["points"] is None:
        problems.append(f"{where}: не указаны баллы (points)")
        return None
    if all(vals[k] is None for k in ("min", "max", "above", "below")):
        problems.append(f"{where}: нужна хотя бы одна граница (min, max, above или below)")
        return None
    lo = [x for x in (vals["min"], vals["above"]) if x is not None]
    hi = [x for x in (vals["max"], vals["below"]) if x is not None]
    if lo and hi and max(lo) > min(hi):
        problems.append(f"{where}: нижняя граница больше верхней")
        return None
    return Band(**vals)


def _criterion(raw, where: str, reg: Registry | None, level: str, problems: list[str]) -> Criterion | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: критерий задаётся таблицей [[scheme.criterion]]")
        return None
    _unknown(raw, _CRITERION_KEYS, where, problems)
    code, name, ind = raw.get("code"), raw.get("name"), raw.get("indicator")
    n0 = len(problems)
    if not isinstance(code, str) or not _CODE.match(code):
        problems.append(f"{where}: код критерия — латинские строчные буквы, цифры и «_» (2–32 знака)")
    where = f"{where} «{code}»" if isinstance(code, str) else where
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}: не указано название (name)")
    if not isinstance(ind, str):
        problems.append(f"{where}: не указан показатель (indicator)")
    elif reg is not None:
        if ind not in reg:
            problems.append(f"{where}: показателя «{ind}» нет в реестре")
        elif not reg[ind].valid_at(level):
            problems.append(f"{where}: показатель «{ind}» не считается на уровне «{LEVELS.get(level, level)}»")
    scale = _number(raw, "scale", where, problems)
    weight = _number(raw, "weight", where, problems)
    cap = _number(raw, "cap", where, problems)
    no_data = _number(raw, "no_data", where, problems)
    bands_raw = raw.get("bands")
    bands: list[Band] = []
    if (bands_raw is None) == (scale is None):
        problems.append(f"{where}: нужны либо интервалы (bands), либо шкала (scale)")
    elif bands_raw is not None:
        if not isinstance(bands_raw, list) or not bands_raw:
            problems.append(f"{where}: bands — непустой список интервалов")
        else:
            bands = [b for i, r in enumerate(bands_raw, 1) if (b := _band(r, f"{where}, интервал {i}", problems))]
    elif cap is None:
        problems.append(f"{where}: у шкалы (scale) должно быть ограничение (cap)")
    if weight is not None and weight <= 0:
        problems.append(f"{where}: вес (weight) должен быть больше нуля")
    if len(problems) > n0:
        return None
    return Criterion(code=code, name=name.strip(), indicator=ind, bands=tuple(bands), scale=scale,
                     weight=1.0 if weight is None else weight, cap=cap, no_data=no_data or 0.0)


def _month(v, where: str, problems: list[str]) -> dt.date | None:
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}", v):
        y, m = int(v[:4]), int(v[5:])
        if 2000 <= y <= 2100 and 1 <= m <= 12:
            return dt.date(y, m, 1)
    problems.append(f"{where}: начало действия (valid_from) — месяц в виде ГГГГ-ММ, например 2026-01")
    return None


def parse_scheme(raw, reg: Registry | None = None, where: str = "схема", body: str = "", version: int = 0) -> Scheme:
    """One scheme from its TOML table, checked against the registry (``reg``); SchemeError lists the problems."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise SchemeError([f"{where}: схема задаётся таблицей [[scheme]]"])
    _unknown(raw, _SCHEME_KEYS, where, problems)
    code = raw.get("code")
    if not isinstance(code, str) or not _CODE.match(code):
        problems.append(f"{where}: код схемы — латинские строчные буквы, цифры и «_» (2–32 знака)")
    else:
        where = f"схема «{code}»"
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}: не указано название (name)")
    positions = raw.get("positions")
    if not isinstance(positions, list) or not positions or not all(isinstance(p, str) for p in positions):
        problems.append(f"{where}: positions — непустой список должностей")
        positions = []
    for p in positions:
        if p not in POSITIONS:
            problems.append(f"{where}: должность «{p}» неизвестна; есть: {', '.join(POSITIONS)}")
    kinds = raw.get("mo_kinds", [])
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        problems.append(f"{where}: mo_kinds — список типов организаций")
        kinds = []
    for k in kinds:
        if k not in MO_KINDS:
            problems.append(f"{where}: тип организации «{k}» неизвестен; есть: {', '.join(MO_KINDS)}")
    level, period = raw.get("level"), raw.get("period")
    if level not in LEVELS:
        problems.append(f"{where}: level — doctor (по врачу) или mo (по организации)")
    if period not in PERIODS:
        problems.append(f"{where}: period — month или quarter")
    valid_from = _month(raw.get("valid_from"), where, problems)
    if valid_from and period == "quarter" and valid_from.month % 3 != 1:
        problems.append(f"{where}: квартальная схема начинает действовать с первого месяца квартала")
    max_total = _number(raw, "max_total", where, problems)
    crit_raw = raw.get("criterion")
    criteria = []
    if not isinstance(crit_raw, list) or not crit_raw:
        problems.append(f"{where}: нет критериев ([[scheme.criterion]])")
    else:
        for i, r in enumerate(crit_raw, 1):
            c = _criterion(r, f"{where}, критерий {i}", reg, level, problems)
            if c is not None:
                criteria.append(c)
        codes = [c.code for c in criteria]
        for c in sorted({c for c in codes if codes.count(c) > 1}):
            problems.append(f"{where}: критерий «{c}» повторяется")
    share_raw = raw.get("share")
    share = []
    if not isinstance(share_raw, list) or not share_raw:
        problems.append(f"{where}: share — непустой список {{ min = баллы, share = доля }}")
    else:
        for i, r in enumerate(share_raw, 1):
            w = f"{where}, доля {i}"
            if not isinstance(r, dict):
                problems.append(f"{w}: задаётся как {{ min = …, share = … }}")
                continue
            _unknown(r, {"min", "share"}, w, problems)
            lo, sh = _number(r, "min", w, problems), _number(r, "share", w, problems)
            if lo is None or sh is None:
                problems.append(f"{w}: нужны min и share")
            elif not 0 <= sh <= 1:
                problems.append(f"{w}: доля (share) — от 0 до 1")
            else:
                share.append(ShareBand(lo, sh))
    share.sort(key=lambda b: -b.min)
    if any(a.share < b.share for a, b in zip(share, share[1:])):
        problems.append(f"{where}: доля премии не может уменьшаться с ростом баллов")
    if problems:
        raise SchemeError(problems)
    return Scheme(code=code, name=name.strip(), positions=tuple(positions), level=level, period=period,
                  valid_from=valid_from, criteria=tuple(criteria), share=tuple(share), max_total=max_total,
                  mo_kinds=tuple(kinds), version=version, body=body)


def split_bodies(text: str) -> list[str]:
    """The text of each ``[[scheme]]`` of a file, with its criteria and the comments inside it."""
    parts, cur = [], None
    for line in text.splitlines(keepends=True):
        if line.strip() == "[[scheme]]":
            if cur is not None:
                parts.append("".join(cur).rstrip() + "\n")
            cur = [line]
        elif cur is not None:
            cur.append(line)
    if cur is not None:
        parts.append("".join(cur).rstrip() + "\n")
    return parts


def parse_body(body: str, reg: Registry | None = None, version: int = 0) -> Scheme:
    """One scheme from the TOML text of one version (exactly one ``[[scheme]]``)."""
    try:
        data = tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:
        raise SchemeError([f"Текст схемы не разобран как TOML: {exc}"]) from None
    schemes = data.get("scheme")
    extra = sorted(set(data) - {"scheme"})
    if extra:
        raise SchemeError([f"Вне [[scheme]] есть поля {', '.join(extra)}"])
    if not isinstance(schemes, list) or len(schemes) != 1:
        raise SchemeError(["Текст версии должен содержать ровно одну схему ([[scheme]])"])
    return parse_scheme(schemes[0], reg, body=body, version=version)


def check_positions(schemes: list[Scheme]) -> None:
    """A position in an organisation of a kind is scored by one scheme at a time (SchemeError otherwise): two
    schemes may share a position only for disjoint kinds of organisation."""
    problems = []
    for i, a in enumerate(schemes):
        for b in schemes[i + 1:]:
            if a.code == b.code:
                continue
            common = [p for p in a.positions if p in b.positions]
            kinds_overlap = not a.mo_kinds or not b.mo_kinds or set(a.mo_kinds) & set(b.mo_kinds)
            for p in common if kinds_overlap else []:
                problems.append(f"Должность «{POSITIONS[p]}» есть в схемах «{a.code}» и «{b.code}» для одних и тех же "
                                "типов организаций")
    if problems:
        raise SchemeError(problems)


def shipped(reg: Registry | None = None, path: Path = SCHEMES_PATH) -> list[Scheme]:
    """The schemes of the shipped file (version 1), validated; SchemeError names every problem."""
    text = path.read_text(encoding="utf-8")
    out, problems = [], []
    for body in split_bodies(text):
        try:
            out.append(parse_body(body, reg, version=1))
        except SchemeError as exc:
            problems += exc.problems
    codes = [s.code for s in out]
    problems += [f"Схема «{c}» объявлена дважды" for c in sorted({c for c in codes if codes.count(c) > 1})]
    if problems:
        raise SchemeError(problems)
    check_positions(out)
    return out


# ------------------------------------------------------------------ versions in force
_seeded: set[str] = set()


def _db():
    """The app's database with the shipped schemes written as version 1 (once per database and process)."""
    db = get_db()
    if db.url not in _seeded:
        store.seed(db, [(s.code, s.valid_from, s.body) for s in shipped()])
        _seeded.add(db.url)
    return db


def versions(code: str | None = None) -> pd.DataFrame:
    """Every saved version: scheme_code, version, valid_from, author, created_at, comment (newest first)."""
    db = _db()
    out = store.versions(db, code)
    if out.empty and code is None:  # the database was replaced under this process (a restore): seed it again
        _seeded.discard(db.url)
        out = store.versions(_db(), code)
    return out


def version(code: str, number: int, checked: bool = False) -> Scheme:
    """One saved version, parsed (LookupError when there is none); ``checked``: also against the registry of
    this release (a version saved under an earlier one may name an indicator that is gone: SchemeError)."""
    body = store.body(_db(), code, number)
    if body is None:
        raise LookupError(f"Версии {number} схемы «{code}» нет")
    try:
        return parse_body(body, E.registry() if checked else None, version=number)
    except SchemeError as exc:
        raise SchemeError([f"Версия {number} схемы «{code}» не годится для этой версии программы: "
                           + "; ".join(exc.problems)]) from None


def in_force(period: Period) -> list[Scheme]:
    """The version of each scheme that applies to a period (schemes that start later are left out)."""
    v = versions()
    out = []
    for code, rows in v.groupby("scheme_code", sort=True):
        rows = rows[pd.to_datetime(rows["valid_from"]).dt.date <= period.first]
        if rows.empty:
            continue
        # the latest saved version that has started: a correction saved later from an earlier month
        # overrides an earlier-saved version from its own month on
        out.append(version(code, int(rows["version"].max()), checked=True))
    return out


def for_position(position: str, period: Period, mo_kind: str | None = None) -> Scheme | None:
    """The scheme in force that scores a position (in an organisation of this kind; None: the first one)."""
    return next((s for s in in_force(period) if position in s.positions
                 and (mo_kind is None or s.applies(position, mo_kind))), None)


def diff(code: str, number: int) -> list[str]:
    """Unified-diff lines of a version against the previous one (the first version: all added)."""
    new = store.body(_db(), code, number)
    if new is None:
        raise LookupError(f"Версии {number} схемы «{code}» нет")
    old = store.body(_db(), code, number - 1) if number > 1 else ""
    return list(difflib.unified_diff((old or "").splitlines(), new.splitlines(), f"версия {number - 1}",
                                     f"версия {number}", lineterm="", n=2))


def save(code: str, body: str, valid_from: str, comment: str, base_version: int, author: str) -> int:
    """Validate and save a new version of a scheme; returns its number.

    Raises:
        SchemeError: the text is not a valid scheme, its code is not ``code``, a position would be scored
            twice, the comment is empty, or somebody saved a version since ``base_version`` was read.
    """
    problems = []
    if not isinstance(comment, str) or not comment.strip():
        problems.append("Укажите комментарий: что изменено и почему")
    elif len(comment) > 400:
        problems.append("Комментарий — до 400 символов")
    vf = _month(valid_from, "Начало действия", problems)
    if problems:
        raise SchemeError(problems)
    scheme = parse_body(body.replace("\r\n", "\n"), E.registry())
    if scheme.code != code:
        raise SchemeError([f"Код схемы в тексте «{scheme.code}», а изменяется «{code}»"])
    if vf != scheme.valid_from:
        # the month chosen in the form wins: the text keeps it, so that the version reads the same everywhere
        body = re.sub(r"""(?m)^(\s*valid_from\s*=\s*)(["'])[^"']*\2""", rf'\g<1>"{vf:%Y-%m}"', body, count=1)
        scheme = parse_body(body.replace("\r\n", "\n"), E.registry())
        if scheme.valid_from != vf:
            raise SchemeError(["Начало действия в тексте (valid_from) и в форме различаются: исправьте одно из них"])
    # the new version applies from its month on: no other scheme may score its positions then or later
    later = {d for d in versions()["valid_from"] if d > vf}
    for month in sorted({vf} | later):
        others = [s for s in in_force(Period("month", month, month)) if s.code != code]
        check_positions(others + [scheme])
    number = store.add_version(get_db(), code, base_version, vf, body.replace("\r\n", "\n"), author, comment.strip())
    if number is None:
        raise StaleScheme(["Схему только что изменил другой пользователь: обновите страницу и внесите изменения "
                           "в новую версию (ваш текст остался в форме)"])
    return number


def validate_shipped(reg: Registry) -> None:
    """Start-up check of the shipped schemes against the registry (SchemeError names every problem)."""
    shipped(reg)


# ------------------------------------------------------------------ criterion values
def values(scheme: Scheme, period: Period, parent: int | None, scope: Scope = CITY) -> dict[str, pd.DataFrame]:
    """Each criterion's indicator values for the units of the scheme's level under ``parent`` (doctors of an
    organisation; organisations of a district or, with None, of the city): criterion → frame(unit_id,
    numerator, denominator, value, few). A count (no denominator) without rows is 0, not "no data"."""
    out = {}
    reg = E.registry()
    for c in scheme.criteria:
        f = E.frame(c.indicator, scheme.level, period, parent, scope)
        f.attrs["count"] = reg[c.indicator].denominator is None and reg[c.indicator].kind != "derived"
        out[c.code] = f
    return out
