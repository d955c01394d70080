"""Build the demo sample of chayue 查阅 from the shared corpus.

Usage:
    .venv/bin/python sample/build.py [CORPUS_DIR] [--no-verify] [--ocr]

CORPUS_DIR defaults to ``../shared/corpus`` (relative to the repository root) and
must hold ``laws/laws.jsonl`` and ``seed/*.txt``.  Everything is written into the
folder of this script (``sample/``); the old ``current/`` and ``archive/`` folders are
replaced.  The output is deterministic: fixed seeds for the scanner noise, fixed dates
in PDF / DOCX / ZIP metadata (the document's own date), no wall-clock time anywhere.
Re-running the script with the same corpus and the same library versions gives
byte-identical files.

Build-only dependencies (the ``dev`` extra): reportlab, img2pdf, numpy, pillow,
python-docx, opencc; verification uses pdfminer.six and (with ``--ocr``) the
``tesseract`` command line with ``chi_sim``.

What is written
---------------
``current/`` 现行文件: laws as born-digital text PDFs (reportlab, CID font
STSong-Light, A4, 28 characters x 30 lines, page number ``— n —`` at the bottom),
GB18030 / UTF-8 / Big5 plain text, one Word ``.docx``.

``archive/`` 开放档案: "scanned" items without a text layer: the 2007 speech of the
Jiamusi archives bureau as an image-only PDF (200 dpi grayscale JPEG pages), and law
excerpts as JPEG (colour, with a red seal), PNG, multi-page TIFF (CCITT G4, 300 dpi)
and an image-only PDF (CCITT G4).  Pages are rendered with Noto Serif CJK SC, skewed
by at most 1.5 degrees, with paper tone, blur and noise.

``manifest.csv``: one row per file, the catalogue a librarian would export.

Catalogue choices (manifest columns)
------------------------------------
For laws (collection ``current``):

* ``date`` (成文日期) = ``version_date``: the date on which *this text* was adopted
  (for an amended law the date of the amendment that produced this version).  That
  is what a librarian catalogues as the date of the item in hand.
* ``published`` (发布日期) = ``publish_date`` (公布日期).  ``effective_date`` (施行日期)
  is not a manifest column; it is written into the PDF subject line only.
* ``agency`` = ``issuing_body``; ``category``, ``doc_type``, ``validity`` as in the
  corpus; ``access`` = ``open``; ``doc_number`` left empty (the corpus has no
  主席令 numbers and we do not invent them); ``id`` = the corpus id.
* The Big5 file is in traditional script (OpenCC ``s2tw``) and so is its title.

For archive items (collection ``archive``):

* ``id`` = ``archival_code`` (档号, DA/T 22 form 全宗号-年度-保管期限-件号).
* ``published`` and ``validity`` are empty (they describe current documents).
* A law excerpt's title gets ``（节选）`` when the scan holds only its first page(s).
* ILLUSTRATIVE VALUES: the fonds numbers, archival codes, retention periods, access
  levels and the 文号 ``佳档发〔2007〕15号`` of the speech are made up for the demo.
  They are plausible, not real catalogue data of the Jiamusi archives.  The speech
  text and its date (2007-09-05, the 20th anniversary of the Archives Law) come from
  the seed file; the law excerpts are real law texts.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
SERIF = FONT_DIR / "NotoSerifCJK-Regular.ttc"
SANS_BOLD = FONT_DIR / "NotoSansCJK-Bold.ttc"
SC_INDEX = 2  # Noto ... CJK SC inside the .ttc collections

MANIFEST_COLUMNS = [
    "file", "id", "title", "doc_number", "agency", "date", "published", "collection",
    "category", "doc_type", "validity", "access", "fonds", "archival_code", "retention", "level",
]

# --------------------------------------------------------------------------------------
# What goes into the sample
# --------------------------------------------------------------------------------------

# (corpus id, format).  Formats: pdf, gb18030, utf8, utf8bom, big5, docx.
CURRENT = [
    ("a442eba8f254", "pdf"),      # 中华人民共和国档案法 (required)
    ("e47f0130677c", "pdf"),      # 中华人民共和国宪法 (long, ~20 pages)
    ("1e0f9bdb1789", "pdf"),      # 宪法修正案（2018年）  doc_type 宪法
    ("6b774412c8ed", "pdf"),      # 国籍法 (全国人民代表大会, 1980)
    ("7dc24bb14036", "pdf"),      # 反分裂国家法
    ("c7e07eab018a", "pdf"),      # 国务院组织法
    ("f14a3bbd18ec", "pdf"),      # 电子签名法  民法商法
    ("b3e32d0b7a83", "pdf"),      # 信托法
    ("839b8ee31159", "pdf"),      # 红十字标志使用办法 (中央军事委员会)
    ("d706782fe27d", "pdf"),      # 公益事业捐赠法  社会法
    ("ca22c473033d", "pdf"),      # 献血法
    ("74c844f59cb1", "pdf"),      # 户口登记条例 (1958)
    ("f06ac4e668e0", "pdf"),      # 人民调解法
    ("de6142b062cb", "pdf"),      # 仲裁法 2017  历史版本
    ("29beec36d3b0", "pdf"),      # 仲裁法 2025  现行有效
    ("3d47c5c092b7", "pdf"),      # 监狱法 2012  历史版本
    ("ed23f82f5b9b", "pdf"),      # 乡镇企业法  已废止
    ("4fa69671e3b4", "pdf"),      # 清洁生产促进法  已废止
    ("609c5150b430", "pdf"),      # 刑法修正案（十二）  修正案
    ("21d3a59af945", "pdf"),      # 刑法第二百六十六条的解释  立法解释
    ("6ead2ae64767", "pdf"),      # 香港基本法第一百零四条的解释  立法解释
    ("54e13f8c60f6", "pdf"),      # 关于修改《食品安全法》的决定  修改决定
    ("de19995b1f74", "pdf"),      # 契税法
    ("ba2766895fa9", "pdf"),      # 外商投资法
    ("82df8e9b959d", "pdf"),      # 反电信网络诈骗法  刑法
    ("a0d4c8097152", "pdf"),      # 行政处罚法
    ("92f7812e5a54", "gb18030"),  # 城市维护建设税法
    ("6c944bf40c93", "gb18030"),  # 母婴保健法
    ("542ef9e85786", "gb18030"),  # 环境影响评价法  已废止
    ("16ac18cd1b5d", "utf8"),     # 个人独资企业法
    ("bfb21dc5d646", "utf8bom"),  # 归侨侨眷权益保护法
    ("a267be21e93b", "utf8"),     # 国籍法在香港特别行政区实施的解释
    ("5317d3ce5c6c", "big5"),     # 台湾同胞投资保护法, traditional script
    ("efe634687791", "docx"),     # 国家通用语言文字法
]


@dataclass
class ArchiveItem:
    kind: str            # seed_pdf, jpeg_seal, png, tiff, ccitt_pdf
    source: str          # "seed" or a corpus law id
    fonds: str
    archival_code: str
    retention: str
    access: str
    ext: str
    max_pages: int = 1
    fill: float = 1.0    # fraction of the last page's lines to use (room for a seal)
    doc_number: str = ""
    title: str = ""
    agency: str = ""
    date: str = ""
    category: str = ""
    doc_type: str = ""
    seed: int = 0


# ILLUSTRATIVE catalogue values (see module docstring).
ARCHIVE = [
    ArchiveItem("seed_pdf", "seed", "J012 佳木斯市档案局", "J012-2007-永久-0001", "永久",
                "open", "pdf", max_pages=9, doc_number="佳档发〔2007〕15号",
                title="为构建和谐佳木斯市提供档案服务", agency="佳木斯市档案局",
                date="2007-09-05", category="档案管理", doc_type="讲话", seed=2007),
    ArchiveItem("jpeg_seal", "a442eba8f254", "J012 佳木斯市档案局", "J012-2020-长期-0004",
                "长期", "open", "jpg", max_pages=1, fill=0.62, seed=2020),
    ArchiveItem("png", "74c844f59cb1", "J001 佳木斯市人民委员会", "J001-1958-永久-0012",
                "永久", "reading_room", "png", max_pages=1, seed=1958),
    ArchiveItem("tiff", "1a9cda91ec7e", "J012 佳木斯市档案局", "J012-2023-永久-0009",
                "永久", "restricted", "tif", max_pages=2, seed=2023),
    ArchiveItem("ccitt_pdf", "cff4af3b3c67", "J003 佳木斯市人民政府办公室",
                "J003-1998-30年-0021", "30年", "open", "pdf", max_pages=2, seed=1998),
]

# A fonds arranged by 案卷 (DA/T 13 档号 全宗号-目录号-案卷号-件号), three levels above its
# items: 全宗 J005 → 目录 001 → 案卷 0001 / 0002 → 件. Each item is one chapter of the
# Archives Law as a plain-text transcript. The 案卷 rows (层级 案卷, no file) give the
# access of their items: 案卷 0002 is reading-room only, and its item 002 says open itself.
# ILLUSTRATIVE catalogue values, as above.
FONDS_J005 = "J005 佳木斯市档案馆"
FONDS_J005_LAW = "a442eba8f254"
FONDS_J005_UNITS = [
    ("J005-001-0001", "《中华人民共和国档案法》学习材料（一）", "open"),
    ("J005-001-0002", "《中华人民共和国档案法》学习材料（二）", "reading_room"),
]
# (档号, chapter number, access given by the item itself or "" to inherit the 案卷's)
FONDS_J005_ITEMS = [
    ("J005-001-0001-001", 1, ""), ("J005-001-0001-002", 2, ""), ("J005-001-0001-003", 3, ""),
    ("J005-001-0002-001", 4, ""), ("J005-001-0002-002", 5, "open"),
]

SEAL_TEXT = "佳木斯市档案局"

# --------------------------------------------------------------------------------------
# Layout: the same line breaking for PDF and for scans, in points, top-left origin
# --------------------------------------------------------------------------------------

A4_W, A4_H = 595.2756, 841.8898

NO_LINE_START = set("，。、；：？！）》」』”’…—·%,.;:?!)]】〕")
NO_LINE_END = set("（《「『“‘([【〔")


@dataclass
class Geometry:
    body_size: float      # pt
    leading: float        # pt between baselines
    width: float          # pt of the text block
    top: float            # pt from page top to first baseline
    lines: int            # body lines per page
    title_size: float
    title_leading: float
    footer: float         # pt from page top to the page-number baseline

    @property
    def left(self) -> float:
        return (A4_W - self.width) / 2


PDF_GEOM = Geometry(body_size=14, leading=22, width=392, top=96, lines=30,
                    title_size=20, title_leading=30, footer=A4_H - 46)
SCAN_GEOM = Geometry(body_size=12, leading=20, width=432, top=84, lines=34,
                     title_size=18, title_leading=28, footer=A4_H - 40)


@dataclass
class Line:
    text: str
    x: float
    y: float
    size: float
    kind: str  # title, heading, body, folio


@dataclass
class Page:
    lines: list[Line] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(ln.text for ln in self.lines if ln.kind != "folio")


def wrap(text: str, width: float, measure) -> list[str]:
    """Greedy line breaking by measured width, with simple 禁则 (kinsoku)."""
    out: list[str] = []
    cur = ""
    for ch in text:
        if cur and measure(cur + ch) > width and ch not in NO_LINE_START:
            # do not end a line with an opening bracket
            carry = ""
            while cur and cur[-1] in NO_LINE_END:
                carry = cur[-1] + carry
                cur = cur[:-1]
            # do not split a number such as 1.8 or 2000 across lines
            if ch.isascii() and ch.isalnum():
                m = re.search(r"[0-9A-Za-z.]+$", cur)
                if m and len(m.group()) < 10 and m.start() > 0:
                    carry = m.group() + carry
                    cur = cur[:m.start()]
            out.append(cur)
            cur = carry + ch
        else:
            cur += ch  # closing punctuation may hang past the margin
    if cur:
        out.append(cur)
    # no orphan of one or two characters on a paragraph's last line (孤字): move
    # characters down from the line above until the last line has at least four
    while len(out) >= 2 and len(out[-2]) > 8 and (
            len(out[-1]) < 4 or out[-1][0] in NO_LINE_START):
        ch = out[-2][-1]
        out[-2] = out[-2][:-1]
        out[-1] = ch + out[-1]
        while out[-2] and out[-2][-1] in NO_LINE_END:
            out[-1] = out[-2][-1] + out[-1]
            out[-2] = out[-2][:-1]
    return out


HEADING_RE = re.compile(r"^第[一二三四五六七八九十百零〇]+[编章节]\s")


def blocks_from_law(text: str) -> list[tuple[str, str]]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    blocks = [("title", lines[0])]
    for ln in lines[1:]:
        blocks.append(("heading" if HEADING_RE.match(ln) and len(ln) < 30 else "body", ln))
    return blocks


def layout(blocks, geom: Geometry, measure, folio=True, max_pages=None) -> list[Page]:
    """Lay out (kind, text) blocks into pages.  ``measure(text, size)`` -> width in pt."""
    pages: list[Page] = []
    page = Page()
    y = geom.top
    bottom = geom.top + (geom.lines - 1) * geom.leading + 0.01

    def new_page():
        nonlocal page, y
        pages.append(page)
        page = Page()
        y = geom.top

    for kind, text in blocks:
        if kind == "title":
            size, lead = geom.title_size, geom.title_leading
            for part in wrap(text, geom.width - 2 * size, lambda s: measure(s, size)):
                w = measure(part, size)
                page.lines.append(Line(part, (A4_W - w) / 2, y, size, "title"))
                y += lead
            y += geom.leading * 0.5
            continue
        size = geom.body_size
        if kind == "heading":
            if y > bottom - geom.leading:  # keep a heading with the next line
                new_page()
            w = measure(text, size)
            page.lines.append(Line(text, (A4_W - w) / 2, y, size, "heading"))
            y += geom.leading
            continue
        indent = 2 * size
        parts = wrap(text, geom.width - indent, lambda s: measure(s, size))
        # re-wrap after the first line with full width
        first, rest = parts[0], "".join(parts[1:])
        parts = [first] + (wrap(rest, geom.width, lambda s: measure(s, size)) if rest else [])
        for i, part in enumerate(parts):
            if y > bottom:
                new_page()
            x = geom.left + (indent if i == 0 else 0)
            page.lines.append(Line(part, x, y, size, "body"))
            y += geom.leading
    if page.lines:
        pages.append(page)
    if max_pages:
        pages = pages[:max_pages]
    if folio:
        for n, p in enumerate(pages, 1):
            label = f"— {n} —"
            w = measure(label, 10.5)
            p.lines.append(Line(label, (A4_W - w) / 2, geom.footer, 10.5, "folio"))
    return pages


def truncate_last_page(pages: list[Page], fill: float, geom: Geometry) -> list[Page]:
    """Keep only ``fill`` of the last page's body lines (leaves room for a seal)."""
    last = pages[-1]
    limit = geom.top + fill * geom.lines * geom.leading
    last.lines = [ln for ln in last.lines if ln.y <= limit or ln.kind == "folio"]
    return pages


