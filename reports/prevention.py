"""Tables of the prevention and screening view (screen, CSV/XLSX and API from the same builders)."""
from __future__ import annotations

import pandas as pd

from components.tablespec import TableParamError, TableSpec, table
from core import fmt
from core import prevention as R
from data_access import units as U
from metrics import evaluate as E
from metrics import prevention as PM

from .common import as_of_param, base_params, num_col, pct, text_col, unit_period
from .common import unit_param as common_unit_param

PATH = PM.PATH
TITLES = {"district": "Район", "mo": "Медицинская организация", "doctor": "Участковый врач"}


def unit_param(params: dict, scope):
    return common_unit_param(params, scope, PATH)


def _get(r, k: str) -> float:
    """A number of a frame row (0 when the row is missing or the value empty)."""
    return float(r[k]) if r is not None and pd.notna(r[k]) else 0.0


def _ctx(params: dict, scope, mart: str | None = None):
    return unit_period(params, scope, PATH, PM.levels_with(mart) if mart else None, LEVEL_PROBLEM)


LEVEL_PROBLEM = ("Диспансеризация и онкоскрининг считаются по организации, не по участку: откройте "
                 "медицинскую организацию")


# ---------------------------------------------------------------- vaccination
@table("prev-calendar")
def calendar_table(params: dict, scope) -> TableSpec:
    """One row per dose of the national calendar, in calendar order."""
    u, p, months = _ctx(params, scope)
    df = PM.calendar(u, months, scope).set_index("vaccine") if months else pd.DataFrame()
    records = []
    for d in R.CALENDAR:
        r = df.loc[d.code] if d.code in df.index else None
        def g(k, r=r):
            return _get(r, k)
        records.append({
            "vaccine": d.code, "name": d.name, "series": R.SERIES[d.series], "due": d.due_label,
            "assess": f"{d.assess_months} мес." if d.assess_months < 36 else f"{d.assess_months // 12} лет",
            "cohort": int(g("cohort")), "timely": pct(g("covered_timely"), g("cohort")),
            "covered": pct(g("covered"), g("cohort")),
            "dropout": pct(g("dropped"), g("started")) if d.previous else None,
            "refused": int(g("refused")), "exempt": int(g("exempt")), "doses": int(g("doses")),
            "delay": None if r is None or pd.isna(r.get("delay")) else int(r["delay"])})
    cols = [text_col("name", "Прививка"), text_col("due", "Срок по календарю"), text_col("assess", "Охват оценивается в"),
            num_col("cohort", "Дети в когорте"), num_col("timely", "Привиты в срок, %", 1),
            num_col("covered", "Привиты к возрасту оценки, %", 1), num_col("dropout", "Выбывание от первой дозы серии, %", 1),
            num_col("refused", "Отказы"), num_col("exempt", "Мед. отводы"), num_col("doses", "Введено доз"),
            num_col("delay", "Медиана задержки, дн.")]
    return TableSpec("prev-calendar", f"Национальный календарь прививок — {u.name}",
                     f"{p.label}. Когорта — прикреплённые дети, достигшие в периоде возраста оценки; «в срок» — не "
                     f"позднее {R.TIMELY_DAYS} дней после срока по календарю (приказ № 1122н)",
                     cols, records, base_params(u, p))


KEY_DOSES = ("DTP3", "MMR1", "MMR2")  # the coverage columns of the units table (the registry's key coverages)
PLURAL_CHILDREN = {"district": "районам", "mo": "организациям", "doctor": "участкам"}


def _assess_label(d: R.Dose) -> str:
    if d.assess_months < 36:
        return f"{d.assess_months} мес."
    y = d.assess_months // 12
    return f"{y} {'году' if y % 10 == 1 and y % 100 != 11 else 'годам'}"  # «к 7 годам», «к 21 году»


