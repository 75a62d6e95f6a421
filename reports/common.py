"""Parameter parsing shared by table builders."""
from __future__ import annotations

import datetime as dt

from components.tablespec import TableParamError
from core import fmt
from core.periods import Period, PeriodError, month_end, parse_period
from metrics import evaluate as E


def period_param(params: dict) -> Period:
    span = E.data_span()
    if span is None:
        raise TableParamError("Витрины не построены")
    try:
        p = parse_period(params.get("period") or f"{span[1]:%Y-%m}")
    except PeriodError as exc:
        raise TableParamError(str(exc)) from exc
    if p.first > span[1] or p.last < span[0]:
        raise TableParamError(f"За период «{p.label}» данных нет")
    return p.clip(span[1])


def months_of(p: Period) -> tuple[dt.date, ...]:
    have = set(E.data_months())
    return tuple(m for m in p.months if m in have)


def num_col(cid: str, name: str, decimals: int = 0, sign: bool = False) -> dict:
    from components.table import num
    f = num(decimals)
    return {"name": name, "id": cid, "type": "numeric", "format": f.sign("+") if sign else f}


def text_col(cid: str, name: str) -> dict:
    return {"name": name, "id": cid}


def unit_param(params: dict, scope, path: str):
    """The unit named by a table's parameters (the city by default), refused outside the scope."""
    from data_access import units as U
    try:
        return U.scoped_unit(params.get("level") or "region", params.get("id"), scope, path, params.get("mo"))
    except U.UnitNotFound:
        raise  # a LookupError: 404 in the API and exports
    except U.UnitError as exc:
        raise TableParamError(str(exc)) from exc


def as_of_param(params: dict, period=None) -> dt.date:
    """The date of the snapshot: given, or the end of the period (the last day with data at most)."""
    span = E.data_span()
    last_day = month_end(span[1])
    if params.get("date"):
        try:
            d = dt.date.fromisoformat(str(params["date"])[:10])
        except ValueError as exc:
            raise TableParamError("Дата — в формате ГГГГ-ММ-ДД") from exc
        if not span[0] <= d <= last_day:
            raise TableParamError(f"Дата вне периода данных ({fmt.date(span[0])} – {fmt.date(last_day)})")
        return d
    if period is not None:
        end = month_end(period.last)
        return min(end, last_day)
    return last_day


def pct(a, b, decimals: int = 1):
    """a as a percentage of b, rounded (None when b is 0 or missing)."""
    return round(float(a) / float(b) * 100, decimals) if b else None


def unit_period(params: dict, scope, path: str, levels=None, problem: str = ""):
    """A table's unit (refused outside the scope), period and months; a unit at a level the table is not kept at
    (``levels``) is refused with ``problem``."""
    u = unit_param(params, scope, path)
    if levels is not None and u.level not in levels:
        raise TableParamError(problem)
    p = period_param(params)
    return u, p, months_of(p)


def base_params(u, p) -> dict:
    """The parameters that name a table of a unit and period (its export and API address)."""
    return {"level": u.level, "id": u.key, "period": p.key}
