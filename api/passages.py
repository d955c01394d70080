"""Passages: the article, item or paragraph of a hit that answers a query (DESIGN.md, "Reading a
query": the unit of an answer is the passage).

A document is cut where laws, regulations and 公文 cut themselves: at each article (第X条),
else at each item (一、 （一） 1.), else at each paragraph. The passages of the hits a search
returns are scored against the query's words with BM25 over those passages (the hits are what
the engine found most relevant, so this ranks within them), and each hit shows its best; a
question's page shows the best across the hits first (最相关条款).

Done here from the stored text, the same for both engines, like highlighting; the cuts of a
document are kept in a small cache, so a long law is cut once, not at every search."""

from __future__ import annotations

import bisect
import itertools
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from analysis.normalize import normalize
from api.highlight import find_spans, mark

# 第一条, 第一百零二条, 第十条之一, 第 3 条 (at the start of a line)
_ARTICLE = re.compile(r"^[ \t\u3000]*(第[一二三四五六七八九十百千零〇两\d]+条(?:之[一二三四五六七八九十]+)?)(?=[\s\u3000])",
                      re.M)
# 第一章 总则, 第二节, 第三编: a heading ends the article before it
_HEADING = re.compile(r"^[ \t\u3000]*第[一二三四五六七八九十百千零〇\d]+[编章节](?:[\s\u3000]|$)", re.M)
# 一、 （一） (一) 1. 1、 at the start of a line
_ITEM = re.compile(r"^[ \t\u3000]*(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d{1,2}[.、．](?!\d))", re.M)
MIN_ARTICLES = 2  # a text with fewer article marks is cut at items or paragraphs
PARAGRAPH_CHARS = 300  # short lines are joined into paragraphs of about this length
SHOWN_CHARS = 240  # characters of a passage shown; a longer one is shown around its first match
K1, B = 1.2, 0.75  # BM25, as the engines score
RRF_K = 60  # reciprocal rank fusion's constant, Elasticsearch's default (rank_constant)


@dataclass(frozen=True)
class Passage:
    label: str | None  # 第十五条, or None for an item or a paragraph
    page: int  # 1-based page where it starts
    start: int  # character offset in that page
    text: str  # the original text, over page breaks if it runs over them
    norm: str  # normalised, as the index reads it


@dataclass(frozen=True)
class Scored:
    passage: Passage
    score: float
    doc: int  # index of the hit it comes from


def cut(pages: list[str]) -> list[Passage]:
    """The passages of a document, in reading order."""
    joined = "\n".join(pages)
    starts, offset = [], 0
    for text in pages:
        starts.append(offset)
        offset += len(text) + 1
    articles = list(_ARTICLE.finditer(joined))
    if len(articles) >= MIN_ARTICLES:
        bounds = [(m.start(), m.group(1)) for m in articles]
        ends = sorted({m.start() for m in _HEADING.finditer(joined)} | {len(joined)})
    else:
        items = list(_ITEM.finditer(joined))
        bounds = [(m.start(), None) for m in items] if len(items) >= MIN_ARTICLES else _paragraphs(joined)
        ends = [len(joined)]
    if bounds and bounds[0][0] > 0 and joined[:bounds[0][0]].strip():
        bounds.insert(0, (0, None))  # the title and preamble before the first article
    out = []
    for n, (begin, label) in enumerate(bounds):
        end = bounds[n + 1][0] if n + 1 < len(bounds) else len(joined)
        end = min([end] + [e for e in ends if begin < e < end])
        text = joined[begin:end].strip()
        if not text:
            continue
        page = _page_of(starts, begin)
        out.append(Passage(label, page + 1, begin - starts[page], text, normalize(text)))
    return out


def _paragraphs(text: str) -> list[tuple[int, str | None]]:
    """Lines joined into paragraphs of about PARAGRAPH_CHARS (a new one at a blank line)."""
    bounds: list[tuple[int, str | None]] = []
    start, size = 0, 0
    for m in re.finditer(r"[^\n]*\n?", text):
        line = m.group(0)
        if not line:
            break
        if size and (size >= PARAGRAPH_CHARS or not line.strip()):
            bounds.append((start, None))
            start, size = m.start(), 0
        size += len(line.strip())
    if size:
        bounds.append((start, None))
    return bounds


def _page_of(starts: list[int], offset: int) -> int:
    lo = 0
    for n, s in enumerate(starts):
        if s <= offset:
            lo = n
    return lo