@table("prev-vacc-units")
def vaccination_units_table(params: dict, scope) -> TableSpec:
    """Per child unit: coverage of the key doses, dropout between doses of one child, refusals."""
    u, p, months = _ctx(params, scope)
    child = U.child_level(u.level, PATH)
    df = PM.children("mart_vaccination", ("cohort", "covered", "started", "dropped", "refused"), u, months, scope,
                     by=("vaccine",)) if months and child else pd.DataFrame()
    records = []
    if not df.empty:
        for (cid, name), g in df.groupby(["child_id", "child_name"]):
            g = g.set_index("vaccine")

            def val(v, k, g=g):
                return float(g.at[v, k]) if v in g.index else 0.0
            cal = g[g.index.isin([d.code for d in R.CALENDAR])]
            if cal["cohort"].sum() == 0:
                continue
            rec = {"child_id": int(cid), "name": name}
            for k in KEY_DOSES:
                rec[k.lower()] = pct(val(k, "covered"), val(k, "cohort"))
            for _, last in R.DROPOUT:
                rec[f"dropout_{last.lower()}"] = pct(val(last, "dropped"), val(last, "started"))
            rec["refusals"] = pct(cal["refused"].sum(), cal["cohort"].sum())
            records.append(rec)
    lead = KEY_DOSES[0].lower()
    records.sort(key=lambda r: (r[lead] is None, r[lead] if r[lead] is not None else 0))
    cols = [text_col("name", TITLES.get(child or "", "Единица"))]
    cols += [num_col(k.lower(), f"{R.DOSES[k].name} к {_assess_label(R.DOSES[k])}, %", 1) for k in KEY_DOSES]
    cols += [num_col(f"dropout_{last.lower()}", f"Выбывание {R.DOSES[first].name} → {R.DOSES[last].name}, %", 1)
             for first, last in R.DROPOUT]
    cols.append(num_col("refusals", "Отказы, % когорты", 1))
    return TableSpec("prev-vacc-units", f"Охват прививками по {PLURAL_CHILDREN.get(child or '', 'единицам')} — {u.name}",
                     f"{p.label}. Выбывание — среди начавших серию детей того же возраста; сначала худшие по "
                     f"охвату «{R.DOSES[KEY_DOSES[0]].name}»", cols, records, base_params(u, p))


# ---------------------------------------------------------------- dispensarisation
def _disp_record(r) -> dict:
    plan = float(r["plan_month"])
    done = float(r["stage1_done"])
    ref = float(r["stage2_referred"])
    return {"plan_year": int(r.get("plan_year_last", 0)), "plan": round(plan), "done": int(done),
            "pct": pct(done, plan), "referred": int(ref), "ref_pct": pct(ref, r.get("done_stage2", done)),
            "full": pct(r["stage2_full"], ref), "partial": pct(r["stage2_partial"], ref),
            "none": pct(r["stage2_none"], ref), "pathology": pct(r["pathology"], done),
            "risk": pct(r["with_risk"], done),
            **{c: pct(r[c], done) for c in PM.HEALTH_GROUP_COLUMNS.values()}}


