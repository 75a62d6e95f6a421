"""The unit hierarchy (city → district → organisation → doctor) with names, cached."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from . import schema as s
from .cache import cached
from .context import get_db

CITY_NAME = "Санкт-Петербург"
CHILD_LEVEL = {"region": "district", "district": "mo", "mo": "doctor", "doctor": None}
PARENT_LEVEL = {"district": "region", "mo": "district", "doctor": "mo", "region": None}


@cached(memory=True)
def districts() -> pd.DataFrame:
    return get_db().read_df(sa.select(s.district.c.district_id, s.district.c.name).order_by(s.district.c.name))


@cached(memory=True)
def organisations() -> pd.DataFrame:
    m, d = s.mo, s.district
    return get_db().read_df(sa.select(m.c.mo_id, m.c.name, m.c.short_name, m.c.kind, m.c.district_id,
                                      m.c.parent_mo_id, m.c.is_state, d.c.name.label("district_name"))
                            .select_from(m.join(d, d.c.district_id == m.c.district_id)).order_by(m.c.mo_id))


@cached(memory=True)
def doctors_of(mo_id: int) -> pd.DataFrame:
    doc, sp, dep = s.doctor, s.specialty, s.department
    return get_db().read_df(
        sa.select(doc.c.doctor_id, doc.c.full_name, doc.c.mo_id, doc.c.dept_id, sp.c.name.label("specialty"),
                  dep.c.name.label("department"))
        .select_from(doc.join(sp, sp.c.specialty_id == doc.c.specialty_id).join(dep, dep.c.dept_id == doc.c.dept_id))
        .where(doc.c.mo_id == int(mo_id)).order_by(doc.c.full_name))


@dataclass(frozen=True)
class Unit:
    level: str
    id: int
    name: str
    district_id: int | None = None
    mo_id: int | None = None


def unit(level: str, unit_id: int | None) -> Unit | None:
    """A unit by level and id, or None when there is no such unit."""
    if level == "region":
        return Unit("region", 0, CITY_NAME)
    if unit_id is None:
        return None
    uid = int(unit_id)
    if level == "district":
        d = districts()
        row = d[d["district_id"] == uid]
        return None if row.empty else Unit("district", uid, row.iloc[0]["name"], district_id=uid)
    if level == "mo":
        o = organisations()
        row = o[o["mo_id"] == uid]
        if row.empty:
            return None
        r = row.iloc[0]
        return Unit("mo", uid, r["short_name"], district_id=int(r["district_id"]), mo_id=uid)
    if level == "doctor":
        doc = doctor_row(uid)
        if doc is None:
            return None
        mo = unit("mo", doc[1])
        return Unit("doctor", uid, doc[0], district_id=mo.district_id, mo_id=mo.mo_id)
    return None


@cached(memory=True)
def doctor_row(doctor_id: int) -> tuple[str, int] | None:
    """(full name, organisation) of a doctor."""
    with get_db().engine.connect() as c:
        r = c.execute(sa.select(s.doctor.c.full_name, s.doctor.c.mo_id).where(s.doctor.c.doctor_id == int(doctor_id))).first()
    return (r.full_name, int(r.mo_id)) if r else None


def lineage(u: Unit) -> list[Unit]:
    """The chain from the city down to the unit: [city, district, organisation, doctor]."""
    chain = [unit("region", None)]
    if u.level in ("district", "mo", "doctor") and u.district_id:
        chain.append(unit("district", u.district_id))
    if u.level in ("mo", "doctor") and u.mo_id:
        chain.append(unit("mo", u.mo_id))
    if u.level == "doctor":
        chain.append(u)
    return chain


def doctor_mos(doctor_ids: list[int]) -> dict[int, int]:
    """doctor → organisation, for a list of doctors (one query)."""
    if not doctor_ids:
        return {}
    with get_db().engine.connect() as c:
        rows = c.execute(sa.select(s.doctor.c.doctor_id, s.doctor.c.mo_id).where(
            s.doctor.c.doctor_id.in_(sorted(set(doctor_ids))))).all()
    return {int(d): int(m) for d, m in rows}


def scoped_unit(level: str, unit_id, scope, levels: list[str]) -> Unit:
    """A unit of one of ``levels``, refused (ScopeError) outside the person's scope.

    Raises ValueError for an unknown level and LookupError for an unknown unit.
    """
    if level not in levels:
        raise ValueError(f"Уровень «{level}» неизвестен; допустимы: {', '.join(levels)}")
    if level == "region":
        return unit("region", None)
    u = unit(level, unit_id)
    if u is None:
        raise LookupError(f"Единицы {unit_id} уровня «{level}» нет")
    if level == "district":
        scope.require_district(u.id)
    else:
        scope.require_mo(u.mo_id, u.district_id)
    return u
