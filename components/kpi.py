"""KPI card: value against target, changes against the previous period and last year, a sparkline."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from core import fmt
from metrics.scoring import STATUS_COLORS, STATUS_NAMES, change_is_good

from . import charts

BADGE = {"good": "success", "warn": "warning", "bad": "danger", "none": "secondary", "few": "light"}


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
            html.Div(charts.sparkline(spark, color), className="mt-1"),
            dcc.Link("Подробнее →", href=href, className="stretched-link small"),
        ]),
    ], className="h-100 shadow-sm kpi-card", style={"borderTop": f"4px solid {color}"}, id={"type": "kpi", "code": ind.code})


def _indicator_link(ind, unit, period) -> str:
    """The indicator page one level below the unit (its children), or the unit among its siblings."""
    from data_access import units as U

    from .urls import indicator
    child = U.child_level(unit.level) if unit.level != "doctor" else None
    if child and ind.valid_at(child) and (child != "doctor" or unit.level == "mo"):
        return indicator(ind.code, child, unit.key, period.key)
    parent = {"region": None, "district": None, "mo": unit.district_id, "doctor": unit.mo_id}[unit.level]
    return indicator(ind.code, unit.level, parent, period.key)


def group_cards(group: str, unit, period, scope, **col) -> list:
    """KPI cards of every registry indicator of a group that is computed at the unit's level.

    The registry decides what a subject page shows: a new indicator of the group reaches it with no code.
    Units of levels the registry has no indicators for (a department, a specialty) get none.
    """
    from metrics import evaluate as E
    from metrics.model import LEVELS
    if unit.level not in LEVELS:
        return []
    out = []
    for ind in E.registry().by_group().get(group, []):
        if not ind.valid_at(unit.level):
            continue
        v = E.unit_value(ind.code, unit.level, unit.key, period, scope)
        spark = E.trend(ind.code, unit.level, unit.key, period.last, 12, scope)
        out.append(dbc.Col(card(ind, v, spark, _indicator_link(ind, unit, period), period.label),
                           className="mb-3", **(col or {"md": 3})))
    return out