def _with_year_plan_and_stage2(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sum the programs' rows per unit; the year's plan is that of the period's last month (a period can span two
    plan years); the referral share is counted among the exams of programs that have a second stage."""
    last = df["month"].max()
    s2 = df[df["program"].isin(R.STAGE2_PROGRAMS)].groupby(keys)["stage1_done"].sum().rename("done_stage2")
    plan = df[df["month"] == last].groupby(keys)["plan_year"].sum().rename("plan_year_last")
    out = df.drop(columns=["month", "program"]).groupby(keys).sum()
    return out.join(s2).join(plan).fillna({"done_stage2": 0, "plan_year_last": 0}).reset_index()


DISP_COLS = [num_col("plan_year", "План на год (последнего месяца периода)"), num_col("plan", "План на период"),
             num_col("done", "Прошли I этап"),
             num_col("pct", "Выполнение, %", 1), num_col("referred", "Направлены на II этап"),
             num_col("ref_pct", "Направлены, % прошедших диспансеризацию", 1), num_col("full", "II этап полностью, %", 1),
             num_col("partial", "…частично, %", 1), num_col("none", "…не прошли, %", 1),
             num_col("pathology", "Выявлено заболеваний, %", 1), num_col("risk", "С факторами риска, %", 1),
             *[num_col(c, f"{R.HEALTH_GROUP_NAMES[g]} группа здоровья, %", 1) for g, c in PM.HEALTH_GROUP_COLUMNS.items()]]


def _programs(params: dict) -> tuple[str, ...]:
    prog = params.get("program") or "adult"
    if prog == "adult":
        return R.ADULT_PROGRAMS
    if prog in R.PROGRAMS:
        return (prog,)
    raise TableParamError("Программа — adult, " + ", ".join(R.PROGRAMS))


@table("prev-disp-units")
def dispensary_units_table(params: dict, scope) -> TableSpec:
    """Dispensarisation against plan per child unit (the unit itself at the organisation level)."""
    u, p, months = _ctx(params, scope, "mart_prevention")
    progs = _programs(params)
    filters = (("program", progs),)
    by = ("month", "program")
    df = PM.children("mart_prevention", PM.DISP, u, months, scope, by=by, filters=filters) if months \
        else pd.DataFrame()
    own = df.empty
    if own and months:
        df = PM.totals("mart_prevention", PM.DISP, u, months, scope, by=by, filters=filters)
        df["child_id"], df["child_name"] = u.key or 0, u.name
    records = []
    if not df.empty:
        df = _with_year_plan_and_stage2(df, ["child_id", "child_name"])
    for r in df.to_dict("records"):
        if not r["plan_year"] and not r["stage1_done"]:
            continue
        records.append({"child_id": int(r["child_id"]), "name": r["child_name"], **_disp_record(r)})
    records.sort(key=lambda r: (r["pct"] is None, r["pct"] if r["pct"] is not None else 0))
    child = U.child_level(u.level, PATH)
    name = "Медицинская организация" if own else TITLES.get(child or "", "Единица")
    what = "несовершеннолетних" if progs == ("child_prof",) else "взрослых"
    return TableSpec("prev-disp-units", f"Диспансеризация и профосмотры {what} против плана — {u.name}",
                     f"{p.label}. План периода — годовой план / 12 × число месяцев; II этап и находки — по осмотрам, "
                     "I этап которых завершён в периоде; сначала отстающие", [text_col("name", name)] + DISP_COLS,
                     records, {**base_params(u, p), "program": params.get("program") or "adult"})


@table("prev-disp-months")
def dispensary_months_table(params: dict, scope) -> TableSpec:
    """By month of the year of the period's end: plan, done and the cumulative share of the year's plan."""
    u, p, _ = _ctx(params, scope, "mart_prevention")
    progs = _programs(params)
    year = p.last.year
    have = [m for m in E.data_months() if m.year == year and m <= p.last]
    df = PM.totals("mart_prevention", ("plan_month", "plan_year", "stage1_done"), u, tuple(have), scope, by=("month",),
                   filters=(("program", progs),)).sort_values("month") if have else pd.DataFrame()
    records, cum = [], 0.0
    for r in df.to_dict("records"):
        cum += float(r["stage1_done"])
        records.append({"month": fmt.month_name(r["month"]), "plan": round(float(r["plan_month"])),
                        "done": int(r["stage1_done"]), "pct": pct(r["stage1_done"], r["plan_month"]),
                        "cum": int(cum), "cum_pct": pct(cum, r["plan_year"])})
    cols = [text_col("month", "Месяц"), num_col("plan", "План месяца"), num_col("done", "Прошли I этап"),
            num_col("pct", "Выполнение месяца, %", 1), num_col("cum", "С начала года"),
            num_col("cum_pct", "С начала года, % годового плана", 1)]
    return TableSpec("prev-disp-months", f"Выполнение плана по месяцам {year} года — {u.name}",
                     "Осенний пик — обычный ход года; годовой план выполняется к декабрю", cols, records,
                     {"level": u.level, "id": u.key, "period": p.key, "program": params.get("program") or "adult"})


@table("prev-form1000")
def form1000_table(params: dict, scope) -> TableSpec:
    """Form № 131/о table 1000: by age band and sex — attached on 1 January, planned, check-ups, dispensarisation."""
    u, p, months = _ctx(params, scope, "mart_prevention_band")
    band = PM.totals("mart_prevention_band", ("stage1_done",), u, months, scope,
                     by=("program", "age_band", "sex")) if months else pd.DataFrame()
    plan = PM.stock("mart_prevention_band", ("plan_year",), u, months[-1], scope, by=("program", "age_band", "sex")) \
        if months else pd.DataFrame()
    pop = PM.stock("mart_prevention_band", ("attached",), u, months[-1], scope, by=("age_band", "sex")) \
        if months else pd.DataFrame()
    records = []

    def pick(df, code, sex, progs=None):
        if df.empty:
            return df
        m = df["age_band"].isin([b for b, _, _ in R.AGE_BANDS] if code == "total" else [code])
        if sex != "all":
            m &= df["sex"] == sex
        if progs is not None:
            m &= df["program"].isin(progs)
        return df[m]

    def total(df, col, code, sex, progs):
        x = pick(df, code, sex, progs)
        return int(round(x[col].sum())) if len(x) else 0

    for code, _, _ in R.AGE_BANDS + (("total", 18, None),):
        for sex, sname in (("all", "все"), ("M", "мужчины"), ("F", "женщины")):
            att = pick(pop, code, sex)
            records.append({
                "band": "Всего" if code == "total" else R.BAND_NAMES[code], "sex": sname,
                "attached": int(att["attached"].sum()) if len(att) else 0,
                "planned": total(plan, "plan_year", code, sex, R.YEARLY_PROGRAMS),
                "prof": total(band, "stage1_done", code, sex, ("prof",)),
                "disp": total(band, "stage1_done", code, sex, ("disp",)),
                "deep": total(band, "stage1_done", code, sex, ("deep",))})
    cols = [text_col("band", "Возраст, лет"), text_col("sex", "Пол"),
            num_col("attached", "Прикреплено на 1 января"), num_col("planned", "Из них в плане на год"),
            num_col("prof", "Прошли профосмотр"), num_col("disp", "Прошли диспансеризацию"),
            num_col("deep", "Прошли углублённую диспансеризацию (дополнительно)")]
    return TableSpec("prev-form1000", f"Форма № 131/о, таблица 1000 — {u.name}",
                     f"{p.label}. Возраст — исполняющийся в году (приказ № 404н); прикреплённые — по регистру на дату "
                     "построения витрин; план — профосмотров и диспансеризации на год (углублённая — сверх них)",
                     cols, records, base_params(u, p))


@table("prev-children")
def children_exams_table(params: dict, scope) -> TableSpec:
    """Children's preventive examinations by age group and sex against the plan."""
    u, p, months = _ctx(params, scope, "mart_prevention_band")
    df = PM.totals("mart_prevention_band", ("plan_month", "stage1_done"), u, months, scope, by=("age_band", "sex"),
                   filters=(("program", ("child_prof",)),)) if months else pd.DataFrame()
    records = []
    for code, _, _ in R.CHILD_BANDS:
        g = df[df["age_band"] == code] if len(df) else df
        plan = float(g["plan_month"].sum()) if len(g) else 0.0
        done = float(g["stage1_done"].sum()) if len(g) else 0.0
        boys = int(g.loc[g["sex"] == "M", "stage1_done"].sum()) if len(g) else 0
        records.append({"band": R.BAND_NAMES[code], "plan": round(plan), "done": int(done), "boys": boys,
                        "girls": int(done) - boys, "pct": pct(done, plan)})
    cols = [text_col("band", "Возраст, лет"), num_col("plan", "План на период"), num_col("done", "Осмотрено"),
            num_col("boys", "…мальчиков"), num_col("girls", "…девочек"), num_col("pct", "Выполнение, %", 1)]
    return TableSpec("prev-children", f"Профилактические осмотры несовершеннолетних — {u.name}", p.label, cols, records,
                     base_params(u, p))


