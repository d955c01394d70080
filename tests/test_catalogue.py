"""mappings/documents.json is the one catalogue of fields: both engines follow it."""

from datetime import date

from engine.model import Document, Page
from engine.record import to_record
from engine.schema import catalogue, fields


def full_document() -> Document:
    return Document(
        id="J012-2007-永久-0001", collection="archive", title="关于加强档案工作的通知",
        pages=[Page(1, "正文", ocr=True, confidence=91.5), Page(2, "第二页")],
        doc_number="佳政发〔2007〕12号", agency=["佳木斯市人民政府"], recipients=["各县区人民政府"],
        date=date(2007, 9, 5), published=date(2007, 9, 10), category="档案", doc_type="通知",
        fonds="J012", archival_code="J012-2007-永久-0001", retention="永久", validity="现行有效",
        classification=None, access="open", source_path="/x.pdf", source_sha256="0" * 64,
        media_type="application/pdf",
    )


def test_every_indexed_record_field_is_in_the_catalogue():
    rec = to_record(full_document())
    assert set(rec) <= set(fields()), set(rec) - set(fields())


def test_a_record_round_trips_through_the_tantivy_schema_derived_from_the_catalogue(tmp_path):
    from engine import Engine
    from engine.embedded import open_embedded
    from engine.model import Audience

    engine = Engine(open_embedded(tmp_path, writable=True))
    doc = full_document()
    engine.upsert([doc])
    engine.commit()
    rec = to_record(doc)
    got = engine.get(doc.id, Audience.staff)
    stored = {k: v for k, v in rec.items() if fields()[k].stored and k != "indexed_at"}
    assert {k: got.get(k) for k in stored} == stored
    # Fields the catalogue keeps out of _source are indexed but not returned, in both engines.
    assert not {k for k in got if not fields()[k].stored}


def test_the_catalogue_is_strict_and_uses_only_the_built_in_whitespace_analyzer():
    m = catalogue()
    assert m["mappings"]["dynamic"] == "strict"
    analyzers = {p.get("analyzer") for p in m["mappings"]["properties"].values() if p["type"] == "text"}
    assert analyzers <= {"whitespace", None}
    # No custom analyzer: its `whitespace` tokenizer is in a module (analysis-common) that the
    # distribution the tests run is missing; the built-in analyzer is in the server core.
    assert "analysis" not in m["settings"]
