"""The unit hierarchy, declared once: levels, one lookup, one lineage, one scope check and filter.

Levels (in the spirit of Cube's hierarchies): region → district → organisation (``mo``) →
department (``dept``) → doctor, and ``spec`` — a specialty within one organisation, the
availability view's step between an organisation and its doctors. Each subject walks its own
*path* through these levels (``PATHS``), but every page, API endpoint, export and rating reads
units, breadcrumbs and the person's data scope from here.

Scope rule (docs/security.md): the rows of an answer are units of one level (its *grain*). At
the region grain nothing is filtered (city aggregates are visible to all); at the district grain
only the person's districts; at the grain of organisations and below only the person's
organisations. A unit that contains the person's scope (an MO head's district) is therefore seen
whole, as on the indicator page, while its other children are not. ``scope_where`` is the one
function that turns this rule into the WHERE clause of any table.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from . import schema as s
from .cache import cached
from .context import get_db
from .scope import Scope, ScopeError

CITY_NAME = "Санкт-Петербург"


@dataclass(frozen=True)
class Level:
    """A level of the hierarchy: its key column in the marts and how it is named in Russian."""
    code: str
    name: str            # «район»
    plural: str          # «Районы» (a table of units of this level)
    genitive: str        # «района» (for messages)
    column: str | None   # key column in marts and contract tables
    rank: int            # 0 region, 1 district, 2 organisation and below (scope grain)


LEVELS: dict[str, Level] = {lv.code: lv for lv in (
    Level("region", "город", "Город", "города", None, 0),
    Level("district", "район", "Районы", "района", "district_id", 1),
    Level("mo", "медицинская организация", "Организации", "организации", "mo_id", 2),
    Level("dept", "отделение", "Отделения", "отделения", "dept_id", 3),
    Level("spec", "специальность", "Специальности", "специальности", "specialty_id", 3),
    Level("doctor", "врач", "Врачи", "врача", "doctor_id", 4),
)}

# The drill paths of the subjects: each level's child is the next one.
PATHS: dict[str, tuple[str, ...]] = {
    "indicator": ("region", "district", "mo", "doctor"),
    "emk": ("region", "district", "mo", "dept", "doctor"),
    "access": ("region", "district", "mo", "spec", "doctor"),
    "pregnancy": ("region", "district", "mo", "doctor"),
    "prevention": ("region", "district", "mo", "doctor"),
    "registers": ("region", "district", "mo", "doctor"),
    "morbidity": ("region", "district", "mo"),
}

# Kinds of organisation (the ``mo.kind`` column).
MO_KINDS = {
    "adult_polyclinic": "взрослая поликлиника",
    "children_polyclinic": "детская поликлиника",
    "womens_consultation": "женская консультация",
    "dental": "стоматологическая поликлиника",
    "hospital": "стационар",
    "maternity": "родильный дом",
    "diagnostic_center": "диагностический центр",
    "private": "частная клиника",
}

# Parent and child along the indicator path (the registry's levels).
CHILD_LEVEL = {"region": "district", "district": "mo", "mo": "doctor", "doctor": None}
PARENT_LEVEL = {"district": "region", "mo": "district", "doctor": "mo", "region": None}


class UnitError(ValueError):
    """A unit that cannot be shown: an unknown level, a malformed id, a unit that does not exist."""


class UnitNotFound(UnitError, LookupError):
    """A well-formed request for a unit that does not exist."""


def child_level(level: str, path: str | tuple[str, ...] = "indicator") -> str | None:
    """The next level down along a subject's path (None at its bottom)."""
    levels = PATHS[path] if isinstance(path, str) else path
    i = levels.index(level)
    return levels[i + 1] if i + 1 < len(levels) else None


# ------------------------------------------------------------------ reference lookups (cached)
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
        sa.select(doc.c.doctor_id, doc.c.full_name, doc.c.mo_id, doc.c.dept_id, doc.c.specialty_id,
                  sp.c.name.label("specialty"), dep.c.name.label("department"))
        .select_from(doc.join(sp, sp.c.specialty_id == doc.c.specialty_id).join(dep, dep.c.dept_id == doc.c.dept_id))
        .where(doc.c.mo_id == int(mo_id)).order_by(doc.c.full_name))


