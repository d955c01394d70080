"""The search box syntax, parsed into engine-neutral query nodes.

    档案 管理          both words (AND)
    "档案 管理"        an exact phrase
    -废止              exclude
    档案 OR 文书       either
    标题:档案 文号:佳政发〔2007〕12号 机关:国务院 年份:2007 年份:2001-2007

Bad syntax is never an error: what cannot be read as syntax is read as words."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from analysis import docnumber
from analysis.normalize import normalize
from analysis.segment import bigrams, words
from engine.query import Bool, Boost, ConstScore, MatchAll, MatchNone, Node, Phrase, Prefix, Range, Term

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


@dataclass
class Unit:
    text: str
    field: str | None = None  # None = everywhere
    phrase: bool = False


@dataclass
class ParsedQuery:
    groups: list[list[Unit]] = field(default_factory=list)  # AND of ORs
    excluded: list[Unit] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None

    @property
    def empty(self) -> bool:
        return not self.groups and self.year_from is None and self.year_to is None

    def units(self) -> list[Unit]:
        return [u for g in self.groups for u in g]


_CJK_GAP = re.compile(r"([\u3400-\u9fff])\s+(?=([\u3400-\u9fff]))")
_TOKEN = re.compile(r'-?"[^"]*"|\S+')


def parse(q: str) -> ParsedQuery:
    # NFKC makes full-width quotes, colons and spaces plain; curly quotes become straight.
    q = unicodedata.normalize("NFKC", q).replace("“", '"').replace("”", '"')
    out = ParsedQuery()
    # A query that is only a 文号, in any bracket style and spacing (佳档发 [2007] 15号),
    # is one unit, so its exact-文号 match can rank it first.
    if _doc_number(q.strip()):
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
        elif pending_or:
            out.groups[-1].append(unit)
        else:
            out.groups.append([unit])
        pending_or = False
    return out


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


def _years(value: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"((?:1[89]|20)\d\d)(?:-((?:1[89]|20)\d\d))?", value)
    if not m:
        return None
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    return min(lo, hi), max(lo, hi)


def _has_content(text: str) -> bool:
    return bool(words(normalize(text)))


def unit_node(unit: Unit, grams_only: bool = False) -> Node:
    """What one unit of the box matches, with its ranking weights."""
    if unit.field == "year":
        years = _years(unit.text)
        return Range("year", *years) if years else MatchNone()
    if unit.field == "doc_number":
        canonical = _doc_number(unit.text)
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
    n = normalize(unit.text)
    ws, gs = tuple(words(n)), tuple(bigrams(n))
    should: list[Node] = []
    fields = ("title",) if unit.field == "title" else ("title", "body")
    for f in fields:
        if not grams_only and ws:
            should.append(Boost(_phrase(f"{f}_words", ws), W_TITLE_WORDS if f == "title" else W_BODY_WORDS))
        if gs:
            should.append(Boost(_phrase(f"{f}_grams", gs), W_TITLE_GRAMS if f == "title" else W_BODY_GRAMS))
    if unit.field in (None, "title") and not grams_only:
        should.append(ConstScore(Term("title_key", re.sub(r"\s+", "", n)), TITLE_EXACT_SCORE))
    if unit.field is None and not grams_only:
        canonical = _doc_number(unit.text)
        if canonical:
            should.append(ConstScore(Term("doc_number_key", docnumber.key(canonical)), DOC_NUMBER_SCORE))
    return Bool(should=tuple(should))


def _doc_number(text: str) -> str | None:
    """The canonical 文号 when the text is one, in any script (佳政發〔2007〕12號)."""
    return docnumber.parse(text) or docnumber.parse(normalize(text))


def _phrase(fieldname: str, tokens: tuple[str, ...]) -> Node:
    return Term(fieldname, tokens[0]) if len(tokens) == 1 else Phrase(fieldname, tokens)


def to_node(parsed: ParsedQuery) -> Node:
    must: list[Node] = []
    for group in parsed.groups:
        alts = [unit_node(u) for u in group]
        must.append(alts[0] if len(alts) == 1 else Bool(should=tuple(alts)))
    if parsed.year_from is not None:
        must.append(Range("year", parsed.year_from, parsed.year_to))
    must_not = tuple(unit_node(u) for u in parsed.excluded)
    if not must:
        must.append(MatchAll())
    if len(must) == 1 and not must_not:
        return must[0]
    return Bool(must=tuple(must), must_not=must_not)


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
