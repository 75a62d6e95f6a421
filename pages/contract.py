"""Эффективный контракт — сотрудники: the staff of one organisation for a month, each person's points and bonus
share, with the drill to the person's sheet, the export of the table and the export for the payroll.

An organisation's HR department and head open on their own organisation; the committee's HR chooses a district
and an organisation. URL: ``/contract?mo=<organisation>&period=<YYYY-MM>[&district=<district>]``.
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
from security.roles import ROLES

MENU_ROLES = [r.code for r in ROLES.values() if r.contract_staff or r.contract_heads]
dash.register_page(__name__, path="/contract", name="Эффективный контракт", title="Эффективный контракт — ИАМ",
                   order=58, menu="Контракт", roles=MENU_ROLES)

PAGE = "contract"
STATE, PERIOD = ids(PAGE)["state"], ids(PAGE)["value"]
DISTRICT, MO, TABLE = "contract-district", "contract-mo", "contract-staff-table"


def layout(mo=None, period=None, district=None, **_):
    return _layout({"mo": mo, "period": period, "district": district})


def sheet_url(mo_id: int, person: str, period: str) -> str:
    return "/contract/sheet?" + urlencode({"mo": mo_id, "person": person, "period": period})


@scoped
def _layout(params: dict):
    a, refused = CC.admitted("staff")
    if refused:
        return refused
    scope = current_scope()
    try:
        district = CC.district_param(params, scope)
        mo = CC.mo_param(params, scope) if params.get("mo") not in (None, "") else CC.own_mo(scope)
        p = CC.period_param(params, "month")
    except (TableParamError, U.UnitError) as exc:
        return html.Div([CC.tabs(a, "staff"), CC.problem(str(exc), "/contract")])
    if mo is not None and district is not None and mo.district_id != district.id:
        district = None  # the organisation decides: its own district is shown
    district = district or (U.unit("district", mo.district_id) if mo is not None else None)
    query = {"mo": mo.id if mo else None, "period": p.key, "district": None if mo else (district.id if district else None)}
    choose = _chooser(scope, district, mo)
    right = dbc.Row([dbc.Col(html.Span("Месяц", className="text-muted small"), width="auto"),
                     dbc.Col(dcc.Dropdown(id=PERIOD, options=CC.period_options("month"), value=p.key, clearable=False,
                                          searchable=False, style={"minWidth": "200px"}), width="auto")],
                    className="g-2 align-items-center justify-content-lg-end")
    # the store keeps the choice shown (the district of a chosen organisation too): a dropdown that only
    # reports its current value on appearing is not a new choice
    shown = {"district_id": district.id if district else None, "mo_id": mo.id if mo else None}
    head = [page_state(PAGE, "/contract", query, **shown), CC.tabs(a, "staff")]
    if mo is None:
        return html.Div(head + [
            CC.title_row("Эффективный контракт: сотрудники", p.label, right), choose,
            dbc.Alert("Выберите район и организацию, чтобы увидеть оценки её сотрудников.", color="info",
                      id="contract-choose")])
    try:
        spec = build("contract-staff", {"mo": mo.id, "period": p.key}, scope)
    except TableParamError as exc:
        return html.Div(head + [CC.problem(str(exc), url("/contract", {"mo": mo.id}))])
    tot = CC.totals(spec.records)
    figures = CC.totals_row(
        tot, "Сотрудников", f"/export/table/contract-payroll.xlsx?{urlencode({'mo': mo.id, 'period': p.key})}",
        "contract-payroll", "XLSX: табельный номер, ФИО, должность, организация, период, баллы, доля премии — строка на "
        "сотрудника")
    styles = [{"if": {"column_id": "full_name"}, "color": "#0d6efd", "cursor": "pointer"},
              {"if": {"filter_query": '{disputed} = "не согласен"', "column_id": "disputed"},
               "backgroundColor": "#f8d7da", "fontWeight": 600},
              {"if": {"filter_query": '{status_code} = "no_scheme"'}, "color": "#6c757d", "fontStyle": "italic"}]
    return html.Div(head + [
        CC.title_row(f"Эффективный контракт: сотрудники — {mo.name}", p.label, right),
        choose,
        figures,
        html.Div("Нажмите на ФИО, чтобы открыть расчёт: критерии, значения, правила и баллы.",
                 className="small text-muted"),
        section(spec, TABLE, page_size=25, row_id="personnel_no", style_data_conditional=styles),
    ])


def _chooser(scope, district: U.Unit | None, mo: U.Unit | None):
    """District → organisation, for people whose scope is wider than one organisation."""
    if CC.own_mo(scope) is not None:
        return None
    districts = U.in_scope(scope, "district")
    orgs = U.in_scope(scope, "mo")
    if district is not None:
        orgs = orgs[orgs["district_id"] == district.id]
    return dbc.Row([
        dbc.Col(dcc.Dropdown(id=DISTRICT, options=[{"label": r.name, "value": int(r.district_id)}
                                                   for r in districts.itertuples()],
                             value=district.id if district else None, placeholder="Район", clearable=False), md=3),
        dbc.Col(dcc.Dropdown(id=MO, options=[{"label": r.short_name, "value": int(r.mo_id)} for r in orgs.itertuples()],
                             value=mo.id if mo else None, placeholder="Организация", clearable=False), md=5),
    ], className="g-2 mb-3")


@callback(Output(NAV, "href", allow_duplicate=True), Input(DISTRICT, "value"), State(STATE, "data"),
          prevent_initial_call=True)
def choose_district(district, state):
    if not state or district in (None, "") or str(district) == str(state.get("district_id")):
        return no_update
    return url("/contract", {"district": district, "period": state["query"].get("period")})


@callback(Output(NAV, "href", allow_duplicate=True), Input(MO, "value"), State(STATE, "data"),
          prevent_initial_call=True)
def choose_mo(mo, state):
    if not state or mo in (None, "") or str(mo) == str(state.get("mo_id")):
        return no_update
    return url("/contract", {"mo": mo, "period": state["query"].get("period")})


@callback(Output(NAV, "href", allow_duplicate=True), Input(TABLE, "active_cell"), State(STATE, "data"),
          prevent_initial_call=True)
def open_sheet(cell, state):
    """A click on a person's name opens the sheet of his score."""
    cell = cell or {}
    person = cell.get("row_id")
    if not state or cell.get("column_id") != "full_name" or person in (None, "") or not state["query"].get("mo"):
        return no_update
    return sheet_url(state["query"]["mo"], str(person), state["query"]["period"])
