"""Browser tests of the frame on narrow screens: no page wider than the window, the menu folds and opens."""
from __future__ import annotations

import time

import pytest

from tests.browser import click_fresh, open_page, sign_in, wait_text

pytestmark = pytest.mark.browser

PAGES = ["/", "/indicators", "/rating", "/emk", "/access", "/pregnancy", "/morbidity", "/prevention", "/tasks",
         "/no-such-page"]


@pytest.mark.parametrize("width", [1440, 1280, 1024])
def test_no_page_is_wider_than_a_narrow_window(dash_duo, city_app, width):
    sign_in(dash_duo, city_app, "chair")
    d = dash_duo.driver
    d.set_window_size(width, 900)
    wide = {}
    for path in PAGES:
        open_page(dash_duo, path)
        over = d.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
        if over > 1:
            wide[path] = over
    assert not wide, f"pages wider than {width} px (by how much): {wide}"
    if width >= 1400:  # the full menu is shown and fits
        assert d.find_element("css selector", "#user-menu").is_displayed()
        return
    # the menu is folded behind the toggler; opened, it shows the user menu with «Выйти»
    menu = d.find_element("css selector", "#user-menu")
    assert not menu.is_displayed()
    # the toggler opens the folded menu; a click that lands while the page is still settling is repeated
    end = time.time() + 60
    while not d.find_elements("css selector", "#nav-collapse.show") and time.time() < end:
        click_fresh(dash_duo, "#nav-toggler")
        for _ in range(30):
            if d.find_elements("css selector", "#nav-collapse.show"):
                break
            time.sleep(0.1)
    wait_text(dash_duo, "#user-menu", "Chair")
    assert d.find_element("css selector", "#user-menu").is_displayed()
