"""The page frame: top navigation and the page container."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

NAV = [("/", "Главная"), ("/data", "Данные")]


def navbar() -> dbc.Navbar:
    links = [dbc.NavItem(dbc.NavLink(label, href=href, active="exact")) for href, label in NAV]
    return dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand([html.I(className="bi bi-heart-pulse me-2"), "ИАМ"], href="/"),
            dbc.Nav(links, navbar=True, className="me-auto"),
        ], fluid=True),
        color="primary", dark=True, className="mb-3",
    )


def shell():
    return html.Div([
        navbar(),
        dbc.Container(dash.page_container, fluid=True, className="pb-5"),
    ])
