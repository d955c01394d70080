"""PDF: the text layer per page (pdfminer.six), OCR for pages whose text is missing or garbled.

Archives hold three kinds of PDF: born-digital (good text layer), scans (an image per page,
no text), and the awkward middle: scans with a stamped-on text header, and PDFs whose
fonts lack a ToUnicode map so the "text" is CID numbers or private-use characters. Each
page is judged on its own, so a mixed PDF keeps its good text pages and OCRs the rest."""

from __future__ import annotations

import ctypes
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image
from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTChar, LTFigure, LTImage, LTPage, LTTextContainer
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect, PDFSyntaxError
from pdfminer.pdfparser import PDFSyntaxError as ParserSyntaxError
from pdfminer.psparser import PSEOF, PSException

from engine.model import Page
from indexer import limits
from indexer.extract import Extracted, ExtractionError, OcrService, ensure_not_empty, pdf_limits

log = logging.getLogger(__name__)

RENDER_DPI = 300
MIN_RENDER_DPI = 100
MIN_SCAN_DPI = 150  # a page scanned coarser than this is still drawn at this for OCR
_CID = re.compile(r"\(cid:\d+\)")
_ASCII_OK = re.compile(r"[A-Za-z0-9.,;:!?()\[\]%/\-+'\"&@#*=<>_|]")


@dataclass
class TextQuality:
    chars: int  # non-space characters, a (cid:N) counted as one
    good: float  # share of CJK, CJK punctuation, ASCII letters/digits/punctuation
    bad: float  # share of private-use, U+FFFD, control characters and (cid:N)

    @property
    def usable(self) -> bool:
        return self.chars >= 5 and self.bad <= 0.1 and self.good >= 0.6


def _is_good(c: str) -> bool:
    o = ord(c)
    return (
        0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF  # CJK
        or 0x20000 <= o <= 0x3134F
        or 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF  # kana: Japanese text is text too
        or 0xAC00 <= o <= 0xD7AF  # Hangul syllables
        or 0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF  # CJK punctuation, full-width forms
        or c in "“”‘’—…·●■□△▲★☆○◎※№"
        or _ASCII_OK.match(c) is not None
    )


def _is_bad(c: str) -> bool:
    o = ord(c)
    return (0xE000 <= o <= 0xF8FF or o >= 0xF0000 or o == 0xFFFD
            or (o < 0x20 and c not in "\t\n\r\f"))


def text_quality(text: str) -> TextQuality:
    """How much of a page's text layer reads as text; garbled CID fonts score low."""
    cids = len(_CID.findall(text))
    rest = [c for c in _CID.sub("", text) if not c.isspace()]
    n = len(rest) + cids
    if n == 0:
        return TextQuality(0, 0.0, 0.0)
    good = sum(1 for c in rest if _is_good(c))
    bad = sum(1 for c in rest if _is_bad(c)) + cids
    return TextQuality(n, good / n, bad / n)


@dataclass
class _LayerPage:
    text: str
    image_cover: float  # share of the page area covered by images (scans cover ~1.0)


def _image_cover(page: LTPage) -> float:
    area = max(page.width * page.height, 1.0)
    covered = 0.0
    stack = list(page)
    while stack:
        el = stack.pop()
        if isinstance(el, LTImage):
            covered += el.width * el.height
        elif isinstance(el, LTFigure):
            stack.extend(el)
    return min(covered / area, 1.0)


def _layout_text(elements: Iterable[Any]) -> str:
    """Text boxes in layout order, and the characters inside figures (form XObjects), which
    pdfminer leaves as loose glyphs: a name filled into a form is often drawn there."""
    parts: list[str] = []
    for el in elements:
        if isinstance(el, LTTextContainer):
            parts.append(el.get_text())
        elif isinstance(el, LTFigure):
            inner = _layout_text(el)
            loose = "".join(c.get_text() for c in el if isinstance(c, LTChar))
            parts.append(inner + (loose + "\n" if loose.strip() else ""))
    return "".join(parts)


