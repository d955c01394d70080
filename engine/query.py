"""The engine-neutral query model: a small tree of query nodes that each backend translates
(embedded.py to tantivy Query objects, elastic.py to Query DSL), and the search spec.

Everything that decides *what* matches and how it ranks is built here, once, so both
engines return the same documents for the same request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Union

from engine.model import Audience

Value = Union[str, int, float, bool, date]


@dataclass(frozen=True)
class Term:
    field: str
    value: Value


@dataclass(frozen=True)
class Terms:
    """Any of the values (a keyword filter with several values)."""

    field: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Phrase:
    field: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class NearPhrase:
    """`head` then `tail`, each a phrase, with at most `max_gap` positions between the two:
    what is left of a phrase when one character in it was read wrong (two bigrams lost) or
    dropped (one lost), as OCR does."""

    field: str
    head: tuple[str, ...]
    tail: tuple[str, ...]
    max_gap: int


@dataclass(frozen=True)
class Fuzzy:
    """A term within `distance` edits (insert, delete, substitute, swap two neighbours) of
    `value`: a 文号 or title typed one character off."""

    field: str
    value: str
    distance: int = 1


@dataclass(frozen=True)
class Prefix:
    field: str
    value: str


@dataclass(frozen=True)
class Range:
    field: str
    gte: Value | None = None
    lte: Value | None = None


@dataclass(frozen=True)
class Bool:
    must: tuple[Node, ...] = ()
    should: tuple[Node, ...] = ()  # at least one must match when there is no `must`
    must_not: tuple[Node, ...] = ()
    filter: tuple[Node, ...] = ()  # must match, does not score


@dataclass(frozen=True)
class Boost:
    query: Node
    boost: float


@dataclass(frozen=True)
class ConstScore:
    query: Node
    score: float


@dataclass(frozen=True)
class MatchAll:
    pass


@dataclass(frozen=True)
class MatchNone:
    pass


Node = Union[Term, Terms, Phrase, NearPhrase, Fuzzy, Prefix, Range, Bool, Boost, ConstScore, MatchAll, MatchNone]

Sort = Literal["relevance", "date_desc", "date_asc"]


@dataclass
class SearchSpec:
    """A search as the backends see it.

    `filters` are keyed by the facet they belong to (or any other name): the hits match
    `query` and every filter; the counts of facet F match `query` and every filter except
    the one keyed F, so the other values of a facet stay visible while one is selected.

    `bonus` are score-only clauses (the tie-breaks): each adds its score to a hit that
    matches it, as should clauses beside the query would, but they never change which
    documents match, so a backend adds them only where scores are used (not to counts or
    facets)."""

    query: Node
    filters: dict[str, Node] = field(default_factory=dict)
    facets: tuple[str, ...] = ()
    facet_size: int = 20
    sort: Sort = "relevance"
    offset: int = 0
    size: int = 10
    search_after: list | None = None
    fields: tuple[str, ...] | None = None  # stored fields to return; None = all
    bonus: tuple[Node, ...] = ()
    # Whose tier (physical index) to search; the seam sets it beside the access filter. None:
    # every document (what the indexer and direct backend checks see).
    audience: Audience | None = None

    def scored_query(self) -> Node:
        """The query with the bonus clauses, as the hits are ranked."""
        return Bool(must=(self.query,), should=self.bonus) if self.bonus else self.query

    def all_filters(self, except_key: str | None = None) -> tuple[Node, ...]:
        return tuple(n for k, n in self.filters.items() if k != except_key)

