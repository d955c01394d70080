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
