"""Tables of the registers, quality-of-care and volumes view (screen, CSV/XLSX and API from the same builders).

Aggregate tables read the marts through ``metrics.registers``; the two patient-level tables (the register's
patients of a doctor, the quality cases behind a figure) read ``data_access.registers``, are refused to roles
without patient access and are audited on every view, export or API call — the builder itself writes the
audit entry, so the three ways in are alike.
"""
from __future__ import annotations

import pandas as pd

from components.tablespec import TableParamError, TableSpec, table
from core import fmt
from core import registers as R
from core.periods import month_end
from data_access import units as U
from metrics import evaluate as E
from metrics import registers as RM
from metrics.scoring import STATUS_NAMES

from .common import as_of_param, base_params, months_of, num_col, pct, period_param, text_col, unit_period
from .common import unit_param as common_unit_param

PATH = RM.PATH
TITLES = {"district": "Район", "mo": "Медицинская организация", "doctor": "Врач"}
PLURAL_CHILDREN = {"district": "районам", "mo": "организациям", "doctor": "врачам"}
DEFAULT_REGISTER = "dm"
ALL_REGISTERS = R.Register("all", "Все регистры", (), 1)  # the summary's total row: no control target of its own
# the registry indicators whose targets judge a register's columns (the same judgement as the cards)
CONTROL_INDICATORS = {"dm": "reg_dm_controlled", "ht": "reg_ht_controlled"}
TESTED_INDICATORS = {"dm": "reg_dm_tested"}
DISEASE_INDICATORS = {R.DM: "quality_dm", R.HT: "quality_ht", R.IHD: "quality_ihd", R.CAP: "quality_cap"}
DISEASE_KEYS = {R.DM: "dm", R.HT: "ht", R.IHD: "ihd", R.CAP: "cap"}
VOLUME_INDICATORS = {"visits": "vol_visits_plan", "episodes": "vol_episodes_plan", "dispensary": "vol_disp_plan"}
CASE_FILTERS = {"failed": "невыполненные случаи", "not_done": "не выполнено, причина не указана",
                "reason": "не выполнено, указана причина", "done": "выполненные случаи", "all": "все случаи",
                "exempt": "исключённые из оценки случаи"}
PATIENT_LEVELS = ("mo", "doctor")             # the register's patient list: of an organisation or a doctor
CASE_LEVELS = ("district", "mo", "doctor")    # the quality cases: of a district, an organisation or a doctor
NO_PATIENTS = "Списки пациентов доступны только руководителям районов и медицинских организаций"


def unit_param(params: dict, scope) -> U.Unit:
    return common_unit_param(params, scope, PATH)


def register_param(params: dict) -> R.Register:
    code = params.get("register") or DEFAULT_REGISTER
    if code not in R.REGISTER_BY_CODE:
        raise TableParamError("Регистр — один из: " + ", ".join(f"{r.code} ({r.name})" for r in R.REGISTERS))
    return R.REGISTER_BY_CODE[code]


def criterion_param(params: dict, required: bool = False) -> R.Criterion | None:
    code = params.get("criterion")
    if not code:
        if required:
            raise TableParamError("Укажите критерий (criterion): " + ", ".join(c.code for c in R.CRITERIA))
        return None
    if code not in R.CRITERION_BY_CODE:
        raise TableParamError(f"Критерия «{code}» нет; есть: " + ", ".join(c.code for c in R.CRITERIA))
    return R.CRITERION_BY_CODE[code]


def _ctx(params: dict, scope, mart: str | None = None):
    return unit_period(params, scope, PATH, RM.levels_with(mart) if mart else None, VOLUME_LEVEL_PROBLEM)


VOLUME_LEVEL_PROBLEM = "Объёмы помощи планируются по медицинской организации, не по врачу: откройте организацию"


def _name_col(child: str | None, own: bool = False) -> dict:
    return text_col("name", "Медицинская организация" if own else TITLES.get(child or "", "Единица"))


def indicator_target(code: str):
    """(target, higher is better) of a registry indicator, or None when the registry has no such indicator."""
    reg = E.registry()
    if code not in reg:
        return None
    ind = reg[code]
    return ind.target, ind.higher_is_better


