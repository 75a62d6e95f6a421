"""The page shown for an address that does not exist: in Russian, with a way back (Dash pages' 404 module)."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

dash.register_page(__name__, path="/404", name="Страница не найдена", title="Страница не найдена — ИАМ")


def layout(**_):
    return dbc.Alert([
        html.H4("Страница не найдена", className="alert-heading"),
        html.P("По этому адресу в ИАМ ничего нет: возможно, ссылка устарела или в ней опечатка."),
        html.Div([dbc.Button("На главную", href="/", color="primary", className="me-2", id="not-found-home"),
                  dbc.Button("Показатели", href="/indicators", color="secondary", outline=True)]),
    ], color="warning", className="mt-4", id="not-found")
