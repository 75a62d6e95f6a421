"""Sortable indicator table (DataTable) with Russian number formats."""
from __future__ import annotations

from dash import dash_table
from dash.dash_table.Format import Format, Scheme

from metrics.scoring import STATUS_NAMES

LOCALE = {"decimal": ",", "group": "\u00a0"}


def num(decimals: int) -> Format:
    return Format(precision=decimals, scheme=Scheme.fixed).group(True)


def indicator_columns(ind, level: str, with_district: bool) -> list[dict]:
    d = ind.decimals
    cols = [{"name": "Место", "id": "rank", "type": "numeric"},
            {"name": {"district": "Район", "mo": "Организация", "doctor": "Врач", "region": "Город"}[level],
             "id": "unit_name"}]
    if with_district:
        cols.append({"name": "Район", "id": "district_name"})
    if level == "doctor":
        cols.append({"name": "Специальность", "id": "specialty"})
    if ind.kind in ("ratio", "count"):
        cols.append({"name": "Числитель" if ind.kind == "ratio" else "Число", "id": "numerator", "type": "numeric",
                     "format": num(0)})
    if ind.kind in ("ratio", "percentile"):
        cols.append({"name": "Знаменатель" if ind.kind == "ratio" else "Записей", "id": "denominator", "type": "numeric",
                     "format": num(0)})
    cols += [{"name": f"Значение, {ind.unit}", "id": "value", "type": "numeric", "format": num(d)},
             {"name": "Цель", "id": "target", "type": "numeric", "format": num(d)},
             {"name": "К пред. периоду", "id": "d_prev", "type": "numeric", "format": num(d).sign("+")},
             {"name": "К прошлому году", "id": "d_ly", "type": "numeric", "format": num(d).sign("+")},
             {"name": "Оценка", "id": "status_name"}]
    return cols


def display_frame(rows, ind):
    """The rows as the table shows them (also what exports write)."""
    df = rows.copy()
    # places only for judged values: a value on too few observations or no value has none
    judged = df["value"].notna()
    if "few" in df:
        judged &= ~df["few"].astype(bool)
    df["rank"] = judged.cumsum().where(judged)
    df["d_prev"] = (df["value"] - df["previous_value"]).round(ind.decimals)
    df["d_ly"] = (df["value"] - df["last_year_value"]).round(ind.decimals)
    for c in ("value", "target"):
        df[c] = df[c].round(ind.decimals)
    df["status_name"] = df["status"].map(STATUS_NAMES)
    return df


def indicator_table(table_id, rows, ind, level: str, with_district: bool):
    df = display_frame(rows, ind)
    cols = indicator_columns(ind, level, with_district)
    keep = [c["id"] for c in cols] + ["unit_id", "status", "id"]  # "id" gives active_cell its row_id
    return dash_table.DataTable(
        id=table_id, columns=cols, data=df[[c for c in keep if c in df]].to_dict("records"),
        sort_action="native", page_action="native", page_size=25, locale_format=LOCALE,
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "fontSize": 13,
                    "padding": "4px 8px", "textAlign": "left"},
        style_cell_conditional=[{"if": {"column_type": "numeric"}, "textAlign": "right"}],
        style_data_conditional=[
            {"if": {"filter_query": '{status} = "good"', "column_id": "status_name"}, "color": "#198754"},
            {"if": {"filter_query": '{status} = "warn"', "column_id": "status_name"}, "color": "#b38600"},
            {"if": {"filter_query": '{status} = "bad"', "column_id": "status_name"}, "color": "#dc3545",
             "fontWeight": 600},
            {"if": {"filter_query": '{status} = "few"'}, "color": "#6c757d", "fontStyle": "italic"},
            {"if": {"column_id": "unit_name"}, "cursor": "pointer", "color": "#0d6efd"},
        ],
        style_header={"fontWeight": 600, "backgroundColor": "#f8f9fa"},
    )


def drilled_row(cell: dict | None, state: dict | None) -> int | None:
    """The row id of a click on the «name» column of a drillable table, or None.

    Pages put the child level of their table in ``state["child"]`` (None at the finest level), so
    a click there, on another column or on a row without an id, leads nowhere. The name column is
    ``state["drill_column"]`` («name» unless a ranking page says otherwise).
    """
    if not cell or not state or not state.get("child") or cell.get("column_id") != state.get("drill_column", "name") \
            or cell.get("row_id") is None:
        return None
    return int(cell["row_id"])

