"""Интегральный рейтинг: districts city-wide, organisations of one kind in a district or city-wide."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from flask import current_app

from components.badges import task_badges
from components.breadcrumbs import breadcrumbs
from components.guard import scoped
from components.period import ids, picker
from components.scorecard import LIGHT
from components.shell import NAV
from components.view import ListView, Problem, overview_period
from core import fmt
from data_access import tasks as T
from data_access import units as U
from data_access.reference import MO_KINDS
from metrics import evaluate as E
from metrics.scoring import STATUS_COLORS
from metrics.scoring import status as integral_status
from security import current_scope
from services import rating as R

dash.register_page(__name__, path="/rating", name="Рейтинг", title="Интегральный рейтинг — ИАМ", order=20, menu="Рейтинг")

MOKIND = "rating-mo-kind"
STATE = ids("rating")["state"]


def unit_url(level: str, unit_id: int, period: str, kind: str | None = None) -> str:
    q = {"level": level, "id": unit_id, "period": period}
    if kind and level == "mo":
        q["kind"] = kind
    return "/unit?" + urlencode(q)


def method_card(cfg):
    return dbc.Card(dbc.CardBody([
        html.H6("Как считается рейтинг"),
        html.Ol([
            html.Li("Для каждого показателя с весом считается балл от 0 до 100 — насколько достигнута цель: значение "
                    "делится на цель (для показателей «чем меньше, тем лучше» — цель на значение), больше 100 не бывает."),
            html.Li("Балл направления и интегральный балл — средние баллов показателей, взвешенные по весам из реестра. "
                    "Показатель без данных не учитывается, веса остальных пересчитываются."),
            html.Li("Организации сравниваются только с организациями своего типа; показатель входит в рейтинг, если "
                    "данные по нему есть хотя бы у половины сравниваемых."),
            html.Li(f"Цель интегрального балла — {fmt.number(cfg.integral_target, 0)}. Места — по интегральному баллу, "
                    "округлённому до десятых; при равенстве место общее (1, 2, 2, 4), порядок — по названию."),
            html.Li(f"Если полнота передачи СЭМД ниже {fmt.number(cfg.completeness_min, 0)} %, оценка качества "
                    f"данных ниже {fmt.number(cfg.dq_min, 0)} из 100 или данных нет по показателям с долей веса "
                    f"больше {fmt.number(100 - cfg.min_weight_share * 100, 0)} %, единица отмечается и места не "
                    "получает: её числам нельзя доверять."),
            html.Li(["Оценка качества данных (0–100) — полнота и своевременность отчётности, доля значений без "
                     "выбросов против сезонной базы единицы и доля выполненных правил согласованности; "
                     "подробности и причины — на странице ", dcc.Link("«Качество данных»", href="/data-quality"),
                     "."]),
            html.Li("«Почему это место» показывает, сколько баллов теряет единица на каждом показателе: "
                    "доля веса × (100 − балл)."),
        ], className="small mb-0"),
    ]), className="mb-3", id="rating-method")


def _rating_default(scope, levels) -> tuple[str, int | None]:
    """The rating opens on the person's own unit: the committee on the districts; a district manager on the
    organisations of his district; an MO head on those of his district (of his kind: see ``_layout``)."""
    own = U.home(scope)
    return ("mo", own.district_id) if own.level in ("district", "mo") else ("district", None)


VIEW = ListView(page="rating", path="/rating", prefix="rating", levels=("district", "mo"), extra=("kind",),
                default_period=overview_period, default=_rating_default)


def layout(level=None, period=None, parent=None, kind=None, **_):
    return _layout({"level": level, "period": period, "parent": parent, "kind": kind})


@scoped
def _layout(params):
    scope = current_scope()
    own = U.home(scope)
    if not params["level"] and own.level == "mo":
        params["kind"] = params["kind"] or own.kind  # an MO head: among the organisations of his kind
    if params["level"] == "mo" and params["parent"] in (None, "") and scope.districts is not None \
            and len(scope.districts) == 1:
        params["parent"] = next(iter(scope.districts))  # one district in scope: its organisations
    if params["kind"] not in MO_KINDS:
        params["kind"] = R.MO_KIND_DEFAULT
    try:
        st = VIEW.parse(params, scope, E.data_span())
        level, per, parent_id, kind = st.level, st.period, st.parent_id, st.extra["kind"]
        if level == "district":
            st.extra["kind"] = None  # the districts' rating has no kind of organisation
        r = R.compute(level, per, parent_id, scope, kind)
    except Problem as exc:
        return VIEW.problem(exc, scope)
    except E.NotFound as exc:
        return VIEW.problem(Problem(str(exc)), scope)
    reg = E.registry()
    cfg = reg.rating
    groups = [g for g in reg.groups if f"group_{g}" in r.units.columns]
    db = current_app.extensions["iam"]["db"]
    tasks = T.search(db, scope)
    head = [html.Th("Место"), html.Th("±", title="изменение места к предыдущему периоду"),
            html.Th("Район" if level == "district" else "Организация")]
    if level == "mo" and parent_id is None:
        head.append(html.Th("Район"))
    head += [html.Th("Качество данных", className="small", title="оценка качества данных, из 100: насколько можно "
                     "доверять числам единицы")]
    head += [html.Th("Интегральный балл")] + [html.Th(reg.groups[g], className="small") for g in groups] + [
        html.Th("Полнота СЭМД, %", className="small"), html.Th("Задачи"), html.Th("")]
    body = []
    for u in r.units.to_dict("records"):
        uid = int(u["unit_id"])
        place = "—" if u["place"] != u["place"] else str(int(u["place"]))
        dp = u["delta_place"]
        delta = "" if dp != dp or dp == 0 else (f"▲{int(dp)}" if dp > 0 else f"▼{int(-dp)}")
        name_href = st.url("mo", uid, kind=kind) if level == "district" else unit_url("mo", uid, per.key, kind)
        cells = [html.Td(place, className="fw-semibold"),
                 html.Td(delta, className="text-success small" if dp == dp and dp > 0 else "text-danger small"),
                 html.Td([dcc.Link(u["unit_name"], href=name_href),
                          html.Div(R.FLAG_TEXT[u["flag"]], className="small text-danger") if u["flag"] else None])]
        if level == "mo" and parent_id is None:
            cells.append(html.Td(u.get("district_name", ""), className="small"))
        cells.append(_dq_cell(u, level, per, cfg))
        light = u["status"]
        cells.append(html.Td(html.Span(fmt.number(u["integral"], 1), className="fw-semibold"),
                             style={"backgroundColor": LIGHT[light], "borderLeft": f"3px solid {STATUS_COLORS[light]}"}))
        for g in groups:
            v = u.get(f"group_{g}")
            gs = "none" if v != v or v is None else (
                "good" if v >= cfg.integral_target else ("warn" if v >= cfg.integral_target * 0.95 else "bad"))
            cells.append(html.Td(fmt.number(v, 1), className="small text-center", style={"backgroundColor": LIGHT[gs]}))
        cells.append(html.Td(fmt.number(u["completeness"], 1), className="small text-end"))
        unit_tasks = tasks[(tasks["level"] == level) & (tasks["unit_id"] == uid)]
        cells.append(html.Td(task_badges(unit_tasks)))
        cells.append(html.Td(dcc.Link("Почему это место?", href=unit_url(level, uid, per.key, kind),
                                      className="small text-nowrap")))
        body.append(html.Tr(cells, className="text-muted" if u["flag"] else None))
    own_ids = set(int(x) for x in r.units["unit_id"])
    if level == "district" and not scope.is_city and r.league is not None:
        # the other districts: their place and integral score only (the committee's decision), the own row in full
        body = _league_rows(r.league, own_ids, body, cfg, len(head))
    if not body:
        table = dbc.Alert("Нет единиц для рейтинга в вашей области доступа.", color="info")
    else:
        table = html.Div(html.Table([html.Thead(html.Tr(head)), html.Tbody(body)],
                                    className="table table-sm table-hover align-middle", id="rating-table"),
                         className="table-responsive")
    ranked = int(r.units["ranked_count"].iloc[0]) if len(r.units) else 0
    if level == "district":
        title = "Интегральный рейтинг районов"
    else:
        title = f"Рейтинг: {MO_KINDS[kind].lower()} — {'весь город' if st.whole_city else st.parent.name}"
    return html.Div([
        st.store(),
        breadcrumbs(st.crumbs()) if level != "district" else None,
        dbc.Row([
            dbc.Col([html.H3(title, id="rating-title", className="mb-0"),
                     html.Div(_subtitle(per, r, ranked, scope, level), className="text-muted",
                              id="rating-subtitle")], lg=6),
            dbc.Col(dcc.Dropdown(id=MOKIND, options=[{"label": v, "value": k} for k, v in MO_KINDS.items()],
                                 value=kind, clearable=False, style={} if level == "mo" else {"display": "none"}),
                    lg=2, className="align-self-end"),
            dbc.Col(picker("rating", per, st.first, st.last), lg=4, className="align-self-end"),
        ], className="mb-3"),
        table,
        # the method below the table, folded: the table is above the fold
        html.Details([html.Summary("Как считается рейтинг", className="small text-primary mt-2"), method_card(cfg)],
                     id="rating-method-details"),
    ])


def dq_url(level: str, unit_id: int, period: str) -> str:
    """The unit's page «Качество данных» for the rating's period."""
    return "/data-quality?" + urlencode({"level": level, "id": unit_id, "period": period})


def _dq_cell(u: dict, level: str, per, cfg):
    """The unit's data-quality score beside its place: red under the rating's threshold, the reasons on hover, a
    link to the unit's data-quality page."""
    v = u.get("dq_score")
    if v is None or v != v:
        return html.Td("—", className="small text-muted text-center")
    light = "bad" if v < cfg.dq_min else ("warn" if v < 80 else "good")
    reasons = u.get("dq_reasons") or "ничто не снижает оценку"
    return html.Td(dcc.Link(fmt.number(v, 0), href=dq_url(level, int(u["unit_id"]), per.key),
                            title=f"Качество данных {fmt.number(v, 0)} из 100: {reasons}",
                            className="text-reset"),
                   className="small text-center", style={"backgroundColor": LIGHT[light]},
                   id={"type": "rating-dq", "unit": int(u["unit_id"])})


