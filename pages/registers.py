"""Регистры и качество помощи: nosology registers (dispensary observation, order 168н), quality criteria of
care (order 203н) with the cases behind every figure, and volumes of care against the plan —
city → district → organisation → doctor."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import charts
from components.guard import scoped
from components.kpi import group_cards
from components.period import ids, picker
from components.scorecard import LIGHT
from components.shell import NAV
from components.tablespec import TableParamError, build, section
from components.view import PageState, Problem, View, drill_graph_id, drill_table, page, state_url, year_to_date
from core import registers as R
from metrics import evaluate as E
from metrics import registers as RM
from metrics.scoring import status
from reports import registers as RR
from security import current_scope

dash.register_page(__name__, path="/registers", name="Регистры и качество помощи",
                   title="Регистры и качество помощи — ИАМ", order=52, menu="Регистры")

TABS = {"registers": "Регистры", "quality": "Качество помощи", "volumes": "Объёмы"}
TAB_GROUP = {"registers": "registers", "quality": "quality", "volumes": "volumes"}
STATE = ids("registers")["state"]
TAB_ID, REGISTER = "reg-tab", "reg-register"
SUMMARY, UNITS, PATIENTS = "reg-summary-table", "reg-units-table", "reg-patients-table"
CRITERIA, Q_UNITS, C_UNITS, CASES = ("quality-criteria-table", "quality-units-table", "quality-criterion-units-table",
                                     "quality-cases-table")
V_UNITS, V_MONTHS = "vol-units-table", "vol-months-table"


VIEW = View(page="registers", path="/registers", drill="registers", prefix="reg",
            extra=("tab", "register", "criterion"), default_period=year_to_date)


def layout(level=None, id=None, period=None, tab=None, register=None, criterion=None, **_):  # noqa: A002
    return _layout({"level": level, "id": id, "period": period, "tab": tab, "register": register,
                    "criterion": criterion})


@scoped
def _layout(params: dict):
    return page(VIEW, params, _render, current_scope(), E.data_span())


def _tab(st: PageState) -> str:
    tab = st.extra.get("tab") or "registers"
    if tab not in TABS:
        raise Problem(f"Раздела «{tab}» нет: выберите один из разделов — {', '.join(TABS.values())}")
    return tab


def _build(name: str, params: dict, st: PageState):
    try:
        return build(name, params, st.scope)
    except TableParamError as exc:
        raise Problem(str(exc)) from exc


def _table(st: PageState, name: str, tid: str, params: dict | None = None, **kw):
    """A builder's table: drillable (keeping the tab, register and criterion) when its rows are the unit's children."""
    spec = _build(name, params or st.params, st)
    if spec.records and "child_id" in spec.records[0] and st.child and spec.records[0]["child_id"] != (st.unit.key or 0):
        return drill_table(spec, "registers", tid, row_id="child_id", **kw)
    return section(spec, tid, **kw)


def _off_target(col: str, code: str, register: str | None = None, few: str | None = None) -> list[dict]:
    """Colour a column's cells that miss the registry target of an indicator (the same judgement as the cards);
    with ``register``, only in that register's row."""
    t = RR.indicator_target(code)
    if t is None:
        return []
    target, up = t
    query = f"{{{col}}} is num && {{{col}}} {'<' if up else '>'} {target}"
    if few:  # a value on too few observations is not judged: the row's hidden flag (or its «Примечание») says so
        query += f' && {{{few}}} = ""'
    if register:
        query += f' && {{register}} = "{register}"'
    return [{"if": {"filter_query": query, "column_id": col}, "backgroundColor": LIGHT["bad"]}]


def _note(text, ident: str, color: str = "secondary") -> dbc.Alert:
    return dbc.Alert(text, color=color, className="mt-3", id=ident)


NO_PATIENTS = ("Поимённые списки доступны руководителям районов и медицинских организаций: у вашей роли нет доступа "
               "к персональным данным пациентов — таблицы выше показывают те же случаи числом.")


# ---------------------------------------------------------------- registers
def _register(st: PageState) -> R.Register:
    try:
        return RR.register_param(st.extra)
    except TableParamError as exc:
        raise Problem(str(exc)) from exc


def _units_chart(spec, reg: R.Register) -> dict:
    """The children's lead figure of the register (control target reached, else coverage) against the target."""
    import pandas as pd
    col = "controlled" if reg.control else "coverage"
    code = RR.CONTROL_INDICATORS.get(reg.code) if reg.control else "reg_disp_coverage"
    t = RR.indicator_target(code) if code else None
    rows = pd.DataFrame([{"unit_id": r["child_id"], "unit_name": r["name"], "value": r[col],
                          "few": bool(r.get(f"few_{col}"))} for r in spec.records if r[col] is not None],
                        columns=["unit_id", "unit_name", "value", "few"])
    rows["status"] = [status(v, t[0], t[1], f) if t else "none" for v, f in zip(rows["value"], rows["few"])]
    rows = rows.sort_values("value", ascending=False)
    what = f"«{reg.control.label}», % проверенных" if reg.control else "охват наблюдением, %"
    return charts.bars(rows, "%", 1, t[0] if t else None, f"{reg.name}: {what}")