@cached(memory=True)
def departments_of(mo_id: int) -> pd.DataFrame:
    d = s.department
    return get_db().read_df(sa.select(d.c.dept_id, d.c.name, d.c.mo_id).where(d.c.mo_id == int(mo_id)).order_by(d.c.name))


@cached(memory=True)
def specialties() -> pd.DataFrame:
    t = s.specialty
    return get_db().read_df(sa.select(t).order_by(t.c.specialty_id))


@cached(memory=True)
def doctor_row(doctor_id: int) -> tuple[str, int, int, int] | None:
    """(full name, organisation, department, specialty) of a doctor."""
    d = s.doctor
    with get_db().engine.connect() as c:
        r = c.execute(sa.select(d.c.full_name, d.c.mo_id, d.c.dept_id, d.c.specialty_id)
                      .where(d.c.doctor_id == int(doctor_id))).first()
    return (r.full_name, int(r.mo_id), int(r.dept_id), int(r.specialty_id)) if r else None


@cached(memory=True)
def dept_row(dept_id: int) -> tuple[str, int] | None:
    with get_db().engine.connect() as c:
        r = c.execute(sa.select(s.department.c.name, s.department.c.mo_id)
                      .where(s.department.c.dept_id == int(dept_id))).first()
    return (r.name, int(r.mo_id)) if r else None


def doctor_mos(doctor_ids: list[int]) -> dict[int, int]:
    """doctor → organisation, for a list of doctors (one query)."""
    if not doctor_ids:
        return {}
    with get_db().engine.connect() as c:
        rows = c.execute(sa.select(s.doctor.c.doctor_id, s.doctor.c.mo_id).where(
            s.doctor.c.doctor_id.in_(sorted(set(doctor_ids))))).all()
    return {int(d): int(m) for d, m in rows}


# ------------------------------------------------------------------ units
@dataclass(frozen=True)
class Unit:
    """A unit of any level with the ids of its ancestors (region: id 0)."""
    level: str
    id: int
    name: str
    district_id: int | None = None
    mo_id: int | None = None
    dept_id: int | None = None
    specialty_id: int | None = None
    kind: str | None = None

    @property
    def key(self) -> int | None:
        """The id as it goes into a URL (None for the city)."""
        return None if self.level == "region" else self.id


CITY = Unit("region", 0, CITY_NAME)


def unit(level: str, unit_id, mo=None) -> Unit | None:
    """A unit by level and id (``mo`` is the organisation of a ``spec``), or None when there is none."""
    if level == "region":
        return CITY
    if unit_id is None or level not in LEVELS:
        return None
    uid = int(unit_id)
    if not 0 < uid < 2 ** 31:  # ids are positive 32-bit integers: anything else names no unit (and overflows SQL)
        return None
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
        return Unit("mo", uid, r["short_name"], district_id=int(r["district_id"]), mo_id=uid, kind=r["kind"])
    if level == "dept":
        row = dept_row(uid)
        mo_u = unit("mo", row[1]) if row else None
        return None if mo_u is None else Unit("dept", uid, row[0], mo_u.district_id, mo_u.mo_id, dept_id=uid)
    if level == "spec":
        mo_u = unit("mo", mo) if mo is not None else None
        sp = specialties()
        row = sp[sp["specialty_id"] == uid]
        if mo_u is None or row.empty:
            return None
        return Unit("spec", uid, row.iloc[0]["name"], mo_u.district_id, mo_u.mo_id, specialty_id=uid)
    doc = doctor_row(uid)
    mo_u = unit("mo", doc[1]) if doc else None
    if mo_u is None:
        return None
    return Unit("doctor", uid, doc[0], mo_u.district_id, mo_u.mo_id, dept_id=doc[2], specialty_id=doc[3])


