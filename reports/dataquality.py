"""Tables of the data-quality review (issue 22): the score of each unit with its components and reasons, the
outliers against the units' own seasonal baselines with their acknowledgements, the consistency rules, the
completeness and timeliness of reporting, the population denominators. The page /data-quality, its CSV/XLSX
exports and the API ``/api/v1/quality/data/<part>`` show these same specs.

A table lists the units of a level (``level``) under a parent unit (``parent``: a district's organisations, an
organisation's doctors; none: every unit of the level in the scope), or one unit (``id``), for a period
(``period``; outliers are values of one month: of a longer period, its last month). The page asks for its unit's
children (the city → districts → organisations); an organisation's tables are its own row, its outliers those of
its doctors.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from components.tablespec import TableParamError, TableSpec, table
from components.urls import indicator as indicator_url
from core import dataquality as CDQ
from core import fmt
from core.periods import Period
from data_access import units as U
from metrics import dataquality as DQ
from metrics import evaluate as E

from .common import num_col, period_param, text_col

UNIT_HEADER = {"region": "Город", "district": "Район", "mo": "Организация", "doctor": "Врач"}
PLURAL = {"district": "районам", "mo": "организациям", "doctor": "врачам"}
STATE_NAMES = {"ack": "принят", "reopen": "возвращён"}  # the decisions as the page's buttons name them
OPEN = "не рассмотрен"
# the levels of each table's rows (the metric's levels)
LEVELS = {"dq-scores": ("district", "mo"), "dq-outliers": ("mo", "doctor"), "dq-rules": ("region", "district", "mo"),
          "dq-completeness": ("district", "mo"), "dq-denominators": ("district",),
          "dq-outlier-history": ("mo", "doctor")}
DEFAULT_LEVEL = {"dq-outliers": "mo", "dq-outlier-history": "mo"}
MONTHLY = ("dq-outliers", "dq-outlier-history")  # values of one month: a longer period gives its last month


# ---------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Rows:
    """What a table lists: the units of ``level`` under ``parent`` (None: the scope), or the one unit ``unit``."""
    level: str
    parent: U.Unit | None
    unit: U.Unit | None
    period: Period

    @property
    def parent_id(self) -> int | None:
        """The metric's ``parent``: the given parent, or the one unit's own parent."""
        if self.unit is not None:
            return {"region": None, "district": None, "mo": self.unit.district_id, "doctor": self.unit.mo_id}[self.level]
        return None if self.parent is None or self.parent.level == "region" else self.parent.id

    @property
    def params(self) -> dict:
        """The parameters that name the table (its export and API address)."""
        return {"level": self.level, "parent": self.parent.key if self.parent is not None else None,
                "id": self.unit.key if self.unit is not None else None, "period": self.period.key}

    def title(self, what: str) -> str:
        if self.unit is not None:
            return f"{what} — {self.unit.name}"
        if self.level == "region":
            return f"{what} — {U.CITY_NAME}"
        return f"{what} по {PLURAL[self.level]} — {(self.parent or U.CITY).name}"

    def only(self, df: pd.DataFrame) -> pd.DataFrame:
        """The one unit's row when the table is of one unit (its siblings are another table)."""
        if self.unit is None or df.empty:
            return df
        return df[df["unit_id"].astype(int) == (self.unit.key or 0)]


def _int(v, name: str) -> int:
    try:
        return int(str(v))
    except ValueError:
        raise TableParamError(f"{name} — целый код единицы") from None


