"""Tables of the availability view («доступность медицинской помощи»)."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from components.tablespec import TableParamError, TableSpec, table
from core import fmt
from data_access import access as A
from data_access import units as U
from data_access.reference import CHANNELS
from metrics import access as AM
from metrics import evaluate as E
from metrics.histogram import percentile_from_hist

from .common import months_of, num_col, pct, period_param, text_col
from .common import unit_param as common_unit_param

CATEGORY_NAMES = {"primary": "Терапевт, педиатр, ВОП", "specialist": "Специалисты", "obstetric": "Акушер-гинеколог",
                  "diagnostic": "Диагностика"}


def unit_param(params: dict, scope) -> U.Unit:
    return common_unit_param(params, scope, A.PATH)


def date_param(params: dict) -> dt.date:
    """The «as of» date: given, or the day after the last day with data (the synthetic «today»)."""
    raw = params.get("date")
    span = E.data_span()
    default = (span[1].replace(day=28) + dt.timedelta(days=4)).replace(day=1) if span else dt.date.today()
    if not raw:
        return default
    try:
        d = dt.date.fromisoformat(str(raw)[:10])
    except ValueError as exc:
        raise TableParamError("Дата — в формате ГГГГ-ММ-ДД") from exc
    if span and not (span[0] <= d <= default + dt.timedelta(days=31)):
        raise TableParamError(f"Дата вне периода данных ({fmt.date(span[0])} – {fmt.date(default)})")
    return d


def _params(n: U.Unit, p=None, d=None) -> dict:
    out = {"level": n.level, "id": n.key, "mo": n.mo_id if n.level == "spec" else None}
    if p is not None:
        out["period"] = p.key
    if d is not None:
        out["date"] = d.isoformat()
    return out


def _percentiles(h: pd.DataFrame) -> dict:
    if h.empty:
        return {}
    med = percentile_from_hist(h, 0.5, ["key"]).set_index("key")["value"]
    p90 = percentile_from_hist(h, 0.9, ["key"]).set_index("key")["value"]
    return {k: (med.get(k), p90.get(k)) for k in med.index}


@table("access-specialties")
def specialties_table(params: dict, scope) -> TableSpec:
    n = unit_param(params, scope)
    p = period_param(params)
    months = months_of(p)
    df = AM.bookings_by(n.level, n.id, n.mo_id, months, "specialty_id", scope)
    pc = _percentiles(AM.wait_hist(n.level, n.id, n.mo_id, months, "specialty_id", scope))
    sp = A.specialties().set_index("specialty_id")
    records = []
    for r in df.groupby("key").sum(numeric_only=True).reset_index().to_dict("records"):
        sid = int(r["key"])
        cat = sp.loc[sid, "category"]
        if cat not in A.BOOKABLE_CATEGORIES:
            continue
        med, p90 = pc.get(sid, (None, None))
        records.append({"specialty_id": sid, "specialty": sp.loc[sid, "name"], "norm": A.norm_text(cat, sp.loc[sid, "wait_norm"]),
                        "bookings": int(r["bookings"]), "within": pct(r["within_norm"], r["normed"]),
                        "median": med, "p90": p90, "no_show": pct(r["no_show"], r["attended"] + r["no_show"])})
    records.sort(key=lambda x: (x["within"] is None, x["within"] if x["within"] is not None else 0))
    cols = [text_col("specialty", "Специальность"), text_col("norm", "Норматив ожидания"), num_col("bookings", "Записей"),
            num_col("within", "В пределах норматива, %", 1), num_col("median", "Медиана ожидания, дн."),
            num_col("p90", "90-й перцентиль, дн."), num_col("no_show", "Неявки, %", 1)]
    return TableSpec("access-specialties", f"Ожидание по специальностям — {n.name}", p.label, cols, records, _params(n, p))


@table("access-channels")
def channels_table(params: dict, scope) -> TableSpec:
    n = unit_param(params, scope)
    p = period_param(params)
    months = months_of(p)
    df = AM.bookings_by(n.level, n.id, n.mo_id, months, "channel", scope)
    pc = _percentiles(AM.wait_hist(n.level, n.id, n.mo_id, months, "channel", scope))
    g = df.groupby("key").sum(numeric_only=True)
    total = g["bookings"].sum()
    records = []
    for ch, name in CHANNELS.items():
        if ch not in g.index:
            continue
        r = g.loc[ch]
        prim = df[(df["key"] == ch) & (df["spec_category"] == "primary")]
        med, p90 = pc.get(ch, (None, None))
        records.append({"channel": name, "bookings": int(r["bookings"]), "share": pct(r["bookings"], total),
                        "within": pct(r["within_norm"], r["normed"]),
                        "within_24h": pct(prim["within_24h"].sum(), prim["bookings"].sum()),
                        "median": med, "p90": p90})
    cols = [text_col("channel", "Канал записи"), num_col("bookings", "Записей"), num_col("share", "Доля, %", 1),
            num_col("within", "В пределах норматива, %", 1),
            num_col("within_24h", "Терапевт, педиатр, ВОП за 24 ч, %", 1),
            num_col("median", "Медиана ожидания, дн."), num_col("p90", "90-й перцентиль, дн.")]
    return TableSpec("access-channels", f"Каналы записи — {n.name}", p.label, cols, records, _params(n, p))


@table("access-children")
def children_table(params: dict, scope) -> TableSpec:
    n = unit_param(params, scope)
    if A.CHILD[n.level] is None:
        raise TableParamError("У врача нет единиц уровнем ниже")
    p = period_param(params)
    months = months_of(p)
    df = AM.bookings_by(n.level, n.id, n.mo_id, months, "child", scope)
    pc = _percentiles(AM.wait_hist(n.level, n.id, n.mo_id, months, "child", scope))
    records = []
    for key, part in df.groupby("key"):
        by = part.set_index("spec_category")
        tot = part.sum(numeric_only=True)

        def cat_share(cats, num="within_norm", den="normed", by=by):
            sub = by.loc[by.index.intersection(cats)]
            return pct(sub[num].sum(), sub[den].sum())
        med, p90 = pc.get(key, (None, None))
        records.append({"child_id": int(key), "name": part["name"].iloc[0], "bookings": int(tot["bookings"]),
                        "primary_24h": cat_share(["primary"], "within_24h", "bookings"),
                        "specialist": cat_share(["specialist", "obstetric"]), "diagnostic": cat_share(["diagnostic"]),
                        "median": med, "p90": p90, "no_show": pct(tot["no_show"], tot["attended"] + tot["no_show"])})
    records.sort(key=lambda x: (x["specialist"] is None, x["specialist"] if x["specialist"] is not None else 0))
    cols = [text_col("name", U.LEVELS[A.CHILD[n.level]].plural), num_col("bookings", "Записей"),
            num_col("primary_24h", "Терапевт, педиатр, ВОП за 24 ч, %", 1),
            num_col("specialist", "Специалисты в норматив, %", 1), num_col("diagnostic", "Диагностика в норматив, %", 1),
            num_col("median", "Медиана ожидания по всем нормируемым записям, дн."),
            num_col("p90", "90-й перцентиль по всем нормируемым записям, дн."),
            num_col("no_show", "Неявки, %", 1)]
    return TableSpec("access-children", f"Соблюдение нормативов — {n.name}", p.label, cols, records, _params(n, p))


@table("access-nearest")
def nearest_table(params: dict, scope) -> TableSpec:
    n = unit_param(params, scope)
    d = date_param(params)
    df = A.nearest_free(n.level, n.id, n.mo_id, d, scope)
    records = []
    for r in df.to_dict("records"):
        has = r["slot_start"] == r["slot_start"] and r["slot_start"] is not None
        records.append({"mo": r["mo_name"], "specialty": r["specialty"], "norm": A.norm_text(r["category"], r["wait_norm"]),
                        "slot": fmt.datetime(r["slot_start"]) if has else "нет свободных ячеек на 60 дней",
                        "working_days": r["working_days"] if has else None,
                        "beyond": "да" if r["beyond_norm"] in (True, None) else "",
                        "beyond_st": "bad" if r["beyond_norm"] in (True, None) else "good"})
    records.sort(key=lambda x: (x["beyond"] != "да", x["mo"], x["specialty"]))
    cols = [text_col("mo", "Организация"), text_col("specialty", "Специальность"), text_col("norm", "Норматив"),
            text_col("slot", "Ближайшая свободная ячейка"), num_col("working_days", "Рабочих дней до неё"),
            text_col("beyond", "Сверх норматива")]
    return TableSpec("access-nearest", f"Ближайшая свободная ячейка на {fmt.date(d)} — {n.name}",
                     "Свободна — открыта для записи и никем не занята к этой дате; красным — дальше норматива или нет совсем",
                     cols, records, _params(n, d=d))


@table("access-not-bookable")
def not_bookable_table(params: dict, scope) -> TableSpec:
    n = unit_param(params, scope)
    d = date_param(params)
    df = A.not_bookable(n.level, n.id, n.mo_id, d, scope)
    # counted in one pass (a loop over the city's ~5 000 organisation × specialty groups took 13 s)
    keys = ["mo_name", "specialty"]
    st = df.assign(filled=df["state"] != "vacant", open=df["state"] == "open", closed=df["state"] == "closed",
                   vacant=df["state"] == "vacant")
    agg = st.groupby(keys, as_index=False)[["filled", "open", "closed", "vacant"]].sum()
    agg = agg[(agg["closed"] > 0) | (agg["vacant"] > 0)]
    doctors = (st[st["closed"]].groupby(keys)["full_name"].agg(lambda x: ", ".join(sorted(x.astype(str))))
               .rename("doctors").reset_index())
    agg = agg.merge(doctors, on=keys, how="left").fillna({"doctors": ""})
    records = [{"mo": r["mo_name"], "specialty": r["specialty"], "filled": int(r["filled"]), "open": int(r["open"]),
                "closed": int(r["closed"]), "vacant": int(r["vacant"]), "doctors": r["doctors"]}
               for r in agg.to_dict("records")]
    records.sort(key=lambda x: (-x["closed"], -x["vacant"], x["mo"], x["specialty"]))
    cols = [text_col("mo", "Организация"), text_col("specialty", "Специальность"), num_col("filled", "Занято должностей"),
            num_col("open", "Открыты для записи"), num_col("closed", "Не открыты для записи"),
            num_col("vacant", "Вакантны"), text_col("doctors", "Врачи без открытых ячеек")]
    return TableSpec("access-not-bookable", f"Врачи в штате, к которым нельзя записаться — {n.name}",
                     f"Нет ни одной ячейки, открытой для записи, с {fmt.date(d)} на 14 дней; и вакантные должности",
                     cols, records, _params(n, d=d))


@table("access-slots")
def slots_table(params: dict, scope) -> TableSpec:
    n = unit_param(params, scope)
    p = period_param(params)
    df = AM.slot_use(n.level, n.id, n.mo_id, months_of(p), scope, by_month=True).sort_values("month")
    records = []
    for r in df.to_dict("records"):
        records.append({"month": fmt.month_name(r["month"] if isinstance(r["month"], dt.date) else r["month"].date()),
                        "slots": int(r["slots"]), "bookable": int(r["bookable"]), "booked": int(r["booked"]),
                        "booked_share": pct(r["booked"], r["bookable"]), "attended": int(r["attended"]),
                        "no_show": int(r["no_show"]), "cancelled": int(r["cancelled"])})
    cols = [text_col("month", "Месяц"), num_col("slots", "Ячеек"), num_col("bookable", "Открыто для записи"),
            num_col("booked", "Занято (без отменённых записей)"), num_col("booked_share", "Занято от открытых, %", 1),
            num_col("attended", "Явки"), num_col("no_show", "Неявки"), num_col("cancelled", "Отмены")]
    return TableSpec("access-slots", f"Использование расписания — {n.name}", p.label, cols, records, _params(n, p))