class _Cuts:
    """The passages of recently seen documents, by document id and text, least recently used
    dropped first (a law of 100k characters is cut in tens of milliseconds; searches repeat)."""

    def __init__(self, size: int = 256):
        self.size = size
        self.cache: OrderedDict[tuple[str, int, int], list[Passage]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, doc_id: str, pages: list[str]) -> list[Passage]:
        key = (doc_id, len(pages), hash(tuple(pages)))
        with self.lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        found = cut(pages)
        with self.lock:
            self.cache[key] = found
            while len(self.cache) > self.size:
                self.cache.popitem(last=False)
        return found


CUTS = _Cuts()


def score(docs: list[tuple[str, list[str]]], words: tuple[str, ...]) -> list[Scored]:
    """Every passage of the documents (id, pages) that holds a word, with its BM25 score over
    all of their passages, best first. A word is counted where it stands in the normalised
    text, also inside a longer word (留置 in 留置权)."""
    found: list[tuple[int, Passage]] = [(n, p) for n, (doc_id, pages) in enumerate(docs)
                                        for p in CUTS.get(doc_id, pages)]
    if not found or not words:
        return []
    total = len(found)
    avg = sum(len(p.norm) for _, p in found) / total
    # Each word found in all the passages joined (one scan in C, not one count per passage);
    # an occurrence belongs to the passage its offset falls in.
    joined = "\x00".join(p.norm for _, p in found)
    starts = list(itertools.accumulate((len(p.norm) + 1 for _, p in found[:-1]), initial=0))
    counts: dict[str, dict[int, int]] = {}
    for w in set(words):
        hits: dict[int, int] = {}
        at = joined.find(w)
        while at >= 0:
            i = bisect.bisect_right(starts, at) - 1
            hits[i] = hits.get(i, 0) + 1
            at = joined.find(w, at + len(w))
        counts[w] = hits
    idf = {w: math.log(1 + (total - len(c) + 0.5) / (len(c) + 0.5)) for w, c in counts.items()}
    scores: dict[int, float] = {}
    for w in words:
        for i, tf in counts[w].items():
            norm = K1 * (1 - B + B * len(found[i][1].norm) / avg)
            scores[i] = scores.get(i, 0.0) + idf[w] * tf * (K1 + 1) / (tf + norm)
    out = [Scored(found[i][1], s, found[i][0]) for i, s in scores.items() if s > 0]
    out.sort(key=lambda x: (-x.score, x.doc, x.passage.page, x.passage.start))
    return out


def closest(docs: list[tuple[str, list[str]]], closeness: dict[str, Any],
            words: tuple[str, ...] = ()) -> list[Scored]:
    """Every passage of the documents (id, pages) by its closeness in meaning to the question
    (api/meaning.py: one figure per passage, in the order `cut` gives), each Scored with that
    closeness. Ordered by reciprocal rank fusion (RRF_K, as Elasticsearch's `rrf` retriever) of
    its rank by closeness and its rank by BM25 over the question's `words` (`score`): the model
    knows what a question means, the words know which of a law's neighbouring articles names
    the thing asked about (有限合伙人 in 有限合伙人可以参与合伙企业的经营吗: on the 308 real
    questions, 18 answers gained and 13 lost against closeness alone, article@3 0.473 -> 0.498).
    A document whose text no longer cuts into as many passages as were embedded is left out."""
    out = []
    for n, (doc_id, pages) in enumerate(docs):
        found, near = CUTS.get(doc_id, pages), closeness.get(doc_id)
        if near is None or len(near) != len(found):
            continue
        out += [Scored(p, float(c), n) for p, c in zip(found, near)]
    out.sort(key=lambda x: (-x.score, x.doc, x.passage.page, x.passage.start))
    by_words = {(s.doc, s.passage): r for r, s in enumerate(score(docs, words))}

    def fused(rank: int, s: Scored) -> float:
        w = by_words.get((s.doc, s.passage))
        return 1 / (RRF_K + rank + 1) + (0.0 if w is None else 1 / (RRF_K + w + 1))

    ranked = sorted(enumerate(out), key=lambda rs: -fused(*rs))  # stable: closeness breaks ties
    return [s for _, s in ranked]


def shown(passage: Passage, terms: list[str]) -> str:
    """The passage as HTML: escaped, its matches marked, cut to SHOWN_CHARS around the first."""
    text = passage.text
    spans = find_spans(text, terms)
    if len(text) > SHOWN_CHARS:
        first = spans[0][0] if spans else 0
        begin = 0 if first < SHOWN_CHARS // 2 else max(0, first - SHOWN_CHARS // 4)
        end = begin + SHOWN_CHARS
        spans = [(a - begin, b - begin) for a, b in spans if a >= begin and b <= end]
        return ("…" if begin else "") + mark(text[begin:end], spans) + "…"
    return mark(text, spans)
