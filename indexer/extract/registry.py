"""Pick the extractor for a file: content first (magic bytes), extension second.

Files arrive from scanners and old file servers with wrong or missing extensions
(`扫描件001` without suffix, a PDF saved as `.doc`), so the first bytes decide when they
can; the extension only settles what bytes cannot (plain text, HTML without a doctype)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from indexer.extract import Extractor

_SNIFF = 4096


def _extractors() -> dict[str, Extractor]:
    # Imported lazily so `import indexer.extract` stays cheap and an optional
    # dependency of one format cannot break the others.
    from indexer.extract import docx, html, image, ofd, pdf, text

    return {
        "pdf": pdf.PdfExtractor(),
        "text": text.TextExtractor(),
        "image": image.ImageExtractor(),
        "docx": docx.DocxExtractor(),
        "ofd": ofd.OfdExtractor(),
        "html": html.HtmlExtractor(),
    }


_BY_NAME: dict[str, Extractor] | None = None


def _all() -> dict[str, Extractor]:
    global _BY_NAME
    if _BY_NAME is None:
        _BY_NAME = _extractors()
    return _BY_NAME


def sniff(head: bytes, path: Path) -> str | None:
    """The format name the first bytes prove, or None when they prove nothing."""
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:  # some writers prepend junk
        return "pdf"
    if head.startswith((b"II*\x00", b"MM\x00*", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM")):
        if head.startswith(b"BM") and len(head) < 26:
            return None
        return "image"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return None  # OLE2: legacy .doc/.wps/.xls — not supported; the pipeline records why
    lowered = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:512]:
        return "html"
    return None


def _sniff_zip(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError):
        return None
    if "word/document.xml" in names:
        return "docx"
    if "OFD.xml" in names or any(n.lower() == "ofd.xml" for n in names):
        return "ofd"
    return None


def _by_extension(path: Path) -> str | None:
    suffix = path.suffix.lower()
    for name, extractor in _all().items():
        if suffix in extractor.extensions:
            return name
    return None


def pick(path: Path) -> Extractor | None:
    """The extractor for `path`, or None when no extractor reads this kind of file."""
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF)
    except OSError:
        head = b""
    name = sniff(head, path) if head else None
    if name is None:
        if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            return None  # a zip or OLE file that is none of ours: don't feed it to the text reader
        name = _by_extension(path)
    return _all()[name] if name else None
