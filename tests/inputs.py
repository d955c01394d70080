"""Build realistic input files at test time, from the real corpus: scans with a red seal,
skew and speckle; text and image-only PDFs; GB18030/Big5/UTF-16 text; docx; OFD; HTML.

Nothing here is a fake of our code: these are the files an archive would hand us, made
on the fly so the repo ships no binaries."""

from __future__ import annotations

import io
import json
import lzma
import random
import subprocess
import unicodedata
import zipfile
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"  # what the suite needs, shipped compressed (tests/data/README.md)
SHARED = REPO.parent / "shared" / "corpus"  # the real hard cases, beside a checkout only
DPI = 300


# ---- source text -------------------------------------------------------------------------

def shared(relative: str) -> Path:
    """A path under ../shared/corpus (the real files other readers collected, the govcn
    pages), or skip the test that needs it: they are test material that may not be copied
    into the repository, so a bare clone does not have them (CI does)."""
    import pytest

    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"needs {path}: the shared corpus beside the checkout (absent in a bare clone; CI has it)")
    return path


@lru_cache(maxsize=1)
def laws() -> list[dict]:
    """The 300 real laws of ../shared/corpus/laws, as shipped in tests/data."""
    with lzma.open(DATA / "laws.jsonl.xz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def law(title: str) -> dict:
    return next(x for x in laws() if x["title"] == title)


def law_excerpt(index: int = 0, chars: int = 300, title: str | None = None) -> str:
    """About `chars` characters of a real law, cut at a line end, title first."""
    text = law(title)["text"] if title else laws()[index]["text"]
    out: list[str] = []
    for line in text.split("\n"):
        if sum(len(x) for x in out) >= chars:
            break
        out.append(line)
    return "\n".join(out)


def seed_speech() -> str:
    """The 2007 speech of the Jiamusi archives bureau (../shared/corpus/seed), as shipped."""
    with lzma.open(DATA / "seed-speech.txt.xz", "rt", encoding="utf-8") as f:
        return f.read()


# ---- scans -------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def cjk_font_path(prefer: str = "Serif") -> str:
    """A Noto CJK font from fonts-noto-cjk, found the way fontconfig would."""
    out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                         check=True).stdout
    files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    regular = [f for f in files if "Regular" in f] or files
    return next((f for f in regular if prefer in f), regular[0])


def cjk_font(px: int, traditional: bool = False) -> ImageFont.FreeTypeFont:
    path = cjk_font_path()
    want = "TC" if traditional else "SC"
    for i in range(10):
        font = ImageFont.truetype(path, px, index=i)
        if font.getname()[0].endswith(f" {want}"):
            return font
    return ImageFont.truetype(path, px)


def wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        while len(para) > width:
            lines.append(para[:width])
            para = para[width:]
        lines.append(para)
    return lines


