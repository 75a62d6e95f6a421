"""The effective contract's scores: each person's criteria, points and bonus share for a period.

A person is an organisation's personnel number. Each of his assignments that overlaps the period is a *part*,
scored by the scheme of its position in force at the period's start, on the indicator values of the part's
doctor in that organisation (a head: of the organisation) over the whole period — the marts are monthly, so a
part of a month is judged on the month. The person's points and share are the parts' weighted by their
calendar days in the period: a doctor who became a GP on the 15th of a 31-day month gets 14/31 of the
therapist's share and 17/31 of the GP's; a doctor who worked 10 days gets 10/31 of a share.

Who sees what is the role's (``security.roles``: contract_staff, contract_heads, contract_mark,
contract_schemes) within the person's data scope; refusals are ``ScopeError``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from core.contract_data import HEAD, POSITIONS
from core.periods import Period, month_end
from data_access import contract as store
from data_access import units as U
from data_access.context import get_db
from data_access.scope import Scope, ScopeError
from data_access.tasks import text_problem
from metrics import contract as C
from metrics import evaluate as E

SchemeError = C.SchemeError
StaleScheme = C.StaleScheme


class ContractError(ValueError):
    """A request the contract pages cannot answer, in Russian."""


@dataclass(frozen=True)
class Access:
    """A person's scope and what the contract lets them see and do."""
    scope: Scope
    staff: bool = False
    heads: bool = False
    mark: bool = False
    schemes: bool = False
    login: str = ""
    user_id: int | None = None


def access_of(user) -> Access:
    """The contract's permissions of a signed-in person; nobody signed in may see nothing."""
    if user is None:
        return Access(scope=Scope(districts=frozenset(), mos=frozenset()))
    r = user.role_info
    return Access(scope=user.scope, staff=r.contract_staff, heads=r.contract_heads, mark=r.contract_mark,
                  schemes=r.contract_schemes, login=user.login, user_id=user.user_id)


# ------------------------------------------------------------------ scoring (pure)
@dataclass
class Part:
    """One assignment's score in the period."""
    assignment_id: int
    position: str
    position_name: str
    start: dt.date
    end: dt.date
    days: int
    period_days: int
    scheme_code: str | None = None
    scheme_name: str = ""
    scheme_version: int | None = None
    scheme_valid_from: dt.date | None = None
    points: float = 0.0
    max_points: float = 0.0
    share: float = 0.0
    note: str = ""
    rows: list[dict] = field(default_factory=list)  # one per criterion (CRITERIA_COLS)

    @property
    def weight(self) -> float:
        return self.days / self.period_days

    @property
    def criteria(self) -> pd.DataFrame:
        """The criteria as a table (CRITERIA_COLS); empty when the part was not scored."""
        return pd.DataFrame(self.rows, columns=CRITERIA_COLS if self.rows else None)

    @property
    def points_by_criterion(self) -> dict[str, float]:
        return {r["code"]: r["points"] for r in self.rows}


CRITERIA_COLS = ["code", "name", "indicator", "indicator_short", "level", "parent", "unit_id", "value", "numerator",
                 "denominator", "unit", "decimals", "few", "rule", "met", "points", "max_points"]


def score_criteria(scheme: C.Scheme, found: dict[str, dict | None]) -> tuple[list[dict], float, float]:
    """Points of each criterion from its value (``found``: criterion → {value, numerator, denominator, few} or
    None for no data) and the scheme's total and bonus share.

    A value on too few observations counts as no data (``no_data`` points): it cannot be judged either way.
    """
    reg = E.registry()
    rows = []
    for c in scheme.criteria:
        ind = reg[c.indicator] if c.indicator in reg else None
        unit, decimals = (ind.unit, ind.decimals) if ind else ("", 1)
        if ind is not None and ind.denominator is None:
            unit = ""  # a count reads «≥ 1», not «≥ 1 жалоб»
        got = found.get(c.code)
        value = None if got is None or got.get("value") is None or pd.isna(got.get("value")) else float(got["value"])
        few = bool(got and got.get("few"))
        pts, band = c.score(None if few else value)
        if value is None:
            met = "нет данных"
        elif few:
            met = "мало наблюдений"
        elif band is not None:
            met = band.text(unit, decimals)
        elif c.scale is not None:
            met = "по шкале"
        else:
            met = "ни один интервал"
        rows.append({"code": c.code, "name": c.name, "indicator": c.indicator,
                     "indicator_short": ind.short if ind else c.indicator, "value": value,
                     "numerator": None if got is None else got.get("numerator"),
                     "denominator": None if got is None else got.get("denominator"), "unit": unit,
                     "decimals": decimals, "few": few, "rule": C.rule_text(c, unit, decimals), "met": met,
                     "points": pts, "max_points": c.max_points})
    total = scheme.total([r["points"] for r in rows])
    return rows, total, scheme.share_of(total)


