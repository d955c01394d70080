"""Screenshots of the search page, the document view and kiosk mode at desktop and phone
width, written to tests/artifacts/ for a person to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser

VIEWS = {
    "start": "/",
    "search": "/?q=%E6%A1%A3%E6%A1%88",
    "browse": "/?sort=date_desc",
    "zero": "/?q=%E6%A1%A3%E6%A1%88%20%E9%87%8F%E5%AD%90%E7%BA%A0%E7%BC%A0",
    "document": "/doc.html?id=a442eba8f254&q=%E6%A1%A3%E6%A1%88&m=3",
    "kiosk-search": "/?kiosk=1&q=%E6%A1%A3%E6%A1%88",
    "kiosk-document": "/doc.html?id=a442eba8f254&q=%E6%A1%A3%E6%A1%88&kiosk=1",
}


@pytest.mark.parametrize("width", ["desktop", "phone"])
@pytest.mark.parametrize("view", list(VIEWS))
def test_screenshot(chromium, server, artifacts, view, width):
    viewport = DESKTOP if width == "desktop" else PHONE
    context = chromium.new_context(viewport=viewport, base_url=server, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(VIEWS[view])
        if view.endswith("document"):
            expect(page.locator("#doc-title")).to_be_visible()
            page.wait_for_load_state("networkidle")
        elif view != "start":
            expect(page.locator("#status")).to_contain_text("共 ")
        else:
            expect(page.locator("#stats")).to_contain_text("件")
        page.screenshot(path=artifacts / f"{view}-{width}.png")
        if width == "phone" and view == "search":
            page.locator("#filter-toggle").click()
            page.screenshot(path=artifacts / f"{view}-{width}-filters.png", full_page=True)
    finally:
        context.close()
