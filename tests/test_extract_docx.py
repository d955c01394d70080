"""Word files: paragraphs and tables in reading order, title from the document properties."""

from __future__ import annotations

import pytest

from indexer.extract import ExtractionError, extractor_for
from indexer.extract.docx import DocxExtractor
from tests import inputs


def test_paragraphs_and_table_rows_come_out_in_document_order(tmp_path):
    lines = inputs.law_excerpt(title="中华人民共和国档案法", chars=200).split("\n")
    table = [["档号", "题名", "保管期限"], ["J001-2007-0012", "关于档案工作的通知", "永久"]]
    path = inputs.docx_file(tmp_path / "notice.docx", "中华人民共和国档案法", lines, table,
                            after_table=["佳木斯市档案局", "二〇〇七年九月五日"])
    extracted = extractor_for(path).extract(path, None)
    text = extracted.pages[0].text
    assert text.split("\n") == lines + ["档号\t题名\t保管期限",
                                        "J001-2007-0012\t关于档案工作的通知\t永久",
                                        "佳木斯市档案局", "二〇〇七年九月五日"]
    assert extracted.metadata == {"title": "中华人民共和国档案法"}


def test_corrupt_docx_fails_with_file_name(tmp_path):
    good = inputs.docx_file(tmp_path / "good.docx", "t", ["正文"]).read_bytes()
    bad = tmp_path / "bad.docx"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(ExtractionError) as e:
        DocxExtractor().extract(bad)
    assert "bad.docx" in e.value.reason