def _annotation_text(doc: pdfium.PdfDocument, index: int) -> str:
    """Text of FreeText annotations (typed onto the page; viewers and pdftotext show it)."""
    page = doc[index]
    out = []
    for n in range(pdfium_c.FPDFPage_GetAnnotCount(page)):
        annot = pdfium_c.FPDFPage_GetAnnot(page, n)
        if not annot:
            continue
        try:
            if pdfium_c.FPDFAnnot_GetSubtype(annot) != pdfium_c.FPDF_ANNOT_FREETEXT:
                continue
            size = pdfium_c.FPDFAnnot_GetStringValue(annot, b"Contents", None, 0)
            if size > 2:
                buf = ctypes.create_string_buffer(size)
                pdfium_c.FPDFAnnot_GetStringValue(annot, b"Contents", ctypes.cast(buf, ctypes.POINTER(
                    pdfium_c.FPDF_WCHAR)), size)
                text = buf.raw[:size - 2].decode("utf-16-le", errors="replace").strip()
                if text:
                    out.append(text)
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annot)
    return "\n".join(out)


def _text_layer_pdfminer(path: Path) -> list[_LayerPage]:
    pages = []
    for layout in extract_pages(path, laparams=LAParams()):
        limits.checkpoint()
        pages.append(_LayerPage(_layout_text(layout).strip(), _image_cover(layout)))
    return pages


def _text_layer_pdfium(doc: pdfium.PdfDocument) -> list[_LayerPage]:
    """Fallback when pdfminer chokes on a file pdfium can still read (broken xref etc.)."""
    pages = []
    for i in range(len(doc)):
        textpage = doc[i].get_textpage()
        pages.append(_LayerPage(textpage.get_text_range().replace("\r\n", "\n").strip(), 0.0))
    return pages


def _better_text(text: str, doc: pdfium.PdfDocument, index: int) -> str:
    """pdfium's reading of a page pdfminer could not decode. The two parsers fail on
    different files (pdfminer e.g. on CID fonts in encrypted PDFs), and asking the second
    costs milliseconds where OCR costs seconds."""
    other = doc[index].get_textpage().get_text_range().replace("\r\n", "\n").strip()
    return other if text_quality(other).usable else text


def _han(text: str) -> int:
    return sum(1 for c in text if 0x4E00 <= ord(c) <= 0x9FFF or 0x3400 <= ord(c) <= 0x4DBF)


def _layer_reads_more(layer: str, ocr_text: str) -> bool:
    """A short but clean text layer ('目录', one title) is OCR'd in case the page holds more
    as drawn glyphs; when OCR reads fewer characters than the layer, the layer stays."""
    q = text_quality(layer)
    return q.chars > 0 and q.bad <= 0.1 and _han(layer) > _han(ocr_text)


def needs_ocr(layer: _LayerPage) -> bool:
    """No usable text, or a scan with only a thin stamped-on text line (e.g. a download
    watermark) whose real content is in the image."""
    if not text_quality(layer.text).usable:
        return True
    return layer.image_cover >= 0.5 and len(layer.text) < 60


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as e:
        msg = str(e).lower()
        if "password" in msg:
            raise ExtractionError(f"{path.name}: PDF 已加密，需要密码 / encrypted PDF, password "
                                  "required") from e
        if "format" in msg or "file" in msg:
            raise ExtractionError(f"{path.name}: PDF 文件损坏或不完整 / corrupt or truncated PDF "
                                  f"({e})") from e
        raise ExtractionError(f"{path.name}: 无法打开 PDF / cannot open PDF ({e})") from e


def render(doc: pdfium.PdfDocument, index: int, dpi: int = RENDER_DPI) -> Image.Image:
    """Page `index` (0-based) as an RGB image; oversized pages (A0 drawings) are rendered
    at a lower dpi so they stay under Pillow's decompression-bomb limit."""
    limits.checkpoint()
    page = doc[index]
    w, h = page.get_size()  # points
    limit = limits.MAX_PIXELS
    if limit:
        fit = int(((limit / max(w * h, 1.0)) ** 0.5) * 72)
        if fit < MIN_RENDER_DPI:
            raise ExtractionError(f"第{index + 1}页 / page {index + 1}: 页面过大 / page too large "
                                  f"to render ({w:.0f}×{h:.0f} pt)")
        dpi = min(dpi, fit)
    return page.render(scale=dpi / 72).to_pil().convert("RGB")


