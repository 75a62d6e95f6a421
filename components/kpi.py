"""KPI card: value against target, changes against the previous period and last year, a sparkline, and on a card
that misses its target, where the current pace leads by the end of the year."""
from __future__ import annotations

import re

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


def card(ind, v: dict, spark, href: str, period_label: str, unit=None, period=None):
    """A KPI card; ``unit`` and ``period`` name what it shows (for its forecast line; without them the page's state
    store names them)."""
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
            forecast_slot(ind, v, unit, period),
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
        out.append(dbc.Col(card(ind, v, spark, _indicator_link(ind, unit, period), period.label, unit, period),
                           className="mb-3", **(col or {"md": 3})))
    return out


# ---------------------------------------------------------------- the forecast line
FORECAST, FORECAST_REQUEST = "kpi-forecast", "kpi-forecast-request"
FORECAST_STATUSES = ("warn", "bad")  # cards that miss their target: where does the current pace lead?
REACH_CLASS = {"yes": "text-success", "no": "text-danger", "uncertain": "text-secondary"}


def forecast_slot(ind, v: dict, unit=None, period=None):
    """The place of the forecast line on a card that misses its target (none on the others).

    The line is computed after the page has rendered, by one callback for all the page's cards
    (``bind_forecast_callback``): a forecast fits a model on the unit's monthly series, which the page itself
    does not wait for. The request names the unit and the period when the card knows them.
    """
    if v.get("target") is None or v.get("value") is None or v.get("status") not in FORECAST_STATUSES:
        return None
    req = {"code": ind.code}
    if unit is not None and period is not None:
        req |= {"level": unit.level, "id": unit.key, "period": period.key}
    return html.Div([dcc.Store(id={"type": FORECAST_REQUEST, "code": ind.code}, data=req),
                     html.Div(id={"type": FORECAST, "code": ind.code}, className="small mb-1")])


def forecast_line(req: dict, state: dict | None, scope):
    """The forecast line of one card: the model's sentence, coloured by whether the target is reached; None when
    the unit has no forecast (a short series, an indicator without a target)."""
    import datetime as dt

    from core.periods import PeriodError, parse_period
    from data_access.scope import ScopeError
    from metrics import evaluate as E
    from metrics import forecast as F
    q = req if req.get("level") else {**(state or {}).get("query", {}), "code": req.get("code")}
    span = E.data_span()
    if span is None or not q.get("level") or q.get("level") not in ("region", "district", "mo", "doctor"):
        return None
    try:
        p = parse_period(q.get("period") or f"{span[1]:%Y-%m}").clip(span[1])
        as_of = dt.date(p.last.year, p.last.month, 1)
        uid = None if q["level"] == "region" else int(q["id"])
        f = F.forecast(q["code"], q["level"], uid, as_of, scope=scope)
    except (PeriodError, ScopeError, LookupError, ValueError, TypeError, KeyError):
        return None
    if not f or not f.get("text"):
        return None
    return html.Span([html.I(className="bi bi-graph-up-arrow me-1"), sentence(f["text"])],
                     className=REACH_CLASS.get(f.get("reach"), "text-muted"), title=_forecast_title(f))


def sentence(text: str) -> str:
    """The forecast's sentence without its figures in brackets (the card shows them on hover)."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", text)


def _forecast_title(f: dict) -> str:
    """The figures behind the sentence (shown on hover)."""
    parts = []
    if f.get("value") is not None:
        parts.append(f"прогноз {fmt.number(f['value'], 1)}")
    if f.get("low") is not None and f.get("high") is not None:
        level = f" ({fmt.number(f['level_pct'], 0)} %)" if f.get("level_pct") is not None else ""
        parts.append(f"интервал{level} {fmt.number(f['low'], 1)} – {fmt.number(f['high'], 1)}")
    if f.get("method"):
        parts.append(f"метод: {f['method']}")
    return "; ".join(parts)


def bind_forecast_callback() -> None:
    """Bind the callback that fills every forecast line of a page's cards (one request for the page).

    Called at the import of a page module: Dash executes the pages for every app instance, so each app gets it
    (a callback declared here at module level would reach only the first app of a process).
    """
    from dash import ALL, Input, Output, State, callback

    from security import current_scope

    @callback(Output({"type": FORECAST, "code": ALL}, "children"),
              Input({"type": FORECAST_REQUEST, "code": ALL}, "data"),
              State({"type": "page-state", "page": ALL}, "data"))
    def fill_forecasts(requests, states):
        state = states[0] if states else None
        scope = current_scope()
        return [forecast_line(r or {}, state, scope) for r in requests]
