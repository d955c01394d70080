"""An embedded index is left merged when the indexer closes it: the merges tantivy starts
after a commit finish instead of being thrown away. Every search walks every segment, so a
10k-document tier left as 12 segments of ~770 (the bulk build's end, when close() rolled
back and so ended the merges under way) searched in twice the time of the same tier merged."""

from __future__ import annotations

import json

from engine.embedded import open_embedded
from engine.model import Audience
from engine.query import MatchAll
from engine.record import to_record
from tests.corpus import documents

COMMITS = 8  # tantivy's LogMergePolicy merges 8 segments of a level: the last commit starts one


def _segments(data, tier: Audience) -> int:
    meta = json.loads((data / "index" / tier.value / "meta.json").read_text())
    return len(meta["segments"])


def test_a_build_committed_in_many_batches_is_merged_when_closed(tmp_path):
    # Each batch the whole laws corpus again under new ids: segments big enough that the
    # last commit's merge is still running when close() is called, as in a real build.
    records = [to_record(d) for d in documents()]
    backend = open_embedded(tmp_path, writable=True)
    for i in range(COMMITS):
        backend.upsert({**r, "id": f"{r['id']}-{i}"} for r in records)
        backend.commit()
    backend.close()
    reopened = open_embedded(tmp_path)
    from engine import Engine
    assert Engine(reopened).count(MatchAll(), Audience.staff) == COMMITS * len(records)
    for tier in Audience:
        assert _segments(tmp_path, tier) < COMMITS // 2, f"{tier.value}: segments left unmerged"


def test_closing_with_uncommitted_writes_drops_them(tmp_path):
    records = [to_record(d) for d in documents()[:20]]
    backend = open_embedded(tmp_path, writable=True)
    backend.upsert(records[:10])
    backend.commit()
    backend.upsert(records[10:])  # never committed
    backend.close()
    from engine import Engine
    assert Engine(open_embedded(tmp_path)).count(MatchAll(), Audience.staff) == 10


def test_other_versions_never_count_a_deleted_document_not_yet_merged_away(tmp_path):
    """The count of a hit's other versions is read from the term dictionary where that is
    exact; a deleted document stays in its segment's terms until a merge, so it must not be
    counted: a version taken out of the collection (or out of the public's sight) would still
    show as "1 other version"."""
    from engine import Engine
    from engine.model import Document, Page
    from engine.validity import other_versions

    def version(i: int, year: int) -> Document:
        return Document(id=f"v{i}", collection="current", title=f"测试市档案管理办法（{year}年）",
                        pages=[Page(1, "档案管理。")], version_group="测试市档案管理办法", access="open")

    backend = open_embedded(tmp_path, writable=True)
    engine = Engine(backend)
    engine.upsert([version(1, 2001), version(2, 2011), version(3, 2021)])
    engine.commit()
    assert backend.exact_doc_freqs(Audience.public) is not None  # one segment, nothing deleted
    assert other_versions(engine, ["测试市档案管理办法"], Audience.public) == {"测试市档案管理办法": 2}
    engine.delete(["v1"])
    engine.commit()
    assert _segments(tmp_path, Audience.public) == 1  # v1 is still in the segment, marked deleted
    assert backend.exact_doc_freqs(Audience.public) is None
    assert other_versions(engine, ["测试市档案管理办法"], Audience.public) == {"测试市档案管理办法": 1}
    engine.close()
