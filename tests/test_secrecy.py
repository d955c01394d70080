"""密级 markings in every form GB/T 9704 and practice use, on real layouts: the real 公文,
invoices and texts in ../shared/corpus/real and the 300 laws, each unmarked (no false
alarm: the laws are full of 绝密, 机密, 秘密 in prose) and marked in every form (no miss)."""

from __future__ import annotations

import json
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from engine.model import Page
from indexer import metadata, secrecy
from indexer.cli import main
from indexer.extract.ofd import OfdExtractor
from tests import inputs
from tests.test_pipeline import documents, rows

REPO = Path(__file__).resolve().parent.parent
REAL = REPO.parent / "shared" / "corpus" / "real"

# (as written in the 版头, level it must give)
FORMS = [
    ("机密★10年", "机密"), ("秘密★长期", "秘密"), ("绝密★长期", "绝密"),
    ("機密★20年", "机密"), ("絕密★長期", "绝密"), ("祕密★1年", "秘密"),  # traditional
    ("密级：机密", "机密"), ("密级:秘密★5年", "秘密"), ("密級：機密★長期", "机密"),
    ("密级：机密 保密期限：十年", "机密"), ("机密 保密期限：5年", "机密"),
    ("机密★五年", "机密"), ("秘密★二十年", "秘密"), ("绝密★三十年", "绝密"), ("秘密★6个月", "秘密"),
    ("机密（★10年）", "机密"), ("机密(★10年)", "机密"), ("【秘密★1年】", "秘密"), ("〔机密★5年〕", "机密"),
    ("机密☆10年", "机密"), ("机密*10年", "机密"), ("机密＊10年", "机密"), ("秘密★６个月", "秘密"),
    ("机密★１０年", "机密"), ("机　密　★　１０　年", "机密"),
    ("机密", "机密"), ("秘密", "秘密"), ("绝密", "绝密"), ("机密级", "机密"), ("秘密★", "秘密"),
    ("绝密★启用前", "绝密"), ("机密★1年 特急", "机密"), ("000123 机密★10年 特急", "机密"),
    ("極機密", "机密"), ("絕對機密", "绝密"),
]
# As OCR delivers them: spaced out, a character misread, ★ read as a letter, split lines.
OCR_FORMS = [
    ("机 密 ★ 1 0 年", "机密"), ("機 密 ★ 2 0 年", "机密"), ("机蜜★10年", "机密"), ("札密★5年", "机密"),
    ("机密女10年", "机密"), ("机密友10年", "机密"), ("机密码10年", "机密"), ("机密大十年", "机密"), ("秘蜜★长期", "秘密"), ("絶密★長期", "绝密"),
    ("密级：札密", "机密"), ("机密★1O年", "机密"), ("机密\n★10年", "机密"), ("杌密 * 5 年", "机密"),
]
ALL_FORMS = FORMS + OCR_FORMS
# Where the marking goes: the first line, or under the 份号 (GB/T 9704: 版心左上角第二行).
POSITIONS = [lambda mark, text: f"{mark}\n{text}", lambda mark, text: f"000123\n{mark}\n特急\n{text}"]


def _real_documents() -> dict[str, list[Page]]:
    if not REAL.is_dir():
        pytest.skip(f"real corpus not found at {REAL}")
    docs: dict[str, list[Page]] = {}
    for path in sorted((REAL / "ofd").glob("*.ofd")):
        try:
            pages = OfdExtractor().extract(path).pages
        except Exception:  # noqa: BLE001 - files without text: nothing to mark
            continue
        if pages and pages[0].text.strip():
            docs[path.name] = pages[:2]
    for path in sorted((REAL / "pdf").glob("*.pdf")) + sorted((REAL / "scans").glob("*.pdf")):
        try:
            pdf = pdfium.PdfDocument(path)
        except pdfium.PdfiumError:
            continue
        try:
            text = pdf[0].get_textpage().get_text_range().replace("\r\n", "\n")
        finally:
            pdf.close()
        docs[path.name] = [Page(1, text)]
    assert len(docs) > 60
    return docs


