"""Floors on the relevance test set (tests/relevance/cases.py), on the embedded engine through
the same parse and query the api runs: what occurs verbatim is never missed, fragments, titles
and 文号 come first, abbreviations find what they name in the first three, OCR'd text is found
by the phrase printed on the page. `make bench` prints the same measures beside SQLite FTS5."""

from __future__ import annotations

import pytest

from analysis.abbreviations import names_for
from engine import Engine, syntax
from engine.embedded import open_embedded
from engine.model import Audience
from engine.query import SearchSpec
from tests.relevance import cases

LAWS = 100  # of the 300: enough neighbours for every kind, and seconds to index


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict[str, cases.Scores]:
    corpus = cases.corpus(LAWS)
    engine = Engine(open_embedded(tmp_path_factory.mktemp("relevance"), writable=True))
    engine.upsert(corpus.documents)
    engine.commit()
    names = names_for(None)

    def search(q: str) -> tuple[int, list[str]]:
        spec = SearchSpec(query=syntax.to_node(syntax.parse(q, names)), size=10, fields=("id",))
        result = engine.search(spec, Audience.public)
        return result.total, [h.id for h in result.hits]

    try:
        return cases.evaluate(corpus.cases, search)
    finally:
        engine.close()


def test_every_kind_is_in_the_set(scores):
    present = {k for k, s in scores.items() if s.n >= 10 or k == "abbreviation"}
    assert {"fragment", "passage", "title", "short title", "文号", "abbreviation", "traditional", "ocr"} <= present


@pytest.mark.parametrize("kind", ["fragment", "passage", "traditional"])
def test_no_verbatim_text_returns_nothing(scores, kind):
    assert scores[kind].zero == 0, scores[kind].misses


@pytest.mark.parametrize("kind, floor", [("fragment", 0.95), ("passage", 0.95), ("traditional", 0.95),
                                         ("title", 0.98), ("short title", 0.98), ("文号", 0.98), ("ocr", 0.9)])
def test_mean_reciprocal_rank_holds_its_floor(scores, kind, floor):
    assert scores[kind].mrr >= floor, scores[kind].misses


def test_abbreviations_find_what_they_name_in_the_first_three(scores):
    late = [(q, rank) for q, rank in scores["abbreviation"].misses if rank is None or rank > 3]
    assert not late


def test_a_misread_character_does_not_lose_the_scan(scores):
    assert scores["ocr"].recall10 == 1.0, scores["ocr"].misses
