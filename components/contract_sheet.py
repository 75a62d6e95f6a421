"""One person's effective-contract sheet as the page, the XLSX and the one-page PDF show it: the header, each part
of the period (a position held for some days) with its criteria — value, observations, rule, band met, points —
and the history of disagreement marks.

Like ``components.export`` (the tables' files), the sheet's files are written here, below the API and the pages
that both serve them. The PDF uses the DejaVu fonts shipped in ``components/fonts`` (Cyrillic on any machine).
"""
from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core import fmt
from data_access import units as U
from data_access.contract import MARK_STATES
from services import contract as C

from . import urls
from .contract import DISPUTED, opt_int, people, points, service, share_pct, sheet_params, since

FONTS = Path(__file__).resolve().parent / "fonts"
LEVEL_NAMES = {"doctor": "врач", "mo": "организация"}


def text_col(cid: str, name: str) -> dict:
    return {"name": name, "id": cid}


def num_col(cid: str, name: str, decimals: int = 2) -> dict:
    from .table import num
    return {"name": name, "id": cid, "type": "numeric", "format": num(decimals)}


SHEET_COLS = [text_col("name", "Критерий"), text_col("indicator", "Показатель"), text_col("level", "По"),
              text_col("value", "Значение"), text_col("basis", "Числитель / знаменатель"),
              text_col("rule", "Правило"), text_col("met", "Выполнено условие"), num_col("points", "Баллы"),
              num_col("max_points", "Максимум")]
MARK_COLS = [text_col("at", "Когда"), text_col("author", "Кто"), text_col("state", "Отметка"),
             text_col("criterion", "Критерий"), text_col("comment", "Комментарий")]


def value_text(r: dict) -> str:
    """«92,5 %», with «(мало наблюдений)» when the value rests on too few; «нет данных» without one."""
    v = r.get("value")
    if v is None or pd.isna(v):
        return "нет данных"
    d = r.get("decimals")
    d = 1 if d is None or pd.isna(d) else int(d)
    text = f"{fmt.number(float(v), d)} {r.get('unit') or ''}".strip()
    return text + (" (мало наблюдений)" if r.get("few") else "")


def basis_text(r: dict) -> str:
    n, d = r.get("numerator"), r.get("denominator")
    has = lambda x: x is not None and not pd.isna(x)  # noqa: E731
    if has(n) and has(d):
        return f"{fmt.number(float(n))} / {fmt.number(float(d))}"
    return fmt.number(float(n)) if has(n) else ""


def data_link(r: dict, period: str) -> str | None:
    """The indicator page at the criterion's level for the period — the doctors of the organisation, or the
    organisations of the district — where the value stands with its numerator and denominator."""
    if r["level_code"] == "doctor":
        return urls.indicator(r["indicator_code"], "doctor", r["parent"], period) if r["parent"] else None
    u = U.unit("mo", r["unit_id"]) if r.get("unit_id") else None
    return urls.indicator(r["indicator_code"], "mo", u.district_id, period) if u else None


def criteria_records(part, period: str) -> list[dict]:
    """A part's criteria as the sheet shows them (the screen, the XLSX and the PDF)."""
    if part.criteria is None or part.criteria.empty:
        return []
    out = []
    for r in part.criteria.to_dict("records"):
        rec = {"code": r["code"], "name": r["name"], "indicator": r["indicator_short"],
               "indicator_code": r["indicator"], "level": LEVEL_NAMES.get(r["level"], r["level"]),
               "level_code": r["level"], "parent": opt_int(r.get("parent")), "unit_id": opt_int(r.get("unit_id")),
               "value": value_text(r), "basis": basis_text(r), "rule": r["rule"], "met": r["met"],
               "few": bool(r.get("few")), "points": points(r["points"]), "max_points": points(r["max_points"])}
        rec["link"] = data_link(rec, period)
        out.append(rec)
    return out


def part_title(part) -> str:
    return f"{part.position_name}: {fmt.date(part.start)} – {fmt.date(part.end)}"


