"""Targets of indicators: the registry's default regional target (overrides come from the database)."""
from __future__ import annotations

from .model import Indicator
from .periods import Period


def targets_for(ind: Indicator, level: str, unit_ids: list, period: Period) -> list[float]:
    """The target that applies to each unit for the period."""
    return [ind.target for _ in unit_ids]
