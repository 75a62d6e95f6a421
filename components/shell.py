"""The page frame: top navigation (by role), the user menu, the navigation Location, the page container."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

NAV = "nav-location"  # the one Location callbacks write to for drill-down navigation (refresh="callback-nav")


def page_allowed(page: dict, user) -> bool:
    roles = page.get("roles")
    return user is not None and (not roles or user.role in roles)


def navbar(user) -> dbc.Navbar:
    from security.roles import ROLE_NAMES
    from security.web import csrf_token
    pages = sorted((p for p in dash.page_registry.values() if p.get("menu") and page_allowed(p, user)),
                   key=lambda p: p.get("order", 50))
    main = [dbc.NavItem(dbc.NavLink(p["menu"], href=p["path"], active="partial" if p["path"] != "/" else "exact"))
            for p in pages if p.get("order", 50) < 80]
    admin = [dbc.DropdownMenuItem(p["menu"], href=p["path"]) for p in pages if p.get("order", 50) >= 80]
    right = []
    if user is not None:
        items = admin + ([dbc.DropdownMenuItem(divider=True)] if admin else []) + [
            html.Form([dcc.Input(type="hidden", name="csrf_token", value=csrf_token(), id="logout-csrf"),
                       html.Button("Выйти", type="submit", className="dropdown-item", id="logout-button")],
                      method="POST", action="/logout")]
        right.append(dbc.DropdownMenu(items, label=f"{user.full_name} · {ROLE_NAMES[user.role]}", nav=True,
                                      align_end=True, id="user-menu"))
    return dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand([html.I(className="bi bi-heart-pulse me-2"), "ИАМ"], href="/"),
            dbc.Nav(main, navbar=True, className="me-auto"),
            dbc.Nav(right, navbar=True),
        ], fluid=True),
        color="primary", dark=True, className="mb-3",
    )


def shell():
    from security import current_user
    user = current_user()
    return html.Div([
        dcc.Location(id=NAV, refresh="callback-nav"),
        navbar(user),
        dbc.Container(dash.page_container, fluid=True, className="pb-5"),
    ])