def clip_days(start: dt.date, end: dt.date | None, period: Period) -> tuple[dt.date, dt.date, int]:
    """The assignment's days inside the period (inclusive bounds)."""
    first, last = period.first, month_end(period.last)
    a, b = max(start, first), min(end or last, last)
    return a, b, max((b - a).days + 1, 0)


def period_days(period: Period) -> int:
    return (month_end(period.last) - period.first).days + 1


def _by_unit(frames: dict[str, pd.DataFrame]) -> dict[str, tuple[dict, bool]]:
    """criterion → ({unit_id: its row}, whether the indicator is a count), for lookups person by person. Rows of
    no unit (a complaint about the organisation as a whole, at the doctor level) belong to nobody."""
    return {code: ({int(r["unit_id"]): r for r in f.dropna(subset=["unit_id"]).to_dict("records")},
                   bool(f.attrs.get("count"))) for code, f in frames.items()}


def _lookup(units: dict[str, tuple[dict, bool]], unit_id) -> dict[str, dict | None]:
    """criterion → the unit's values; no unit: no data. A count without rows is 0 for a unit that has data
    in the period under some other criterion (a doctor who saw patients and had no complaint); for a unit
    with no data at all (a doctor on leave all month) it is no data, not a clean record worth points."""
    active = unit_id is not None and any(unit_id in rows for rows, _ in units.values())
    out = {}
    for code, (rows, count) in units.items():
        r = rows.get(unit_id) if unit_id is not None else None
        if r is not None:
            out[code] = {"value": r["value"], "numerator": r["numerator"], "denominator": r["denominator"],
                         "few": bool(r["few"])}
        elif active and count:
            out[code] = {"value": 0.0, "numerator": 0.0, "denominator": None, "few": False}
        else:
            out[code] = None
    return out


def _part(a, period: Period, schemes: list[C.Scheme], frames: dict[tuple[str, int | None], dict],
          scope: Scope) -> Part:
    start, end, days = clip_days(a["start_date"], a["end_date"], period)
    p = Part(assignment_id=int(a["assignment_id"]), position=a["position"],
             position_name=POSITIONS.get(a["position"], a["position"]), start=start, end=end, days=days,
             period_days=period_days(period))
    scheme = next((s for s in schemes if s.applies(a["position"], a["mo_kind"])), None)
    if scheme is None:
        p.note = "Для этой должности в организации этого типа схема не утверждена"
        return p
    p.scheme_code, p.scheme_name, p.scheme_version, p.scheme_valid_from = (scheme.code, scheme.name, scheme.version,
                                                                           scheme.valid_from)
    p.max_points = scheme.max_points
    if scheme.period != period.kind:
        p.note = f"Схема считается за {C.PERIODS[scheme.period]}"
        return p
    if scheme.level == "doctor":
        parent, unit_id = int(a["mo_id"]), (None if pd.isna(a["doctor_id"]) else int(a["doctor_id"]))
    else:
        parent, unit_id = None, int(a["mo_id"])
    key = (scheme.code, parent)
    if key not in frames:
        frames[key] = _by_unit(C.values(scheme, period, parent, scope))
    rows, p.points, p.share = score_criteria(scheme, _lookup(frames[key], unit_id))
    p.rows = [{**r, "level": scheme.level, "parent": parent, "unit_id": unit_id} for r in rows]
    if unit_id is None:
        p.note = "Назначение не связано с врачом: клинических данных нет"
    return p


def _people(asg: pd.DataFrame, period: Period, scope: Scope) -> list[tuple[dict, list[Part]]]:
    """Assignments grouped into persons (organisation, personnel number), each with its scored parts."""
    schemes = C.in_force(period)
    frames: dict = {}  # criterion values per (scheme, organisation): read once for all its people
    out = []
    for _, rows in asg.groupby(["mo_id", "personnel_no"], sort=False):
        parts = [_part(a, period, schemes, frames, scope) for _, a in rows.sort_values("start_date").iterrows()]
        parts = [p for p in parts if p.days > 0]
        if parts:
            out.append((rows.iloc[-1].to_dict(), parts))
    return out


