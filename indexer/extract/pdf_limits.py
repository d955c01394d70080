"""A PDF's content streams measured before anything parses them: an 80 KB file can hold a
stream that inflates to tens of MB of drawing operators, which pdfminer turns into minutes
and gigabytes, pdfium into a minute per render. Each page's streams (and the forms they
draw) are inflated in slices up to the byte bounds and their operators counted; past a
bound the file fails with the bound named, before the text layer is read."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import PDFObjRef, PDFStream, resolve1
from pdfminer.psparser import LIT

from indexer import limits
from indexer.limits import LimitExceeded

# An operator: 1–3 letters (and * or a quote), not part of a name, number or longer word.
_OPERATOR = re.compile(rb"(?<![A-Za-z0-9/#.\\])(?:[A-Za-z]{1,2}[A-Za-z0-9]?\*?|['\"])(?![A-Za-z0-9#])")
_FLATE = {LIT("FlateDecode"), LIT("Fl")}
_SLICE = 1 << 20


class _Count:
    def __init__(self, name: str):
        self.name, self.bytes, self.operators = name, 0, 0

    def add(self, data: bytes, page: int, on_page: list[int]) -> None:
        self.bytes += len(data)
        n = len(_OPERATOR.findall(data))
        self.operators += n
        on_page[0] += n
        if self.bytes > limits.MAX_DECOMPRESSED_BYTES:
            raise LimitExceeded(f"{self.name}: PDF 内容流解压后超过 {limits.MAX_DECOMPRESSED_BYTES >> 20} MB 上限 / "
                                f"content streams inflate past the decompressed-bytes limit of "
                                f"{limits.MAX_DECOMPRESSED_BYTES >> 20} MB")
        if on_page[0] > limits.MAX_PAGE_OPERATORS:
            raise LimitExceeded(f"{self.name}: 第{page}页绘图指令超过 {limits.MAX_PAGE_OPERATORS} 条上限 / page {page} "
                                f"has more than {limits.MAX_PAGE_OPERATORS} content-stream operators (the limit)")
        if self.operators > limits.MAX_OPERATORS:
            raise LimitExceeded(f"{self.name}: 绘图指令超过 {limits.MAX_OPERATORS} 条上限 / more than "
                                f"{limits.MAX_OPERATORS} content-stream operators in the file (the limit)")


def _filters(stream: PDFStream) -> list:
    f = resolve1(stream.get_any(("F", "Filter")))
    return [resolve1(x) for x in f] if isinstance(f, list) else ([f] if f else [])


def _inflate(stream: PDFStream, count: _Count, page: int, on_page: list[int]) -> None:
    data = stream.rawdata if stream.rawdata is not None else stream.data or b""
    if stream.decipher and stream.rawdata is not None:
        data = stream.decipher(stream.objid, stream.genno, data, stream.attrs)
    filters = _filters(stream)
    if not filters:
        count.add(data, page, on_page)
        return
    if filters[0] not in _FLATE or len(filters) > 1:
        # LZW, ASCII85… are rare in content streams and expand little: measured whole.
        count.add(stream.get_data(), page, on_page)
        return
    inflater, size = zlib.decompressobj(), 0
    pending = data
    while pending:
        try:
            out = inflater.decompress(pending, _SLICE)
        except zlib.error:
            return  # a damaged stream: the parsers say what they make of it
        size += len(out)
        if size > limits.MAX_PART_BYTES:
            raise LimitExceeded(f"{count.name}: PDF 内容流解压后超过 {limits.MAX_PART_BYTES >> 20} MB 上限 / a content "
                                f"stream inflates past the decompressed-part limit of {limits.MAX_PART_BYTES >> 20} MB")
        count.add(out, page, on_page)
        pending = inflater.unconsumed_tail
        if not out:
            break


def _forms(resources: object, seen: set[int]) -> list[PDFStream]:
    """Form XObjects a page (or form) draws: their content runs too."""
    res = resolve1(resources)
    if not isinstance(res, dict):
        return []
    out = []
    xobjects = resolve1(res.get("XObject"))
    for ref in (xobjects or {}).values() if isinstance(xobjects, dict) else ():
        key = ref.objid if isinstance(ref, PDFObjRef) else id(ref)
        obj = resolve1(ref)
        if key in seen or not isinstance(obj, PDFStream) or resolve1(obj.get("Subtype")) != LIT("Form"):
            continue
        seen.add(key)
        out.append(obj)
    return out


def check(path: Path) -> None:
    """Raise LimitExceeded when the PDF's content passes a bound; a PDF pdfminer cannot parse
    passes (the extractor reports on it)."""
    count = _Count(path.name)
    try:
        with path.open("rb") as f:
            doc = PDFDocument(PDFParser(f))
            for number, page in enumerate(PDFPage.create_pages(doc), start=1):
                limits.checkpoint()
                on_page, seen = [0], set()
                todo = [s for s in (resolve1(c) for c in page.contents) if isinstance(s, PDFStream)]
                todo += _forms(page.resources, seen)
                while todo:
                    stream = todo.pop()
                    _inflate(stream, count, number, on_page)
                    todo += _forms(stream.get("Resources"), seen)
    except LimitExceeded:
        raise
    except Exception:  # noqa: BLE001 - a PDF pdfminer cannot walk is the extractor's to judge
        return
