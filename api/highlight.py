"""Snippets and match marks, cut from the original text with the query's terms.

Done here, the same for both engines (DESIGN.md step 5): the text is normalised the way
the index was (so a traditional or full-width original is marked for a simplified query),
matches are mapped back to the original characters, the text is HTML-escaped first and
only then wrapped in <mark>."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from analysis.normalize import _CONTROL, CJK_GAP, _t2s, normalize
from analysis.segment import words
from engine.model import Snippet
from engine.syntax import ParsedQuery

WINDOW = 90  # characters of context in a snippet
MAX_SNIPPETS = 3
SCAN_CHARS = 10_000  # read at most this much of a document for snippets once one matched


def query_terms(parsed: ParsedQuery) -> list[str]:
    """Strings to mark: each unit as typed (normalised) and its words, longest first."""
    terms: set[str] = set()
    for unit in parsed.units():
        if unit.field in ("doc_number", "agency"):
            continue
        n = re.sub(r"\s+", "", normalize(unit.text))
        if n:
            terms.add(n)
        for w in words(normalize(unit.text)):
            if len(w) >= 2 or len(n) == 1:
                terms.add(w)
    return sorted(terms, key=lambda t: (-len(t), t))


_SLOW = "\ue000"  # stands for a character whose NFKC form is not one character


class _NfkcTable(dict):
    """str.translate table of NFKC (control characters dropped) for every character seen
    so far, the unchanged ones mapped to themselves: after warm-up a page is translated in
    one C call with no Python per character. A character whose NFKC form is not exactly one
    character maps to _SLOW, which sends the page down the slow path."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        n = ch if ch.isascii() else _CONTROL.sub("", unicodedata.normalize("NFKC", ch))
        if len(n) != 1 or ch == _SLOW:
            n = _SLOW
        self[code] = n
        return n


_NFKC = _NfkcTable()


def _normalized(text: str) -> str | None:
    """The page normalised as the index was (NFKC, simplified, lower case), character for
    character, or None when that changes its length (then the slow path maps offsets)."""
    converted = text.translate(_NFKC)
    if _SLOW in converted:
        return None
    converted = _t2s.convert(converted).lower()
    return converted if len(converted) == len(text) else None


def _normalized_with_offsets(text: str, converted: str | None = None) -> tuple[str, list[int] | range]:
    """The normalised text and, for each of its characters, the index in the original.

    Like analysis.normalize, but so that every match maps back; whitespace between Chinese
    characters is dropped, so a word wrapped over a line break is still found (and marked
    across the break). Full-width punctuation is in nearly every page: when each character
    normalises to one character (the usual case) the whole page is done in a few C calls,
    and character by character only otherwise."""
    if converted is None:
        converted = _normalized(text)
    index: list[int] | range
    if converted is not None:
        norm, index = converted, range(len(text))
    else:
        chars, index = [], []
        for i, ch in enumerate(text):
            n = normalize(ch) if not ch.isascii() else ch.lower()
            chars.extend(n)
            index.extend([i] * len(n))
        norm = "".join(chars)
    if CJK_GAP.search(norm):
        kept, kept_index, pos = [], [], 0
        for m in CJK_GAP.finditer(norm):
            kept.append(norm[pos:m.start()])
            kept_index.extend(index[pos:m.start()])
            pos = m.end()
        kept.append(norm[pos:])
        kept_index.extend(index[pos:])
        norm, index = "".join(kept), kept_index
    return norm, index


def _may_match(text: str, terms: list[str]) -> tuple[bool, str | None]:
    """A cheap test before offsets are built: False only when no term can be on the page.
    (A CJK gap, e.g. a line break inside a word, is removed first only when the page has one.)"""
    converted = _normalized(text)
    if converted is None:
        return True, None
    probe = CJK_GAP.sub("", converted) if CJK_GAP.search(converted) else converted
    return any(t in probe for t in terms), converted


