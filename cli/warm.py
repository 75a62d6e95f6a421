"""Warming the loader cache: the default views of the city and of every district, rendered once per data version.

A person's first open of a page then reads computed values from the cache instead of the marts. The
pages are rendered by their own ``layout()`` in a request context whose user has the scope in question,
so exactly what a person would open is computed, under that person's row-level scope (which is part of
every cache key). Organisation heads' views are not warmed: there are hundreds of them, and their pages
read one organisation's rows, which is quick.

``start(app)`` runs it in a background thread of a serving process: at start, and again whenever the
marts' data version changes (a rebuild by the CLI or a scheduled job); one process per data version does
the work (an atomic ``add`` in the shared disk cache), the others find the values there.
"""
from __future__ import annotations

import logging
import threading
import time
from urllib.parse import parse_qsl, urlsplit

import dash
from flask import Flask, g

from data_access import units as U
from security.users import User

log = logging.getLogger("iam.warm")

# what a menu click opens (no parameters), and the person's own card
PAGES = ["/", "/rating", "/emk", "/access", "/pregnancy", "/morbidity", "/unit"]


def personas() -> list[User]:
    """One user per warmed scope: the committee (the whole city) and a head of each district."""
    out = [User(user_id=0, login="warmup", full_name="warmup", role="committee", district_id=None, mo_id=None,
                is_active_flag=True)]
    for r in U.districts().itertuples():
        out.append(User(user_id=0, login="warmup", full_name="warmup", role="district", district_id=int(r.district_id),
                        mo_id=None, is_active_flag=True))
    return out


def render(app: Flask, user: User, url: str) -> None:
    """Build one page's layout as ``user`` would get it (its values land in the cache)."""
    parts = urlsplit(url)
    page = next((p for p in dash.page_registry.values() if p.get("path") == parts.path), None)
    if page is None:
        raise LookupError(f"no page at {parts.path}")
    with app.test_request_context(url):
        g.iam_user = user
        page["layout"](**dict(parse_qsl(parts.query)))


def warm(app: Flask, pages: list[str] = PAGES) -> dict:
    """Render the default views for every warmed scope; returns what was done and how long it took."""
    t0 = time.perf_counter()
    done, failed = 0, []
    with app.app_context():
        people = personas()
    for user in people:
        extra = []
        if user.role == "committee" and pages is PAGES:  # the committee opens district cards from the rating
            extra = [f"/unit?level=district&id={p.district_id}" for p in people if p.role == "district"]
        for url in list(pages) + extra:
            try:
                render(app, user, url)
                done += 1
            except Exception as exc:  # a broken view must not stop the others; it is logged and named
                log.exception("warming %s for %s failed", url, user.role)
                failed.append(f"{url} ({user.role} {user.district_id or ''}): {exc}")
    return {"views": done, "failed": failed, "seconds": round(time.perf_counter() - t0, 1)}


def claim(app: Flask) -> bool:
    """True for the one process that warms the current data version (an atomic ``add`` in the shared disk cache)."""
    cache = app.extensions["iam"]["cache"]
    with app.app_context():
        cache.touch()  # the version as it is now, not as read a few seconds ago
        version = cache.data_version()
    return bool(cache.store.add(f"iam:warmed:{cache.db.url}:{version}", time.time(), expire=7 * 86400))


def start(app: Flask, interval: float = 300.0) -> threading.Thread | None:
    """Warm in a daemon thread now and after every change of the data version; None when caching is off."""
    cache = app.extensions["iam"]["cache"]
    if cache.timeout <= 0:
        return None

    def loop():
        while True:
            try:
                if claim(app):
                    result = warm(app)
                    log.warning("cache warmed: %s views in %s s%s", result["views"], result["seconds"],
                                f"; failed: {result['failed']}" if result["failed"] else "")
            except Exception:
                log.exception("cache warming stopped for this round")
            time.sleep(interval)

    t = threading.Thread(target=loop, name="iam-warm", daemon=True)
    t.start()
    return t
