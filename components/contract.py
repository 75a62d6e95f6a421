"""The effective contract's shared presentation (issue 20): the permissions and parameters of its pages, tables,
files and API (one reading of ``mo``, ``district``, ``person`` and ``period``), the values as shown (points, the
bonus share in %, totals), and the frame of its pages (the section's tabs by permission, refusals, problems).

Refusals are ``ScopeError`` (a role without the permission, a unit outside the scope: the same message as every
page), bad parameters ``TableParamError`` in Russian; the scores come from ``services.contract``.
"""
from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from core import fmt
from core.periods import Period, PeriodError, choices, parse_period, period_of_kind
from data_access import units as U
from data_access.scope import ScopeError
from metrics import evaluate as E
from services import contract as C

from .tablespec import TableParamError

KIND_WORDS = {"month": "месяц", "quarter": "квартал"}
DISPUTED = "не согласен"
STAFF_ROLE = "Оценки сотрудников по эффективному контракту доступны кадровой службе и руководителю МО"
HEADS_ROLE = ("Оценки руководителей организаций доступны комитету, руководителям районов и кадровой службе "
              "комитета")
NO_ACCESS = "Эта страница недоступна для вашей роли: эффективный контракт — для кадровых служб и руководителей"
SECTIONS = (("staff", "Сотрудники МО", "/contract"), ("heads", "Руководители МО", "/contract/heads"),
            ("schemes", "Схемы оценки", "/contract/schemes"))
MO_PATH = ("region", "district", "mo")


# ---------------------------------------------------------------- permissions and parameters
def access():
    """The contract permissions of the person of this request (ScopeError without a signed-in person)."""
    from security import current_user
    user = current_user()
    if user is None:
        raise ScopeError("Требуется вход в систему")
    return C.access_of(user)


def require(ok: bool, message: str) -> None:
    """A refusal by role, before any parameter is looked at."""
    if not ok:
        raise ScopeError(message, unit="contract")


def _span():
    span = E.data_span()
    if span is None:
        raise TableParamError("Витрины ещё не построены: оценок пока нет")
    return span


def _within(p: Period, span) -> Period:
    first, last = span
    if p.first < first or p.last > last:
        raise TableParamError(f"За {p.label} данных нет целиком: данные есть с {since(first)} по "
                              f"{fmt.month_name(last)}")
    return p


def since(d) -> str:
    """«января 2026»: a month after «с» (from)."""
    return f"{fmt.MONTHS_GEN[d.month - 1]} {d.year}"


def _parse(raw) -> Period:
    try:
        return parse_period(str(raw))
    except PeriodError as exc:
        raise TableParamError(str(exc)) from exc


def period_param(params: dict, kind: str) -> Period:
    """A month (staff) or a quarter (heads) within the data; by default the latest whole one."""
    span = _span()
    raw = params.get("period")
    if raw in (None, ""):
        return period_of_kind(kind, span[1])
    p = _parse(raw)
    if p.kind != kind:
        what = "Сотрудники оцениваются помесячно: укажите месяц" if kind == "month" else \
            "Руководители оцениваются поквартально: укажите квартал"
        raise TableParamError(f"{what}, например {period_of_kind(kind, span[1]).key}")
    return _within(p, span)


def sheet_period(params: dict) -> Period:
    """The period of one person's sheet: a month or a quarter within the data (by default the latest month)."""
    span = _span()
    p = _parse(params.get("period") or f"{span[1]:%Y-%m}")
    if p.kind not in KIND_WORDS:
        raise TableParamError("Оценка считается за месяц (сотрудники) или квартал (руководители): укажите месяц "
                              f"{span[1]:%Y-%m} или квартал {period_of_kind('quarter', span[1]).key}")
    return _within(p, span)


def latest_quarter() -> str:
    return period_of_kind("quarter", _span()[1]).key


def period_options(kind: str) -> list[dict]:
    """The whole months or quarters with data, newest first, for a picker."""
    span = E.data_span()
    return [] if span is None else [{"label": p.label, "value": p.key} for p in choices(kind, *span)]


