"""Tables of the pregnancy-monitoring view."""
from __future__ import annotations

from components.tablespec import TableParamError, TableSpec, table
from core import fmt
from data_access import pregnancy as P
from metrics import pregnancy as PM

from .common import as_of_param, months_of, num_col, pct, period_param, text_col
from .common import unit_param as common_unit_param

TITLES = {"district": "Район", "mo": "Женская консультация", "doctor": "Врач"}


def unit_param(params: dict, scope):
    """(level, id for the loaders, the unit), refused outside the scope."""
    u = common_unit_param(params, scope, P.PATH)
    return u.level, u.key, u


def weeks_param(params: dict) -> int:
    try:
        w = int(params.get("weeks") or 4)
    except ValueError as exc:
        raise TableParamError("Число недель — целое от 1 до 12") from exc
    if not 1 <= w <= 12:
        raise TableParamError("Число недель — целое от 1 до 12")
    return w


@table("preg-register")
def register_table(params: dict, scope) -> TableSpec:
    level, uid, u = unit_param(params, scope)
    p = period_param(params)
    df = PM.register(level, uid, months_of(p), scope)
    records = [{"child_id": int(r["child_id"]), "name": r["name"], "registered": int(r["registered"]),
                "lt12": pct(r["registered_lt12"], r["registered"]), "births": int(r["births"]),
                "preterm": int(r["births_preterm"]), "losses": int(r["losses"]),
                "visits5": pct(r["births_5visits"], r["births"]), "s1": pct(r["s1_in_window"], r["s1_due"]),
                "s2": pct(r["s2_in_window"], r["s2_due"]), "s3": pct(r["s3_in_window"], r["s3_due"])}
               for r in df.to_dict("records")]
    records.sort(key=lambda r: (r["lt12"] is None, r["lt12"] if r["lt12"] is not None else 0))
    cols = [text_col("name", TITLES[P.CHILD[level] or level]), num_col("registered", "Встали на учёт"),
            num_col("lt12", "До 12 недель, %", 1), num_col("births", "Роды"), num_col("preterm", "…из них преждевременные"),
            num_col("losses", "Другие исходы"), num_col("visits5", "Родившие с 5+ явками, %", 1),
            num_col("s1", "Скрининг I в срок, %", 1), num_col("s2", "Скрининг II в срок, %", 1),
            num_col("s3", "Скрининг III в срок, %", 1)]
    return TableSpec("preg-register", f"Учёт, исходы и скрининги — {u.name}", p.label, cols, records,
                     {"level": level, "id": uid, "period": p.key})


@table("preg-status")
def status_table(params: dict, scope) -> TableSpec:
    level, uid, u = unit_param(params, scope)
    p = period_param(params) if params.get("period") else None
    d = as_of_param(params, p)
    w = weeks_param(params)
    df = P.summary(level, uid, d, scope, w)
    records = df.to_dict("records")
    records.sort(key=lambda r: -(r["s1_overdue"] + r["s2_overdue"] + r["s3_overdue"] + r["visit_missed"]))
    cols = [text_col("name", TITLES[P.CHILD[level] or level]), num_col("observed", "Наблюдаются"),
            num_col("high", "Высокий риск"), num_col("medium", "Средний риск")]
    for k in P.WINDOWS:
        cols += [num_col(f"s{k}_open", f"Скрининг {'I' * k}: идёт окно"),
                 num_col(f"s{k}_overdue", f"Скрининг {'I' * k}: просрочен")]
    cols += [num_col("visit_missed", "Пропущена явка"), num_col("high_no_visit", f"Высокий риск без явки {w} нед.")]
    return TableSpec("preg-status", f"Наблюдение на {fmt.date(d)} — {u.name}",
                     "Окна скрининга: 11–14, 19–21, 30–34 недели; явка пропущена, если перерыв больше 6 недель до 30 "
                     "недель, 3 — до 36, 2 — после", cols, records,
                     {"level": level, "id": uid, "date": d.isoformat(), "weeks": w})


@table("preg-worklist")
def worklist_table(params: dict, scope) -> TableSpec:
    """Patient-level: refused without patient access; every view or export is audited."""
    from security import audit_event
    level, uid, u = unit_param(params, scope)
    p = period_param(params) if params.get("period") else None
    d = as_of_param(params, p)
    w = weeks_param(params)
    df = P.worklist(level, uid, d, scope, w)
    audit_event("view_patients", obj=f"pregnancy-worklist:{level}:{uid or ''}",
                details={"date": d.isoformat(), "rows": len(df)})
    records = [{"pregnancy_id": r["pregnancy_id"], "patient_id": r["patient_id"], "age": r["age"], "week": r["week"],
                "risk": r["risk"], "risk_code": r["risk_code"], "mo": r["mo"], "doctor": r["doctor"],
                "problems": r["problems"], "since": fmt.date(r["since"])} for r in df.to_dict("records")]
    cols = [text_col("patient_id", "Код пациентки в РМИС"), num_col("age", "Возраст"), num_col("week", "Срок, нед."),
            text_col("risk", "Риск"), text_col("mo", "Женская консультация"), text_col("doctor", "Врач"),
            text_col("problems", "Что требует внимания"), text_col("since", "С какой даты")]
    return TableSpec("preg-worklist", f"Требуют внимания на {fmt.date(d)} — {u.name}",
                     "Просроченный скрининг, пропущенная явка, высокий риск без явки; сначала высокий риск",
                     cols, records, {"level": level, "id": uid, "date": d.isoformat(), "weeks": w})
