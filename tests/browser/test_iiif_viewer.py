"""Mirador (vendored from npm by `make vendor`) opens chayue's IIIF manifest in real
Chromium, shows the pages of a scan and marks a Content Search hit on the scan itself."""

from __future__ import annotations

import io
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCAN_ID = "J012-2007-永久-0001"  # the image-only PDF of the 2007 speech, 3 pages, read by PP-OCR
QUERY = "档案"
HIT_YELLOW = (220, 220, 160)  # Mirador fills the selected hit yellow: R, G above, B below


def _yellow(png: bytes) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    r, g, b = HIT_YELLOW
    return sum(1 for pr, pg, pb in image.getdata() if pr > r and pg > g and pb < b)


def _viewer(chromium, server, errors: list[str]):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, base_url=server, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(120_000)  # the first manifest renders every page image
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page


def _wait_for_scan(page) -> None:
    """Until OpenSeadragon has drawn the page: the canvas is no longer one flat colour."""
    deadline = time.monotonic() + 120
    canvas = page.locator(".openseadragon-canvas canvas").first
    canvas.wait_for()
    while True:
        shot = Image.open(io.BytesIO(canvas.screenshot())).convert("L")
        lo, hi = shot.getextrema()
        if hi - lo > 100:
            return
        assert time.monotonic() < deadline, "the scan was not drawn"
        time.sleep(0.5)


def test_mirador_opens_the_manifest_shows_the_pages_and_marks_a_search_hit(chromium, server, artifacts):
    if not (REPO / "frontend" / "vendor" / "mirador" / "mirador.min.js").exists():
        pytest.fail("Mirador is not vendored: run `make vendor`")
    errors: list[str] = []
    context, page = _viewer(chromium, server, errors)
    try:
        page.goto(f"/viewer.html?id={quote(SCAN_ID)}")
        _wait_for_scan(page)
        # The pages of the manifest, as thumbnails under the scan.
        resp = page.request.get(f"/api/iiif/{quote(SCAN_ID)}/manifest", timeout=120_000)
        assert resp.ok, (resp.status, resp.text())
        manifest = resp.json()
        labels = [c["label"]["zh"][0] for c in manifest["items"]]
        assert len(labels) == 3
        thumbnails = page.get_by_role("grid", name="缩略图").get_by_role("gridcell")
        expect(thumbnails).to_have_count(len(labels), timeout=60_000)
        assert [t.get_attribute("aria-label") or t.inner_text() for t in thumbnails.all()] == labels
        viewer_box = page.locator(".openseadragon-canvas").first
        plain = _yellow(viewer_box.screenshot())

        page.goto(f"/viewer.html?id={quote(SCAN_ID)}&q={quote(QUERY)}")
        _wait_for_scan(page)
        # The search panel lists the hits with their words, and the selected hit is marked
        # yellow on the scan (none was before the search).
        page.get_by_text(QUERY, exact=True).first.wait_for()
        deadline = time.monotonic() + 60
        while (marked := _yellow(viewer_box.screenshot())) < plain + 50:
            assert time.monotonic() < deadline, (plain, marked)
            time.sleep(0.5)
        page.screenshot(path=artifacts / "iiif-mirador-search-hit.png")
        assert page.locator("text=发生错误").count() == 0  # Mirador's own error banner
        assert not errors, errors
    finally:
        context.close()
