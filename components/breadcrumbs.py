"""Breadcrumbs from the city down to the current unit."""
from __future__ import annotations

import dash_bootstrap_components as dbc


def breadcrumbs(items: list[tuple[str, str | None]]) -> dbc.Breadcrumb:
    """items: (label, href or None for the current one)."""
    return dbc.Breadcrumb(items=[{"label": label, "href": href, "active": href is None} for label, href in items],
                          className="mb-2", id="breadcrumbs")