def _weights(parts: list[Part]) -> list[float]:
    """Each part's weight: its days in the period; assignments that overlap (two posts at once) share the
    person's time, so that the weights never add up to more than the whole period."""
    w = [p.weight for p in parts]
    total = sum(w)
    return [x / total for x in w] if total > 1 else w


def _summary(person: dict, parts: list[Part]) -> dict:
    w = _weights(parts)
    names = [parts[0].position_name] + [f"с {p.start:%d.%m.%Y} — {p.position_name}" for p in parts[1:]
                                        if p.position_name != parts[0].position_name or len(parts) > 1]
    scored = [p for p in parts if p.scheme_code and not p.note.startswith("Схема считается")]
    return {"mo_id": int(person["mo_id"]), "mo_name": person["mo_name"], "district_id": int(person["district_id"]),
            "district_name": person["district_name"], "personnel_no": person["personnel_no"],
            "full_name": person["full_name"], "doctor_id": person["doctor_id"],
            "position_name": "; ".join(dict.fromkeys(names)),
            "scheme_name": "; ".join(dict.fromkeys(p.scheme_name for p in parts if p.scheme_name)) or "—",
            "days": sum(p.days for p in parts), "period_days": parts[0].period_days,
            "points": round(sum(p.points * x for p, x in zip(parts, w)), 4),
            "max_points": round(sum(p.max_points * x for p, x in zip(parts, w)), 4),
            "share": round(sum(p.share * x for p, x in zip(parts, w)), 4),
            "status": "scored" if scored else "no_scheme"}


# ------------------------------------------------------------------ access
def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ScopeError(message, unit="contract")


def _organisation(mo_id, scope: Scope) -> U.Unit:
    try:
        mo_id = int(mo_id)
    except (TypeError, ValueError):
        raise ContractError("Укажите организацию (mo) числом") from None
    u = U.unit("mo", mo_id)
    if u is None:
        raise ContractError(f"Организации с кодом {mo_id} нет")
    return U.require(scope, u)


def _disputed(mo_ids: list[int], period: Period) -> dict[tuple[int, str], bool]:
    m = store.marks(get_db(), mo_ids, period.key)
    if m.empty:
        return {}
    last = m.groupby(["mo_id", "personnel_no"]).tail(1)
    return {(int(r.mo_id), str(r.personnel_no)): r.state == "disagree" for r in last.itertuples()}


SUMMARY_COLS = ["personnel_no", "full_name", "doctor_id", "position_name", "scheme_name", "days", "period_days",
                "points", "max_points", "share", "status", "disputed"]


# ------------------------------------------------------------------ public API
def staff(period: Period, mo_id: int, access: Access) -> pd.DataFrame:
    """The organisation's staff (everyone but its head) with their scores for a month (see SUMMARY_COLS)."""
    _require(access.staff, "Оценки сотрудников по эффективному контракту доступны кадровой службе и руководителю МО")
    if period.kind != "month":
        raise ContractError("Сотрудники оцениваются помесячно: выберите месяц")
    u = _organisation(mo_id, access.scope)
    asg = store.assignments(get_db(), period.first, month_end(period.last), access.scope, mo_id=u.mo_id)
    asg = asg[asg["position"] != HEAD]
    rows = [_summary(p, parts) for p, parts in _people(asg, period, access.scope)]
    df = pd.DataFrame(rows, columns=SUMMARY_COLS[:-1] + ["mo_id", "mo_name", "district_id", "district_name"])
    dis = _disputed([u.mo_id], period)
    df["disputed"] = [dis.get((u.mo_id, str(x)), False) for x in df["personnel_no"]]
    return df[SUMMARY_COLS].sort_values(["full_name", "personnel_no"], kind="stable").reset_index(drop=True)