def rows_param(name: str, params: dict, scope) -> Rows:
    """The rows of a table named by its parameters; a unit outside the scope is refused (ScopeError), an unknown
    one is a LookupError, anything malformed a TableParamError (Russian)."""
    levels = LEVELS[name]
    level = params.get("level") or DEFAULT_LEVEL.get(name, levels[0])
    if level not in levels:
        raise TableParamError(f"Уровень (level) — один из: {', '.join(levels)}")
    parent = unit = None
    if params.get("id") not in (None, ""):
        unit = U.scoped_unit(level, _int(params["id"], "id"), scope) if level != "region" else U.CITY
    elif params.get("parent") not in (None, ""):
        parent_level = U.PARENT_LEVEL[level]
        if parent_level in (None, "region"):
            raise TableParamError(f"У уровня «{U.LEVELS[level].name}» родитель — только город: не указывайте parent")
        parent = U.scoped_unit(parent_level, _int(params["parent"], "parent"), scope)
    elif level == "doctor":
        raise TableParamError("Для врачей укажите организацию (parent) или врача (id)")
    p = period_param(params)
    if name in MONTHLY and p.kind != "month":
        p = Period("month", p.last, p.last)
    return Rows(level, parent, unit, p)


def _f(v):
    """A number for a table cell (None for a missing value)."""
    if v is None or v is pd.NA or isinstance(v, str):
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def _r(v, decimals: int = 1):
    v = _f(v)
    return None if v is None else (round(v) if decimals == 0 else round(v, decimals))


def _unit_col(level: str) -> dict:
    return text_col("name", UNIT_HEADER[level])


def _text(v) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


# ---------------------------------------------------------------- the score
SCORE_COLS = [num_col("score", "Оценка, из 100"), num_col("completeness", "Полнота, %", 1),
              num_col("timeliness", "Своевременность, %", 1),
              num_col("consistency_time", "Согласованность во времени, %", 1),
              num_col("consistency_rules", "Согласованность показателей, %", 1),
              text_col("reasons", "Что снижает оценку")]


@table("dq-scores")
def scores_table(params: dict, scope) -> TableSpec:
    """The data-quality score of each unit with its components and reasons; the worst first."""
    rows = rows_param("dq-scores", params, scope)
    df = rows.only(DQ.scores(rows.period, rows.level, rows.parent_id, scope))
    records = [{"child_id": int(r["unit_id"]), "name": r["unit_name"], "score": _r(r["score"], 0),
                **{k: _r(r[k]) for k in ("completeness", "timeliness", "consistency_time", "consistency_rules")},
                "reasons": _text(r["reasons"]) or ("" if _f(r["score"]) is None else "—")}
               for r in df.to_dict("records")]
    records.sort(key=lambda r: (r["score"] is None, r["score"] if r["score"] is not None else 0, r["name"]))
    return TableSpec("dq-scores", rows.title("Оценка качества данных"),
                     f"{rows.period.label}. Оценка — взвешенное среднее полноты, своевременности и согласованности "
                     "(0–100); сначала худшие", [_unit_col(rows.level), *SCORE_COLS], records, rows.params)


# ---------------------------------------------------------------- outliers
def outlier_key(code: str, level: str, unit_id: int, month: dt.date) -> str:
    """The identity of an outlier: a row of the table, the subject of an acknowledgement."""
    return f"{code}|{level}|{int(unit_id)}|{month:%Y-%m}"


def parse_outlier_key(key) -> tuple[str, str, int, dt.date]:
    try:
        code, level, unit_id, month = str(key).split("|")
        return code, level, int(unit_id), dt.date(int(month[:4]), int(month[5:7]), 1)
    except (ValueError, IndexError):
        raise TableParamError("Выброс не распознан: выберите строку таблицы") from None


def data_link(code: str, level: str, unit_id: int, period: Period) -> str | None:
    """The indicator page drilled to the unit for the month: an organisation's doctors (where the indicator is
    computed for doctors), else the unit among its siblings (a doctor among his organisation's)."""
    reg = E.registry()
    u = U.unit(level, unit_id)
    if code not in reg or u is None:
        return None
    ind = reg[code]
    if level == "mo" and ind.valid_at("doctor"):
        return indicator_url(code, "doctor", u.id, period.key)
    parent = {"district": None, "mo": u.district_id, "doctor": u.mo_id}.get(level)
    return indicator_url(code, level, parent, period.key)