# --------------------------------------------------------------------------------------
# Born-digital PDF (reportlab)
# --------------------------------------------------------------------------------------

def epoch(date: str) -> int:
    d = dt.datetime.strptime(date, "%Y-%m-%d").replace(hour=9, tzinfo=dt.UTC)
    return int(d.timestamp())


def write_text_pdf(path: Path, law: dict) -> list[Page]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))

    def measure(s, size):
        return pdfmetrics.stringWidth(s, "STSong-Light", size)

    pages = layout(blocks_from_law(law["text"]), PDF_GEOM, measure)
    # Fixed timestamps: reportlab reads SOURCE_DATE_EPOCH when the canvas is made.
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch(law["publish_date"]))
    try:
        c = canvas.Canvas(str(path), pagesize=(A4_W, A4_H), invariant=1, pageCompression=1)
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]
    c.setTitle(law["title"])
    c.setAuthor(law["issuing_body"] or "")
    c.setSubject(f"{law['doc_type']}；{law['category']}；公布 {law['publish_date']}；"
                 f"施行 {law['effective_date']}；{law['validity']}")
    c.setKeywords(f"{law['category']} {law['doc_type']}")
    c.setCreator("chayue sample/build.py")
    c.setProducer("ReportLab")
    for page in pages:
        for ln in page.lines:
            c.setFont("STSong-Light", ln.size)
            c.drawString(ln.x, A4_H - ln.y, ln.text)
        c.showPage()
    c.save()
    return pages