def _registers(st: PageState) -> list:
    reg = _register(st)
    params = {**st.params, "register": reg.code}
    blocks = [
        dbc.Row([dbc.Col(html.Span("Регистр:"), width="auto"),
                 dbc.Col(dcc.Dropdown(id=REGISTER, options=[{"label": f"{r.name} ({r.icd_text})", "value": r.code}
                                                             for r in R.REGISTERS],
                                      value=reg.code, clearable=False, style={"minWidth": "420px"}), width="auto")],
                className="g-2 align-items-center mb-2"),
    ]
    # the units table: a unit on too few observations is shown, not judged
    control = _off_target("coverage", "reg_disp_coverage", few="few_coverage") + \
        _off_target("visits", "reg_visits_met", few="few_visits") + _off_target("hosp_rate", "reg_hospitalisation")
    if reg.code in RR.CONTROL_INDICATORS:
        control += _off_target("controlled", RR.CONTROL_INDICATORS[reg.code], few="few_controlled")
    if reg.code in RR.TESTED_INDICATORS:
        control += _off_target("tested", RR.TESTED_INDICATORS[reg.code], few="few_tested")
    if st.child:
        units = _build("reg-units", params, st)
        blocks += [
            dcc.Graph(figure=_units_chart(units, reg), config={"displayModeBar": False},
                      id=drill_graph_id("registers", "reg-bars")) if units.records else None,
            _table(st, "reg-units", UNITS, params, style_data_conditional=control),
        ]
    elif st.scope.patients:
        blocks.append(section(_build("reg-patients", params, st), PATIENTS, page_size=25,
                              style_data_conditional=[
                                  {"if": {"filter_query": "{controlled_code} = 0", "column_id": "controlled"},
                                   "backgroundColor": LIGHT["bad"]},
                                  {"if": {"filter_query": "{visits_ok} = 0", "column_id": "visits_met"},
                                   "backgroundColor": LIGHT["warn"]}]))
    else:
        blocks.append(_note(NO_PATIENTS, "reg-no-patients"))
    summary = _build("reg-summary", st.params, st)
    blocks.append(section(summary, SUMMARY, row_id="register", style_data_conditional=[
        {"if": {"filter_query": f'{{register}} = "{reg.code}"'}, "backgroundColor": "#e7f1ff"},
        {"if": {"column_id": "name"}, "color": "#0d6efd", "cursor": "pointer"},
        {"if": {"filter_query": '{register} = "all"'}, "fontWeight": 600, "color": "#212529"},
        *_off_target("coverage", "reg_disp_coverage"), *_off_target("visits", "reg_visits_met"),
        *[s for r, code in RR.CONTROL_INDICATORS.items() for s in _off_target("controlled", code, r)],
        *[s for r, code in RR.TESTED_INDICATORS.items() for s in _off_target("tested", code, r)]]))
    return blocks


# ---------------------------------------------------------------- quality of care
def _criterion(st: PageState) -> R.Criterion | None:
    try:
        return RR.criterion_param(st.extra)
    except TableParamError as exc:
        raise Problem(str(exc)) from exc


def _cases(st: PageState, c: R.Criterion) -> list:
    """The failed cases of the criterion for the unit (roles with patient access, from a district down)."""
    if not st.scope.patients:
        return [_note(NO_PATIENTS, "quality-no-patients")]
    if st.unit.level not in RR.CASE_LEVELS:
        return [_note("Случаи по критерию показываются для района, организации или врача: выберите строку в таблице "
                      "выше.", "quality-cases-level", "info")]
    spec = _build("quality-cases", {**st.params, "criterion": c.code}, st)
    if not spec.records:
        return [_note(f"За {st.period.label} невыполненных случаев по критерию нет.", "quality-cases-empty", "success")]
    return [section(spec, CASES, page_size=25, style_data_conditional=[
        {"if": {"filter_query": '{result_code} = "not_done"', "column_id": "result"},
         "backgroundColor": LIGHT["bad"]},
        {"if": {"filter_query": '{result_code} = "reason"', "column_id": "result"}, "backgroundColor": LIGHT["warn"]}])]


