"""Tables of the EHR-completeness view («передача данных в ЭМК»)."""
from __future__ import annotations

from components.tablespec import TableParamError, TableSpec, table
from core import fmt
from core.periods import month_end
from data_access import emk as K
from data_access import units as U
from data_access.reference import EMD_STATUSES
from metrics import emk as EK
from metrics import evaluate as E
from metrics.scoring import status
from metrics.targets import targets_for

from .common import months_of, num_col, period_param, text_col, unit_param

SHORT_KIND = {"EPI_AMB": "Эпикриз амб.", "EPI_STAC": "Эпикриз стац.", "EPI_ROD": "Эпикриз роддома",
              "DISP_RES": "Диспансеризация", "MS_BIRTH": "Свид. о рождении"}


def _node(params: dict, scope) -> U.Unit:
    return unit_param(params, scope, K.PATH)


def _params(n: U.Unit, period) -> dict:
    return {"level": n.level, "id": n.key, "period": period.key}


def child_targets(n: U.Unit, child_ids: list, period) -> dict:
    """The coverage target of each child for the period shown (as the registry and the overrides set it then)."""
    ind = E.registry()["emk_coverage"]
    child = K.CHILD[n.level] or n.level
    level = {"district": "district", "mo": "mo", "dept": "mo", "doctor": "doctor"}[child]
    ids = child_ids if child != "dept" else [n.mo_id] * len(child_ids)
    if not ids:
        return {}
    return dict(zip(child_ids, targets_for(ind, level, ids, period)))


@table("emk-coverage")
def coverage_table(params: dict, scope) -> TableSpec:
    n = _node(params, scope)
    p = period_param(params)
    df = EK.coverage(n.level, n.id, months_of(p), scope)
    kinds = [k for k in SHORT_KIND if k in set(df["kind_code"])]
    piv = df.pivot_table(index=["child_id", "child_name"], columns="kind_code", values=["required", "with_registered"],
                         aggfunc="sum", fill_value=0)
    records = []
    targets = child_targets(n, [int(i) for i, _ in piv.index], p)
    for (cid, name), row in piv.iterrows():
        req = sum(row[("required", k)] for k in kinds if ("required", k) in row.index)
        reg = sum(row[("with_registered", k)] for k in kinds if ("with_registered", k) in row.index)
        rec = {"child_id": int(cid), "name": name, "required": int(req), "registered": int(reg),
               "coverage": round(float(K.share(reg, req)), 1) if req else None, "target": targets.get(int(cid))}
        for k in kinds:
            r_ = row.get(("required", k), 0)
            rec[k] = round(float(K.share(row.get(("with_registered", k), 0), r_)), 1) if r_ else None
        # hidden fields for the colours: each cell against the row's own target
        for k in kinds + ["coverage"]:
            rec[f"{k}_st"] = status(rec[k], rec["target"], True)
        records.append(rec)
    records.sort(key=lambda r: (r["coverage"] is None, r["coverage"] if r["coverage"] is not None else 0))
    cols = [text_col("name", U.LEVELS[K.CHILD[n.level] or n.level].plural)]
    cols += [num_col(k, f"{SHORT_KIND[k]}, %", 1) for k in kinds]
    cols += [num_col("required", "Случаев, требующих СЭМД"), num_col("registered", "С зарегистрированным СЭМД"),
             num_col("coverage", "Охват, %", 1), num_col("target", "Цель, %", 1)]
    return TableSpec("emk-coverage", f"Охват случаев СЭМД по видам документов — {n.name}", p.label, cols, records,
                     _params(n, p))


@table("emk-funnel")
def funnel_table(params: dict, scope) -> TableSpec:
    n = _node(params, scope)
    p = period_param(params)
    df = EK.flow(n.level, n.id, months_of(p), scope)
    records = []
    for r in df.sort_values("created", ascending=False).to_dict("records"):
        rec = {"kind": r["name"] or r["key"], **{k: int(r[k]) for k, _ in K.FLOW_STEPS + K.REJECTS}}
        rec["registered_share"] = round(float(K.share(r["registered"], r["created"])), 1) if r["created"] else None
        records.append(rec)
    cols = [text_col("kind", "Вид документа")] + [num_col(k, v) for k, v in K.FLOW_STEPS + K.REJECTS] + [
        num_col("registered_share", "Зарегистрировано от созданных, %", 1)]
    return TableSpec("emk-funnel", f"Путь документов до РЭМД — {n.name}", p.label, cols, records, _params(n, p))


