"""Is it still in force, and what replaced it: versions as one hit, the status line, the
timeline and the lists of what a document cites and what cites it (frontend/js/doc.js)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CONSTITUTION_1982_ID, ECO_CODE_ID, ECO_CODE_TITLE

pytestmark = pytest.mark.browser

CONSTITUTION = "中华人民共和国宪法"
EIA_LAW_ID = "542ef9e85786"  # 中华人民共和国环境影响评价法 in sample/manifest.csv, 已废止


def search(page, q: str) -> None:
    page.goto("/")
    page.fill("#q", q)
    page.press("#q", "Enter")
    expect(page.locator("#status")).to_contain_text("共 ")


def test_constitution_is_one_hit_with_its_versions_amendments_and_timeline(page, artifacts):
    search(page, "宪法")
    hit = page.locator(".hit").filter(has=page.locator(".hit-title a", has_text=re.compile(f"^{CONSTITUTION}$")))
    expect(hit).to_have_count(1)  # the 1982 and 2018 versions are one hit
    expect(hit.locator(".hit-versions")).to_contain_text("其他版本 1")
    expect(hit.locator(".hit-versions")).to_contain_text("被修改过")
    expect(hit.locator(".hit-meta")).to_contain_text("2018-03-11")  # the current version first
    page.screenshot(path=artifacts / "relations-search-constitution.png")

    hit.locator(".hit-versions a").click()
    expect(page.locator("#doc-title")).to_have_text(CONSTITUTION)
    expect(page.locator("#doc-validity")).to_have_text("现行有效，2018-03-11 修改")
    versions = page.locator("#versions-list li")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("2018-03-11（现行版本），本页")
    expect(versions.nth(1).locator("a")).to_have_attribute("href", re.compile(CONSTITUTION_1982_ID))

    timeline = page.locator("#timeline")
    expect(timeline.locator("#timeline-list")).not_to_be_visible()
    timeline.locator("summary").click()
    events = timeline.locator("li.event")
    expect(events.first).to_contain_text("1982-12-04")
    amendment = events.filter(has_text="修改")
    expect(amendment).to_have_count(1)
    expect(amendment).to_contain_text("2018-03-11")
    expect(amendment.locator("a")).to_have_text("中华人民共和国宪法修正案（2018年）")
    # The laws that cite it (根据宪法，制定本法) are listed, each a link.
    cited_by = page.locator("#cited-by-list li")
    expect(page.locator("#cited-by-heading")).to_contain_text(re.compile(r"（\d+ 件）"))
    assert cited_by.count() >= 10
    expect(cited_by.filter(has_text="反分裂国家法").locator("a")).to_have_count(1)
    timeline.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "relations-timeline-constitution.png", full_page=True)

    amendment.locator("a").click()
    expect(page.locator("#doc-title")).to_have_text("中华人民共和国宪法修正案（2018年）")
    link = page.locator("#cites-list li", has_text="修改").locator("a")
    expect(link).to_have_text(f"《{CONSTITUTION}》")


def test_an_amendment_of_a_law_not_here_names_it_as_text(page, artifacts):
    search(page, "刑法")
    page.locator(".hit-title a", has_text="中华人民共和国刑法修正案（十二）").click()
    item = page.locator("#cites-list li", has_text="修改")
    expect(item).to_contain_text("《中华人民共和国刑法》（本馆未收录）")
    expect(item.locator("a")).to_have_count(0)
    expect(item).to_contain_text("自动识别")
    expect(page.locator("#doc-validity")).to_have_text("现行有效，2024-03-01 施行")
    page.screenshot(path=artifacts / "relations-criminal-law-amendment.png")


def test_a_repealed_document_says_what_repealed_it(page, artifacts):
    page.goto(f"/doc.html?id={EIA_LAW_ID}")
    status = page.locator("#doc-validity")
    expect(status).to_have_text(f"已废止：被《{ECO_CODE_TITLE}》废止，2026-08-15 查看")
    expect(status.locator("a")).to_have_attribute("href", re.compile(ECO_CODE_ID))
    expect(page.locator("#meta-body .meta-row", has_text="失效日期")).to_contain_text("2026-08-15")
    page.screenshot(path=artifacts / "relations-repealed.png")
    status.locator("a").click()
    expect(page.locator("#doc-title")).to_have_text(ECO_CODE_TITLE)
    repealed = page.locator("#cites-list li", has_text="中华人民共和国环境影响评价法")
    expect(repealed.locator("a")).to_have_count(1)
    expect(page.locator("#cites-list li", has_text="中华人民共和国水污染防治法")).to_contain_text("本馆未收录")
