"""Period picker: a kind (month, quarter, year, year-to-date) and a period of that kind.

Every page keeps its URL state in one store, ``{"type": "page-state", "page": <page>}`` with
``{"path": …, "query": {…}}``; the picker's two callbacks are registered once per app and serve
all pages: a new kind lists its periods, a new period becomes the page's URL with that period.
"""
from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, dcc, html, no_update

from core.periods import KINDS, Period, choices


def options(kind: str, first, last) -> list[dict]:
    return [{"label": p.label, "value": p.key} for p in choices(kind, first, last)]


def ids(page: str) -> dict:
    return {"kind": {"type": "period-kind", "page": page}, "value": {"type": "period-value", "page": page},
            "state": {"type": "page-state", "page": page}}


def page_state(page: str, path: str, query: dict, **extra):
    """The page's URL state (and anything its own callbacks need) in a store the picker reads."""
    return dcc.Store(id=ids(page)["state"], data={"path": path, "query": query, **extra})


def url(path: str, query: dict) -> str:
    q = {k: v for k, v in query.items() if v not in (None, "")}
    return path + ("?" + urlencode(q) if q else "")


def picker(page: str, period: Period, first, last):
    i = ids(page)
    return dbc.Row([
        dbc.Col(dbc.RadioItems(id=i["kind"], options=[{"label": v.capitalize(), "value": k} for k, v in KINDS.items()],
                               value=period.kind, inline=True, className="mt-1"), width="auto"),
        dbc.Col(dcc.Dropdown(id=i["value"], options=options(period.kind, first, last), value=period.key,
                             clearable=False, searchable=False, style={"minWidth": "220px"}), width="auto"),
    ], className="g-2 align-items-center")


def register_callbacks(dash_app) -> None:
    """The picker's callbacks, bound to this app (each app instance gets its own)."""
    from metrics import evaluate as E

    from .shell import NAV

    @dash_app.callback(Output({"type": "period-value", "page": MATCH}, "options"),
                       Output({"type": "period-value", "page": MATCH}, "value"),
                       Input({"type": "period-kind", "page": MATCH}, "value"), prevent_initial_call=True)
    def change_kind(kind):
        span = E.data_span()
        if span is None or kind is None:
            return no_update, no_update
        opts = options(kind, *span)
        return opts, (opts[0]["value"] if opts else no_update)

    # ALL, not MATCH: the output (the shell's one Location) has no wildcard, and Dash refuses an
    # input wildcard the output lacks. Only one page is shown, so the lists hold at most one item.
    @dash_app.callback(Output(NAV, "href", allow_duplicate=True),
                       Input({"type": "period-value", "page": ALL}, "value"),
                       State({"type": "page-state", "page": ALL}, "data"), prevent_initial_call=True)
    def change_period(values, states):
        if not values or not states:
            return no_update
        value, state = values[0], states[0]
        if not value or not state or value == state["query"].get("period"):
            return no_update
        query = {k: v for k, v in state["query"].items() if k not in state.get("reset_on_period", [])}
        return url(state["path"], {**query, "period": value})


def period_help():
    return html.Span("Период", className="text-muted small")
