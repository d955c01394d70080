"""When the field catalogue changes, the embedded index is rebuilt and every file is read
again: an old index never leaves the service unable to start or the ledger out of step."""

from __future__ import annotations

import json

from engine import open_engine
from engine.model import Audience
from engine.query import MatchAll
from indexer.cli import main
from settings import Settings


def test_an_index_built_with_another_catalogue_is_rebuilt_and_refilled(tmp_path, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("中华人民共和国档案法\n第一条　为了加强档案管理", encoding="utf-8")
    (src / "b.txt").write_text("关于开放档案的通知\n各县区档案馆", encoding="gb18030")
    data = tmp_path / "data"
    assert main(["index", str(src), "--data", str(data), "--quiet"]) == 0

    # Build the next index from a catalogue with one more field, as a later release would.
    import engine.schema as schema

    mapping = json.loads(schema.MAPPING_PATH.read_text(encoding="utf-8"))
    mapping["mappings"]["properties"]["added_later"] = {"type": "keyword"}
    changed = tmp_path / "documents.json"
    changed.write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(schema, "MAPPING_PATH", changed)
    schema.catalogue.cache_clear()
    schema.fields.cache_clear()
    try:
        assert main(["index", str(src), "--data", str(data), "--quiet"]) == 0
        engine = open_engine(Settings(data=data))
        assert engine.count(MatchAll(), Audience.staff) == 2
        assert "added_later" in engine.backend.specs
    finally:
        schema.catalogue.cache_clear()
        schema.fields.cache_clear()
