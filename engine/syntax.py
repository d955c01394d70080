"""The search box syntax, parsed into engine-neutral query nodes.

    档案 管理          both words (AND)
    "档案 管理"        an exact phrase
    -废止              exclude
    档案 OR 文书       either
    标题:档案 文号:佳政发〔2007〕12号 机关:国务院 年份:2007 年份:2001-2007

Bad syntax is never an error: what cannot be read as syntax is read as words.

A query is read for what it is (DESIGN.md, "Reading a query"). A title, a 文号, a quoted
phrase, a copied sentence or words typed apart are read exactly, as above. A question
(离婚后孩子抚养费怎么算？) or a string of keywords typed without spaces (佳木斯档案) is read as
words: a keyword string finds what holds it exactly and also what holds all its words apart
(ranked below); a question finds what holds any of its words, the question and function
words left out (analysis/function_words.txt), more and rarer words, words side by side and
words in a title ranking first. `reading="exact"` or `"words"` asks for one reading.

Text is matched so that what occurs in a document is found whatever the segmenter does at
the ends of the query (recall comes from the character bigrams, and a character left alone
at an end is not required to stand alone in the text), a passage typed in pieces ranks the
document holding it whole first, a phrase with one character misread by OCR still finds
its scan below the exact matches, and other names of agencies and laws
(analysis/abbreviations.py) are searched a little below the words typed."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from analysis import docnumber
from analysis.abbreviations import Names
from analysis.normalize import normalize
from analysis.segment import _CJK, bigrams, words
from engine.query import (
    Bool, Boost, ConstScore, Fuzzy, MatchAll, MatchNone, NearPhrase, Node, Phrase, Prefix, Range, Term,
)

# Field prefixes accepted in the box (Chinese first, English for API users).
FIELD_ALIASES = {
    "标题": "title", "题名": "title", "title": "title",
    "文号": "doc_number", "doc_number": "doc_number",
    "机关": "agency", "发文机关": "agency", "agency": "agency",
    "年份": "year", "年度": "year", "year": "year",
}

# Weights: a title match beats a body match, a whole word beats bigrams, an exact 文号 wins.
W_TITLE_WORDS = 4.0
W_BODY_WORDS = 1.0
W_TITLE_GRAMS = 1.0
W_BODY_GRAMS = 0.25
DOC_NUMBER_SCORE = 1000.0
TITLE_EXACT_SCORE = 50.0
# A 文号 series (国办发〔2019〕) lists its documents by number: number n scores
# SERIES_SCORE - n for n up to SERIES_LADDER, the rest of the series SERIES_REST.
SERIES_SCORE = 900.0
SERIES_LADDER = 300
SERIES_REST = 500.0
# Words typed in pieces (档案 管理) found side by side, in this order (see _adjacent).
W_ADJACENT_TITLE = 2.0
W_ADJACENT_BODY = 0.5
WORD_PIECE = 3  # a piece this short (characters) is a word typed apart, not part of a passage
# Another name of what was typed (国办 → 国务院办公厅): a little below the words typed.
W_OTHER_NAME = 0.8
OTHER_AGENCY_SCORE = 1.0
# A phrase with one character misread: a constant score, below any exact match.
NEAR_SCORE = 0.2
NEAR_MIN_GRAMS = 4  # a phrase this long (five characters) or longer is matched near-missed
NEAR_SPLIT_GRAMS = 9  # from here on, either half found whole is a near miss


@dataclass
class Unit:
    text: str
    field: str | None = None  # None = everywhere
    phrase: bool = False
    typed: str | None = None  # the part of `text` that has other names (abbreviations)
    names: tuple[str, ...] = ()  # those other names
    also: tuple[str, ...] = ()  # `text` with each of them put in, searched too


Reading = Literal["exact", "words"]
READINGS = ("exact", "words")


@dataclass
class ParsedQuery:
    groups: list[list[Unit]] = field(default_factory=list)  # AND of ORs
    excluded: list[Unit] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    # How the text is read: exactly (today's reading), or as words (a question or keywords).
    reading: Reading = "exact"
    question: bool = False  # read as words, not all of which must match
    # What the words reading searches for: the query's words, function words left out.
    keywords: tuple[str, ...] = ()
    # Whether the other reading would read the query differently (the page offers it).
    other_reading: Reading | None = None
    fallback: bool = False  # read as words because the exact reading found nothing (set by the caller)
    # A sentence typed as one piece (longer than keywords), read exactly: if that finds nothing,
    # the caller reads it as words (a question asked without a question word).
    sentence: bool = False

    @property
    def empty(self) -> bool:
        return not self.groups and self.year_from is None and self.year_to is None

    def units(self) -> list[Unit]:
        return [u for g in self.groups for u in g]

    def expansions(self) -> list[tuple[str, tuple[str, ...]]]:
        """(what was typed, the other names also searched) for each unit that had some."""
        return [(u.typed, u.names) for u in self.units() if u.typed and u.names]


_CJK_GAP = re.compile(r"([\u3400-\u9fff])\s+(?=([\u3400-\u9fff]))")
_TOKEN = re.compile(r'-?"[^"]*"|\S+')


def parse(q: str, names: Names | None = None, reading: str = "auto") -> ParsedQuery:
    """The box's text as units; with `names`, each plain unit naming an agency or a law by
    another name (国办, 个税法) also searches the names it stands for. `reading`: "auto"
    (a question or keywords typed together as words, the rest exactly), "exact" or "words"."""
    out = _parse(q, names)
    if reading != "exact" and out.reading == "exact" and any(c in q for c in '"“”＂') \
            and _QUESTION.search(_QUESTION_TAIL.sub("", q)):
        # Quotes inside a question ("虚构保险标的"，是否构成诈骗罪？) stress words, not a phrase to match.
        unquoted = _parse(q.replace('"', " ").replace("“", " ").replace("”", " "), names)
        if not unquoted.excluded and all(u.field is None for u in unquoted.units()):
            out = unquoted
    _read(out, reading)
    return out


def _parse(q: str, names: Names | None) -> ParsedQuery:
    # NFKC makes full-width quotes, colons and spaces plain; curly quotes become straight.
    q = unicodedata.normalize("NFKC", q).replace("“", '"').replace("”", '"')
    out = ParsedQuery()
    # A query that is only a 文号 or a series of them, in any bracket style and spacing
    # (佳档发 [2007] 15号, 国发2019年5号, 国办发〔2019〕), is one unit, so its exact-文号
    # match can rank it first.
    if _doc_number(q.strip()) or docnumber.series(q.strip()):
        out.groups.append([Unit(re.sub(r"\s+", "", q))])
        return out
    if q.count('"') % 2:
        q = q.replace('"', " ")
    pending_or = False
    for raw in _TOKEN.findall(q):
        if raw in ("OR", "|", "或"):
            pending_or = bool(out.groups)
            continue
        negate = raw.startswith("-") and len(raw) > 1
        if negate:
            raw = raw[1:]
        unit = _unit(raw, out, negate)
        if unit is None:
            continue
        if negate:
            out.excluded.append(unit)
            pending_or = False
            continue
        if names is not None and unit.field in (None, "title"):
            _add_names(unit, names)
        if pending_or:
            out.groups[-1].append(unit)
        else:
            out.groups.append([unit])
        pending_or = False
    return out


# A question is asked with one of these, or ends with a question mark.
_QUESTION = re.compile(r"[?？]|是否|能否|可否|能不能|可不可以|是不是|有没有|会不会|要不要|怎么|怎样|如何|"
                       r"什么|哪些|哪个|哪里|多少|多久|为什么|为何|何时|吗$|呢$|请问")
_QUESTION_TAIL = re.compile(r"[\s》>」』\"”'）)]+$")  # what people leave after a question's last word
_PUNCTUATION = re.compile(r"[^\w\s]")
_QUESTION_MARKS = re.compile(r"[?？!！。，,、；;：:/／]+")
# Keywords typed together: a run of this many words or more is read as words (two words
# typed together, 档案开放, are the smallest keyword string).
KEYWORD_MIN_WORDS = 2
KEYWORD_MAX_WORDS = 4
# Longer than this (characters) and not a question, a run typed together is a copied
# sentence or title: read exactly, whatever its words.
KEYWORD_MAX_CHARS = 12


@lru_cache(maxsize=1)
def function_words() -> frozenset[str]:
    """Question and function words (analysis/function_words.txt): need not match."""
    path = Path(__file__).resolve().parent.parent / "analysis" / "function_words.txt"
    out: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            out.update(normalize(w) for w in line.split())
    return frozenset(out)


def content_words(text: str) -> tuple[str, ...]:
    """The words of `text` a words reading searches for, in the order typed, each once:
    function and question words left out (unless nothing else is left)."""
    pieces = _QUESTION_MARKS.sub(" ", text).split()
    ws = list(dict.fromkeys(w for piece in pieces for w in words(normalize(piece))))
    kept = [w for w in ws if w not in function_words()]
    return tuple(kept or ws)


def _read(out: ParsedQuery, reading: str) -> None:
    """Decide how the parsed query is read (module docstring). Only a query of plain text
    units, nothing quoted, no field, no exclusion, OR or year, can be read as words."""
    units = out.units()
    plain = (bool(units) and not out.excluded and out.year_from is None
             and all(len(g) == 1 for g in out.groups)
             and all(u.field is None and not u.phrase for u in units)
             and not (len(units) == 1 and (_doc_number(units[0].text) or docnumber.series(units[0].text))))
    if not plain:
        return
    text = " ".join(u.text for u in units)
    keywords = content_words(text)
    question = bool(_QUESTION.search(_QUESTION_TAIL.sub("", text)))
    # Keywords typed together: a few whole words and no punctuation. A character left alone
    # (not a function word) is a word cut at an end: the text was copied, and is read exactly.
    typed = words(normalize(text))
    typed_together = (len(units) == 1 and KEYWORD_MIN_WORDS <= len(typed) <= KEYWORD_MAX_WORDS
                      and all(len(w) > 1 or w in function_words() for w in typed)
                      and len(text) <= KEYWORD_MAX_CHARS and not _PUNCTUATION.search(text))
    auto: Reading = "words" if question or typed_together else "exact"
    chosen: Reading = "exact" if reading == "exact" else "words" if reading == "words" else auto
    # The words reading of one word is that word: nothing to offer or to change.
    if len(keywords) < 2 and not question:
        return
    out.keywords = keywords
    out.sentence = chosen == "exact" and len(units) == 1 and len(text) > KEYWORD_MAX_CHARS
    out.other_reading = "exact" if chosen == "words" else "words"
    out.reading = chosen
    out.question = chosen == "words" and (question or len(units) > 1 or not typed_together)


def _unit(raw: str, out: ParsedQuery, negate: bool = False) -> Unit | None:
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        # Inside a phrase, spaces between Chinese characters are layout, not word breaks.
        text = _CJK_GAP.sub(r"\1", raw[1:-1].strip())
        return Unit(text, phrase=True) if _has_content(text) else None
    name, sep, value = raw.partition(":")
    # Field names in either script (標題:, 文號:, 機關:) and any case (Title:).
    fieldname = FIELD_ALIASES.get(normalize(name)) if sep else None
    if fieldname == "year":
        years = _years(value)
        if years:
            if negate:  # -年份:2007 excludes that year instead of selecting it
                return Unit(f"{years[0]}-{years[1]}", field="year")
            out.year_from, out.year_to = years
            return None
        fieldname = None
    if fieldname and value:
        value = value.strip('"')
        return Unit(value, field=fieldname) if _has_content(value) else None
    return Unit(raw) if _has_content(raw) else None


def _add_names(unit: Unit, names: Names) -> None:
    found = names.expand(unit.text)
    if found:
        unit.typed, unit.names, unit.also = found.typed, found.names, found.texts


def _years(value: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"((?:1[89]|20)\d\d)(?:-((?:1[89]|20)\d\d))?", value)
    if not m:
        return None
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    return min(lo, hi), max(lo, hi)


def _has_content(text: str) -> bool:
    return bool(words(normalize(text)))


def unit_node(unit: Unit, grams_only: bool = False, near: bool = True) -> Node:
    """What one unit of the box matches, with its ranking weights; `near`: also with one
    character misread."""
    if unit.field == "year":
        years = _years(unit.text)
        return Range("year", *years) if years else MatchNone()
    if unit.field == "doc_number":
        canonical = _doc_number(unit.text)
        series = None if canonical else docnumber.series(unit.text)
        if series:
            return _series(series)
        return Term("doc_number_key", docnumber.key(canonical or unit.text))
    if unit.field == "agency":
        # Agencies are stored as written; try the query as typed and normalised (機關:國務院).
        value = normalize(unit.text)
        alts: list[Node] = []
        for v in dict.fromkeys((unit.text, value)):
            alts += [Term("agency", v), Prefix("agency", v)]
        grams = tuple(bigrams(value))
        if grams:
            alts.append(_phrase("title_grams", grams))
        return Bool(should=tuple(alts))
    node = _text_node(unit.text, unit.field, unit.phrase, grams_only, near=near)
    if not unit.also:
        return node
    # Other names rank a little below the words typed; an agency's other name also matches
    # the documents it issued.
    # A longer name matches more tokens, each scoring: its weight is shared out over them, so
    # that a document naming it scores about W_OTHER_NAME of one holding what was typed.
    others: list[Node] = [node]
    typed = normalize(unit.text)
    for text in unit.also:
        n = normalize(text)
        scale = (W_OTHER_NAME * min(1.0, len(words(typed)) / max(1, len(words(n)))),
                 W_OTHER_NAME * min(1.0, len(bigrams(typed)) / max(1, len(bigrams(n)))))
        others.append(_text_node(text, unit.field, unit.phrase, grams_only, scale))
    if unit.field is None:
        others += [ConstScore(Term("agency", name), OTHER_AGENCY_SCORE) for name in unit.names]
    return Bool(should=tuple(others))


def _text_node(text: str, field: str | None, phrase: bool, grams_only: bool,
               scale: tuple[float, float] | None = None, near: bool = True) -> Node:
    """The text in titles and bodies; `scale` (words, bigrams) marks another name of what was
    typed: its weights scaled, an exact title below one typed, and no 文号 or near-miss
    clauses of its own."""
    n = normalize(text)
    ws, gs = tuple(words(n)), recall_grams(n)
    sw, sg = scale or (1.0, 1.0)
    should: list[Node] = []
    fields = ("title",) if field == "title" else ("title", "body")
    for f in fields:
        if not grams_only and ws:
            should.append(Boost(_phrase(f"{f}_words", ws), sw * (W_TITLE_WORDS if f == "title" else W_BODY_WORDS)))
        if gs:
            should.append(Boost(_phrase(f"{f}_grams", gs), sg * (W_TITLE_GRAMS if f == "title" else W_BODY_GRAMS)))
        if len(gs) == 1 and _CJK.fullmatch(gs[0]):
            # One character alone (the last piece of a passage cut mid-word, 拍 of 拍卖): in
            # the text it is mostly the first of a pair.
            should.append(Prefix(f"{f}_grams", gs[0]))
    if field in (None, "title") and not grams_only:
        exact = TITLE_EXACT_SCORE if scale is None else TITLE_EXACT_SCORE * W_OTHER_NAME
        should.append(ConstScore(Term("title_key", re.sub(r"\s+", "", n)), exact))
    if scale is not None:
        return Bool(should=tuple(should))
    numbered = False  # a 文号 or a series: found by its key, not near-missed as text
    if field is None and not grams_only:
        canonical = _doc_number(text)
        series = None if canonical else docnumber.series(text)
        if canonical:
            should.append(ConstScore(Term("doc_number_key", docnumber.key(canonical)), DOC_NUMBER_SCORE))
        elif series:
            should.append(_series(series))
        numbered = bool(canonical or series)
    misses = near_misses("body_grams", gs) if field is None and not phrase and not numbered and near else []
    if misses:
        should.append(ConstScore(misses[0] if len(misses) == 1 else Bool(should=tuple(misses)), NEAR_SCORE))
    return Bool(should=tuple(should))


def recall_grams(normalized: str) -> tuple[str, ...]:
    """The bigrams a text must have in a row to contain the query's text. A character alone
    at either end of the query (`，保` or `保，`: a run of one between the end and a mark)
    is left out: in the text it is likely part of a pair with its neighbour (保障), which
    the query cannot know. Kept when nothing else would be left."""
    gs = bigrams(normalized)
    if len(gs) < 2:
        return tuple(gs)
    head, tail = 0, len(gs)
    if _CJK.fullmatch(gs[0]) and _alone_at(normalized, gs[0], first=True):
        head = 1
    if tail - head > 1 and _CJK.fullmatch(gs[-1]) and _alone_at(normalized, gs[-1], first=False):
        tail -= 1
    kept = gs[head:tail]
    return tuple(kept if any(len(g) == 2 and _CJK.match(g) for g in kept) else gs)


def _alone_at(normalized: str, char: str, *, first: bool) -> bool:
    """True when `char` is the query's first (last) character, a run of one by itself: the
    text around it there is not the query's to know."""
    t = normalized.strip()
    return bool(t) and (t[0] == char if first else t[-1] == char)


