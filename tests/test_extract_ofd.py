"""OFD (GB/T 33190): text put back in reading order from positioned text objects."""

from __future__ import annotations

import pytest

from indexer.extract import ExtractionError, extractor_for
from indexer.extract.ofd import OfdExtractor
from tests import inputs


def test_shuffled_text_objects_are_read_line_by_line_left_to_right(tmp_path):
    page1 = inputs.law_excerpt(title="中华人民共和国档案法", chars=150).split("\n")
    page2 = ["佳木斯市档案局", "二〇〇七年九月五日"]
    path = inputs.ofd_file(tmp_path / "公文.ofd", [page1, page2], title="档案法",
                           template_line="佳木斯市人民政府文件")
    extracted = extractor_for(path).extract(path, None)
    assert extracted.media_type == "application/ofd"
    assert extracted.pages[0].text.split("\n") == ["佳木斯市人民政府文件"] + page1
    assert extracted.pages[1].text.split("\n") == ["佳木斯市人民政府文件"] + page2
    assert extracted.metadata["title"] == "档案法"


def test_ofd_without_its_document_part_fails_with_the_missing_part(tmp_path):
    import zipfile
    path = tmp_path / "broken.ofd"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("OFD.xml", '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody>'
                              '<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody>'
                              '</ofd:OFD>')
    with pytest.raises(ExtractionError) as e:
        OfdExtractor().extract(path)
    assert "broken.ofd" in e.value.reason and "Doc_0/Document.xml" in e.value.reason
