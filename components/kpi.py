"""KPI card: value against target, changes against the previous period and last year, a sparkline."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from metrics.scoring import STATUS_COLORS, STATUS_NAMES, change_is_good

from . import charts, fmt

BADGE = {"good": "success", "warn": "warning", "bad": "danger", "none": "secondary"}


def delta(value, base, ind, label: str):
    if value is None or base is None:
        return html.Span(f"{label}: —", className="text-muted me-3")
    d = value - base
    good = change_is_good(d, ind.higher_is_better)
    cls = "text-success" if good else ("text-danger" if good is False else "text-muted")
    arrow = "▲" if d > 0 else ("▼" if d < 0 else "■")
    return html.Span([f"{label}: ", html.Span(f"{arrow} {fmt.number(d, ind.decimals, sign=True)}", className=cls)],
                     className="me-3 text-nowrap")


def card(ind, v: dict, spark, href: str, period_label: str):
    status = v.get("status", "none")
    color = STATUS_COLORS[status]
    return dbc.Card([
        dbc.CardBody([
            html.Div(ind.short, className="small text-muted text-uppercase fw-semibold", title=f"{ind.name} — {period_label}"),
            html.Div([html.Span(fmt.number(v.get("value"), ind.decimals), className="display-6 fw-semibold me-1"),
                      html.Span(ind.unit, className="text-muted")]),
            html.Div([html.Span(f"цель {fmt.number(v.get('target'), ind.decimals)} {ind.unit}", className="me-2"),
                      dbc.Badge(STATUS_NAMES[status], color=BADGE[status], className="status-badge")],
                     className="small mb-1"),
            html.Div([delta(v.get("value"), v.get("previous_value"), ind, "к пред. периоду"),
                      delta(v.get("value"), v.get("last_year_value"), ind, "к прошлому году")], className="small"),
            dcc.Graph(figure=charts.sparkline(spark, color), config={"displayModeBar": False, "staticPlot": True},
                      style={"height": "40px"}, className="mt-1"),
            dcc.Link("Подробнее →", href=href, className="stretched-link small"),
        ]),
    ], className="h-100 shadow-sm kpi-card", style={"borderTop": f"4px solid {color}"}, id={"type": "kpi", "code": ind.code})
