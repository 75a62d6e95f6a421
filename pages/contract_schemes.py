"""Эффективный контракт — схемы: every scheme at its current version; a scheme's versions (who, when, from which
month, why) with each version's changes against the previous one; for the committee's HR, the form that saves a
new version (checked by the service; its Russian messages, and the refusal when somebody saved in between, keep
the typed text in the form).

URL: ``/contract/schemes[?scheme=<code>]``.
"""
from __future__ import annotations

import datetime as dt

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import contract as CC
from components.guard import refused, scoped
from core import fmt
from core.periods import month_add
from data_access.scope import ScopeError
from metrics import evaluate as E
from security import current_user
from services import contract as C

dash.register_page(__name__, path="/contract/schemes", name="Эффективный контракт: схемы",
                   title="Схемы эффективного контракта — ИАМ")

KEY, TEXT, FROM, COMMENT, SAVE, MSG, VERSIONS = ("scheme-key", "scheme-text", "scheme-from", "scheme-comment",
                                                 "scheme-save", "scheme-msg", "scheme-versions")
LEVELS = {"doctor": "по врачу", "mo": "по организации"}
DIFF_STYLE = {"added": {"backgroundColor": "#d1e7dd", "color": "#0f5132"},
              "removed": {"backgroundColor": "#f8d7da", "color": "#842029"},
              "hunk": {"color": "#6f42c1"}, "file": {"color": "#6c757d", "fontWeight": 600}, "same": {}}


def layout(scheme=None, **_):
    return _layout(scheme)


@scoped
def _layout(code):
    a, refused = CC.admitted("any")
    if refused:
        return refused
    schemes = C.schemes()
    by_code = {s.code: s for s in schemes}
    head = [CC.tabs(a, "schemes"),
            CC.title_row("Схемы оценки по эффективному контракту",
                         "Критерии, интервалы и баллы по должностям; каждая версия — с автором, датой и комментарием",
                         ident="schemes")]
    listing = _list(schemes, code)
    if code in (None, ""):
        return html.Div(head + [listing, dbc.Alert("Выберите схему, чтобы увидеть её версии и изменения.",
                                                   color="info", id="schemes-choose")])
    if code not in by_code:
        return html.Div(head + [CC.problem(f"Схемы «{str(code)[:40]}» нет; есть: {', '.join(by_code)}",
                                           "/contract/schemes", "Все схемы")])
    s = by_code[code]
    body = [listing, html.H4(s.name, className="mt-4", id="scheme-name"),
            html.Div(f"Должности: {s.position_names}. Период оценки — {CC.KIND_WORDS.get(s.period, s.period)}, "
                     f"значения {LEVELS.get(s.level, s.level)}; действующая версия {s.version} — с "
                     f"{CC.since(s.valid_from)}.", className="text-muted mb-2")]
    if a.schemes:
        body.append(_form(s))
    body += [html.H5("Версии и изменения", className="mt-4"), html.Div(_versions(code), id=VERSIONS)]
    return html.Div(head + body)


def _list(schemes, chosen) -> html.Table:
    rows = [html.Tr([html.Td(dcc.Link(s.name, href=f"/contract/schemes?scheme={s.code}")),
                     html.Td(s.position_names, className="small"), html.Td(CC.KIND_WORDS.get(s.period, s.period)),
                     html.Td(LEVELS.get(s.level, s.level)), html.Td(fmt.number(s.max_points, 2), className="text-end"),
                     html.Td(str(s.version), className="text-end"), html.Td(f"с {CC.since(s.valid_from)}")],
                    className="table-primary" if s.code == chosen else None)
            for s in schemes]
    return html.Table([html.Thead(html.Tr([html.Th(x) for x in ("Схема", "Должности", "Период", "Значения",
                                                                  "Максимум баллов", "Версия", "Действует")])),
                       html.Tbody(rows)], className="table table-sm table-hover", id="schemes-table")


def _diff(lines: list[str], ident: str):
    if not lines:
        return html.Div("Текст не изменился.", className="small text-muted")
    return html.Pre([html.Div(line or " ", style=DIFF_STYLE[CC.diff_kind(line)],
                              className=f"diff-{CC.diff_kind(line)}") for line in lines],
                    className="border rounded p-2 small mb-0", style={"maxHeight": "420px", "overflow": "auto"},
                    id=ident)