def near_misses(field: str, grams: tuple[str, ...]) -> list[Node]:
    """What is left of the phrase `grams` when one character in it is misread: for each
    character, the bigrams on either side of it with up to two positions between them (a
    substitution loses two bigrams, a dropped character one). A long phrase is near-missed
    when either half is found whole, which is cheaper and as telling."""
    n = len(grams)
    if n < NEAR_MIN_GRAMS:
        return []
    if n >= NEAR_SPLIT_GRAMS:
        half = n // 2
        return [Phrase(field, grams[:half]), Phrase(field, grams[half + 1:])]
    out: list[Node] = []
    for c in range(n + 1):  # character c sits in bigrams c-1 and c
        head, tail = grams[:max(c - 1, 0)], grams[c + 1:]
        if head and tail:
            out.append(NearPhrase(field, head, tail, 2))
        elif len(head) + len(tail) >= NEAR_MIN_GRAMS:  # a misread first or last character
            out.append(Phrase(field, head or tail))
    return out


def _series(prefix: str) -> Node:
    """The documents of a 文号 series in order of their number."""
    ladder: list[Node] = [ConstScore(Term("doc_number_key", f"{prefix}{i}号"), SERIES_SCORE - i)
                          for i in range(1, SERIES_LADDER + 1)]
    ladder.append(ConstScore(Prefix("doc_number_key", prefix), SERIES_REST))
    return Bool(should=tuple(ladder))


