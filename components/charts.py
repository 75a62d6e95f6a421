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


def _layout(**kw) -> dict:
    base = {"separators": SEPARATORS, "template": {"layout": {"paper_bgcolor": "white", "plot_bgcolor": "white"}},
            "margin": {"l": 10, "r": 10, "t": 30, "b": 10}, "font": FONT,
            "xaxis": {"gridcolor": "#e9ecef", "zerolinecolor": "#dee2e6", "automargin": True},
            "yaxis": {"gridcolor": "#e9ecef", "zerolinecolor": "#dee2e6", "automargin": True}}
    for k, v in kw.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            base[k] = {**base[k], **v}
        else:
            base[k] = v
    return base


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
    x = [fmt.month_short(m) for m in df["month"]]
    hover = "%{x}: %{y:,." + str(decimals) + "f} " + unit + "<extra></extra>"
    data = [{"type": "scatter", "mode": "lines+markers", "name": "Значение", "x": x,
             "y": [None if v != v else float(v) for v in df["value"]], "line": {"color": "#0d6efd"},
             "hovertemplate": hover},
            {"type": "scatter", "mode": "lines", "name": "Цель", "x": x, "y": [float(v) for v in df["target"]],
             "line": {"color": "#212529", "dash": "dash"}, "hovertemplate": "цель %{y:,." + str(decimals) + "f}<extra></extra>"}]
    return {"data": data, "layout": _layout(height=300, title={"text": title}, legend={"orientation": "h", "y": -0.25},
                                            yaxis={"title": {"text": unit}})}


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
