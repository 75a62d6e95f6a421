"""``/api/v1/quality/data/…`` and ``/api/v1/forecast/…`` (issue 22).

- ``GET /quality/data/<scores|outliers|rules|completeness|denominators|history>?level=&parent=&id=&period=`` —
  the tables of the page «Качество данных» from the same builders (``reports.dataquality``): the rows of
  ``level`` under ``parent`` (none: every unit of the level in the scope), or the one unit ``id``, for a month;
  ``format=csv|xlsx`` gives the page's export.
- ``POST /quality/data/outliers/ack`` — accept an outlier as a true value or return it, with a comment (the CSRF
  token of a session, or a bearer token); 201 with the outlier's history of decisions.
- ``GET /forecast/<code>?level=&id=&as_of=&until=`` — where the current pace leads one unit's indicator by the end
  of the year (or ``until``), with its interval and the Russian sentence of the KPI card;
  ``GET /forecast/<code>/units?level=&parent=&as_of=&until=`` — the same for every unit of a level under a parent.
  The value projected is the indicator's value over January..``until`` of that year (``metrics.forecast``).

Bad parameters are a 400, unknown units or indicators a 404, units outside the scope a 403, all with a Russian
message.
"""
from __future__ import annotations

import datetime as dt

from flask import jsonify

from components.tablespec import build
from core.periods import PeriodError, parse_period
from data_access import units as U
from data_access.scope import ScopeError
from metrics import dataquality as DQ
from metrics import evaluate as E
from security import current_scope, current_user

from . import ApiError, blueprint, error, query_args
from .exports import send_table
from .tables import plain
from .tasks import _body, _code

PARTS = {"scores": "dq-scores", "outliers": "dq-outliers", "rules": "dq-rules", "completeness": "dq-completeness",
         "denominators": "dq-denominators", "history": "dq-outlier-history"}
# the hidden fields of each table's rows the API returns besides the shown columns (ids, codes, raw values)
EXTRA = {"dq-scores": ("child_id",), "dq-outliers": ("key", "code", "level", "unit_id", "month", "value", "baseline",
                                                    "state_code", "acknowledged"),
         "dq-rules": ("child_id", "rule", "left_value", "right_value", "ok"), "dq-completeness": ("child_id",),
         "dq-denominators": ("child_id", "level", "ok"), "dq-outlier-history": ("key", "ack_id")}
ACK_ROLES = ("committee", "district", "mo")


@blueprint.errorhandler(DQ.DataQualityError)
def _dq_error(e):
    return error(400, str(e))


@blueprint.get("/quality/data/<part>")
def quality_data(part: str):
    """One table of the data-quality review as JSON (columns as on the screen, rows with their ids) or its file."""
    if part not in PARTS:
        raise ApiError(404, f"Раздела «{part}» нет; есть: {', '.join(PARTS)}")
    a = query_args({"level", "parent", "id", "period", "format"})
    f = a.pop("format", None) or "json"
    if f not in ("json", "csv", "xlsx"):
        raise ApiError(400, "format — одно из: json, csv, xlsx")
    name = PARTS[part]
    spec = build(name, a, current_scope())
    if f != "json":
        return send_table(spec, name, f, via="api")
    extra = EXTRA[name]
    rows = [{**{c["id"]: plain(r.get(c["id"])) for c in spec.columns}, **{k: plain(r.get(k)) for k in extra if k in r}}
            for r in spec.records]
    return jsonify({"title": spec.title, "subtitle": spec.subtitle, "params": spec.params,
                    "columns": [{"id": c["id"], "name": c["name"]} for c in spec.columns], "rows": rows})


def _history(code: str, level: str, unit_id: int, month: dt.date, scope) -> list[dict]:
    h = DQ.acknowledgements(level, month, unit_id=unit_id, code=code, scope=scope)
    return [{"ack_id": int(r["ack_id"]), "state": r["state"], "state_name": r["state_name"], "comment": r["comment"],
             "author": r["author"], "at": plain(r["created_at"].to_pydatetime() if hasattr(r["created_at"], "to_pydatetime")
                                                else r["created_at"])}
            for r in h.to_dict("records")]


