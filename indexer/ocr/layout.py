"""Reading order: an engine's lines of a page, in the order a reader reads them.

Worked out in the upright page, where lines run left to right and follow each other
downwards: a page turned 90° or 180° is turned back, and 竖排 (vertical) columns, which are
read top to bottom and right to left, are laid on their side so a column becomes a line and
the rightmost column the first. Then:

- running heads, footers and page numbers (`— 3 —`, `第 1 页 共 6 页`) at the page's top or
  bottom edge are set apart from the body, the header first and the footer last;
- the body is cut, top to bottom, into bands of full-width lines and bands of narrower ones;
  a band of narrow lines is cut into columns at its blank vertical gutters and read column
  by column, left to right; a band of short cells (a table) is read row by row;
- lines of one paragraph are joined, with no space between Chinese characters (a space
  only between two Latin words); a paragraph ends at a short line, an indented line or a
  wider gap than the page's usual line pitch.

The lines keep their boxes on the page as given, so the order changes nothing the page
view marks."""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass

from indexer.ocr.engine import Box, Line, Reading

EDGE = 0.07  # share of the page height where running heads and footers sit
FULL_WIDTH = 0.6  # a line at least this share of the body's width spans all its columns
TABLE_CELL_CHARS = 8  # a band whose lines are this short (median) is a table: read by rows
_PAGE_NUMBER = re.compile(
    r"^[\s\-—–－·•]*(第\s*)?[0-9０-９一二三四五六七八九十百IVXivx]{1,4}\s*(页|頁)?"
    r"(\s*[/共]\s*[0-9０-９]+\s*(页|頁)?)?[\s\-—–－·•]*$")


@dataclass
class Placed:
    line: Line
    box: Box  # in the upright page


def upright(box: Box, rotation: int, vertical: bool, size: tuple[int, int]) -> Box:
    """`box` (on the page as given, `size` = its width, height) in the upright page, where
    the page's lines run left to right, one under the other."""
    w, h = size
    left, top, right, bottom = box
    if rotation == 180:
        return (w - right, h - bottom, w - left, h - top)
    if rotation == 90:  # turned counter-clockwise: lines run bottom to top, first at left
        return (h - bottom, left, h - top, right)
    if rotation == 270 or vertical:  # turned clockwise, or 竖排: first line at the right
        return (top, w - right, bottom, w - left)
    return box


def level(box: Box, angle: float, size: tuple[int, int]) -> Box:
    """A box on a skewed page where it would be on the page turned by `angle` (degrees,
    counter-clockwise as Image.rotate takes it) to level its lines: the centre turned, the
    height less what the skew added across the box's width. Without it, the two ends of
    one long line sit at different heights and the boxes of neighbouring lines overlap."""
    t = math.radians(angle)
    cx = (box[0] + box[2]) / 2 - size[0] / 2
    cy = (box[1] + box[3]) / 2 - size[1] / 2
    x = cx * math.cos(t) + cy * math.sin(t) + size[0] / 2
    y = -cx * math.sin(t) + cy * math.cos(t) + size[1] / 2
    w, h = box[2] - box[0], box[3] - box[1]
    h = max(h - abs(math.tan(t)) * w, 0.5 * h)
    return (round(x - w / 2), round(y - h / 2), round(x + w / 2), round(y + h / 2))