def _int(raw, what: str) -> int:
    try:
        v = int(str(raw).strip())
    except (TypeError, ValueError):
        raise TableParamError(f"Код {what} должен быть целым числом, а не «{str(raw)[:40]}»") from None
    if not 0 < v < 2 ** 31:
        raise U.UnitNotFound(f"Единицы {v} нет")
    return v


def own_mo(scope) -> U.Unit | None:
    """The person's organisation when the scope is one organisation (an HR department, an MO head)."""
    home = U.home(scope, MO_PATH)
    return home if home.level == "mo" else None


def mo_param(params: dict, scope) -> U.Unit:
    """The organisation named by ``mo`` (by default the person's own when the scope is one organisation)."""
    raw = params.get("mo")
    if raw in (None, ""):
        mo = own_mo(scope)
        if mo is None:
            raise TableParamError("Укажите организацию (mo)")
        return mo
    return U.scoped_unit("mo", _int(raw, "организации"), scope)


def district_param(params: dict, scope) -> U.Unit | None:
    raw = params.get("district")
    if raw in (None, ""):
        return None
    return U.scoped_unit("district", _int(raw, "района"), scope)


def person_param(params: dict) -> str:
    person = str(params.get("person") or "").strip()
    if not person:
        raise TableParamError("Укажите табельный номер сотрудника (person)")
    if len(person) > 16 or any(ord(ch) < 32 for ch in person):
        raise TableParamError("Табельный номер — до 16 знаков")
    return person


def sheet_params(params: dict):
    """(access, organisation, personnel number, period) of one person's sheet; refusals first."""
    a = access()
    require(a.staff or a.heads, STAFF_ROLE)
    return a, mo_param(params, a.scope), person_param(params), sheet_period(params)


def service(fn, *args, **kw):
    """Call the service; its Russian message on bad input is a 400 of the table or file."""
    try:
        return fn(*args, **kw)
    except C.ContractError as exc:
        raise TableParamError(str(exc)) from exc


# ---------------------------------------------------------------- values as shown
def people():
    """Login → the person's full name (marks and scheme versions show people; «система», a login that is not an
    account, stays as it is)."""
    from data_access import users
    from data_access.context import get_db
    names = users.full_names(get_db())
    return lambda login: names.get(login, login)


def share_pct(share) -> float | None:
    """The bonus share (0–1) as the percentage the screen and the exports show."""
    return None if share is None or pd.isna(share) else round(float(share) * 100, 1)


def points(x) -> float | None:
    return None if x is None or pd.isna(x) else round(float(x), 2)


def opt_int(v):
    return None if v is None or pd.isna(v) else int(v)


@dataclass(frozen=True)
class Totals:
    persons: int
    scored: int
    no_scheme: int
    disputed: int
    average_share: float | None  # % among the persons scored

    @property
    def scored_text(self) -> str:
        return f"оценено: {fmt.number(self.scored)}, без схемы: {fmt.number(self.no_scheme)}"

    @property
    def text(self) -> str:
        share = fmt.percent(self.average_share) if self.average_share is not None else "—"
        return (f"{fmt.number(self.persons)} {fmt.plural(self.persons, 'человек', 'человека', 'человек')}, "
                f"{self.scored_text}; средняя доля премии {share}; не согласны с оценкой: {fmt.number(self.disputed)}")

    def json(self) -> dict:
        return {"persons": self.persons, "scored": self.scored, "no_scheme": self.no_scheme,
                "disputed": self.disputed, "average_share": self.average_share}


def totals(records: list[dict]) -> Totals:
    """Persons, those scored and without a scheme, those marked «не согласен», the average share of the scored."""
    scored = [r for r in records if r.get("status_code", "scored") == "scored"]
    shares = [r["share"] for r in scored if r.get("share") is not None]
    return Totals(len(records), len(scored), len(records) - len(scored), sum(1 for r in records if r["disputed"]),
                  round(sum(shares) / len(shares), 1) if shares else None)


def diff_kind(line: str) -> str:
    """A unified-diff line's kind: the files' header, a hunk, an added, a removed or an unchanged line."""
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "added"
    if line.startswith("-"):
        return "removed"
    return "same"


