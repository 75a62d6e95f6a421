"""The effective contract's tables (issue 20): the staff of an organisation for a month, the heads of organisations
for a quarter with the points of each criterion, and the two exports for the payroll (one row per person).

Registered builders (``components.tablespec``): the page shows the spec, ``/export/table/<name>.<csv|xlsx>``
writes the same spec and ``/api/v1/contract/…`` answers with its rows, so the three agree. The scores come from
``services.contract``; refusals (``ScopeError``: a role without the permission, a unit outside the scope) pass
through, bad parameters are ``TableParamError`` in Russian. Parameters and totals are read once, in
``components.contract``; the sheet of one person (XLSX, PDF) is ``components.contract_sheet``.
"""
from __future__ import annotations

import pandas as pd

from components import contract as CC
from components.tablespec import TableSpec, table
from core import fmt
from data_access import units as U
from services import contract as C

from .common import num_col, text_col

STATUS = {"scored": "оценён", "no_scheme": "нет схемы"}


# ---------------------------------------------------------------- staff of an organisation
STAFF_COLS = [text_col("full_name", "ФИО"), text_col("personnel_no", "Табельный номер"),
              text_col("position_name", "Должность"), text_col("scheme_name", "Схема"), num_col("days", "Дней"),
              num_col("points", "Баллы", 2), num_col("max_points", "Максимум баллов", 2),
              num_col("share", "Доля премии, %", 1), text_col("status", "Оценка"), text_col("disputed", "Отметка")]


def staff_records(df: pd.DataFrame) -> list[dict]:
    out = []
    for r in df.to_dict("records"):
        scored = r["status"] == "scored"
        out.append({"full_name": r["full_name"], "personnel_no": str(r["personnel_no"]),
                    "position_name": r["position_name"], "scheme_name": r["scheme_name"], "days": int(r["days"]),
                    "period_days": int(r["period_days"]), "points": CC.points(r["points"]) if scored else None,
                    "max_points": CC.points(r["max_points"]) if scored else None,
                    "share": CC.share_pct(r["share"]) if scored else None,
                    "status": STATUS.get(r["status"], r["status"]), "status_code": r["status"],
                    "disputed": CC.DISPUTED if r["disputed"] else "", "doctor_id": CC.opt_int(r.get("doctor_id"))})
    return out


def staff_context(params: dict):
    """(access, organisation, month) of a staff table; the role is checked before the parameters are read."""
    a = CC.access()
    CC.require(a.staff, CC.STAFF_ROLE)
    return a, CC.mo_param(params, a.scope), CC.period_param(params, "month")


@table("contract-staff")
def staff_table(params: dict, scope) -> TableSpec:
    """The staff of one organisation for a month: positions, scheme, days, points, bonus share, disagreement mark."""
    a, mo, p = staff_context(params)
    records = staff_records(CC.service(C.staff, p, mo.id, a))
    days = records[0]["period_days"] if records else None
    sub = (f"{p.label}" + (f" ({fmt.number(days)} дн.)" if days else "") + f". {CC.totals(records).text}. Баллы и доля "
           "премии сотрудника, сменившего должность, взвешены по дням в каждой")
    return TableSpec("contract-staff", f"Эффективный контракт: сотрудники — {mo.name}", sub, STAFF_COLS, records,
                     {"mo": mo.id, "period": p.key})


PAYROLL_COLS = [text_col("personnel_no", "Табельный номер"), text_col("full_name", "ФИО"),
                text_col("position_name", "Должность"), text_col("mo_name", "Организация"),
                text_col("period", "Период"), num_col("days", "Дней в периоде", 0), num_col("points", "Баллы", 2),
                num_col("share", "Доля премии, %", 1)]


def payroll_records(df: pd.DataFrame) -> list[dict]:
    return [{"personnel_no": str(r["personnel_no"]), "full_name": r["full_name"], "position_name": r["position_name"],
             "mo_name": r["mo_name"], "period": r["period"], "days": int(r["days"]), "points": CC.points(r["points"]),
             "share": CC.share_pct(r["share"])} for r in df.to_dict("records")]