def part_subtitle(part) -> str:
    days = f"{fmt.number(part.days)} из {fmt.number(part.period_days)} дн."
    if not part.scheme_code:
        return f"{days}; {part.note or 'схемы нет'}"
    scheme = (f"схема «{part.scheme_name}», версия {part.scheme_version} (действует с "
              f"{since(part.scheme_valid_from)})")
    score = (f"баллы {fmt.number(part.points, 2)} из {fmt.number(part.max_points, 2)}, доля премии "
             f"{fmt.percent(share_pct(part.share))}")
    return f"{days}; {scheme}; {score}" + (f". {part.note}" if part.note else "")


def mark_records(marks: pd.DataFrame, criteria_names: dict[str, str]) -> list[dict]:
    who = people()
    out = []
    for r in marks.to_dict("records"):
        at = r["at"]
        at = pd.Timestamp(at).to_pydatetime() if at is not None and not pd.isna(at) else None
        crit = r.get("criterion")
        crit = "" if crit is None or pd.isna(crit) else criteria_names.get(crit, crit)
        out.append({"at": fmt.datetime(at), "author": who(r["author"]), "login": r["author"],
                    "state": MARK_STATES.get(r["state"], r["state"]),
                    "state_code": r["state"], "criterion": crit or "весь расчёт", "comment": r["comment"]})
    return out


@dataclass
class SheetView:
    """A sheet as the page, the XLSX and the PDF show it."""
    title: str
    lines: list[tuple[str, str]]                      # (label, value) of the header
    parts: list[tuple[str, str, list[dict]]]          # (title, subtitle, criteria rows)
    marks: list[dict]
    criteria: dict[str, str]                          # criterion code → name (the mark form's choice)


def sheet_view(sh, period: str) -> SheetView:
    person = sh.person
    crit, parts = {}, []
    for part in sh.parts:
        rows = criteria_records(part, period)
        crit.update({r["code"]: r["name"] for r in rows})
        parts.append((part_title(part), part_subtitle(part), rows))
    lines = [("Сотрудник", person["full_name"]), ("Табельный номер", str(person["personnel_no"])),
             ("Организация", person["mo_name"]), ("Должность", person.get("position_name", "")),
             ("Период", person["period_label"]),
             ("Баллы", f"{fmt.number(sh.points, 2)} из {fmt.number(sh.max_points, 2)}"),
             ("Доля премии", fmt.percent(share_pct(sh.share))),
             ("Отметка о несогласии", DISPUTED if person.get("disputed") else "нет")]
    return SheetView(f"Оценка по эффективному контракту — {person['full_name']}", lines, parts,
                     mark_records(sh.marks, crit), crit)


def sheet_of(params: dict):
    """(sheet, view, period) for URL-like parameters: refusals first, then bad input as TableParamError."""
    a, mo, person, p = sheet_params(params)
    sh = service(C.sheet, p, mo.id, person, a)
    return sh, sheet_view(sh, p.key), p


def filename(sh, period) -> str:
    return f"contract_{sh.person['mo_id']}_{sh.person['personnel_no']}_{period.key}".replace("/", "-")[:120]


