"""A phrase printed on a scan is found, and marked on the page image itself (not only in
the text beside it): the demo's sealed JPEG of the Archives Law, read by PP-OCR."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SCAN_ID = "J012-2020-长期-0004"  # sample/archive/J012-2020-长期-0004.jpg, with a red seal
PHRASE = "国家治理体系"


def test_a_phrase_on_a_scan_is_marked_on_the_page_image(page, artifacts):
    page.goto(f"/doc.html?id={quote(SCAN_ID)}&q={quote(PHRASE)}")
    figure = page.locator("#page-1 figure.page-image")
    expect(figure.locator("img")).to_be_visible()
    marks = figure.locator("svg.image-marks rect.image-mark")
    # The words the query is cut into (国家, 治理, 体系) are marked wherever they are on the
    # scan, as in the text beside it: at least one mark for each mark in the text.
    text_marks = page.locator("#page-1 .page-text mark")
    expect(text_marks.first).to_be_visible()
    assert marks.count() >= text_marks.count() >= 3

    # The phrase itself is marked where it is printed: in the second line of 第一条, about a
    # fifth down the page, its three words side by side, six characters wide together.
    # The page's CSP forbids eval, so no wait_for_function: poll the image element.
    deadline = time.monotonic() + 30
    while not figure.locator("img").evaluate("i => i.complete && i.naturalWidth > 0"):
        assert time.monotonic() < deadline, "the page image did not load"
        time.sleep(0.1)
    img = figure.locator("img").bounding_box()
    assert img
    boxes = [marks.nth(i).bounding_box() for i in range(marks.count())]
    band = [b for b in boxes if 0.15 < (b["y"] - img["y"]) / img["height"] < 0.25]
    assert band, [(b["y"] - img["y"]) / img["height"] for b in boxes]
    first = min(band, key=lambda b: (round(b["y"]), b["x"]))
    row = sorted((b for b in band if abs(b["y"] - first["y"]) < 0.3 * first["height"]),
                 key=lambda b: b["x"])
    run = [row[0]]  # marks side by side from the first one: the phrase
    for b in row[1:]:
        if b["x"] - (run[-1]["x"] + run[-1]["width"]) > 0.3 * first["height"]:
            break
        run.append(b)
    width = run[-1]["x"] + run[-1]["width"] - run[0]["x"]
    assert 0.1 < (run[0]["x"] - img["x"]) / img["width"] < 0.9
    # 国家治理体系, six characters, in a box as high as the line's: PP-OCR's line boxes
    # reach ~1.6 glyph heights (its detector's unclip ratio), so six glyphs are ~3.8 of it.
    assert 3 < width / first["height"] < 5, width / first["height"]
    figure.screenshot(path=artifacts / "ocr-mark-on-scan.png")


def test_a_quoted_phrase_is_counted_and_boxed_once_where_it_is_printed(page):
    """Quoted, the phrase is what is marked: once in the text, once on the scan, "共 1 处",
    and the back link quotes it once, not “"…"”."""
    query = '"推进国家治理体系"'
    page.goto(f"/doc.html?id={quote(SCAN_ID)}&q={quote(query)}")
    expect(page.locator("#match-summary")).to_have_text("“推进国家治理体系”在本文件中共 1 处，分布在 1 页。")
    expect(page.locator("#back-link")).to_have_text("← 返回“推进国家治理体系”的检索结果")
    text_marks = page.locator("#page-1 .page-text mark")
    expect(text_marks).to_have_count(1)
    expect(text_marks).to_have_text("推进国家治理体系")
    expect(page.locator("#page-1 svg.image-marks rect.image-mark")).to_have_count(1)