def heads(period: Period, access: Access, district_id: int | None = None) -> pd.DataFrame:
    """The heads of organisations inside the scope with their scores for a quarter, one points column per
    criterion of the head scheme (``c_<code>``; ``attrs["criteria"]``: [(code, name)]). Heads whose organisation
    no scheme applies to (a hospital under a polyclinic scheme) are left out and counted in ``attrs["unscored"]``."""
    _require(access.heads, "Оценки руководителей организаций доступны комитету, руководителям районов и кадровой "
                           "службе комитета")
    if period.kind != "quarter":
        raise ContractError("Руководители оцениваются поквартально: выберите квартал")
    if district_id is not None:
        try:
            d = U.unit("district", int(district_id))
        except (TypeError, ValueError):
            raise ContractError("Район (district) — число") from None
        if d is None:
            raise ContractError(f"Района с кодом {district_id} нет")
        U.require(access.scope, d)
        district_id = d.id
    asg = store.assignments(get_db(), period.first, month_end(period.last), access.scope, district_id=district_id,
                            positions=(HEAD,))
    kinds = asg["mo_kind"].dropna().unique().tolist()
    scheme = next((x for x in (C.for_position(HEAD, period, k) for k in sorted(kinds)) if x), None)
    crit = [(c.code, c.name) for c in scheme.criteria] if scheme else []
    rows, unscored = [], 0
    for person, parts in _people(asg, period, access.scope):
        r = _summary(person, parts)
        if r["status"] != "scored":  # a hospital's head under a polyclinic scheme: nothing to score him on
            unscored += 1
            continue
        for code, _ in crit:
            r[f"c_{code}"] = round(sum(p.points_by_criterion.get(code, 0.0) * w
                                       for p, w in zip(parts, _weights(parts))), 4)
        rows.append(r)
    cols = ["mo_id", "mo_name", "district_id", "district_name", "personnel_no", "full_name", "days", "period_days",
            "points", "max_points", "share", "status"] + [f"c_{c}" for c, _ in crit]
    df = pd.DataFrame(rows, columns=cols)
    dis = _disputed(df["mo_id"].astype(int).tolist(), period) if not df.empty else {}
    df["disputed"] = [dis.get((int(m), str(p)), False) for m, p in zip(df["mo_id"], df["personnel_no"])]
    df = df.sort_values(["district_name", "mo_name", "full_name"], kind="stable").reset_index(drop=True)
    df.attrs["criteria"] = crit
    df.attrs["unscored"] = unscored
    return df


@dataclass
class Sheet:
    person: dict
    parts: list[Part]
    points: float
    share: float
    max_points: float
    marks: pd.DataFrame


def sheet(period: Period, mo_id: int, personnel_no: str, access: Access) -> Sheet:
    """One person's scores in an organisation for a period: every part, criterion by criterion, and the marks."""
    u = _organisation(mo_id, access.scope)
    asg = store.assignments(get_db(), period.first, month_end(period.last), access.scope, mo_id=u.mo_id,
                            personnel_no=str(personnel_no))
    if asg.empty:
        raise ContractError(f"Сотрудника с табельным номером {personnel_no} в этой организации за "
                            f"{period.label} нет")
    is_head = (asg["position"] == HEAD).any()
    if is_head:
        _require(access.heads, "Оценки руководителей организаций доступны комитету, руководителям районов и "
                               "кадровой службе комитета")
    else:
        _require(access.staff, "Оценки сотрудников доступны кадровой службе и руководителю МО")
    people = _people(asg, period, access.scope)
    if not people:
        raise ContractError(f"Сотрудник не работал в периоде «{period.label}»")
    person, parts = people[0]
    s = _summary(person, parts)
    m = store.marks(get_db(), [u.mo_id], period.key, str(personnel_no))
    m = m.rename(columns={"created_at": "at"})[["at", "author", "state", "criterion", "comment"]]
    info = {k: s[k] for k in ("full_name", "personnel_no", "mo_id", "mo_name", "position_name")}
    info.update(period_label=period.label, period_key=period.key, disputed=bool(len(m)) and m.iloc[-1]["state"] == "disagree",
                days=s["days"], period_days=s["period_days"], is_head=bool(is_head))
    return Sheet(person=info, parts=parts, points=s["points"], share=s["share"], max_points=s["max_points"], marks=m)


PAYROLL_COLS = ["personnel_no", "full_name", "position_name", "mo_name", "period", "days", "points", "share"]


