"""Reading catalogue manifests: encodings, Chinese headers, joins, and what is wrong with them."""

from __future__ import annotations

import datetime as dt

import pytest

from indexer.manifest import ManifestError, load


def test_gb18030_csv_with_chinese_headers_is_read_and_normalised(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    m = tmp_path / "目录.csv"
    m.write_bytes("文件,题名,发文字号,发文机关,成文日期,开放状态,类型\n"
                  "a.pdf,关于档案的通知,佳政发[2007]12号,甲局；乙局,2007年3月5日,依申请公开,开放档案\n"
                  .encode("gb18030"))
    row, how = load(m).lookup(tmp_path / "a.pdf")
    assert how == "文件 file"
    assert row.values == {"file": "a.pdf", "title": "关于档案的通知", "doc_number": "佳政发〔2007〕12号",
                          "agency": ["甲局", "乙局"], "date": dt.date(2007, 3, 5), "access": "reading_room",
                          "collection": "archive"}


def test_file_named_by_its_archival_code_joins_the_row(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text('{"档号": "J012-2007-永久-0001", "题名": "甲"}\n{"档号": "J012-2007-永久-00012", "题名": "乙"}\n',
                 encoding="utf-8")
    manifest = load(m)
    assert manifest.lookup(tmp_path / "J012-2007-永久-0001.pdf")[0].values["title"] == "甲"
    assert manifest.lookup(tmp_path / "J012-2007-永久-0001_第2页.tif")[0].values["title"] == "甲"
    assert manifest.lookup(tmp_path / "J012-2007-永久-00012.pdf")[0].values["title"] == "乙"
    assert manifest.lookup(tmp_path / "J012-2007-永久-000123.pdf") == (None, None)


def test_unknown_access_is_restricted_and_reported(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("file,access\nx.txt,maybe\n", encoding="utf-8")
    manifest = load(m)
    assert manifest.by_file[str((tmp_path / "x.txt").resolve())].values["access"] == "restricted"
    assert any("maybe" in p for p in manifest.problems)


def test_rows_pointing_at_nothing_are_listed(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("文件,档号,题名\nmissing.txt,,甲\n,A-1,乙\nmissing.txt,,丙\n", encoding="utf-8")
    manifest = load(m)
    assert any("twice" in p for p in manifest.problems)
    unmatched = manifest.unmatched()
    assert any("missing.txt" in p for p in unmatched) and any("A-1" in p for p in unmatched)


def test_a_manifest_without_known_columns_stops_the_run(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(ManifestError):
        load(m)
