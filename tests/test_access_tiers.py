"""Nothing hidden shapes public answers: the same query gives the same ids, order, scores,
totals and facet counts whether or not documents the caller may not see exist.

Three engines of each kind are filled from the laws corpus (tests/corpus.py spreads
`restricted` and `reading_room` over it): with every document, without the restricted ones,
and with the open ones only. A public answer from the full engine must equal the public
answer from the open-only engine exactly, and a reading-room answer the one from the engine
without restricted documents. The staff answers do differ (the positive control: the hidden
documents share the query terms, so they would move the scores if they were counted)."""

from __future__ import annotations

import pytest

from engine.model import Audience
from engine.query import SearchSpec
from engine.record import to_record
from engine.syntax import parse, to_node
from tests.conformance.engines import BACKENDS, engine_for
from tests.corpus import documents

QUERIES = ["档案", "国家秘密", "管理 办法", "人民政府", "\"法律责任\"", "保护 -档案", "委员会 OR 监督", "第一条"]


def _answer(engine, q: str, audience: Audience, **kw) -> list:
    spec = SearchSpec(query=to_node(parse(q)), size=50, facets=("agency", "year", "collection"), **kw)
    res = engine.search(spec, audience)
    return [res.total, [(h.id, h.score) for h in res.hits],
            {f: [(v.value, v.count) for v in vals] for f, vals in res.facets.items()}]


@pytest.fixture(scope="module", params=BACKENDS)
def engines(request, tmp_path_factory):
    records = [to_record(d) for d in documents()]  # analysed once, written three times
    assert {r["access"] for r in records} == {"open", "reading_room", "restricted"}
    made = {}
    for name, keep in (("all", ("open", "reading_room", "restricted")), ("no_restricted", ("open", "reading_room")),
                       ("open", ("open",))):
        made[name] = engine = engine_for(request.param, tmp_path_factory, [], f"tiers-{name}")
        engine.backend.upsert(r for r in records if r["access"] in keep)
        engine.commit()
    yield made
    for e in made.values():
        e.close()


@pytest.mark.parametrize("q", QUERIES)
def test_public_scores_are_those_of_an_index_without_hidden_documents(engines, q):
    full, bare = _answer(engines["all"], q, Audience.public), _answer(engines["open"], q, Audience.public)
    assert full[1], q  # the query finds open documents at all
    assert full == bare


@pytest.mark.parametrize("q", QUERIES)
def test_reading_room_scores_never_count_restricted_documents(engines, q):
    assert _answer(engines["all"], q, Audience.reading_room) == _answer(engines["no_restricted"], q,
                                                                      Audience.reading_room)


def test_paging_and_date_sorts_agree_too(engines):
    for kw in ({"offset": 10}, {"sort": "date_desc"}, {"sort": "date_asc", "offset": 5}):
        assert _answer(engines["all"], "法", Audience.public, **kw) == _answer(engines["open"], "法",
                                                                              Audience.public, **kw)


def test_hidden_documents_would_move_the_scores_if_they_were_counted(engines):
    """The control: staff see every document, and the scores of the open ones change with the
    hidden ones beside them, so the equalities above are not true by accident."""
    staff = dict(_answer(engines["all"], "档案", Audience.staff)[1])
    public = dict(_answer(engines["all"], "档案", Audience.public)[1])
    shared = set(staff) & set(public)
    assert shared and any(staff[i] != public[i] for i in shared)
