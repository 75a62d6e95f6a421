"""Plotly figures in the product's style: Russian separators, status colours, target lines.

Figures are plain dicts (what dcc.Graph sends to Plotly.js anyway): building graph objects
validates every property in Python and cost ~30 ms a figure — a third of a drill-down.
"""
from __future__ import annotations

from urllib.parse import quote

import pandas as pd

from core import fmt
from metrics.scoring import STATUS_COLORS

SEPARATORS = ", "  # decimal comma, space for thousands: 12 345,6
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}


# Full numbers with Russian digit groups on the axes: plotly's default abbreviations ("12k", "1.2M") are English.
AXIS = {"gridcolor": "#e9ecef", "zerolinecolor": "#dee2e6", "automargin": True, "exponentformat": "none",
        "separatethousands": True}


def _layout(**kw) -> dict:
    base = {"separators": SEPARATORS, "template": {"layout": {"paper_bgcolor": "white", "plot_bgcolor": "white"}},
            "margin": {"l": 10, "r": 10, "t": 30, "b": 10}, "font": FONT,
            "xaxis": AXIS, "yaxis": AXIS}
    for k, v in kw.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            base[k] = {**base[k], **v}
        else:
            base[k] = v
    return base


def symmetric_ticks(peak: float, per_side: int = 3) -> dict:
    """Axis ticks for a chart mirrored around zero (a population pyramid): positive labels on both sides."""
    import math
    raw = peak / per_side
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    vals = [k * step for k in range(-per_side, per_side + 1)]
    return {"tickmode": "array", "tickvals": vals, "ticktext": [fmt.number(abs(v)) for v in vals],
            "range": [-per_side * step * 1.05, per_side * step * 1.05]}


def _vline(x: float, text: str | None = None) -> tuple[dict, list]:
    shape = {"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
             "line": {"color": "#212529", "dash": "dash", "width": 1.5}}
    ann = [{"x": x, "xref": "x", "y": 1.0, "yref": "paper", "yanchor": "bottom", "text": text, "showarrow": False,
            "font": {"size": 11}}] if text else []
    return shape, ann


def empty(message: str) -> dict:
    return {"data": [], "layout": _layout(height=260, xaxis={"visible": False}, yaxis={"visible": False},
                                          annotations=[{"text": message, "showarrow": False, "xref": "paper",
                                                        "yref": "paper", "x": 0.5, "y": 0.5,
                                                        "font": {"size": 14, "color": "#6c757d"}}])}


def _fmt_hover(unit: str, decimals: int, axis: str = "x") -> str:
    return "%{y}: %{" + axis + ":,." + str(decimals) + "f} " + unit + "<extra></extra>"


def bars(rows: pd.DataFrame, unit: str, decimals: int, target: float | None, title: str = "") -> dict:
    """Horizontal bars of the children, coloured by status; customdata carries unit ids for drilling."""
    if rows.empty or rows["value"].notna().sum() == 0:
        return empty("Нет данных за период")
    d = rows[rows["value"].notna()].iloc[::-1]
    trace = {"type": "bar", "orientation": "h", "x": [float(v) for v in d["value"]], "y": list(d["unit_name"]),
             "marker": {"color": [STATUS_COLORS[s] for s in d["status"]]},
             # a plain list: a typed (NumPy) array does not reach Plotly's click events
             "customdata": [int(x) for x in d["unit_id"]],
             "text": [fmt.number(v, decimals) for v in d["value"]], "textposition": "outside", "cliponaxis": False,
             "hovertemplate": _fmt_hover(unit, decimals)}
    shapes, anns = [], []
    if target is not None:
        shape, anns = _vline(target, f"цель {fmt.number(target, decimals)}")
        shapes = [shape]
    return {"data": [trace], "layout": _layout(height=max(260, 22 * len(d) + 60), title={"text": title},
                                               xaxis={"title": {"text": unit}}, shapes=shapes, annotations=anns,
                                               clickmode="event", showlegend=False)}


