"""Scanned images: every frame of a multi-page TIFF, JPEG/PNG/BMP pages; bad images refused."""

from __future__ import annotations

import pytest
from PIL import Image

from indexer.extract import ExtractionError, extractor_for
from indexer.extract.image import ImageExtractor
from indexer.ocr import Ocr
from tests import inputs


@pytest.fixture(scope="module")
def ocr(tmp_path_factory) -> Ocr:
    with Ocr(tmp_path_factory.mktemp("ocr-cache"), workers=2) as service:
        yield service


@pytest.mark.slow
def test_every_frame_of_a_multipage_tiff_is_a_page(tmp_path, ocr):
    texts = [inputs.law_excerpt(50, 100), inputs.law_excerpt(51, 100)]
    path = inputs.save_tiff(tmp_path / "卷宗.tif", [inputs.render_page(t, noise=0.001)
                                                   for t in texts])
    extracted = extractor_for(path).extract(path, ocr)
    assert extracted.media_type == "image/tiff"
    assert [p.number for p in extracted.pages] == [1, 2]
    for page, text in zip(extracted.pages, texts):
        assert page.ocr and inputs.char_accuracy(text, page.text) >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("fmt,media", [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                       ("BMP", "image/bmp")])
def test_single_page_images_are_ocrd(tmp_path, ocr, fmt, media):
    text = inputs.law_excerpt(52, 80)
    path = tmp_path / f"page.{fmt.lower()}"
    inputs.render_page(text).save(path, fmt, quality=90) if fmt == "JPEG" else \
        inputs.render_page(text).save(path, fmt)
    extracted = ImageExtractor().extract(path, ocr)
    assert extracted.media_type == media
    assert inputs.char_accuracy(text, extracted.pages[0].text) >= 0.95


def test_truncated_image_fails_with_file_name(tmp_path, ocr):
    path = tmp_path / "broken.png"
    inputs.render_page("档案", font_pt=10).save(path, "PNG")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ExtractionError) as e:
        ImageExtractor().extract(path, ocr)
    assert "broken.png" in e.value.reason


def test_decompression_bomb_is_refused_with_a_reason(tmp_path, ocr, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("1", (4000, 4000)).save(path, "PNG")  # tiny file, 16 Mpx
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    with pytest.raises(ExtractionError) as e:
        ImageExtractor().extract(path, ocr)
    assert "bomb.png" in e.value.reason and "decompression-bomb" in e.value.reason
