"""One view model for the drill-down pages: URL parameters → a typed state or a Russian problem.

A page declares a ``View`` (its path, the drill path of units it walks, the extra URL parameters it
keeps) and builds its layout from the ``PageState`` that ``View.parse`` returns. The state knows
the unit actually shown (by default the person's own unit: the city, their district or their
organisation), the period, the breadcrumbs and every URL of the page, so that no page parses
levels, checks scope or builds links by itself. One pattern-matching callback
(``register_callbacks``) turns a click on a unit's name in any page's table into the child's URL.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from core.periods import Period, PeriodError, parse_period
from data_access import units as U
from data_access.scope import Scope

from .period import page_state, url
from .table import drilled_row
from .tablespec import TableSpec, datatable, export_links

VIEWS: dict[str, "View"] = {}


class Problem(Exception):
    """A page that cannot be shown as asked; the message is for the user (Russian)."""

    def __init__(self, message: str, color: str = "warning", link: bool = True):
        super().__init__(message)
        self.message, self.color, self.link = message, color, link


def latest_month(first: dt.date, last: dt.date) -> Period:
    return parse_period(f"{last:%Y-%m}")


@dataclass(frozen=True)
class View:
    """A drill-down page's URL contract.

    Attributes:
        page: the page's key (its state store and problem alert use it).
        path: the page's URL path.
        drill: the units' path (a key of ``units.PATHS``).
        prefix: the prefix of the page's element ids (``<prefix>-problem``, ``<prefix>-subtitle``).
        extra: further URL parameters the page keeps (filters, a date).
        reset_on_drill: extra parameters dropped when going to a child unit.
        default_period: the period shown when the URL names none.
        group: the registry group whose indicators are the page's KPI cards.
    """
    page: str
    path: str
    drill: str
    prefix: str
    group: str | None = None
    extra: tuple[str, ...] = ()
    reset_on_drill: tuple[str, ...] = ()
    default_period: Callable[[dt.date, dt.date], Period] = latest_month

    def __post_init__(self):
        VIEWS[self.page] = self

    def url(self, unit: U.Unit | None = None, period: str | None = None, **extra) -> str:
        """The page's URL for a unit (the city when None), a period key and extra parameters."""
        u = unit or U.CITY
        return url(self.path, {"level": u.level, "id": u.key, "mo": u.mo_id if u.level == "spec" else None,
                               "period": period, **extra})

    def parse(self, params: dict, scope: Scope, span: tuple[dt.date, dt.date] | None) -> "PageState":
        """The state named by URL parameters, or Problem; ScopeError for a unit outside the scope.

        Without ``level`` the page opens on the person's own unit.
        """
        if span is None:
            raise Problem("Витрины ещё не построены.", color="info", link=False)
        first, last = span
        try:
            per = parse_period(params["period"]) if params.get("period") else self.default_period(first, last)
        except PeriodError as exc:
            raise Problem(str(exc)) from exc
        level = params.get("level")
        try:
            unit = (U.node(level, params.get("id"), params.get("mo"), self.drill) if level
                    else U.home(scope, self.drill))
        except U.UnitError as exc:
            raise Problem(str(exc)) from exc
        U.require(scope, unit)
        if per.first > last or per.last < first:
            raise Problem(f"За «{per.label}» данных нет.")
        extra = {k: (params.get(k) or None) for k in self.extra}
        return PageState(self, unit, per, first, last, extra, scope)

    def problem(self, exc: Problem, scope: Scope) -> dbc.Alert:
        """The Russian message with a link back to the person's own unit."""
        body = [exc.message]
        if exc.link:
            home = U.home(scope, self.drill)
            body += [" ", dcc.Link(f"Открыть: {home.name}", href=self.url(home))]
        return dbc.Alert(body, color=exc.color, id=f"{self.prefix}-problem")


