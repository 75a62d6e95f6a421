"""Attainment of a target, respecting the direction (higher or lower is better)."""
from __future__ import annotations

import math

# Colour bands: reached; within 5 % of the target ("progress, more effort needed"); not on track.
TOLERANCE = 0.05
STATUS_NAMES = {"good": "цель достигнута", "warn": "близко к цели", "bad": "цель не достигнута", "none": "нет данных",
                "few": "мало наблюдений"}
STATUS_COLORS = {"good": "#198754", "warn": "#e0a800", "bad": "#dc3545", "none": "#adb5bd", "few": "#ced4da"}


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def status(value, target, higher_is_better: bool, few: bool = False) -> str:
    """'good', 'warn', 'bad' or 'none' for a value against its target; 'few' for a value on a denominator too
    small to judge (it is shown, but neither coloured nor ranked)."""
    if _missing(value):
        return "none"
    if few:
        return "few"
    if _missing(target):
        return "none"
    if higher_is_better:
        if value >= target:
            return "good"
        return "warn" if value >= target * (1 - TOLERANCE) else "bad"
    if value <= target:
        return "good"
    return "warn" if value <= target * (1 + TOLERANCE) else "bad"


def gap(value, target, higher_is_better: bool):
    """How far the value is from the target in the good direction (negative = short of it)."""
    if _missing(value) or _missing(target):
        return None
    return (value - target) if higher_is_better else (target - value)


def change_is_good(delta, higher_is_better: bool) -> bool | None:
    if _missing(delta) or delta == 0:
        return None
    return (delta > 0) == higher_is_better
