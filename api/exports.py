"""Exports of on-screen tables as CSV and XLSX (``/export/<kind>.<fmt>``), audited."""
from __future__ import annotations

from flask import Blueprint, Response, request

from components import tablespec
from components.export import frame_records, to_csv, to_xlsx
from components.table import display_frame, indicator_columns
from core.periods import PeriodError, parse_period
from data_access.scope import ScopeError
from metrics import evaluate as E
from security import audit_event, current_scope

exports = Blueprint("exports", __name__, url_prefix="/export")
MIME = {"csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _error(status: int, message: str):
    return Response(message, status=status, mimetype="text/plain; charset=utf-8")


def send(records, columns, fmt: str, filename: str, title: str, subtitle: str, what: str, via: str | None = None):
    if fmt not in MIME:
        return _error(400, "Формат выгрузки — csv или xlsx")
    body = to_csv(records, columns) if fmt == "csv" else to_xlsx(records, columns, title, subtitle)
    audit_event("export", obj=what, details={"format": fmt, "rows": len(records)} | ({"via": via} if via else {}))
    return Response(body, mimetype=MIME[fmt], headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'})


def send_table(spec, name: str, fmt: str, via: str | None = None):
    """A built on-screen table as its CSV or XLSX file: the screen's columns, order and rounding, audited."""
    records = [{c["id"]: r.get(c["id"]) for c in spec.columns} for r in spec.records]
    filename = name + "_" + "_".join(str(v) for v in spec.params.values() if v not in (None, ""))
    return send(records, spec.columns, fmt, filename.replace("/", "-")[:120], spec.title, spec.subtitle,
                f"table:{name}:{request.query_string.decode()[:150]}", via)


@exports.get("/indicator.<fmt>")
def indicator(fmt: str):
    a = request.args
    code = a.get("code", "")
    if code not in E.registry():
        return _error(404, f"Показатель «{code}» не найден")
    ind = E.registry()[code]
    span = E.data_span()
    if span is None:
        return _error(503, "Данных нет")
    try:
        period = parse_period(a.get("period") or f"{span[1]:%Y-%m}")
        parent = int(a["parent"]) if a.get("parent") else None
        level = a.get("level", "district")
        kinds = E.kinds_for(ind, a.get("kind")) if level == "mo" else None
        rows = E.children(E.Context(code, level, period, parent, current_scope(), kinds))
    except (PeriodError, ValueError, E.EvaluationError) as exc:
        return _error(400, str(exc))
    except E.NotFound as exc:
        return _error(404, str(exc))
    except ScopeError as exc:
        audit_event("forbidden", obj=str(exc), details={"unit": getattr(exc, "unit", None)})
        return _error(403, str(exc))
    columns = indicator_columns(ind, level, with_district=(level == "mo" and parent is None))
    records = frame_records(display_frame(rows, ind), columns)
    return send(records, columns, fmt, f"{code}_{level}_{period.key}", ind.name, period.label,
                f"indicator:{code}:{level}:{parent or ''}:{period.key}")


@exports.get("/table/<name>.<fmt>")
def table(name: str, fmt: str):
    """Any registered on-screen table, exported with the same columns, order and rounding."""
    if name not in tablespec.BUILDERS:
        return _error(404, f"Таблицы «{name}» нет")
    try:
        spec = tablespec.build(name, request.args.to_dict(), current_scope())
    except (tablespec.TableParamError, PeriodError, ValueError, E.EvaluationError) as exc:
        return _error(400, str(exc))
    except (E.NotFound, LookupError) as exc:
        return _error(404, str(exc))
    except ScopeError as exc:
        audit_event("forbidden", obj=str(exc), details={"unit": getattr(exc, "unit", None)})
        return _error(403, str(exc))
    return send_table(spec, name, fmt)