FEW = STATUS_NAMES["few"]  # «мало наблюдений»


def min_observations(code: str) -> float:
    """The registry's small-denominator threshold of an indicator (0 when it has none)."""
    reg = E.registry()
    return reg[code].min_denominator if code in reg else 0.0


# ---------------------------------------------------------------- registers
def _register_record(r: dict, reg: R.Register) -> dict:
    enrolled = float(r["enrolled"])
    return {"enrolled": int(enrolled), "added": int(r["added"]), "removed": int(r["removed"]), "died": int(r["died"]),
            "diagnosed": int(r["diagnosed"]), "coverage": pct(r["diagnosed_enrolled"], r["diagnosed"]),
            "visits": pct(r["visits_met"], r["year_observed"]),
            "tested": pct(r["tested"], enrolled) if reg.control else None,
            "controlled": pct(r["controlled"], r["tested"]) if reg.control else None,
            "hospitalised": int(r["hospitalised"]), "hosp_rate": _per_1000_a_year(r)}


def _per_1000_a_year(r) -> float | None:
    """Hospitalisations per 1000 enrolled a year: over the average month-end enrolment, × 12 / months (the months
    cancel: hospitalisations × 12 000 / the month-end enrolment summed over the months)."""
    return round(float(r["hospitalised"]) * 12000 / float(r["enrolled_months"])) if r["enrolled_months"] else None


REGISTER_COLS = [num_col("enrolled", "Состоят на наблюдении"), num_col("added", "Поставлены за период"),
                 num_col("removed", "Сняты за период"), num_col("died", "…из них умерли"),
                 num_col("diagnosed", "Прикреплённые с диагнозом регистра за 12 мес."),
                 num_col("coverage", "Охват диспансерным наблюдением, %", 1),
                 num_col("visits", "Приёмы не реже плановых, %", 1),
                 num_col("tested", "Есть значение целевого показателя, %", 1),
                 num_col("controlled", "Целевой показатель достигнут, %", 1),
                 num_col("hospitalised", "Госпитализации за период"),
                 num_col("hosp_rate", "Госпитализации на 1000 состоящих в год")]


@table("reg-summary")
def summary_table(params: dict, scope) -> TableSpec:
    """One row per register of the unit: size, movement, coverage, visits, control targets, hospitalisations."""
    u, p, months = _ctx(params, scope)
    df = RM.register_figures(u, months, scope).set_index("register")
    zero = dict.fromkeys(df.columns, 0.0)
    records = []
    for reg in R.REGISTERS:
        r = df.loc[reg.code].to_dict() if reg.code in df.index else zero
        records.append({"register": reg.code, "name": reg.name, "icd": reg.icd_text, "plan": _visits_plan(reg),
                        "target": reg.control.label if reg.control else "—", **_register_record(r, reg)})
    # every register together: the registry's coverage, visits and hospitalisation indicators count them so
    every = {k: float(df[k].sum()) for k in df.columns} if len(df) else zero
    records.append({"register": "all", "name": "Все регистры", "icd": "", "plan": "", "target": "",
                    **_register_record(every, ALL_REGISTERS)})
    cols = [text_col("name", "Регистр"), text_col("icd", "МКБ-10"), text_col("plan", "Диспансерные приёмы"),
            text_col("target", "Целевой показатель"), *REGISTER_COLS]
    return TableSpec("reg-summary", f"Регистры заболеваний — {u.name}",
                     f"{p.label}. Состоят, охват, приёмы и целевые показатели — на конец периода (за 12 месяцев до "
                     "него); движение и госпитализации — за период, на 1000 — к среднемесячному числу состоящих",
                     cols, records, base_params(u, p))


