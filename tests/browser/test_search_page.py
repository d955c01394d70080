"""The search page in a real browser against a live server: results, facets, paging,
URL state, Back, suggestions, zero results, the year histogram and the phone layout."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def search(page, q: str) -> None:
    page.fill("#q", q)
    page.press("#q", "Enter")
    expect(page.locator("#status")).to_contain_text("共 ")
    expect(page.locator("#results")).not_to_have_attribute("aria-busy", "true")


def total(page) -> int:
    text = page.locator("#status").inner_text()
    return int(re.search(r"共 ([\d,]+) 条", text).group(1).replace(",", ""))


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_search_shows_results_with_marked_snippets_and_page_numbers(page):
    page.goto("/")
    search(page, "档案")
    assert total(page) >= 2
    expect(page.locator("#status")).to_contain_text("用时")
    first = page.locator(".hit").first
    expect(first.locator(".hit-title a")).to_be_visible()
    marks = page.locator(".snippet mark")
    expect(marks.first).to_have_text("档案")
    expect(page.locator(".snippet .page-ref").first).to_have_text(re.compile(r"^第 \d+ 页$"))
    assert query_of(page)["q"] == ["档案"]
    expect(page.locator(".hit .badge-valid").first).to_have_text("现行有效")
    expect(page.locator(".hit .tag-current").first).to_have_text("现行文件")


def test_clicking_facets_narrows_results_and_chips_remove_them(page):
    page.goto("/?q=" + "法")
    expect(page.locator("#status")).to_contain_text("共 ")
    before = total(page)
    agency = page.locator('#facets fieldset[data-field="agency"] li').first
    label = agency.locator(".facet-label").inner_text()
    count = int(agency.locator(".count").inner_text().replace(",", ""))
    collection_counts = '#facets [data-field="collection"] .count'
    assert sum(int(c.replace(",", "")) for c in page.locator(collection_counts).all_inner_texts()) == before

    agency.locator("input").check()
    expect(page).to_have_url(re.compile(r"agency="))
    expect(page.locator("#status")).to_contain_text(f"共 {count} 条")
    assert total(page) == count <= before
    expect(page.locator(".chip", has_text=f"发文机关：{label}")).to_be_visible()
    expect(page.locator('#facets [data-field="agency"] input').first).to_be_checked()
    # Focus stays on the box the visitor ticked, so keyboard users keep their place.
    assert page.evaluate("document.activeElement.name") == "agency"
    # The other facets now count within the narrowed results.
    assert sum(int(c.replace(",", "")) for c in page.locator(collection_counts).all_inner_texts()) == count

    page.locator(".chip", has_text=label).click()
    expect(page.locator("#status")).to_contain_text(f"共 {before} 条")
    assert "agency" not in query_of(page)


def test_two_values_of_one_facet_are_either_or(page):
    page.goto("/?sort=date_desc")
    expect(page.locator("#status")).to_contain_text("共 ")
    boxes = page.locator('#facets [data-field="collection"] li')
    counts = [int(boxes.nth(i).locator(".count").inner_text()) for i in range(boxes.count())]
    assert len(counts) == 2
    boxes.nth(0).locator("input").check()
    expect(page.locator("#status")).to_contain_text(f"共 {counts[0]} 条")
    page.locator('#facets [data-field="collection"] li').nth(1).locator("input").check()
    expect(page.locator("#status")).to_contain_text(f"共 {sum(counts)} 条")
    assert len(query_of(page)["collection"]) == 2


def test_paging_through_results(page):
    page.goto("/?sort=date_desc")
    expect(page.locator("#status")).to_contain_text("共 ")
    assert total(page) > 10
    ids = lambda: page.locator(".hit-title a").evaluate_all("as => as.map(a => a.href)")  # noqa: E731
    first_page = ids()
    assert len(first_page) == 10
    page.locator("#pagination a", has_text="下一页").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#pagination [aria-current=page]")).to_have_text("2")
    second_page = ids()
    assert second_page and not set(second_page) & set(first_page)
    assert page.locator("#hits").get_attribute("start") == "11"
    page.locator("#pagination a", has_text="上一页").click()
    expect(page.locator("#pagination [aria-current=page]")).to_have_text("1")
    assert ids() == first_page


def test_shared_url_restores_the_whole_state_and_survives_reload(page):
    url = "/?q=%E4%BA%BA%E6%B0%91&collection=current&sort=date_asc&page=2"
    page.goto(url)
    expect(page.locator("#status")).to_contain_text("共 ")

    def check():
        expect(page.locator("#q")).to_have_value("人民")
        expect(page.locator('#facets [data-field="collection"] input[value="current"]')).to_be_checked()
        expect(page.locator("#sort")).to_have_value("date_asc")
        expect(page.locator("#pagination [aria-current=page]")).to_have_text("2")
        expect(page.locator(".chip", has_text="馆藏类别：现行文件")).to_be_visible()
        return page.locator(".hit-title").all_inner_texts()

    titles = check()
    assert titles
    page.reload()
    expect(page.locator("#status")).to_contain_text("共 ")
    assert check() == titles


def test_back_and_forward_move_between_searches(page):
    page.goto("/")
    search(page, "档案")
    first_titles = page.locator(".hit-title").all_inner_texts()
    search(page, "宪法")
    expect(page.locator("#results-heading")).to_contain_text("宪法")
    page.go_back()
    expect(page.locator("#q")).to_have_value("档案")
    expect(page.locator("#results-heading")).to_contain_text("档案")
    expect(page.locator(".hit-title").first).to_have_text(first_titles[0])
    page.go_forward()
    expect(page.locator("#q")).to_have_value("宪法")
    page.go_back()
    page.go_back()
    expect(page.locator("#start")).to_be_visible()
    expect(page.locator("#q")).to_have_value("")


def test_sort_by_date(page):
    page.goto("/?q=%E6%B3%95&sort=date_desc")
    expect(page.locator("#status")).to_contain_text("共 ")
    dates = [d for d in page.locator(".hit-meta div:has(dt:text('成文日期')) dd").all_inner_texts()]
    assert dates == sorted(dates, reverse=True)
    page.select_option("#sort", "date_asc")
    expect(page).to_have_url(re.compile(r"sort=date_asc"))
    expect(page.locator("#results")).not_to_have_attribute("aria-busy", "true")
    dates = [d for d in page.locator(".hit-meta div:has(dt:text('成文日期')) dd").all_inner_texts()]
    assert dates == sorted(dates)


def test_year_histogram_bar_filters_by_that_year(page):
    page.goto("/?sort=date_desc")
    expect(page.locator("#histogram svg")).to_be_visible()
    bar = page.locator("#histogram a.bar").first
    year = bar.get_attribute("data-year")
    label = bar.get_attribute("aria-label")
    count = int(re.search(r"：(\d+) 件", label).group(1))
    bar.click()
    expect(page).to_have_url(re.compile(rf"year={year}"))
    expect(page.locator("#status")).to_contain_text(f"共 {count} 条")
    expect(page.locator(".chip", has_text=f"年份：{year} 年")).to_be_visible()


def test_zero_results_say_so_and_offer_the_looser_query(page):
    page.goto("/")
    search(page, "档案 量子纠缠")
    expect(page.locator(".empty-title")).to_have_text("未找到与“档案 量子纠缠”相关的文件。")
    offer = page.locator(".looser")
    expect(offer).to_be_visible()
    looser_q = offer.inner_text()
    offer.click()
    expect(page.locator("#q")).to_have_value(looser_q)
    expect(page.locator("#status")).to_contain_text(re.compile(r"共 [1-9]"))
    expect(page.locator(".hit-title a").first).to_be_visible()


def test_suggestions_by_keyboard(page):
    page.goto("/")
    page.locator("#q").press_sequentially("中华人民", delay=30)
    listbox = page.locator("#suggestions")
    expect(listbox).to_be_visible()
    expect(page.locator("#q")).to_have_attribute("aria-expanded", "true")
    options = listbox.locator("[role=option]")
    assert options.count() >= 2
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    second = options.nth(1)
    expect(second).to_have_attribute("aria-selected", "true")
    expect(page.locator("#q")).to_have_attribute("aria-activedescendant", second.get_attribute("id"))
    chosen = second.inner_text()
    page.keyboard.press("ArrowUp")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#q")).to_have_value(chosen)
    expect(page.locator("#results-heading")).to_contain_text(chosen)
    assert query_of(page)["q"] == [chosen]
    # Escape closes an open list without searching.
    page.locator("#q").fill("")
    page.locator("#q").press_sequentially("中华", delay=30)
    expect(listbox).to_be_visible()
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(page.locator("#q")).to_have_attribute("aria-expanded", "false")


def test_suggestion_can_be_tapped(phone_page):
    page = phone_page
    page.goto("/")
    page.locator("#q").press_sequentially("中华人民", delay=30)
    option = page.locator("#suggestions [role=option]").first
    expect(option).to_be_visible()
    text = option.inner_text()
    option.tap()
    expect(page.locator("#results-heading")).to_contain_text(text)


def test_keyboard_only_search_and_filter_with_visible_focus(page):
    page.goto("/?sort=date_desc")
    expect(page.locator("#status")).to_contain_text("共 ")
    page.keyboard.press("Tab")  # the first stop is the skip link
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Tab")  # the brand, then the header's link to the workspace
    page.keyboard.press("Tab")
    expect(page.locator("#workspace-link")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("档案")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("共 ")
    box = page.locator("#facets input[type=checkbox]").first
    box.focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    assert float(outline.replace("px", "")) >= 2
    page.keyboard.press("Space")
    expect(page.locator(".chip").first).to_be_visible()
    expect(page.locator("#facets input[type=checkbox]:checked")).to_have_count(1)


def test_phone_layout_hides_facets_behind_the_filter_button(phone_page):
    page = phone_page
    page.goto("/?q=%E6%B3%95")
    expect(page.locator("#status")).to_contain_text("共 ")
    toggle = page.locator("#filter-toggle")
    expect(toggle).to_be_visible()
    expect(page.locator("#filters")).to_be_hidden()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways on a phone: {width}px"
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#filters")).to_be_visible()
    page.locator('#facets [data-field="collection"] input').first.check()
    expect(page).to_have_url(re.compile(r"collection="))
    expect(toggle).to_contain_text("已选 1 项")


def test_landmarks_and_roles(page):
    page.goto("/?q=%E6%A1%A3%E6%A1%88")
    expect(page.locator("#status")).to_contain_text("共 ")
    assert page.locator("[role=search]").count() == 1
    assert page.locator("main").count() == 1
    assert page.locator("header.site-header").count() == 1
    assert page.locator("#status").get_attribute("aria-live") == "polite"
    assert page.locator("#q").get_attribute("role") == "combobox"
    assert page.locator("#suggestions").get_attribute("role") == "listbox"
    assert page.locator("label[for=q]").count() == 1
    assert page.locator("#pagination").get_attribute("aria-label") == "分页"


def test_date_range_filters_and_shows_as_chips(page):
    page.goto("/?sort=date_asc")
    expect(page.locator("#status")).to_contain_text("共 ")
    page.fill("#date_from", "2000-01-01")
    page.fill("#date_to", "2009-12-31")
    page.locator("#date-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"date_from=2000-01-01&date_to=2009-12-31"))
    expect(page.locator(".chip", has_text="成文日期起：2000-01-01")).to_be_visible()
    expect(page.locator("#results")).not_to_have_attribute("aria-busy", "true")
    dates = page.locator(".hit-meta div:has(dt:text('成文日期')) dd").all_inner_texts()
    assert dates and all("2000-01-01" <= d <= "2009-12-31" for d in dates)
    # A range the wrong way round is refused in words, not sent.
    page.fill("#date_from", "2010-01-01")
    page.fill("#date_to", "2001-01-01")
    page.locator("#date-form button[type=submit]").click()
    expect(page.locator("#date-error")).to_have_text("起始日期不能晚于截止日期。")
    assert "date_from=2000-01-01" in page.url