def _versions(code: str) -> list:
    """Each version, newest first: from which month, who, when, why; its changes against the previous version."""
    v = C.scheme_versions(code)
    who = CC.people()
    out = []
    for r in v.to_dict("records"):
        n = int(r["version"])
        created = r["created_at"]
        created = created.to_pydatetime() if hasattr(created, "to_pydatetime") else created
        head = [html.B(f"Версия {n}"), f" · действует с {CC.since(r['valid_from'])} · {who(r['author'])} · "
                f"{fmt.datetime(created)}"]
        comment = r.get("comment")
        out.append(dbc.Card(dbc.CardBody([
            html.Div(head, className="mb-1"),
            html.Div(comment, className="small mb-2") if isinstance(comment, str) and comment else None,
            _diff(C.scheme_diff(code, n), f"scheme-diff-{n}") if n > 1 else
            html.Div("Первая версия схемы.", className="small text-muted"),
            html.Details([html.Summary("Текст версии", className="small"),
                          html.Pre(C.scheme_text(code, n), className="border rounded p-2 small mb-0",
                                   style={"maxHeight": "420px", "overflow": "auto"})], className="mt-2"),
        ]), className="mb-2", id=f"scheme-version-{n}"))
    return out


def _default_from() -> str:
    """The month after the last month with data: a new version applies from the month not yet scored."""
    span = E.data_span()
    last = span[1] if span else dt.date.today().replace(day=1)
    return f"{month_add(last, 1):%Y-%m}"


def _form(s):
    return dbc.Card(dbc.CardBody([
        html.H6("Новая версия схемы"),
        html.Div("Измените текст (TOML: интервалы, баллы, доли премии), укажите месяц начала действия и основание. "
                 "Схема проверяется при сохранении; прежние версии не меняются.", className="small text-muted mb-2"),
        dcc.Store(id=KEY, data={"code": s.code, "base": s.version}),
        dbc.Textarea(id=TEXT, value=C.scheme_text(s.code, s.version), rows=18, spellCheck=False,
                     style={"fontFamily": "monospace", "fontSize": 13}),
        dbc.Row([
            dbc.Col([dbc.Label("Действует с месяца (ГГГГ-ММ)", html_for=FROM, className="small mb-0"),
                     dbc.Input(id=FROM, value=_default_from(), placeholder="2026-11")], md=3),
            dbc.Col([dbc.Label("Основание изменения", html_for=COMMENT, className="small mb-0"),
                     dbc.Input(id=COMMENT, maxLength=400, placeholder="Распоряжение, решение комиссии, что изменено")],
                    md=7),
            dbc.Col(dbc.Button("Сохранить версию", id=SAVE, color="primary", className="w-100"), md=2,
                    className="align-self-end"),
        ], className="g-2 mt-1"),
        html.Div(id=MSG, className="mt-2"),
    ]), className="mb-3", id="scheme-form")


@callback(Output(MSG, "children"), Output(VERSIONS, "children"), Output(KEY, "data"), Input(SAVE, "n_clicks"),
          State(KEY, "data"), State(TEXT, "value"), State(FROM, "value"), State(COMMENT, "value"),
          prevent_initial_call=True)
def save(n_clicks, key, text, valid_from, comment):
    """Save a new version; the service's problems (or «somebody saved in between») are listed, the form is kept."""
    if not n_clicks or not key:
        return no_update, no_update, no_update
    user = current_user()
    try:
        if user is None:
            raise ScopeError("Требуется вход в систему")
        a = C.access_of(user)
        number = C.save_scheme(str(key.get("code")), text if isinstance(text, str) else "",
                               (valid_from or "").strip() if isinstance(valid_from, str) else "",
                               comment if isinstance(comment, str) else "", key.get("base"), a)
    except ScopeError as exc:
        return refused(exc), no_update, no_update
    except (C.SchemeError, C.ContractError) as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        return dbc.Alert([html.B("Версия не сохранена:"), html.Ul([html.Li(x) for x in problems], className="mb-0")],
                         color="warning", id="scheme-problem"), no_update, no_update
    return (dbc.Alert(f"Сохранена версия {number}", color="success", id="scheme-saved"), _versions(key["code"]),
            {**key, "base": number})