# ---------------------------------------------------------------- XLSX
def sheet_xlsx(view: SheetView) -> bytes:
    """The sheet as a workbook: the header, each part's criteria (the screen's columns), the marks."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    wb = Workbook()
    ws = wb.active
    ws.title = "Оценка"
    ws.append([view.title])
    ws["A1"].font = Font(bold=True, size=12)
    for label, value in view.lines:
        ws.append([label, value])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
    for title, subtitle, rows in view.parts:
        ws.append([])
        ws.append([title])
        ws.cell(ws.max_row, 1).font = Font(bold=True, size=11)
        ws.append([subtitle])
        if rows:
            _xlsx_table(ws, SHEET_COLS, rows, Font)
    ws.append([])
    ws.append(["История отметок о несогласии"])
    ws.cell(ws.max_row, 1).font = Font(bold=True, size=11)
    if view.marks:
        _xlsx_table(ws, MARK_COLS, view.marks, Font)
    else:
        ws.append(["Отметок нет"])
    for i, w in enumerate((34, 26, 14, 20, 18, 46, 22, 10, 10), start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xlsx_table(ws, cols: list[dict], rows: list[dict], font) -> None:
    ws.append([c["name"] for c in cols])
    for cell in ws[ws.max_row]:
        cell.font = font(bold=True)
    for r in rows:
        ws.append([r.get(c["id"]) for c in cols])
        for i, c in enumerate(cols, start=1):
            if c.get("type") == "numeric":
                ws.cell(ws.max_row, i).number_format = "#,##0.00"


# ---------------------------------------------------------------- the one-page PDF
PDF_WIDTHS = (46, 30, 16, 26, 24, 62, 34, 16, 16)   # mm of the criteria columns; A4 landscape: 277 mm usable
MARK_WIDTHS = (30, 34, 30, 50, 133)
MAX_MARKS = 8  # the latest marks on the page (the XLSX and the page have them all)


def sheet_pdf(view: SheetView) -> bytes:
    """The sheet on one A4 page (landscape): a smaller font and fewer marks until it fits."""
    for size, marks in ((8, MAX_MARKS), (7, MAX_MARKS), (6.5, 5), (6, 3), (5.5, 0), (5, 0)):
        pdf = _pdf(view, size, marks)
        if pdf.pages_count == 1:
            break
    return bytes(pdf.output())


def _pdf(view: SheetView, size: float, max_marks: int):
    from fpdf import FPDF
    from fpdf.fonts import FontFace
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_margins(10, 8, 10)
    pdf.set_auto_page_break(True, margin=8)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(view.title)
    pdf.set_creator("ИАМ")
    pdf.add_page()
    line = size * 0.5

    def heading(text: str, bigger: float = 1):
        pdf.set_font("DejaVu", "B", size + bigger)
        pdf.multi_cell(0, (size + bigger) * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", size)

    heading(view.title, 4)
    pdf.ln(1)
    pdf.set_font("DejaVu", "", size + 1)
    pdf.multi_cell(0, (size + 1) * 0.5, "   ·   ".join(f"{label}: {value}" for label, value in view.lines[1:]),
                   new_x="LMARGIN", new_y="NEXT")
    head = FontFace(emphasis="BOLD", fill_color=(235, 238, 242))
    for title, subtitle, rows in view.parts:
        pdf.ln(1.5)
        heading(title)
        pdf.multi_cell(0, line, subtitle, new_x="LMARGIN", new_y="NEXT")
        if rows:
            with pdf.table(col_widths=PDF_WIDTHS, headings_style=head, line_height=line, padding=0.6,
                           text_align=("LEFT",) * 7 + ("RIGHT", "RIGHT")) as t:
                t.row([c["name"] for c in SHEET_COLS])
                for r in rows:
                    t.row([_pdf_cell(r.get(c["id"]), c) for c in SHEET_COLS])
    pdf.ln(1.5)
    marks = view.marks[-max_marks:] if max_marks else []
    shown = f" (последние {len(marks)} из {len(view.marks)}; все — в XLSX)" if len(marks) < len(view.marks) else ""
    heading("История отметок о несогласии" + shown)
    if marks:
        with pdf.table(col_widths=MARK_WIDTHS, headings_style=head, line_height=line, padding=0.6) as t:
            t.row([c["name"] for c in MARK_COLS])
            for r in marks:
                t.row([str(r.get(c["id"]) or "") for c in MARK_COLS])
    elif not view.marks:
        pdf.multi_cell(0, line, "Отметок нет", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("DejaVu", "", max(size - 1, 4))
    pdf.multi_cell(0, line, f"Сформировано в ИАМ {fmt.datetime(dt.datetime.now())}", new_x="LMARGIN", new_y="NEXT")
    return pdf


def _pdf_cell(v, col: dict) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return fmt.number(v, 2) if col.get("type") == "numeric" else str(v)
