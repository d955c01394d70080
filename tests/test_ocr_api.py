"""OCR pages carry their line boxes to the caller: the document API gives, for each OCR
page, the size of the image read and each line's box with its characters in the text, so
the document view can mark a match on the scan (tests/browser/test_ocr_marks.py)."""

from __future__ import annotations

from urllib.parse import quote

from PIL import Image

from tests.conftest import SAMPLE

SCAN = "J012-2020-长期-0004"


def test_ocr_page_has_line_boxes_that_point_at_its_text_and_lie_on_the_image(client):
    doc = client.get(f"/api/documents/{quote(SCAN)}", headers={}).json()
    (page,) = doc["pages"]
    assert page["ocr"] and page["image_size"] == list(
        Image.open(SAMPLE / "archive" / f"{SCAN}.jpg").size)
    w, h = page["image_size"]
    text = page["text"]
    assert "提高档案信息化建设水平" in text and "推进国家治理体系" in text
    for left, top, right, bottom, start, end in page["lines"]:
        assert 0 <= left < right <= w and 0 <= top < bottom <= h and start < end
    # In reading order, one after the other, covering the text but its line breaks.
    starts = [x[4] for x in page["lines"]]
    assert starts == sorted(starts)
    assert sum(x[5] - x[4] for x in page["lines"]) == len(text) - text.count("\n")
    # The line holding 国家治理 is below the title and above the page's middle.
    (line,) = [x for x in page["lines"] if "国家治理" in text[x[4]:x[5]]]
    assert 0.1 * h < line[1] < 0.5 * h


def test_text_layer_pages_have_no_boxes(client):
    hits = client.get("/api/search", params={"q": "归侨"}).json()["hits"]
    doc = client.get(f"/api/documents/{quote(hits[0]['id'])}").json()
    assert all(p["lines"] is None and p["image_size"] is None for p in doc["pages"])