# ---------------------------------------------------------------- cancer screening
@table("prev-screening")
def screening_table(params: dict, scope) -> TableSpec:
    """By test of the programme: who, target, done, positives and their follow-up."""
    u, p, months = _ctx(params, scope, "mart_screening")
    df = PM.totals("mart_screening", PM.SCREEN, u, months, scope, by=("test",)).set_index("test") \
        if months else pd.DataFrame()
    records = []
    for sc in R.SCREENINGS:
        r = df.loc[sc.code] if sc.code in df.index else None
        def g(k, r=r):
            return _get(r, k)
        records.append({"test": sc.code, "name": sc.name, "who": sc.who, "target": round(g("target_month")),
                        "tests": int(g("tests")), "pct": pct(g("tests"), g("target_month")),
                        "positives": int(g("positives")), "pos_rate": pct(g("positives"), g("tests"), 2),
                        "followed": pct(g("followed_up"), g("positives")),
                        "followed_any": pct(g("followed_any"), g("positives")),
                        "days": sc.followup_days})
    cols = [text_col("name", "Исследование"), text_col("who", "Кому и как часто"),
            num_col("target", "Целевая группа на период"), num_col("tests", "Проведено"), num_col("pct", "Охват, %", 1),
            num_col("positives", "Положительные"), num_col("pos_rate", "Доля положительных, %", 2),
            num_col("followed", "Дообследованы в срок, %", 1), num_col("followed_any", "Дообследованы всего, %", 1),
            num_col("days", "Срок дообследования, дн.")]
    return TableSpec("prev-screening", f"Онкоскрининг — {u.name}",
                     f"{p.label}. Целевая группа года — прикреплённые, кому исследование положено в этом году "
                     "(приказ № 404н); на период — 1/12 на месяц", cols, records, base_params(u, p))