@blueprint.post("/quality/data/outliers/ack")
def acknowledge_outlier():
    """Body: {"code", "level": "mo"|"doctor"|…, "unit_id", "month": "YYYY-MM", "comment", "state": "ack"|"reopen"}
    (an outlier's row of ``/quality/data/outliers`` has the first four); 201 with the decision's id and the
    outlier's history of decisions."""
    d = _body()
    if unknown := set(d) - {"code", "level", "unit_id", "month", "comment", "state"}:
        raise ApiError(400, f"Неизвестные поля: {', '.join(sorted(map(str, unknown)))}")
    user = current_user()
    if user is None or user.role not in ACK_ROLES:  # the role first: nothing about the unit is told
        raise ScopeError("Принимать выбросы могут руководители комитета, районов и медицинских организаций",
                         unit="dataquality")
    for field in ("code", "level", "unit_id", "month"):
        if d.get(field) in (None, ""):
            raise ApiError(400, f"{field}: обязательное поле")
    for field in ("code", "level", "month"):
        if not isinstance(d[field], str):
            raise ApiError(400, f"{field} — строка")
    code, level, unit_id = d["code"], d["level"], _code(d["unit_id"], "unit_id")
    month = _month(d["month"], "month")
    state = d.get("state") or "ack"
    comment = d.get("comment")
    if not isinstance(state, str):
        raise ApiError(400, "state — ack или reopen")
    if comment is not None and not isinstance(comment, str):
        raise ApiError(400, "comment — строка")
    if code not in E.registry():
        raise ApiError(404, f"Показатель «{code[:40]}» не найден")
    scope = current_scope()
    ack_id = DQ.acknowledge(code, level, unit_id, month, comment or "", user.login, state, scope=scope,
                            user_id=user.user_id)
    return jsonify({"ack_id": ack_id, "code": code, "level": level, "unit_id": unit_id, "month": f"{month:%Y-%m}",
                    "state": state, "history": _history(code, level, unit_id, month, scope)}), 201


# ---------------------------------------------------------------- forecasts
def _month(v: str | None, field: str) -> dt.date | None:
    if v in (None, ""):
        return None
    try:
        p = parse_period(v)
    except PeriodError as exc:
        raise ApiError(400, f"{field}: {exc}") from exc
    if p.kind != "month":
        raise ApiError(400, f"{field} — месяц в формате ГГГГ-ММ")
    return p.first


def _forecastquery_args(code: str, accepted: set[str]) -> tuple[dict, dt.date, dt.date | None]:
    a = query_args(accepted)
    if code not in E.registry():
        raise ApiError(404, f"Показатель «{code[:40]}» не найден")
    span = E.data_span()
    if span is None:
        raise ApiError(503, "Витрины не построены")
    as_of = _month(a.get("as_of"), "as_of") or span[1]
    if not span[0] <= as_of <= span[1]:
        raise ApiError(400, f"as_of: данные есть с {span[0]:%Y-%m} по {span[1]:%Y-%m}")
    until = _month(a.get("until"), "until")
    if until is not None and until < as_of:
        raise ApiError(400, "until — не раньше as_of")
    return a, as_of, until


def _json_value(key: str, v):
    if isinstance(v, dt.date):  # a month as YYYY-MM, any other date in full
        return f"{v:%Y-%m}" if key.startswith("month") or key in ("as_of", "until") else v.isoformat()
    return plain(v)


def forecast_json(f: dict) -> dict:
    return {k: _json_value(k, v) for k, v in f.items()}


@blueprint.get("/forecast/<code>")
def forecast(code: str):
    """One unit's forecast: ``level`` (region, district, mo, doctor), ``id`` (none for the city), ``as_of`` (the
    last month of data used; default the latest), ``until`` (default the end of that year)."""
    from metrics import forecast as F
    a, as_of, until = _forecastquery_args(code, {"level", "id", "as_of", "until"})
    level = a.get("level") or "region"
    if level not in U.CHILD_LEVEL:
        raise ApiError(400, f"level — одно из: {', '.join(U.CHILD_LEVEL)}")
    uid = None
    if level != "region":
        if a.get("id") in (None, ""):
            raise ApiError(400, "id: укажите единицу")
        uid = U.scoped_unit(level, _code(a["id"], "id"), current_scope()).id
    f = F.forecast(code, level, uid, as_of, until, scope=current_scope())
    return jsonify({"code": code, "level": level, "id": uid, **forecast_json(f)})


@blueprint.get("/forecast/<code>/units")
def forecast_units(code: str):
    """Every unit's forecast: the units of ``level`` (district, mo, doctor) under ``parent`` (none: the scope)."""
    from metrics import forecast as F
    a, as_of, until = _forecastquery_args(code, {"level", "parent", "as_of", "until"})
    level = a.get("level") or "district"
    if level not in ("district", "mo", "doctor"):
        raise ApiError(400, "level — одно из: district, mo, doctor")
    parent = None
    if a.get("parent") not in (None, ""):
        parent_level = U.PARENT_LEVEL[level]
        if parent_level == "region":
            raise ApiError(400, "У районов родитель — только город: не указывайте parent")
        parent = U.scoped_unit(parent_level, _code(a["parent"], "parent"), current_scope()).id
    elif level == "doctor":
        raise ApiError(400, "Для врачей укажите организацию (parent)")
    df = F.forecasts(code, level, parent, as_of, until, scope=current_scope())
    return jsonify({"code": code, "level": level, "parent": parent, "as_of": f"{as_of:%Y-%m}",
                    "until": f"{(until or dt.date(as_of.year, 12, 1)):%Y-%m}",
                    "rows": [forecast_json(r) for r in df.to_dict("records")]})