@table("reg-units")
def units_table(params: dict, scope) -> TableSpec:
    """Per child unit, for one register: size, movement, coverage, visits, control; the worst first."""
    u, p, months = _ctx(params, scope)
    reg = register_param(params)
    child = RM.child_level(u, "mart_register")
    df = RM.register_figures(u, months, scope, children=True, registers=(reg.code,))
    # each percentage on its own observations: below the registry's threshold of its indicator it is shown, but
    # neither coloured (``few_<column>``) nor ranked; «Примечание» names the columns so marked
    bases = {"coverage": ("reg_disp_coverage", "diagnosed"), "visits": ("reg_visits_met", "year_observed"),
             "tested": (TESTED_INDICATORS.get(reg.code), "enrolled"),
             "controlled": (CONTROL_INDICATORS.get(reg.code), "tested")}
    records = []
    for r in df.to_dict("records"):
        if not (r["enrolled"] or r["diagnosed"] or r["added"] or r["removed"]):
            continue
        rec = {"child_id": int(r["child_id"]), "name": r["child_name"], **_register_record(r, reg)}
        for col, (code, base) in bases.items():
            floor = min_observations(code) if code else 0.0
            rec[f"few_{col}"] = "1" if floor and rec[col] is not None and float(r[base]) < floor else ""
        rec["note"] = FEW if rec[f"few_{'controlled' if reg.control else 'coverage'}"] else ""
        records.append(rec)
    lead = "controlled" if reg.control else "coverage"
    records.sort(key=lambda r: (r[lead] is None, r["note"] != "", r[lead] if r[lead] is not None else 0, r["name"]))
    cols = [_name_col(child), *[c for c in REGISTER_COLS if reg.control or c["id"] not in ("tested", "controlled")],
            text_col("note", "Примечание")]
    what = f"целевой показатель «{reg.control.label}»" if reg.control else "охват наблюдением"
    return TableSpec("reg-units", f"{reg.name} по {PLURAL_CHILDREN.get(child or '', 'единицам')} — {u.name}",
                     f"{p.label}. МКБ-10 {reg.icd_text}; сначала худшие: {what}", cols, records,
                     {**base_params(u, p), "register": reg.code})


def _patients_params(params: dict, scope):
    u = unit_param(params, scope)  # a malformed or foreign unit first: 400 or 403 as in every table
    if not scope.patients:  # then the role, before the level of the list is looked at
        from data_access.scope import ScopeError
        raise ScopeError(NO_PATIENTS)
    if u.level not in PATIENT_LEVELS:
        raise TableParamError("Список пациентов регистра составляется для врача или медицинской организации: "
                              "выберите организацию")
    p = period_param(params) if params.get("period") else None
    return u, p, as_of_param(params, p), register_param(params)


def _value(v, decimals: int = 1):
    return None if v is None or pd.isna(v) else round(float(v), decimals)


def _date(v) -> str:
    return "" if v is None or pd.isna(v) else fmt.date(pd.Timestamp(v).date())


@table("reg-patients")
def patients_table(params: dict, scope) -> TableSpec:
    """Patient-level: the register's patients of a doctor or an organisation; refused without patient access,
    audited on every view or export."""
    from data_access import registers as DR
    from security import audit_event
    u, p, d, reg = _patients_params(params, scope)
    df = DR.patients(reg.code, u.level, u.key, d, scope)
    audit_event("view_patients", obj=f"register-patients:{reg.code}:{u.level}:{u.key or ''}",
                details={"date": d.isoformat(), "register": reg.code, "rows": len(df)})
    records = [_patient_record(r) for r in df.to_dict("records")]  # the most problems first (data access)
    cols = [text_col("patient_id", "Код пациента в РМИС"), num_col("age", "Возраст"), text_col("sex", "Пол"),
            text_col("icd10", "Диагноз"), text_col("doctor", "Наблюдающий врач"), text_col("start", "На наблюдении с"),
            num_col("visits", "Диспансерные приёмы за 12 мес."), num_col("planned", "Плановых в год"),
            text_col("last_visit", "Последний приём"), text_col("visits_met", "Приёмы не реже плановых")]
    if reg.control:
        test = R.LAB_TESTS[reg.control.test]
        cols += [num_col("value", f"Последнее значение, {test.unit}", 1), text_col("value_date", "Дата значения"),
                 text_col("controlled", f"Цель «{reg.control.label}»")]
    cols += [text_col("failed", "Невыполненные критерии качества"), text_col("problems", "Что требует внимания")]
    end = month_end(d)  # the list's month end
    return TableSpec("reg-patients", f"{reg.name}: пациенты на наблюдении на {fmt.date(end)} — {u.name}",
                     "Состоят на наблюдении на конец месяца; приёмы и значения — за 12 месяцев до него; сначала "
                     "пациенты с наибольшим числом проблем", cols, records,
                     {"level": u.level, "id": u.key, "register": reg.code, "date": d.isoformat()})