def value_text(v, code: str) -> str:
    """A value with the indicator's decimals and unit («87,4 %»)."""
    v = _f(v)
    if v is None:
        return ""
    reg = E.registry()
    if code not in reg:
        return fmt.number(v, 1)
    ind = reg[code]
    return f"{fmt.number(v, ind.decimals)} {ind.unit}".strip()


DIRECTIONS = {"high": "выше базы", "low": "ниже базы"}


def outlier_records(df: pd.DataFrame, level: str, p: Period) -> list[dict]:
    out = []
    for r in df.to_dict("records"):
        code, uid = r["code"], int(r["unit_id"])
        num, den = _f(r.get("numerator")), _f(r.get("denominator"))
        state = r.get("ack_state") if isinstance(r.get("ack_state"), str) else ""
        link = data_link(code, level, uid, p)
        direction = DIRECTIONS.get(r.get("direction"), "")
        if direction and r.get("worse") is True:
            direction += ", в худшую сторону"
        out.append({
            "key": outlier_key(code, level, uid, p.first), "code": code, "unit_id": uid, "level": level,
            "month": f"{p.first:%Y-%m}", "indicator": _text(r.get("indicator_short")) or code, "name": r["unit_name"],
            "value": _f(r.get("value")), "value_text": value_text(r.get("value"), code),
            "baseline": _f(r.get("baseline")), "baseline_text": value_text(r.get("baseline"), code),
            "z": _r(r.get("z")), "threshold": _r(r.get("threshold")), "direction": direction,
            "n_baseline": _r(r.get("n_baseline"), 0),
            "observations": "" if num is None else fmt.number(num) + ("" if den is None else f" / {fmt.number(den)}"),
            "acknowledged": bool(r.get("acknowledged") is True), "state_code": state,
            "state": STATE_NAMES.get(state, OPEN), "ack_comment": _text(r.get("ack_comment")),
            "data": f"[данные]({link})" if link else ""})
    # the open ones first, the farthest from their baseline first
    out.sort(key=lambda r: (r["acknowledged"], -abs(r["z"] or 0), r["indicator"], r["name"]))
    return out


OUTLIER_COLS = [text_col("indicator", "Показатель"), None, text_col("value_text", "Значение"),
                text_col("baseline_text", "База (медиана тех же месяцев прошлых лет)"),
                num_col("z", "Модифицированный z", 1, sign=True), num_col("threshold", "Порог |z|", 1),
                text_col("direction", "Отклонение"), num_col("n_baseline", "Значений в базе"),
                text_col("observations", "Числитель / знаменатель"), text_col("state", "Решение"),
                text_col("ack_comment", "Комментарий к решению"),
                {"name": "Данные", "id": "data", "presentation": "markdown"}]


@table("dq-outliers")
def outliers_table(params: dict, scope) -> TableSpec:
    """The month's values far from their unit's own seasonal baseline (organisations of a district or of the scope,
    doctors of an organisation), with the latest decision on each; the open ones first, the farthest first."""
    rows = rows_param("dq-outliers", params, scope)
    df = rows.only(DQ.outliers(rows.period, rows.level, rows.parent_id, scope))
    cols = [c if c is not None else _unit_col(rows.level) for c in OUTLIER_COLS]
    return TableSpec("dq-outliers", rows.title("Выбросы"),
                     f"{rows.period.label}. Выброс — значение, модифицированный z-показатель которого против базы "
                     "единицы (тот же месяц ±1 в прошлые годы) по модулю больше порога показателя; сначала не "
                     "рассмотренные, самые далёкие от базы", cols, outlier_records(df, rows.level, rows.period),
                     rows.params)


