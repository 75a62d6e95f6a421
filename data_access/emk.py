"""Completeness of data transfer to the regional EHR: coverage, funnel, timeliness, gaps.

Levels of this view: the city (its children are districts), a district (organisations), an
organisation (departments), a department (doctors) and a doctor. Everything is read from the
document marts (``mart_emd_*``) or their rollups, filtered by the person's scope.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import func

from . import marts as M
from . import schema as s
from . import units as U
from .cache import cached
from .context import get_db
from .reference import EMD_KIND_NAMES
from .scope import CITY, Scope

LEVELS = ["region", "district", "mo", "dept", "doctor"]
CHILD = {"region": "district", "district": "mo", "mo": "dept", "dept": "doctor", "doctor": None}
PARENT = {"district": "region", "mo": "district", "dept": "mo", "doctor": "dept", "region": None}
COLUMN = {"region": None, "district": "district_id", "mo": "mo_id", "dept": "dept_id", "doctor": "doctor_id"}
LEVEL_TITLES = {"district": "Районы", "mo": "Организации", "dept": "Отделения", "doctor": "Врачи"}
FLOW_STEPS = [("created", "Создано"), ("signed", "Подписано"), ("sent", "Отправлено"), ("registered", "Зарегистрировано")]
REJECTS = [("rejected_regional", "Отказ регионального ФЛК"), ("rejected_federal", "Отказ федерального ФЛК"),
           ("transmission_error", "Ошибка передачи"), ("awaiting", "Ответа нет")]
BUCKETS = [("reg_lt1h", "до 1 часа"), ("reg_lt24h", "1–24 часа"), ("reg_lt3d", "1–3 дня"), ("reg_lt7d", "3–7 дней"),
           ("reg_later", "позже 7 дней")]


class EmkError(ValueError):
    pass


@dataclass(frozen=True)
class Node:
    """A unit of this view with the ids of its ancestors."""
    level: str
    id: int | None
    name: str
    district_id: int | None = None
    mo_id: int | None = None
    dept_id: int | None = None


@cached(memory=True)
def departments_of(mo_id: int) -> pd.DataFrame:
    d = s.department
    return get_db().read_df(sa.select(d.c.dept_id, d.c.name, d.c.mo_id).where(d.c.mo_id == int(mo_id)).order_by(d.c.name))


@cached(memory=True)
def dept_row(dept_id: int) -> tuple[str, int] | None:
    with get_db().engine.connect() as c:
        r = c.execute(sa.select(s.department.c.name, s.department.c.mo_id).where(s.department.c.dept_id == int(dept_id))).first()
    return (r.name, int(r.mo_id)) if r else None


def node(level: str, unit_id) -> Node:
    """The unit, or EmkError when it does not exist."""
    if level not in LEVELS:
        raise EmkError(f"Уровень «{level}» неизвестен; допустимы: {', '.join(LEVELS)}")
    if level == "region":
        return Node("region", None, U.CITY_NAME)
    try:
        uid = int(unit_id)
    except (TypeError, ValueError) as exc:
        raise EmkError("Код единицы должен быть числом") from exc
    if level == "dept":
        row = dept_row(uid)
        if row is None:
            raise EmkError(f"Отделения {uid} нет")
        mo = U.unit("mo", row[1])
        return Node("dept", uid, row[0], mo.district_id, mo.mo_id, uid)
    u = U.unit(level, uid)
    if u is None:
        raise EmkError(f"Единицы {uid} уровня «{level}» нет")
    dept = None
    if level == "doctor":
        with get_db().engine.connect() as c:
            dept = c.execute(sa.select(s.doctor.c.dept_id).where(s.doctor.c.doctor_id == uid)).scalar()
    return Node(level, uid, u.name, u.district_id, u.mo_id, dept)


def check_scope(n: Node, scope: Scope) -> None:
    if n.level == "region":
        return
    if n.level == "district":
        scope.require_district(n.district_id)
    else:
        scope.require_mo(n.mo_id, n.district_id)


def lineage(n: Node) -> list[Node]:
    out = [node("region", None)]
    if n.district_id is not None and n.level != "region":
        out.append(node("district", n.district_id))
    if n.mo_id is not None and n.level in ("mo", "dept", "doctor"):
        out.append(node("mo", n.mo_id))
    if n.dept_id is not None and n.level in ("dept", "doctor"):
        out.append(node("dept", n.dept_id))
    if n.level == "doctor":
        out.append(n)
    return out


def _filters(t, n: Node, scope: Scope, months):
    conds = [t.c.month.in_(months)]
    if n.level != "region":
        conds.append(t.c[COLUMN[n.level]] == int(n.id))
    if scope.districts is not None:
        conds.append(t.c.district_id.in_(sorted(scope.districts)))
    if scope.mos is not None:
        conds.append(t.c.mo_id.in_(sorted(scope.mos)))
    return conds


def _child_col(n: Node) -> str:
    return COLUMN[CHILD[n.level] or n.level]


def _names(n: Node, ids) -> dict:
    child = CHILD[n.level]
    if child == "district":
        return dict(zip(U.districts()["district_id"], U.districts()["name"]))
    if child == "mo":
        o = U.organisations()
        return dict(zip(o["mo_id"], o["short_name"]))
    if child == "dept":
        d = departments_of(n.id)
        return dict(zip(d["dept_id"], d["name"]))
    docs = U.doctors_of(n.mo_id)
    return dict(zip(docs["doctor_id"], docs["full_name"]))


@cached(timeout=600)
def coverage(level: str, unit_id, months: tuple, scope: Scope = CITY) -> pd.DataFrame:
    """child_id, child_name, kind_code, required, with_doc, with_registered, registered_1d."""
    n = node(level, unit_id)
    check_scope(n, scope)
    col = _child_col(n)
    need = {"month", "kind_code", col, "district_id", "mo_id"} | ({COLUMN[level]} if level != "region" else set())
    t = M.table_for("mart_emd_coverage", need)
    q = sa.select(t.c[col].label("child_id"), t.c.kind_code, func.sum(t.c.required).label("required"),
                  func.sum(t.c.with_doc).label("with_doc"), func.sum(t.c.with_registered).label("with_registered"),
                  func.sum(t.c.registered_1d).label("registered_1d")).where(
        *_filters(t, n, scope, list(months))).group_by(t.c[col], t.c.kind_code)
    df = get_db().read_df(q)
    names = _names(n, df["child_id"])
    df["child_name"] = df["child_id"].map(names)
    return df.dropna(subset=["child_name"]).reset_index(drop=True)


@cached(timeout=600)
def flow(level: str, unit_id, months: tuple, scope: Scope = CITY, by_child: bool = False) -> pd.DataFrame:
    """Document counts along the way to registration (per kind, or per child unit)."""
    n = node(level, unit_id)
    check_scope(n, scope)
    col = _child_col(n)
    measures = [c for c, _ in FLOW_STEPS + REJECTS + BUCKETS] + ["sent_1d"]
    key = col if by_child else "kind_code"
    need = {"month", key, "district_id", "mo_id"} | ({COLUMN[level]} if level != "region" else set())
    t = M.table_for("mart_emd_flow", need)
    q = sa.select(t.c[key].label("key"), *[func.sum(t.c[m]).label(m) for m in measures]).where(
        *_filters(t, n, scope, list(months))).group_by(t.c[key])
    df = get_db().read_df(q)
    if by_child:
        df["name"] = df["key"].map(_names(n, df["key"]))
        df = df.dropna(subset=["name"])
    else:
        df["name"] = df["key"].map(EMD_KIND_NAMES)
    return df.reset_index(drop=True)


@cached(timeout=600)
def reasons(level: str, unit_id, months: tuple, scope: Scope = CITY) -> pd.DataFrame | None:
    """Rejections by status and reason (kept per organisation: None below that level)."""
    n = node(level, unit_id)
    check_scope(n, scope)
    if level in ("dept", "doctor"):
        return None
    t = M.mart_emd_reject
    q = sa.select(t.c.status, t.c.reason, func.sum(t.c.docs).label("docs")).where(
        *_filters(t, n, scope, list(months))).group_by(t.c.status, t.c.reason).order_by(func.sum(t.c.docs).desc())
    return get_db().read_df(q)


@cached(timeout=600)
def daily(level: str, unit_id, first: dt.date, last: dt.date, scope: Scope = CITY, by_mo: bool = False) -> pd.DataFrame:
    """Documents created and sent per day for each child (districts for the city unless ``by_mo``;
    organisations for a district; the organisation itself below): unit_id, name, day, created, sent, registered."""
    n = node(level, unit_id)
    check_scope(n, scope)
    t = M.mart_emd_day
    col = "district_id" if level == "region" and not by_mo else "mo_id"
    conds = [t.c.day >= first, t.c.day <= last]
    if level == "district":
        conds.append(t.c.district_id == n.district_id)
    elif level != "region":
        conds.append(t.c.mo_id == n.mo_id)
    if scope.districts is not None:
        conds.append(t.c.district_id.in_(sorted(scope.districts)))
    if scope.mos is not None:
        conds.append(t.c.mo_id.in_(sorted(scope.mos)))
    q = sa.select(t.c[col].label("unit_id"), t.c.day, func.sum(t.c.created).label("created"),
                  func.sum(t.c.sent).label("sent"), func.sum(t.c.registered).label("registered")).where(*conds) \
        .group_by(t.c[col], t.c.day)
    df = get_db().read_df(q)
    if col == "district_id":
        names = dict(zip(U.districts()["district_id"], U.districts()["name"]))
    else:
        o = U.organisations()
        names = dict(zip(o["mo_id"], o["short_name"]))
    df["name"] = df["unit_id"].map(names)
    df["day"] = pd.to_datetime(df["day"]).dt.date
    return df


@cached(memory=True)
def working_days(first: dt.date, last: dt.date) -> list[dt.date]:
    c = s.calendar
    df = get_db().read_df(sa.select(c.c.day).where(c.c.day >= first, c.c.day <= last, c.c.is_working.is_(True))
                          .order_by(c.c.day))
    return [x if isinstance(x, dt.date) else x.date() for x in df["day"]]


def silent_periods(days: pd.DataFrame, workdays: list[dt.date], min_days: int = 3) -> pd.DataFrame:
    """Runs of at least ``min_days`` consecutive working days on which a unit sent no documents
    although it created some during the run — for units that normally create documents every
    working day (median ≥ 1), so that a small clinic's quiet day is not an alarm.

    days: unit_id, name, day, created, sent. Returns unit_id, name, first, last, working_days, created.
    """
    cols = ["unit_id", "name", "first", "last", "working_days", "created"]
    if days.empty or not workdays:
        return pd.DataFrame(columns=cols)
    grid = days.set_index(["unit_id", "day"])[["created", "sent"]]
    names = days.drop_duplicates("unit_id").set_index("unit_id")["name"]
    rows = []

    def close(uid, run, sub):
        if len(run) >= min_days and sub.loc[run, "created"].sum() > 0:
            rows.append((uid, names[uid], run[0], run[-1], len(run), int(sub.loc[run, "created"].sum())))

    for uid in names.index:
        sub = grid.loc[uid].reindex(workdays, fill_value=0)
        if sub["created"].median() < 1:
            continue
        run: list[dt.date] = []
        for day, sent in zip(sub.index, sub["sent"]):
            if sent == 0:
                run.append(day)
            else:
                close(uid, run, sub)
                run = []
        close(uid, run, sub)
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["last", "working_days"], ascending=[False, False]).reset_index(drop=True)


def share(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.asarray(den, dtype=float) > 0, np.asarray(num, dtype=float) / np.asarray(den, dtype=float) * 100, np.nan)
