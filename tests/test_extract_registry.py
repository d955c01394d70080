"""The extractor is chosen by what a file is, not what it is called."""

from __future__ import annotations

from indexer.extract import extractor_for
from indexer.extract.docx import DocxExtractor
from indexer.extract.html import HtmlExtractor
from indexer.extract.image import ImageExtractor
from indexer.extract.ofd import OfdExtractor
from indexer.extract.pdf import PdfExtractor
from indexer.extract.text import TextExtractor
from tests import inputs


def test_content_wins_over_a_wrong_extension(tmp_path):
    pdf = inputs.text_pdf(tmp_path / "通知.doc", ["关于做好档案工作的通知"])
    png = tmp_path / "scan.pdf"
    inputs.render_page("档案", font_pt=10).save(png, "PNG")
    docx = inputs.docx_file(tmp_path / "notice.zip", "通知", ["正文"])
    ofd = inputs.ofd_file(tmp_path / "公文", [["关于做好档案工作的通知"]])
    html = inputs.gov_html(tmp_path / "page.txt", "通知", ["正文"])
    assert isinstance(extractor_for(pdf), PdfExtractor)
    assert isinstance(extractor_for(png), ImageExtractor)
    assert isinstance(extractor_for(docx), DocxExtractor)
    assert isinstance(extractor_for(ofd), OfdExtractor)
    assert isinstance(extractor_for(html), HtmlExtractor)


def test_extension_decides_when_bytes_prove_nothing(tmp_path):
    txt = inputs.encoded_text(tmp_path / "a.txt", "档案", "gb18030")
    empty_pdf = tmp_path / "empty.pdf"
    empty_pdf.write_bytes(b"")
    assert isinstance(extractor_for(txt), TextExtractor)
    assert isinstance(extractor_for(empty_pdf), PdfExtractor)


def test_unsupported_binary_formats_get_no_extractor(tmp_path):
    ole = tmp_path / "old.doc"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    other_zip = tmp_path / "photos.zip"
    import zipfile
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("a.bin", b"x")
    assert extractor_for(ole) is None
    assert extractor_for(other_zip) is None
    assert extractor_for(tmp_path / "movie.mp4") is None