# --------------------------------------------------------------------------------------
# Plain text and Word
# --------------------------------------------------------------------------------------

def write_text(path: Path, text: str, encoding: str, newline: str, bom: bool = False):
    body = text.rstrip("\n") + "\n"
    body = body.replace("\n", newline)
    data = body.encode(encoding)  # strict: fail loudly on an unencodable character
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)


def big5_text(text: str) -> str:
    import opencc

    t = opencc.OpenCC("s2tw").convert(text)
    # Big5 has no 〇 (U+3007); Taiwanese Big5 documents use ○ (U+25CB).
    return t.replace("〇", "○").replace("\u2009", " ")


def normalise_zip(path: Path, when: str):
    """Rewrite a zip (docx) with fixed timestamps and a fixed order, for determinism."""
    y, m, d = (int(x) for x in when.split("-"))
    stamp = (max(y, 1980), m, d, 9, 0, 0)
    with zipfile.ZipFile(path) as zin:
        items = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    # [Content_Types].xml first, as Word writes it
    items.sort(key=lambda kv: (kv[0] != "[Content_Types].xml", kv[0]))
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in items:
            zi = zipfile.ZipInfo(name, date_time=stamp)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zout.writestr(zi, data, compresslevel=9)


def write_docx(path: Path, law: dict):
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    def set_font(run_or_style, east_asian: str, latin: str, size: float):
        run_or_style.font.name = latin
        run_or_style.font.size = Pt(size)
        rpr = run_or_style.element.get_or_add_rPr()
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is None:
            rfonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(rfonts)
        rfonts.set(qn("w:eastAsia"), east_asian)

    d = docx.Document()
    sec = d.sections[0]
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.top_margin, sec.bottom_margin = Cm(3.7), Cm(3.5)
    sec.left_margin, sec.right_margin = Cm(2.8), Cm(2.6)
    normal = d.styles["Normal"]
    set_font(normal, "仿宋_GB2312", "Times New Roman", 16)  # GB/T 9704: 3号仿宋
    normal.paragraph_format.line_spacing = Pt(28)

    blocks = blocks_from_law(law["text"])
    for kind, text in blocks:
        p = d.add_paragraph()
        run = p.add_run(text)
        if kind == "title":
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            set_font(run, "方正小标宋简体", "Times New Roman", 22)
            p.paragraph_format.space_after = Pt(16)
        elif kind == "heading":
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            set_font(run, "黑体", "Times New Roman", 16)
        else:
            p.paragraph_format.first_line_indent = Pt(32)
    cp = d.core_properties
    when = dt.datetime.strptime(law["publish_date"], "%Y-%m-%d").replace(hour=9)
    cp.title = law["title"]
    cp.author = law["issuing_body"] or ""
    cp.last_modified_by = law["issuing_body"] or ""
    cp.subject = law["doc_type"]
    cp.category = law["category"]
    cp.keywords = f"{law['category']} {law['doc_type']} {law['validity']}"
    cp.comments = f"公布 {law['publish_date']}；施行 {law['effective_date']}"
    cp.created = when
    cp.modified = when
    cp.last_printed = when
    cp.revision = 1
    d.save(str(path))
    normalise_zip(path, law["publish_date"])