SEX = {"M": "м", "F": "ж"}


def _patient_record(r: dict) -> dict:
    controlled = r.get("controlled")
    value = r.get("control_value")
    return {"patient_id": str(r["patient_id"]), "age": r.get("age"), "sex": SEX.get(r.get("sex"), ""),
            "icd10": r.get("icd10") or "", "doctor": r.get("doctor") or "", "start": _date(r.get("start_date")),
            "visits": int(r.get("visits_12m") or 0), "planned": int(r.get("visits_per_year") or 0),
            "last_visit": _date(r.get("last_visit")),
            "visits_met": ("да" if r.get("visits_met") else "нет") if r.get("year_observed") else "наблюдается < года",
            "visits_ok": int(bool(r.get("visits_met")) or not r.get("year_observed")),
            "value": _value(value), "value_date": _date(r.get("control_date")),
            "controlled": "нет значения" if controlled is None or pd.isna(controlled) else
            ("достигнута" if controlled else "не достигнута"),
            "controlled_code": 1 if controlled is None or pd.isna(controlled) else (2 if controlled else 0),
            "failed": r.get("criteria_failed") or "", "problems": r.get("problems") or ""}


# ---------------------------------------------------------------- quality of care
def _quality_record(r) -> dict:
    cases = float(r["cases"]) if r is not None else 0.0
    done = float(r["done"]) if r is not None else 0.0
    reason = float(r["with_reason"]) if r is not None else 0.0
    return {"cases": int(cases), "exempt": int(r["exempt"]) if r is not None else 0,
            "done": int(done), "done_pct": pct(done, cases), "reason": int(reason),
            "reason_pct": pct(reason, cases), "failed": int(cases - done), "not_done": int(cases - done - reason),
            "score": pct(r["score"], cases) if r is not None else None}


QUALITY_COLS = [num_col("cases", "Случаи"), num_col("exempt", "Исключены"), num_col("done_pct", "Выполнено, %", 1),
                num_col("reason_pct", "Не выполнено с причиной, %", 1), num_col("failed", "Не выполнено, случаев"),
                num_col("score", "Балл, % от максимума", 1)]


@table("quality-criteria")
def criteria_table(params: dict, scope) -> TableSpec:
    """Every quality criterion for the unit, in declaration order: cases, share done, with a reason, the score."""
    u, p, months = _ctx(params, scope)
    df = RM.quality_figures(u, months, scope).set_index("criterion")
    records = []
    for c in R.CRITERIA:
        r = df.loc[c.code] if c.code in df.index else None
        records.append({"criterion": c.code, "disease": c.disease, "disease_key": DISEASE_KEYS.get(c.disease, ""),
                        "icd": c.icd_text, "name": c.name, "window": c.window_text,
                        "exempt_text": c.exempt_text or "—", **_quality_record(r)})
    cols = [text_col("disease", "Заболевание"), text_col("name", "Критерий"), text_col("window", "Срок"),
            *QUALITY_COLS, text_col("exempt_text", "Исключение")]
    return TableSpec("quality-criteria", f"Критерии качества медицинской помощи — {u.name}",
                     f"{p.label}. Случай считается в месяце, когда закрылось окно критерия; балл: выполнено — 1, не "
                     "выполнено с записанной причиной — 0,5, не выполнено — 0. Не оценивается случай пациента, "
                     "снятого с наблюдения до закрытия окна из-за смерти или выбытия", cols, records, base_params(u, p))


def _disease_score(df: pd.DataFrame, disease: str | None):
    codes = [c.code for c in R.CRITERIA if disease is None or c.disease == disease]
    g = df[df["criterion"].isin(codes)]
    return pct(g["score"].sum(), g["cases"].sum()) if len(g) else None


