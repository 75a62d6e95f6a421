"""Главная: key indicators against targets for the person's part of the city, and the units at a glance."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import kpi, urls
from components.guard import scoped
from components.period import picker
from components.scorecard import legend, scorecard
from components.view import View, overview_period, page
from data_access import units as U
from metrics import evaluate as E
from security import current_scope

dash.register_page(__name__, path="/", name="Главная", title="ИАМ — здравоохранение Санкт-Петербурга", order=0,
                   menu="Главная")


VIEW = View(page="home", path="/", drill=("region", "district", "mo"), prefix="home", default_period=overview_period)


def layout(period=None, level=None, id=None, **_):  # noqa: A002 (URL parameter name)
    """Without a unit: the person's own (the city, their district or organisation); a unit may be named
    (``level``, ``id``) to see another part of the scope at a glance."""
    return _layout({"period": period, "level": level, "id": id})


@scoped
def _layout(params):
    return page(VIEW, params, _render, current_scope(), E.data_span())


def _render(st):
    scope, per, home = st.scope, st.period, st.unit
    child = U.CHILD_LEVEL[home.level]
    uid = None if home.level == "region" else home.id
    cards, statuses = [], []
    for ind in E.registry().key:
        level = home.level if ind.valid_at(home.level) else None
        if level is None:
            continue
        v = E.unit_value(ind.code, level, uid, per, scope)
        spark = E.trend(ind.code, level, uid, per.last, 12, scope)
        drill = child if child and ind.valid_at(child) else level
        href = urls.indicator(ind.code, drill, None if home.level == "region" else home.id, per.key)
        cards.append(dbc.Col(kpi.card(ind, v, spark, href, per.label), xs=12, sm=6, lg=4, xl=3, className="mb-3"))
        statuses.append(v["status"])
    red = sum(1 for s in statuses if s == "bad")

    # Units at a glance: districts for the city, organisations (with attached population) for a district.
    glance_title, units_list, cells = "", [], {}
    keys = [i for i in E.registry().key if child and i.valid_at(child)]
    if child in ("district", "mo") and keys:
        parent = None if home.level == "region" else home.id
        for ind in keys:
            rows = E.children(E.Context(ind.code, child, per, parent, scope))
            for r in rows.itertuples():
                link = urls.indicator(ind.code, U.CHILD_LEVEL[child], r.unit_id, per.key) \
                    if U.CHILD_LEVEL[child] and ind.valid_at(U.CHILD_LEVEL[child]) else None
                cells[(r.unit_id, ind.code)] = (None if r.value != r.value else r.value, r.status, link)
        if child == "district":
            glance_title = "Районы одним взглядом"
            units_list = [(int(r.district_id), r.name, urls.indicator(keys[0].code, "mo", int(r.district_id), per.key))
                          for r in U.in_scope(scope, "district").itertuples()]
        else:
            glance_title = f"Организации района одним взглядом — {home.name}"
            orgs = U.in_scope(scope, "mo")
            orgs = orgs[(orgs["district_id"] == home.district_id) & orgs["kind"].isin(
                ["adult_polyclinic", "children_polyclinic", "womens_consultation"])]
            units_list = [(int(r.mo_id), r.short_name, urls.indicator(keys[0].code, "doctor", int(r.mo_id), per.key))
                          for r in orgs.itertuples()]
    glance = html.Div()
    if units_list:
        glance = html.Div([html.H4(glance_title, className="mt-4"),
                           html.P("Цвет ячейки — достижение цели; нажмите на значение, чтобы открыть уровень ниже.",
                                  className="text-muted small mb-2"),
                           scorecard(units_list, keys, cells, "glance"), legend()])
    return html.Div([
        st.store(),
        st.breadcrumb() if home != U.home(scope, VIEW.drill) else None,
        dbc.Row([
            dbc.Col([html.H3(f"Ключевые показатели — {home.name}", className="mb-0", id="home-title"),
                     html.Div(f"{per.label}; не достигают цели: {red} из {len(cards)}", className="text-muted",
                              id="home-subtitle")], lg=7),
            dbc.Col(picker("home", per, st.first, st.last), lg=5, className="align-self-end"),
        ], className="mb-3"),
        dbc.Row(cards, id="kpi-cards"),
        glance,
        html.P(["Все показатели и их методики — в ", dcc.Link("реестре показателей", href="/indicators"), "."],
               className="mt-4 small text-muted"),
    ])

