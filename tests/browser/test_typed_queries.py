"""The search page with queries as people type them: a 文号 in the forms people remember finds
its document first; other names are said (也搜索了) with a link to the typed words only; a
文号 one character off is offered (您是不是要找)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_search_page import query_of, search

pytestmark = pytest.mark.browser

JMS_TITLE = "为构建和谐佳木斯市提供档案服务"  # 佳档发〔2007〕15号


@pytest.mark.parametrize("typed", ["佳档发2007年15号", "佳档发[2007]15号", "佳档发（2007）第15号", "佳档发【2007】15",
                                   "佳档发 2007 15号", "佳档发〔二〇〇七〕十五号", "佳檔發［２００７］１５號"])
def test_doc_number_typed_into_the_page_finds_its_document_first(page, typed):
    page.goto("/")
    search(page, typed)
    expect(page.locator(".hit").first.locator(".hit-title")).to_contain_text(JMS_TITLE)


def test_other_names_are_said_and_the_typed_words_alone_are_a_click_away(page):
    page.goto("/")
    search(page, "人大常委会 档案")
    note = page.locator("#notice .expanded")
    expect(note).to_contain_text("也搜索了：全国人民代表大会常务委员会")
    with_names = int(re.search(r"共 ([\d,]+) 条", page.locator("#status").inner_text()).group(1).replace(",", ""))
    note.locator("a.typed-only").click()
    expect(page).to_have_url(re.compile(r"expand=0"))
    expect(page.locator("#notice .expanded")).to_contain_text("只搜索了输入的词语")
    expect(page.locator("#status")).not_to_contain_text(f"共 {with_names} 条")
    # a new query searches the other names again
    search(page, "人大常委会 档案")
    assert "expand" not in query_of(page)
    expect(page.locator("#notice .expanded")).to_contain_text("也搜索了")


def test_a_doc_number_one_character_off_is_offered(page):
    page.goto("/")
    search(page, "佳档发〔2007〕16号")
    offer = page.locator("#notice .did-you-mean")
    expect(offer).to_contain_text("您是不是要找：佳档发〔2007〕15号")
    offer.locator("a").first.click()
    expect(page.locator(".hit").first.locator(".hit-title")).to_contain_text(JMS_TITLE)
