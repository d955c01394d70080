"""Plain text in whatever encoding the archive used: UTF-8, GB18030/GBK/GB2312, Big5, UTF-16.

The encoding is detected from the bytes (charset-normalizer), never from the extension:
a `.txt` from a 2005 Windows machine is GBK, from a Taiwan office Big5. Form feeds split
pages (that is how old exports mark them); otherwise the file is one page."""

from __future__ import annotations

import codecs
from pathlib import Path

from charset_normalizer import from_bytes

from engine.model import Page
from indexer.extract import Extracted, ExtractionError, OcrService, read_bytes

# Encodings detection may return that are subsets of a wider one: decode with the superset so
# the few characters outside GB2312 (e.g. 镕, 堃 in names) do not fail the whole file.
_WIDEN = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "big5": "big5hkscs",
          "ascii": "utf-8"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a BOM shows as NUL bytes in every other position for ASCII, but CJK
    text has few NULs; decoding both ways and keeping the one that reads as CJK/ASCII is
    cheaper and surer than a statistical guess on short files."""
    if len(data) < 4 or len(data) % 2:
        return None
    best: tuple[float, str] | None = None
    for enc in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        good = sum(1 for c in text if "\u4e00" <= c <= "\u9fff" or c.isascii() and c.isprintable()
                   or c in "\n\r\t，。、；：？！“”（）《》　")
        share = good / len(text)
        if share > 0.9 and (best is None or share > best[0]):
            best = (share, text)
    return best[1] if best else None


def decode(data: bytes, name: str = "") -> tuple[str, str]:
    """(text, encoding) of raw bytes; raises ExtractionError when they are not text."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), enc
    try:
        return data.decode("utf-8"), "utf-8"  # the common case, and the one detection can't miss
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:4096]:
        text = _utf16_without_bom(data)
        if text is not None:
            return text, "utf-16"
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        text, enc, bad = decode_damaged(data, name)
        return text, enc
    enc = _WIDEN.get(best.encoding.lower().replace("-", ""), best.encoding)
    return data.decode(enc, errors="replace"), enc


# A damaged file: bytes that no encoding reads (a bad sector, a truncated copy, one byte
# flipped) make detection refuse the whole file. Up to this share of bad byte sequences,
# the text is read in the encoding the rest of it is in, each bad sequence becoming U+FFFD.
MAX_BAD_SHARE = 0.01
_CANDIDATES = ("utf-8", "gb18030", "big5hkscs", "utf-16-le", "utf-16-be")


def _bad_spans(data: bytes, encoding: str, limit: int) -> list[tuple[int, int]] | None:
    """Where strict decoding fails, or None when it fails more than `limit` times."""
    spans: list[tuple[int, int]] = []
    pos = 0
    decoder = codecs.getincrementaldecoder(encoding)()
    while pos < len(data):
        try:
            decoder.decode(data[pos:], final=True)
            break
        except UnicodeDecodeError as exc:
            start, end = pos + exc.start, pos + max(exc.end, exc.start + 1)
            spans.append((start, end))
            if len(spans) > limit:
                return None
            decoder.reset()
            pos = end
    return spans


def decode_damaged(data: bytes, name: str = "") -> tuple[str, str, int]:
    """(text, encoding, bad sequences replaced) of bytes that are text apart from a few bad
    sequences: the encoding is the one detection recognises once they are cut out."""
    limit = max(1, int(len(data) * MAX_BAD_SHARE))
    tried: list[tuple[int, str, bytes]] = []
    for enc in _CANDIDATES:
        spans = _bad_spans(data, enc, limit)
        if spans is None:
            continue
        clean = b"".join(data[a:b] for a, b in zip([0] + [e for _, e in spans], [s for s, _ in spans] + [len(data)]))
        tried.append((len(spans), enc, clean))
    for bad, enc, clean in sorted(tried, key=lambda t: t[0]):
        best = from_bytes(clean).best()
        found = best.encoding.lower().replace("-", "").replace("_", "") if best and best.encoding else ""
        if _WIDEN.get(found, found) in (enc.replace("-", ""), enc):
            return data.decode(enc, errors="replace"), enc, bad
    raise ExtractionError(f"{name}: 无法识别文本编码 / not text in any known encoding")


def split_pages(text: str) -> list[Page]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts = text.split("\f") if "\f" in text else [text]
    return [Page(number=i, text=t.strip("\n")) for i, t in enumerate(parts, start=1)]


class TextExtractor:
    media_types = ("text/plain",)
    extensions = (".txt", ".text", ".csv", ".tsv", ".md", "")

    def extract(self, path: Path, ocr: OcrService | None = None) -> Extracted:
        data = read_bytes(path)
        text, encoding = decode(data, path.name)
        if not text.strip():
            raise ExtractionError("空文件 / empty file (only whitespace)", skip=True)
        notes = []
        written = "\ufffd".encode(encoding, errors="ignore")  # U+FFFD the file itself holds
        bad = text.count("\ufffd") - (data.count(written) if written else 0)
        if bad > 0:
            notes.append(f"{bad} 处无法解码的字节已替换为 U+FFFD / {bad} undecodable byte sequence"
                         f"{'s' if bad > 1 else ''} replaced with U+FFFD ({encoding})")
        return Extracted(split_pages(text), "text/plain", {"encoding": encoding}, notes)