@table("prev-screen-units")
def screening_units_table(params: dict, scope) -> TableSpec:
    """Screening coverage and follow-up per child unit."""
    u, p, months = _ctx(params, scope, "mart_screening")
    df = PM.children("mart_screening", PM.SCREEN, u, months, scope) if months else pd.DataFrame()
    records = [{"child_id": int(r["child_id"]), "name": r["child_name"], "target": round(r["target_month"]),
                "tests": int(r["tests"]), "pct": pct(r["tests"], r["target_month"]), "positives": int(r["positives"]),
                "followed": pct(r["followed_up"], r["positives"])}
               for r in df.to_dict("records") if r["target_month"] or r["tests"]]
    records.sort(key=lambda r: (r["pct"] is None, r["pct"] if r["pct"] is not None else 0))
    child = U.child_level(u.level, PATH)
    cols = [text_col("name", TITLES.get(child or "", "Единица")), num_col("target", "Целевая группа на период"),
            num_col("tests", "Проведено"), num_col("pct", "Охват, %", 1), num_col("positives", "Положительные"),
            num_col("followed", "Дообследованы в срок, %", 1)]
    title = f"Онкоскрининг по {PLURAL_CHILDREN.get(child or '', 'единицам')} — {u.name}"
    return TableSpec("prev-screen-units", title, f"{p.label}; сначала отстающие",
                     cols, records, base_params(u, p))



# ---------------------------------------------------------------- the worklist «кого пригласить»
def kinds_param(params: dict) -> tuple[str, ...]:
    from data_access import prevention as P
    raw = params.get("kinds")
    if not raw:
        return P.DEFAULT_KINDS
    kinds = tuple(k for k in str(raw).split(",") if k)
    if bad := [k for k in kinds if k not in P.KINDS]:
        raise TableParamError(f"Неизвестные виды мероприятий: {', '.join(bad)}; допустимы: {', '.join(P.KINDS)}")
    return kinds


def _worklist_params(params: dict, scope):
    from data_access import prevention as P
    u = unit_param(params, scope)
    if u.level not in P.LEVELS:
        raise TableParamError("Список «кого пригласить» составляется для медицинской организации или участка: "
                              "выберите организацию")
    return u, as_of_param(params), kinds_param(params)