def _subtitle(per, r, ranked: int, scope, level: str) -> str:
    if scope.is_city:
        return f"{per.label}; в рейтинге {ranked} из {len(r.units)}"
    if level == "district" and r.league is not None:
        mine = r.units.iloc[0] if len(r.units) == 1 else None
        total = int(r.league["place"].notna().sum())
        if mine is not None and mine["place"] == mine["place"]:
            return f"{per.label}; место района — {int(mine['place'])} из {total}; у других районов показаны место и " \
                   f"интегральный балл"
        return f"{per.label}; район не ранжирован (см. отметку); в рейтинге {total} районов"
    return f"{per.label}; в рейтинге {ranked} (показаны единицы вашей области доступа)"


def _league_rows(league, own_ids: set, own_rows: list, cfg, width: int) -> list:
    """Rows of every district in place order: the own district's full row, the others' place and integral score."""
    own = iter(own_rows)
    rows = []
    for u in league.to_dict("records"):
        if int(u["unit_id"]) in own_ids:
            row = next(own)
            rows.append(html.Tr(row.children, className="table-primary", id="rating-own-row"))
            continue
        place = "—" if u["place"] != u["place"] else str(int(u["place"]))
        light = integral_status(u["integral"], cfg.integral_target, True)
        rows.append(html.Tr([html.Td(place), html.Td(""), html.Td(u["unit_name"], className="text-muted"),
                             html.Td(""),  # another district's data-quality score is not shown
                             html.Td(fmt.number(u["integral"], 1), style={"backgroundColor": LIGHT[light]}),
                             html.Td("", colSpan=width - 5)], className="small"))
    return rows


@callback(Output(NAV, "href", allow_duplicate=True), Input(MOKIND, "value"), State(STATE, "data"),
          prevent_initial_call=True)
def change_mo_kind(kind, state):
    q = (state or {}).get("query", {})
    if not kind or q.get("level") != "mo" or kind == q.get("kind"):
        return no_update
    return VIEW.url("mo", q.get("parent"), q["period"], kind=kind)
