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


NS = "http://www.ofdspec.org/2016"


def _package(path, pages: dict[str, str], listed: list[str], res: str = "", files: dict | None = None):
    """An OFD with these page parts (name → Content.xml body), of which `listed` are in the
    page tree, and a DocumentRes.xml body (composite units, images)."""
    import zipfile

    refs = "".join(f'<ofd:Page ID="{i + 1}" BaseLoc="{name}"/>' for i, name in enumerate(listed))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("OFD.xml", f'<ofd:OFD xmlns:ofd="{NS}"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml'
                              f'</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
        z.writestr("Doc_0/Document.xml", f'<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData>'
                                         f'<ofd:PublicRes>PublicRes.xml</ofd:PublicRes>'
                                         f'<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes></ofd:CommonData>'
                                         f'<ofd:Pages>{refs}</ofd:Pages></ofd:Document>')
        z.writestr("Doc_0/DocumentRes.xml", f'<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res">{res}</ofd:Res>')
        for name, body in pages.items():  # no PublicRes.xml: writers name parts they never write
            z.writestr(f"Doc_0/{name}", f'<ofd:Page xmlns:ofd="{NS}"><ofd:Content><ofd:Layer ID="2">{body}'
                                        f'</ofd:Layer></ofd:Content></ofd:Page>')
        for name, data in (files or {}).items():
            z.writestr(name, data)
    return path


def _text(x: float, y: float, s: str, ctm: str = "") -> str:
    ctm = f' CTM="{ctm}"' if ctm else ""
    return (f'<ofd:TextObject ID="1" Boundary="{x} {y} 100 10" Size="3"{ctm}>'
            f'<ofd:TextCode X="0" Y="3">{s}</ofd:TextCode></ofd:TextObject>')


def test_text_inside_composite_objects_is_read_where_it_is_drawn(tmp_path):
    # Two units in points (CTM 0.3528 mm/pt on the page), drawn in reverse order of lines:
    # the second line's unit comes first in the page.
    res = ('<ofd:CompositeGraphicUnits>'
           f'<ofd:CompositeGraphicUnit ID="20" Width="600" Height="800"><ofd:Content>'
           f'{_text(100, 100, "关于档案开放的通知", "9 0 0 9 0 0")}</ofd:Content></ofd:CompositeGraphicUnit>'
           f'<ofd:CompositeGraphicUnit ID="21" Width="600" Height="800"><ofd:Content>'
           f'{_text(100, 160, "各区档案馆：", "9 0 0 9 0 0")}</ofd:Content></ofd:CompositeGraphicUnit>'
           '</ofd:CompositeGraphicUnits>')
    page = ('<ofd:CompositeObject ID="5" CTM="0.3528 0 0 0.3528 0 0" Boundary="0 0 210 297" ResourceID="21"/>'
            '<ofd:CompositeObject ID="6" CTM="0.3528 0 0 0.3528 0 0" Boundary="0 0 210 297" ResourceID="20"/>')
    path = _package(tmp_path / "composite.ofd", {"Pages/Page_0/Content.xml": page},
                    ["Pages/Page_0/Content.xml"], res)
    assert OfdExtractor().extract(path).pages[0].text.split("\n") == ["关于档案开放的通知", "各区档案馆："]


def test_a_page_part_the_page_tree_forgot_is_read_after_the_listed_pages(tmp_path):
    path = _package(tmp_path / "forgot.ofd", {"Pages/Page_0/Content.xml": _text(20, 20, "电子发票"),
                                              "Pages/Page_1/Content.xml": _text(20, 20, "销售货物清单")},
                    ["Pages/Page_0/Content.xml"])
    assert [p.text for p in OfdExtractor().extract(path).pages] == ["电子发票", "销售货物清单"]


def test_a_page_that_is_only_an_image_goes_to_ocr(tmp_path):
    import io

    from indexer.ocr import Ocr

    image = inputs.render_page("档案馆开放档案目录\n公民可以凭身份证查阅", chars_per_line=12)
    jpeg = io.BytesIO()
    image.convert("RGB").save(jpeg, "JPEG", quality=90)
    res = ('<ofd:MultiMedias><ofd:MultiMedia ID="4" Type="Image" Format="JPEG">'
           '<ofd:MediaFile>Image_4.jpg</ofd:MediaFile></ofd:MultiMedia></ofd:MultiMedias>')
    page = '<ofd:ImageObject ID="3" Boundary="0 0 210 297" CTM="210 0 0 297 0 0" ResourceID="4"/>'
    path = _package(tmp_path / "scan.ofd", {"Pages/Page_0/Content.xml": page}, ["Pages/Page_0/Content.xml"],
                    res, files={"DOC_0/Res/Image_4.jpg": jpeg.getvalue()})  # case differs, as in real files
    with Ocr(tmp_path / "cache", workers=1) as ocr:
        pages = OfdExtractor().extract(path, ocr).pages
    assert pages[0].ocr and "档案" in pages[0].text and "查阅" in pages[0].text.replace(" ", "")
    assert OfdExtractor().extract(path).pages[0].text == ""  # without an OCR service: no text, no error
