"""A question typed as it is asked, on the search page in a real browser: the page says it was
read as a question, shows the answering article first, opens the document at that article,
and offers the exact reading; keywords typed together find the documents holding them apart."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_search_page import search

pytestmark = pytest.mark.browser

QUESTION = "档案馆的档案一般过多少年向社会开放？"


def test_a_question_shows_the_answering_article_first_and_opens_the_document_there(page, artifacts):
    page.goto("/")
    search(page, QUESTION)
    expect(page.locator(".reading")).to_contain_text("按问题检索")
    first = page.locator(".answers .answer").first
    expect(first.locator(".answer-link")).to_have_text("中华人民共和国档案法 第二十七条")
    expect(first.locator(".answer-text mark").first).to_be_visible()
    page.screenshot(path=str(artifacts / "question-answers.png"), full_page=False)
    first.locator(".answer-link").click()
    page.wait_for_url("**/doc.html**#art-*")
    anchor = page.locator("[id='art-第二十七条']")
    expect(anchor).to_be_attached()
    # Opened at the article: it is on screen, not the document's first lines.
    page.wait_for_function("""() => {
        const r = document.getElementById('art-第二十七条').getBoundingClientRect();
        return r.top >= 0 && r.top < window.innerHeight; }""")
    page.screenshot(path=str(artifacts / "question-article.png"), full_page=False)


def test_the_exact_reading_is_offered_and_back(page):
    page.goto("/")
    search(page, QUESTION)
    page.locator(".reading a.other-reading").click()
    expect(page.locator("#status")).to_contain_text("共 0 条")
    assert "reading=exact" in page.url
    expect(page.locator(".reading")).to_contain_text("按原文精确检索")
    page.locator(".reading a.other-reading").click()
    expect(page.locator(".answers .answer").first).to_be_visible()


def test_keywords_typed_together_find_the_speech(page):
    page.goto("/")
    search(page, "佳木斯档案")
    expect(page.locator(".hit-title a").first).to_have_text("为构建和谐佳木斯市提供档案服务")
    expect(page.locator(".reading")).to_contain_text("按词检索")
