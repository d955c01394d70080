"""Snippets and match marks, cut from the original text with the query's terms.

Done here, the same for both engines (DESIGN.md step 5): the text is normalised the way
the index was (so a traditional or full-width original is marked for a simplified query),
matches are mapped back to the original characters, the text is HTML-escaped first and
only then wrapped in <mark>."""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass

from analysis.normalize import _CONTROL, CJK_GAP, _t2s, normalize
from analysis.segment import words
from engine.model import Snippet
from engine.syntax import ParsedQuery

WINDOW = 90  # characters of context in a snippet
MAX_SNIPPETS = 3
SCAN_CHARS = 10_000  # read at most this much of a document for snippets once one matched


@dataclass(frozen=True)
class QueryTerms:
    """What to mark for a query. `always`: each unquoted unit as typed (normalised), its
    words and its other names, marked wherever found. `phrases`: each quoted phrase with its
    words: a document that holds the phrase has the phrase marked, not each of its words
    wherever they stand; one found by a near miss (a character of the phrase misread by OCR)
    has the words marked, so the reader still sees where it matched."""

    always: frozenset[str] = frozenset()
    phrases: tuple[tuple[str, frozenset[str]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.always or self.phrases)

    def for_pages(self, pages: list[str]) -> list[str]:
        """The strings to mark in a document of these pages, longest first."""
        terms = set(self.always)
        for phrase, its_words in self.phrases:
            whole = any(phrase in PREPARED.get(text).norm for text in pages if text)
            terms.update((phrase,) if whole else its_words)
        return sorted(terms, key=lambda t: (-len(t), t))


def query_terms(parsed: ParsedQuery) -> QueryTerms:
    """The strings a query marks in a document (QueryTerms)."""
    always: set[str] = set()
    phrases: dict[str, set[str]] = {}
    if parsed.reading == "words":
        # The words searched for, and keywords typed together as typed (marked whole where so found).
        kept = [w for w in parsed.keywords if len(w) >= 2] or list(parsed.keywords)
        typed = {re.sub(r"\s+", "", normalize(u.text)) for u in parsed.units()} if not parsed.question else set()
        return QueryTerms(frozenset(kept) | frozenset(t for t in typed if t), ())
    for unit in parsed.units():
        if unit.field in ("doc_number", "agency"):
            continue
        n = re.sub(r"\s+", "", normalize(unit.text))
        names = {normalize(name) for name in unit.names}  # other names searched too (国办 → 国务院办公厅)
        its_words = {w for w in words(normalize(unit.text)) if len(w) >= 2 or len(n) == 1}
        always.update(names)
        if unit.phrase and n:
            phrases.setdefault(n, set()).update(its_words)
        else:
            always.update(its_words | ({n} if n else set()))
    return QueryTerms(frozenset(always), tuple((p, frozenset(w)) for p, w in sorted(phrases.items())))


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


# Characters NFKC leaves alone (tests/test_highlight.py checks each): printable ASCII, the
# common Chinese punctuation and the CJK ideographs. A page is mostly these; what else it
# holds is nearly always a few distinct full-width marks (，；：（）and the ideographic space).
_UNCHANGED = "\t\n\r\x20-\x7e\u00b7\u2014\u2018\u2019\u201c\u201d\u3001\u3002\u3008-\u3011\u3014-\u301f\u3400-\u4dbf\u4e00-\u9fff"
_OTHERS = re.compile(f"[^{_UNCHANGED}]")
_FEW = 16


def _nfkc(text: str) -> str:
    """text.translate(_NFKC), but a page with a few distinct characters to change gets one
    str.replace per character (each a C scan) instead of a dict look-up per character: 4-5x
    faster on a typical page. Replacing in any order is the same, as NFKC's output is stable."""
    others = set(_OTHERS.findall(text))
    if len(others) > _FEW:
        return text.translate(_NFKC)
    for ch in others:
        text = text.replace(ch, _NFKC[ord(ch)])
    return text


def _normalized(text: str) -> str | None:
    """The page normalised as the index was (NFKC, simplified, lower case), character for
    character, or None when that changes its length (then the slow path maps offsets)."""
    converted = _nfkc(text)
    if _SLOW in converted:
        return None
    converted = _t2s.convert(converted).lower()
    return converted if len(converted) == len(text) else None




@dataclass(frozen=True)
class _Prepared:
    """A page as the index saw it (normalised, CJK gaps dropped) and the way back to the
    original's offsets: an offset per character on the slow path; otherwise only where
    gaps were dropped (`gap_at`: positions in `norm` that follow a gap, `shift`: characters
    dropped up to there), so a page costs no Python per character."""

    norm: str
    index: list[int] | None = None
    gap_at: tuple[int, ...] = ()
    shift: tuple[int, ...] = ()

    def original(self, i: int) -> int:
        if self.index is not None:
            return self.index[i]
        k = bisect_right(self.gap_at, i)
        return i + self.shift[k - 1] if k else i


def _prepare(text: str) -> _Prepared:
    """Like analysis.normalize, but so that every match maps back; whitespace between Chinese
    characters is dropped, so a word wrapped over a line break is still found (and marked
    across the break). Full-width punctuation is in nearly every page: when each character
    normalises to one character (the usual case) the whole page is done in a few C calls,
    and character by character only otherwise."""
    converted = _normalized(text)
    if converted is None:
        return _prepare_slowly(text)
    pieces: list[str] = []
    gap_at: list[int] = []
    shift: list[int] = []
    pos = dropped = 0
    for m in CJK_GAP.finditer(converted):
        pieces.append(converted[pos:m.start()])
        dropped += m.end() - m.start()
        gap_at.append(m.end() - dropped)
        shift.append(dropped)
        pos = m.end()
    if not gap_at:
        return _Prepared(converted)
    pieces.append(converted[pos:])
    return _Prepared("".join(pieces), None, tuple(gap_at), tuple(shift))


class _OneCharTable(dict):
    """analysis.normalize of one character, remembered (at most one entry per character)."""

    def __missing__(self, ch: str) -> str:
        n = self[ch] = normalize(ch) if not ch.isascii() else ch.lower()
        return n


_ONE_CHAR = _OneCharTable()


def _prepare_slowly(text: str) -> _Prepared:
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        n = _ONE_CHAR[ch]
        chars.extend(n)
        index.extend([i] * len(n))
    norm = "".join(chars)
    kept, kept_index, pos = [], [], 0
    for m in CJK_GAP.finditer(norm):
        kept.append(norm[pos:m.start()])
        kept_index.extend(index[pos:m.start()])
        pos = m.end()
    kept.append(norm[pos:])
    kept_index.extend(index[pos:])
    return _Prepared("".join(kept), kept_index)


class _PreparedPages:
    """The pages prepared lately, keyed by their text (so an edited page is never served
    stale, and nothing leaks between audiences: the key is the text the caller already has),
    least recently used first out once they hold more than `budget` characters. Searches
    for the frequent words of the day show the same top documents again and again; their
    pages are normalised once, not on every request. Shared by the server's threads."""

    def __init__(self, budget: int, largest: int):
        self.budget, self.largest = budget, largest
        self.chars = 0
        self._pages: OrderedDict[str, _Prepared] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> _Prepared:
        with self._lock:
            found = self._pages.get(text)
            if found is not None:
                self._pages.move_to_end(text)
                return found
        prepared = _prepare(text)
        if len(text) <= self.largest:
            with self._lock:
                if text not in self._pages:
                    self._pages[text] = prepared
                    self.chars += self._weight(text, prepared)
                    while self.chars > self.budget:
                        old, held = self._pages.popitem(last=False)
                        self.chars -= self._weight(old, held)
        return prepared

    @staticmethod
    def _weight(text: str, prepared: _Prepared) -> int:
        # A page on the slow path also holds a list of offsets (an int object and a pointer,
        # about ten characters' worth, for each character).
        return len(text) * (10 if prepared.index is not None else 1)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self.chars = 0


# About 16 MB: the original and normalised text, two bytes a character for Chinese.
PREPARED = _PreparedPages(budget=4_000_000, largest=100_000)


def find_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping [start, end) spans of the original text that match a term."""
    if not terms or not text:
        return []
    page = PREPARED.get(text)
    norm = page.norm
    if not any(t in norm for t in terms):
        return []
    taken = bytearray(len(norm))
    spans: list[tuple[int, int]] = []
    for term in terms:
        start = norm.find(term)
        while start != -1:
            end = start + len(term)
            if not any(taken[start:end]):
                taken[start:end] = b"\x01" * (end - start)
                spans.append((page.original(start), page.original(end - 1) + 1))
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


def _without_cjk_gaps(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """The text with line breaks between Chinese characters dropped (a break of the page's
    lines, not of its words: 治理体\n系 reads 治理体系, and the document view, which joins such
    lines, finds the marked words in its text), and the spans moved with it. Spaces set on
    purpose (第二条　从事) stay."""
    gaps = [(m.start(), m.end()) for m in CJK_GAP.finditer(text) if "\n" in m.group()]
    if not gaps:
        return text, spans

    def moved(i: int) -> int:
        return i - sum(min(e, i) - s for s, e in gaps if s < i)

    kept, pos = [], 0
    for s, e in gaps:
        kept.append(text[pos:s])
        pos = e
    kept.append(text[pos:])
    return "".join(kept), [(moved(s), moved(e)) for s, e in spans]


def _render(text: str, w: _Window) -> str:
    rel = [(s - w.start, e - w.start) for s, e in w.spans]
    body = mark(*_without_cjk_gaps(text[w.start:w.end], rel)).replace("\n", " ")
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
            cut = _without_cjk_gaps(t[:length], [])[0].replace("\n", " ")
            return [Snippet(page=number, html=html.escape(cut) + ("…" if len(t) > length else ""))]
    return []
