"""Plain text in the encodings archives actually hold, detected from the bytes."""

from __future__ import annotations

import pytest

from indexer.extract import ExtractionError, extractor_for
from indexer.extract.text import TextExtractor
from tests import inputs

LAW = inputs.law_excerpt(title="中华人民共和国档案法")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16",
                                      "utf-16-le", "utf-16-be"])
def test_simplified_text_is_read_in_any_encoding_without_relying_on_the_extension(
        tmp_path, encoding):
    path = inputs.encoded_text(tmp_path / "档案法.dat", LAW, encoding)
    extracted = TextExtractor().extract(path)
    assert extracted.pages[0].text == LAW


def test_big5_traditional_text_is_detected_as_big5(tmp_path):
    text = inputs.to_traditional(LAW)
    path = inputs.encoded_text(tmp_path / "檔案法.txt", text, "big5")
    extracted = extractor_for(path).extract(path, None)
    assert extracted.pages[0].text == text
    assert extracted.metadata["encoding"].startswith("big5")


def test_gb18030_file_with_characters_outside_gb2312_is_read_whole(tmp_path):
    text = "朱镕基同志在全国档案工作会议上的讲话\n" + LAW  # 镕 is not in GB2312
    path = inputs.encoded_text(tmp_path / "讲话.txt", text, "gb18030")
    assert TextExtractor().extract(path).pages[0].text == text


def test_form_feeds_split_pages_and_plain_text_is_one_page(tmp_path):
    speech = inputs.seed_speech()
    one = inputs.encoded_text(tmp_path / "one.txt", speech, "gb18030")
    assert len(TextExtractor().extract(one).pages) == 1
    three = inputs.encoded_text(tmp_path / "three.txt", "第一页\f第二页\r\n\f第三页", "utf-8")
    pages = TextExtractor().extract(three).pages
    assert [(p.number, p.text) for p in pages] == [(1, "第一页"), (2, "第二页"), (3, "第三页")]


def test_empty_file_is_skipped_not_failed(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(ExtractionError) as e:
        TextExtractor().extract(path)
    assert e.value.skip and "empty" in e.value.reason


@pytest.mark.parametrize("encoding", ["gb18030", "big5hkscs", "utf-8"])
def test_a_few_bad_bytes_are_replaced_and_counted_not_the_whole_file_lost(tmp_path, encoding):
    text = inputs.law_excerpt(2, 1500)
    if encoding == "big5hkscs":
        text = inputs.to_traditional(text)
    data = text.encode(encoding)
    cut = data.index("第二条".encode(encoding) if encoding != "big5hkscs" else "第二條".encode(encoding))
    damaged = data[:cut] + b"\xff" + data[cut:]  # one byte no Chinese encoding has
    path = tmp_path / "damaged.txt"
    path.write_bytes(damaged)
    got = TextExtractor().extract(path)
    assert got.metadata["encoding"] == encoding
    assert got.pages[0].text.count("\ufffd") == 1 and got.pages[0].text.replace("\ufffd", "") == text.strip("\n")
    assert got.notes == [f"1 处无法解码的字节已替换为 U+FFFD / 1 undecodable byte sequence replaced with U+FFFD "
                         f"({encoding})"]


def test_damaged_gb18030_file_is_indexed_with_a_ledger_note(tmp_path, capsys):
    import json

    from indexer.cli import main
    from tests.test_pipeline import documents, rows

    folder = tmp_path / "in"
    folder.mkdir()
    data = inputs.law_excerpt(4, 800).encode("gb18030")
    (folder / "damaged.txt").write_bytes(data[:300] + b"\xff" + data[300:])
    assert main(["index", str(folder), "--data", str(tmp_path / "data"), "--quiet"]) == 0
    row = rows(tmp_path / "data")["damaged.txt"]
    assert row.status == "indexed" and "1 undecodable byte sequence" in row.reason
    assert "\ufffd" in "".join(documents(tmp_path / "data")[row.doc_id]["page_text"])
    capsys.readouterr()
    assert main(["report", "--data", str(tmp_path / "data"), "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert [n["path"] for n in notes] == [str(folder / "damaged.txt")]


def test_bytes_that_are_mostly_not_text_still_fail(tmp_path):
    path = tmp_path / "noise.txt"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(ExtractionError, match="not text"):
        TextExtractor().extract(path)
