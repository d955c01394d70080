"""The document view: metadata, pages beside their images, jumping between matches,
citation, print and download, related documents."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ARCHIVES_LAW = "中华人民共和国档案法"


def open_from_results(page, q: str, title: str) -> None:
    page.goto("/")
    page.fill("#q", q)
    page.press("#q", "Enter")
    # The title itself, not a longer one holding it (the sample fonds has 《档案法》第三章 as an item).
    page.locator(".hit-title a").filter(has_text=re.compile(f"^{re.escape(title)}$")).first.click()
    expect(page.locator("#doc-title")).to_have_text(title)


def test_open_a_document_from_results_and_jump_between_matches(page):
    open_from_results(page, "档案", ARCHIVES_LAW)
    assert "q=" in page.url
    meta = page.locator("#meta-body")
    for label in ("题名", "文号", "发文机关", "成文日期", "发布日期", "有效性", "全宗/档号", "保管期限", "页数"):
        expect(meta.locator("dt", has_text=label)).to_have_count(1)
    expect(meta.locator(".meta-row", has_text="发文机关")).to_contain_text("全国人民代表大会常务委员会")
    expect(meta.locator(".badge-valid")).to_have_text("现行有效")

    summary = page.locator("#match-summary")
    expect(summary).to_contain_text("“档案”在本文件中共")
    position = page.locator("#match-position")
    page.locator("#next-match").click()
    expect(position).to_have_text(re.compile(r"^第 1 / \d+ 处 · 第 1 页$"))
    current = page.locator("#pages mark.current")
    expect(current).to_have_count(1)
    expect(current).to_have_text("档案")
    expect(current).to_be_in_viewport()
    page.locator("#next-match").click()
    expect(position).to_have_text(re.compile(r"^第 2 / \d+ 处"))
    expect(page).to_have_url(re.compile(r"m=2"))
    # Backwards from the first match wraps round to the last, on a later page.
    page.locator("#prev-match").click()
    page.locator("#prev-match").click()
    text = position.inner_text()
    n, count, on_page = map(int, re.match(r"第 (\d+) / (\d+) 处 · 第 (\d+) 页", text).groups())
    assert n == count and on_page > 1
    expect(page.locator(f"#page-{on_page} mark.current")).to_be_in_viewport()


def test_reloading_a_document_url_returns_to_the_same_match(page):
    open_from_results(page, "档案", ARCHIVES_LAW)
    for _ in range(3):
        page.locator("#next-match").click()
    expect(page).to_have_url(re.compile(r"m=3"))
    page.reload()
    expect(page.locator("#match-position")).to_have_text(re.compile(r"^第 3 / "))
    expect(page.locator("#pages mark.current")).to_be_in_viewport()


def test_pages_show_lazy_images_beside_text(page):
    open_from_results(page, "档案", ARCHIVES_LAW)
    pages = page.locator("#pages section.page")
    assert pages.count() >= 2
    first_img = pages.first.locator("img")
    expect(first_img).to_have_attribute("loading", "lazy")
    expect(first_img).to_have_attribute("alt", "第 1 页原件图像")
    assert re.search(r"/pages/1\.png$", first_img.get_attribute("src"))
    expect(pages.first.locator(".page-text")).to_contain_text("第一条")


def test_citation_in_gbt_7714_form_and_copy(page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_from_results(page, "档案", ARCHIVES_LAW)
    page.locator("#cite-button").click()
    expected = "全国人民代表大会常务委员会. 中华人民共和国档案法[A]. 2020-06-20."
    expect(page.locator("#cite-text")).to_have_text(expected)
    page.locator("#copy-cite").click()
    expect(page.locator("#copy-status")).to_have_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == expected


def test_download_and_print_and_related_documents(page):
    open_from_results(page, "档案", ARCHIVES_LAW)
    download = page.locator("#download")
    expect(download).to_be_visible()
    assert download.get_attribute("href").endswith("/file")
    expect(page.locator("#print-button")).to_be_visible()
    expect(page.locator("#similar-list li").first).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".doc-actions")).to_be_hidden()
    expect(page.locator("#pages .page-text").first).to_be_visible()
    page.emulate_media(media="screen")


def test_text_document_without_page_images(page):
    page.goto("/")
    page.fill("#q", "归侨")
    page.press("#q", "Enter")
    page.locator(".hit-title a").first.click()
    expect(page.locator("#pages section.page").first).to_be_visible()
    expect(page.locator("#pages img")).to_have_count(0)


def test_low_confidence_ocr_pages_are_marked(page):
    from tests.browser.conftest import CJK_FONT, LOW_CONFIDENCE_ID

    if not CJK_FONT.exists():
        pytest.skip("no CJK font to draw the coarse scan with (apt-get install fonts-noto-cjk)")
    page.goto(f"/doc.html?id={LOW_CONFIDENCE_ID}")
    expect(page.locator("#doc-title")).to_have_text("库房温湿度检查情况的报告")
    section = page.locator("#page-1")
    expect(section.locator(".badge-warn")).to_contain_text("识别置信度低")
    expect(section).to_have_class(re.compile(r"low-confidence"))
    expect(page.locator("#meta-body .meta-row", has_text="文本来源")).to_contain_text("平均置信度")
    expect(page.locator("#meta-body .meta-row", has_text="全宗/档号")).to_contain_text("J999-1998-30年-0001")
    page.locator("#cite-button").click()
    expect(page.locator("#cite-text")).to_have_text(
        "查阅项目组. 库房温湿度检查情况的报告[A]. 1998-05-04. J999 测试全宗, 档号 J999-1998-30年-0001.")


def test_unknown_document_says_so(page):
    page.goto("/doc.html?id=no-such-document")
    expect(page.locator("#doc-status")).to_contain_text("未找到该文件")


def test_loading_every_page_image_keeps_the_server_up(page, server, live_server):
    """Scrolling a many-page PDF makes the browser fetch several page images at once,
    and the server renders them (nothing cached) in parallel."""
    import shutil

    import httpx

    shutil.rmtree(live_server.data / "page-cache", ignore_errors=True)
    page.goto("/doc.html?id=a442eba8f254")
    expect(page.locator("#doc-title")).to_be_visible()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    assert httpx.get(f"{server}/api/health", timeout=5).status_code == 200
    loaded = page.evaluate("[...document.querySelectorAll('#pages img')].filter(i => i.complete && i.naturalWidth > 0).length")
    assert loaded == page.locator("#pages img").count()


def test_back_link_returns_to_the_same_result_list(page):
    page.goto("/?q=%E6%A1%A3%E6%A1%88&collection=current&sort=date_desc")
    expect(page.locator("#status")).to_contain_text("共 ")
    page.locator(".hit-title a").first.click()
    expect(page.locator("#doc-title")).to_be_visible()
    back = page.locator("#back-link")
    expect(back).to_have_text("← 返回“档案”的检索结果")
    back.click()
    expect(page.locator("#status")).to_contain_text("共 ")
    expect(page.locator('#facets [data-field="collection"] input[value="current"]')).to_be_checked()
    expect(page.locator("#sort")).to_have_value("date_desc")


def test_a_quoted_phrase_broken_over_a_line_is_marked_in_the_text(page):
    # The digital 档案法 breaks a line inside 推进国家治理体系; the view joins the lines.
    page.goto("/?q=%22%E6%8E%A8%E8%BF%9B%E5%9B%BD%E5%AE%B6%E6%B2%BB%E7%90%86%E4%BD%93%E7%B3%BB%22&collection=current")
    page.locator(".hit-title a", has_text=ARCHIVES_LAW).first.click()
    expect(page.locator("#doc-title")).to_have_text(ARCHIVES_LAW)
    marks = page.locator("#pages mark")
    expect(marks).to_have_count(1)
    expect(marks).to_have_text("推进国家治理体系")
    expect(page.locator("#match-summary")).to_have_text("“推进国家治理体系”在本文件中共 1 处，分布在 1 页。")