def _found(pages: list[Page]) -> str | None:
    return metadata.extract(pages).get("classification")


def _marked(pages: list[Page], text: str) -> list[Page]:
    return [Page(1, text), *pages[1:]]


def test_every_form_is_read_as_its_level():
    wrong = [(form, str(secrecy.read_line(form.replace("\n", "")))) for form, level in ALL_FORMS
             if (secrecy.read_line(form.replace("\n", "")) or secrecy.Marking("-", None, "")).level != level]
    assert not wrong


def test_term_is_written_in_digits_and_simplified():
    assert str(secrecy.read_line("機密★二十年")) == "机密★20年"
    assert str(secrecy.read_line("絕密★長期")) == "绝密★长期"
    assert str(secrecy.read_line("机密（★十年）特急")) == "机密★10年"
    assert str(secrecy.read_line("秘密★六个月")) == "秘密★6个月"


@pytest.mark.parametrize("prose", [
    "国家秘密", "秘密；", "绝密、机密、秘密", "商业秘密", "机密文件", "（一）绝密级；", "秘密级。",
    "第十条　国家秘密的密级分为绝密、机密、秘密三级。", "机密事项", "秘密写票处。", "保守秘密", "技术秘密",
    "密级", "涉密", "解密", "机密★10年以上的文件由机关保管", "不得泄露机密", "秘密1份",
])
def test_a_line_about_secrecy_is_not_a_marking(prose):
    assert secrecy.read_line(prose) is None


def test_real_layouts_marked_in_every_form_are_all_found_and_unmarked_raise_no_alarm():
    docs = _real_documents()
    false_alarms = [(name, _found(pages)) for name, pages in docs.items() if _found(pages)]
    misses = []
    for name, pages in docs.items():
        for form, level in ALL_FORMS:
            for i, place in enumerate(POSITIONS):
                found = _found(_marked(pages, place(form, pages[0].text)))
                if not found or not found.startswith(level):
                    misses.append((name, form, i, found))
    print(f"\nreal layouts: {len(docs)} documents × {len(ALL_FORMS)} forms × {len(POSITIONS)} positions; "
          f"misses {len(misses)}, false alarms {len(false_alarms)}")
    assert not false_alarms
    assert not misses, misses[:20]


def test_no_law_raises_an_alarm_and_every_marked_law_is_found():
    laws = inputs.laws()
    assert len(laws) == 300
    # Unmarked: neither the 版头 reading nor any single line of any law is a marking.
    false_alarms = [law["title"] for law in laws if _found([Page(1, law["text"])])]
    lines = [ln for law in laws for ln in law["text"].splitlines()]
    line_alarms = [ln for ln in lines if secrecy.read_line(ln)]
    # Marked: each law carries a form (all forms go round the laws), in both positions.
    misses = []
    for n, law in enumerate(laws):
        form, level = ALL_FORMS[n % len(ALL_FORMS)]
        head = "\n".join(law["text"].splitlines()[:40])
        for i, place in enumerate(POSITIONS):
            found = _found([Page(1, place(form, head))])
            if not found or not found.startswith(level):
                misses.append((law["title"], form, i, found))
    print(f"\nlaws: 300 unmarked ({len(lines)} lines), false alarms {len(false_alarms)} by 版头, "
          f"{len(line_alarms)} by line; 600 marked, misses {len(misses)}")
    assert sum("秘密" in law["text"] for law in laws) > 50  # the corpus does discuss secrecy
    assert not false_alarms and not line_alarms[:20]
    assert not misses


def test_marking_below_the_title_or_in_the_body_is_not_the_documents():
    # The law that says 秘密 most often (反间谍法, 民法典…; 保守国家秘密法 is not in the corpus).
    most = max(inputs.laws(), key=lambda law: law["text"].count("秘密"))
    body = most["text"].splitlines()[:60]
    assert not _found([Page(1, "\n".join(body[:12] + ["机密★10年"] + body[12:]))])


