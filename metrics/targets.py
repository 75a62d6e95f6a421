"""Targets: the registry's default regional target, overridden per district or organisation and per period.

An override applies to a unit (the region itself, a district, an organisation) from a month on,
open-ended or to a month. For a unit and a period the most specific override in force in the
period's last month wins: organisation → its district → the region → the registry default.
Doctors take their organisation's target. Every change is kept in ``target_history``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from core.periods import Period
from data_access import audit
from data_access import units as U
from data_access.app_schema import ensure, target_history, target_override
from data_access.cache import cached
from data_access.context import get_db

from .model import Indicator

LEVELS = ("region", "district", "mo")


class TargetError(ValueError):
    """A target change refused, with the reason in Russian."""


@cached(memory=True)
def overrides(code: str) -> pd.DataFrame:
    """The active overrides of one indicator (small: read whole, resolved in pandas)."""
    db = get_db()
    ensure(db)
    t = target_override
    df = db.read_df(sa.select(t.c.override_id, t.c.level, t.c.unit_id, t.c.valid_from, t.c.valid_to, t.c.value,
                              t.c.updated_at, t.c.updated_by).where(t.c.code == code, t.c.is_deleted.is_(False)))
    for c in ("valid_from", "valid_to"):
        df[c] = pd.to_datetime(df[c]).dt.date
    return df


def _in_force(ov: pd.DataFrame, month: dt.date) -> dict[tuple[str, int], float]:
    """(level, unit) → value of the override in force in a month (the latest start wins)."""
    if ov.empty:
        return {}
    to = ov["valid_to"]
    live = ov[(ov["valid_from"] <= month) & (to.isna() | to.apply(lambda x: x is not None and x == x and x >= month))]
    live = live.sort_values(["valid_from", "override_id"])
    return {(lv, int(u)): float(v) for lv, u, v in zip(live["level"], live["unit_id"], live["value"])}


def _chains(level: str, unit_ids: list) -> list[list[tuple[str, int]]]:
    """For each unit, the places a target may come from, most specific first."""
    if level == "region":
        return [[("region", 0)] for _ in unit_ids]
    if level == "district":
        return [[("district", int(u)), ("region", 0)] for u in unit_ids]
    orgs = U.organisations().set_index("mo_id")["district_id"]
    if level == "mo":
        return [[("mo", int(u)), ("district", int(orgs.get(int(u), -1))), ("region", 0)] for u in unit_ids]
    mo_of = U.doctor_mos([int(u) for u in unit_ids])
    out = []
    for u in unit_ids:
        mo = mo_of.get(int(u), -1)
        out.append([("mo", mo), ("district", int(orgs.get(mo, -1))), ("region", 0)])
    return out


def targets_for(ind: Indicator, level: str, unit_ids: list, period: Period) -> list[float]:
    """The target that applies to each unit for the period (as in force in its last month)."""
    force = _in_force(overrides(ind.code), period.last)
    if not force:
        return [ind.target for _ in unit_ids]
    return [next((force[k] for k in chain if k in force), ind.target) for chain in _chains(level, unit_ids)]


def resolve(ind: Indicator, level: str, unit_id, month: dt.date) -> float:
    """The target of one unit in force in a month."""
    return targets_for(ind, level, [unit_id], Period("month", month, month))[0]


def targets_version(db) -> str:
    """Changes whenever a target is changed (part of the cache key of evaluated values)."""
    ensure(db)
    with db.engine.connect() as c:
        n, last = c.execute(sa.select(sa.func.count(), sa.func.max(target_history.c.history_id))).one()
    return f"{n}:{last}"


@dataclass
class Change:
    code: str
    level: str
    unit_id: int
    valid_from: dt.date
    valid_to: dt.date | None
    value: float | None        # None deletes the override
    comment: str = ""


def _validate(ind: Indicator, ch: Change) -> None:
    if ch.level not in LEVELS:
        raise TargetError("Цель задаётся для города, района или организации")
    if ch.level == "region" and ch.unit_id != 0:
        raise TargetError("Для города код единицы — 0")
    if ch.level != "region" and U.unit(ch.level, ch.unit_id) is None:
        raise TargetError(f"Единица {ch.unit_id} уровня «{ch.level}» не найдена")
    if ch.valid_to is not None and ch.valid_to < ch.valid_from:
        raise TargetError("Окончание действия раньше начала")
    if ch.value is not None:
        if ch.value != ch.value or ch.value < 0:
            raise TargetError("Цель — неотрицательное число")
        if ind.unit == "%" and ch.value > 100:
            raise TargetError("Цель в процентах не может быть больше 100")


def save(ind: Indicator, ch: Change, by: str, user_id: int | None = None) -> int:
    """Create or change (or delete, value None) the override for a unit and start month; record history."""
    try:
        return _save(ind, ch, by, user_id)
    except sa.exc.IntegrityError as exc:  # a concurrent save of the same override won (PostgreSQL's unique index)
        raise TargetError("Эту цель только что сохранил другой пользователь: обновите страницу и проверьте") from exc


def _save(ind: Indicator, ch: Change, by: str, user_id: int | None) -> int:
    _validate(ind, ch)
    db = get_db()
    ensure(db)
    t = target_override
    now = dt.datetime.now().replace(microsecond=0)
    with db.write() as c:
        row = c.execute(sa.select(t.c.override_id, t.c.value, t.c.valid_to).where(
            t.c.code == ind.code, t.c.level == ch.level, t.c.unit_id == int(ch.unit_id),
            t.c.valid_from == ch.valid_from, t.c.is_deleted.is_(False))).first()
        old = row.value if row else None
        if row is None and ch.value is None:
            raise TargetError("Такой цели нет — удалять нечего")
        if row is None:
            oid = c.execute(t.insert().values(code=ind.code, level=ch.level, unit_id=int(ch.unit_id),
                                              valid_from=ch.valid_from, valid_to=ch.valid_to, value=float(ch.value),
                                              is_deleted=False, updated_at=now, updated_by=by)
                            .returning(t.c.override_id)).scalar()
        else:
            oid = row.override_id
            values = {"updated_at": now, "updated_by": by, "valid_to": ch.valid_to}
            values.update({"is_deleted": True} if ch.value is None else {"value": float(ch.value)})
            c.execute(t.update().where(t.c.override_id == oid).values(**values))
        c.execute(target_history.insert().values(
            override_id=oid, code=ind.code, level=ch.level, unit_id=int(ch.unit_id), valid_from=ch.valid_from,
            valid_to=ch.valid_to, old_value=old, new_value=ch.value, changed_at=now, changed_by=by,
            comment=(ch.comment or "")[:400] or None))
        audit.record(db, "target_change", user_id=user_id, login=by, obj=f"{ind.code}:{ch.level}:{ch.unit_id}",
                     details={"from": f"{ch.valid_from:%Y-%m}", "old": old, "new": ch.value}, conn=c)
    return oid


def history(code: str | None = None) -> pd.DataFrame:
    db = get_db()
    ensure(db)
    h = target_history
    q = sa.select(h).order_by(h.c.history_id.desc())
    if code:
        q = q.where(h.c.code == code)
    return db.read_df(q)