@table("dq-outlier-history")
def outlier_history_table(params: dict, scope) -> TableSpec:
    """Every decision on the month's outliers of the table's units (acknowledged, returned), the latest first."""
    rows = rows_param("dq-outlier-history", params, scope)
    shown = {(r["code"], r["unit_id"]) for r in outliers_table(params, scope).records}
    h = DQ.acknowledgements(rows.level, rows.period.first, scope=scope)
    reg = E.registry()
    records = []
    for r in h.to_dict("records"):
        if (r["code"], int(r["unit_id"])) not in shown:
            continue
        u = U.unit(r["level"], r["unit_id"])
        at = r["created_at"]
        records.append({"at": fmt.datetime(pd.Timestamp(at).to_pydatetime()) if at is not None else "",
                        "author": r["author"], "indicator": reg[r["code"]].short if r["code"] in reg else r["code"],
                        "name": u.name if u is not None else str(r["unit_id"]),
                        "state": STATE_NAMES.get(r["state"], r["state"]), "comment": r["comment"],
                        "key": outlier_key(r["code"], r["level"], int(r["unit_id"]), rows.period.first),
                        "ack_id": int(r["ack_id"])})
    records.sort(key=lambda r: -r["ack_id"])
    cols = [text_col("at", "Когда"), text_col("author", "Кто"), text_col("indicator", "Показатель"),
            _unit_col(rows.level), text_col("state", "Решение"), text_col("comment", "Комментарий")]
    return TableSpec("dq-outlier-history", rows.title("История решений по выбросам"),
                     f"{rows.period.label}. Каждое решение сохраняется; действует последнее", cols, records, rows.params)


# ---------------------------------------------------------------- consistency rules
RULE_COLS = [text_col("rule_name", "Правило"), None, text_col("left", "Левая часть"), text_col("op", "Условие"),
             text_col("right", "Правая часть"), text_col("result", "Результат"), num_col("excess", "Нарушение на")]


@table("dq-rules")
def rules_table(params: dict, scope) -> TableSpec:
    """The declared consistency rules for each unit; violations first, then the ones not judged."""
    rows = rows_param("dq-rules", params, scope)
    df = rows.only(DQ.rules(rows.period, rows.level, rows.parent_id, scope))
    records = []
    for r in df.to_dict("records"):
        ok = r.get("ok")
        judged = isinstance(ok, bool) or ok in (0, 1)
        left, right = _f(r.get("left_value")), _f(r.get("right_value"))
        records.append({
            "child_id": int(r["unit_id"]), "rule": r["rule"], "rule_name": r["rule_name"], "name": r["unit_name"],
            "left": f"{_text(r.get('left_label'))}: {fmt.number(left)}" if left is not None else _text(r.get("left_label")),
            "op": _text(r.get("op")),
            "right": f"{_text(r.get('right_label'))}: {fmt.number(right)}" if right is not None
            else _text(r.get("right_label")),
            "left_value": left, "right_value": right,
            "result": ("выполнено" if ok else "нарушено") if judged else f"не проверяется ({_text(r.get('skipped'))})",
            "ok": bool(ok) if judged else None, "excess": _r(r.get("excess"), 0) if judged and not ok else None})
    order = {False: 0, True: 1, None: 2}  # violations, then the rules that hold, the ones not judged last
    records.sort(key=lambda r: (order[r["ok"]], -(r["excess"] or 0), r["rule_name"], r["name"]))
    cols = [c if c is not None else _unit_col(rows.level) for c in RULE_COLS]
    return TableSpec("dq-rules", rows.title("Согласованность показателей"),
                     f"{rows.period.label}. Правила проверки, как в DHIS2: левая часть, условие, правая часть за "
                     "период; сначала нарушения, непроверенные (нет данных, мало наблюдений) — в конце", cols, records,
                     rows.params)