@table("emk-timeliness")
def timeliness_table(params: dict, scope) -> TableSpec:
    n = _node(params, scope)
    p = period_param(params)
    df = EK.flow(n.level, n.id, months_of(p), scope, by_child=True)
    records = []
    for r in df.to_dict("records"):
        reg = sum(r[k] for k, _ in K.BUCKETS)
        rec = {"child_id": int(r["key"]), "name": r["name"], "created": int(r["created"]),
               "sent_1d": round(float(K.share(r["sent_1d"], r["created"])), 1) if r["created"] else None,
               "registered": int(r["registered"]),
               "rejected": round(float(K.share(r["rejected_regional"] + r["rejected_federal"], r["sent"])), 1)
               if r["sent"] else None}
        for k, _ in K.BUCKETS:
            rec[k] = round(float(K.share(r[k], reg)), 1) if reg else None
        records.append(rec)
    records.sort(key=lambda r: (r["sent_1d"] is None, r["sent_1d"] if r["sent_1d"] is not None else 0))
    cols = [text_col("name", U.LEVELS[K.CHILD[n.level] or n.level].plural), num_col("created", "Создано"),
            num_col("sent_1d", "Отправлено за сутки, %", 1), num_col("registered", "Зарегистрировано")]
    cols += [num_col(k, f"Регистрация {v}, %", 1) for k, v in K.BUCKETS]
    cols += [num_col("rejected", "Отказы ФЛК, %", 1)]
    return TableSpec("emk-timeliness", "Своевременность: от закрытия случая до регистрации в РЭМД",
                     f"{p.label}; доли зарегистрированных документов по задержке", cols, records, _params(n, p))


@table("emk-reasons")
def reasons_table(params: dict, scope) -> TableSpec:
    n = _node(params, scope)
    p = period_param(params)
    df = EK.reasons(n.level, n.id, months_of(p), scope)
    if df is None:
        raise TableParamError("Причины отказов собираются по организациям: откройте организацию")
    total = df["docs"].sum()
    records = [{"status": EMD_STATUSES.get(r["status"], r["status"]), "reason": r["reason"], "docs": int(r["docs"]),
                "share": round(float(r["docs"] / total * 100), 1) if total else None} for r in df.to_dict("records")]
    cols = [text_col("status", "Статус"), text_col("reason", "Причина"), num_col("docs", "Документов"),
            num_col("share", "Доля отказов, %", 1)]
    return TableSpec("emk-reasons", f"Причины отказов — {n.name}", p.label, cols, records, _params(n, p))


def gap_window(p):
    """The days a heat map can show: the period, at most its last 92 days."""
    import datetime as dt
    last = month_end(p.last)
    return max(p.first, last - dt.timedelta(days=91)), last


@table("emk-silent")
def silent_table(params: dict, scope) -> TableSpec:
    n = _node(params, scope)
    p = period_param(params)
    first, last = gap_window(p)
    df = EK.daily(n.level, n.id, first, last, scope, by_mo=True)  # organisations go silent, not districts
    sil = K.silent_periods(df, K.working_days(first, last))
    district_of = U.organisations().set_index("mo_id")["district_name"]
    records = [{"name": r["name"], "district": district_of.get(r["unit_id"], ""), "first": fmt.date(r["first"]),
                "last": fmt.date(r["last"]), "working_days": int(r["working_days"]), "created": int(r["created"])}
               for r in sil.to_dict("records")]
    cols = [text_col("name", "Организация"), text_col("district", "Район"), text_col("first", "С"),
            text_col("last", "По"), num_col("working_days", "Рабочих дней без отправки"),
            num_col("created", "Не отправлено документов (создано за это время)")]
    return TableSpec("emk-silent", "Перерывы в передаче: рабочие дни подряд без отправки документов",
                     f"{fmt.date(first)} – {fmt.date(last)}; документы создавались, но не отправлялись 3 и более "
                     f"рабочих дня подряд. Сначала самые тяжёлые: неотправленные документы × рабочие дни без "
                     f"отправки", cols, records, _params(n, p))