@table("quality-units")
def quality_units_table(params: dict, scope) -> TableSpec:
    """Per child unit: the quality score of every disease and of all criteria; the worst first."""
    u, p, months = _ctx(params, scope)
    child = RM.child_level(u, "mart_quality")
    df = RM.quality_figures(u, months, scope, children=True)
    records = []
    for (cid, name), g in df.groupby(["child_id", "child_name"]) if len(df) else ():
        if not g["cases"].sum():
            continue
        rec = {"child_id": int(cid), "name": name, "cases": int(g["cases"].sum()),
               "failed": int(g["cases"].sum() - g["done"].sum()), "score": _disease_score(g, None)}
        for disease, key in DISEASE_KEYS.items():
            rec[key] = _disease_score(g, disease)
        records.append(rec)
    floor = min_observations("quality_score")
    for r in records:
        r["note"] = FEW if floor and r["cases"] < floor else ""
    # units with too few cases last: a clinic with 4 pneumonia cases is not the worst (or the best) of the district
    records.sort(key=lambda r: (r["score"] is None, r["note"] != "", r["score"] if r["score"] is not None else 0,
                                r["name"]))
    cols = [_name_col(child), num_col("cases", "Случаи"), num_col("failed", "Не выполнено, случаев"),
            num_col("score", "Балл по всем критериям, %", 1),
            *[num_col(key, f"{disease}, балл %", 1) for disease, key in DISEASE_KEYS.items()],
            text_col("note", "Примечание")]
    return TableSpec("quality-units", f"Качество помощи по {PLURAL_CHILDREN.get(child or '', 'единицам')} — {u.name}",
                     f"{p.label}. Балл — сумма баллов случаев на их число × 100; сначала худшие", cols, records,
                     base_params(u, p))


@table("quality-criterion-units")
def criterion_units_table(params: dict, scope) -> TableSpec:
    """Per child unit, for one criterion: cases, done, with a reason, not done, the score; the worst first."""
    u, p, months = _ctx(params, scope)
    c = criterion_param(params, required=True)
    child = RM.child_level(u, "mart_quality")
    df = RM.quality_figures(u, months, scope, children=True, criteria=(c.code,))
    records = [{"child_id": int(r["child_id"]), "name": r["child_name"], **_quality_record(r)}
               for r in df.to_dict("records") if r["cases"] or r["exempt"]]
    floor = min_observations("quality_score")
    for r in records:
        r["note"] = FEW if floor and r["cases"] < floor else ""
    records.sort(key=lambda r: (r["score"] is None, r["note"] != "", r["score"] if r["score"] is not None else 0,
                                -r["failed"]))
    return TableSpec("quality-criterion-units",
                     f"«{c.name}» по {PLURAL_CHILDREN.get(child or '', 'единицам')} — {u.name}",
                     f"{p.label}. {c.disease} (МКБ-10 {c.icd_text}), {c.window_text}; сначала худшие, единицы с "
                     f"малым числом случаев — в конце", [_name_col(child), *QUALITY_COLS, text_col("note", "Примечание")],
                     records, {**base_params(u, p), "criterion": c.code})


def result_param(params: dict) -> str:
    r = params.get("result") or "failed"
    if r not in CASE_FILTERS:
        raise TableParamError("Результат (result) — один из: " + ", ".join(CASE_FILTERS))
    return r


