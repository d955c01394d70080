"""HTML in a document's title or text is shown as text: nothing runs, nothing loads."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import HOSTILE_ID, HOSTILE_TITLE, HOSTILE_WORD

pytestmark = pytest.mark.browser


def test_script_and_img_in_a_snippet_render_as_text(page, problems):
    page.goto("/")
    page.fill("#q", HOSTILE_WORD)
    page.press("#q", "Enter")
    hit = page.locator(".hit", has=page.locator(f'a[href*="{HOSTILE_ID}"]'))
    expect(hit).to_have_count(1)
    expect(hit.locator(".hit-title")).to_have_text(HOSTILE_TITLE)
    snippets = hit.locator(".snippets")
    expect(snippets).to_contain_text("<script>alert('snippet')</script>")
    expect(snippets).to_contain_text("<img src=x onerror=alert('img')>")
    expect(snippets.locator("mark").first).to_have_text(HOSTILE_WORD)
    assert page.locator("#hits script, #hits img, #hits b").count() == 0
    page.wait_for_timeout(300)
    assert problems.dialogs == []


def test_script_and_img_in_the_document_view_render_as_text(page, problems):
    page.goto(f"/doc.html?id={HOSTILE_ID}&q={HOSTILE_WORD}")
    expect(page.locator("#doc-title")).to_have_text(HOSTILE_TITLE)
    text = page.locator("#pages .page-text").first
    expect(text).to_contain_text("<script>alert('snippet')</script>")
    expect(text).to_contain_text("<img src=x onerror=alert('img')>")
    expect(text).to_contain_text("&lt;b&gt; 也应原样显示")
    assert page.locator("#doc script, #doc img[src='x']").count() == 0
    page.locator("#cite-button").click()
    expect(page.locator("#cite-text")).to_contain_text("<img src=x onerror=alert('title')>")
    assert page.title().startswith(HOSTILE_TITLE)
    page.wait_for_timeout(300)
    assert problems.dialogs == []
