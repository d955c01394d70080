"""Pages for the OCR evaluation (tests/test_ocr_eval.py), rendered at test time from real
law texts in the faces Debian ships (fonts-noto-cjk, fonts-arphic-uming, fonts-arphic-ukai,
fonts-wqy-zenhei), and the metrics they are scored by."""

from __future__ import annotations

import io
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tests import inputs

FACES = {  # name: (file, index of the simplified-Chinese face in the collection, Debian package)
    "Noto Serif CJK SC": ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", "SC", "fonts-noto-cjk"),
    "Noto Sans CJK SC": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "SC", "fonts-noto-cjk"),
    "AR PL UMing CN": ("/usr/share/fonts/truetype/arphic/uming.ttc", "CN", "fonts-arphic-uming"),
    "AR PL UKai CN": ("/usr/share/fonts/truetype/arphic/ukai.ttc", "CN", "fonts-arphic-ukai"),
    "WenQuanYi Zen Hei": ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "Zen Hei", "fonts-wqy-zenhei"),
}


def font(face: str, px: int) -> ImageFont.FreeTypeFont:
    path, want, _ = FACES[face]
    for i in range(12):
        try:
            f = ImageFont.truetype(path, px, index=i)
        except OSError:
            break
        if f.getname()[0].endswith(want):
            return f
    return ImageFont.truetype(path, px)


def missing_packages(faces: list[str]) -> list[str]:
    """The Debian packages of those faces that are not installed (`make test` installs
    them all)."""
    return sorted({FACES[f][2] for f in faces if not Path(FACES[f][0]).exists()})


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    image: Image.Image