def _doc_number(text: str) -> str | None:
    """The canonical 文号 when the text is one, in any script (佳政發〔2007〕12號)."""
    return docnumber.parse(text) or docnumber.parse(normalize(text))


def _phrase(fieldname: str, tokens: tuple[str, ...]) -> Node:
    return Term(fieldname, tokens[0]) if len(tokens) == 1 else Phrase(fieldname, tokens)


def distinct_units(parsed: ParsedQuery) -> int:
    """How many different things the query asks for, each OR alternative and exclusion
    included and a repeated one counted once (as to_node searches it): what a search's size
    is weighed by (api/admission.py). Read as words, each word is one (a question is one unit
    of text but as many searches as it has words)."""
    if parsed.reading == "words":
        return len(parsed.keywords)
    return len({_key(u) for u in parsed.units() + parsed.excluded})


def _key(unit: Unit) -> tuple[str, str | None, bool]:
    return normalize(unit.text), unit.field, unit.phrase


def _merged(parsed: ParsedQuery) -> ParsedQuery:
    """The query with a repeated group or exclusion once: 档案 档案 finds what 档案 finds, and
    a hundred 的 cost one."""
    groups: dict[tuple, list[Unit]] = {}
    excluded: dict[tuple, Unit] = {}
    for g in parsed.groups:
        groups.setdefault(tuple(_key(u) for u in g), g)
    for u in parsed.excluded:
        excluded.setdefault(_key(u), u)
    return ParsedQuery(list(groups.values()), list(excluded.values()), parsed.year_from, parsed.year_to)


