"""The page frame: top navigation (by role), the user menu, the navigation Location, the page container."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

NAV = "nav-location"  # the one Location callbacks write to for drill-down navigation (refresh="callback-nav")
READY = "page-ready"  # rendered with every page: ``data-url`` names the address whose content is on screen
LOADING_DELAY_MS = 250  # a quick answer does not flash a spinner
TOGGLER, COLLAPSE = "nav-toggler", "nav-collapse"
NAV_EXPAND = "xxl"  # the full menu from 1400 px; narrower screens get the toggler


def loading(children, target: dict | None = None, dim: bool = True, **kwargs):
    """A loading state: after a short delay a spinner over the content, which stays visible but dimmed.

    The page container also dims at once by CSS (assets/02_loading.css), before the spinner shows.

    Args:
        children: what is replaced when the data arrives.
        target: ``{component_id: property}`` whose callbacks count (default: any output inside).
        dim: dim the content under the spinner; False where CSS dims it already (the page container),
            so that the two do not multiply.
    """
    overlay = {"visibility": "visible"}
    if dim:
        overlay.update(opacity=0.45, filter="grayscale(60%)")
    return dcc.Loading(children, delay_show=LOADING_DELAY_MS, type="circle", color="var(--bs-primary)",
                       overlay_style=overlay, target_components=target, **kwargs)


def _rendered_url() -> str:
    """The address the router callback is rendering (what the browser's location bar shows)."""
    from dash.exceptions import MissingCallbackContextException
    try:
        inputs = dash.ctx.inputs
    except MissingCallbackContextException:  # a layout built outside a request (tests, exports)
        return ""
    return (inputs.get("_pages_location.pathname") or "") + (inputs.get("_pages_location.search") or "")


def with_ready_marker(layout):
    """Wrap a page's layout so that its output ends with the readiness marker for its URL.

    Browser tests and the browser benchmark wait on ``#page-ready[data-url=<current URL>]``: it
    appears only when the router callback has returned the page for exactly that address.
    """
    def wrapped(**kwargs):
        content = layout(**kwargs) if callable(layout) else layout
        return html.Div([content, html.Div(id=READY, hidden=True, **{"data-url": _rendered_url()})])
    wrapped.__wrapped__ = layout
    return wrapped


def instrument_pages() -> None:
    """Give every registered page the readiness marker (called once, after Dash has read ``pages/``)."""
    for page in dash.page_registry.values():
        if not getattr(page["layout"], "__wrapped__", None):
            page["layout"] = with_ready_marker(page["layout"])


def page_allowed(page: dict, user) -> bool:
    roles = page.get("roles")
    return user is not None and (not roles or user.role in roles)


def task_counter(user):
    """Badges «open · overdue» beside «Задачи» for people who control or carry tasks (not analysts)."""
    from flask import current_app

    from data_access import tasks as T
    from security import current_scope
    from security.roles import ROLES
    if user is None or not (ROLES[user.role].create_tasks or user.role == "mo"):
        return None
    n_open, n_overdue = T.open_counts(current_app.extensions["iam"]["db"], current_scope())
    badges = [dbc.Badge(n_open, color="light", text_color="primary", pill=True, className="ms-1",
                        title="открытые задачи", id="nav-tasks-open")]
    if n_overdue:
        badges.append(dbc.Badge(n_overdue, color="danger", pill=True, className="ms-1", title="просроченные",
                                id="nav-tasks-overdue"))
    return badges


def _menu_label(page: dict, user):
    if page["path"] == "/tasks" and (badges := task_counter(user)):
        return [page["menu"], *badges]
    return page["menu"]


def _menu_href(page: dict, user) -> str:
    """Where a menu entry leads: the effective contract opens on the heads of organisations for roles that do not
    see the staff's scores (the committee, district heads)."""
    from security.roles import ROLES
    if page["path"] == "/contract" and user is not None and not ROLES[user.role].contract_staff:
        return "/contract/heads"
    return page["path"]


def navbar(user) -> dbc.Navbar:
    from security.roles import ROLE_NAMES
    from security.web import csrf_token
    pages = sorted((p for p in dash.page_registry.values() if p.get("menu") and page_allowed(p, user)),
                   key=lambda p: p.get("order", 50))
    main = [dbc.NavItem(dbc.NavLink(_menu_label(p, user), href=_menu_href(p, user),
                                    active="partial" if p["path"] != "/" else "exact", id=f"nav-{p['module']}"))
            for p in pages if p.get("order", 50) < 80]
    admin = [dbc.DropdownMenuItem(p["menu"], href=p["path"]) for p in pages if p.get("order", 50) >= 80]
    right = []
    if user is not None:
        # the role inside the menu, not on it: the toggle carries only the name, so the bar fits at 1400 px
        items = [dbc.DropdownMenuItem(ROLE_NAMES[user.role], header=True, id="user-role"),
                 dbc.DropdownMenuItem(divider=True)]
        items += admin + ([dbc.DropdownMenuItem(divider=True)] if admin else []) + [
            html.Form([dcc.Input(type="hidden", name="csrf_token", value=csrf_token(), id="logout-csrf"),
                       html.Button("Выйти", type="submit", className="dropdown-item", id="logout-button")],
                      method="POST", action="/logout")]
        right.append(dbc.DropdownMenu(items, label=user.full_name, nav=True, align_end=True, id="user-menu",
                                      toggle_class_name="text-truncate", toggle_style={"maxWidth": "16rem"}))
    # Below NAV_EXPAND the menu folds behind a toggler, so that the user menu with «Выйти» is never cut off
    # and no page scrolls sideways on a 1280 or 1024 px screen.
    return dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand([html.I(className="bi bi-heart-pulse me-2"), "ИАМ"], href="/"),
            dbc.NavbarToggler(id=TOGGLER),
            dbc.Collapse([dbc.Nav(main, navbar=True, className="me-auto"), dbc.Nav(right, navbar=True)],
                         id=COLLAPSE, is_open=False, navbar=True),
        ], fluid=True),
        color="primary", dark=True, className="mb-3", expand=NAV_EXPAND,
    )


def bind_frame_callbacks(dash_app) -> None:
    """The frame's own callbacks, on each app instance (a module-level callback would reach only the first app
    of a process: this module is imported once, unlike the pages, which Dash executes for every app)."""
    # the toggler opens and closes the folded menu in the browser (no round trip; the function: assets/03_nav.js)
    dash_app.clientside_callback(dash.ClientsideFunction(namespace="iam", function_name="toggle"),
                                 dash.Output(COLLAPSE, "is_open"), dash.Input(TOGGLER, "n_clicks"),
                                 dash.State(COLLAPSE, "is_open"), prevent_initial_call=True)


def shell():
    from security import current_user
    user = current_user()
    return html.Div([
        dcc.Location(id=NAV, refresh="callback-nav"),
        navbar(user),
        # the page's content dims under a spinner while the router renders the next address or period
        dbc.Container(loading(dash.page_container, target={"_pages_content": "children"}, dim=False,
                              id="page-loading", parent_className="page-loading"), fluid=True, className="pb-5"),
    ])
