"""Page cleaning before OCR: red ink removed (公章, 红头), skew measured, speckle removed,
the page binarised. Whether an engine gets the cleaned page is the engine's choice, made on
measurement (bench/RESULTS.md): tesseract reads the cleaned page much better, PP-OCR reads
the page as scanned better than a bilevel copy of it."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

RED_MARGIN = 60  # R above both G and B by this much: seal/letterhead ink, not text
# ---- page cleaning -------------------------------------------------------------------------
# numpy and Pillow's C, not per-pixel Python: these steps took 1.85 s of a page that
# tesseract reads in 1.6 s of CPU (Pillow `point` with a lambda that recomputed Otsu for
# each of 256 levels, 30 rotations of the thumbnail); now ~0.2 s. Both release the GIL, so
# one worker cleans while the other's tesseract runs.

def _red_mask(rgb: np.ndarray) -> np.ndarray:
    """Where R exceeds both G and B by RED_MARGIN (uint8 throughout: no 3×int16 copy)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return r > np.minimum(np.maximum(g, b), 255 - RED_MARGIN) + RED_MARGIN


def remove_red(image: Image.Image) -> Image.Image:
    """White out pixels where red dominates green and blue (公章, 红头, red 文号 lines).
    Black text printed over a seal stays dark in all channels, so it survives."""
    rgb = np.array(image.convert("RGB"))
    rgb[_red_mask(rgb)] = 255
    return Image.fromarray(rgb, "RGB")


def _gray_without_red(image: Image.Image) -> np.ndarray:
    """The page as 8-bit gray with red ink turned white; grey or bilevel scans as they are."""
    if image.mode in ("1", "L", "I;16", "I", "F"):
        return np.array(image.convert("L"))
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    gray = np.array(rgb.convert("L"))  # Pillow's ITU-R 601 luma, in C
    gray[_red_mask(np.asarray(rgb))] = 255
    return gray


def otsu_threshold(gray: Image.Image | np.ndarray) -> int:
    """The level that best splits ink from paper (pixels <= it are ink)."""
    values = np.asarray(gray, dtype=np.uint8)
    hist = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    weight_b = np.cumsum(hist)
    weight_f = weight_b[-1] - weight_b
    sum_b = np.cumsum(hist * levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        between = weight_b * weight_f * (sum_b / weight_b - (sum_b[-1] - sum_b) / weight_f) ** 2
    between[~np.isfinite(between)] = -1.0
    return int(np.argmax(between)) if between.max() > 0 else 127


def _thumbnail(gray: np.ndarray, size: int) -> np.ndarray:
    """Box-averaged copy no larger than `size` on its long side."""
    factor = max(1, -(-max(gray.shape) // size))
    return np.asarray(Image.fromarray(gray).reduce(factor)) if factor > 1 else gray


def estimate_skew(gray: Image.Image | np.ndarray, max_angle: float = 5.0) -> float:
    """The rotation (degrees, counter-clockwise as `Image.rotate` takes it) that makes text
    lines horizontal, by projection profile: when lines are level, the row profile
    alternates most sharply between ink and gap. Each candidate angle rotates the ink
    pixels' coordinates, not the image."""
    small = _thumbnail(np.asarray(gray), 700)  # 0.1° needs ~1 px over the width
    ys, xs = np.nonzero(small <= otsu_threshold(small))
    if len(ys) == 0:
        return 0.0
    h, w = small.shape
    xs = xs.astype(np.float64) - w / 2
    ys = ys.astype(np.float64) - h / 2
    n_rows = int(np.hypot(h, w)) + 2

    def score(a: float) -> float:
        t = np.radians(a)
        rows = (ys * np.cos(t) - xs * np.sin(t) + n_rows / 2).astype(np.intp)
        return float(np.bincount(rows, minlength=n_rows).astype(np.float64).var())

    coarse = [x / 2 for x in range(int(-max_angle * 2), int(max_angle * 2) + 1)]
    best = max(coarse, key=score)
    fine = [round(best + x / 10, 1) for x in range(-4, 5)]
    return max(fine, key=score)


def _profile_variance(ink: np.ndarray, axis: int, bin_px: int) -> float:
    """Variance of the ink profile along rows (axis=1) or columns (axis=0), in bins of
    `bin_px`: sharp when lines of text run along that direction, flat when they cross it."""
    profile = ink.mean(axis=axis)
    n = len(profile) // bin_px * bin_px
    if n == 0:
        return 0.0
    return float(profile[:n].reshape(-1, bin_px).mean(axis=1).var())


def looks_vertical(binary: Image.Image | np.ndarray) -> bool:
    """Vertical writing (竖排) puts the gaps between columns, so the column profile is the
    sharp one. Horizontal CJK also has faint column gaps (monospaced glyphs), hence the
    margin."""
    b = np.asarray(binary)
    return _vertical_ink(b <= otsu_threshold(b))


def _vertical_ink(ink: np.ndarray) -> bool:
    bin_px = max(1, -(-max(ink.shape) // 800))  # profiles as seen on an 800 px thumbnail
    return _profile_variance(ink, 0, bin_px) > 2.0 * _profile_variance(ink, 1, bin_px)


def _median_rows(gray: np.ndarray, every: int) -> np.ndarray:
    """The 3×3 median of every `every`-th row: enough of the smoothed page for its
    histogram, at a fraction of filtering all of it."""
    rows = np.arange(1, gray.shape[0] - 1, every)
    if len(rows) == 0:
        return gray
    strips = gray[np.stack([rows - 1, rows, rows + 1], axis=1).ravel()]
    return np.asarray(Image.fromarray(strips).filter(ImageFilter.MedianFilter(3)))[1::3]


def _majority_paper(paper: np.ndarray) -> np.ndarray:
    """3×3 majority vote, edges repeated as Pillow's filters repeat them."""
    padded = np.pad(paper.view(np.uint8), 1, mode="edge")
    rows = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]
    return rows[:-2] + rows[1:-1] + rows[2:] >= 5


def clean(image: Image.Image) -> tuple[Image.Image, float, bool]:
    """(bilevel page, deskew angle, vertical?) ready for tesseract."""
    gray = _gray_without_red(image)
    angle = estimate_skew(gray)
    # Despeckle and binarise: a 3×3 median then a threshold is the threshold then a 3×3
    # majority vote (a median of nine is above a level iff five of them are); the vote takes
    # 2 ms where the median took 60. The level is still Otsu's of the *median-smoothed*
    # page (on the unsmoothed one it comes out ~5 lower and small pages lost 1-2 points of
    # accuracy, measured), from every 8th row: within 1-2 levels of all rows' on 30 pages.
    level = otsu_threshold(_median_rows(gray, 8))
    binary = Image.fromarray(_majority_paper(gray > level))  # mode "1": paper white
    if abs(angle) >= 0.2:
        # The bilevel page, nearest neighbour: 10 ms. Rotating the gray page (bicubic, then
        # median and Otsu) took 100-150 ms and read no better: 96.7% vs 96.5% mean accuracy
        # over 11 sealed, skewed scans, page by page within ±3 points either way.
        binary = binary.rotate(angle, Image.Resampling.NEAREST, expand=True, fillcolor=1)
    return binary, angle, _vertical_ink(~np.asarray(binary))

