"""Tables of the morbidity view («сведения о заболеваемости»)."""
from __future__ import annotations

from components.tablespec import TableParamError, TableSpec, table
from data_access import icd
from data_access import morbidity as MB
from data_access.reference import AGE_GROUPS
from metrics import morbidity as MM

from .common import months_of, num_col, period_param, text_col
from .common import unit_param as common_unit_param

VS = {"higher": "выше города", "lower": "ниже города", "same": "не отличается"}


def filter_param(params: dict) -> MB.Filter:
    try:
        kind, value = icd.parse_node(params.get("icd"))
    except ValueError as exc:
        raise TableParamError(str(exc)) from exc
    sex = (params.get("sex") or "").upper() or None
    if sex not in (None, "M", "F"):
        raise TableParamError("Пол — M или F")
    lo, hi = 0, 17
    if params.get("age"):
        try:
            lo, hi = (int(x) for x in str(params["age"]).split("-"))
        except ValueError as exc:
            raise TableParamError("Возраст — диапазон групп, например 13-17 (65 лет и старше)") from exc
        if not 0 <= lo <= hi <= 17:
            raise TableParamError("Возрастные группы — от 0 (0–4 года) до 17 (85+)")
    return MB.Filter(kind, value, sex, lo, hi)


def unit_param(params: dict, scope):
    """(level, id for the loaders, the unit), refused outside the scope."""
    u = common_unit_param(params, scope, MB.PATH)
    return u.level, u.key, u


def describe(f: MB.Filter) -> str:
    parts = ["все болезни" if f.icd_kind == "all" else
             (f"класс {icd.ROMAN[int(f.icd_value)]}" if f.icd_kind == "class" else f.icd_value) + f" ({icd.name(f.icd_value)})"]
    if f.sex:
        parts.append("мужчины" if f.sex == "M" else "женщины")
    if (f.age_lo, f.age_hi) != (0, 17):
        parts.append(f"возраст {AGE_GROUPS[f.age_lo].split('–')[0]}–{AGE_GROUPS[f.age_hi].split('–')[-1].replace('+', '')}"
                     + ("+" if f.age_hi == 17 else ""))
    return ", ".join(parts)


def _params(level, uid, p, f, params) -> dict:
    return {"level": level, "id": uid, "period": p.key, "icd": params.get("icd") or None,
            "sex": f.sex, "age": params.get("age") or None}


@table("morb-places")
def places_table(params: dict, scope) -> TableSpec:
    level, uid, u = unit_param(params, scope)
    p = period_param(params)
    f = filter_param(params)
    df, city = MM.compare(level, uid, months_of(p), f, scope)
    records = [{"place_id": -1, "name": "Санкт-Петербург (стандарт)", "population": None, "cases": int(city["cases"]),
                "crude": round(city["crude"], 1), "asr": round(city["asr"], 1), "asr_lo": None, "asr_hi": None,
                "new_crude": round(city["new_crude"], 1), "vs": ""}]
    for r in df.sort_values("asr", ascending=False).to_dict("records"):
        records.append({"place_id": int(r["place"]), "name": r["name"], "population": round(r["population"]),
                        "cases": int(r["cases"]), "crude": round(r["crude"], 1), "asr": round(r["asr"], 1),
                        "asr_lo": round(r["asr_lo"], 1), "asr_hi": round(r["asr_hi"], 1),
                        "new_crude": round(r["new_crude"], 1), "vs": VS[r["vs_city"]], "vs_code": r["vs_city"]})
    cols = [text_col("name", "Район" if level == "region" else "Организация (прикреплённые)"),
            num_col("population", "Население (среднее)"), num_col("cases", "Случаев"),
            num_col("crude", "Грубый показатель на 100 тыс. в год", 1),
            num_col("asr", "Стандартизованный по возрасту", 1), num_col("asr_lo", "95 % ДИ от", 1),
            num_col("asr_hi", "95 % ДИ до", 1), num_col("new_crude", "Впервые выявленные на 100 тыс.", 1),
            text_col("vs", "С учётом возраста")]
    return TableSpec("morb-places", f"Заболеваемость по территориям — {u.name}",
                     f"{p.label}; {describe(f)}; стандарт — возрастная структура населения города", cols, records,
                     _params(level, uid, p, f, params))


@table("morb-tree")
def tree_table(params: dict, scope) -> TableSpec:
    level, uid, u = unit_param(params, scope)
    p = period_param(params)
    f = filter_param(params)
    if f.icd_kind == "code":
        raise TableParamError("У трёхзначной рубрики нет подразделов в этом дереве")
    df = MM.tree(level, uid, months_of(p), f, scope)
    total = df["cases"].sum()
    records = [{"node": (r.get("roman") if r["kind"] == "class" else r["node"]), "key": r["node"], "name": r["name"],
                "cases": int(r["cases"]), "new_cases": int(r["new_cases"]),
                "share": round(r["cases"] / total * 100, 1) if total else None} for r in df.to_dict("records")]
    cols = [text_col("node", {"all": "Класс", "class": "Блок", "block": "Рубрика"}[f.icd_kind]), text_col("name", "Название"),
            num_col("cases", "Случаев"), num_col("new_cases", "Впервые выявлено"), num_col("share", "Доля, %", 1)]
    return TableSpec("morb-tree", f"МКБ-10: {describe(f)}", f"{u.name}, {p.label}", cols, records,
                     _params(level, uid, p, f, params))


