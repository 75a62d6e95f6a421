"""Helpers for browser tests driven by dash.testing (selenium with Debian's Chromium)."""
from __future__ import annotations

import time

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
    dash_duo.wait_for_element("#user-menu", timeout=20)
    dash_duo._url = dash_duo.server.url.rstrip("/")  # server_url without re-navigating


def wait_url(dash_duo, fragment: str, timeout: float = 20):
    end = time.time() + timeout
    while time.time() < end:
        if fragment in dash_duo.driver.current_url:
            return dash_duo.driver.current_url
        time.sleep(0.2)
    raise AssertionError(f"URL {dash_duo.driver.current_url} never contained {fragment!r}")


def wait_text(dash_duo, selector: str, text: str, timeout: float = 20):
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