@table("contract-payroll")
def payroll_table(params: dict, scope) -> TableSpec:
    """For the payroll: one row per person of the organisation (personnel number, name, position, organisation,
    period, points, bonus share)."""
    a, mo, p = staff_context(params)
    records = payroll_records(CC.service(C.payroll_staff, p, mo.id, a))
    return TableSpec("contract-payroll", f"Эффективный контракт: выгрузка для расчёта зарплаты — {mo.name}",
                     f"{p.label}. Одна строка на сотрудника; доля стимулирующей выплаты по эффективному контракту уже "
                     "взвешена по дням работы в периоде; без схемы — пусто",
                     PAYROLL_COLS, records, {"mo": mo.id, "period": p.key})


# ---------------------------------------------------------------- heads of organisations
def heads_context(params: dict):
    a = CC.access()
    CC.require(a.heads, CC.HEADS_ROLE)
    return a, CC.district_param(params, a.scope), CC.period_param(params, "quarter")


def heads_columns(criteria: list[tuple[str, str]]) -> list[dict]:
    return [text_col("district_name", "Район"), text_col("mo_name", "Организация"), text_col("full_name", "ФИО"),
            text_col("personnel_no", "Табельный номер"),
            *[num_col(f"c_{code}", f"{name}, баллы", 2) for code, name in criteria],
            num_col("points", "Баллы", 2), num_col("max_points", "Максимум баллов", 2),
            num_col("share", "Доля премии, %", 1), text_col("disputed", "Отметка")]


def heads_records(df: pd.DataFrame, criteria) -> list[dict]:
    out = []
    for r in df.to_dict("records"):
        scored = r["status"] == "scored"
        rec = {"mo_id": int(r["mo_id"]), "district_id": int(r["district_id"]), "district_name": r["district_name"],
               "mo_name": r["mo_name"], "full_name": r["full_name"], "personnel_no": str(r["personnel_no"]),
               "points": CC.points(r["points"]) if scored else None,
               "max_points": CC.points(r["max_points"]) if scored else None,
               "share": CC.share_pct(r["share"]) if scored else None, "status_code": r["status"],
               "disputed": CC.DISPUTED if r["disputed"] else ""}
        for code, _ in criteria:
            rec[f"c_{code}"] = CC.points(r.get(f"c_{code}")) if scored else None
        out.append(rec)
    return out


@table("contract-heads")
def heads_table(params: dict, scope) -> TableSpec:
    """The heads of organisations for a quarter: each criterion's points (what drives the score), total, share."""
    a, district, p = heads_context(params)
    df = CC.service(C.heads, p, a, district.id if district else None)
    criteria = list(df.attrs.get("criteria", []))
    records = heads_records(df, criteria)
    where = district.name if district else U.home(a.scope, ("region", "district")).name
    return TableSpec("contract-heads", f"Эффективный контракт: руководители организаций — {where}",
                     f"{p.label}. {CC.totals(records).text}. Столбцы критериев — баллы, из которых складывается оценка",
                     heads_columns(criteria), records, {"period": p.key, "district": district.id if district else None})


@table("contract-payroll-heads")
def payroll_heads_table(params: dict, scope) -> TableSpec:
    """For the payroll: one row per head of an organisation for a quarter."""
    a, district, p = heads_context(params)
    records = payroll_records(CC.service(C.payroll_heads, p, a, district.id if district else None))
    where = f" — {district.name}" if district else ""
    return TableSpec("contract-payroll-heads",
                     f"Эффективный контракт: выгрузка для расчёта зарплаты руководителей{where}",
                     f"{p.label}. Одна строка на руководителя; доля стимулирующей выплаты по эффективному контракту",
                     PAYROLL_COLS, records, {"period": p.key, "district": district.id if district else None})