def _payroll(df: pd.DataFrame, mo_name: pd.Series | str, period: Period) -> pd.DataFrame:
    """The payroll's rows: a person without a scheme has no points and no share (empty, not 0 %), and the days
    worked are given because the share is already weighted by them (the payroll must not weight it again)."""
    out = df.assign(mo_name=mo_name, period=period.label)
    unscored = out["status"] != "scored"
    out["points"] = out["points"].astype(float).mask(unscored)
    out["share"] = out["share"].astype(float).mask(unscored)
    return out[PAYROLL_COLS].reset_index(drop=True)


def payroll_staff(period: Period, mo_id: int, access: Access) -> pd.DataFrame:
    """One row per person of the organisation for the payroll: personnel number, name, position, organisation,
    period, points, bonus share."""
    df = staff(period, mo_id, access)
    return _payroll(df, U.unit("mo", int(mo_id)).name, period)


def payroll_heads(period: Period, access: Access, district_id: int | None = None) -> pd.DataFrame:
    df = heads(period, access, district_id)
    df["position_name"] = POSITIONS[HEAD]
    return _payroll(df, df["mo_name"], period)


def mark(period: Period, mo_id: int, personnel_no: str, state: str, comment: str, access: Access,
         criterion: str | None = None) -> int:
    """Mark a person's score as disputed («не согласен») or resolve it, with a comment (kept, audited)."""
    _require(access.mark, "Отмечать несогласие с оценкой может кадровая служба")
    if state not in store.MARK_STATES:
        raise ContractError("Отметка — «не согласен» (disagree) или «снять отметку» (resolved)")
    problem = text_problem(comment, 1000)
    if problem:
        raise ContractError(f"Комментарий: {problem.lower()}")
    sh = sheet(period, mo_id, personnel_no, access)  # the person must exist and be visible
    if criterion is not None:
        codes = {c for p in sh.parts for c in p.points_by_criterion}
        if criterion not in codes:
            raise ContractError(f"Критерия «{criterion}» в оценке сотрудника нет")
    if state == "resolved" and not sh.person["disputed"]:
        raise ContractError("Отметки о несогласии нет — снимать нечего")
    return store.add_mark(get_db(), mo_id=int(mo_id), personnel_no=str(personnel_no), period=period.key, state=state,
                          comment=comment.strip(), author=access.login, criterion=criterion, user_id=access.user_id)


# ------------------------------------------------------------------ schemes
@dataclass(frozen=True)
class SchemeInfo:
    code: str
    name: str
    positions: tuple[str, ...]
    position_names: str
    level: str
    period: str
    version: int
    valid_from: dt.date
    max_points: float


def schemes() -> list[SchemeInfo]:
    """Every scheme at its latest version."""
    v = C.versions()
    out = []
    for code, rows in v.groupby("scheme_code", sort=True):
        s = C.version(code, int(rows["version"].max()))
        out.append(SchemeInfo(s.code, s.name, s.positions, ", ".join(POSITIONS[p] for p in s.positions), s.level,
                              s.period, s.version, s.valid_from, s.max_points))
    return out


def scheme_versions(code: str) -> pd.DataFrame:
    v = C.versions(code)
    if v.empty:
        raise ContractError(f"Схемы «{code}» нет")
    return v.drop(columns="scheme_code").reset_index(drop=True)


def scheme_text(code: str, version: int) -> str:
    try:
        return C.version(code, int(version)).body
    except (LookupError, ValueError) as exc:
        raise ContractError(str(exc)) from None


def scheme_diff(code: str, version: int) -> list[str]:
    try:
        return C.diff(code, int(version))
    except (LookupError, ValueError) as exc:
        raise ContractError(str(exc)) from None


def save_scheme(code: str, text: str, valid_from: str, comment: str, base_version: int, access: Access) -> int:
    """A new version of a scheme (SchemeError with the Russian problems when it is refused)."""
    _require(access.schemes, "Изменять схемы эффективного контракта может кадровая служба комитета")
    if not isinstance(text, str) or not text.strip():
        raise SchemeError(["Текст схемы пуст"])
    if len(text) > 50_000:
        raise SchemeError(["Текст схемы слишком длинный (до 50 000 символов)"])
    try:
        base = int(base_version)
    except (TypeError, ValueError):
        raise SchemeError(["Не указана версия, от которой сделаны изменения"]) from None
    if C.versions(code).empty:
        raise SchemeError([f"Схемы «{code}» нет: новые схемы добавляются в файл схем поставки"])
    return C.save(code, text, valid_from, comment, base, access.login)