# --------------------------------------------------------------------------------------
# Scans
# --------------------------------------------------------------------------------------

def pil_font(path: Path, px: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(path), px, index=SC_INDEX)


class ScanRenderer:
    def __init__(self, dpi: int):
        self.dpi = dpi
        self.scale = dpi / 72.0
        self._fonts = {}

    def font(self, size_pt: float):
        px = round(size_pt * self.scale)
        if px not in self._fonts:
            self._fonts[px] = pil_font(SERIF, px)
        return self._fonts[px]

    def measure(self, s: str, size_pt: float) -> float:
        return self.font(size_pt).getlength(s) / self.scale

    def render(self, page: Page, ink: int = 28):
        """Clean page: white background, dark text, mode L."""
        from PIL import Image, ImageDraw

        w, h = round(A4_W * self.scale), round(A4_H * self.scale)
        img = Image.new("L", (w, h), 255)
        draw = ImageDraw.Draw(img)
        for ln in page.lines:
            draw.text((ln.x * self.scale, ln.y * self.scale), ln.text, fill=ink,
                      font=self.font(ln.size), anchor="ls")
        return img


def make_seal(diameter_px: int, rng, angle: float):
    """Red official seal: ring, five-point star, agency name along the upper arc."""
    from PIL import Image, ImageDraw

    import numpy as np

    s = diameter_px
    red = (205, 28, 36)
    layer = Image.new("L", (s, s), 0)  # alpha mask; colour applied when compositing
    d = ImageDraw.Draw(layer)
    ring = max(4, s // 45)
    d.ellipse([ring // 2, ring // 2, s - ring // 2 - 1, s - ring // 2 - 1], outline=255,
              width=ring)
    cx = cy = s / 2
    r_star = s * 0.16
    pts = []
    for k in range(10):
        r = r_star if k % 2 == 0 else r_star * 0.382
        a = -math.pi / 2 + k * math.pi / 5
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    d.polygon(pts, fill=255)
    font = pil_font(SANS_BOLD, int(s * 0.15))
    n = len(SEAL_TEXT)
    span = 220.0  # degrees of arc used by the text
    r_text = s / 2 - ring - s * 0.1
    for i, ch in enumerate(SEAL_TEXT):
        a_deg = -90 - span / 2 + span * (i + 0.5) / n  # clockwise from left to right
        a = math.radians(a_deg)
        glyph = Image.new("L", (int(s * 0.2), int(s * 0.2)), 0)
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, fill=255,
                                   font=font, anchor="mm")
        glyph = glyph.rotate(-(a_deg + 90), resample=Image.BICUBIC)
        gx = cx + r_text * math.cos(a) - glyph.width / 2
        gy = cy + r_text * math.sin(a) - glyph.height / 2
        layer.paste(255, (int(gx), int(gy)), glyph)
    layer = layer.rotate(angle, resample=Image.BICUBIC)
    # uneven ink: multiply the mask with smooth noise
    m = np.asarray(layer, dtype=np.float32) / 255.0
    coarse = rng.uniform(0.55, 1.0, size=(8, 8)).astype(np.float32)
    smooth = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize(
        (s, s), Image.BICUBIC), dtype=np.float32) / 255.0
    grain = rng.uniform(0.8, 1.0, size=m.shape).astype(np.float32)
    alpha = np.clip(m * smooth * grain, 0, 1) * 0.9
    return alpha, red


