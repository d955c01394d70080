"""OFD (GB/T 33190, the Chinese fixed-layout format of 电子公文): text in reading order.

An OFD is a zip: OFD.xml → DocBody/DocRoot → Document.xml → Pages/Page/@BaseLoc →
Content.xml, where each ofd:TextObject has a Boundary "x y w h" (mm) and ofd:TextCode
children at X/Y offsets inside it. Writers emit objects in any order (often one per
glyph run), so text is put back by position: lines by y, then left to right by x.
Template pages (ofd:TemplatePage, where 红头 often live) are read with the page."""

from __future__ import annotations

import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from engine.model import Page
from indexer import limits
from indexer.extract import Extracted, ExtractionError, OcrService, ensure_not_empty

MEDIA_TYPE = "application/ofd"
MAX_PART_BYTES = limits.MAX_PART_BYTES  # one XML part; larger is a zip bomb, not a document
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass
class _Run:
    x: float
    y: float  # baseline, mm from the top of the page
    size: float
    text: str


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el.iter() if _local(c) == name]


def _first_text(el: etree._Element, name: str) -> str:
    found = _children(el, name)
    return (found[0].text or "").strip() if found else ""


def _floats(value: str | None, n: int) -> list[float]:
    try:
        parts = [float(v) for v in (value or "").split()]
    except ValueError:
        parts = []
    return (parts + [0.0] * n)[:n]


class _Package:
    def __init__(self, path: Path):
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except zipfile.BadZipFile as e:
            raise ExtractionError(f"{path.name}: OFD 文件损坏 / corrupt OFD (not a zip)") from e
        self.names = {n.lstrip("/"): n for n in self.zip.namelist()}
        limits.check_zip(self.zip, path.name)

    def xml(self, name: str) -> etree._Element:
        key = posixpath.normpath(name.lstrip("/"))
        real = self.names.get(key) or next(
            (v for k, v in self.names.items() if k.lower() == key.lower()), None)
        if real is None:
            raise ExtractionError(f"{self.path.name}: OFD 缺少部件 / OFD part missing: {name}")
        info = self.zip.getinfo(real)
        if info.file_size > MAX_PART_BYTES:
            raise ExtractionError(f"{self.path.name}: OFD 部件过大 / OFD part too large: {name}")
        try:
            return etree.fromstring(self.zip.read(real), _PARSER)
        except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError) as e:
            raise ExtractionError(f"{self.path.name}: OFD 部件损坏 / corrupt OFD part {name} "
                                  f"({e})") from e


def _resolve(base_dir: str, loc: str) -> str:
    """OFD locations are absolute (from the package root) or relative to the referring part."""
    return loc.lstrip("/") if loc.startswith("/") else posixpath.join(base_dir, loc)


def _runs(content: etree._Element) -> list[_Run]:
    runs: list[_Run] = []
    for obj in _children(content, "TextObject"):
        bx, by, _, bh = _floats(obj.get("Boundary"), 4)
        size = float(obj.get("Size") or 0) or bh or 3.5
        x = y = 0.0
        for code in _children(obj, "TextCode"):
            x = float(code.get("X", x))  # X/Y may be left out: continue where the last one was
            y = float(code.get("Y", y))
            if code.text and code.text.strip():
                runs.append(_Run(bx + x, by + y, size, code.text))
    return runs


def reading_order(runs: list[_Run]) -> str:
    """Group runs into lines (baselines within half a glyph), then each line left to right."""
    lines: list[list[_Run]] = []
    for run in sorted(runs, key=lambda r: (r.y, r.x)):
        if lines and abs(run.y - lines[-1][0].y) <= 0.5 * max(run.size, lines[-1][0].size):
            lines[-1].append(run)
        else:
            lines.append([run])
    return "\n".join("".join(r.text for r in sorted(line, key=lambda r: r.x)) for line in lines)


class OfdExtractor:
    media_types = (MEDIA_TYPE,)
    extensions = (".ofd",)

    def extract(self, path: Path, ocr: OcrService | None = None) -> Extracted:
        ensure_not_empty(path)
        pkg = _Package(path)
        with pkg.zip:
            root = pkg.xml("OFD.xml")
            doc_roots = _children(root, "DocRoot")
            if not doc_roots or not (doc_roots[0].text or "").strip():
                raise ExtractionError(f"{path.name}: OFD.xml 没有 DocRoot / OFD without DocRoot")
            doc_loc = _resolve("", doc_roots[0].text.strip())
            doc_dir = posixpath.dirname(doc_loc)
            document = pkg.xml(doc_loc)
            templates = {t.get("ID"): _resolve(doc_dir, t.get("BaseLoc", ""))
                         for t in _children(document, "TemplatePage")}
            page_els = [p for p in _children(document, "Page") if p.get("BaseLoc")]
            if not page_els:
                raise ExtractionError(f"{path.name}: OFD 没有页面 / OFD has no pages", skip=True)
            pages = []
            for number, page_el in enumerate(page_els, start=1):
                limits.checkpoint()
                content = pkg.xml(_resolve(doc_dir, page_el.get("BaseLoc", "")))
                runs = _runs(content)
                for tpl in _children(content, "Template"):
                    loc = templates.get(tpl.get("TemplateID"))
                    if loc:
                        runs += _runs(pkg.xml(loc))
                pages.append(Page(number=number, text=reading_order(runs)))
            meta = {}
            for key, name in (("title", "Title"), ("author", "Author"),
                              ("created", "CreationDate")):
                value = _first_text(root, name)
                if value:
                    meta[key] = value
        return Extracted(pages, MEDIA_TYPE, meta)