@dataclass
class PageState:
    """What a drill-down page shows: a unit, a period, extra parameters; with its URLs and breadcrumbs."""
    view: View
    unit: U.Unit
    period: Period
    first: dt.date
    last: dt.date
    extra: dict = field(default_factory=dict)
    scope: Scope | None = None

    @property
    def child(self) -> str | None:
        return U.child_level(self.unit.level, self.view.drill)

    @property
    def params(self) -> dict:
        """The unit and period, as the table builders, exports and API take them."""
        u = self.unit
        return {"level": u.level, "id": u.key, "mo": u.mo_id if u.level == "spec" else None, "period": self.period.key}

    @property
    def query(self) -> dict:
        """The page's whole URL state."""
        return {**self.params, **self.extra}

    def url(self, unit: U.Unit | None = None, **changes) -> str:
        """This page's URL with another unit and/or other parameters (period, extras)."""
        q = {"period": self.period.key, **self.extra, **changes}
        return self.view.url(unit or self.unit, **q)

    def crumbs(self, **changes) -> list[dict]:
        """Breadcrumbs from the city to the unit shown, each a link keeping the period (and ``changes``)."""
        chain = U.lineage(self.unit, self.view.drill)
        items = [{"label": x.name, "href": self.url(x, **changes)} for x in chain]
        items[-1] = {"label": items[-1]["label"], "active": True}
        return items

    def breadcrumb(self, **changes) -> dbc.Breadcrumb:
        return dbc.Breadcrumb(items=self.crumbs(**changes), className="mb-1", id=f"{self.view.prefix}-breadcrumbs")

    @property
    def title(self) -> str:
        """The unit actually shown (a specialty with its organisation) and the period."""
        u = self.unit
        name = f"{U.unit('mo', u.mo_id).name} — {u.name}" if u.level == "spec" else u.name
        return f"{name} · {self.period.label}"

    def cards(self, **col) -> list:
        """KPI cards of every indicator of the view's registry group computed at the unit's level."""
        from .kpi import group_cards
        return group_cards(self.view.group, self.unit, self.period, self.scope, **col) if self.view.group else []

    def store(self, **extra):
        """The page-state store the period picker and the drill callback read."""
        return page_state(self.view.page, self.view.path, self.query, child=self.child, **extra)


def page(view: View, params: dict, render: Callable[[PageState], object], scope: Scope, span) -> object:
    """Parse the URL into a state and render it; a problem becomes a Russian alert with a link back."""
    try:
        state = view.parse(params, scope, span)
    except Problem as exc:
        return view.problem(exc, scope)
    try:
        return render(state)
    except Problem as exc:
        return view.problem(exc, scope)


def drill_table(spec: TableSpec, page_key: str, table_id: str, **kw):
    """A table whose name column leads to the child unit: the DataTable has a pattern-matching id,
    wrapped in a Div with ``table_id`` (for styling, tests and the export links)."""
    name_style = [{"if": {"column_id": "name"}, "color": "#0d6efd", "cursor": "pointer"}]
    kw["style_data_conditional"] = name_style + kw.get("style_data_conditional", [])
    return html.Div([
        html.Div([html.H5(spec.title, className="d-inline me-3"), export_links(spec, table_id)], className="mt-3 mb-2"),
        html.Div(spec.subtitle, className="small text-muted mb-1") if spec.subtitle else None,
        datatable(spec, {"type": "drill", "page": page_key, "table": table_id}, **kw) if spec.records
        else html.Div("Нет данных за период.", className="text-muted"),
    ], id=table_id)


def child_url(state: dict, row_id: int) -> str | None:
    """The URL of a child unit from a page's state store (see ``PageState.store``)."""
    view = VIEWS.get(state.get("page"))
    child = state.get("child")
    if view is None or child is None or row_id is None or row_id <= 0:
        return None
    q = dict(state["query"])
    for k in view.reset_on_drill:
        q.pop(k, None)
    q.update(level=child, id=row_id, mo=q.get("id") if child == "spec" else None)
    if child == "doctor" and state["query"].get("level") == "spec":
        q["mo"] = None
    return url(view.path, q)


def register_callbacks(dash_app) -> None:
    """The one drill callback of all pages (bound to this app)."""
    from .shell import NAV

    @dash_app.callback(Output(NAV, "href", allow_duplicate=True),
                       Input({"type": "drill", "page": ALL, "table": ALL}, "active_cell"),
                       State({"type": "page-state", "page": ALL}, "data"), prevent_initial_call=True)
    def drill(cells, states):
        if not states or not ctx.triggered_id:
            return no_update
        cell = next((c for c, i in zip(cells, ctx.inputs_list[0]) if i["id"] == ctx.triggered_id), None)
        state = {**states[0], "page": ctx.triggered_id.get("page")}
        target = child_url(state, drilled_row(cell, state))
        return target or no_update



def state_url(state: dict, **changes) -> str:
    """The URL of a page's state store with some parameters changed (a filter, a date)."""
    return url(state["path"], {**state["query"], **changes})
