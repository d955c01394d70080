"""The finding aid in the page: from the start page to the sample fonds J005, down its
three levels (全宗 → 目录 → 案卷) with the counts the caller may see, to an item whose page
shows its breadcrumbs and the next item of its 案卷; and a search within a 案卷."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_reader_walks_the_fonds_down_to_an_item_and_on_to_the_next(page, artifacts):
    page.goto("/")
    page.get_by_role("link", name="按全宗浏览档案（全宗 › 案卷 › 件）").click()
    expect(page.locator("#browse-title")).to_have_text("按全宗浏览档案")
    fonds = page.locator("#children li", has_text="J005 佳木斯市档案馆")
    expect(fonds).to_contain_text("4 件")  # the reading-room item is not counted for the public
    fonds.get_by_role("link").click()
    page.locator("#children a", has_text="目录 001").click()
    files = page.locator("#children li")
    expect(files).to_have_count(2)
    expect(files.nth(0)).to_contain_text("《中华人民共和国档案法》学习材料（一）")
    expect(files.nth(0)).to_contain_text("3 件")
    files.nth(0).get_by_role("link").click()
    items = page.locator("#items li")
    expect(items).to_have_count(3)
    expect(page.locator("#crumbs li")).to_have_count(4)  # 全部全宗 › J005 › 目录 001 › 案卷 0001
    page.screenshot(path=artifacts / "finding-aid-file.png", full_page=True)
    items.nth(1).get_by_role("link").click()

    expect(page.locator("#doc-title")).to_have_text("中华人民共和国档案法第二章档案机构及其职责")
    place = page.locator("#place")
    expect(place).to_be_visible()
    expect(page.locator("#place-crumbs li")).to_have_count(4)
    expect(page.locator("#place-position")).to_have_text("本卷第 2 件，共 3 件")
    page.locator("#place-next").click()
    expect(page.locator("#doc-title")).to_have_text("中华人民共和国档案法第三章档案的管理")
    expect(page.locator("#place-next")).to_be_hidden()
    # The permanent link is shown and opens this same item.
    link = page.locator("a.permalink")
    expect(link).to_contain_text("/a/J005-001-0001-003")
    link.click()
    expect(page.locator("#doc-title")).to_have_text("中华人民共和国档案法第三章档案的管理")


def test_a_search_within_a_file_finds_only_its_items(page):
    page.goto("/browse.html?node=J005%2F001%2F0001")
    page.locator("#within-q").fill("档案")
    page.locator("#within-form button").click()
    expect(page.locator(".hit").first).to_be_visible()
    titles = page.locator(".hit-title").all_inner_texts()
    assert len(titles) == 3 and all(t.startswith("中华人民共和国档案法第") for t in titles), titles
