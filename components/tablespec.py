"""Tables that look the same on screen and in their CSV/XLSX exports.

A *builder* turns request parameters (the page's URL state) and the person's scope into a
``TableSpec``: title, columns (DataTable definitions, with number formats) and records. The
page shows the spec with ``datatable()``; ``/export/table/<name>.<fmt>`` writes the same spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlencode

from dash import dash_table, html

from .table import LOCALE

BUILDERS: dict[str, Callable] = {}


class TableParamError(ValueError):
    """Bad parameters of a table (400 in an export)."""


@dataclass
class TableSpec:
    name: str
    title: str
    subtitle: str
    columns: list[dict]
    records: list[dict]
    params: dict = field(default_factory=dict)


def table(name: str):
    """Register a table builder ``fn(params: dict, scope) -> TableSpec``."""
    def deco(fn):
        BUILDERS[name] = fn
        return fn
    return deco


def build(name: str, params: dict, scope) -> TableSpec:
    if name not in BUILDERS:
        raise LookupError(f"Таблицы «{name}» нет")
    return BUILDERS[name](params, scope)


def export_links(spec: TableSpec, id_prefix: str):
    q = urlencode({k: v for k, v in spec.params.items() if v not in (None, "")})
    return html.Span([
        html.A([html.I(className="bi bi-filetype-csv me-1"), "CSV"], href=f"/export/table/{spec.name}.csv?{q}",
               className="btn btn-sm btn-outline-secondary me-2", id=f"{id_prefix}-csv"),
        html.A([html.I(className="bi bi-file-earmark-excel me-1"), "XLSX"], href=f"/export/table/{spec.name}.xlsx?{q}",
               className="btn btn-sm btn-outline-secondary", id=f"{id_prefix}-xlsx"),
    ])


def datatable(spec: TableSpec, table_id: str, page_size: int = 20, row_id: str | None = None, **kw):
    records = spec.records
    if row_id:
        records = [{**r, "id": r[row_id]} for r in records]
    style_cond = kw.pop("style_data_conditional", [])
    return dash_table.DataTable(
        id=table_id, columns=spec.columns, data=records, sort_action="native", page_action="native",
        page_size=page_size, locale_format=LOCALE, style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "fontSize": 13,
                    "padding": "4px 8px", "textAlign": "left", "whiteSpace": "normal", "height": "auto"},
        style_cell_conditional=[{"if": {"column_type": "numeric"}, "textAlign": "right"}],
        style_header={"fontWeight": 600, "backgroundColor": "#f8f9fa"},
        style_data_conditional=style_cond, markdown_options={"link_target": "_self"}, **kw)


SCREEN_ROWS = 500  # rows a page ships to the browser; the export carries all of them


def section(spec: TableSpec, table_id: str, limit: int = SCREEN_ROWS, **kw):
    """Title, export buttons and the table (its first ``limit`` rows, in the builder's order, with a note)."""
    from core import fmt
    shown = spec
    note = None
    if len(spec.records) > limit:
        shown = TableSpec(spec.name, spec.title, spec.subtitle, spec.columns, spec.records[:limit], spec.params)
        note = html.Div(f"Показаны первые {fmt.number(limit)} из {fmt.number(len(spec.records))} строк в порядке "
                        "таблицы; сортировка на экране — среди них. Все строки — в выгрузке CSV или XLSX.",
                        className="small text-warning-emphasis mb-1", id=f"{table_id}-limited")
    return html.Div([
        html.Div([html.H5(spec.title, className="d-inline me-3"), export_links(spec, table_id)], className="mt-3 mb-2"),
        html.Div(spec.subtitle, className="small text-muted mb-1") if spec.subtitle else None,
        note,
        datatable(shown, table_id, **kw) if spec.records else html.Div("Нет данных за период.", className="text-muted"),
    ])
