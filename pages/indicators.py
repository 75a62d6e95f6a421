"""Реестр показателей: every indicator with its method, target, direction, weight and levels."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from core import fmt
from metrics import evaluate as E
from metrics.model import LEVEL_NAMES

dash.register_page(__name__, path="/indicators", name="Показатели", title="Реестр показателей — ИАМ", order=10,
                   menu="Показатели")


def layout(**_):
    reg = E.registry()
    sections = []
    for group, inds in reg.by_group().items():
        rows = [html.Tr([
            html.Td([dcc.Link(i.name, href=f"/indicator/{i.code}"), html.Div(i.method, className="small text-muted")]),
            html.Td(i.unit, className="text-nowrap"),
            html.Td(f"{'≥' if i.higher_is_better else '≤'} {fmt.number(i.target, i.decimals)}", className="text-nowrap"),
            html.Td(fmt.number(i.weight, 1)),
            html.Td(", ".join(LEVEL_NAMES[lv] for lv in i.levels), className="small"),
        ]) for i in inds]
        sections.append(html.Div([
            html.H4(reg.groups[group], className="mt-4"),
            dbc.Table([html.Thead(html.Tr([html.Th("Показатель и методика"), html.Th("Ед."), html.Th("Цель"),
                                           html.Th("Вес"), html.Th("Уровни")])), html.Tbody(rows)],
                      bordered=False, hover=True, size="sm"),
        ]))
    n, g = len(reg.indicators), len(reg.groups)
    return html.Div([html.H3("Реестр показателей"),
                     html.P(f"{n} {fmt.plural(n, 'показатель', 'показателя', 'показателей')} в {g} "
                            f"{fmt.plural(g, 'направлении', 'направлениях', 'направлениях')}. Каждый объявлен один раз "
                            "в реестре; страницы, API, рейтинги и выгрузки читают его оттуда.",
                            className="text-muted", id="registry-count")] + sections)
