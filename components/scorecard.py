"""Scorecard: units × indicators, cells coloured by target attainment (DHIS2 scorecard style)."""
from __future__ import annotations

from dash import dcc, html

from core import fmt
from metrics.scoring import STATUS_COLORS, STATUS_NAMES

LIGHT = {"good": "#d1e7dd", "warn": "#fff3cd", "bad": "#f8d7da", "none": "#f1f3f5", "few": "#f8f9fa"}


def scorecard(units: list[tuple[int, str, str | None]], indicators, cells: dict, table_id: str = "scorecard"):
    """units: (id, name, link); cells[(unit_id, code)] = (value, status, link)."""
    head = html.Thead(html.Tr([html.Th("")] + [html.Th(dcc.Link(i.short, href=f"/indicator/{i.code}"),
                                                       className="small text-center", title=i.name)
                                               for i in indicators]))
    body = []
    for uid, name, link in units:
        tds = [html.Th(dcc.Link(name, href=link) if link else name, className="small text-nowrap")]
        for ind in indicators:
            value, status, href = cells.get((uid, ind.code), (None, "none", None))
            text = fmt.number(value, ind.decimals)
            content = dcc.Link(text, href=href, className="text-reset text-decoration-none") if href else text
            tds.append(html.Td(content, className="text-center small",
                               style={"backgroundColor": LIGHT[status], "borderLeft": f"3px solid {STATUS_COLORS[status]}"},
                               title=f"{ind.short}: {STATUS_NAMES[status]}"))
        body.append(html.Tr(tds))
    return html.Div(html.Table([head, html.Tbody(body)], className="table table-sm table-bordered mb-0", id=table_id),
                    className="table-responsive")


def legend():
    return html.Div([html.Span([html.Span("■ ", style={"color": STATUS_COLORS[k]}), v], className="me-3 small")
                     for k, v in STATUS_NAMES.items()], className="mt-1")
