"""The engine seam: what the indexer and the api call (upsert, delete, search, get, suggest,
similar, stats), on top of a backend that only translates and executes.

The audience's access filter is added here, once, under every read, so no backend and
no route can forget it: results, totals, facet counts, suggestions, similar documents and
fetches all pass through `_visible`. `_visible` also names the audience's tier: the
physical index (embedded) or indices (Elasticsearch) holding only what that audience may
see, so term statistics, and with them scores, never count a hidden document
(docs/decisions/access-tiers.md). The filter stays as the second line of defence."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from analysis.normalize import normalize
from analysis.segment import words
from engine.model import ACCESS_FOR, Audience, Document, FacetValue, SearchResult
from engine.query import (
    Bool, Boost, ConstScore, MatchAll, MatchNone, NearPhrase, Node, Phrase, Prefix, Range, SearchSpec, Term, Terms,
)
from engine.record import to_record
from engine.suggest import split_key

ACCESS_KEY = "_access"  # filter key no facet can drop
WITHHELD_KEY = "_withheld"  # ids withdrawn by staff, left out of every non-staff read
# The deepest hit a search may reach by offset (as Elasticsearch's max_result_window); the
# embedded engine's cursors are positions and stop there too.
RESULT_WINDOW = 10_000

# Tie-breaks for equal relevance, as tiny score bonuses both engines add the same way:
# documents in force before repealed or superseded ones, then newer before older, year by year (a step per
# year; all the steps together stay below the validity bonus). Steps of 0.0002 survive the
# engines' 32-bit scores up to a score of about 1000 (an exact 文号 match).
VALID_BONUS = 0.03
NO_LONGER_VALID = ("已废止", "失效", "历史版本")
YEAR_BONUS = 0.0002
YEARS = range(1950, 2036)


class EngineUnavailable(RuntimeError):
    """The engine cannot be reached or read; the api answers 503."""


class InvalidCursor(ValueError):
    """A search_after key the backend never handed out (a forged or damaged cursor); the api
    answers 422 rather than letting the engine fail on it."""


class Backend(Protocol):
    name: str

    def upsert(self, records: Iterable[dict[str, Any]]) -> int: ...
    def delete(self, ids: Iterable[str]) -> None: ...
    def commit(self) -> None: ...
    def execute(self, spec: SearchSpec) -> SearchResult: ...
    def info(self) -> dict[str, Any]: ...
    def close(self) -> None: ...

    @property
    def generation(self) -> str | None: ...


def access_filter(audience: Audience) -> Node:
    return Terms("access", ACCESS_FOR[audience])


def tiebreak_bonus() -> tuple[Node, ...]:
    # "Not repealed" rather than "valid": an archive item has no validity and is not
    # pushed below current documents for it.
    # The year bonus is YEAR_BONUS per year since 1950, capped after 2035: one term clause
    # per year with its whole bonus (and one range for the years past the last), the same
    # scores as a step per year, but a range over the year column per step cost most of a
    # query (at 10k docs: 8.7 ms a search with the 86 ranges, 1.1 ms without, 2.0 ms with these terms).
    bonus: list[Node] = [ConstScore(Bool(must_not=(Terms("validity", NO_LONGER_VALID),)), VALID_BONUS)]
    bonus += [ConstScore(Term("year", y), YEAR_BONUS * (y - YEARS.start + 1)) for y in YEARS]
    bonus.append(ConstScore(Range("year", gte=YEARS.stop), YEAR_BONUS * len(YEARS)))
    return tuple(bonus)


TIEBREAK = tiebreak_bonus()


def match_bound(node: Node, doc_freq: Callable[[str, Any], int], total: float) -> float:
    """At most how many documents `node` matches: a term its document frequency, a phrase
    its rarest token's, a conjunction its smallest part's, a disjunction the sum of its
    parts'; what cannot be bounded cheaply (prefixes, ranges, fuzzy terms, everything, a
    node this does not know) all documents."""
    if isinstance(node, Term):
        return min(doc_freq(node.field, node.value), total)
    if isinstance(node, Terms):
        return min(sum(doc_freq(node.field, v) for v in node.values), total)
    if isinstance(node, Phrase):
        return min((doc_freq(node.field, t) for t in node.tokens), default=0)
    if isinstance(node, NearPhrase):  # every token of head and tail is in a match
        return min((doc_freq(node.field, t) for t in node.head + node.tail), default=total)
    if isinstance(node, Bool):
        narrowing = node.must + node.filter
        if narrowing:
            return min(match_bound(n, doc_freq, total) for n in narrowing)
        if node.should:
            return min(sum(match_bound(n, doc_freq, total) for n in node.should), total)
        return total
    if isinstance(node, (Boost, ConstScore)):
        return match_bound(node.query, doc_freq, total)
    if isinstance(node, MatchNone):
        return 0
    return total


def _nothing_withheld() -> frozenset[str]:
    return frozenset()


class Engine:
    def __init__(self, backend: Backend):
        self.backend = backend
        # Ids staff withdrew from view: hidden from non-staff reads at once, before the one
        # writer has moved them out of the public tiers (staff/opening.py, Withheld).
        self.withheld: Callable[[], frozenset[str]] = _nothing_withheld

    # -- writes (indexer only) ---------------------------------------------------
    def upsert(self, docs: Iterable[Document]) -> int:
        return self.backend.upsert(to_record(d) for d in docs)

    def delete(self, ids: Iterable[str]) -> None:
        self.backend.delete(ids)

    def commit(self) -> None:
        self.backend.commit()

    # -- reads (every one filtered by audience) --------------------------------------
    def _visible(self, spec: SearchSpec, audience: Audience) -> SearchSpec:
        spec.filters = {**spec.filters, ACCESS_KEY: access_filter(audience)}
        withheld = self.withheld() if audience != Audience.staff else frozenset()
        if withheld:
            spec.filters[WITHHELD_KEY] = Bool(must=(MatchAll(),), must_not=(Terms("id", tuple(sorted(withheld))),))
        spec.audience = audience
        return spec

    def search(self, spec: SearchSpec, audience: Audience) -> SearchResult:
        # Also under an empty query (browsing by filters), where every score is equal.
        if spec.sort == "relevance":
            spec.bonus = TIEBREAK
        return self.backend.execute(self._visible(spec, audience))

    def count(self, query: Node, audience: Audience) -> int:
        return self.backend.execute(self._visible(SearchSpec(query=query, size=0), audience)).total

    def get(self, doc_id: str, audience: Audience) -> dict[str, Any] | None:
        res = self.backend.execute(self._visible(SearchSpec(query=Term("id", doc_id), size=1), audience))
        return res.hits[0].fields if res.hits else None

    def suggest(self, prefix: str, audience: Audience, size: int = 8) -> list[str]:
        key = normalize(prefix).strip()
        if not key:
            return []
        spec = SearchSpec(query=Prefix("suggest_keys", key), size=200, fields=("suggest_keys",))
        found: set[str] = set()
        for hit in self.backend.execute(self._visible(spec, audience)).hits:
            for k in hit.fields.get("suggest_keys", []):
                kk, display = split_key(k)
                if kk.startswith(key):
                    found.add(display)
        # Shortest first: an agency or a short title is the likelier completion.
        return sorted(found, key=lambda s: (len(s), s))[:size]

    def similar(self, doc_id: str, audience: Audience, size: int = 5) -> SearchResult:
        """More like this: the document's title words and its most frequent body words,
        scored by the engine, the document itself excluded. Built here from the stored text
        so both engines run the same query."""
        doc = self.get(doc_id, audience)
        if doc is None:
            return SearchResult(total=0, hits=[], facets={})
        title_words = [w for w in words(normalize(doc.get("title", ""))) if len(w) > 1]
        counts: dict[str, int] = {}
        for page in doc.get("page_text", [])[:20]:
            for w in words(normalize(page)):
                if len(w) > 1 and not w.isdigit():
                    counts[w] = counts.get(w, 0) + 1
        top = sorted(counts, key=lambda w: (-counts[w], w))[:25]
        should: list[Node] = [Boost(Term("title_words", w), 3.0) for w in title_words]
        should += [Term("body_words", w) for w in top]
        if not should:
            return SearchResult(total=0, hits=[], facets={})
        query = Bool(should=tuple(should), must_not=(Term("id", doc_id),))
        spec = SearchSpec(query=query, size=size, fields=LIST_FIELDS)
        return self.backend.execute(self._visible(spec, audience))

    def stats(self, audience: Audience) -> dict[str, list[FacetValue] | int]:
        spec = SearchSpec(query=MatchAll(), size=0, facets=("collection", "agency", "year"), facet_size=50)
        res = self.backend.execute(self._visible(spec, audience))
        return {"total": res.total, **res.facets}

    def estimate(self, query: Node, audience: Audience) -> float:
        """An upper bound of the documents `query` matches in the audience's tier, from term
        document frequencies alone (no search): what admission control weighs a search by.
        A backend without cheap frequencies (Elasticsearch, which queues and refuses its own
        overload) counts only match-everything searches as large."""
        doc_freqs = getattr(self.backend, "doc_freqs", None)
        if doc_freqs is None:
            return match_bound(query, lambda f, v: 0, math.inf)
        doc_freq, total = doc_freqs(audience)
        return match_bound(query, doc_freq, total)

    def doc_freq_bound(self, field: str, audience: Audience) -> Callable[[Any], float] | None:
        """An upper bound of the documents in the audience's tier that hold each value of
        `field` (documents deleted but not yet merged away count too), from the term
        dictionary alone: lets a caller skip a search that can find nothing. None where the
        backend has no cheap frequencies (Elasticsearch): the caller searches."""
        doc_freqs = getattr(self.backend, "doc_freqs", None)
        if doc_freqs is None:
            return None
        doc_freq, _ = doc_freqs(audience)
        return lambda value: doc_freq(field, value)

    def exact_doc_freq(self, field: str, audience: Audience) -> Callable[[Any], int] | None:
        """The exact number of documents in the audience's tier that hold each value of
        `field`, from the term dictionary; None where it is not exact (a deleted document
        not yet merged away) or the backend has no cheap frequencies: the caller searches."""
        exact = getattr(self.backend, "exact_doc_freqs", None)
        if audience != Audience.staff and self.withheld():
            return None  # the tier still holds a withdrawn document: not exact for this caller
        doc_freq = exact(audience) if exact is not None else None
        if doc_freq is None:
            return None
        return lambda value: doc_freq(field, value)

    def info(self) -> dict[str, Any]:
        return self.backend.info()

    @property
    def generation(self) -> str | None:
        """Which physical index this is; the ledger compares it to know the index was rebuilt."""
        return self.backend.generation

    def close(self) -> None:
        self.backend.close()


# Fields a result list needs (no page text: snippets are cut from it separately).
LIST_FIELDS = ("id", "title", "doc_number", "agency", "date", "published", "collection",
               "validity", "category", "doc_type", "year", "pages", "ocr", "access", "archival_code")

__all__ = ["Engine", "Backend", "EngineUnavailable", "InvalidCursor", "access_filter"]
