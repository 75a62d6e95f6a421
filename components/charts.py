"""Plotly figures in the product's style: Russian separators, status colours, target lines."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from metrics.scoring import STATUS_COLORS

from . import fmt

SEPARATORS = ", "  # decimal comma, space for thousands: 12 345,6
BASE = dict(separators=SEPARATORS, template="plotly_white", margin=dict(l=10, r=10, t=30, b=10),
            font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=12))


def empty(message: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(**BASE, xaxis_visible=False, yaxis_visible=False, height=260,
                      annotations=[dict(text=message, showarrow=False, font=dict(size=14, color="#6c757d"))])
    return fig


def bars(rows: pd.DataFrame, unit: str, decimals: int, target: float | None, title: str = "") -> go.Figure:
    """Horizontal bars of the children, coloured by status; customdata carries unit ids for drilling."""
    if rows.empty or rows["value"].notna().sum() == 0:
        return empty("Нет данных за период")
    d = rows[rows["value"].notna()].iloc[::-1]
    height = max(260, 22 * len(d) + 60)
    fig = go.Figure(go.Bar(
        x=d["value"], y=d["unit_name"], orientation="h",
        marker_color=[STATUS_COLORS[s] for s in d["status"]],
        # a plain list: a typed (NumPy) array does not reach Plotly's click events
        customdata=[int(x) for x in d["unit_id"]],
        text=[fmt.number(v, decimals) for v in d["value"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:,." + str(decimals) + "f} " + unit + "<extra></extra>",
    ))
    if target is not None:
        fig.add_vline(x=target, line_dash="dash", line_color="#212529",
                      annotation_text=f"цель {fmt.number(target, decimals)}", annotation_position="top")
    fig.update_layout(**BASE, height=height, title=title, yaxis=dict(automargin=True), xaxis_title=unit,
                      clickmode="event")
    return fig


def trend(df: pd.DataFrame, unit: str, decimals: int, title: str = "") -> go.Figure:
    if df.empty or df["value"].notna().sum() == 0:
        return empty("Нет данных для динамики")
    x = [fmt.month_short(m) for m in df["month"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=df["value"], mode="lines+markers", name="Значение", line=dict(color="#0d6efd"),
                             hovertemplate="%{x}: %{y:,." + str(decimals) + "f} " + unit + "<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=df["target"], mode="lines", name="Цель", line=dict(color="#212529", dash="dash"),
                             hovertemplate="цель %{y:,." + str(decimals) + "f}<extra></extra>"))
    fig.update_layout(**BASE, height=300, title=title, legend=dict(orientation="h", y=-0.2), yaxis_title=unit)
    return fig


def spread(rows: pd.DataFrame, unit: str, decimals: int, target: float | None) -> go.Figure:
    """How the children's values spread: a box with every unit as a point."""
    d = rows[rows["value"].notna()]
    if len(d) < 2:
        return empty("Разброс виден, когда единиц больше одной")
    fig = go.Figure()
    fig.add_trace(go.Box(x=d["value"], boxpoints=False, name="", line=dict(color="#6c757d"),
                         fillcolor="rgba(108,117,125,0.1)", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=d["value"], y=[""] * len(d), mode="markers", text=d["unit_name"],
                             marker=dict(color=[STATUS_COLORS[s] for s in d["status"]], size=8, opacity=0.8),
                             hovertemplate="%{text}: %{x:,." + str(decimals) + "f}<extra></extra>"))
    if target is not None:
        fig.add_vline(x=target, line_dash="dash", line_color="#212529")
    fig.update_layout(**BASE, height=200, xaxis_title=unit, showlegend=False)
    return fig


def sparkline(df: pd.DataFrame, color: str) -> go.Figure:
    fig = go.Figure(go.Scatter(x=list(range(len(df))), y=df["value"], mode="lines", line=dict(color=color, width=2),
                               hoverinfo="skip"))
    fig.update_layout(separators=SEPARATORS, margin=dict(l=0, r=0, t=0, b=0), height=40, xaxis_visible=False,
                      yaxis_visible=False, plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)", showlegend=False)
    return fig