# ---------------------------------------------------------------- completeness and timeliness
COMPLETENESS_COLS = [num_col("months_expected", "Месяцев ожидалось"), num_col("months_reported", "Месяцев с данными"),
                     num_col("reporting_rate", "Полнота отчётности, %", 1), text_col("silent_months", "Нет данных за"),
                     num_col("emk_coverage", "Случаи с СЭМД в РЭМД, %", 1),
                     num_col("emk_timeliness", "СЭМД в течение суток, %", 1)]


@table("dq-completeness")
def completeness_table(params: dict, scope) -> TableSpec:
    """Reporting months expected and received over 12 months, the share of cases with a registered document and the
    share registered within a day, per unit; the worst reporting first."""
    rows = rows_param("dq-completeness", params, scope)
    df = rows.only(DQ.completeness(rows.period, rows.level, rows.parent_id, scope))
    records = [{"child_id": int(r["unit_id"]), "name": r["unit_name"],
                "months_expected": _r(r["months_expected"], 0), "months_reported": _r(r["months_reported"], 0),
                "reporting_rate": _r(r["reporting_rate"]), "silent_months": _text(r["silent_months"]),
                "emk_coverage": _r(r["emk_coverage"]), "emk_timeliness": _r(r["emk_timeliness"])}
               for r in df.to_dict("records")]
    big = 1e9
    records.sort(key=lambda r: (r["reporting_rate"] if r["reporting_rate"] is not None else big,
                                r["emk_coverage"] if r["emk_coverage"] is not None else big, r["name"]))
    return TableSpec("dq-completeness", rows.title("Полнота и своевременность"),
                     f"{rows.period.label}. Полнота — месяцы с данными из ожидаемых за 12 месяцев; СЭМД — доля закрытых "
                     "случаев с зарегистрированным документом и доля зарегистрированных в течение суток; сначала худшие",
                     [_unit_col(rows.level), *COMPLETENESS_COLS], records, rows.params)


# ---------------------------------------------------------------- population denominators
DENOMINATOR_COLS = [text_col("name", "Район"), num_col("attached", "Прикреплённое население"),
                    num_col("registered", "Население по данным Петростата"),
                    num_col("ratio", "Прикреплённые, % населения", 1), text_col("verdict", "Оценка")]


@table("dq-denominators")
def denominators_table(params: dict, scope) -> TableSpec:
    """The attached population of each district against its registered population (the city's line last); the
    districts outside the band first, the largest gaps first."""
    rows = rows_param("dq-denominators", params, scope)
    df = DQ.denominators(rows.period, scope)
    if rows.unit is not None:
        df = df[(df["level"] == "district") & (df["unit_id"].astype(int) == rows.unit.id)]
    lo, hi = CDQ.DENOMINATOR_BAND
    records = []
    for r in df.to_dict("records"):
        ok = r.get("ok")
        judged = isinstance(ok, bool)
        records.append({"child_id": int(r["unit_id"]) if r["level"] == "district" else 0, "level": r["level"],
                        "name": r["unit_name"], "attached": _r(r["attached"], 0), "registered": _r(r["registered"], 0),
                        "ratio": _r(r["ratio"]),
                        "verdict": ("в пределах" if ok else f"вне {fmt.number(lo)}–{fmt.number(hi)} %") if judged
                        else "нет данных", "ok": ok if judged else None})
    records.sort(key=lambda r: (r["level"] == "region", r["ok"] is not False, -abs((r["ratio"] or 100) - 100),
                                r["name"]))
    year = int(df["year"].iloc[0]) if len(df) and pd.notna(df["year"].iloc[0]) else None
    return TableSpec("dq-denominators", rows.title("Знаменатели: прикреплённое и зарегистрированное население"),
                     f"{rows.period.label}. Прикреплённые к поликлиникам, живущие в районе, против численности населения "
                     f"района по данным Петростата{f' на 1 января {year} года' if year else ''}; допустимо "
                     f"{fmt.number(lo)}–{fmt.number(hi)} %; сначала расхождения", DENOMINATOR_COLS, records,
                     rows.params)