def to_node(parsed: ParsedQuery) -> Node:
    exact = _exact_node(parsed)
    if parsed.reading != "words":
        return exact
    each = [_word_node(w) for w in parsed.keywords]
    if parsed.question:
        # Any of the words; typed side by side, found side by side ranks first.
        return Bool(should=(*each, *_side_by_side(parsed.keywords)))
    # Keywords typed together: what the exact reading finds, in its order and above the rest,
    # then what holds all the words apart.
    return Bool(should=(exact, ConstScore(_exact_node(parsed, near=False), EXACT_FIRST), Bool(must=tuple(each))))


# Keywords typed together: what holds them as typed ranks above what holds them apart.
EXACT_FIRST = 100.0
# A question's words: each word scores as typed in the title or body, and by its bigrams
# where the text cuts it otherwise (留置权 in 行使留置权的); side by side as typed, a little more.
W_SIDE_BY_SIDE = 0.5
MAX_SIDE_BY_SIDE = 8  # pairs of neighbouring words scored as phrases, at most


def _word_node(word: str) -> Node:
    should: list[Node] = [Boost(Term("title_words", word), W_TITLE_WORDS), Term("body_words", word)]
    gs = tuple(bigrams(word))
    if len(gs) > 1 or (gs and len(gs[0]) == 2 and _CJK.match(gs[0])):
        should += [Boost(_phrase("title_grams", gs), W_TITLE_GRAMS), Boost(_phrase("body_grams", gs), W_BODY_GRAMS)]
    return Bool(should=tuple(should))


