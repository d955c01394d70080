"""Reading-room kiosk mode: large touch targets, no downloads or copying, and an idle
reset that leaves nothing of the last visitor: not the query, not the URL, not Back."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

IDLE_SECONDS = 3


@pytest.fixture(scope="module")
def kiosk_server(browser_data):
    """The same index served with kiosk mode switched on in the server's settings."""
    from tests.browser.conftest import LiveServer

    srv = LiveServer(browser_data, env={"CHAYUE_KIOSK": "true", "CHAYUE_KIOSK_IDLE_MINUTES": "0.05"},
                     log_name="serve-kiosk.log")
    srv.start()
    yield srv
    srv.stop()


def test_server_configured_kiosk_needs_no_url_parameter(chromium, kiosk_server, problems):
    from tests.browser.conftest import DESKTOP, _open_page

    context, page = _open_page(chromium, kiosk_server.url, DESKTOP, problems)
    try:
        page.goto("/")
        expect(page.locator("html")).to_have_class(re.compile(r"\bkiosk\b"))
        page.fill("#q", "档案")
        page.press("#q", "Enter")
        expect(page.locator("#status")).to_contain_text("共 ")
        page.locator(".hit-title a").first.click()
        expect(page.locator("#doc-title")).to_be_visible()
        assert "kiosk" not in page.url
        expect(page.locator("#download")).to_be_hidden()
        # 0.05 minutes = 3 s of idleness, then the start page, plain "/".
        expect(page.locator("#start")).to_be_visible(timeout=10_000)
        assert page.url.rstrip("/") == kiosk_server.url
        expect(page.locator("#q")).to_have_value("")
    finally:
        context.close()
    assert not problems.dialogs and not problems.errors, problems.errors


def test_kiosk_has_large_touch_targets_and_no_downloads(page):
    page.goto("/?kiosk=1&q=%E6%A1%A3%E6%A1%88")
    expect(page.locator("html")).to_have_class(re.compile(r"\bkiosk\b"))
    expect(page.locator("#status")).to_contain_text("共 ")
    for selector in ("#q", ".search-button", "#sort", ".kiosk-end", ".hit-title a", "#facets label"):
        box = page.locator(selector).first.bounding_box()
        assert box and box["height"] >= 48, f"{selector} is {box and box['height']}px high"
    page.locator(".hit-title a").first.click()
    expect(page.locator("#doc-title")).to_be_visible()
    assert "kiosk=1" in page.url
    expect(page.locator("#download")).to_be_hidden()
    expect(page.locator("#copy-cite")).to_be_hidden()
    expect(page.locator("#print-button")).to_be_visible()
    assert page.locator(".page-text a[href^=http], #similar a[href^=http]").count() == 0


def test_idle_reset_clears_query_history_and_storage(page):
    page.goto(f"/?kiosk=1&idle={IDLE_SECONDS}")
    expect(page.locator("html")).to_have_class(re.compile(r"\bkiosk\b"))
    history_at_start = page.evaluate("history.length")
    page.fill("#q", "档案")
    page.press("#q", "Enter")
    expect(page.locator("#status")).to_contain_text("共 ")
    page.locator('#facets [data-field="collection"] input').first.check()
    expect(page).to_have_url(re.compile(r"collection="))
    page.evaluate("sessionStorage.setItem('chayue.test', 'x'); localStorage.setItem('chayue.test', 'x')")
    page.locator(".hit-title a").first.click()
    expect(page.locator("#doc-title")).to_be_visible()
    page.locator("#next-match").click()
    page.evaluate("""() => {  // the visitor selects some text
        const r = document.createRange(); r.selectNodeContents(document.querySelector('#doc-title'));
        getSelection().addRange(r);
    }""")
    # The visitor's whole session was one history entry: nothing to go Back to.
    assert page.evaluate("history.length") == history_at_start

    # Idle: the terminal goes back to the start page with nothing of this visitor.
    expect(page.locator("#start")).to_be_visible(timeout=(IDLE_SECONDS + 8) * 1000)
    assert "q=" not in page.url and "id=" not in page.url and "collection=" not in page.url
    assert "kiosk=1" in page.url
    expect(page.locator("#q")).to_have_value("")
    expect(page.locator("#results-layout")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0
    assert page.evaluate("localStorage.getItem('chayue.test')") is None
    assert page.evaluate("getSelection().toString()") == ""
    assert page.evaluate("history.length") == history_at_start

    # Back cannot reach the last visitor's search or document.
    page.go_back()
    page.wait_for_timeout(300)
    assert "q=" not in page.url and "id=" not in page.url
    if page.url.startswith("http"):
        expect(page.locator("#q")).to_have_value("")


def test_idle_timer_restarts_on_activity(page):
    page.goto("/?kiosk=1&idle=2")
    page.fill("#q", "宪法")
    page.press("#q", "Enter")
    for _ in range(4):  # keep touching the screen for longer than the idle time
        page.wait_for_timeout(800)
        page.mouse.wheel(0, 10)
    assert "q=" in page.url
    expect(page.locator("#start")).to_be_visible(timeout=8000)


def test_end_button_resets_at_once(page):
    page.goto("/?kiosk=1&q=%E5%AE%AA%E6%B3%95")
    expect(page.locator("#status")).to_contain_text("共 ")
    page.locator(".kiosk-end").click()
    expect(page.locator("#start")).to_be_visible()
    expect(page.locator("#q")).to_have_value("")
    assert "q=" not in page.url


def test_idle_override_needs_kiosk_in_the_url(page):
    page.goto("/?idle=1&q=%E5%AE%AA%E6%B3%95")
    expect(page.locator("#status")).to_contain_text("共 ")
    page.wait_for_timeout(2500)
    assert "q=" in page.url
    expect(page.locator("html")).not_to_have_class(re.compile(r"\bkiosk\b"))
