"""Главная: the city at a glance."""
from __future__ import annotations

import dash
from dash import html

dash.register_page(__name__, path="/", name="Главная", title="ИАМ — здравоохранение Санкт-Петербурга", order=0)


def layout(**_kwargs):
    return html.Div([html.H2("Мониторинг ключевых показателей")])