def _side_by_side(keywords: tuple[str, ...]) -> tuple[Node, ...]:
    pairs = list(zip(keywords, keywords[1:]))[:MAX_SIDE_BY_SIDE]
    return tuple(Boost(Phrase("body_words", pair), W_SIDE_BY_SIDE) for pair in pairs)


def _exact_node(parsed: ParsedQuery, near: bool = True) -> Node:
    parsed = _merged(parsed)
    must: list[Node] = []
    for group in parsed.groups:
        alts = [unit_node(u, near=near) for u in group]
        must.append(alts[0] if len(alts) == 1 else Bool(should=tuple(alts)))
    if parsed.year_from is not None:
        must.append(Range("year", parsed.year_from, parsed.year_to))
    must_not = tuple(unit_node(u) for u in parsed.excluded)
    if not must:
        must.append(MatchAll())
    adjacent = _adjacent(parsed)
    if len(must) == 1 and not must_not and not adjacent:
        return must[0]
    return Bool(must=tuple(must), must_not=must_not, should=adjacent)


def _adjacent(parsed: ParsedQuery) -> tuple[Node, ...]:
    """Words typed in pieces (a passage pasted across a line break, 档案 管理): the documents
    holding them side by side in this order score more than those holding them apart.

    Titles are matched by the phrase. In bodies, pieces of a word each (安全 监督) are taken as
    side by side where the bigram across each gap is there (全监): a term, where the phrase
    reads the positions of every document holding both words (at 100k documents the query took
    31.0 ms p50 with the phrase, 18-19 with the term; bench/RESULTS.md). A passage pasted in pieces
    keeps the phrase: a part of it may stand whole in another document (推进数字档案馆建设)."""
    pieces = [g[0] for g in parsed.groups if len(g) == 1 and g[0].field is None]
    if len(pieces) < 2 or len(pieces) != len(parsed.groups):
        return ()
    texts = [normalize(u.text).strip() for u in pieces]
    gs = recall_grams("".join(texts))
    if len(gs) < 2:
        return ()
    title = Boost(Phrase("title_grams", gs), W_ADJACENT_TITLE)
    if all(0 < len(t) <= WORD_PIECE and all(_CJK.fullmatch(c) for c in t) for t in texts):
        gaps = tuple(dict.fromkeys(a[-1] + b[0] for a, b in zip(texts, texts[1:])))
        body: Node = Boost(Term("body_grams", gaps[0]) if len(gaps) == 1 else
                           Bool(should=tuple(Term("body_grams", g) for g in gaps)), W_ADJACENT_BODY)
    else:
        body = Boost(Phrase("body_grams", gs), W_ADJACENT_BODY)
    return (title, body)


def did_you_mean(parsed: ParsedQuery) -> tuple[str, Node] | None:
    """For a query that found nothing: the field and the query for a 文号 or a title one
    character off (国办发〔2019〕13号 for 国办发〔2019〕3号), or None."""
    units = parsed.units()
    if len(units) != 1 or parsed.excluded or units[0].field not in (None, "title", "doc_number"):
        return None
    text = units[0].text
    canonical = _doc_number(text)
    if canonical:
        return "doc_number", Fuzzy("doc_number_key", docnumber.key(canonical))
    key = re.sub(r"\s+", "", normalize(text))
    if units[0].field != "doc_number" and len(key) >= 3:
        return "title", Fuzzy("title_key", key)
    return None


def looser_text(parsed: ParsedQuery) -> str | None:
    """A looser query for zero results, as text the box can run: any of the words."""
    terms: list[str] = []
    for unit in parsed.units():
        if unit.field is not None:
            continue
        for w in words(normalize(unit.text)) or [unit.text]:
            if w not in terms:
                terms.append(w)
    if not terms or (len(terms) == 1 and len(parsed.units()) == 1 and not parsed.excluded
                     and parsed.year_from is None):
        return None
    return " OR ".join(terms)
