"""Задачи на контроле: the list with filters (district, organisation, indicator, status, overdue)."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dash_table, dcc, html
from flask import current_app

from components.guard import scoped
from components.shell import NAV
from core.periods import words as period_words
from data_access import tasks as T
from data_access import units as U
from metrics import evaluate as E
from security import current_scope

dash.register_page(__name__, path="/tasks", name="Задачи", title="Задачи на контроле — ИАМ", order=30, menu="Задачи")

F = {k: f"tasks-{k}" for k in ("district", "mo", "code", "status", "overdue", "table")}


def layout(district=None, mo=None, code=None, status=None, overdue=None, **_):
    return _layout(district, mo, code, status, overdue)


def _int(x):
    try:
        return int(x) if x not in (None, "") else None
    except ValueError:
        return None


@scoped
def _layout(district, mo, code, status, overdue):
    scope = current_scope()
    d_opts = [{"label": r.name, "value": int(r.district_id)} for r in U.in_scope(scope, "district").itertuples()]
    m_opts = [{"label": f"{r.short_name} ({r.district_name})", "value": int(r.mo_id)}
              for r in U.in_scope(scope, "mo").itertuples() if r.kind != "private"]
    reg = E.registry()
    df = T.search(current_app.extensions["iam"]["db"], scope, district_id=_int(district), mo_id=_int(mo),
                  code=code if code in reg else None, status=status if status in T.STATUSES else None,
                  overdue=True if overdue == "1" else None)
    names = dict(zip(U.districts()["district_id"], U.districts()["name"]))
    org_names = U.names("mo")
    data = [{"id": int(t["task_id"]), "task": f"[{t['title']}](/task/{int(t['task_id'])})",
             "district": names.get(t["district_id"], ""), "mo": org_names.get(t["mo_id"], "") if t["mo_id"] == t["mo_id"] else "",
             "status": T.STATUSES[t["status"]], "due": f"{t['due_date']:%d.%m.%Y}",
             "overdue": "да" if t["overdue"] else "", "assignee": t["assignee"], "period": period_words(t["period"])}
            for t in df.to_dict("records")]
    # statuses as coloured badges: the cell takes the badge's colour
    status_style = [{"if": {"filter_query": f'{{status}} = "{T.STATUSES[k]}"', "column_id": "status"},
                     "backgroundColor": f"var(--bs-{c}-bg-subtle)", "color": f"var(--bs-{c}-text-emphasis)",
                     "fontWeight": 600} for k, c in T.STATUS_COLORS.items()]
    return html.Div([
        html.H3("Задачи на контроле"),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id=F["district"], options=d_opts, value=_int(district), placeholder="Район"), md=2),
            dbc.Col(dcc.Dropdown(id=F["mo"], options=m_opts, value=_int(mo), placeholder="Организация"), md=3),
            dbc.Col(dcc.Dropdown(id=F["code"], options=[{"label": i.short, "value": i.code} for i in reg],
                                 value=code if code in reg else None, placeholder="Показатель"), md=3),
            dbc.Col(dcc.Dropdown(id=F["status"], options=[{"label": v, "value": k} for k, v in T.STATUSES.items()],
                                 value=status if status in T.STATUSES else None, placeholder="Статус"), md=2),
            dbc.Col(dbc.Checklist(id=F["overdue"], options=[{"label": "только просроченные", "value": "1"}],
                                  value=["1"] if overdue == "1" else [], switch=True), md=2),
        ], className="g-2 mb-3"),
        dash_table.DataTable(
            id=F["table"], data=data, page_size=25, sort_action="native",
            columns=[{"name": "Задача", "id": "task", "presentation": "markdown"}, {"name": "Район", "id": "district"},
                     {"name": "Ответственная МО", "id": "mo"}, {"name": "Статус", "id": "status"},
                     {"name": "Срок", "id": "due"}, {"name": "Просрочена", "id": "overdue"},
                     {"name": "Исполнитель", "id": "assignee"}, {"name": "Период", "id": "period"}],
            style_cell={"fontFamily": "system-ui, sans-serif", "fontSize": 13, "textAlign": "left"},
            markdown_options={"link_target": "_self"},  # a task opens in the same tab
            style_data_conditional=[{"if": {"filter_query": '{overdue} = "да"', "column_id": "overdue"},
                                     "backgroundColor": "#f8d7da"}] + status_style,
        ) if data else dbc.Alert("Задач с такими условиями нет.", color="info", id="tasks-empty"),
    ])


@callback(Output(NAV, "href", allow_duplicate=True), Input(F["district"], "value"), Input(F["mo"], "value"),
          Input(F["code"], "value"), Input(F["status"], "value"), Input(F["overdue"], "value"), prevent_initial_call=True)
def filter_url(district, mo, code, status, overdue):
    q = {k: v for k, v in (("district", district), ("mo", mo), ("code", code), ("status", status),
                           ("overdue", "1" if overdue else None)) if v not in (None, "")}
    return "/tasks" + ("?" + urlencode(q) if q else "")
