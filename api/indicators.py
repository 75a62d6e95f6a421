"""``/api/v1/meta``, ``/api/v1/indicators``, ``/api/v1/indicators/<code>``."""
from __future__ import annotations

import io
import math

from flask import Response, jsonify, request

from core.periods import parse_period
from metrics import evaluate as E
from metrics.model import LEVELS, Measure
from security import current_scope

from . import ApiError, blueprint

ROW_FIELDS = ["unit_id", "unit_name", "numerator", "denominator", "value", "target", "previous_value",
              "last_year_value", "status"]


def _num(x):
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    return None if math.isnan(f) else (int(f) if f.is_integer() and abs(f) < 2 ** 53 else f)


def _measure(m: Measure | None):
    if m is None:
        return None
    return {"name": m.name, "label": m.label, "mart": m.mart, "agg": m.agg, "expr": list(m.expr),
            "weight": m.weight, "filters": {c: list(v) for c, v in m.filters}}


def indicator_json(ind) -> dict:
    reg = E.registry()
    return {"code": ind.code, "name": ind.name, "short": ind.short, "group": ind.group,
            "group_name": reg.groups[ind.group], "method": ind.method, "unit": ind.unit, "factor": ind.factor,
            "annualize": ind.annualize, "direction": ind.direction, "target": ind.target, "weight": ind.weight,
            "levels": list(ind.levels), "key": ind.key, "decimals": ind.decimals, "percentile": ind.percentile,
            "type": ind.kind, "formula": ind.formula, "inputs": list(ind.inputs),
            "numerator": _measure(ind.numerator), "denominator": _measure(ind.denominator)}


def _span():
    span = E.data_span()
    if span is None:
        raise ApiError(503, "Витрины не построены: данных пока нет")
    return span


@blueprint.get("/meta")
def meta():
    first, last = _span()
    return jsonify({"periods": {"first": f"{first:%Y-%m}", "last": f"{last:%Y-%m}"}, "levels": LEVELS,
                    "period_formats": ["YYYY-MM", "YYYY-Qn", "YYYY", "YYYY-MM-YTD"],
                    "groups": E.registry().groups})


@blueprint.get("/indicators")
def indicators():
    return jsonify({"indicators": [indicator_json(i) for i in E.registry()]})


def parse_parent(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    try:
        v = int(raw)
    except ValueError as exc:
        raise ApiError(400, f"parent должен быть целым кодом единицы, а не «{raw}»") from exc
    if v < 0:
        raise ApiError(400, "parent не может быть отрицательным")
    return v


@blueprint.get("/indicators/<code>")
def indicator(code: str):
    if code not in E.registry():
        raise ApiError(404, f"Показатель «{code}» не найден")
    args = request.args
    allowed = {"level", "period", "parent", "format", "kind"}
    if unknown := set(args) - allowed:
        raise ApiError(400, f"Неизвестные параметры: {', '.join(sorted(unknown))}")
    level = args.get("level", "region")
    if level not in LEVELS:
        raise ApiError(400, f"level должен быть одним из: {', '.join(LEVELS)}")
    first, last = _span()
    period = parse_period(args.get("period")) if args.get("period") else parse_period(f"{last:%Y-%m}")
    if period.first > last or period.last < first:
        raise ApiError(404, f"За период {period.key} данных нет; данные есть за {first:%Y-%m} – {last:%Y-%m}")
    fmt = args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError(400, "format должен быть json или csv")
    try:
        kinds = E.kinds_for(E.registry()[code], args.get("kind")) if level == "mo" else None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    ctx = E.Context(code, level, period, parse_parent(args.get("parent")), current_scope(), kinds)
    rows = E.children(ctx)
    records = [{k: _num(r[k]) if k not in ("unit_name", "status") else r[k] for k in ROW_FIELDS}
               for r in rows.to_dict("records")]
    if fmt == "csv":
        import csv

        from security import audit_event
        audit_event("export", obj=f"indicator:{code}:{level}:{args.get('parent') or ''}:{period.key}",
                    details={"format": "csv", "via": "api"})
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=ROW_FIELDS)
        w.writeheader()
        for r in records:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
        return Response(buf.getvalue(), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{code}_{level}_{period.key}.csv"'})
    shown = period.clip(last)  # the months the figures cover: from the first month of data to the last
    covered_first = max(shown.first, first)
    return jsonify({
        "indicator": code, "name": E.registry()[code].name, "unit": E.registry()[code].unit, "level": level,
        "parent": ctx.parent,
        "period": {"key": period.key, "label": period.label, "first": f"{covered_first:%Y-%m}",
                   "last": f"{shown.last:%Y-%m}", "partial": shown.last != period.last or covered_first != period.first},
        "previous_period": period.previous().key, "last_year_period": period.last_year().key,
        "rows": records,
    })
