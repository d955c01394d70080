"""Word (.docx): paragraphs and tables in document order; the title from core properties.

A .docx has no fixed pages (layout happens in Word), so explicit page breaks split pages
and a document without them is one page."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from engine.model import Page
from indexer import limits
from indexer.extract import Extracted, ExtractionError, OcrService, ensure_not_empty

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _table_lines(table: Table) -> list[str]:
    """One line per row, cells separated by a tab; a merged cell repeats in python-docx,
    so neighbours with the same cell object are written once."""
    lines = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(p.text.strip() for p in cell.paragraphs if p.text.strip()))
        if any(cells):
            lines.append("\t".join(cells))
    return lines


def _break_after(paragraph: Paragraph) -> bool:
    """An inserted page break (Ctrl+Enter) sits at the end of the paragraph it follows."""
    return any(br.get(f"{_W}type") == "page" for br in paragraph._p.iter(f"{_W}br"))


class DocxExtractor:
    media_types = (MEDIA_TYPE,)
    extensions = (".docx",)

    def extract(self, path: Path, ocr: OcrService | None = None) -> Extracted:
        ensure_not_empty(path)
        limits.check_zip_file(path)  # python-docx reads whole parts: a 1 GiB part would be 1 GiB
        try:
            document = docx.Document(str(path))
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as e:
            raise ExtractionError(f"{path.name}: Word 文件损坏 / corrupt .docx ({e})") from e
        pages: list[list[str]] = [[]]
        for block in document.iter_inner_content():
            limits.checkpoint()
            if isinstance(block, Paragraph):
                if block.paragraph_format.page_break_before and pages[-1]:
                    pages.append([])
                if block.text.strip():
                    pages[-1].append(block.text.strip())
                if _break_after(block):
                    pages.append([])
            else:
                pages[-1].extend(_table_lines(block))
        if len(pages) > 1 and not pages[-1]:
            pages.pop()  # a break at the very end opens no page
        result = [Page(number=i, text="\n".join(lines)) for i, lines in enumerate(pages, 1)]
        if not any(p.text for p in result):
            raise ExtractionError(f"{path.name}: Word 文件没有文字 / .docx without text", skip=True)
        meta: dict[str, str] = {}
        title = (document.core_properties.title or "").strip()
        if title:
            meta["title"] = title
        return Extracted(result, MEDIA_TYPE, meta)
