"""Period picker: a kind (month, quarter, year, year-to-date) and a period of that kind."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from metrics.periods import KINDS, Period, choices


def options(kind: str, first, last) -> list[dict]:
    return [{"label": p.label, "value": p.key} for p in choices(kind, first, last)]


def picker(ids: dict, period: Period, first, last):
    """ids: {'kind': id, 'value': id}; the page owns the callbacks."""
    return dbc.Row([
        dbc.Col(dbc.RadioItems(id=ids["kind"], options=[{"label": v.capitalize(), "value": k} for k, v in KINDS.items()],
                               value=period.kind, inline=True, className="mt-1"), width="auto"),
        dbc.Col(dcc.Dropdown(id=ids["value"], options=options(period.kind, first, last), value=period.key,
                             clearable=False, searchable=False, style={"minWidth": "220px"}), width="auto"),
    ], className="g-2 align-items-center")


def period_help():
    return html.Span("Период", className="text-muted small")