def scanify(img, rng, angle: float, noise: float = 5.0, rgb_seal=None):
    """Paper tone, blur, skew, noise, specks.  Returns a numpy array (H,W) or (H,W,3)."""
    from PIL import Image, ImageFilter

    import numpy as np

    h, w = img.height, img.width
    img = img.filter(ImageFilter.GaussianBlur(0.55 * img.width / 1654))
    ink = np.asarray(img, dtype=np.float32) / 255.0  # 1 = paper, 0 = ink
    coarse = rng.uniform(-7, 5, size=(6, 4)).astype(np.float32)
    tone = np.asarray(Image.fromarray(((coarse + 8) * 16).astype(np.uint8)).resize(
        (w, h), Image.BICUBIC), dtype=np.float32) / 16 - 8
    paper = 240.0 + tone
    if rgb_seal is None:
        arr = paper * ink
    else:
        alpha, (r, g, b), (ox, oy) = rgb_seal
        paper_rgb = np.stack([paper, paper * 0.985, paper * 0.95], axis=-1)  # warm paper
        arr = paper_rgb * ink[..., None]
        sh, sw = alpha.shape
        region = arr[oy:oy + sh, ox:ox + sw]
        a = alpha[..., None]
        colour = np.array([r, g, b], dtype=np.float32) / 255.0
        region *= (1 - a * (1 - colour))  # multiply blend: ink over text stays dark
    # skew the whole sheet (the scanner sees it at an angle)
    fill = float(np.median(paper))
    if arr.ndim == 2:
        pil = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
        pil = pil.rotate(angle, resample=Image.BICUBIC, fillcolor=int(fill))
    else:
        pil = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
        pil = pil.rotate(angle, resample=Image.BICUBIC,
                         fillcolor=(int(fill), int(fill * 0.985), int(fill * 0.95)))
    arr = np.asarray(pil, dtype=np.float32)
    # sensor noise, a darker scanner edge, a few dust specks
    n = rng.normal(0, noise, size=arr.shape[:2]).astype(np.float32)
    arr = arr + (n[..., None] if arr.ndim == 3 else n)
    edge = np.linspace(1.0, 0.0, 28, dtype=np.float32) ** 2 * 60
    if arr.ndim == 3:
        arr[:, :28] -= edge[None, :, None]
    else:
        arr[:, :28] -= edge[None, :]
    for _ in range(int(rng.integers(15, 40))):
        y, x = int(rng.integers(0, h - 6)), int(rng.integers(0, w - 6))
        k = int(rng.integers(1, 4))
        arr[y:y + k, x:x + k] -= rng.uniform(80, 180)
    return np.clip(arr, 0, 255).astype(np.uint8)