def node(level: str, unit_id=None, mo=None, path: str | tuple[str, ...] | None = None) -> Unit:
    """The unit asked for by URL-like parameters, or UnitError with a Russian message.

    Args:
        level: a level code; with ``path``, it must be one of that path's levels.
        unit_id: the unit's id (ignored for the city).
        mo: the organisation of a specialty (level ``spec``).
    """
    levels = tuple(LEVELS) if path is None else (PATHS[path] if isinstance(path, str) else path)
    if level not in levels:
        raise UnitError(f"Уровень «{level}» неизвестен; допустимы: {', '.join(levels)}")
    if level == "region":
        return CITY
    if level == "spec" and mo in (None, ""):
        raise UnitError("Для специальности укажите организацию (mo)")
    try:
        uid = int(unit_id)
        mo_id = int(mo) if mo not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise UnitError("Коды единиц должны быть числами") from exc
    u = unit(level, uid, mo_id)
    if u is None:
        raise UnitNotFound(f"Единицы {uid} уровня «{LEVELS[level].name}» нет")
    return u


def lineage(u: Unit, path: str | tuple[str, ...] = "indicator") -> list[Unit]:
    """The chain from the city down to the unit along a subject's path (breadcrumbs)."""
    levels = PATHS[path] if isinstance(path, str) else path
    chain = [CITY]
    ids = {"district": u.district_id, "mo": u.mo_id, "dept": u.dept_id, "spec": u.specialty_id}
    for lv in levels[1:levels.index(u.level) if u.level in levels else len(levels)]:
        if ids.get(lv) is not None:
            chain.append(unit(lv, ids[lv], u.mo_id))
    if u.level != "region":
        chain.append(u)
    return chain


def parent_of(u: Unit, path: str | tuple[str, ...] = "indicator") -> Unit | None:
    chain = lineage(u, path)
    return chain[-2] if len(chain) > 1 else None


def names(level: str) -> dict[int, str]:
    """Every district's or organisation's name by id."""
    if level == "district":
        d = districts()
        return dict(zip(d["district_id"], d["name"]))
    o = organisations()
    return dict(zip(o["mo_id"], o["short_name"]))


def child_names(u: Unit, path: str | tuple[str, ...] = "indicator") -> dict[int, str]:
    """Names of the unit's children along a path (structure only; the scope filters the data rows).

    At the bottom of the path the unit stands for itself (a doctor's own row).
    """
    child = child_level(u.level, path)
    if child is None:
        return {u.id: u.name}
    if child in ("district", "mo"):
        # every organisation: a district's residents may be attached to one in another district
        return names(child)
    if child == "dept":
        d = departments_of(u.mo_id)
        return dict(zip(d["dept_id"], d["name"]))
    if child == "spec":
        sp = specialties()
        return dict(zip(sp["specialty_id"], sp["name"]))
    if child == "doctor":
        docs = doctors_of(u.mo_id)
        if u.level == "dept":
            docs = docs[docs["dept_id"] == u.id]
        elif u.level == "spec":
            docs = docs[docs["specialty_id"] == u.id]
        return dict(zip(docs["doctor_id"], docs["full_name"]))
    return {}


# ------------------------------------------------------------------ scope
def require(scope: Scope, u: Unit) -> Unit:
    """The one scope check of a single unit: ScopeError (naming the unit) when the person may not see it."""
    try:
        if u.level == "district":
            scope.require_district(u.district_id)
        elif u.level != "region":
            scope.require_mo(u.mo_id, u.district_id)
    except ScopeError as exc:
        raise ScopeError(str(exc), unit=f"{u.level}:{u.id}" + (f"@mo:{u.mo_id}" if u.level == "spec" else "")) from None
    return u


def visible(scope: Scope, grain: str, district_id, mo_id=None) -> bool:
    """The scope rule for one row of an answer computed in memory (as ``scope_where`` in SQL)."""
    rank = LEVELS[grain].rank
    if rank >= 1 and not scope.district_ok(district_id):
        return False
    # a row from a frame may hold NaN for "no organisation" (a task on a district without a responsible one)
    return rank < 2 or scope.mos is None or (mo_id is not None and mo_id == mo_id and int(mo_id) in scope.mos)


