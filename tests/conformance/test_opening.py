"""Opening and withdrawal on every backend: a withdrawn document is left out of every
non-staff read by the access filter alone (search, counts, facets, suggest, similar, get),
and the staff side's writer moves a document between tiers from what the index stores,
giving the same answers as a document indexed with that access level from the start."""

from __future__ import annotations

from datetime import date

from engine import Engine
from engine.model import Audience, Document, Page
from engine.query import MatchAll, SearchSpec, Term
from settings import Settings
from staff import opening, publish
from staff.store import Store
from tests.conformance.engines import engines_with

SHARED = "三江湿地候鸟保护与巡护工作报告。"


def _docs() -> list[Document]:
    docs = [Document(id=f"open-{i}", collection="archive", title=f"湿地巡护报告第{i}号", date=date(2000 + i, 1, 1),
                     pages=[Page(1, SHARED * (i + 1))], agency=["佳木斯市林业局"], category="林业", access="open")
            for i in range(6)]
    docs.append(Document(id="kingfisher", collection="archive", title="翠鸟栖息地调查记录", date=date(1990, 5, 1),
                         pages=[Page(1, "翠鸟栖息地" + SHARED)], agency=["翠鸟调查组"], category="鸟类", access="open"))
    docs.append(Document(id="heron", collection="archive", title="苍鹭越冬地调查记录", date=date(2001, 12, 8),
                         pages=[Page(1, "苍鹭越冬地" + SHARED)], agency=["苍鹭调查组"], category="鸟类",
                         access="restricted"))
    return docs


opening_engine = engines_with(_docs(), "opening_engine")


def _answers(engine: Engine, audience: Audience) -> dict:
    res = engine.search(SearchSpec(query=MatchAll(), size=50, facets=("agency", "category")), audience)
    return {"ids": sorted(h.id for h in res.hits), "total": res.total,
            "facets": {k: sorted((v.value, v.count) for v in vs) for k, vs in res.facets.items()},
            "suggest": sorted(engine.suggest("翠鸟", audience) + engine.suggest("苍鹭", audience)),
            "similar": sorted(h.id for h in engine.similar("open-1", audience, size=20).hits),
            "count": engine.count(Term("category", "鸟类"), audience)}


def test_a_withdrawn_document_leaves_every_public_read_at_once(opening_engine):
    engine = opening_engine
    before = _answers(engine, Audience.public)
    assert "kingfisher" in before["ids"] and "翠鸟栖息地调查记录" in before["suggest"]
    engine.withheld = lambda: frozenset({"kingfisher"})
    try:
        after = _answers(engine, Audience.public)
        assert "kingfisher" not in after["ids"] and after["total"] == before["total"] - 1
        assert ("翠鸟调查组", 1) not in after["facets"]["agency"] and after["count"] == 0
        assert "翠鸟栖息地调查记录" not in after["suggest"] and "kingfisher" not in after["similar"]
        assert engine.get("kingfisher", Audience.public) is None
        assert engine.get("kingfisher", Audience.reading_room) is None
        assert engine.get("kingfisher", Audience.staff) is not None  # staff still see it
    finally:
        engine.withheld = lambda: frozenset()  # nothing withheld again


def test_the_writer_opens_a_document_as_if_it_had_been_indexed_open(opening_engine, tmp_path):
    engine = opening_engine
    store = Store(Settings(data=tmp_path).staff_path)
    before = engine.get("heron", Audience.staff)
    assert engine.get("heron", Audience.public) is None
    with store.connect() as db:
        opening._queue_change(db, "heron", "open")
    assert publish.apply_pending(store, engine) == 1
    opened = engine.get("heron", Audience.public)
    assert opened is not None and opened["access"] == "open"
    assert {k: v for k, v in opened.items() if k not in ("access", "indexed_at")} == \
        {k: v for k, v in before.items() if k not in ("access", "indexed_at")}
    # Found by its words (the analysed fields were made again), in the public tier's statistics.
    hits = engine.search(SearchSpec(query=Term("body_words", "苍鹭"), size=5), Audience.public).hits
    assert [h.id for h in hits] == ["heron"]
    assert publish.pending(store) == 0
    with store.connect() as db:  # and back out again
        opening._queue_change(db, "heron", "restricted")
    publish.apply_pending(store, engine)
    assert engine.get("heron", Audience.public) is None and engine.get("heron", Audience.staff) is not None