def _is_latin(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _height(p: Placed) -> int:
    return p.box[3] - p.box[1]


def _rows(items: list[Placed]) -> list[list[Placed]]:
    """Lines on one row (boxes overlapping by half their height), rows top to bottom, each
    row left to right: a line the detector split in two is read in one piece."""
    rows: list[list[Placed]] = []
    for p in sorted(items, key=lambda p: (p.box[1] + p.box[3]) / 2):
        if rows:
            last = rows[-1]
            top, bottom = min(q.box[1] for q in last), max(q.box[3] for q in last)
            overlap = min(bottom, p.box[3]) - max(top, p.box[1])
            if overlap >= 0.5 * min(_height(p), bottom - top):
                last.append(p)
                continue
        rows.append([p])
    return [sorted(r, key=lambda p: p.box[0]) for r in rows]


def _columns(band: list[Placed], gutter: float) -> list[list[Placed]]:
    """A band cut at its blank vertical gutters (at least `gutter` wide), left to right."""
    spans = sorted((p.box[0], p.box[2]) for p in band)
    cuts: list[float] = []
    reach = spans[0][1]
    for left, right in spans[1:]:
        if left - reach >= gutter:
            cuts.append((left + reach) / 2)
        reach = max(reach, right)
    cols: list[list[Placed]] = [[] for _ in range(len(cuts) + 1)]
    for p in band:
        cols[sum(1 for c in cuts if (p.box[0] + p.box[2]) / 2 > c)].append(p)
    return [c for c in cols if c]


def _paragraphs(column: list[Placed], char: float) -> list[list[Placed]]:
    """A column's lines, top to bottom, grouped into paragraphs."""
    rows = _rows(column)
    if not rows:
        return []
    # Where the column's lines usually start and end: the median, so a margin note (the
    # 14(I) of a book's page) or one long line does not make every other line look indented
    # or short.
    left = statistics.median(r[0].box[0] for r in rows)
    right = statistics.median(max(p.box[2] for p in r) for r in rows)
    tops = [min(p.box[1] for p in r) for r in rows]
    pitches = [b - a for a, b in zip(tops, tops[1:])]
    pitch = statistics.median(pitches) if pitches else char * 2
    paras: list[list[Placed]] = [list(rows[0])]
    for prev, row, gap in zip(rows, rows[1:], pitches):
        ended = max(p.box[2] for p in prev) < right - 1.5 * char  # a short last line
        indented = row[0].box[0] > left + 1.2 * char  # 首行缩进 of the next paragraph
        apart = gap > 1.6 * pitch
        if ended or indented or apart:
            paras.append(list(row))
        else:
            paras[-1].extend(row)
    return paras


def order(reading: Reading, size: tuple[int, int]) -> list[list[Line]]:
    """The page's paragraphs in reading order, each a list of its lines."""
    if not reading.lines:
        return []
    vertical = reading.rotation == 0 and \
        sum(len(x.text) for x in reading.lines if x.vertical) > \
        sum(len(x.text) for x in reading.lines if not x.vertical)
    placed = [Placed(x, upright(x.box, reading.rotation, vertical, size)) for x in reading.lines]
    page_w, page_h = (size[1], size[0]) if (reading.rotation in (90, 270) or vertical) else size
    if abs(reading.angle) >= 0.2 and not vertical:
        for p in placed:
            p.box = level(p.box, reading.angle, (page_w, page_h))
    char = statistics.median(_height(p) for p in placed) or 1

    # Running heads and footers: rows at the page's edge, apart from the body by a gap.
    rows = _rows(placed)
    header: list[Placed] = []
    footer: list[Placed] = []
    if len(rows) > 2:
        for row, nxt in ((rows[0], rows[1]), (rows[-1], rows[-2])):
            top, bottom = min(p.box[1] for p in row), max(p.box[3] for p in row)
            gap = (nxt[0].box[1] - bottom) if row is rows[0] else (top - max(p.box[3] for p in nxt))
            text = "".join(p.line.text for p in row)
            at_edge = bottom <= EDGE * page_h * 2 if row is rows[0] else top >= (1 - 2 * EDGE) * page_h
            numbered = _PAGE_NUMBER.match(text) is not None
            if at_edge and (numbered or gap > 1.2 * char) and len(text) <= 40:
                (header if row is rows[0] else footer).extend(row)
    body = [p for p in placed if p not in header and p not in footer]

    paras: list[list[Placed]] = []
    if header:
        paras.append(header)
    if body:
        b_left = min(p.box[0] for p in body)
        b_width = max(p.box[2] for p in body) - b_left or 1
        # Bands, top to bottom: a full-width line is a band of its own; narrower lines
        # between them make one band, which may hold columns or a table.
        bands: list[list[Placed]] = []
        narrow: list[Placed] = []
        for row in _rows(body):
            # One piece (no gutter inside it: two columns' lines side by side are not one line)
            # spanning most of the body's width.
            wide = (max(p.box[2] for p in row) - min(p.box[0] for p in row)) >= FULL_WIDTH * b_width \
                and len(_columns(row, gutter=1.5 * char)) == 1
            if wide:
                if narrow:
                    bands.append(narrow)
                    narrow = []
                bands.append(row)
            else:
                narrow.extend(row)
        if narrow:
            bands.append(narrow)
        # Consecutive single-line bands are one column of text: join them back, so a
        # paragraph running across them is found.
        merged: list[list[Placed]] = []
        for band in bands:
            if merged and _single_column(merged[-1], char) and _single_column(band, char):
                merged[-1] = merged[-1] + band
            else:
                merged.append(band)
        for band in merged:
            cells = statistics.median(len(p.line.text) for p in band)
            cols = _columns(band, gutter=1.5 * char)
            if len(cols) > 1 and cells <= TABLE_CELL_CHARS:
                paras.extend(_rows(band))  # a table: row by row, each row one line of text
                continue
            for col in cols:
                paras.extend(_paragraphs(col, char))
    if footer:
        paras.append(footer)
    return [[p.line for p in para] for para in paras]


def _single_column(band: list[Placed], char: float) -> bool:
    return len(_columns(band, gutter=1.5 * char)) == 1


def text(paragraphs: list[list[Line]]) -> tuple[str, list[tuple[Line, int, int]]]:
    """The page's text, one paragraph a line, a paragraph's lines joined with a space only between two Latin words; and
    where each line's text starts and ends in it, so a match can be marked on its line."""
    out = ""
    spans: list[tuple[Line, int, int]] = []
    for n, para in enumerate(paragraphs):
        if n:
            out += "\n"
        start = len(out)
        for line in para:
            piece = line.text.strip()
            if not piece:
                continue
            if len(out) > start and _is_latin(out[-1]) and _is_latin(piece[0]):
                out += " "  # between two Latin words; never between Chinese characters
            spans.append((line, len(out), len(out) + len(piece)))
            out += piece
    return out, spans