def render(text: str, face: str = "Noto Serif CJK SC", pt: float = 12, dpi: int = 300,
           chars_per_line: int = 26, columns: int = 1, vertical: bool = False) -> Image.Image:
    """A page of `text` as a printer sets it: wrapped at `chars_per_line`, one or two
    columns, or 竖排 columns right to left."""
    px = round(pt * dpi / 72)
    f = font(face, px)
    lines = inputs.wrap(text, chars_per_line)
    margin, lead = dpi // 2, int(px * 1.7)
    gutter = px * 3
    if vertical:
        w, h = margin * 2 + lead * len(lines), margin * 2 + px * chars_per_line
    else:
        per_col = -(-len(lines) // columns)
        w = margin * 2 + columns * px * chars_per_line + (columns - 1) * gutter
        h = margin * 2 + lead * per_col
    page = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(page)
    for i, line in enumerate(lines):
        if vertical:
            x = w - margin - lead * (i + 1) + (lead - px) // 2
            for j, ch in enumerate(line):
                d.text((x, margin + j * px), ch, font=f, fill=(25, 25, 25))
        else:
            col, row = divmod(i, -(-len(lines) // columns))
            d.text((margin + col * (px * chars_per_line + gutter), margin + row * lead), line,
                   font=f, fill=(25, 25, 25))
    return page


# ---- degradations, as scanners and paper make them ------------------------------------------

def skew(page: Image.Image, degrees: float = 3.0) -> Image.Image:
    return page.rotate(degrees, Image.Resampling.BICUBIC, expand=True, fillcolor="white")


def blur(page: Image.Image, radius: float = 1.6) -> Image.Image:
    return page.filter(ImageFilter.GaussianBlur(radius))


def jpeg(page: Image.Image, quality: int = 20) -> Image.Image:
    buf = io.BytesIO()
    page.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def seal(page: Image.Image) -> Image.Image:
    out = page.copy()
    inputs._draw_seal(out, center=(int(out.width * 0.6), int(out.height * 0.5)),
                      radius=min(out.size) // 4)
    return out


def speckle(page: Image.Image, amount: float = 0.004, seed: int = 3) -> Image.Image:
    out = page.copy()
    pix = out.load()
    rnd = random.Random(seed)
    for _ in range(int(out.width * out.height * amount)):
        x, y = rnd.randrange(out.width), rnd.randrange(out.height)
        v = rnd.choice((0, 60, 255))
        pix[x, y] = (v, v, v)
    return out


def faded(page: Image.Image) -> Image.Image:
    """Ink worn to a light grey: black becomes ~(150, 150, 150)."""
    return page.point(lambda v: 150 + v * 105 // 255)


def yellowed(page: Image.Image) -> Image.Image:
    """Old paper: the white turns yellow-brown, with a darker stain across it."""
    r, g, b = page.split()
    paper = Image.merge("RGB", (r.point(lambda v: v * 235 // 255),
                                g.point(lambda v: v * 215 // 255),
                                b.point(lambda v: v * 165 // 255)))
    stain = Image.linear_gradient("L").resize(page.size).point(lambda v: 255 - v // 5)
    return Image.composite(paper, Image.new("RGB", page.size, (150, 120, 70)), stain)


# ---- metrics -----------------------------------------------------------------------------------

def errors(reference: str, ocr_text: str) -> tuple[int, int]:
    """(edit distance, reference length) after inputs.fold(): NFKC, one punctuation style,
    no whitespace (line breaks and the space after 第一条 are layout, not text)."""
    ref, hyp = inputs.fold(reference), inputs.fold(ocr_text)
    return inputs.levenshtein(ref, hyp), len(ref)


def _han(text: str) -> Counter:
    return Counter(c for c in text if "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf")


def han_f1(reference: str, ocr_text: str) -> float:
    """F1 of the multiset of Han characters: reading order does not count."""
    ref, hyp = _han(reference), _han(ocr_text)
    common = sum((ref & hyp).values())
    if not common:
        return 0.0
    p, r = common / sum(hyp.values()), common / sum(ref.values())
    return 2 * p * r / (p + r)


# ---- dense small print -----------------------------------------------------------------------

# Real pages nobody on this project made, with a text layer: a research report (body 8.5 px
# high when drawn at 72 dpi), a magazine spread scanned by its publisher (7.5 px), a table
# (8.3 px). Drawn at 72 dpi and saved as JPEG, they are small print as an archive scans it to
# save space; their text layer is the ground truth.
DENSE_REAL = [("pdf/mineru_test_rearch_report.pdf", 1), ("pdf/mineru_test_rearch_report.pdf", 4),
              ("pdf/mineru_complex_layout.pdf", 1), ("pdf/issue-914-xmp-data.pdf", 1),
              ("pdf/pdfplumber_issue-67-example.pdf", 4)]
DENSE_DPI = 72
DENSE_JPEG = 40


def dense_real(path: Path, number: int) -> tuple[str, Image.Image]:
    """(text layer, page drawn at DENSE_DPI and saved at JPEG quality DENSE_JPEG)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    try:
        page = doc[number - 1]
        text = page.get_textpage().get_text_range()
        image = page.render(scale=DENSE_DPI / 72).to_pil().convert("RGB")
    finally:
        doc.close()
    return text, jpeg(image, DENSE_JPEG)


def newspaper(text: str, face: str = "Noto Serif CJK SC", px: int = 8, columns: int = 7,
              chars_per_line: int = 16, headline: str = "", quality: int = 30) -> Image.Image:
    """A broadsheet page as a 150-200 dpi archive scan of it holds it: `columns` columns of
    `px`-high characters under a headline, rules between the columns, saved as JPEG."""
    f, head = font(face, px), font(face, px * 4)
    lead, gutter, margin = round(px * 1.45), px * 2, px * 4
    col_w = px * chars_per_line
    lines = inputs.wrap(text, chars_per_line)
    per_col = -(-len(lines) // columns)
    top = margin + (px * 6 if headline else 0)
    w = margin * 2 + columns * col_w + (columns - 1) * gutter
    h = top + lead * per_col + margin
    page = Image.new("RGB", (w, h), (244, 241, 232))
    d = ImageDraw.Draw(page)
    if headline:
        d.text((margin, margin), headline, font=head, fill=(20, 20, 20))
        d.line((margin, top - px, w - margin, top - px), fill=(40, 40, 40), width=2)
    for i, line in enumerate(lines):
        col, row = divmod(i, per_col)
        x = margin + col * (col_w + gutter)
        d.text((x, top + row * lead), line, font=f, fill=(30, 30, 30))
        if row == 0 and col:
            d.line((x - gutter // 2, top, x - gutter // 2, h - margin), fill=(90, 90, 90), width=1)
    return jpeg(page, quality)


# Newspaper pages rendered from law texts: (face, character px, columns, characters a line).
NEWSPAPERS = [("Noto Serif CJK SC", 8, 7, 14), ("AR PL UMing CN", 7, 6, 16),
              ("Noto Sans CJK SC", 9, 2, 40)]


def dense_cases(real: Path) -> list[Case]:
    """Dense small print: the real pages of DENSE_REAL (when `real`, ../shared/corpus/real,
    is here) and the rendered NEWSPAPERS."""
    out = []
    if real.exists():
        for name, number in DENSE_REAL:
            text, image = dense_real(real / name, number)
            out.append(Case(f"dense real: {Path(name).stem} p{number} ({DENSE_DPI} dpi, "
                            f"JPEG q{DENSE_JPEG})", text, image))
    for i, (face, px, columns, per_line) in enumerate(NEWSPAPERS):
        text = inputs.law_excerpt(120 + i, 2600)
        out.append(Case(f"dense render: {columns} columns of {px} px {face}, JPEG q30", text,
                        newspaper(text, face, px, columns, per_line, headline=text[:8])))
    return out