@table("morb-top")
def top_table(params: dict, scope) -> TableSpec:
    level, uid, u = unit_param(params, scope)
    p = period_param(params)
    f = filter_param(params)
    cur = MM.by_code(level, uid, months_of(p), f, scope).set_index("icd3")
    ly = MM.by_code(level, uid, months_of(p.last_year()), f, scope).set_index("icd3") if months_of(p.last_year()) else None
    records = []
    for code, r in cur.sort_values("cases", ascending=False).head(20).iterrows():
        prev = ly["cases"].get(code) if ly is not None else None
        records.append({"code": code, "name": icd.name(code), "cases": int(r["cases"]), "new_cases": int(r["new_cases"]),
                        "last_year": None if prev is None or prev != prev else int(prev),
                        "growth": round((r["cases"] / prev - 1) * 100, 1) if prev and prev == prev else None})
    cols = [text_col("code", "Рубрика"), text_col("name", "Название"), num_col("cases", "Случаев"),
            num_col("new_cases", "Впервые"), num_col("last_year", "Год назад"),
            num_col("growth", "Рост к прошлому году, %", 1, sign=True)]
    return TableSpec("morb-top", f"Главные диагнозы — {u.name}",
                     f"{p.label}; {describe(f)}; 20 рубрик с наибольшим числом случаев",
                     cols, records, _params(level, uid, p, f, params))


@table("morb-growth")
def growth_table(params: dict, scope) -> TableSpec:
    level, uid, u = unit_param(params, scope)
    p = period_param(params)
    f = filter_param(params)
    if not months_of(p.last_year()):
        raise TableParamError("Нет данных за тот же период прошлого года")
    cur = MM.by_code(level, uid, months_of(p), f, scope).set_index("icd3")["cases"]
    ly = MM.by_code(level, uid, months_of(p.last_year()), f, scope).set_index("icd3")["cases"]
    j = cur.to_frame("cases").join(ly.rename("last_year"), how="inner")
    j = j[(j["last_year"] >= 10) & (j["cases"] >= 10)]  # too few cases make any growth rate noise
    j["growth"] = (j["cases"] / j["last_year"] - 1) * 100
    records = [{"code": c, "name": icd.name(c), "cases": int(r["cases"]), "last_year": int(r["last_year"]),
                "growth": round(r["growth"], 1)} for c, r in j.sort_values("growth", ascending=False).head(10).iterrows()]
    cols = [text_col("code", "Рубрика"), text_col("name", "Название"), num_col("cases", "Случаев"),
            num_col("last_year", "Год назад"), num_col("growth", "Рост, %", 1, sign=True)]
    return TableSpec("morb-growth", "Быстрее всего растут", f"{p.label} к тому же периоду прошлого года; не меньше 10 случаев",
                     cols, records, _params(level, uid, p, f, params))


@table("morb-age-sex")
def age_sex_table(params: dict, scope) -> TableSpec:
    level, uid, u = unit_param(params, scope)
    p = period_param(params)
    f = filter_param(params)
    df = MM.age_sex(level, uid, months_of(p), f, scope)
    piv = df.pivot_table(index="age_group", columns="sex", values=["population", "cases", "rate"], aggfunc="sum")
    records = []
    for g in piv.index:
        rec = {"age": AGE_GROUPS[int(g)]}
        for sx, tag in (("M", "m"), ("F", "f")):
            pop = piv.get(("population", sx), {}).get(g) if ("population", sx) in piv.columns else None
            rec[f"pop_{tag}"] = None if pop is None or pop != pop else round(pop)
            cs = piv[("cases", sx)].get(g) if ("cases", sx) in piv.columns else None
            rec[f"cases_{tag}"] = None if cs is None or cs != cs else int(cs)
            rt = piv[("rate", sx)].get(g) if ("rate", sx) in piv.columns else None
            rec[f"rate_{tag}"] = None if rt is None or rt != rt else round(rt, 1)
        records.append(rec)
    cols = [text_col("age", "Возраст"), num_col("pop_m", "Мужчины: население"), num_col("cases_m", "Мужчины: случаев"),
            num_col("rate_m", "Мужчины: на 100 тыс. в год", 1), num_col("pop_f", "Женщины: население"),
            num_col("cases_f", "Женщины: случаев"), num_col("rate_f", "Женщины: на 100 тыс. в год", 1)]
    return TableSpec("morb-age-sex", f"По полу и возрасту — {u.name}", f"{p.label}; {describe(f)}", cols, records,
                     _params(level, uid, p, f, params))