@table("quality-cases")
def cases_table(params: dict, scope) -> TableSpec:
    """Patient-level: the cases behind a criterion's figure (by default those not done); refused without patient
    access, audited on every view or export."""
    from data_access import registers as DR
    from data_access.scope import ScopeError
    from security import audit_event
    u = unit_param(params, scope)  # a malformed or foreign unit first: 400 or 403 as in every table
    if not scope.patients:  # then the role, before the level of the list is looked at
        raise ScopeError(NO_PATIENTS)
    if u.level not in CASE_LEVELS:
        raise TableParamError("Случаи показываются для района, медицинской организации или врача: выберите район")
    c = criterion_param(params, required=True)
    result = result_param(params)
    p = period_param(params)
    months = months_of(p)
    chosen = ("done", "reason", "not_done") if result == "all" else result
    df = DR.cases((c.code,), u.level, u.key, min(months), max(months), scope, result=chosen) if months \
        else pd.DataFrame(columns=DR.CASE_LIST_COLUMNS)
    audit_event("view_patients", obj=f"quality-cases:{c.code}:{u.level}:{u.key or ''}",
                details={"period": p.key, "criterion": c.code, "result": result, "rows": len(df)})
    records = [_case_record(r) for r in df.to_dict("records")]  # failures first, the latest windows first
    cols = [text_col("patient_id", "Код пациента в РМИС"),
            text_col("anchor", "Постановка на наблюдение" if c.anchor == "enrolment" else "Диагноз установлен"),
            text_col("window_end", "Окно закрылось"), text_col("mo", "Медицинская организация"),
            text_col("doctor", "Врач"), text_col("result", "Результат"), text_col("reason", "Причина"),
            num_col("score", "Балл", 1)]
    return TableSpec("quality-cases", f"«{c.name}»: {CASE_FILTERS[result]} — {u.name}",
                     f"{p.label}; случаи, окно которых закрылось в периоде. {c.disease} (МКБ-10 {c.icd_text}), "
                     f"{c.window_text}", cols, records, {**base_params(u, p), "criterion": c.code, "result": result})


def _case_record(r: dict) -> dict:
    score = r.get("score")
    return {"patient_id": str(r["patient_id"]), "anchor": _date(r.get("anchor_date")),
            "window_end": _date(r.get("window_end")), "mo": r.get("mo") or "", "doctor": r.get("doctor") or "",
            "result": r.get("result_name") or "", "result_code": "exempt" if r.get("exempt") else r.get("result"),
            "reason": r.get("reason_name") or "", "score": None if score is None or pd.isna(score) else float(score)}


# ---------------------------------------------------------------- volumes of care
def _volume_record(g: pd.DataFrame) -> dict:
    rec = {}
    g = g.set_index("volume") if len(g) else g
    for k in RM.VOLUMES:
        plan = float(g.at[k, "plan_month"]) if k in g.index else 0.0
        fact = float(g.at[k, "fact"]) if k in g.index else 0.0
        rec |= {f"{k}_plan": round(plan), f"{k}_fact": int(fact), f"{k}_pct": pct(fact, plan)}
    return rec


def _volume_cols() -> list[dict]:
    cols = []
    for k, name in RM.VOLUMES.items():
        cols += [num_col(f"{k}_plan", f"{name}: план"), num_col(f"{k}_fact", f"{name}: факт"),
                 num_col(f"{k}_pct", f"{name}: выполнение, %", 1)]
    return cols


@table("vol-units")
def volume_units_table(params: dict, scope) -> TableSpec:
    """Volumes of care against the plan per child unit (the organisation itself at its own level)."""
    u, p, months = _ctx(params, scope, "mart_volume")
    child = RM.child_level(u, "mart_volume")
    own = child is None
    df = RM.volume_figures(u, months, scope, children=not own)
    if own:
        df = df.assign(child_id=u.key or 0, child_name=u.name)
    records = []
    for (cid, name), g in df.groupby(["child_id", "child_name"]) if len(df) else ():
        if not g["plan_month"].sum() and not g["fact"].sum():
            continue
        records.append({"child_id": int(cid), "name": name, **_volume_record(g)})
    lead = f"{next(iter(RM.VOLUMES))}_pct"
    records.sort(key=lambda r: (r[lead] is None, r[lead] if r[lead] is not None else 0, r["name"]))
    title = f"Объёмы помощи против плана по {PLURAL_CHILDREN.get(child or '', 'единицам')} — {u.name}" if not own \
        else f"Объёмы помощи против плана — {u.name}"
    return TableSpec("vol-units", title, f"{p.label}. План периода — годовой план / 12 × число месяцев; сначала "
                     "отстающие по посещениям", [_name_col(child, own), *_volume_cols()], records, base_params(u, p))


