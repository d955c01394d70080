"""Every file of ../shared/corpus/real accounted for, and read at least as fully as other
readers: poppler's pdftotext and pdfminer.six for PDFs; for OFDs the Han characters in the
TextCode elements of the pages (real/README.md lists some; the rest are counted here the same
way, with a plain XML parser over the page parts and the templates they use)."""

from __future__ import annotations

import re
import subprocess
import zipfile

import pytest

from indexer.extract import ExtractionError, extractor_for
from tests import inputs

pytestmark = pytest.mark.slow  # OCR of the scans and of the image-only OFD pages

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# real/README.md's TextCode counts. converter_y: its 598 composite units hold 8,520 Han
# characters, but the pages draw 299 of them; the other 299 repeat their text exactly
# (checked: same characters), so a reader of what is drawn gives 4,260.
# converter_SignScaleError: 245 on the listed page plus 116 on a 清单 page the page tree
# forgot = 361, what the issue names.
KNOWN = {"converter_n.ofd": 227, "converter_signout.ofd": 183, "converter_testPathFillOpacity.ofd": 188,
         "reader_path_unstd.ofd": 55, "sign_doc1File.ofd": 3878, "layout_AddWatermarkAnnot.ofd": 2094,
         "crypto_hello.ofd": 1084, "converter_999.ofd": 711, "converter_y.ofd": 4260,
         "converter_SignScaleError.ofd": 361}
# Pages that are images only: OCR must give them text (other readers give none).
SCANNED = {"converter_containsJPEG.ofd", "mineru_small_ocr.pdf"}


def _han(text: str) -> int:
    return len(HAN.findall(text))


def _ofd_textcodes(path) -> int:
    """Han characters of the TextCode elements in the package's page parts and the templates
    they use, read with a plain XML parser (no layout, no composite objects)."""
    from lxml import etree

    z = zipfile.ZipFile(path)
    names = {n.lower(): n for n in z.namelist()}

    def xml(name: str):
        return etree.fromstring(z.read(names[name.lower()]))

    def local(el) -> str:
        return etree.QName(el).localname if isinstance(el.tag, str) else ""

    docs = [n for n in z.namelist() if re.search(r"(?i)^[^/]+/document\.xml$", n)]
    total = 0
    for doc_name in docs:
        base = doc_name.rsplit("/", 1)[0]
        def loc(value: str, base: str = base) -> str:  # absolute from the root, else from the document
            return value.lstrip("/") if value.startswith("/") else f"{base}/{value}"

        document = xml(doc_name)
        templates = {t.get("ID"): loc(t.get("BaseLoc", "")) for t in document.iter() if local(t) == "TemplatePage"}
        pages = [loc(p.get("BaseLoc", "")) for p in document.iter() if local(p) == "Page" and p.get("BaseLoc")]
        pages += [n for n in z.namelist() if re.match(rf"(?i)^{re.escape(base)}/pages/page_?\d+/content\.xml$", n)
                  and n.lower() not in {x.lower() for x in pages}]
        for page in (p for p in pages if p.lower() in names):
            root = xml(page)
            parts = [root] + [xml(templates[t.get("TemplateID")]) for t in root.iter()
                              if local(t) == "Template" and templates.get(t.get("TemplateID"), "").lower() in names]
            total += sum(_han(el.text or "") for part in parts for el in part.iter() if local(el) == "TextCode")
    return total


def _pdf_others(path) -> int:
    from pdfminer.high_level import extract_text

    poppler = subprocess.run(["pdftotext", "-q", str(path), "-"], capture_output=True, text=True,
                             errors="replace").stdout
    try:
        miner = extract_text(path)
    except Exception:  # noqa: BLE001 - another reader failing is a figure (0), not our error
        miner = ""
    return max(_han(poppler), _han(miner))


def test_every_real_file_is_read_at_least_as_fully_as_other_readers(tmp_path, capsys):
    from indexer.ocr import Ocr

    real = inputs.shared("real")
    files = sorted(p for p in real.rglob("*") if p.suffix.lower() in (".pdf", ".ofd"))
    rows, bad = [], []
    with Ocr(tmp_path / "ocr-cache", workers=2) as ocr:
        for path in files:
            if path.suffix == ".ofd":
                other = max(KNOWN.get(path.name, 0), _ofd_textcodes(path))
            else:
                other = _pdf_others(path)
            try:
                pages = extractor_for(path).extract(path, ocr).pages
                ours = sum(_han(p.text) for p in pages)
                has_text = any(p.text.strip() for p in pages)
                status = "indexed" if has_text else "skipped: no text"
            except ExtractionError as e:
                ours, has_text, status = 0, False, ("skipped: " if e.skip else "failed: ") + e.reason
            rows.append((path.relative_to(real), status, ours, other))
            if ours < 0.9 * other or (path.name in SCANNED and ours == 0):
                bad.append(f"{path.name}: {ours} Han characters, other readers {other}")
            if not has_text and other > 0:
                bad.append(f"{path.name}: {status}, but other readers find {other} Han characters")
    with capsys.disabled():
        print(f"\n{'file':48s} {'status':18s} {'ours':>6s} {'others':>6s}")
        for name, status, ours, other in rows:
            print(f"{str(name):48s} {status[:18]:18s} {ours:6d} {other:6d}")
    assert len(rows) == len(files) and not bad, bad