def _quality(st: PageState) -> list:
    c = _criterion(st)
    blocks = []
    if c is not None:
        blocks.append(dbc.Alert([
            html.Div([html.B("Критерий: "), c.name, f" — {c.disease} (МКБ-10 {c.icd_text}), {c.window_text}."]),
            dcc.Link("← все критерии", href=st.url(criterion=None), id="quality-all-criteria"),
        ], color="light", className="border mt-1", id="quality-criterion"))
        if st.child:
            blocks.append(_table(st, "quality-criterion-units", C_UNITS, {**st.params, "criterion": c.code},
                                 style_data_conditional=_off_target("score", "quality_score", few="note")))
        blocks += _cases(st, c)
    criteria = _build("quality-criteria", st.params, st)
    styles = [{"if": {"filter_query": f'{{disease_key}} = "{key}" && {{score}} is num && {{score}} < {t[0]}',
                      "column_id": "score"}, "backgroundColor": LIGHT["bad"]}
              for disease, key in RR.DISEASE_KEYS.items()
              if (t := RR.indicator_target(RR.DISEASE_INDICATORS[disease])) is not None]
    styles += [{"if": {"column_id": c_id}, "color": "#0d6efd", "cursor": "pointer"} for c_id in ("name", "failed")]
    if c is not None:
        styles.append({"if": {"filter_query": f'{{criterion}} = "{c.code}"'}, "backgroundColor": "#e7f1ff"})
    blocks += [html.Div("Нажмите на критерий или на число невыполненных случаев, чтобы открыть случаи за этой цифрой.",
                        className="small text-muted mt-3"),
               section(criteria, CRITERIA, page_size=25, row_id="criterion", style_data_conditional=styles)]
    if st.child and c is None:
        unit_styles = _off_target("score", "quality_score", few="note")
        for disease, key in RR.DISEASE_KEYS.items():
            unit_styles += _off_target(key, RR.DISEASE_INDICATORS[disease], few="note")
        blocks.append(_table(st, "quality-units", Q_UNITS, style_data_conditional=unit_styles))
    return blocks


# ---------------------------------------------------------------- volumes
def _volumes(st: PageState) -> list:
    from data_access import units as U
    if st.unit.level not in RM.levels_with("mart_volume"):
        mo = U.unit("mo", st.unit.mo_id)
        return [dbc.Alert([RR.VOLUME_LEVEL_PROBLEM, ": ", dcc.Link(mo.name, href=st.url(mo))], color="info",
                          id="vol-level-note")]
    styles = []
    for k, code in RR.VOLUME_INDICATORS.items():
        styles += _off_target(f"{k}_pct", code)
    return [_table(st, "vol-units", V_UNITS, style_data_conditional=styles),
            section(_build("vol-months", st.params, st), V_MONTHS, page_size=12)]


RENDER = {"registers": _registers, "quality": _quality, "volumes": _volumes}
HINT = {"registers": "Нажмите на название, чтобы перейти на уровень ниже; на строку регистра — чтобы выбрать его.",
        "quality": "Нажмите на название, чтобы перейти на уровень ниже.", "volumes": "Нажмите на название, чтобы "
        "перейти на уровень ниже."}


def _render(st: PageState):
    tab = _tab(st)
    cards = group_cards(TAB_GROUP[tab], st.unit, st.period, st.scope, md=4, xl=3)
    content = RENDER[tab](st)
    return html.Div([
        st.store(tab=tab),
        st.breadcrumb(),
        dbc.Row([
            dbc.Col([html.H3("Регистры и качество помощи", className="mb-0"),
                     html.Div(st.title, className="text-muted", id="reg-subtitle")], lg=7),
            dbc.Col(picker("registers", st.period, st.first, st.last), lg=5, className="align-self-end"),
        ], className="mb-2"),
        dbc.Tabs([dbc.Tab(label=name, tab_id=code) for code, name in TABS.items()], id=TAB_ID, active_tab=tab,
                 className="mb-3"),
        html.P("Диспансерное наблюдение — приказ № 168н; критерии качества — приказ № 203н; объёмы — "
               "территориальная программа государственных гарантий.", className="small text-muted"),
        dbc.Row(cards),
        html.Div(HINT[tab] if st.child else "", className="small text-muted"),
        html.Div(content, id=f"reg-{tab}"),
    ])


@callback(Output(NAV, "href", allow_duplicate=True), Input(TAB_ID, "active_tab"), State(STATE, "data"),
          prevent_initial_call=True)
def change_tab(tab, state):
    if not state or not tab or tab == state.get("tab"):
        return no_update
    return state_url(state, tab=tab, criterion=None)


@callback(Output(NAV, "href", allow_duplicate=True), Input(REGISTER, "value"), State(STATE, "data"),
          prevent_initial_call=True)
def change_register(register, state):
    if not state or not register or register == (state["query"].get("register") or RR.DEFAULT_REGISTER):
        return no_update
    return state_url(state, register=register)


@callback(Output(NAV, "href", allow_duplicate=True), Input(SUMMARY, "active_cell"), State(STATE, "data"),
          prevent_initial_call=True)
def pick_register(cell, state):
    """A click on a register's row of the summary selects that register."""
    code = (cell or {}).get("row_id")
    if not state or code not in R.REGISTER_BY_CODE or code == (state["query"].get("register") or RR.DEFAULT_REGISTER):
        return no_update
    return state_url(state, register=code)


@callback(Output(NAV, "href", allow_duplicate=True), Input(CRITERIA, "active_cell"), State(STATE, "data"),
          prevent_initial_call=True)
def open_cases(cell, state):
    """A click on a criterion (its name or any of its figures) opens the cases behind it for the unit."""
    code = (cell or {}).get("row_id")
    if not state or code not in R.CRITERION_BY_CODE or code == state["query"].get("criterion"):
        return no_update
    return state_url(state, criterion=code)
