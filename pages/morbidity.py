"""Заболеваемость по МКБ-10: the ICD tree (class → block → code), crude and age-standardised rates with
confidence intervals against the city, trends against last year, the districts as a tile map — for
the city, a district and an organisation, filtered by sex and age."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import charts
from components.guard import scoped
from components.period import ids, picker
from components.scorecard import LIGHT
from components.shell import NAV
from components.tablespec import TableParamError, build, section
from components.view import PageState, Problem, View, drill_graph_id, drill_table, page, state_url, year_to_date
from core import fmt
from core.periods import month_add
from data_access import icd
from data_access import morbidity as MB
from data_access.reference import AGE_GROUPS
from metrics import evaluate as E
from metrics import morbidity as MM
from reports.common import months_of
from reports.morbidity import describe, filter_param
from security import current_scope

dash.register_page(__name__, path="/morbidity", name="Заболеваемость", title="Заболеваемость — ИАМ", order=55,
                   menu="Заболеваемость")

SEX, AGE = "morb-sex", "morb-age"
STATE = ids("morbidity")["state"]
VS_COLORS = {"higher": LIGHT["bad"], "lower": LIGHT["good"], "same": "#ffffff"}
PLACES, TREE, TILES = "morb-places-table", "morb-tree-table", "morb-tiles"

VIEW = View(page="morbidity", path="/morbidity", drill="morbidity", prefix="morb", group="morbidity", extra=("icd", "sex", "age"),
            default_period=year_to_date)


def layout(level=None, id=None, period=None, icd=None, sex=None, age=None, **_):  # noqa: A002
    return _layout({"level": level, "id": id, "period": period, "icd": icd, "sex": sex, "age": age})


@scoped
def _layout(params: dict):
    return page(VIEW, params, _render, current_scope(), E.data_span())


def _render(st: PageState):
    u, per, scope = st.unit, st.period, st.scope
    level, uid, last = u.level, u.key, st.last
    icd_node, age = st.extra["icd"], st.extra["age"]
    try:
        f = filter_param(st.extra)
    except TableParamError as exc:
        raise Problem(str(exc)) from exc
    params = {**st.params, "icd": icd_node, "sex": f.sex, "age": age}
    months = months_of(per.clip(last))
    if not months:
        raise Problem(f"За «{per.label}» данных нет.")
    places, city = MM.compare(level, uid, months, f, scope)
    icd_crumbs = [{"label": "Все классы", "href": st.url(icd=None)}]
    if f.icd_kind != "all":
        cls = str(icd.class_of(icd.code_range(f.icd_kind, f.icd_value)[0]))
        icd_crumbs.append({"label": f"{icd.ROMAN[int(cls)]}. {icd.name(cls)}",
                           "href": st.url(icd=cls)})
        if f.icd_kind in ("block", "code"):
            blk = f.icd_value if f.icd_kind == "block" else icd.block_of(f.icd_value)
            icd_crumbs.append({"label": f"{blk} {icd.name(blk)}", "href": st.url(icd=blk)})
        if f.icd_kind == "code":
            icd_crumbs.append({"label": f"{f.icd_value} {icd.name(f.icd_value)}", "href": None})
    icd_crumbs[-1] = {"label": icd_crumbs[-1]["label"], "active": True}

    unfiltered = f == MB.Filter()
    # the registry's morbidity indicators count every disease, sex and age: shown when nothing is filtered
    blocks = [dbc.Row(st.cards(md=6, xl=3)) if unfiltered else html.Div(), answer(level, uid, u, months, f, scope, city)]
    if level == "region":
        blocks.append(dbc.Row([
            dbc.Col([html.H5("Районы: стандартизованный показатель"),
                     html.Div(dcc.Graph(figure=tile_map(places, city), config={"displayModeBar": False},
                                        id=drill_graph_id("morbidity", "tiles")), id=TILES)], lg=5),
            dbc.Col([html.H5("С 95 % доверительными интервалами"),
                     dcc.Graph(figure=ci_chart(places, city), config={"displayModeBar": False}, id="morb-ci")], lg=7),
        ]))
    elif level == "district" and len(places):
        blocks.append(html.Div([html.H5("Организации района (прикреплённое население)"),
                                dcc.Graph(figure=ci_chart(places, city), config={"displayModeBar": False}, id="morb-ci")]))
    if st.child:
        blocks.append(drill_table(build("morb-places", params, scope), "morbidity", PLACES, row_id="place_id",
                                  style_data_conditional=[
                                  {"if": {"filter_query": '{vs_code} = "higher"', "column_id": "vs"},
                                   "backgroundColor": LIGHT["bad"]},
                                  {"if": {"filter_query": '{vs_code} = "lower"', "column_id": "vs"},
                                   "backgroundColor": LIGHT["good"]}]))
    if f.icd_kind != "code":
        blocks.append(section(build("morb-tree", params, scope), TREE, row_id="key",
                              style_data_conditional=[{"if": {"column_id": "name"}, "color": "#0d6efd", "cursor": "pointer"}]))
    blocks.append(html.H5("Помесячно: этот год и прошлый", className="mt-4"))
    blocks.append(dcc.Graph(figure=trend_chart(level, uid, per.clip(last).last, f, scope), config={"displayModeBar": False},
                            id="morb-trend"))
    blocks.append(dbc.Row([dbc.Col(section(build("morb-top", params, scope), "morb-top-table", page_size=10), lg=7),
                           dbc.Col(growth_block(params, scope), lg=5)]))
    blocks.append(dbc.Row([
        dbc.Col([html.H5("Половозрастная пирамида населения", className="mt-3"),
                 dcc.Graph(figure=pyramid(level, uid, months, f, scope), config={"displayModeBar": False},
                           id="morb-pyramid")], lg=5),
        dbc.Col(section(build("morb-age-sex", params, scope), "morb-age-table", page_size=18), lg=7)]))
    return html.Div([
        st.store(),
        st.breadcrumb(),
        dbc.Row([
            dbc.Col([html.H3("Заболеваемость по МКБ-10", className="mb-0"),
                     html.Div(f"{st.title} · {describe(f)}", className="text-muted", id="morb-subtitle")], lg=7),
            dbc.Col(picker("morbidity", per, st.first, last), lg=5, className="align-self-end"),
        ], className="mb-2"),
        dbc.Row([
            dbc.Col(dbc.Breadcrumb(items=icd_crumbs, id="morb-icd-crumbs", className="mb-0"), lg=6),
            dbc.Col(dbc.RadioItems(id=SEX, options=[{"label": "Оба пола", "value": ""}, {"label": "Мужчины", "value": "M"},
                                                    {"label": "Женщины", "value": "F"}], value=f.sex or "", inline=True), lg=3),
            # the slider moves over age groups; it shows ages (marks), never the group's index in an input box
            dbc.Col(dcc.RangeSlider(id=AGE, min=0, max=17, step=1, value=[f.age_lo, f.age_hi], allow_direct_input=False,
                                    marks={g: AGE_GROUPS[g].split("–")[0] for g in range(0, 18, 3)} | {17: "85+"}),
                    lg=3),
        ], className="mb-3 align-items-center"),
    ] + blocks)


def answer(level, uid, u, months, f, scope, city):
    """The unit itself against the city: crude and age-standardised rates with the verdict."""
    if level == "region":
        return dbc.Alert([html.B(f"Город: {fmt.number(city['crude'], 1)} на 100 тыс. в год"),
                          f" ({fmt.number(city['cases'])} случаев). Стандарт для сравнения районов — возрастная структура "
                          "населения города за тот же период."], color="light", id="morb-answer")
    r = MM.own_vs_city(level, uid, months, f, scope)
    if r is None:
        return dbc.Alert("Нет населения для расчёта показателей.", color="secondary", id="morb-answer")
    verdict, color = {
        "higher": ("выше, чем в городе, и с учётом возраста (различие значимо при 95 %)", "danger"),
        "lower": ("ниже, чем в городе, и с учётом возраста (различие значимо при 95 %)", "success"),
        "same": ("с учётом возраста не отличается от городской (95 % доверительный интервал включает её)", "secondary"),
    }[r["vs_city"]]
    same_ages = abs(r["city_same_ages"] - city["asr"]) > 1e-6 * max(city["asr"], 1)
    return dbc.Alert([html.B(f"{u.name}: {verdict}."), html.Br(),
                      f"Грубый показатель {fmt.number(r['crude'], 1)}, стандартизованный по возрасту "
                      f"{fmt.number(r['asr'], 1)} (95 % ДИ {fmt.number(r['asr_lo'], 1)}–{fmt.number(r['asr_hi'], 1)}) "
                      "на 100 тыс. в год; город "
                      + ("в тех же возрастах (у организации есть не все возрастные группы) — " if same_ages else "— ")
                      + f"{fmt.number(r['city_same_ages'], 1)}."], color=color, id="morb-answer")


def tile_map(places, city) -> dict:
    rows = [{"name": r["name"], "id": int(r["place"]), "value": float(r["asr"]),
             "hover": f"{r['name']}: {fmt.number(r['asr'], 1)} на 100 тыс. в год ({MB_VS[r['vs_city']]})"}
            for r in places.to_dict("records")]
    return charts.district_tiles(rows, "случаев на<br>100 тыс. в год")


MB_VS = {"higher": "выше города", "lower": "ниже города", "same": "не отличается"}


def ci_chart(places, city) -> dict:
    if places.empty:
        return charts.empty("Нет данных")
    d = places.sort_values("asr")
    colors = ["#dc3545" if v == "higher" else ("#198754" if v == "lower" else "#6c757d") for v in d["vs_city"]]
    return {"data": [{"type": "scatter", "mode": "markers", "y": list(d["name"]), "x": [float(v) for v in d["asr"]],
                      "customdata": [int(x) for x in d["place"]],
                      "error_x": {"type": "data", "symmetric": False, "array": list(d["asr_hi"] - d["asr"]),
                                  "arrayminus": list(d["asr"] - d["asr_lo"]), "color": "#adb5bd"},
                      "marker": {"color": colors, "size": 9}, "hovertemplate": "%{y}: %{x:,.1f}<extra></extra>"}],
            "layout": charts._layout(height=max(300, 20 * len(d) + 80), xaxis={"title": {"text": "на 100 тыс. в год"}},
                                     shapes=[charts._vline(float(city["asr"]))[0]],
                                     annotations=charts._vline(float(city["asr"]), "город")[1], clickmode="event")}


def trend_chart(level, uid, last, f, scope) -> dict:
    have = set(E.data_months())
    cur = tuple(m for m in (month_add(last, -k) for k in range(11, -1, -1)) if m in have)
    prev = tuple(m for m in (month_add(last, -k) for k in range(23, 11, -1)) if m in have)
    a = MM.monthly(level, uid, cur, f, scope)
    b = MM.monthly(level, uid, prev, f, scope) if prev else None
    if a.empty:
        return charts.empty("Нет данных")
    x = [fmt.MONTHS_SHORT[m.month - 1] for m in a["month"]]
    data = [{"type": "scatter", "mode": "lines+markers", "name": f"{a['month'].iloc[0].year}–{a['month'].iloc[-1].year}",
             "x": x, "y": [float(v) for v in a["rate"]], "line": {"color": "#0d6efd"},
             "hovertemplate": "%{x}: %{y:,.0f} на 100 тыс. в год<extra></extra>"}]
    if b is not None and len(b):
        bx = {m.month: r for m, r in zip(b["month"], b["rate"])}
        data.append({"type": "scatter", "mode": "lines", "name": "годом раньше", "x": x,
                     "y": [float(bx[m.month]) if m.month in bx else None for m in a["month"]],
                     "line": {"color": "#adb5bd", "dash": "dot"}})
    return {"data": data, "layout": charts._layout(height=300, yaxis={"title": {"text": "на 100 тыс. в год"}},
                                                   legend={"orientation": "h", "y": -0.2})}


def growth_block(params, scope):
    try:
        return section(build("morb-growth", params, scope), "morb-growth-table", page_size=10)
    except TableParamError as exc:
        return html.Div(str(exc), className="text-muted mt-3")


def pyramid(level, uid, months, f, scope) -> dict:
    df = MM.age_sex(level, uid, months, MB.Filter(sex=None, age_lo=0, age_hi=17), scope)
    if df.empty:
        return charts.empty("Нет данных")
    men = df[df["sex"] == "M"].set_index("age_group")["population"]
    women = df[df["sex"] == "F"].set_index("age_group")["population"]
    ages = [AGE_GROUPS[g] for g in range(18)]
    return {"data": [{"type": "bar", "orientation": "h", "name": "Мужчины", "y": ages,
                      "x": [-float(men.get(g, 0)) for g in range(18)], "marker": {"color": "#0d6efd"},
                      "customdata": [float(men.get(g, 0)) for g in range(18)],
                      "hovertemplate": "%{y}: %{customdata:,.0f}<extra>мужчины</extra>"},
                     {"type": "bar", "orientation": "h", "name": "Женщины", "y": ages,
                      "x": [float(women.get(g, 0)) for g in range(18)], "marker": {"color": "#d63384"},
                      "hovertemplate": "%{y}: %{x:,.0f}<extra>женщины</extra>"}],
            "layout": charts._layout(height=440, barmode="relative", bargap=0.1, legend={"orientation": "h", "y": -0.12},
                                     xaxis={"title": {"text": "человек"},
                                            **charts.symmetric_ticks(max(men.max(), women.max(), 1))})}


_url = state_url


@callback(Output(NAV, "href", allow_duplicate=True), Input(SEX, "value"), Input(AGE, "value"), State(STATE, "data"),
          prevent_initial_call=True)
def change_filters(sex, age, state):
    if not state:
        return no_update
    age_text = None if not age or list(age) == [0, 17] else f"{age[0]}-{age[1]}"
    if (sex or None) == state["query"]["sex"] and age_text == state["query"]["age"]:
        return no_update
    return _url(state, sex=sex or None, age=age_text)


@callback(Output(NAV, "href", allow_duplicate=True), Input(TREE, "active_cell"), State(STATE, "data"),
          prevent_initial_call=True)
def drill_icd(cell, state):
    if not cell or not state or cell.get("column_id") not in ("name", "node") or not cell.get("row_id"):
        return no_update
    return _url(state, icd=str(cell["row_id"]))
