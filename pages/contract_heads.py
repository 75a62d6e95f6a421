"""Эффективный контракт — руководители: the heads of organisations for a quarter with the points of each criterion
of the head scheme (what drives their scores), the drill to a head's sheet, the exports.

The committee and its HR see the whole city (a district may be chosen); a district head sees his district's heads.
URL: ``/contract/heads?period=<YYYY-Qn>[&district=<district>]``.
"""
from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import contract as CC
from components.guard import scoped
from components.period import ids, page_state, url
from components.shell import NAV
from components.tablespec import TableParamError, build, section
from data_access import units as U
from security import current_scope

dash.register_page(__name__, path="/contract/heads", name="Эффективный контракт: руководители",
                   title="Эффективный контракт: руководители — ИАМ")

PAGE = "contract-heads"
STATE, PERIOD = ids(PAGE)["state"], ids(PAGE)["value"]
DISTRICT, TABLE = "contract-heads-district", "contract-heads-table"


def layout(period=None, district=None, **_):
    return _layout({"period": period, "district": district})


@scoped
def _layout(params: dict):
    a, refused = CC.admitted("heads")
    if refused:
        return refused
    scope = current_scope()
    try:
        district = CC.district_param(params, scope)
        p = CC.period_param(params, "quarter")
        spec = build("contract-heads", {"period": p.key, "district": district.id if district else None}, scope)
    except (TableParamError, U.UnitError) as exc:
        return html.Div([CC.tabs(a, "heads"), CC.problem(str(exc), "/contract/heads")])
    query = {"period": p.key, "district": district.id if district else None}
    districts = U.in_scope(scope, "district")
    right = dbc.Row([
        dbc.Col(dcc.Dropdown(id=DISTRICT, options=[{"label": r.name, "value": int(r.district_id)}
                                                   for r in districts.itertuples()],
                             value=district.id if district else None, placeholder="Все районы",
                             style={"minWidth": "200px"}), width="auto") if len(districts) > 1 else None,
        dbc.Col(dcc.Dropdown(id=PERIOD, options=CC.period_options("quarter"), value=p.key, clearable=False,
                             searchable=False, style={"minWidth": "180px"}), width="auto"),
    ], className="g-2 align-items-center justify-content-lg-end")
    tot = CC.totals(spec.records)
    payroll = {"period": p.key, "district": district.id if district else None}
    figures = CC.totals_row(
        tot, "Руководителей",
        "/export/table/contract-payroll-heads.xlsx?" + urlencode({k: v for k, v in payroll.items() if v is not None}),
        "contract-heads-payroll", "XLSX: строка на руководителя — табельный номер, ФИО, должность, организация, "
        "период, баллы, доля премии")
    crit_cols = [c["id"] for c in spec.columns if c["id"].startswith("c_")]
    styles = [{"if": {"column_id": "full_name"}, "color": "#0d6efd", "cursor": "pointer"},
              {"if": {"filter_query": '{disputed} = "не согласен"', "column_id": "disputed"},
               "backgroundColor": "#f8d7da", "fontWeight": 600},
              {"if": {"filter_query": '{status_code} = "no_scheme"'}, "color": "#6c757d", "fontStyle": "italic"}]
    styles += [{"if": {"filter_query": f"{{{c}}} < 0", "column_id": c}, "backgroundColor": "#f8d7da"} for c in crit_cols]
    where = district.name if district else U.home(scope, ("region", "district")).name
    for r in spec.records:
        r["row"] = f"{r['mo_id']}:{r['personnel_no']}"
    return html.Div([
        page_state(PAGE, "/contract/heads", query),
        CC.tabs(a, "heads"),
        CC.title_row(f"Эффективный контракт: руководители организаций — {where}", p.label, right, "contract-heads"),
        figures,
        html.Div("Столбцы критериев — баллы руководителя по каждому критерию схемы (отрицательные выделены). "
                 "Нажмите на ФИО, чтобы открыть расчёт.", className="small text-muted"),
        section(spec, TABLE, page_size=25, row_id="row", style_data_conditional=styles),
    ])


@callback(Output(NAV, "href", allow_duplicate=True), Input(DISTRICT, "value"), State(STATE, "data"),
          prevent_initial_call=True)
def choose_district(district, state):
    if not state or str(district or "") == str(state["query"].get("district") or ""):
        return no_update
    return url("/contract/heads", {"district": district, "period": state["query"].get("period")})


@callback(Output(NAV, "href", allow_duplicate=True), Input(TABLE, "active_cell"), State(STATE, "data"),
          prevent_initial_call=True)
def open_sheet(cell, state):
    """A click on a head's name opens the sheet of his score for the quarter."""
    cell = cell or {}
    row = str(cell.get("row_id") or "")
    if not state or cell.get("column_id") != "full_name" or ":" not in row:
        return no_update
    mo, person = row.split(":", 1)
    if not mo.isdigit() or not person:
        return no_update
    return "/contract/sheet?" + urlencode({"mo": int(mo), "person": person, "period": state["query"]["period"]})
