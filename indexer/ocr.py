"""OCR of page images with tesseract: clean the page, read it once, remember the answer.

Scans of 公文 carry red seals and letterheads across the text, a degree or two of skew,
and scanner speckle; each costs accuracy, so pages are cleaned first (red removed,
deskewed, despeckled, binarised). Tesseract runs one single-threaded process per core
(`OMP_THREAD_LIMIT=1`: its own OpenMP threads fight each other when several run at once),
and every result is cached on disk by the page's pixels, so a re-run of the indexer never
OCRs the same page twice."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from itertools import count
from pathlib import Path

import pytesseract
from PIL import Image, ImageChops, ImageFilter

from analysis.normalize import looks_traditional
from engine.model import Page
from indexer.extract import ExtractionError

log = logging.getLogger(__name__)

LOW_CONFIDENCE = 60  # mean word confidence below this marks a page for human review
DOCUMENT_PSM = 6  # one uniform block: default psm 3 took 49 s and garbled an A4 page, psm 6 6 s
VERTICAL_PSM = 5  # a single block of vertically aligned text
PAGE_TIMEOUT_S = 300
# chi_sim reads simplified pages at 89-92 mean confidence and a traditional page at 81
# (measured); above this a page is simplified and the script check's extra pass is skipped.
SCRIPT_CHECK_BELOW = 88
RED_MARGIN = 60  # R above both G and B by this much: seal/letterhead ink, not text
PREPROCESS_VERSION = 4  # bump when cleaning changes, so cached results are not reused


@dataclass(frozen=True)
class OcrResult:
    text: str
    confidence: float | None  # mean word confidence 0-100; None when no word was found
    languages: str
    psm: int
    angle: float = 0.0  # deskew rotation applied, degrees


def is_low_confidence(page: Page) -> bool:
    return page.ocr and (page.confidence is None or page.confidence < LOW_CONFIDENCE)


# ---- page cleaning -------------------------------------------------------------------------

def remove_red(image: Image.Image) -> Image.Image:
    """White out pixels where red dominates green and blue (公章, 红头, red 文号 lines).
    Black text printed over a seal stays dark in all channels, so it survives."""
    rgb = image.convert("RGB")
    r, g, b = rgb.split()
    dominance = ImageChops.darker(ImageChops.subtract(r, g), ImageChops.subtract(r, b))
    mask = dominance.point(lambda v: 255 if v > RED_MARGIN else 0)
    return Image.composite(Image.new("RGB", rgb.size, "white"), rgb, mask)


def otsu_threshold(gray: Image.Image) -> int:
    hist = gray.histogram()[:256]
    total = sum(hist)
    sum_all = sum(i * h for i, h in enumerate(hist))
    sum_b = weight_b = 0.0
    best, best_var = 127, -1.0
    for t in range(256):
        weight_b += hist[t]
        if weight_b == 0:
            continue
        weight_f = total - weight_b
        if weight_f == 0:
            break
        sum_b += t * hist[t]
        mean_b, mean_f = sum_b / weight_b, (sum_all - sum_b) / weight_f
        between = weight_b * weight_f * (mean_b - mean_f) ** 2
        if between > best_var:
            best, best_var = t, between
    return best


def _profile_variance(ink: Image.Image, axis: str) -> float:
    """Variance of the row (axis='rows') or column means of an ink=255 image: sharp when
    lines of text run along that axis, flat when they cross it."""
    w, h = ink.size
    strip = ink.resize((1, h) if axis == "rows" else (w, 1), Image.Resampling.BOX)
    values = list(strip.get_flattened_data() if hasattr(strip, "get_flattened_data")
                  else strip.getdata())
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def estimate_skew(gray: Image.Image, max_angle: float = 5.0) -> float:
    """The rotation (degrees) that makes text lines horizontal, by projection profile:
    when lines are level, the row profile alternates most sharply between ink and gap."""
    small = gray.copy()
    small.thumbnail((700, 700))  # angle to 0.1° needs ~1 px over the width, not full res
    ink = small.point(lambda v: 255 if v < otsu_threshold(small) else 0)

    def score(a: float) -> float:
        return _profile_variance(ink.rotate(a, Image.Resampling.BILINEAR, fillcolor=0), "rows")

    coarse = [x / 2 for x in range(int(-max_angle * 2), int(max_angle * 2) + 1)]
    best = max(coarse, key=score)
    fine = [best + x / 10 for x in range(-4, 5)]
    return max(fine, key=score)


def looks_vertical(gray: Image.Image) -> bool:
    """Vertical writing (竖排) puts the gaps between columns, so the column profile is the
    sharp one. Horizontal CJK also has faint column gaps (monospaced glyphs), hence the
    margin."""
    small = gray.copy()
    small.thumbnail((800, 800))
    ink = small.point(lambda v: 255 if v < otsu_threshold(small) else 0)
    return _profile_variance(ink, "cols") > 2.0 * _profile_variance(ink, "rows")


def clean(image: Image.Image) -> tuple[Image.Image, float, bool]:
    """(binarised page, deskew angle, vertical?) ready for tesseract."""
    gray = remove_red(image).convert("L")
    angle = estimate_skew(gray)
    if abs(angle) >= 0.2:
        gray = gray.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    gray = gray.filter(ImageFilter.MedianFilter(3))  # scanner speckle
    t = otsu_threshold(gray)
    binary = gray.point(lambda v: 255 if v > t else 0)
    return binary, angle, looks_vertical(binary)


# ---- tesseract -----------------------------------------------------------------------------

def _is_cjk(c: str) -> bool:
    return "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef"


def text_from_data(data: dict) -> tuple[str, float | None]:
    """Lines of text and mean word confidence from image_to_data. Tesseract puts spaces
    between CJK glyphs; they are dropped, spaces between Latin words kept."""
    lines: dict[tuple[int, int, int], list[str]] = {}
    confs: list[float] = []
    for i, word in enumerate(data["text"]):
        word = (word or "").strip()
        conf = float(data["conf"][i])
        if not word or conf < 0:
            continue
        confs.append(conf)
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append(word)
    out = []
    for words in lines.values():
        line = words[0]
        for w in words[1:]:
            line += w if _is_cjk(line[-1]) or _is_cjk(w[0]) else " " + w
        out.append(line)
    return "\n".join(out), (round(sum(confs) / len(confs), 1) if confs else None)


def _latin_garbage(text: str) -> bool:
    """A Chinese page with a line read as Latin letters ('LF, RPANEN AAG, MEMRAM'): with
    chi_sim+eng tesseract sometimes takes a whole CJK line for English. Measured on one
    such page: 60% accuracy with eng in the mix, 94% without."""
    chars = [c for c in text if not c.isspace()]
    cjk = sum(1 for c in chars if _is_cjk(c))
    if not chars or cjk / len(chars) < 0.5:
        return False
    for line in text.splitlines():
        letters = sum(1 for c in line if c.isascii() and c.isalpha())
        if letters >= 6 and letters > 0.5 * len(line.replace(" ", "")):
            return True
    return False


class Ocr:
    """OCR service handed to extractors: `ocr_images(images)` → pages, in order."""

    def __init__(self, cache_dir: Path, languages: str = "chi_sim+eng", workers: int = 0,
                 psm: int = DOCUMENT_PSM):
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.languages = languages
        self.workers = workers or os.cpu_count() or 1
        self.psm = psm
        # Set before any tesseract starts; child processes inherit it. setdefault: an
        # operator who wants OpenMP threads can still say so.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self.installed = set(pytesseract.get_languages(config=""))
        missing = [lang for lang in languages.split("+") if lang not in self.installed]
        if missing:
            raise RuntimeError(f"tesseract language data not installed: {', '.join(missing)}")
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.hits = 0  # cache hits/misses, for the progress report and the benchmark
        self.misses = 0

    # -- public --------------------------------------------------------------------------

    def ocr_images(self, images: Iterable[Image.Image], languages: str | None = None, *,
                   numbers: Iterable[int] | None = None, source: str = "") -> list[Page]:
        """OCR pages on the worker pool, at most two per worker in memory at a time, so a
        300-page scan rendered lazily by the caller never sits in RAM all at once."""
        langs = languages or self.languages
        nums = iter(numbers) if numbers is not None else count(1)
        pool = self._get_pool()
        pending: set[Future[Page]] = set()
        done_pages: list[Page] = []
        try:
            for image in images:
                n = next(nums)
                while len(pending) >= 2 * self.workers:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    done_pages.extend(f.result() for f in finished)
                pending.add(pool.submit(self._page, image, n, langs, source))
            for f in wait(pending).done:
                done_pages.append(f.result())
        except BaseException:
            for f in pending:
                f.cancel()
            raise
        return sorted(done_pages, key=lambda p: p.number)

    def ocr_image(self, image: Image.Image, languages: str | None = None) -> OcrResult:
        """One page, cached; in the calling thread."""
        langs = languages or self.languages
        key = self.cache_key(image, langs)
        cached = self._cache_get(key)
        if cached is not None:
            with self._lock:
                self.hits += 1
            return cached
        with self._lock:
            self.misses += 1
        result = self._recognise(image, langs)
        self._cache_put(key, result)
        return result

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "Ocr":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------

    def _get_pool(self) -> ThreadPoolExecutor:
        # Threads, not processes: the work is in the tesseract child process, and Pillow
        # releases the GIL while cleaning the image.
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="ocr")
        return self._pool

    def _page(self, image: Image.Image, number: int, langs: str, source: str) -> Page:
        where = f"{source + ': ' if source else ''}第{number}页 / page {number}"
        limit = Image.MAX_IMAGE_PIXELS
        if limit and image.width * image.height > limit:
            raise ExtractionError(f"{where}: 图像过大 / image of {image.width}×{image.height} "
                                  f"pixels exceeds the decompression-bomb limit")
        try:
            result = self.ocr_image(image, langs)
        except pytesseract.TesseractError as e:
            raise ExtractionError(f"{where}: OCR 失败 / tesseract failed: {e.message}") from e
        except RuntimeError as e:  # pytesseract's timeout
            raise ExtractionError(f"{where}: OCR 超时 / tesseract timed out ({e})") from e
        return Page(number=number, text=result.text, ocr=True, confidence=result.confidence)

    def _tesseract(self, image: Image.Image, langs: str, psm: int) -> tuple[str, float | None]:
        data = pytesseract.image_to_data(
            image, lang=langs, config=f"--psm {psm}", output_type=pytesseract.Output.DICT,
            timeout=PAGE_TIMEOUT_S,
        )
        return text_from_data(data)

    def _recognise(self, image: Image.Image, langs: str) -> OcrResult:
        binary, angle, vertical = clean(image)
        psm = self.psm
        if vertical:
            psm = VERTICAL_PSM
            if "chi_sim_vert" in self.installed and "chi_sim" in langs.split("+"):
                langs = langs.replace("chi_sim", "chi_sim_vert", 1)
        text, conf = self._tesseract(binary, langs, psm)
        without_eng = "+".join(p for p in langs.split("+") if p != "eng")
        if without_eng != langs and without_eng and _latin_garbage(text):
            text2, conf2 = self._tesseract(binary, without_eng, psm)
            if (conf2 or 0) > (conf or 0):
                text, conf, langs = text2, conf2, without_eng
        tra = self._traditional_languages(langs)
        if tra and (conf or 0) < SCRIPT_CHECK_BELOW and self._reads_traditional(binary, tra,
                                                                                psm, conf):
            text2, conf2 = self._tesseract(binary, tra, psm)
            if (conf2 or 0) >= (conf or 0):
                text, conf, langs = text2, conf2, tra
        return OcrResult(text, conf, langs, psm, round(angle, 2))

    def _traditional_languages(self, langs: str) -> str | None:
        """chi_sim → chi_tra (keeping eng etc.), or None when no switch applies. chi_tra
        alone, not chi_tra+chi_sim: measured on a traditional page it is as accurate (97.6%)
        at half the time, and chi_sim in the mix drags simplified guesses in."""
        parts = langs.split("+")
        base = [p for p in parts if p in ("chi_sim", "chi_sim_vert")]
        if not base or any(p.startswith("chi_tra") for p in parts):
            return None
        new = "chi_tra_vert" if base[0] == "chi_sim_vert" else "chi_tra"
        if new not in self.installed:
            return None
        return "+".join(new if p == base[0] else p for p in parts if p not in base[1:])

    def _reads_traditional(self, binary: Image.Image, tra: str, psm: int,
                           sim_conf: float | None) -> bool:
        """Script check on the top third of the page. chi_sim maps traditional glyphs to
        simplified ones (a 繁體 page read as 59% accurate *simplified* text), so its output
        cannot tell; chi_tra on a strip reads traditional with higher confidence than chi_sim
        managed on the page, and simplified with much lower (72 vs 89 measured)."""
        w, h = binary.size
        strip = binary.crop((0, 0, w, max(h // 3, min(h, 400)))) if psm != VERTICAL_PSM \
            else binary.crop((w * 2 // 3, 0, w, h))  # vertical text starts at the right
        text, conf = self._tesseract(strip, tra, psm)
        return looks_traditional(text) and (conf or 0) > (sim_conf or 0)

    def cache_key(self, image: Image.Image, langs: str) -> str:
        h = hashlib.sha256()
        h.update(f"{image.mode}:{image.width}x{image.height}:".encode())
        h.update(image.tobytes())
        h.update(f"|{langs}|psm={self.psm}|v{PREPROCESS_VERSION}".encode())
        return h.hexdigest()

    def _cache_path(self, key: str) -> Path:
        return self.cache_dir / key[:2] / f"{key}.json"

    def _cache_get(self, key: str) -> OcrResult | None:
        path = self._cache_path(key)
        try:
            return OcrResult(**json.loads(path.read_text("utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as e:  # a torn or stale entry: redo the page
            log.warning("OCR cache entry %s unreadable (%s); OCR again", path.name, e)
            return None

    def _cache_put(self, key: str, result: OcrResult) -> None:
        path = self._cache_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash (kill -9) never leaves half a JSON file behind.
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(result), f, ensure_ascii=False)
        os.replace(tmp, path)
