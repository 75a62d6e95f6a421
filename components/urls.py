"""URLs of views: the query string holds the whole state of a page, so links can be shared."""
from __future__ import annotations

from urllib.parse import urlencode


def indicator(code: str, level: str, parent: int | None = None, period: str | None = None) -> str:
    q = {"level": level}
    if parent is not None:
        q["parent"] = int(parent)
    if period:
        q["period"] = period
    return f"/indicator/{code}?{urlencode(q)}"


def export(what: str, fmt: str, /, **params) -> str:
    """The address of an export (``what``: indicator, table/<name>) with its parameters (``kind`` among them)."""
    q = {k: v for k, v in params.items() if v is not None}
    return f"/export/{what}.{fmt}?{urlencode(q)}"
