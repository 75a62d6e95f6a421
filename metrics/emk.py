"""EHR completeness through the semantic layer: coverage, funnel, timeliness, rejections, daily flow.

Every figure is a query of the document marts (``mart_emd_*``) by the unit's children along the
EHR drill path (city → district → organisation → department → doctor), under the person's scope.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from core.periods import months_between
from data_access import emk as K
from data_access import units as U
from data_access.reference import EMD_KIND_NAMES
from data_access.scope import CITY, Scope

from . import query as Q

PATH = K.PATH
COVERAGE = tuple(f"mart_emd_coverage.{c}" for c in ("required", "with_doc", "with_registered", "registered_1d"))
FLOW = tuple(f"mart_emd_flow.{c}" for c, _ in K.FLOW_STEPS + K.REJECTS + K.BUCKETS) + ("mart_emd_flow.sent_1d",)


def unit(level: str, unit_id, scope: Scope) -> U.Unit:
    """The unit of this view, refused outside the scope (UnitError when there is none)."""
    return U.scoped_unit(level, unit_id, scope, PATH)


def coverage(level: str, unit_id, months: tuple, scope: Scope = CITY) -> pd.DataFrame:
    """child_id, kind_code, required, with_doc, with_registered, registered_1d, child_name."""
    n = unit(level, unit_id, scope)
    return Q.answer(Q.months_query(COVERAGE, ("child", "kind_code"), n, PATH, months), scope)


def flow(level: str, unit_id, months: tuple, scope: Scope = CITY, by_child: bool = False) -> pd.DataFrame:
    """Document counts along the way to registration (per kind, or per child unit): key, name, counts."""
    n = unit(level, unit_id, scope)
    if by_child:
        df = Q.answer(Q.months_query(FLOW, ("child",), n, PATH, months), scope)
        return df.rename(columns={"child_id": "key", "child_name": "name"})
    df = Q.answer(Q.months_query(FLOW, ("kind_code",), n, PATH, months), scope).rename(columns={"kind_code": "key"})
    df["name"] = df["key"].map(EMD_KIND_NAMES)
    return df


def reasons(level: str, unit_id, months: tuple, scope: Scope = CITY) -> pd.DataFrame | None:
    """Rejections by status and reason (kept per organisation: None below that level)."""
    n = unit(level, unit_id, scope)
    if level in ("dept", "doctor"):
        return None
    df = Q.answer(Q.months_query(("mart_emd_reject.docs",), ("status", "reason"), n, PATH, months), scope)
    return df.sort_values("docs", ascending=False, kind="stable").reset_index(drop=True)


def daily(level: str, unit_id, first: dt.date, last: dt.date, scope: Scope = CITY, by_mo: bool = False) -> pd.DataFrame:
    """Documents created and sent per day for each child (districts for the city unless ``by_mo``;
    organisations for a district; the organisation itself below): unit_id, name, day, created, sent, registered."""
    n = unit(level, unit_id, scope)
    # kept per organisation and day: below an organisation, the organisation's own flow
    at = n if level in ("region", "district", "mo") else U.unit("mo", n.mo_id)
    by = "district" if level == "region" and not by_mo else "mo"
    q = Q.months_query(tuple(f"mart_emd_day.{c}" for c in ("created", "sent", "registered")), (by, "day"), at, PATH,
                       months_between(first, last), ranges=(("day", first, last),))
    df = Q.answer(q, scope).rename(columns={by: "unit_id"})
    df["name"] = df["unit_id"].map(U.names(by))
    df["day"] = pd.to_datetime(df["day"]).dt.date
    return df[["unit_id", "day", "created", "sent", "registered", "name"]]
