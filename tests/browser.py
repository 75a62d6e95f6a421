"""Helpers for browser tests driven by dash.testing (selenium with Debian's Chromium)."""
from __future__ import annotations

import time
from urllib.parse import unquote

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests.conftest import PASSWORD


def sign_in(dash_duo, app, login: str):
    # the server's root redirects to the (non-Dash) login form, so no automatic wait for Dash there
    dash_duo.start_server(app.dash_app, navigate=False)
    d = dash_duo.driver
    d.get(dash_duo.server.url + "/login")
    d.find_element(By.ID, "login").send_keys(login)
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.ID, "login-submit").click()
    dash_duo._url = dash_duo.server.url.rstrip("/")  # server_url without re-navigating
    end = time.time() + READY_TIMEOUT
    while "/login" in d.current_url and time.time() < end:
        time.sleep(0.05)
    wait_ready(dash_duo)


# Generous on purpose: a readiness wait ends as soon as the page is ready, and a busy machine may need long.
READY_TIMEOUT = 90


def address(d) -> str:
    """The browser's address without scheme and host, decoded (``/emk?period=2026-09``)."""
    url = d.current_url.split("://", 1)[1]
    return unquote(url[url.index("/"):])


def wait_marker(d, url: str | None = None, timeout: float = READY_TIMEOUT, poll: float = 0.05) -> float:
    """Wait until ``#page-ready`` names ``url`` (default: the browser's address); returns the moment (perf_counter).

    The marker is written by the router's render of exactly that address (components/shell.py), so an
    old page still on screen, or a render still in flight, does not count. Shared with bench/browser.py.
    """
    end = time.perf_counter() + timeout
    marker = None
    while time.perf_counter() < end:
        marker = d.execute_script("const m = document.getElementById('page-ready'); "
                                  "return m ? m.getAttribute('data-url') : null;")
        if marker is not None and unquote(marker) == (url or address(d)):
            return time.perf_counter()
        time.sleep(poll)
    raise AssertionError(f"the page {address(d)} did not finish loading in {timeout:.0f} s (marker: {marker!r})")


def wait_ready(dash_duo, timeout: float = READY_TIMEOUT) -> str:
    """Wait until the page for the browser's current address has rendered; returns the address."""
    wait_marker(dash_duo.driver, timeout=timeout)
    return dash_duo.driver.current_url


def open_page(dash_duo, path: str) -> str:
    """Open an address of the app as a typed or shared link, and wait until its page has rendered."""
    dash_duo.driver.get(dash_duo.server_url + path)
    return wait_ready(dash_duo)


def wait_url(dash_duo, fragment: str, timeout: float = READY_TIMEOUT):
    """Wait until the address contains ``fragment`` and the page for it has rendered."""
    end = time.time() + timeout
    while time.time() < end:
        if fragment in dash_duo.driver.current_url:
            return wait_ready(dash_duo, max(end - time.time(), 1))
        time.sleep(0.1)
    raise AssertionError(f"URL {dash_duo.driver.current_url} never contained {fragment!r}")


def wait_text(dash_duo, selector: str, text: str, timeout: float = 20):
    """Wait for a text: after ``wait_ready`` it is there at once, unless a callback of the page still fills it."""
    dash_duo.wait_for_contains_text(selector, text, timeout=timeout)


def click_bar(dash_duo, graph_id: str, index: int = -1):
    """Click a bar (or a scatter point) of a Plotly chart the way a mouse does (hover, then click)."""
    bars = dash_duo.find_elements(f"#{graph_id} g.point path") or dash_duo.find_elements(f"#{graph_id} path.point")
    assert bars, "the chart has no bars or points"
    ActionChains(dash_duo.driver).move_to_element(bars[index]).pause(0.3).click().perform()


def clean_log(dash_duo) -> list:
    """Browser console entries worse than info (none expected)."""
    return [e for e in (dash_duo.get_logs() or []) if e.get("level") not in ("INFO", "DEBUG")]


def click(dash_duo, element):
    """Click an element; when something overlaps it, scroll it into view and click it directly."""
    from selenium.common.exceptions import ElementClickInterceptedException
    try:
        element.click()
    except ElementClickInterceptedException:
        # charts above still laying out can keep it out of view: send the click to the element itself
        dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)


def click_fresh(dash_duo, selector: str, pick=None, timeout: float = READY_TIMEOUT) -> str:
    """Find and click an element by selector, again if a late callback re-rendered it under the cursor
    (a stale element); returns the clicked element's text.

    Args:
        pick: chooses the element among the matches (default: the first).
    """
    from selenium.common.exceptions import StaleElementReferenceException
    end = time.time() + timeout
    while True:
        try:
            found = dash_duo.find_elements(selector)
            chosen = (pick or (lambda xs: xs[0] if xs else None))(found)
            if chosen is None:
                raise AssertionError(f"nothing matches {selector}")
            text = chosen.text
            click(dash_duo, chosen)
            return text
        except (StaleElementReferenceException, AssertionError):
            if time.time() > end:
                raise
            time.sleep(0.2)