@table("prev-worklist")
def worklist_table(params: dict, scope) -> TableSpec:
    """Patient-level: refused without patient access; every view or export is audited."""
    from data_access import prevention as P
    from data_access.scope import ScopeError
    from security import audit_event
    unit_param(params, scope)  # a malformed or foreign unit first: 400 or 403 as in every table
    if not scope.patients:  # then the role, before the level of the list is looked at
        raise ScopeError("Списки пациентов доступны только руководителям районов и медицинских организаций")
    u, d, kinds = _worklist_params(params, scope)
    df = P.worklist(u.level, u.key, d, scope, kinds)
    audit_event("view_patients", obj=f"prevention-worklist:{u.level}:{u.key or ''}",
                details={"date": d.isoformat(), "kinds": ",".join(kinds), "rows": len(df)})
    records = [{"patient_id": int(r["patient_id"]), "mo_id": int(r["mo_id"]), "item": r["item"], "age": int(r["age"]),
                "doctor": r["doctor"], "kind": P.KINDS.get(r["kind"], r["kind"]), "what": r["what"],
                "state": P.STATES.get(r["state"], r["state"]), "state_code": r["state"], "since": fmt.date(r["since"]),
                "last_contact": fmt.date(r["last_contact"]) if pd.notna(r["last_contact"]) else "",
                "status": r["status_name"], "status_code": r["status"],
                "comment": r["status_comment"] if isinstance(r.get("status_comment"), str) else ""}
               for r in df.to_dict("records")]
    cols = [text_col("patient_id", "Код пациента в РМИС"), num_col("age", "Возраст"), text_col("doctor", "Участок (врач)"),
            text_col("what", "Что положено"), text_col("state", "Состояние"), text_col("since", "С какой даты"),
            text_col("last_contact", "Последний контакт"), text_col("status", "Отметка"), text_col("comment", "Комментарий")]
    return TableSpec("prev-worklist", f"Кого пригласить на {fmt.date(d)} — {u.name}",
                     "Сначала положительный скрининг без дообследования, незавершённый II этап, просроченные прививки; "
                     "«выбыл» и «выполнено в другой МО» — в конце", cols, records,
                     {"level": u.level, "id": u.key, "date": d.isoformat(), "kinds": ",".join(kinds)})


@table("prev-areas")
def areas_table(params: dict, scope) -> TableSpec:
    """Counts of the worklist per участок of an organisation (no patient data)."""
    from data_access import prevention as P
    u, d, kinds = _worklist_params(params, scope)
    if u.level != "mo":
        raise TableParamError("Сводка по участкам — для медицинской организации")
    df = P.summary_by_area(u.key, d, scope, kinds)
    records = [{"child_id": int(r["doctor_id"]) if r["doctor_id"] is not None else -1, "name": r["doctor"],
                "patients": int(r["patients"]), "items": int(r["items"]), "overdue": int(r["overdue"]),
                "vaccine": int(r["vaccine"]), "disp": int(r["disp"]), "stage2": int(r["stage2"]),
                "screening": int(r["screening"]) + int(r["positive"]), "positive": int(r["positive"]),
                "invited": int(r["invited"]), "refused": int(r["refused"]), "upcoming": int(r["upcoming"])}
               for r in df.to_dict("records")]
    cols = [text_col("name", "Участок (врач)"), num_col("patients", "Пациентов"), num_col("items", "Мероприятий"),
            num_col("overdue", "…просрочено"), num_col("vaccine", "Прививки"), num_col("disp", "Диспансеризация"),
            num_col("stage2", "II этап"), num_col("screening", "Онкоскрининг"),
            num_col("positive", "…положительные без дообследования"), num_col("invited", "Приглашены"),
            num_col("refused", "Отказались"), num_col("upcoming", f"Предстоит в {P.UPCOMING_DAYS} дней")]
    return TableSpec("prev-areas", f"По участкам на {fmt.date(d)} — {u.name}",
                     "Сколько человек и мероприятий ждёт приглашения на каждом участке", cols, records,
                     {"level": u.level, "id": u.key, "date": d.isoformat(), "kinds": ",".join(kinds)})
