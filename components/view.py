"""One view model for the drill-down pages: URL parameters → a typed state or a Russian problem.

A page declares a ``View`` (its path, the drill path of units it walks, the extra URL parameters it
keeps) and builds its layout from the ``PageState`` that ``View.parse`` returns. The state knows
the unit actually shown (by default the person's own unit: the city, their district or their
organisation), the period, the breadcrumbs and every URL of the page, so that no page parses
levels, checks scope or builds links by itself.

Ranking pages (an indicator, the rating) show the units of one level under a parent
(``level=mo&parent=<district>``, or every organisation of the city without a parent); they declare a
``ListView`` and render its ``ListState``: the same parsing, scope check, own-unit default,
breadcrumbs and drill.

One pattern-matching callback (``register_callbacks``) turns a click on a unit's name in any page's
table, or on a unit's bar or tile in any page's chart, into the child's URL.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from core import fmt
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


def year_to_date(first: dt.date, last: dt.date) -> Period:
    """From January to the last month with data: for figures that accumulate over the year."""
    return Period("ytd", dt.date(last.year, 1, 1), last)


def overview_period(first: dt.date, last: dt.date) -> Period:
    """The one default period of the overview pages (home, rating, a unit's card): the latest quarter,
    so that the committee sees the same numbers on each of them."""
    from core.periods import period_of_kind
    return period_of_kind("quarter", last)


def _period(params: dict, span: tuple[dt.date, dt.date] | None, default) -> tuple[Period, dt.date, dt.date]:
    """The period named by the URL (or the page's default) and the data span; Problem when not shown."""
    if span is None:
        raise Problem("Витрины ещё не построены.", color="info", link=False)
    first, last = span
    try:
        return (parse_period(params["period"]) if params.get("period") else default(first, last)), first, last
    except PeriodError as exc:
        raise Problem(str(exc)) from exc


def _require_data(per: Period, first: dt.date, last: dt.date) -> None:
    if per.first > last or per.last < first:
        raise Problem(f"За период «{per.label}» данных нет: данные есть с {fmt.month_name(first)} "
                      f"по {fmt.month_name(last)}.")


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
        per, first, last = _period(params, span, self.default_period)
        level = params.get("level")
        try:
            unit = (U.node(level, params.get("id"), params.get("mo"), self.drill) if level
                    else U.home(scope, self.drill))
        except U.UnitError as exc:
            raise Problem(str(exc)) from exc
        U.require(scope, unit)
        _require_data(per, first, last)
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


def default_list(scope: Scope, levels: tuple[str, ...]) -> tuple[str, int | None]:
    """Where a ranking page opens without a level: the children of the person's own unit (the doctors of an
    MO head's organisation, the organisations of a district manager's district, the city's districts)."""
    home = U.home(scope)
    if home.level == "mo" and "doctor" in levels:
        return "doctor", home.id
    if home.level in ("district", "mo") and "mo" in levels:
        return "mo", home.district_id
    return ("district", None) if "district" in levels else (levels[0], None)


@dataclass(frozen=True)
class ListView:
    """A ranking page's URL contract: the units of ``level`` under the unit ``parent`` (none: the whole city).

    Attributes:
        page: the page's key (its state store, problem alert and drill callback use it).
        path: the page's URL path (a page with a path parameter passes its own path to ``parse``).
        prefix: the prefix of the page's element ids (``<prefix>-problem``).
        levels: the levels the page lists (a page may narrow them per request, e.g. by an indicator's levels).
        extra: further URL parameters the page keeps.
        reset_on_drill: extra parameters dropped when going to a child level.
        default_period: the period shown when the URL names none.
        default: where the page opens without a level (the children of the person's own unit).
        drill_column: the table column whose click leads to the child level.
    """
    page: str
    path: str
    prefix: str
    levels: tuple[str, ...] = ("district", "mo", "doctor")
    extra: tuple[str, ...] = ()
    reset_on_drill: tuple[str, ...] = ()
    default_period: Callable[[dt.date, dt.date], Period] = latest_month
    default: Callable[[Scope, tuple[str, ...]], tuple[str, int | None]] = default_list
    drill_column: str = "unit_name"

    def __post_init__(self):
        VIEWS[self.page] = self

    def url(self, level: str, parent: int | None = None, period: str | None = None, path: str | None = None,
            **extra) -> str:
        return url(path or self.path, {"level": level, "parent": parent, "period": period, **extra})

    def parse(self, params: dict, scope: Scope, span: tuple[dt.date, dt.date] | None, *,
              levels: tuple[str, ...] | None = None, path: str | None = None) -> "ListState":
        """The state named by URL parameters, or Problem; ScopeError for a parent outside the scope.

        Args:
            params: the URL parameters (``level``, ``parent``, ``period`` and the view's extras).
            levels: the levels allowed for this request (default: the view's).
            path: the page's path when it has a path parameter (``/indicator/<code>``).
        """
        levels, path = levels or self.levels, path or self.path
        per, first, last = _period(params, span, self.default_period)
        level, parent = params.get("level") or None, params.get("parent")
        if level is None:
            level, own = self.default(scope, levels)
            parent = parent if parent not in (None, "") else own
        if level not in U.PARENT_LEVEL:
            raise Problem(f"Уровень «{level}» неизвестен.")
        if level not in levels:
            raise Problem(f"Уровень «{U.LEVELS[level].name}» здесь не показывается: допустимые уровни — "
                          f"{', '.join(U.LEVELS[lv].name for lv in levels)}.")
        if parent in (None, "") or level == "region":
            unit = U.CITY
        else:
            try:
                pid = int(parent)
            except (TypeError, ValueError):
                raise Problem(f"Код единицы «{parent}» должен быть числом.") from None
            parent_level = U.PARENT_LEVEL[level]
            unit = U.unit(parent_level, pid) if parent_level != "region" else U.CITY
            if unit is None:
                raise Problem(f"Единица {pid} уровня «{U.LEVELS[parent_level].name}» не найдена.")
        U.require(scope, unit)
        _require_data(per, first, last)
        extra = {k: (params.get(k) or None) for k in self.extra}
        return ListState(self, level, unit, per, first, last, levels, path, extra, scope)

    def problem(self, exc: Problem, scope: Scope, path: str | None = None,
                levels: tuple[str, ...] | None = None) -> dbc.Alert:
        """The Russian message with a link to the person's default view of the page."""
        body = [exc.message]
        if exc.link:
            level, parent = self.default(scope, levels or self.levels)
            body += [" ", dcc.Link("Открыть вид по умолчанию", href=self.url(level, parent, path=path))]
        return dbc.Alert(body, color=exc.color, id=f"{self.prefix}-problem")


@dataclass
class ListState:
    """What a ranking page shows: the units of ``level`` under ``parent`` for a period; with URLs and breadcrumbs."""
    view: ListView
    level: str
    parent: U.Unit
    period: Period
    first: dt.date
    last: dt.date
    levels: tuple[str, ...]
    path: str
    extra: dict = field(default_factory=dict)
    scope: Scope | None = None

    @property
    def parent_id(self) -> int | None:
        return None if self.parent.level == "region" else self.parent.id

    @property
    def child(self) -> str | None:
        """The level a click on a listed unit leads to (None at the finest level allowed)."""
        c = U.CHILD_LEVEL.get(self.level)
        return c if c in self.levels else None

    @property
    def whole_city(self) -> bool:
        """A list of organisations or doctors of the whole city (no parent): they need a district column."""
        return self.parent.level == "region" and self.level != "district"

    @property
    def query(self) -> dict:
        return {"level": self.level, "parent": self.parent_id, "period": self.period.key, **self.extra}

    def url(self, level: str | None = None, parent: int | None | str = "same", **changes) -> str:
        """This page's URL at another level/parent and/or with other parameters."""
        q = {"period": self.period.key, **self.extra, **changes}
        return self.view.url(level or self.level, self.parent_id if parent == "same" else parent, path=self.path, **q)

    def crumbs(self) -> list[tuple[str, str | None]]:
        """(name, href) from the city to the parent shown; each leads to the list of that unit's children."""
        out = []
        for u in U.lineage(self.parent):
            below = U.CHILD_LEVEL[u.level]
            out.append((u.name, self.url(below, None if u.level == "region" else u.id) if below in self.levels
                        else None))
        if out:
            out[-1] = (out[-1][0], None)
        return out

    def store(self, **extra):
        """The page-state store the period picker and the drill callback read."""
        return page_state(self.view.page, self.path, self.query, child=self.child, **extra)


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
    """The URL of a child unit from a page's state store (see ``PageState.store`` and ``ListState.store``)."""
    view = VIEWS.get(state.get("page"))
    child = state.get("child")
    if view is None or child is None or row_id is None or row_id <= 0:
        return None
    q = dict(state["query"])
    for k in view.reset_on_drill:
        q.pop(k, None)
    if isinstance(view, ListView):
        q.update(level=child, parent=row_id)
        return url(state["path"], q)
    q.update(level=child, id=row_id, mo=q.get("id") if child == "spec" else None)
    if child == "doctor" and state["query"].get("level") == "spec":
        q["mo"] = None
    return url(view.path, q)


def drill_graph_id(page_key: str, graph: str) -> dict:
    """The id of a chart whose points lead to the child unit (each point's ``customdata`` is the unit's id)."""
    return {"type": "drill-graph", "page": page_key, "graph": graph}


def clicked_unit(click: dict | None) -> int | None:
    """The unit id of a click on a drillable chart's point, or None."""
    point = ((click or {}).get("points") or [{}])[0]
    unit_id = point.get("customdata")
    if isinstance(unit_id, list):
        unit_id = unit_id[0] if unit_id else None
    try:
        return int(unit_id) if unit_id is not None else None
    except (TypeError, ValueError):
        return None


def register_callbacks(dash_app) -> None:
    """The drill callbacks of all pages (bound to this app): a table cell and a chart point."""
    from .shell import NAV

    def bind(kind: str, key: str, prop: str, row_of: Callable[[dict | None, dict], int | None]) -> None:
        @dash_app.callback(Output(NAV, "href", allow_duplicate=True),
                           Input({"type": kind, "page": ALL, key: ALL}, prop),
                           State({"type": "page-state", "page": ALL}, "data"), prevent_initial_call=True)
        def drill(values, states):
            if not states or not states[0] or not ctx.triggered_id:
                return no_update
            view = VIEWS.get(ctx.triggered_id.get("page"))
            state = {**states[0], "page": ctx.triggered_id.get("page"),
                     "drill_column": view.drill_column if isinstance(view, ListView) else "name"}
            value = next((v for v, i in zip(values, ctx.inputs_list[0]) if i["id"] == ctx.triggered_id), None)
            return child_url(state, row_of(value, state)) or no_update

    bind("drill", "table", "active_cell", drilled_row)                        # a unit's name in a table
    bind("drill-graph", "graph", "clickData", lambda click, _: clicked_unit(click))  # a bar, point or tile


def state_url(state: dict, **changes) -> str:
    """The URL of a page's state store with some parameters changed (a filter, a date)."""
    return url(state["path"], {**state["query"], **changes})