def trend(df: pd.DataFrame, unit: str, decimals: int, title: str = "") -> dict:
    if df.empty or df["value"].notna().sum() == 0:
        return empty("Нет данных для динамики")
    months = list(df["month"])
    x = list(range(len(months)))
    names = [fmt.month_short(m) for m in months]
    hover = "%{customdata}: %{y:,." + str(decimals) + "f} " + unit + "<extra></extra>"
    data = [{"type": "scatter", "mode": "lines+markers", "name": "Значение", "x": x, "customdata": names,
             "y": [None if v != v else float(v) for v in df["value"]], "line": {"color": "#0d6efd"},
             "hovertemplate": hover},
            {"type": "scatter", "mode": "lines", "name": "Цель", "x": x, "y": [float(v) for v in df["target"]],
             "customdata": names, "line": {"color": "#212529", "dash": "dash"},
             "hovertemplate": "%{customdata}: цель %{y:,." + str(decimals) + "f}<extra></extra>"}]
    return {"data": data, "layout": _layout(height=300, title={"text": title}, legend={"orientation": "h", "y": -0.3},
                                            xaxis=month_ticks(months), yaxis={"title": {"text": unit}})}


def month_ticks(months: list) -> dict:
    """Horizontal month labels that fit: every few months a short name, the year under January and the first
    month (24 rotated «янв 2026» labels were clipped under the chart)."""
    step = max(1, -(-len(months) // 8))
    vals = [i for i in range(len(months)) if i % step == 0]
    text = [fmt.MONTHS_SHORT[months[i].month - 1] + (f"<br>{months[i].year}" if i == 0 or months[i].month <= step
                                                      else "") for i in vals]
    return {"tickmode": "array", "tickvals": vals, "ticktext": text, "tickangle": 0}


def spread(rows: pd.DataFrame, unit: str, decimals: int, target: float | None) -> dict:
    """How the children's values spread: a box with every unit as a point."""
    d = rows[rows["value"].notna()]
    if len(d) < 2:
        return empty("Разброс виден, когда единиц больше одной")
    vals = [float(v) for v in d["value"]]
    data = [{"type": "box", "x": vals, "boxpoints": False, "name": "", "line": {"color": "#6c757d"},
             "fillcolor": "rgba(108,117,125,0.1)", "hoverinfo": "skip"},
            {"type": "scatter", "mode": "markers", "x": vals, "y": [""] * len(vals), "text": list(d["unit_name"]),
             "marker": {"color": [STATUS_COLORS[s] for s in d["status"]], "size": 8, "opacity": 0.8},
             "hovertemplate": "%{text}: %{x:,." + str(decimals) + "f}<extra></extra>"}]
    shapes = [_vline(target)[0]] if target is not None else []
    return {"data": data, "layout": _layout(height=200, xaxis={"title": {"text": unit}}, showlegend=False, shapes=shapes)}


def sparkline_svg(values, color: str, width: int = 160, height: int = 40) -> str:
    """A trend line as an SVG data URI: drawn by the browser's image decoder, no plotly.js work per card.

    Scaled like a Plotly line (the values' range fills the height); missing months break the line.
    """
    ys = [None if v is None or v != v else float(v) for v in values]
    known = [v for v in ys if v is not None]
    pad = 3
    paths = []
    if known:
        lo, hi = min(known), max(known)
        span = (hi - lo) or 1.0
        step = (width - 2 * pad) / max(len(ys) - 1, 1)
        run: list[str] = []
        for i, v in enumerate(ys + [None]):
            if v is None:
                if len(run) > 1:
                    paths.append("M" + " L".join(run))
                elif len(run) == 1:  # a single month between gaps: a dot
                    x, y = run[0].split(",")
                    paths.append(f"M{x},{y} L{float(x) + 0.1:.1f},{y}")
                run = []
                continue
            y = height / 2 if hi == lo else pad + (hi - v) / span * (height - 2 * pad)
            run.append(f"{pad + i * step:.1f},{y:.1f}")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" preserveAspectRatio="none">'
           + "".join(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round" '
                     'stroke-linecap="round" vector-effect="non-scaling-stroke"/>' for d in paths)
           + "</svg>")
    return "data:image/svg+xml;charset=utf-8," + quote(svg)


def sparkline(df: pd.DataFrame, color: str, **style):
    """The 12-month trend of a KPI card or a card row: an image, not a graph."""
    from dash import html
    return html.Img(src=sparkline_svg(list(df["value"]) if len(df) else [], color), alt="динамика за 12 месяцев",
                    style={"width": "100%", "height": "40px", "display": "block", **style})


# ---------------------------------------------------------------- the districts as a tile map
TILE_XY = {"Курортный": (0, 5), "Выборгский": (2, 5), "Кронштадтский": (0, 4), "Приморский": (1, 4),
           "Калининский": (3, 4), "Красногвардейский": (4, 4), "Василеостровский": (1, 3), "Петроградский": (2, 3),
           "Центральный": (3, 3), "Невский": (4, 3), "Кировский": (1, 2), "Адмиралтейский": (2, 2), "Фрунзенский": (3, 2),
           "Петродворцовый": (0, 1), "Красносельский": (1, 1), "Московский": (2, 1), "Пушкинский": (2, 0),
           "Колпинский": (4, 0)}
# Standard short names of the districts, so that two tiles never read the same («Красно…» twice).
TILE_NAMES = {"Адмиралтейский": "Адмиралт.", "Василеостровский": "В. О.", "Выборгский": "Выборгск.",
              "Калининский": "Калинин.", "Кировский": "Кировск.", "Колпинский": "Колпин.",
              "Красногвардейский": "Красногв.", "Красносельский": "Красносел.", "Кронштадтский": "Кроншт.",
              "Курортный": "Курортн.", "Московский": "Московск.", "Невский": "Невский", "Петроградский": "Петрогр.",
              "Петродворцовый": "Петродв.", "Приморский": "Приморск.", "Пушкинский": "Пушкинск.",
              "Фрунзенский": "Фрунзен.", "Центральный": "Центральн."}
# Sequential: darker means a higher value (ColorBrewer Reds).
TILE_SCALE = [[0.0, "#fff5f0"], [0.25, "#fcbba1"], [0.5, "#fb6a4a"], [0.75, "#cb181d"], [1.0, "#67000d"]]


def tile_text_colors(values: list[float]) -> list[str]:
    """White text on the dark half of the scale, dark text on the light half (readable on every tile)."""
    lo, hi = min(values), max(values)
    span = hi - lo
    return ["#ffffff" if span and (v - lo) / span > 0.55 else "#212529" for v in values]


def district_tiles(rows: list[dict], unit: str) -> dict:
    """The 18 districts as square tiles placed like the map, coloured by value.

    Args:
        rows: name (a district), id (clicked through as customdata), value, hover.
        unit: the colour bar's title, in Russian units.
    """
    rows = [r for r in rows if r["name"] in TILE_XY]
    if not rows:
        return empty("Нет данных")
    values = [r["value"] for r in rows]
    return {"data": [{"type": "scatter", "mode": "markers+text", "x": [TILE_XY[r["name"]][0] for r in rows],
                      "y": [TILE_XY[r["name"]][1] for r in rows],
                      "text": [f"{TILE_NAMES.get(r['name'], r['name'])}<br>{fmt.number(r['value'], 0)}" for r in rows],
                      "customdata": [r["id"] for r in rows], "hovertext": [r["hover"] for r in rows],
                      "hoverinfo": "text", "textfont": {"size": 9, "color": tile_text_colors(values)},
                      "marker": {"symbol": "square", "size": 64, "color": values, "colorscale": TILE_SCALE,
                                 "showscale": True, "line": {"color": "white", "width": 2},
                                 "colorbar": {"title": {"text": unit}, "separatethousands": True}}}],
            "layout": _layout(height=460, xaxis={"visible": False, "range": [-0.6, 4.6]},
                              yaxis={"visible": False, "range": [-0.6, 5.6]}, clickmode="event")}
