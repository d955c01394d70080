"""PDF: the text layer where it is good, OCR where it is missing or garbled, clear reasons
for files that cannot be read."""

from __future__ import annotations

import pytest
from PIL import Image

from indexer.extract import ExtractionError, extractor_for
from indexer.extract.pdf import PdfExtractor, text_quality
from indexer.ocr import Ocr
from tests import inputs

PAGES = [inputs.law_excerpt(i, 250) for i in range(3)]


@pytest.fixture(scope="module")
def ocr(tmp_path_factory) -> Ocr:
    with Ocr(tmp_path_factory.mktemp("ocr-cache"), workers=2) as service:
        yield service


def _compact(text: str) -> str:
    return "".join(text.split())


def test_born_digital_pdf_keeps_each_pages_text_layer_without_ocr(tmp_path, ocr):
    path = inputs.text_pdf(tmp_path / "laws.pdf", PAGES, title="中华人民共和国军人地位和权益保障法")
    extracted = extractor_for(path).extract(path, ocr)
    assert extracted.media_type == "application/pdf"
    assert [p.number for p in extracted.pages] == [1, 2, 3]
    for page, source in zip(extracted.pages, PAGES):
        assert _compact(page.text) == _compact(source)
        assert page.ocr is False and page.confidence is None
    assert extracted.metadata["title"] == "中华人民共和国军人地位和权益保障法"
    assert ocr.misses == 0


def test_pdf_encrypted_with_owner_password_only_is_read(tmp_path, ocr):
    path = inputs.text_pdf(tmp_path / "restricted.pdf", PAGES[:1], owner_password="owner")
    extracted = PdfExtractor().extract(path, ocr)
    assert _compact(extracted.pages[0].text) == _compact(PAGES[0])


def test_pdf_that_needs_a_password_fails_with_that_reason(tmp_path, ocr):
    path = inputs.text_pdf(tmp_path / "secret.pdf", PAGES[:1], user_password="123456")
    with pytest.raises(ExtractionError) as e:
        PdfExtractor().extract(path, ocr)
    assert "secret.pdf" in e.value.reason and "password" in e.value.reason
    assert not e.value.skip


def test_truncated_and_corrupt_pdfs_fail_with_a_reason(tmp_path, ocr):
    good = inputs.text_pdf(tmp_path / "good.pdf", PAGES).read_bytes()
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(good[: len(good) // 3])
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    for path in (truncated, garbage):
        with pytest.raises(ExtractionError) as e:
            PdfExtractor().extract(path, ocr)
        assert path.name in e.value.reason and "PDF" in e.value.reason


def test_empty_pdf_file_is_skipped(tmp_path, ocr):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(ExtractionError) as e:
        extractor_for(path).extract(path, ocr)
    assert e.value.skip and e.value.reason == "空文件 / empty file"


def test_cid_and_private_use_text_is_judged_unusable_but_real_text_is_not():
    assert not text_quality("(cid:12)(cid:345)(cid:77)(cid:9)(cid:1203)(cid:66)").usable
    assert not text_quality("\ue001\ue0a2\ue013\ue004\ue1f5 \ue006\ue007").usable
    assert not text_quality("ÖÐ»ªÈËÃñ¹²ºÍ¹úµµ°¸·¨").usable  # GBK bytes read as Latin-1
    assert not text_quality("- 2 -").usable  # a page number alone is no text layer
    assert text_quality(PAGES[0]).usable
    assert text_quality("Article 1. This Law is formulated in accordance with the Constitution.").usable


@pytest.mark.slow
def test_mixed_pdf_ocrs_only_the_scanned_and_garbled_pages(tmp_path, ocr):
    scan_text = inputs.law_excerpt(title="中华人民共和国档案法", chars=200)
    garbled_text = inputs.law_excerpt(10, 150)
    path = inputs.mixed_pdf(
        tmp_path / "mixed.pdf",
        text_pages={1: PAGES[0]},
        scans={2: inputs.render_page(scan_text, seal=True, skew=1.5, noise=0.001),
               3: inputs.render_page(garbled_text)},
        garbled={3: "".join(chr(0xE000 + i % 300) for i in range(200))},
    )
    pages = PdfExtractor().extract(path, ocr).pages
    assert [p.ocr for p in pages] == [False, True, True]
    assert _compact(pages[0].text) == _compact(PAGES[0])
    assert inputs.char_accuracy(scan_text, pages[1].text) >= 0.95
    assert inputs.char_accuracy(garbled_text, pages[2].text) >= 0.95
    assert all(p.confidence and p.confidence > 60 for p in pages[1:])


@pytest.mark.slow
def test_image_only_pdf_is_ocrd_page_by_page_and_a_rerun_hits_the_cache(tmp_path, ocr):
    texts = [inputs.law_excerpt(20, 120), inputs.law_excerpt(21, 120)]
    path = inputs.image_pdf(tmp_path / "scan.pdf", [inputs.render_page(t) for t in texts])
    first = PdfExtractor().extract(path, ocr).pages
    assert [p.number for p in first] == [1, 2]
    for page, text in zip(first, texts):
        assert page.ocr and inputs.char_accuracy(text, page.text) >= 0.97
    misses = ocr.misses
    again = PdfExtractor().extract(path, ocr).pages
    assert ocr.misses == misses  # nothing OCR'd twice
    assert [p.text for p in again] == [p.text for p in first]


def _scan_pdf(path, dpi: int, inches=(8.27, 11.69)):
    page = Image.new("RGB", (round(inches[0] * dpi), round(inches[1] * dpi)), "white")
    page.save(path, "PDF", resolution=dpi)
    return path


@pytest.mark.parametrize(("scanned", "drawn"), [(96, 150), (200, 200), (300, 300), (600, 300)])
def test_a_scan_is_drawn_for_ocr_at_its_own_resolution_not_upsampled(tmp_path, scanned, drawn):
    import pypdfium2 as pdfium

    from indexer.extract.pdf import render, scan_dpi

    doc = pdfium.PdfDocument(_scan_pdf(tmp_path / f"scan{scanned}.pdf", scanned))
    assert scan_dpi(doc, 0) == drawn
    # An A4 scan at 96 ppi holds 794 × 1123 pixels: drawn at 150 dpi, not at 300 (2480 × 3508).
    assert abs(render(doc, 0, scan_dpi(doc, 0)).width - 8.27 * drawn) <= 2


def test_a_page_of_vector_text_with_a_small_picture_is_drawn_at_full_resolution(tmp_path):
    import pypdfium2 as pdfium
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from indexer.extract.pdf import RENDER_DPI, scan_dpi

    path = tmp_path / "letterhead.pdf"
    c = canvas.Canvas(str(path), pagesize=(595, 842))
    c.drawString(72, 700, "vector text")
    c.drawImage(ImageReader(Image.new("RGB", (60, 60), "red")), 72, 760, 40, 40)  # a 108 ppi logo
    c.showPage()
    c.save()
    doc = pdfium.PdfDocument(path)
    assert scan_dpi(doc, 0) == RENDER_DPI


def test_the_real_book_scan_is_drawn_at_its_scan_resolution():
    import pypdfium2 as pdfium

    from indexer.extract.pdf import render, scan_dpi

    doc = pdfium.PdfDocument(inputs.shared("real/scans/mineru_small_ocr.pdf"))
    image = render(doc, 0, scan_dpi(doc, 0))
    # 62 strips of 1634-pixel bilevel lines at 96 ppi on a 1225 × 1800 pt page: 150 dpi,
    # 2553 pixels wide, where 300 dpi drew 5107.
    assert image.width < 2600
