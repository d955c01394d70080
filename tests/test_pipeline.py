"""The pipeline and its ledger over real files, a real tantivy index and real tesseract:
re-runs, changes, deletions, duplicates, manifests and 密级 markings."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from engine import open_engine
from engine.model import Audience
from engine.query import MatchAll, SearchSpec, Term
from indexer import pipeline
from indexer.cli import main
from indexer.ledger import INDEXED, SKIPPED, Ledger
from indexer.manifest import load
from indexer.ocr import Ocr
from settings import Settings
from tests import inputs


def index(folder: Path, data: Path, manifest: Path | None = None, **opts) -> tuple[pipeline.Summary, Ocr]:
    settings = Settings(data=data)
    engine = open_engine(settings, writable=True)
    ledger = Ledger(settings.ledger_path)
    ocr = Ocr(data / "ocr-cache")
    try:
        summary = pipeline.run([folder], engine, ledger, ocr,
                               pipeline.Options(manifest=load(manifest) if manifest else None, **opts))
    finally:
        engine.close(), ledger.close(), ocr.close()
    return summary, ocr


def documents(data: Path) -> dict[str, dict]:
    """Every document in the index by id, as staff see them (restricted ones too)."""
    engine = open_engine(Settings(data=data))
    try:
        hits = engine.search(SearchSpec(query=MatchAll(), size=1000), Audience.staff).hits
        for h in hits:  # and each id exactly once
            assert engine.count(Term("id", h.id), Audience.staff) == 1, h.id
        return {h.id: h.fields for h in hits}
    finally:
        engine.close()


def rows(data: Path) -> dict[str, object]:
    ledger = Ledger(data / "ledger.sqlite")
    try:
        return {Path(e.path).name: e for e in ledger.entries()}
    finally:
        ledger.close()


def text_file(path: Path, index: int, chars: int = 200) -> Path:
    path.write_text(inputs.law_excerpt(index, chars), encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for i in range(3):
        text_file(d / f"doc{i}.txt", i)
    return d


def test_rerun_skips_unchanged_files_and_does_no_ocr_again(tmp_path, folder):
    inputs.save_tiff(folder / "scan.tif", [inputs.render_page(inputs.law_excerpt(5, 60))])
    data = tmp_path / "data"
    first, ocr1 = index(folder, data)
    assert (first.indexed, first.ocr_pages) == (4, 1)
    assert ocr1.misses == 1
    before = documents(data)
    second, ocr2 = index(folder, data)
    assert (second.indexed, second.unchanged, second.ocr_pages) == (0, 4, 0)
    assert ocr2.hits + ocr2.misses == 0  # the scan was not even rendered again
    assert documents(data).keys() == before.keys()


def test_touched_file_is_not_read_again_but_its_mtime_is_recorded(tmp_path, folder):
    data = tmp_path / "data"
    index(folder, data)
    os.utime(folder / "doc0.txt", ns=(1, 1))
    second, _ = index(folder, data)
    assert (second.indexed, second.unchanged) == (0, 3)
    assert rows(data)["doc0.txt"].mtime_ns == 1


def test_changed_file_replaces_its_document(tmp_path, folder):
    data = tmp_path / "data"
    index(folder, data)
    old_id = rows(data)["doc1.txt"].doc_id
    text_file(folder / "doc1.txt", 9)
    summary, _ = index(folder, data)
    assert summary.indexed == 1
    new_id = rows(data)["doc1.txt"].doc_id
    docs = documents(data)
    assert new_id != old_id and new_id in docs and old_id not in docs
    assert len(docs) == 3


def test_deleted_file_takes_its_document_with_it(tmp_path, folder):
    data = tmp_path / "data"
    index(folder, data)
    gone = rows(data)["doc2.txt"].doc_id
    (folder / "doc2.txt").unlink()
    summary, _ = index(folder, data)
    assert summary.removed == 1
    assert gone not in documents(data) and "doc2.txt" not in rows(data)


def test_file_that_turns_corrupt_is_failed_and_its_old_document_withdrawn(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    pdf = inputs.text_pdf(folder / "notice.pdf", [inputs.law_excerpt(3, 200)])
    data = tmp_path / "data"
    index(folder, data)
    old = rows(data)["notice.pdf"].doc_id
    pdf.write_bytes(pdf.read_bytes()[:300])
    summary, _ = index(folder, data)
    row = rows(data)["notice.pdf"]
    assert (summary.failed, summary.removed, row.status) == (1, 1, "failed")
    assert "PDF" in row.reason
    assert old not in documents(data)


def test_duplicate_content_is_indexed_once_and_survives_the_holder(tmp_path, folder):
    shutil.copy(folder / "doc0.txt", folder / "doc0_副本.txt")
    data = tmp_path / "data"
    summary, _ = index(folder, data)
    r = rows(data)
    assert (summary.indexed, summary.skipped) == (3, 1)
    assert r["doc0.txt"].status == INDEXED and r["doc0_副本.txt"].status == SKIPPED
    assert "doc0.txt" in r["doc0_副本.txt"].reason and r["doc0_副本.txt"].doc_id == r["doc0.txt"].doc_id
    shared = r["doc0.txt"].doc_id
    # The holder goes: the duplicate takes over the document instead of it vanishing.
    (folder / "doc0.txt").unlink()
    index(folder, data)
    docs = documents(data)
    assert shared in docs and docs[shared]["source_path"].endswith("doc0_副本.txt")
    assert rows(data)["doc0_副本.txt"].status == INDEXED


def test_holder_that_changes_leaves_its_old_content_to_the_duplicate(tmp_path, folder):
    shutil.copy(folder / "doc0.txt", folder / "doc9.txt")
    data = tmp_path / "data"
    index(folder, data)
    shared = rows(data)["doc0.txt"].doc_id
    text_file(folder / "doc0.txt", 11)
    index(folder, data)
    r, docs = rows(data), documents(data)
    assert r["doc9.txt"].status == INDEXED and r["doc9.txt"].doc_id == shared and shared in docs
    assert r["doc0.txt"].doc_id in docs and len(docs) == 4


def test_two_files_swapping_contents_keep_both_documents(tmp_path, folder):
    data = tmp_path / "data"
    index(folder, data)
    a, b = folder / "doc0.txt", folder / "doc1.txt"
    ta, tb = a.read_bytes(), b.read_bytes()
    a.write_bytes(tb), b.write_bytes(ta)
    index(folder, data)
    assert len(documents(data)) == 3
    assert all(e.status == INDEXED for e in rows(data).values())


def test_manifest_change_reindexes_the_file_and_manifest_wins(tmp_path, folder):
    manifest = tmp_path / "目录.csv"
    manifest.write_text("文件,题名,开放状态\nin/doc0.txt,第一题名,开放\n", encoding="utf-8")
    data = tmp_path / "data"
    index(folder, data, manifest)
    doc_id = rows(data)["doc0.txt"].doc_id
    assert documents(data)[doc_id]["title"] == "第一题名"
    manifest.write_text("文件,题名,开放状态\nin/doc0.txt,修改后的题名,阅览室\n", encoding="utf-8")
    summary, _ = index(folder, data, manifest)
    assert (summary.indexed, summary.unchanged) == (1, 2)
    doc = documents(data)[doc_id]
    assert (doc["title"], doc["access"]) == ("修改后的题名", "reading_room")


def test_gb18030_manifest_with_chinese_headers_joins_by_file_and_by_archival_code(tmp_path):
    folder = tmp_path / "J012"
    folder.mkdir()
    text_file(folder / "通知.txt", 1)
    text_file(folder / "J012-2007-永久-0001.txt", 2)  # named by its 档号, no 文件 column
    text_file(folder / "J012-2007-永久-0002_扫描.txt", 3)
    manifest = folder / "目录.csv"
    manifest.write_bytes((
        "文件,档号,题名,发文字号,责任者,成文日期,开放状态,全宗号,保管期限\n"
        "通知.txt,J012-2007-永久-0100,关于开展档案检查的通知,佳档发[2007]3号,佳木斯市档案局;佳木斯市人民政府,"
        "2007年3月5日,开放,J012,永久\n"
        ",J012-2007-永久-0001,佳木斯市档案工作报告,,佳木斯市档案局,2007-09-05,到馆查阅,J012,永久\n"
        ",J012-2007-永久-0002,扫描件题名,,,2007-10-01,开放,J012,永久\n"
        ",J012-2007-永久-0099,没有文件的条目,,,,开放,J012,永久\n"
    ).encode("gb18030"))
    data = tmp_path / "data"
    summary, _ = index(folder, data, manifest, collection="archive")
    assert summary.indexed == 3 and summary.skipped == 0  # the manifest itself is not a document
    docs = documents(data)
    notice = docs["J012-2007-永久-0100"]
    assert notice["title"] == "关于开展档案检查的通知"
    assert notice["doc_number"] == "佳档发〔2007〕3号"
    assert notice["agency"] == ["佳木斯市档案局", "佳木斯市人民政府"]
    assert docs["J012-2007-永久-0001"]["access"] == "reading_room"
    assert docs["J012-2007-永久-0002"]["title"] == "扫描件题名"
    assert rows(data)["J012-2007-永久-0001.txt"].joined_by == "档号 J012-2007-永久-0001"
    assert any("J012-2007-永久-0099" in p for p in summary.problems)


def test_jsonl_manifest_joins_by_file_and_by_archival_code(tmp_path, folder):
    text_file(folder / "J001-1958-永久-0012.txt", 4)
    manifest = tmp_path / "catalogue.jsonl"
    lines = [{"file": "in/doc0.txt", "title": "JSON 题名", "agency": ["甲机关", "乙机关"], "date": "2001-02-03"},
             {"档号": "J001-1958-永久-0012", "题名": "户口登记条例", "开放状态": "控制使用"},
             {"file": "in/没有这个文件.txt", "title": "缺失"}]
    manifest.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    data = tmp_path / "data"
    summary, _ = index(folder, data, manifest)
    docs = documents(data)
    d0 = docs[rows(data)["doc0.txt"].doc_id]
    assert (d0["title"], d0["agency"]) == ("JSON 题名", ["甲机关", "乙机关"])
    assert docs["J001-1958-永久-0012"]["access"] == "restricted"
    assert any("没有这个文件" in p for p in summary.problems)


def test_classification_marking_forces_restricted_and_is_listed_for_review(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "secret.txt").write_text("机密\n\n关于边境设施的报告\n\n" + inputs.law_excerpt(6, 200), encoding="utf-8")
    text_file(folder / "open.txt", 7)
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,access\nin/secret.txt,open\n", encoding="utf-8")
    data = tmp_path / "data"
    assert main(["index", str(folder), "--manifest", str(manifest), "--data", str(data), "--quiet"]) == 0
    secret = rows(data)["secret.txt"]
    assert documents(data)[secret.doc_id]["access"] == "restricted"  # whatever the catalogue says
    capsys.readouterr()
    assert main(["report", "--data", str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in report["review"]] == [str(folder / "secret.txt")]
    assert "机密" in report["review"][0]["review"]
    assert main(["report", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "待人工审核" in out and "机密" in out


def test_data_directory_inside_the_root_is_not_indexed(tmp_path, folder):
    data = folder / "data"
    assert main(["index", str(folder), "--data", str(data), "--quiet"]) == 0
    assert main(["index", str(folder), "--data", str(data), "--quiet"]) == 0
    assert set(rows(data)) == {"doc0.txt", "doc1.txt", "doc2.txt"}


def test_parallel_readers_give_the_same_index_as_one(tmp_path, folder):
    inputs.save_tiff(folder / "scan.tif", [inputs.render_page(inputs.law_excerpt(5, 60))])
    one, many = tmp_path / "one", tmp_path / "many"
    index(folder, one)
    summary, _ = index(folder, many, workers=2)
    assert summary.indexed == 4
    assert documents(one).keys() == documents(many).keys()
    assert {k: (e.status, e.doc_id) for k, e in rows(one).items()} == \
        {k: (e.status, e.doc_id) for k, e in rows(many).items()}