def find_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping [start, end) spans of the original text that match a term."""
    if not terms or not text:
        return []
    found, converted = _may_match(text, terms)
    if not found:
        return []
    norm, index = _normalized_with_offsets(text, converted)
    taken = bytearray(len(norm))
    spans: list[tuple[int, int]] = []
    for term in terms:
        start = norm.find(term)
        while start != -1:
            end = start + len(term)
            if not any(taken[start:end]):
                taken[start:end] = b"\x01" * (end - start)
                spans.append((index[start], index[end - 1] + 1))
            start = norm.find(term, end)
    spans.sort()
    return spans


def mark(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for s, e in spans:
        out.append(html.escape(text[pos:s]))
        out.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out)


@dataclass
class _Window:
    page: int
    start: int
    end: int
    spans: list[tuple[int, int]]
    distinct: int


def _windows(page: int, text: str, spans: list[tuple[int, int]], terms_of: dict[tuple[int, int], str]) -> list[_Window]:
    out: list[_Window] = []
    i = 0
    while i < len(spans):
        s0 = spans[i][0]
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - s0 <= WINDOW:
            j += 1
        group = spans[i:j + 1]
        center = (group[0][0] + group[-1][1]) // 2
        start = max(0, min(center - WINDOW // 2, group[0][0] - 10))
        end = min(len(text), max(start + WINDOW, group[-1][1] + 10))
        start = _soft_start(text, start, group[0][0])
        distinct = len({terms_of.get(sp, text[sp[0]:sp[1]]) for sp in group})
        out.append(_Window(page, start, end, group, distinct))
        i = j + 1
    return out


def _soft_start(text: str, start: int, first_match: int) -> int:
    """Start after a sentence break when one is near, so a snippet reads naturally."""
    for k in range(start, min(first_match, start + 30)):
        if text[k] in "。；！？\n":
            return k + 1
    return start


def _render(text: str, w: _Window) -> str:
    rel = [(s - w.start, e - w.start) for s, e in w.spans]
    body = mark(text[w.start:w.end], rel).replace("\n", " ")
    return ("…" if w.start > 0 else "") + body + ("…" if w.end < len(text) else "")


def _maximal(terms: list[str]) -> int:
    """How many distinct terms a window with every query word can show: terms that are not
    part of a longer term (a phrase marks as one span, not as its words)."""
    return sum(1 for t in terms if not any(t != u and t in u for u in terms))


def snippets(pages: list[str], terms: list[str], limit: int = MAX_SNIPPETS) -> list[Snippet]:
    """Up to `limit` snippets from the pages that match best, in page order.

    Pages are read in order and reading stops early: once `limit` windows show every query
    word, or once SCAN_CHARS characters are read and some window was found (a long
    document's best snippets are then those of its first pages that match)."""
    windows: list[_Window] = []
    full = _maximal(terms)
    complete = read = 0
    for number, text in enumerate(pages, 1):
        spans = find_spans(text, terms)
        if spans:
            found = _windows(number, text, spans, {})
            windows.extend(found)
            complete += sum(1 for w in found if w.distinct >= full)
        read += len(text)
        if complete >= limit or (windows and read >= SCAN_CHARS):
            break
    best = sorted(windows, key=lambda w: (-w.distinct, -len(w.spans), w.page, w.start))[:limit]
    best.sort(key=lambda w: (w.page, w.start))
    return [Snippet(page=w.page, html=_render(pages[w.page - 1], w)) for w in best]


def all_matches(pages: list[str], terms: list[str], limit: int = 500) -> list[Snippet]:
    """Every match window in reading order, for jumping from match to match in a document."""
    out: list[Snippet] = []
    for number, text in enumerate(pages, 1):
        for w in _windows(number, text, find_spans(text, terms), {}):
            out.append(Snippet(page=number, html=_render(text, w)))
            if len(out) >= limit:
                return out
    return out


def lead(pages: list[str], length: int = WINDOW) -> list[Snippet]:
    """The opening of the document, escaped, when nothing in the text matched (e.g. a filter-only search)."""
    for number, text in enumerate(pages, 1):
        t = text.strip()
        if t:
            cut = t[:length].replace("\n", " ")
            return [Snippet(page=number, html=html.escape(cut) + ("…" if len(t) > length else ""))]
    return []
