"""OFD (GB/T 33190, the Chinese fixed-layout format of 电子公文): text in reading order.

An OFD is a zip: OFD.xml → DocBody/DocRoot → Document.xml → Pages/Page/@BaseLoc →
Content.xml, where each ofd:TextObject has a Boundary "x y w h" (mm) and ofd:TextCode
children at X/Y offsets inside it. Writers emit objects in any order (often one per
glyph run), so text is put back by position: lines by y, then left to right by x.
Template pages (ofd:TemplatePage, where 红头 often live) are read with the page, and so is
text inside composite objects (CompositeGraphicUnit resources, placed through the CTMs of
object and unit). A page that draws only an image is handed to OCR."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from PIL import Image

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

    def _find(self, name: str) -> str | None:
        key = posixpath.normpath(name.lstrip("/"))
        return self.names.get(key) or next(  # writers differ in case: Doc_0/ beside DOC_0/Res
            (v for k, v in self.names.items() if k.lower() == key.lower()), None)

    def has(self, name: str) -> bool:
        return self._find(name) is not None

    def read(self, name: str) -> bytes:
        real = self._find(name)
        if real is None:
            raise ExtractionError(f"{self.path.name}: OFD 缺少部件 / OFD part missing: {name}")
        info = self.zip.getinfo(real)
        if info.file_size > MAX_PART_BYTES:
            raise ExtractionError(f"{self.path.name}: OFD 部件过大 / OFD part too large: {name}")
        try:
            return self.zip.read(real)
        except (zipfile.BadZipFile, OSError) as e:
            raise ExtractionError(f"{self.path.name}: OFD 部件损坏 / corrupt OFD part {name} ({e})") from e

    def xml(self, name: str) -> etree._Element:
        data = self.read(name)
        try:
            return etree.fromstring(data, _PARSER)
        except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError) as e:
            raise ExtractionError(f"{self.path.name}: OFD 部件损坏 / corrupt OFD part {name} "
                                  f"({e})") from e


def _resolve(base_dir: str, loc: str) -> str:
    """OFD locations are absolute (from the package root) or relative to the referring part."""
    return loc.lstrip("/") if loc.startswith("/") else posixpath.join(base_dir, loc)


# An affine map (a b c d e f) as OFD writes a CTM: x' = a·x + c·y + e, y' = b·x + d·y + f.
_Affine = tuple[float, float, float, float, float, float]
_IDENTITY: _Affine = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _then(inner: _Affine, outer: _Affine) -> _Affine:
    """inner applied first, then outer."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (A * a + C * b, B * a + D * b, A * c + C * d, B * c + D * d, A * e + C * f + E, B * e + D * f + F)