def to_bilevel(arr, threshold=150):
    from PIL import Image

    return Image.fromarray(arr, "L").point(lambda v: 255 if v > threshold else 0, "1")


def write_image_pdf(path: Path, images: list[bytes], meta: dict):
    import img2pdf

    when = dt.datetime.strptime(meta["date"], "%Y-%m-%d").replace(
        hour=9, tzinfo=dt.UTC)
    data = img2pdf.convert(
        images, title=meta["title"], author=meta["agency"], creator="chayue sample/build.py",
        producer="img2pdf", creationdate=when, moddate=when,
        subject=meta.get("archival_code", ""), engine=img2pdf.Engine.internal)
    path.write_bytes(data)


def jpeg_bytes(pil, quality: int, dpi: int) -> bytes:
    buf = io.BytesIO()
    pil.save(buf, "JPEG", quality=quality, optimize=True, dpi=(dpi, dpi), subsampling=2)
    return buf.getvalue()


def g4_tiff_bytes(pil1, dpi: int) -> bytes:
    buf = io.BytesIO()
    pil1.save(buf, "TIFF", compression="group4", dpi=(dpi, dpi), strip_size=2**31 - 1)
    return buf.getvalue()


def build_archive_item(item: ArchiveItem, laws: dict, seed_text: str, out: Path):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(item.seed)
    dpi = {"tiff": 300, "png": 150}.get(item.kind, 200)
    r = ScanRenderer(dpi)
    if item.source == "seed":
        lines = [ln.strip() for ln in seed_text.splitlines() if ln.strip()]
        blocks = [("title", lines[0])] + [("body", ln) for ln in lines[1:]]
    else:
        law = laws[item.source]
        blocks = blocks_from_law(law["text"])
        item.title = item.title or law["title"]
        item.agency = item.agency or (law["issuing_body"] or "")
        item.date = item.date or law["version_date"]
        item.category = item.category or law["category"]
        item.doc_type = item.doc_type or law["doc_type"]
    full = layout(blocks, SCAN_GEOM, r.measure)
    pages = layout(blocks, SCAN_GEOM, r.measure, max_pages=item.max_pages)
    if item.fill < 1.0:
        pages = truncate_last_page(pages, item.fill, SCAN_GEOM)
    if sum(len(p.lines) for p in pages) < sum(len(p.lines) for p in full):
        item.title += "（节选）"  # the scan holds only the first page(s)
    angles = [float(rng.uniform(-1.5, 1.5)) for _ in pages]
    path = out / f"{item.archival_code}.{item.ext}"
    meta = {"title": item.title, "agency": item.agency, "date": item.date,
            "archival_code": item.archival_code}

    if item.kind == "seed_pdf":
        jpgs = []
        for p, a in zip(pages, angles):
            arr = scanify(r.render(p), rng, a, noise=4.0)
            jpgs.append(jpeg_bytes(Image.fromarray(arr, "L"), 55, dpi))
        write_image_pdf(path, jpgs, meta)
    elif item.kind == "jpeg_seal":
        page = pages[0]
        clean = r.render(page)
        diameter = round(42 / 25.4 * dpi)  # 42 mm, the usual size of an agency seal
        alpha, red = make_seal(diameter, rng, angle=float(rng.uniform(-20, 20)))
        last_y = max(ln.y for ln in page.lines if ln.kind != "folio")
        ox = round((SCAN_GEOM.left + SCAN_GEOM.width) * r.scale - diameter * 1.05)
        oy = round(last_y * r.scale + 0.25 * diameter)
        arr = scanify(clean, rng, angles[0], noise=4.0, rgb_seal=(alpha, red, (ox, oy)))
        Image.fromarray(arr, "RGB").save(path, "JPEG", quality=72, optimize=True,
                                         dpi=(dpi, dpi), subsampling=2)
    elif item.kind == "png":
        arr = scanify(r.render(pages[0], ink=40), rng, angles[0], noise=3.0)
        # 16 grey levels keeps the PNG small and still looks like a greyscale scan
        q = (arr.astype(np.uint16) // 16 * 17).astype(np.uint8)
        Image.fromarray(q, "L").save(path, "PNG", optimize=True, dpi=(dpi, dpi))
    elif item.kind == "tiff":
        frames = [to_bilevel(scanify(r.render(p), rng, a, noise=6.0))
                  for p, a in zip(pages, angles)]
        frames[0].save(path, "TIFF", compression="group4", dpi=(dpi, dpi), save_all=True,
                       append_images=frames[1:])
    elif item.kind == "ccitt_pdf":
        tifs = [g4_tiff_bytes(to_bilevel(scanify(r.render(p), rng, a, noise=6.0)), dpi)
                for p, a in zip(pages, angles)]
        write_image_pdf(path, tifs, meta)
    else:
        raise ValueError(item.kind)
    return path, pages, dpi


# --------------------------------------------------------------------------------------
# Main build
# --------------------------------------------------------------------------------------

def build_fonds_j005(law: dict, out: Path, truth: dict) -> list[dict]:
    """The 案卷-arranged sample fonds: one UTF-8 transcript per chapter of the law, and the
    manifest rows of its two 案卷 and five items."""
    chapters = re.split(r"\n(?=第[一二三四五六七八九十]+章 )", law["text"])[1:]
    rows: list[dict] = []
    for code, title, access in FONDS_J005_UNITS:
        rows.append({"id": code, "title": title, "collection": "archive", "access": access,
                     "fonds": FONDS_J005, "archival_code": code, "retention": "永久", "level": "案卷"})
    for code, chapter, access in FONDS_J005_ITEMS:
        text = chapters[chapter - 1].strip()
        heading = text.splitlines()[0].replace(" ", "")  # 第一章总则: a title without spaces
        title = f"中华人民共和国档案法{heading}"
        rel = f"archive/{code}.txt"
        write_text(out / f"{code}.txt", f"{title}\n{text}\n", "utf-8", "\n")
        truth[rel] = {"kind": "txt", "encoding": "utf-8", "text": f"{title}\n{text}\n"}
        rows.append({"file": rel, "id": code, "title": title, "agency": law["issuing_body"],
                     "date": law["version_date"], "collection": "archive", "category": "档案管理",
                     "doc_type": "法律", "access": access, "fonds": FONDS_J005, "archival_code": code,
                     "retention": "永久", "level": "件"})
    return rows


def file_name(law: dict, ext: str, used: set[str]) -> str:
    name = law["title"]
    if name in used:
        name = f"{name}（{law['version_date'][:4]}年）"
    used.add(name)
    return f"{name}.{ext}"


def build(corpus: Path, out: Path) -> tuple[list[dict], dict]:
    laws = {}
    with open(corpus / "laws" / "laws.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            laws[r["id"]] = r
    seeds = sorted((corpus / "seed").glob("*.txt"))
    if not seeds:
        raise SystemExit(f"no seed/*.txt in {corpus}")
    seed_text = seeds[0].read_text(encoding="utf-8")

    for sub in ("current", "archive"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)

    rows: list[dict] = []
    truth: dict[str, dict] = {}  # file -> {"pages": [...], "kind": ...} for verification
    used: set[str] = set()
    # A title may occur twice (two versions): name the older one with its year.
    order = sorted(CURRENT, key=lambda t: laws[t[0]]["version_date"], reverse=True)
    names = {}
    for lid, fmt in order:
        ext = {"pdf": "pdf", "docx": "docx"}.get(fmt, "txt")
        names[lid] = file_name(laws[lid], ext, used)
    for lid, fmt in CURRENT:
        law = laws[lid]
        rel = f"current/{names[lid]}"
        path = out / rel
        title = law["title"]
        if fmt == "pdf":
            pages = write_text_pdf(path, law)
            truth[rel] = {"kind": "pdf", "text": law["text"], "pages": len(pages)}
        elif fmt == "gb18030":
            write_text(path, law["text"], "gb18030", "\r\n")
            truth[rel] = {"kind": "txt", "encoding": "gb18030", "text": law["text"]}
        elif fmt in ("utf8", "utf8bom"):
            write_text(path, law["text"], "utf-8", "\r\n" if fmt == "utf8bom" else "\n",
                       bom=fmt == "utf8bom")
            truth[rel] = {"kind": "txt", "encoding": "utf-8-sig", "text": law["text"]}
        elif fmt == "big5":
            t = big5_text(law["text"])
            title = t.splitlines()[0].strip()
            write_text(path, t, "big5", "\r\n")
            truth[rel] = {"kind": "txt", "encoding": "big5", "text": t}
        elif fmt == "docx":
            write_docx(path, law)
            truth[rel] = {"kind": "docx", "text": law["text"]}
        else:
            raise ValueError(fmt)
        rows.append({
            "file": rel, "id": lid, "title": title, "doc_number": "",
            "agency": law["issuing_body"] or "", "date": law["version_date"],
            "published": law["publish_date"], "collection": "current",
            "category": law["category"] or "", "doc_type": law["doc_type"] or "",
            "validity": law["validity"] or "", "access": "open",
            "fonds": "", "archival_code": "", "retention": "",
        })

    for item in ARCHIVE:
        path, pages, dpi = build_archive_item(item, laws, seed_text, out / "archive")
        rel = f"archive/{path.name}"
        truth[rel] = {"kind": "scan", "pages": [p.text() for p in pages], "dpi": dpi}
        rows.append({
            "file": rel, "id": item.archival_code, "title": item.title,
            "doc_number": item.doc_number, "agency": item.agency, "date": item.date,
            "published": "", "collection": "archive", "category": item.category,
            "doc_type": item.doc_type, "validity": "", "access": item.access,
            "fonds": item.fonds, "archival_code": item.archival_code,
            "retention": item.retention,
        })

    rows += build_fonds_j005(laws[FONDS_J005_LAW], out / "archive", truth)

    with open(out / "manifest.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return rows, truth


# --------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------

FOLIO_RE = re.compile(r"—\s*\d+\s*—")


def squash(s: str) -> str:
    s = unicodedata.normalize("NFKC", s)
    return re.sub(r"\s+", "", s)


def char_accuracy(ocr: str, ref: str) -> float:
    """1 - Levenshtein(ocr, ref) / len(ref), on text without whitespace."""
    a, b = squash(ocr), squash(ref)
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return 1 - prev[-1] / max(1, len(b))


def verify(out: Path, rows: list[dict], truth: dict, ocr: bool) -> bool:
    from pdfminer.high_level import extract_text

    ok = True
    total = 0
    for p in sorted(out.rglob("*")):
        if p.is_file():
            total += p.stat().st_size
            if p.stat().st_size > 2 * 1024 * 1024:
                print(f"FAIL {p.relative_to(out)} is over 2 MB")
                ok = False
    print(f"total size {total / 1e6:.2f} MB in {len(rows)} documents")
    for row in rows:
        rel = row["file"]
        t = truth[rel]
        path = out / rel
        if t["kind"] == "pdf":
            got = FOLIO_RE.sub("", extract_text(str(path)))
            same = squash(got) == squash(t["text"])
            print(f"{'ok  ' if same else 'FAIL'} pdf text  {rel} ({t['pages']} pages)")
            ok &= same
        elif t["kind"] == "txt":
            got = path.read_bytes().decode(t["encoding"]).replace("\r\n", "\n")
            same = got.strip() == t["text"].strip()
            print(f"{'ok  ' if same else 'FAIL'} {t['encoding']:<9} {rel}")
            ok &= same
        elif t["kind"] == "docx":
            import docx

            got = "\n".join(par.text for par in docx.Document(str(path)).paragraphs)
            same = squash(got) == squash(t["text"])
            print(f"{'ok  ' if same else 'FAIL'} docx      {rel}")
            ok &= same
        elif t["kind"] == "scan":
            if path.suffix == ".pdf":
                got = extract_text(str(path)).strip()
                empty = got == ""
                print(f"{'ok  ' if empty else 'FAIL'} no text layer  {rel} "
                      f"({len(t['pages'])} pages)")
                ok &= empty
            else:
                print(f"ok   image     {rel} ({len(t['pages'])} pages)")
    if ocr:
        ok &= ocr_check(out, rows, truth)
    return ok


def ocr_check(out: Path, rows: list[dict], truth: dict) -> bool:
    """OCR every scanned page with the tesseract CLI and print the character accuracy."""
    from PIL import Image

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for row in rows:
            rel = row["file"]
            t = truth[rel]
            if t["kind"] != "scan":
                continue
            path = out / rel
            if path.suffix == ".pdf":
                subprocess.run(["pdftoppm", "-r", "300", "-gray", "-png", str(path),
                                f"{tmp}/pg"], check=True)
                imgs = sorted(Path(tmp).glob("pg*.png"))
            else:
                im = Image.open(path)
                imgs = []
                for k in range(getattr(im, "n_frames", 1)):
                    im.seek(k)
                    f = Path(tmp) / f"fr{k}.png"
                    im.convert("L").save(f)
                    imgs.append(f)
            for k, (img, ref) in enumerate(zip(imgs, t["pages"]), 1):
                res = subprocess.run(["tesseract", str(img), "-", "-l", "chi_sim",
                                      "--psm", "6"], capture_output=True, text=True)
                acc = char_accuracy(res.stdout, ref)
                print(f"ocr  {acc:6.1%}  {rel} page {k}")
                ok &= acc > 0.85
            for f in Path(tmp).iterdir():
                f.unlink()
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--ocr", action="store_true", help="also OCR every scanned page")
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    if not corpus.is_absolute() and not corpus.exists():
        corpus = REPO / args.corpus
    out = Path(args.out)
    rows, truth = build(corpus, out)
    print(f"wrote {len(rows)} documents to {out}")
    if args.no_verify:
        return 0
    return 0 if verify(out, rows, truth, args.ocr) else 1


if __name__ == "__main__":
    sys.exit(main())
