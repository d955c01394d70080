"""The backend conformance suite: the same corpus and the same requests give the same
documents and the same facet counts on every engine, and they equal the answers worked
out by brute force from the text itself (tests/corpus.py)."""

from __future__ import annotations

import pytest

from engine import Engine, syntax
from engine.model import Audience
from engine.query import MatchAll, Range, SearchSpec, Terms
from tests import corpus

ALL = 10_000
FACETS = ("collection", "agency", "year", "category", "doc_type", "validity")


def ids(engine: Engine, q: str, audience: Audience = Audience.public, **kw) -> list[str]:
    spec = SearchSpec(query=syntax.to_node(syntax.parse(q)), size=ALL, **kw)
    return [h.id for h in engine.search(spec, audience).hits]


def archives_law() -> str:
    return next(d.id for d in corpus.documents() if d.title == "中华人民共和国档案法")


def test_archives_law_query_ranks_the_archives_law_first(backend):
    assert ids(backend, "档案法")[0] == archives_law()


def test_traditional_and_full_width_queries_find_the_same_documents(backend):
    simplified = ids(backend, "档案法")
    assert ids(backend, "檔案法") == simplified
    assert ids(backend, "ｈｉｖ") == ids(backend, "hiv")


@pytest.mark.parametrize("term", ["环境", "档案管理", "人民法院", "国务院", "海洋"])
def test_word_query_finds_exactly_the_documents_containing_it(backend, term):
    for audience in Audience:
        assert set(ids(backend, term, audience)) == corpus.containing(term, audience), audience


def test_phrase_exclusion_and_or_follow_the_text(backend):
    a, b = corpus.containing("环境", Audience.staff), corpus.containing("海洋", Audience.staff)
    assert set(ids(backend, "环境 -海洋", Audience.staff)) == a - b
    assert set(ids(backend, "环境 OR 海洋", Audience.staff)) == a | b
    assert set(ids(backend, "环境 海洋", Audience.staff)) == a & b
    assert set(ids(backend, '"档案 管理"', Audience.staff)) == corpus.containing("档案管理", Audience.staff)


def test_restricted_documents_are_invisible_to_public_and_reading_room(backend):
    for audience in Audience:
        visible = {d.id for d in corpus.visible(audience)}
        res = backend.search(SearchSpec(query=MatchAll(), size=ALL, facets=FACETS), audience)
        assert {h.id for h in res.hits} == visible
        assert res.total == len(visible)
    restricted = next(d for d in corpus.documents() if d.access == "restricted")
    assert backend.get(restricted.id, Audience.public) is None
    assert backend.get(restricted.id, Audience.reading_room) is None
    assert backend.get(restricted.id, Audience.staff)["title"] == restricted.title


@pytest.mark.parametrize("audience", list(Audience))
def test_facet_counts_equal_counts_from_the_corpus(backend, audience):
    res = backend.search(SearchSpec(query=MatchAll(), size=0, facets=FACETS, facet_size=500), audience)
    docs = corpus.visible(audience)
    for f in FACETS:
        got = {v.value: v.count for v in res.facets[f]}
        assert got == corpus.facet_counts(docs, f), f


def test_facet_counts_of_a_ranked_word_query_count_the_documents_containing_it(backend):
    # Ranked hits carry the tie-break bonus; the counts beside them are over the same documents.
    docs = [d for d in corpus.visible(Audience.public) if d.id in corpus.containing("环境", Audience.public)]
    spec = SearchSpec(query=syntax.to_node(syntax.parse("环境")), size=5, facets=FACETS, facet_size=500)
    res = backend.search(spec, Audience.public)
    assert res.total == len(docs) and len(res.hits) == 5
    for f in FACETS:
        assert {v.value: v.count for v in res.facets[f]} == corpus.facet_counts(docs, f), f


def test_a_selected_facet_keeps_its_other_values_and_filters_the_rest(backend):
    docs = corpus.visible(Audience.public)
    chosen = "宪法相关法"
    spec = SearchSpec(query=MatchAll(), filters={"category": Terms("category", (chosen,))},
                      facets=FACETS, facet_size=500, size=ALL)
    res = backend.search(spec, Audience.public)
    inside = [d for d in docs if d.category == chosen]
    assert {h.id for h in res.hits} == {d.id for d in inside}
    # The category facet still counts every category (so a second one can be added)...
    assert {v.value: v.count for v in res.facets["category"]} == corpus.facet_counts(docs, "category")
    # ...while the others count only the selected category's documents.
    assert {v.value: v.count for v in res.facets["validity"]} == corpus.facet_counts(inside, "validity")


def test_year_range_filter_and_syntax_agree(backend):
    expected = {d.id for d in corpus.visible(Audience.public) if d.year and 2001 <= d.year <= 2010}
    spec = SearchSpec(query=MatchAll(), filters={"date": Range("year", 2001, 2010)}, size=ALL)
    assert {h.id for h in backend.search(spec, Audience.public).hits} == expected
    assert set(ids(backend, "年份:2001-2010")) == expected


def test_date_sorts_order_by_date(backend):
    for sort, sign in (("date_desc", -1), ("date_asc", 1)):
        spec = SearchSpec(query=MatchAll(), sort=sort, size=ALL)
        dates = [h.fields["date"] for h in backend.search(spec, Audience.staff).hits if h.fields.get("date")]
        assert dates == sorted(dates, reverse=sign < 0)


def test_paging_with_search_after_visits_every_document_once(backend):
    seen: list[str] = []
    after = None
    for _ in range(100):
        spec = SearchSpec(query=syntax.to_node(syntax.parse("法")), size=7, search_after=after)
        res = backend.search(spec, Audience.public)
        if not res.hits:
            break
        seen += [h.id for h in res.hits]
        after = res.hits[-1].sort
    assert len(seen) == len(set(seen)) == len(ids(backend, "法"))


def test_suggestions_complete_by_characters_pinyin_and_initials_without_leaks(backend):
    assert "中华人民共和国档案法" in backend.suggest("档案", Audience.public)
    assert "中华人民共和国档案法" in backend.suggest("dangan", Audience.public)
    assert "中华人民共和国档案法" in backend.suggest("daf", Audience.public)
    restricted = [d for d in corpus.documents() if d.access == "restricted"]
    for d in restricted:
        others = {o.title for o in corpus.visible(Audience.public)}
        if d.title not in others:
            assert d.title not in backend.suggest(d.title, Audience.public, size=20)
            assert d.title in backend.suggest(d.title, Audience.staff, size=20)


def test_similar_documents_exclude_the_document_and_what_the_caller_may_not_see(backend):
    doc = archives_law()
    res = backend.similar(doc, Audience.public, size=10)
    visible = {d.id for d in corpus.visible(Audience.public)}
    assert res.hits and doc not in {h.id for h in res.hits}
    assert {h.id for h in res.hits} <= visible