def _apply(m: _Affine, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _placement(obj: etree._Element) -> _Affine:
    """Object space → the space its parent draws in: the object's CTM, then its Boundary's
    origin (GB/T 33190 8.2)."""
    bx, by, _, _ = _floats(obj.get("Boundary"), 4)
    ctm = obj.get("CTM")
    m = tuple(_floats(ctm, 6)) if ctm else _IDENTITY
    return _then(m, (1.0, 0.0, 0.0, 1.0, bx, by))  # type: ignore[arg-type]


@dataclass
class _Drawn:
    runs: list[_Run]
    images: list[tuple[float, str]]  # (area in mm², MultiMedia ResourceID) of image objects


def _draw(container: etree._Element, to_page: _Affine, units: dict[str, etree._Element],
          out: _Drawn, depth: int = 0) -> None:
    """Text runs of every object under `container`, placed on the page: text objects, page
    blocks, and composite objects, whose text lies in a CompositeGraphicUnit resource."""
    for obj in container:
        name = _local(obj)
        if name == "TextObject":
            m = _then(_placement(obj), to_page)
            scale = abs(m[0] * m[3] - m[1] * m[2]) ** 0.5
            size = (float(obj.get("Size") or 0) or _floats(obj.get("Boundary"), 4)[3] or 3.5) * (scale or 1.0)
            x = y = 0.0
            for code in _children(obj, "TextCode"):
                x = float(code.get("X", x))  # X/Y may be left out: continue where the last one was
                y = float(code.get("Y", y))
                if code.text and code.text.strip():
                    px, py = _apply(m, x, y)
                    out.runs.append(_Run(px, py, size, code.text))
        elif name == "CompositeObject" and depth < 8:
            unit = units.get(obj.get("ResourceID") or "")
            content = next((c for c in unit if _local(c) == "Content"), None) if unit is not None else None
            if content is not None:
                _draw(content, _then(_placement(obj), to_page), units, out, depth + 1)
        elif name == "ImageObject":
            _, _, w, h = _floats(obj.get("Boundary"), 4)
            out.images.append((w * h, obj.get("ResourceID") or ""))
        elif name in ("Layer", "PageBlock", "Content"):
            _draw(obj, to_page, units, out, depth)


def reading_order(runs: list[_Run]) -> str:
    """Group runs into lines (baselines within half a glyph), then each line left to right."""
    lines: list[list[_Run]] = []
    for run in sorted(runs, key=lambda r: (r.y, r.x)):
        if lines and abs(run.y - lines[-1][0].y) <= 0.5 * max(run.size, lines[-1][0].size):
            lines[-1].append(run)
        else:
            lines.append([run])
    return "\n".join("".join(r.text for r in sorted(line, key=lambda r: r.x)) for line in lines)


def _image(pkg: _Package, loc: str) -> Image.Image:
    """An image part of the package, decoded (a page that is only a scan goes to OCR)."""
    try:
        with Image.open(io.BytesIO(pkg.read(loc))) as im:
            return im.convert("RGB")
    except (OSError, SyntaxError, Image.DecompressionBombError) as e:
        raise ExtractionError(f"{pkg.path.name}: OFD 图像无法读取 / unreadable image {loc} ({e})") from e


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
            units, media = self._resources(pkg, document, doc_dir)
            pages: list[Page] = []
            scans: dict[int, str] = {}  # page number → the image it shows, for pages without text
            for number, page_loc in enumerate(self._page_parts(pkg, doc_dir, page_els, templates), start=1):
                limits.checkpoint()
                content = pkg.xml(page_loc)
                page_units = dict(units)
                for res in _children(content, "PageRes"):
                    res_loc = _resolve(posixpath.dirname(page_loc), (res.text or "").strip())
                    if pkg.has(res_loc):
                        page_units.update(self._units(pkg, res_loc)[0])
                drawn = _Drawn([], [])
                for part in (c for c in content if _local(c) == "Content"):
                    _draw(part, _IDENTITY, page_units, drawn)
                for tpl in _children(content, "Template"):
                    loc = templates.get(tpl.get("TemplateID"))
                    if loc:
                        for part in (c for c in pkg.xml(loc) if _local(c) == "Content"):
                            _draw(part, _IDENTITY, page_units, drawn)
                pages.append(Page(number=number, text=reading_order(drawn.runs)))
                if not drawn.runs and drawn.images:
                    largest = max(drawn.images)[1]
                    if largest in media:
                        scans[number] = media[largest]
            if scans and ocr is not None:
                images = (_image(pkg, scans[n]) for n in scans)  # lazy: one page in memory at a time
                for done in ocr.ocr_images(images, numbers=list(scans), source=path.name):
                    pages[done.number - 1] = done
            meta = {}
            for key, name in (("title", "Title"), ("author", "Author"),
                              ("created", "CreationDate")):
                value = _first_text(root, name)
                if value:
                    meta[key] = value
        return Extracted(pages, MEDIA_TYPE, meta)

    def _page_parts(self, pkg: _Package, doc_dir: str, page_els: list[etree._Element],
                    templates: dict[str | None, str]) -> list[str]:
        """The page tree's pages, then any page part the tree forgot (a writer that left the
        invoice's second page, its 清单, out of Document.xml): text is never dropped."""
        listed = [_resolve(doc_dir, p.get("BaseLoc", "")) for p in page_els]
        known = {posixpath.normpath(x).lower() for x in listed + list(templates.values())}
        pattern = re.compile(rf"^{re.escape(doc_dir.lower())}/pages/page_?(\d+)/content\.xml$")
        orphans = sorted((int(m.group(1)), name) for name in pkg.names
                          if (m := pattern.match(name.lower())) and posixpath.normpath(name).lower() not in known)
        return listed + [name for _, name in orphans]

    def _resources(self, pkg: _Package, document: etree._Element,
                   doc_dir: str) -> tuple[dict[str, etree._Element], dict[str, str]]:
        """Composite graphic units and multimedia of the document's PublicRes/DocumentRes."""
        units: dict[str, etree._Element] = {}
        media: dict[str, str] = {}
        for name in ("PublicRes", "DocumentRes"):
            for el in _children(document, name):
                loc = (el.text or "").strip()
                if loc and pkg.has(_resolve(doc_dir, loc)):  # writers name parts they never write
                    u, m = self._units(pkg, _resolve(doc_dir, loc))
                    units.update(u)
                    media.update(m)
        return units, media

    def _units(self, pkg: _Package, loc: str) -> tuple[dict[str, etree._Element], dict[str, str]]:
        res = pkg.xml(loc)
        base = _resolve(posixpath.dirname(loc), res.get("BaseLoc", ""))
        units = {u.get("ID", ""): u for u in _children(res, "CompositeGraphicUnit")}
        media = {m.get("ID", ""): _resolve(base, _first_text(m, "MediaFile"))
                 for m in _children(res, "MultiMedia") if m.get("Type", "Image") == "Image"}
        return units, media