# ---------------------------------------------------------------- the pages' frame
def allowed(a, section: str) -> bool:
    """Whether the person's contract permissions (``services.contract.Access``) open a section."""
    if a is None:
        return False
    return {"staff": a.staff, "heads": a.heads, "schemes": a.staff or a.heads}[section]


def tabs(a, active: str) -> dbc.Nav:
    """The section's pages the person may open, the current one active."""
    return dbc.Nav([dbc.NavItem(dbc.NavLink(name, href=href, active=key == active, id=f"contract-tab-{key}"))
                    for key, name, href in SECTIONS if allowed(a, key)], pills=True, className="mb-3",
                   id="contract-tabs")


def title_row(title: str, subtitle: str, right=None, ident: str = "contract") -> dbc.Row:
    return dbc.Row([
        dbc.Col([html.H3(title, className="mb-0", id=f"{ident}-title"),
                 html.Div(subtitle, className="text-muted", id=f"{ident}-subtitle")], lg=7),
        dbc.Col(right, lg=5, className="align-self-end") if right is not None else None,
    ], className="mb-2")


def admitted(need: str):
    """The signed-in person's contract access and, when the page is not theirs, the refusal to show instead.

    Args:
        need: "staff" (the staff's scores), "heads" (the heads'), or "any" (either: a sheet, the schemes).
    Returns:
        (access, None) or (access or None, the refusal).
    """
    try:
        a = access()
    except ScopeError:
        return None, refusal(NO_ACCESS)
    ok = {"staff": a.staff, "heads": a.heads, "any": a.staff or a.heads}[need]
    if ok:
        return a, None
    other = {"staff": (a.heads, STAFF_ROLE), "heads": (a.staff, HEADS_ROLE)}.get(need)
    message = other[1] if other and other[0] else NO_ACCESS
    from security import audit_event
    audit_event("forbidden", obj=message, details={"unit": "contract"})  # as the API records its 403
    return a, refusal(message, a)


def refusal(message: str, a=None) -> dbc.Alert:
    """A refusal by role (the marker ``access-denied``), with links to the sections the person may open."""
    links = [dcc.Link(name, href=href, className="ms-2") for key, name, href in SECTIONS if allowed(a, key)]
    body = [html.I(className="bi bi-shield-lock me-2"), message]
    if links:
        body.append(html.Div(["Открыть:", *links], className="mt-2"))
    return dbc.Alert(body, color="danger", id="access-denied")


def problem(message: str, href: str | None = None, label: str = "Открыть вид по умолчанию",
            color: str = "warning", ident: str = "contract-problem") -> dbc.Alert:
    body = [message]
    if href:
        body += [" ", dcc.Link(label, href=href)]
    return dbc.Alert(body, color=color, id=ident)


def totals_row(tot: "Totals", persons: str, payroll_href: str, payroll_id: str, payroll_note: str) -> dbc.Row:
    """The totals above a staff or heads table (persons, average share, disputed) and the payroll button."""
    return dbc.Row([
        figure(persons, fmt.number(tot.persons), "contract-persons", tot.scored_text),
        figure("Средняя доля премии", fmt.percent(tot.average_share) if tot.average_share is not None else "—",
               "contract-average", "среди оценённых", "success"),
        figure("Не согласны с оценкой", fmt.number(tot.disputed), "contract-disputed", "отметки кадровой службы",
               "danger" if tot.disputed else "secondary"),
        dbc.Col(html.Div([
            html.A([html.I(className="bi bi-file-earmark-excel me-1"), "Выгрузка для расчёта зарплаты"],
                   href=payroll_href, className="btn btn-primary", id=payroll_id),
            html.Div(payroll_note, className="small text-muted mt-1")]), xs=12, md=3, className="mb-3"),
    ])


def figure(label: str, value: str, ident: str, note: str | None = None, color: str = "primary") -> dbc.Col:
    """A total above a table: a label and a large value."""
    return dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(label, className="small text-muted text-uppercase fw-semibold"),
        html.Div(value, className="fs-4 fw-semibold", id=ident),
        html.Div(note, className="small text-muted") if note else None,
    ]), className="h-100 shadow-sm", style={"borderTop": f"4px solid var(--bs-{color})"}), xs=6, md=3, className="mb-3")