def in_scope(scope: Scope, level: str) -> pd.DataFrame:
    """The districts or organisations a person may see (for lists and choices)."""
    if level == "district":
        d = districts()
        return d[[visible(scope, "district", x) for x in d["district_id"]]].reset_index(drop=True)
    o = organisations()
    return o[[visible(scope, "mo", d, m) for m, d in zip(o["mo_id"], o["district_id"])]].reset_index(drop=True)


def scoped_unit(level: str, unit_id, scope: Scope, path: str | tuple[str, ...] | None = None, mo=None) -> Unit:
    """A unit by parameters, refused (ScopeError) outside the person's scope."""
    return require(scope, node(level, unit_id, mo, path))


def home(scope: Scope, path: str | tuple[str, ...] = "indicator") -> Unit:
    """The person's own unit, where every page opens: the city, their district or their organisation
    (the deepest of these that the subject's path has)."""
    levels = PATHS[path] if isinstance(path, str) else path
    if scope.mos is not None and len(scope.mos) == 1 and "mo" in levels:
        u = unit("mo", next(iter(scope.mos)))
        if u is not None:
            return u
    if scope.districts is not None and len(scope.districts) == 1 and "district" in levels:
        u = unit("district", next(iter(scope.districts)))
        if u is not None:
            return u
    return CITY


def _mo_ids_of(district_ids) -> sa.Select:
    return sa.select(s.mo.c.mo_id).where(s.mo.c.district_id.in_(sorted(district_ids)))


def scope_where(t: sa.FromClause, scope: Scope, grain: str, mo_column: str = "mo_id") -> list:
    """The WHERE conditions that keep a table's rows inside the person's scope.

    Args:
        t: a mart, rollup or contract table (it needs ``district_id`` or ``mo_id`` for a restricted scope).
        scope: the person's data scope.
        grain: the level of the units the answer's rows stand for (see the module docstring).
        mo_column: the column holding the organisation (a control task names its subject in ``unit_id``).
    Raises:
        ValueError when the table cannot be filtered (a programming error, never silently unscoped).
    """
    rank = LEVELS[grain].rank
    conds = []
    if rank >= 1 and scope.districts is not None:
        if "district_id" in t.c:
            conds.append(t.c.district_id.in_(sorted(scope.districts)))
        elif "mo_id" in t.c:
            conds.append(t.c.mo_id.in_(_mo_ids_of(scope.districts)))
        else:
            raise ValueError(f"{t.name}: no district_id or mo_id to apply a district scope")
    if rank >= 2 and scope.mos is not None:
        if mo_column not in t.c:
            raise ValueError(f"{t.name}: no {mo_column} to apply an organisation scope")
        conds.append(t.c[mo_column].in_(sorted(scope.mos)))
    return conds


def scope_columns(scope: Scope, grain: str) -> set[str]:
    """The columns ``scope_where`` needs at this grain (to choose a rollup that has them)."""
    rank = LEVELS[grain].rank
    need = set()
    if rank >= 1 and scope.districts is not None:
        need.add("district_id")
    if rank >= 2 and scope.mos is not None:
        need.add("mo_id")
    return need


def unit_where(t: sa.FromClause, u: Unit) -> list:
    """The WHERE conditions that select the rows of one unit (the city: none)."""
    if u.level == "region":
        return []
    if u.level == "district" and "district_id" not in t.c:
        return [t.c.mo_id.in_(_mo_ids_of([u.id]))]
    if u.level == "spec":
        return [t.c.mo_id == u.mo_id, t.c.specialty_id == u.specialty_id]
    return [t.c[LEVELS[u.level].column] == u.id]


def unit_columns(u: Unit) -> set[str]:
    """The columns ``unit_where`` needs for this unit."""
    if u.level == "region":
        return set()
    if u.level == "spec":
        return {"mo_id", "specialty_id"}
    return {LEVELS[u.level].column}


