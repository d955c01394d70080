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