def render_page(text: str, *, font_pt: float = 14, chars_per_line: int = 30,
                traditional: bool = False, seal: bool = False, letterhead: str | None = None,
                skew: float = 0.0, noise: float = 0.0, vertical: bool = False,
                seed: int = 7) -> Image.Image:
    """A page as a 300 dpi scanner would deliver it (RGB). Small pages: tests stay fast."""
    px = round(font_pt * DPI / 72)
    font = cjk_font(px, traditional)
    lines = wrap(text, chars_per_line)
    margin, lead = 150, int(px * 1.6)
    top = margin + (int(px * 2.5) if letterhead else 0)
    if vertical:
        w = margin * 2 + lead * len(lines)
        h = margin * 2 + px * chars_per_line
    else:
        w = margin * 2 + px * chars_per_line
        h = top + margin + lead * len(lines)
    page = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(page)
    if letterhead:
        lh = cjk_font(int(px * 1.6))
        tw = draw.textlength(letterhead, font=lh)
        draw.text(((w - tw) / 2, margin - px // 2), letterhead, font=lh, fill=(215, 25, 30))
        draw.line((margin, top - px // 2, w - margin, top - px // 2), fill=(215, 25, 30), width=6)
    for i, line in enumerate(lines):
        if vertical:  # columns right to left, characters top to bottom
            x = w - margin - lead * (i + 1) + (lead - px) // 2
            for j, ch in enumerate(line):
                draw.text((x, margin + j * px), ch, font=font, fill=(20, 20, 20))
        else:
            draw.text((margin, top + i * lead), line, font=font, fill=(20, 20, 20))
    if seal:
        _draw_seal(page, center=(int(w * 0.7), int(h * 0.55)), radius=min(w, h) // 5)
    rnd = random.Random(seed)
    if noise:
        pix = page.load()
        for _ in range(int(w * h * noise)):
            x, y = rnd.randrange(w), rnd.randrange(h)
            v = rnd.choice((0, 90, 255))
            pix[x, y] = (v, v, v)
    if skew:
        page = page.rotate(skew, Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    return page


def _draw_seal(page: Image.Image, center: tuple[int, int], radius: int) -> None:
    """A red 公章 stamped over the text: ring, star and arc text. Ink multiplies with what is
    under it (as on paper), so black text under the seal stays black."""
    layer = Image.new("RGB", page.size, "white")
    d = ImageDraw.Draw(layer)
    cx, cy = center
    red = (220, 30, 35)
    d.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=red,
              width=max(8, radius // 18))
    r = radius // 4
    star = [(cx + (r if k % 2 == 0 else r // 2.6) * _cos(90 + k * 36),
             cy - (r if k % 2 == 0 else r // 2.6) * _sin(90 + k * 36)) for k in range(10)]
    d.polygon(star, fill=red)
    f = cjk_font(radius // 4)
    for k, ch in enumerate("佳木斯市档案局"):
        a = 210 - k * 40
        d.text((cx + 0.72 * radius * _cos(a) - radius // 8,
                cy - 0.72 * radius * _sin(a) - radius // 8), ch, font=f, fill=red)
    page.paste(ImageChops.multiply(page, layer))


def _cos(deg: float) -> float:
    import math
    return math.cos(math.radians(deg))


def _sin(deg: float) -> float:
    import math
    return math.sin(math.radians(deg))


def save_tiff(path: Path, pages: list[Image.Image]) -> Path:
    pages[0].save(path, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw",
                  dpi=(DPI, DPI))
    return path


def image_pdf(path: Path, pages: list[Image.Image]) -> Path:
    """An image-only PDF, as a scanner's 'scan to PDF' writes it."""
    pages[0].save(path, "PDF", resolution=DPI, save_all=True, append_images=pages[1:])
    return path


# ---- born-digital PDFs (reportlab) -------------------------------------------------------

def _canvas(path: Path, **kw):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return canvas.Canvas(str(path), **kw)


def _draw_text(c, text: str, chars_per_line: int = 36) -> None:
    c.setFont("STSong-Light", 12)
    y = 800
    for line in wrap(text, chars_per_line):
        c.drawString(50, y, line)
        y -= 18


def text_pdf(path: Path, pages: list[str], *, title: str | None = None,
             user_password: str | None = None, owner_password: str | None = None) -> Path:
    """A born-digital PDF, one string per page; optionally encrypted."""
    kw = {}
    if user_password is not None or owner_password is not None:
        from reportlab.lib.pdfencrypt import StandardEncryption
        kw["encrypt"] = StandardEncryption(user_password or "", owner_password or "owner",
                                           strength=128)
    c = _canvas(path, **kw)
    if title:
        c.setTitle(title)
    for text in pages:
        _draw_text(c, text)
        c.showPage()
    c.save()
    return path


def mixed_pdf(path: Path, text_pages: dict[int, str], scans: dict[int, Image.Image],
              garbled: dict[int, str] | None = None) -> Path:
    """Pages by number (1-based): born-digital text, a scan image, or a scan image under an
    invisible text layer of `garbled` characters (a broken OCR layer / font without
    ToUnicode, as private-use characters)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    c = _canvas(path)
    garbled = garbled or {}
    if garbled:
        pdfmetrics.registerFont(TTFont("DejaVu", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    for n in range(1, len(text_pages) + len(scans) + 1):
        if n in text_pages:
            _draw_text(c, text_pages[n])
        else:
            img = scans[n]
            w, h = img.width * 72 / DPI, img.height * 72 / DPI
            c.setPageSize((w, h))
            c.drawImage(ImageReader(img), 0, 0, w, h)
            if n in garbled:
                t = c.beginText(20, h - 40)
                t.setTextRenderMode(3)  # invisible, like an OCR layer
                t.setFont("DejaVu", 10)
                for line in wrap(garbled[n], 40):
                    t.textLine(line)
                c.drawText(t)
        c.showPage()
        c.setPageSize((595.27, 841.89))
    c.save()
    return path


# ---- text files, Word, OFD, HTML ---------------------------------------------------------

def encoded_text(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def to_traditional(text: str) -> str:
    import opencc
    return opencc.OpenCC("s2tw").convert(text)


def docx_file(path: Path, title: str, paragraphs: list[str], table: list[list[str]] | None = None,
              after_table: list[str] | None = None) -> Path:
    import docx
    d = docx.Document()
    d.core_properties.title = title
    for p in paragraphs:
        d.add_paragraph(p)
    if table:
        t = d.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for k, cell in enumerate(row):
                t.cell(r, k).text = cell
    for p in after_table or []:
        d.add_paragraph(p)
    d.save(str(path))
    return path


_OFD_NS = "http://www.ofdspec.org/2016"


def ofd_file(path: Path, pages: list[list[str]], title: str = "", shuffle: bool = True,
             template_line: str | None = None) -> Path:
    """A minimal valid OFD: one TextObject per line (Boundary in mm, TextCode inside), written
    in shuffled order as real writers do, plus an optional template page with a header."""
    rnd = random.Random(3)

    def content(lines: list[str], template: bool = False) -> str:
        objs = []
        for i, line in enumerate(lines):
            # Split long lines in two objects so reading order within a line is exercised.
            halves = [(0, line[: len(line) // 2]), (len(line) // 2, line[len(line) // 2:])]
            for k, (offset, part) in enumerate(halves):
                if not part:
                    continue
                x, y = 25 + offset * 5.6, 40 + i * 9
                objs.append(
                    f'<ofd:TextObject ID="{100 + i * 2 + k}" Boundary="{x:.2f} {y:.2f} '
                    f'{len(part) * 5.6:.2f} 7" Font="3" Size="5.6">'
                    f'<ofd:TextCode X="0" Y="5.6">{part}</ofd:TextCode></ofd:TextObject>')
        if shuffle:
            rnd.shuffle(objs)
        tpl = '' if template or not template_line else '<ofd:Template TemplateID="9"/>'
        return (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{_OFD_NS}">'
                f'{tpl}<ofd:Content><ofd:Layer ID="2">{"".join(objs)}</ofd:Layer></ofd:Content>'
                f'</ofd:Page>')

    ofd_xml = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{_OFD_NS}" '
               f'Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>'
               f'a1b2c3</ofd:DocID><ofd:Title>{title}</ofd:Title><ofd:CreationDate>'
               f'2021-06-10</ofd:CreationDate></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml'
               f'</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
    page_refs = "".join(f'<ofd:Page ID="{10 + i}" BaseLoc="Pages/Page_{i}/Content.xml"/>'
                        for i in range(len(pages)))
    tpl_ref = ('<ofd:TemplatePage ID="9" BaseLoc="Tpls/Tpl_0/Content.xml"/>'
               if template_line else "")
    document = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{_OFD_NS}">'
                f'<ofd:CommonData><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox>{tpl_ref}'
                f'<ofd:MaxUnitID>999</ofd:MaxUnitID></ofd:CommonData><ofd:Pages>{page_refs}'
                f'</ofd:Pages></ofd:Document>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", ofd_xml)
        z.writestr("Doc_0/Document.xml", document)
        for i, lines in enumerate(pages):
            z.writestr(f"Doc_0/Pages/Page_{i}/Content.xml", content(lines))
        if template_line:
            # The template's text sits above the page body (y < 40).
            tpl = content([template_line], template=True).replace('Boundary="25.00 40.00',
                                                                   'Boundary="25.00 20.00')
            tpl = tpl.replace(f'Boundary="{25 + (len(template_line) // 2) * 5.6:.2f} 40.00',
                              f'Boundary="{25 + (len(template_line) // 2) * 5.6:.2f} 20.00')
            z.writestr("Doc_0/Tpls/Tpl_0/Content.xml", tpl)
    return path


def gov_html(path: Path, title: str, body_lines: list[str], pubdate: str = "2021-06-10 15:30",
             encoding: str = "gb18030", declared: str = "gb2312") -> Path:
    """A page as saved from a government disclosure site (TRS-style), GBK-encoded."""
    nav = "".join(f'<li><a href="/col/{i}">{name}</a></li>' for i, name in
                  enumerate(["首页", "政务公开", "政策文件", "政策解读", "互动交流", "办事服务"]))
    paras = "".join(f'<p style="text-indent:2em">{line}</p>' for line in body_lines)
    html = f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset={declared}">
<title>{title}_政策文件_佳木斯市人民政府</title>
<meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{pubdate}">
<script>var _hmt = _hmt || []; document.write("统计代码");</script>
<style>.nav li {{ float: left }}</style></head>
<body>
<div class="header"><div class="logo">佳木斯市人民政府</div><div class="search">
<input type="text" value="请输入关键字"><button>搜索</button></div></div>
<div class="nav"><ul>{nav}</ul></div>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a></div>
<div class="main">
 <div class="side"><h3>相关链接</h3><ul><li><a href="/a">国务院</a></li>
  <li><a href="/b">黑龙江省人民政府</a></li></ul></div>
 <div class="article">
  <h1 class="title">{title}</h1>
  <div class="info">发布时间：{pubdate[:10]} 来源：市政府办公室 【字体：大 中 小】</div>
  <div class="TRS_Editor" id="zoom">{paras}</div>
  <div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a> 【打印本页】【关闭窗口】</div>
 </div>
</div>
<div class="footer"><p>主办：佳木斯市人民政府办公室 版权所有 黑ICP备05000000号</p>
<p>网站标识码：2308000001 黑公网安备 23080202000001号</p></div>
<script src="/js/stat.js"></script>
</body></html>"""
    path.write_bytes(html.encode(encoding))
    return path


# ---- measuring OCR -----------------------------------------------------------------------

_PUNCT_FOLD = str.maketrans({"。": ".", "、": ",", "“": '"', "”": '"', "‘": "'", "’": "'",
                             "〔": "[", "〕": "]", "【": "[", "】": "]", "《": "<", "》": ">",
                             "—": "-", "－": "-"})


def fold(text: str) -> str:
    """Text as compared for accuracy: NFKC (punctuation width), one punctuation style, no
    whitespace (line breaks are layout, not content)."""
    t = unicodedata.normalize("NFKC", text).translate(_PUNCT_FOLD)
    return "".join(t.split())


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(reference: str, ocr_text: str) -> float:
    """1 − (edit distance / reference length), after fold(): the usual OCR character accuracy."""
    ref, hyp = fold(reference), fold(ocr_text)
    return 1 - levenshtein(ref, hyp) / max(len(ref), 1)


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()
