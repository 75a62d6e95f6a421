"""The integral rating of districts and organisations against targets, and its explanation.

Method (shown on the rating page in Russian):
- each weighted indicator gives a score from 0 to 100: the share of its target reached —
  value ÷ target where higher is better, target ÷ value where lower is better — capped at 100;
- a group's score and the integral value are the weighted means of the available scores
  (weights from the registry; an indicator without data is left out and the weights renormalised);
- organisations are compared with peers of the same kind; an indicator enters the rating of a set of
  units when at least half of them have data for it (a children's polyclinic has no adult plan);
- a unit whose data cannot be trusted (the completeness indicator below its threshold, its data-quality
  score — ``metrics.dataquality.scores`` — below ``[rating] dq_min``, or less than the minimal share of the
  weight with data) is flagged and gets no place; every unit's data-quality score is shown beside its place;
- places go by the integral value rounded to 0.1, highest first; equal values share a place
  («1, 2, 2, 4»), listed by name; the change of place compares with the previous period;
- the points a unit loses against 100 are the sum over indicators of weight share × (100 − score):
  that is each indicator's contribution to the gap.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.periods import Period
from data_access import units as U
from data_access.cache import cached
from data_access.scope import CITY, Scope, ScopeError
from metrics import dataquality as DQ
from metrics import scoring
from metrics.evaluate import Context, children, registry
from metrics.targets import targets_for

FLAG_TEXT = {"incomplete": "данные неполные: полнота передачи СЭМД ниже порога",
             "dq": "данным нельзя доверять: оценка качества данных ниже порога",
             "few": "мало показателей с данными"}


def score(value, target, higher_is_better: bool):
    """0…100: the share of the target reached, capped at 100 (None without a value)."""
    if value is None or target is None or value != value or target != target:
        return None
    if higher_is_better:
        return 100.0 if target <= 0 else float(np.clip(value / target * 100, 0, 100))
    return 100.0 if value <= 0 else float(np.clip(target / value * 100, 0, 100))


def _places(values: pd.Series, names: pd.Series) -> pd.Series:
    """Competition ranking on values rounded to 0.1 (ties share a place); NaN gets no place."""
    r = values.round(1)
    order = pd.DataFrame({"v": r, "n": names}).sort_values(["v", "n"], ascending=[False, True])
    places, last, place = {}, None, 0
    for i, (idx, row) in enumerate(order.iterrows(), start=1):
        if row["v"] != row["v"]:
            places[idx] = np.nan
            continue
        if row["v"] != last:
            place, last = i, row["v"]
        places[idx] = place
    return pd.Series(places).reindex(values.index)


@dataclass
class Rating:
    level: str
    period: Period
    parent: int | None
    units: pd.DataFrame      # one row per unit: place, integral, group scores, flags
    cells: pd.DataFrame      # one row per unit × indicator: value, target, score, status, weight, lost
    # Every unit's place and integral score, whatever the scope, where the committee allows it
    # (``[rating] peers_visible``; districts only): a district sees where it stands among the others.
    league: pd.DataFrame | None = None


def _unit_list(level: str, parent: int | None, kinds) -> pd.DataFrame:
    if level == "district":
        d = U.districts()
        return pd.DataFrame({"unit_id": d["district_id"].astype(int), "unit_name": d["name"], "district_id": d["district_id"]})
    o = U.organisations()
    o = o[o["kind"].isin(kinds)]
    if parent is not None:
        o = o[o["district_id"] == int(parent)]
    return pd.DataFrame({"unit_id": o["mo_id"].astype(int), "unit_name": o["short_name"], "district_id": o["district_id"],
                         "district_name": o["district_name"], "kind": o["kind"]})


def _scores(ind, rows: pd.DataFrame, units: pd.Series, value_col: str, targets: list[float]) -> pd.DataFrame:
    r = rows.set_index("unit_id")
    v = r[value_col].reindex(units)
    few_col = "few" if value_col == "value" else "previous_few"
    few = r[few_col].reindex(units).fillna(False).astype(bool) if few_col in r else pd.Series(False, index=units)
    out = pd.DataFrame({"unit_id": units.to_numpy(), "code": ind.code, "value": v.to_numpy(), "target": targets,
                        "few": few.to_numpy()})
    # a value on too few observations is shown but not scored: it neither lifts nor sinks a place
    out["score"] = [np.nan if f else score(a, b, ind.higher_is_better)
                    for a, b, f in zip(out["value"], out["target"], out["few"])]
    out["status"] = [scoring.status(a, b, ind.higher_is_better, f)
                     for a, b, f in zip(out["value"], out["target"], out["few"])]
    out["weight"] = ind.weight
    out["group"] = ind.group
    return out


def applicable(cells: pd.DataFrame) -> pd.DataFrame:
    """Keep the indicators for which at least half of the units have a value."""
    have = cells.groupby("code")["score"].apply(lambda s: s.notna().mean())
    return cells[cells["code"].isin(have[have >= 0.5].index)]


def _integral(cells: pd.DataFrame, unit_ids, cfg, completeness: pd.Series, dq: pd.Series | None = None) -> pd.DataFrame:
    """Each unit's integral and group scores, and its trust flag: the completeness of the documents below its
    threshold («incomplete»), the data-quality score ``dq`` below ``dq_min`` («dq»), too little weight with data
    («few»), in that order."""
    c = cells[cells["score"].notna()].copy()
    total_w = cells.groupby("unit_id")["weight"].sum()
    c["ws"] = c["weight"] * c["score"]
    agg = c.groupby("unit_id").agg(ws=("ws", "sum"), w=("weight", "sum"))
    out = pd.DataFrame(index=pd.Index(unit_ids, name="unit_id"))
    out["integral"] = (agg["ws"] / agg["w"]).reindex(out.index)
    out["weight_share"] = (agg["w"] / total_w).reindex(out.index).fillna(0.0)
    for g, part in c.groupby("group"):
        ga = part.groupby("unit_id").agg(ws=("ws", "sum"), w=("weight", "sum"))
        out[f"group_{g}"] = (ga["ws"] / ga["w"]).reindex(out.index)
    out["completeness"] = completeness.reindex(out.index)
    out["dq_score"] = dq.reindex(out.index).astype(float) if dq is not None else np.nan
    flag = np.where(out["completeness"] < cfg.completeness_min, "incomplete",
                    np.where(out["dq_score"] < cfg.dq_min, "dq",
                             np.where(out["weight_share"] < cfg.min_weight_share, "few", "")))
    out["flag"] = flag
    return out


def _cells_for(level, period, parent, units, which: str) -> pd.DataFrame:
    reg = registry()
    frames = []
    for ind in reg:
        if ind.weight <= 0 or not ind.valid_at(level):
            continue
        rows = children(Context(ind.code, level, period, parent, CITY))
        per = period if which == "cur" else period.previous()
        col = "value" if which == "cur" else "previous_value"
        frames.append(_scores(ind, rows, units, col, targets_for(ind, level, units.tolist(), per)))
    return pd.concat(frames, ignore_index=True)


MO_KIND_DEFAULT = "adult_polyclinic"


def _data_quality(level: str, period: Period, parent: int | None, units: pd.Series) -> pd.DataFrame:
    """The data-quality score and its reasons of every unit of the rating (indexed by unit_id), whatever the
    person's scope, as the places are. A unit's score is its own (its reporting, its values against its own
    baseline, its rules): the organisations of the rating's kind are scored alone (a scope of just them), not
    every organisation of the city."""
    scope = CITY if level == "district" else Scope(mos=frozenset(int(x) for x in units), label="рейтинг")
    df = DQ.scores(period, level, parent, scope)
    return df.set_index("unit_id")[["score", "reasons"]]


@cached(timeout=600)
def compute(level: str, period: Period, parent: int | None = None, scope: Scope = CITY,
            kind: str | None = None) -> Rating:
    """The rating of districts (city-wide) or organisations (in a district or city-wide).

    Places are computed among all units; a scoped person receives only the rows of their scope
    (their place among all is kept; other units' figures are not returned).
    """
    if level not in ("district", "mo"):
        raise ValueError("Рейтинг строится для районов (district) или организаций (mo)")
    if level == "mo" and parent is not None:
        district = U.unit("district", parent)
        if district is None:
            from metrics.evaluate import NotFound
            raise NotFound(f"Района {parent} нет")
        U.require(scope, district)
    cfg = registry().rating
    kind = kind or MO_KIND_DEFAULT
    ulist = _unit_list(level, parent, (kind,))
    units = ulist["unit_id"]
    comp = registry()[cfg.completeness_indicator]
    comp_rows = children(Context(comp.code, level, period, parent, CITY)).set_index("unit_id")
    cur_cells = applicable(_cells_for(level, period, parent, units, "cur"))
    prev_cells = _cells_for(level, period, parent, units, "prev")
    prev_cells = prev_cells[prev_cells["code"].isin(cur_cells["code"].unique())]
    dq = _data_quality(level, period, parent, units)
    cur = _integral(cur_cells, units, cfg, comp_rows["value"], dq["score"])
    cur["dq_reasons"] = dq["reasons"].reindex(cur.index).fillna("")
    prev = _integral(prev_cells, units, cfg, comp_rows["previous_value"],
                     _data_quality(level, period.previous(), parent, units)["score"])
    names = ulist.set_index("unit_id")["unit_name"]
    ranked = cur["integral"].where(cur["flag"] == "")
    cur["place"] = _places(ranked, names.reindex(cur.index))
    prev_ranked = prev["integral"].where(prev["flag"] == "")
    cur["prev_place"] = _places(prev_ranked, names.reindex(prev.index)).reindex(cur.index)
    cur["delta_place"] = cur["prev_place"] - cur["place"]
    cur["prev_integral"] = prev["integral"]
    cur["integral_target"] = cfg.integral_target
    cur["status"] = [scoring.status(v, cfg.integral_target, True) for v in cur["integral"]]
    out = ulist.set_index("unit_id").join(cur).rename_axis("unit_id").reset_index()
    out["ranked_count"] = int(out["place"].notna().sum())
    out = out.sort_values(["place", "integral"], ascending=[True, False], na_position="last", kind="stable")
    # contribution of each indicator to the gap to 100
    c = cur_cells.copy()
    avail_w = c[c["score"].notna()].groupby("unit_id")["weight"].sum()
    c["weight_share"] = c["weight"] / c["unit_id"].map(avail_w)
    c["lost"] = np.where(c["score"].notna(), c["weight_share"] * (100 - c["score"]), np.nan)
    league = out[["unit_id", "unit_name", "place", "integral", "flag"]].reset_index(drop=True) \
        if level == "district" and cfg.peers_visible else None
    # the scope: only the rows the person may see leave this function
    visible = np.array([U.visible(scope, level, d, u) for u, d in zip(out["unit_id"], out["district_id"])], dtype=bool)
    out = out[visible].reset_index(drop=True)  # a boolean array: an empty list would select columns
    c = c[c["unit_id"].isin(out["unit_id"])].reset_index(drop=True)
    return Rating(level=level, period=period, parent=parent, units=out, cells=c, league=league)


def explain(r: Rating, unit_id: int) -> dict:
    """Why a unit is where it is: each indicator's contribution to its gap, biggest first."""
    row = r.units[r.units["unit_id"] == int(unit_id)]
    if row.empty:
        raise ScopeError("Эта единица вне вашей области доступа или не участвует в рейтинге")
    row = row.iloc[0]
    cells = r.cells[r.cells["unit_id"] == int(unit_id)].sort_values("lost", ascending=False, na_position="last")
    reg = registry()
    lines = []
    for c in cells.itertuples():
        ind = reg[c.code]
        lines.append({"code": c.code, "name": ind.short, "group": reg.groups[ind.group], "value": c.value,
                      "target": c.target, "score": c.score, "weight": c.weight, "weight_share": c.weight_share,
                      "lost": c.lost, "status": c.status, "unit": ind.unit, "decimals": ind.decimals})
    top = [x for x in lines if x["lost"] == x["lost"] and x["lost"] > 0.05][:3]
    return {"unit_id": int(unit_id), "unit_name": row["unit_name"], "place": row["place"],
            "count": int(row["ranked_count"]), "integral": row["integral"], "target": row["integral_target"],
            "flag": row["flag"], "dq_score": None if pd.isna(row["dq_score"]) else float(row["dq_score"]),
            "dq_reasons": row["dq_reasons"] or "", "lines": lines, "top": top}


def group_trend(group: str, level: str, unit_id, last_month, n_months: int = 12, scope: Scope = CITY) -> pd.DataFrame:
    """A group's score (weighted mean of its indicators' scores) month by month for one unit."""
    from metrics.evaluate import trend
    rows = []
    for ind in registry():
        if ind.group != group or ind.weight <= 0 or not ind.valid_at(level):
            continue
        t = trend(ind.code, level, unit_id, last_month, n_months, scope)
        for r in t.itertuples():
            s = score(r.value, r.target, ind.higher_is_better)
            if s is not None:
                rows.append((r.month, ind.weight, s))
    if not rows:
        return pd.DataFrame(columns=["month", "value"])
    df = pd.DataFrame(rows, columns=["month", "w", "s"])
    df["ws"] = df["w"] * df["s"]
    out = df.groupby("month").agg(ws=("ws", "sum"), w=("w", "sum")).reset_index()
    out["value"] = out["ws"] / out["w"]
    return out[["month", "value"]]