def test_manifest_column_values():
    assert str(secrecy.from_manifest("机密")) == "机密"
    assert str(secrecy.from_manifest("機密★20年")) == "机密★20年"
    assert str(secrecy.from_manifest("机密级")) == "机密"
    assert str(secrecy.from_manifest("秘密 长期")) == "秘密★长期"
    for value in ("", "无", "非密", "公开", "内部"):
        assert secrecy.from_manifest(value) is None and secrecy.unclassified(value)


def test_traditional_marking_makes_the_document_restricted_whatever_the_catalogue_says(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    body = inputs.law_excerpt(6, 200)
    (folder / "trad.txt").write_text("機密★20年\n\n關於邊境設施的報告\n\n" + body, encoding="utf-8")
    (folder / "bracket.txt").write_text("000031\n机密（★10年）\n特急\n关于边境设施的报告\n" + body, encoding="utf-8")
    (folder / "ocr.txt").write_text("机 蜜 ★ 1 0 年\n关 于 边 境 设 施 的 报 告\n" + body, encoding="utf-8")
    (folder / "by-manifest.txt").write_text("关于边境设施的报告\n" + body, encoding="utf-8")
    (folder / "open.txt").write_text("关于档案开放的通知\n" + inputs.law_excerpt(7, 200), encoding="utf-8")
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,access,密级\nin/trad.txt,open,\nin/by-manifest.txt,open,秘密★5年\n"
                        "in/open.txt,open,非密\n", encoding="utf-8")
    data = tmp_path / "data"
    assert main(["index", str(folder), "--manifest", str(manifest), "--data", str(data), "--quiet"]) == 0
    docs, ledger = documents(data), rows(data)
    access = {name: docs[e.doc_id]["access"] for name, e in ledger.items()}
    assert access == {"trad.txt": "restricted", "bracket.txt": "restricted", "ocr.txt": "restricted",
                      "by-manifest.txt": "restricted", "open.txt": "open"}
    capsys.readouterr()
    assert main(["report", "--data", str(data), "--json"]) == 0
    review = {Path(r["path"]).name: r["review"] for r in json.loads(capsys.readouterr().out)["review"]}
    assert set(review) == {"trad.txt", "bracket.txt", "ocr.txt", "by-manifest.txt"}
    assert "机密★20年" in review["trad.txt"] and "清单" in review["by-manifest.txt"]


@pytest.mark.parametrize("engine", ["rapid", "tesseract"])
def test_marking_on_a_scanned_first_page_is_found_through_ocr(tmp_path, engine):
    """Real OCR of a scanned 版头. PP-OCR (rapid) reads every page exactly; tesseract reads the
    ★ as 友, 码 or 女 and the marking is still found. (On the traditional page at 14 pt,
    tesseract reads the whole line as Latin letters, `A & 205`: no reader of the text can
    find a marking there, so that page is not asked of it.)"""
    from indexer.ocr import Ocr

    body = inputs.law_excerpt(6, 80)
    heads = {"机密★10年": "000031\n机密★10年\n特急\n关于边境设施的报告\n",
             "机密★20年": "000031\n機密★20年\n特急\n關於邊境設施的報告\n"}
    scans = [(want, pt, inputs.render_page(head + body, font_pt=pt, chars_per_line=24))
             for want, head in heads.items() for pt in (12, 14)]
    if engine == "tesseract":
        scans = scans[:3]
    with Ocr(tmp_path / "ocr-cache", workers=1, engine=engine) as ocr:
        pages = ocr.ocr_images([image for _, _, image in scans], source="scan.png")
    for (want, pt, _), page in zip(scans, pages, strict=True):
        assert page.ocr and _found([page]) == want, (pt, page.text[:40])
