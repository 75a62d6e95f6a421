"""Exports that match the screen: the same columns, order, rounding and labels as the table."""
from __future__ import annotations

import io
import math

import pandas as pd

from core import fmt


def _cell(v, col: dict):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if col.get("type") == "numeric" and isinstance(v, (int, float)):
        spec = col.get("format")
        decimals = spec.to_plotly_json()["specifier"].split(".")[-1][0] if spec is not None else "0"
        d = int(decimals) if decimals.isdigit() else 0
        signed = spec is not None and spec.to_plotly_json()["specifier"].startswith("+")
        return fmt.number(v, d, sign=signed).replace("\u00a0", " ").replace("−", "-")
    return str(v)


def _header(col: dict) -> str:
    n = col["name"]
    return " / ".join(n) if isinstance(n, list) else n


def to_csv(records: list[dict], columns: list[dict]) -> bytes:
    """CSV for Excel in Russian locale: ';' separator, decimal comma, UTF-8 with BOM."""
    import csv
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow([_header(c) for c in columns])
    for r in records:
        w.writerow([_cell(r.get(c["id"]), c) for c in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(records: list[dict], columns: list[dict], title: str, subtitle: str = "") -> bytes:
    """XLSX with a title row, the table's headers and numbers kept as numbers (rounded as shown)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    wb = Workbook()
    ws = wb.active
    ws.title = "Данные"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=12)
    ws.append([subtitle])
    ws.append([_header(c) for c in columns])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for r in records:
        row = []
        for c in columns:
            v = r.get(c["id"])
            if isinstance(v, float) and math.isnan(v):
                v = None
            row.append(v)
        ws.append(row)
    for i, c in enumerate(columns, start=1):
        if c.get("type") == "numeric":
            spec = c.get("format")
            d = 0
            if spec is not None:
                tail = spec.to_plotly_json()["specifier"].split(".")[-1]
                d = int(tail[0]) if tail[:1].isdigit() else 0
            number_format = "#,##0" + ("." + "0" * d if d else "")
            for row in ws.iter_rows(min_row=4, min_col=i, max_col=i):
                for cell in row:
                    cell.number_format = number_format
        ws.column_dimensions[get_column_letter(i)].width = max(12, min(45, len(_header(c)) + 4))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def frame_records(df: pd.DataFrame, columns: list[dict]) -> list[dict]:
    ids = [c["id"] for c in columns]
    return df[[i for i in ids if i in df.columns]].to_dict("records")