@table("vol-months")
def volume_months_table(params: dict, scope) -> TableSpec:
    """By month of the year of the period's end: plan and fact of each volume, and the year's cumulative share."""
    u, p, _ = _ctx(params, scope, "mart_volume")
    year = p.last.year
    have = tuple(m for m in E.data_months() if m.year == year and m <= p.last)
    df = RM.volume_figures(u, have, scope, by_month=True)
    records, cum = [], dict.fromkeys(RM.VOLUMES, 0.0)
    plan_year = {k: float(df.loc[df["volume"] == k, "plan_month"].max() or 0) * 12 if len(df) else 0.0
                 for k in RM.VOLUMES}
    for month, g in df.groupby("month") if len(df) else ():
        rec = {"month": fmt.month_name(pd.Timestamp(month).date()), **_volume_record(g)}
        for k in RM.VOLUMES:
            cum[k] += rec[f"{k}_fact"]
            rec[f"{k}_cum_pct"] = pct(cum[k], plan_year[k])
        records.append(rec)
    cols = [text_col("month", "Месяц")]
    for k, name in RM.VOLUMES.items():
        cols += [num_col(f"{k}_plan", f"{name}: план"), num_col(f"{k}_fact", f"{name}: факт"),
                 num_col(f"{k}_pct", f"{name}: выполнение, %", 1),
                 num_col(f"{k}_cum_pct", f"{name}: с начала года, % годового плана", 1)]
    return TableSpec("vol-months", f"Объёмы помощи по месяцам {year} года — {u.name}",
                     "План месяца — годовой план / 12", cols, records, base_params(u, p))


# ---------------------------------------------------------------- the declarations as documentation
def _event_names(c: R.Criterion) -> str:
    names = {"lab": lambda k: R.LAB_TESTS[k].name, "study": lambda k: R.STUDIES[k].name,
             "rx": lambda k: R.DRUG_GROUPS[k], "visit": lambda k: "диспансерный приём"}[c.event]
    return f"{R.EVENTS[c.event]}: " + "; ".join(f"{names(k)} (`{k}`)" for k in c.codes)


def criteria_markdown() -> str:
    """The criteria of ``core.registers`` as the Markdown table of docs/registers.md (a test keeps them equal)."""
    rows = ["| Код | Заболевание, МКБ-10 | Критерий | Что должно произойти | Срок | Исключение |",
            "|---|---|---|---|---|---|"]
    rows += [f"| `{c.code}` | {c.disease}, {c.icd_text} | {c.name} | {_event_names(c)} | {c.window_text} | "
             f"{c.exempt_text or '—'} |" for c in R.CRITERIA]
    return "\n".join(rows) + "\n"


def registers_markdown() -> str:
    """The registers of ``core.registers`` as the Markdown table of docs/registers.md."""
    rows = ["| Код | Регистр | МКБ-10 | Диспансерные приёмы (приказ № 168н) | Целевой показатель |",
            "|---|---|---|---|---|"]
    for r in R.REGISTERS:
        target = (f"{r.control.label} — последнее значение «{R.LAB_TESTS[r.control.test].name}» за 12 месяцев"
                  if r.control else "—")
        rows.append(f"| `{r.code}` | {r.name} | {r.icd_text} | {_visits_plan(r)} | {target} |")
    return "\n".join(rows) + "\n"


def _visits_plan(r: R.Register) -> str:
    n = r.visits_per_year
    return f"не реже {n} {fmt.plural(n, 'раза', 'раз', 'раз')} в год"


def indicators_markdown() -> str:
    """The registry's indicators of the page's groups (registers, quality, volumes) with their methods, for the docs."""
    reg = E.registry()
    rows = []
    for group in ("registers", "quality", "volumes"):
        rows.append(f"**{reg.groups.get(group, group)}**\n")
        for ind in reg.by_group().get(group, []):
            better = "больше — лучше" if ind.higher_is_better else "меньше — лучше"
            weight = f"вес в рейтинге {fmt.number(ind.weight, 0)}" if ind.weight else "справочный, в рейтинг не входит"
            rows.append(f"- **{ind.name}** (`{ind.code}`; цель {fmt.number(ind.target, ind.decimals)} {ind.unit}, "
                        f"{better}; {weight}). {ind.method}")
        rows.append("")
    return "\n".join(rows)