def scan_dpi(doc: pdfium.PdfDocument, index: int) -> int:
    """The resolution to draw page `index` at for OCR: a scan's own (the finest of its
    images), between MIN_SCAN_DPI and RENDER_DPI; RENDER_DPI for a page that images cover
    less than half of (its vector text and lines are drawn as finely as ever). Drawing a
    96 ppi scan at 300 dpi gives the engine ten times the pixels and no detail: a real
    book scan (`mineru_small_ocr.pdf`, 62 strips of 1634-pixel bilevel lines a page) came
    out as 5107 × 7501 pixels where its scan holds 1634 × 2400."""
    page = doc[index]
    width, height = page.get_size()
    finest = covered = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
        try:
            meta = obj.get_metadata()
            left, bottom, right, top = obj.get_bounds()
        except pdfium.PdfiumError:
            continue
        finest = max(finest, meta.horizontal_dpi, meta.vertical_dpi)
        covered += max(0.0, min(right, width) - max(left, 0.0)) * max(0.0, min(top, height) - max(bottom, 0.0))
    if finest <= 0 or covered < 0.5 * width * height:
        return RENDER_DPI
    return int(min(RENDER_DPI, max(MIN_SCAN_DPI, round(finest))))


class PdfExtractor:
    media_types = ("application/pdf",)
    extensions = (".pdf",)

    def extract(self, path: Path, ocr: OcrService) -> Extracted:
        ensure_not_empty(path)
        pdf_limits.check(path)  # before either parser inflates a content-stream bomb
        doc = _open(path)
        try:
            count = len(doc)
            if count == 0:
                raise ExtractionError(f"{path.name}: PDF 没有页面 / PDF has no pages", skip=True)
            layer = self._text_layer(path, doc)
            if len(layer) != count:  # pdfminer and pdfium disagree: trust pdfium's page tree
                log.warning("%s: pdfminer found %d pages, pdfium %d", path.name, len(layer), count)
                layer = _text_layer_pdfium(doc)
            for i, p in enumerate(layer):
                if needs_ocr(p):
                    p.text = _better_text(p.text, doc, i)
                typed = _annotation_text(doc, i)
                if typed:
                    p.text = f"{p.text}\n{typed}".strip()
            pages = [Page(number=i + 1, text=p.text) for i, p in enumerate(layer)]
            todo = [i for i, p in enumerate(layer) if needs_ocr(p)]
            if todo:
                # Lazy: one page in memory per worker.
                images = (render(doc, i, scan_dpi(doc, i)) for i in todo)
                for done in ocr.ocr_images(images, numbers=[i + 1 for i in todo],
                                           source=path.name):
                    if not _layer_reads_more(layer[done.number - 1].text, done.text):
                        pages[done.number - 1] = done
            return Extracted(pages, "application/pdf", _metadata(doc))
        except ExtractionError as e:
            if not e.reason.startswith(path.name):
                e.reason = f"{path.name}: {e.reason}"
                e.args = (e.reason,)
            raise
        finally:
            doc.close()

    def _text_layer(self, path: Path, doc: pdfium.PdfDocument) -> list[_LayerPage]:
        try:
            return _text_layer_pdfminer(path)
        except (PDFPasswordIncorrect, PDFEncryptionError) as e:
            raise ExtractionError(f"PDF 已加密 / encrypted PDF ({type(e).__name__})") from e
        except (PDFSyntaxError, ParserSyntaxError, PSEOF, PSException, KeyError, ValueError,
                TypeError, AssertionError) as e:
            # pdfminer is strict; pdfium opened the file, so read its text layer instead.
            log.warning("%s: pdfminer failed (%s: %s), using pdfium text", path.name,
                        type(e).__name__, e)
            return _text_layer_pdfium(doc)


def _metadata(doc: pdfium.PdfDocument) -> dict[str, str]:
    """Title from the document info, unless it is a word processor's placeholder."""
    meta = doc.get_metadata_dict(skip_empty=True)
    title = meta.get("Title", "").strip()
    if title and re.search(r"[\u4e00-\u9fff]", title) and not re.match(
        r"(?i)(microsoft|wps|untitled|文档\d|新建)", title
    ):
        return {"title": title}
    return {}
