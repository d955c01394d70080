"""OCR of page images with tesseract: clean the page, read it once, remember the answer.

Scans of 公文 carry red seals and letterheads across the text, a degree or two of skew,
and scanner speckle; each costs accuracy, so pages are cleaned first (red removed,
deskewed, despeckled, binarised). Each worker thread keeps its own engine of the system's
libtesseract, in a child process so that a crash in tesseract fails one page and not the
indexer, with the models loaded once (`OMP_THREAD_LIMIT=1`: tesseract's own OpenMP threads
fight each other when several engines run at once), and every result is cached on disk by
the page's pixels, so a re-run of the indexer never OCRs the same page twice."""

from __future__ import annotations

import ctypes.util
import functools
import hashlib
import json
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from itertools import count
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from analysis.normalize import looks_traditional
from engine.model import Page
from indexer.extract import ExtractionError

log = logging.getLogger(__name__)

LOW_CONFIDENCE = 60  # mean word confidence below this marks a page for human review
DOCUMENT_PSM = 6  # one uniform block: default psm 3 took 49 s and garbled an A4 page, psm 6 6 s
VERTICAL_PSM = 5  # a single block of vertically aligned text
PAGE_TIMEOUT_S = 300
MIN_REREAD_PX = 12  # smaller line crops are noise, and tesseract can crash on them
# chi_sim reads simplified pages at 86.6-92 mean confidence, traditional ones at 70-83.3 with
# 10-30% of words below 60 (measured; see Ocr._script_in_doubt). A page under either limit
# gets the script check's extra pass; others are simplified and skip it.
SCRIPT_CHECK_BELOW = 85
SCRIPT_CHECK_UNSURE_WORDS = 0.08
RED_MARGIN = 60  # R above both G and B by this much: seal/letterhead ink, not text
PREPROCESS_VERSION = 9  # bump when cleaning changes, so cached results are not reused


class OcrFailed(RuntimeError):
    """Tesseract could not read an image (no models for the language, or out of time)."""


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


# ---- tesseract ----------------------------------------------------------------------------
# The system's libtesseract through its C API (capi.h), the same library the `tesseract`
# command runs, so pages read exactly as they did through it. A `tesseract` process per page
# reloaded the models each time (~0.2 s of CPU for chi_sim+eng, ~0.1 s more per line
# re-read) and went through a PNG file both ways; an engine per worker thread loads them
# once and takes the page's bits through a pipe. Each engine lives in a child process of its
# own, because tesseract does crash on real scans (SIGFPE on a line of the sample's sealed
# JPEG) and hang on some (a blank 4000×3 strip at psm 7 spins past its deadline): in process
# that killed or stalled the indexer, and on the next run the same file did it again. Now
# the child dies or is ended, the page fails with what happened named, and the next page
# gets a new engine.

# The child's program is indexer/tesseract_child.py: the standard library and libtesseract,
# nothing of ours, so it starts in ~20 ms (importing this module takes 1-2 s of CPU).
_ENGINE_PROGRAM = Path(__file__).with_name("tesseract_child.py")
_DONE, _NO_LANGUAGE, _OUT_OF_TIME = 0, 1, 2  # reply statuses, as tesseract_child.py sends them
_SPARE_S = 60  # past the page's deadline, how long a silent engine is waited for


@functools.cache
def _libtesseract() -> str:
    """The library's file name, found once here rather than by each engine."""
    name = ctypes.util.find_library("tesseract")
    if name is None:
        raise RuntimeError("libtesseract not found: install tesseract-ocr")
    return name


class _Engine:
    """One tesseract engine with its models loaded, in a child process; not thread-safe, so
    one per thread."""

    def __init__(self, langs: str):
        self.langs = langs
        # One OpenMP thread: the workers are the parallelism (an operator who sets
        # OMP_THREAD_LIMIT still has it). stderr: its notes ("Image too small to scale!!" on a
        # speck) would litter the progress display.
        env = {**os.environ, "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1")}
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(_ENGINE_PROGRAM), _libtesseract(), langs],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        try:
            status, payload = self._reply(PAGE_TIMEOUT_S + _SPARE_S, "while loading its models")
        except OcrFailed:
            self.close()
            raise
        if status != _DONE:
            self.close()
            raise OcrFailed(f"tesseract could not load the language data for {langs}")
        datapath, version = payload.split(b"\0")
        self.datapath = Path(datapath.decode())
        self.version = version.decode()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def tsv(self, image: Image.Image, psm: int) -> str:
        """Tesseract's TSV of a bilevel image, from its packed bits (no PNG file)."""
        bits = image.convert("1").tobytes()  # 1 = white, MSB first: as SetImage takes it
        head = struct.pack("<4i", image.width, image.height, psm, int(PAGE_TIMEOUT_S * 1000))
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(head + bits)
            self.process.stdin.flush()
        except BrokenPipeError:  # dead before it could take the page
            raise self._crashed("on this page") from None
        status, payload = self._reply(PAGE_TIMEOUT_S + _SPARE_S, "on this page")
        if status == _OUT_OF_TIME:
            raise OcrFailed(f"tesseract gave up on a {image.width}×{image.height} image "
                            f"(time limit {PAGE_TIMEOUT_S} s)")
        return payload.decode("utf-8")

    def close(self) -> None:
        """End the child: EOF on its input, and reaped, so its CPU time is counted and no
        process stays behind."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass  # already dead: nothing was left to tell it
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def _reply(self, timeout_s: float, doing: str) -> tuple[int, bytes]:
        """The child's answer: (status, payload)."""
        assert self.process.stdout is not None
        out = self.process.stdout
        ready, _, _ = select.select([out], [], [], timeout_s)
        if not ready:  # stuck where tesseract's own deadline is not checked
            self.process.kill()
            self.process.wait()
            raise OcrFailed(f"tesseract 无响应 / tesseract did not answer {doing} within "
                            f"{timeout_s:.0f} s; its process was ended")
        head = out.read(5)
        if len(head) < 5:
            raise self._crashed(doing)
        status, size = struct.unpack("<BI", head)
        payload = out.read(size)
        if len(payload) < size:
            raise self._crashed(doing)
        return status, payload

    def _crashed(self, doing: str) -> OcrFailed:
        """The error for a child that is gone (its pipe at EOF), with the signal that ended
        it: it is reaped here, so it is no longer `alive` and never goes back to the pool."""
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # its pipe closed but it lingers: finish it
            self.process.kill()
            code = self.process.wait()
        if code < 0:
            try:
                how = f"signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"signal {-code}"
        else:
            how = f"exit status {code}"
        return OcrFailed(f"tesseract 进程崩溃 / tesseract crashed {doing} ({how})")


def _is_cjk(c: str) -> bool:
    return "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef"


@dataclass
class _Line:
    """One line as tesseract read it: its words' text and confidence, and where it is."""
    words: list[str]
    confs: list[float]
    box: tuple[int, int, int, int]  # left, top, right, bottom

    @property
    def text(self) -> str:
        """Tesseract puts spaces between CJK glyphs; they are dropped, spaces between Latin
        words kept."""
        line = self.words[0]
        for w in self.words[1:]:
            line += w if _is_cjk(line[-1]) or _is_cjk(w[0]) else " " + w
        return line


def data_from_tsv(tsv: str) -> dict[str, list]:
    """Tesseract's TSV output as columns, numbers as numbers."""
    data: dict[str, list] = {c: [] for c in _TSV_COLUMNS}
    for row in tsv.splitlines():
        cells = row.split("\t", len(_TSV_COLUMNS) - 1)
        if len(cells) < len(_TSV_COLUMNS) - 1 or not cells[0].isdigit():
            continue  # a header or a torn row
        cells += [""] * (len(_TSV_COLUMNS) - len(cells))
        for column, cell in zip(_TSV_COLUMNS, cells):
            data[column].append(cell if column == "text" else float(cell) if column == "conf"
                                else int(cell))
    return data


_TSV_COLUMNS = ("level", "page_num", "block_num", "par_num", "line_num", "word_num", "left",
                "top", "width", "height", "conf", "text")


def lines_from_data(data: dict) -> list[_Line]:
    """The lines of tesseract's TSV (as data_from_tsv gives it), in reading order, with their
    words."""
    lines: dict[tuple[int, int, int], _Line] = {}
    for i, word in enumerate(data["text"]):
        word = (word or "").strip()
        conf = float(data["conf"][i])
        if not word or conf < 0:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        left, top = data["left"][i], data["top"][i]
        right, bottom = left + data["width"][i], top + data["height"][i]
        line = lines.get(key)
        if line is None:
            lines[key] = _Line([word], [conf], (left, top, right, bottom))
        else:
            line.words.append(word)
            line.confs.append(conf)
            l0, t0, r0, b0 = line.box
            line.box = (min(l0, left), min(t0, top), max(r0, right), max(b0, bottom))
    return list(lines.values())


def _page_text(lines: list[_Line]) -> tuple[str, float | None]:
    confs = [c for line in lines for c in line.confs]
    return ("\n".join(line.text for line in lines),
            round(sum(confs) / len(confs), 1) if confs else None)


def text_from_data(data: dict) -> tuple[str, float | None]:
    """Lines of text and mean word confidence from tesseract's TSV columns."""
    return _page_text(lines_from_data(data))


def _mostly_cjk(text: str) -> bool:
    chars = [c for c in text if not c.isspace()]
    return bool(chars) and sum(1 for c in chars if _is_cjk(c)) / len(chars) >= 0.5


def _latin_line(line: str) -> bool:
    letters = sum(1 for c in line if c.isascii() and c.isalpha())
    return letters >= 6 and letters > 0.5 * len(line.replace(" ", ""))


def _latin_garbage(text: str) -> bool:
    """A Chinese page with a line read as Latin letters ('LF, RPANEN AAG, MEMRAM'): with
    chi_sim+eng tesseract sometimes takes a whole CJK line for English. Measured on one
    such page: 60% accuracy with eng in the mix, 94% without."""
    return _mostly_cjk(text) and any(_latin_line(line) for line in text.splitlines())


def _free_engines(idle: dict[str, list[_Engine]], lock: threading.Lock) -> None:
    with lock:
        engines = [e for group in idle.values() for e in group]
        idle.clear()
    for engine in engines:
        engine.close()


class Ocr:
    """OCR service handed to extractors: `ocr_images(images)` → pages, in order."""

    def __init__(self, cache_dir: Path, languages: str = "chi_sim+eng", workers: int = 0,
                 psm: int = DOCUMENT_PSM):
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.languages = languages
        self.workers = workers or os.cpu_count() or 1
        self.psm = psm
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._idle: dict[str, list[_Engine]] = {}  # loaded engines not reading, by languages
        # Engines' processes are ended and reaped on close(), or when the service is dropped
        # or Python exits unclosed; if this process dies first, they see EOF and exit.
        self._finalizer = weakref.finalize(self, _free_engines, self._idle, self._lock)
        try:
            with self._engine(languages) as engine:  # the first worker's, loaded now
                datapath, self.tesseract_version = engine.datapath, engine.version
        except OcrFailed as e:
            raise RuntimeError(f"tesseract language data not installed: {languages}") from e
        self.installed = {p.stem for p in datapath.glob("*.traineddata")}
        # tesseract loads what it has of chi_sim+xyz and only warns about xyz.
        missing = [lang for lang in languages.split("+") if lang not in self.installed]
        if missing:
            raise RuntimeError(f"tesseract language data not installed: {', '.join(missing)}")
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
        _free_engines(self._idle, self._lock)

    def __enter__(self) -> Ocr:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------

    def _get_pool(self) -> ThreadPoolExecutor:
        # Threads, not processes: the work is in the tesseract engines' processes, and
        # Pillow and numpy release the GIL while cleaning the image.
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
        except OcrFailed as e:
            raise ExtractionError(f"{where}: OCR 失败 / {e}") from e
        return Page(number=number, text=result.text, ocr=True, confidence=result.confidence)

    @contextmanager
    def _engine(self, langs: str) -> Iterator[_Engine]:
        """A loaded engine for `langs` that no other thread is using: an idle one, or a new
        one (at most one per worker stays loaded per language set). One whose process died
        is not kept: the next page gets a new one."""
        with self._lock:
            idle = self._idle.get(langs)
            engine = idle.pop() if idle else None
        if engine is None:
            engine = _Engine(langs)
        try:
            yield engine
        finally:
            if engine.alive:
                with self._lock:
                    self._idle.setdefault(langs, []).append(engine)
            else:
                engine.close()

    def _tesseract(self, image: Image.Image, langs: str, psm: int) -> list[_Line]:
        """One tesseract pass: TSV gives text and confidence together."""
        with self._engine(langs) as engine:
            tsv = engine.tsv(image, psm)
        return lines_from_data(data_from_tsv(tsv))

    def _recognise(self, image: Image.Image, langs: str) -> OcrResult:
        binary, angle, vertical = clean(image)
        psm = self.psm
        if vertical:
            psm = VERTICAL_PSM
            if "chi_sim_vert" in self.installed and "chi_sim" in langs.split("+"):
                langs = langs.replace("chi_sim", "chi_sim_vert", 1)
        lines = self._tesseract(binary, langs, psm)
        without_eng = "+".join(p for p in langs.split("+") if p != "eng")
        if without_eng != langs and without_eng:
            lines = self._reread_latin_lines(binary, lines, without_eng, psm)
        text, conf = _page_text(lines)
        tra = self._traditional_languages(langs)
        if tra and self._script_in_doubt(lines, conf) and self._reads_traditional(
                binary, tra, psm, conf):
            text2, conf2 = _page_text(self._tesseract(binary, tra, psm))
            if (conf2 or 0) >= (conf or 0):
                text, conf, langs = text2, conf2, tra
        return OcrResult(text, conf, langs, psm, round(angle, 2))

    def _reread_latin_lines(self, binary: Image.Image, lines: list[_Line], langs: str,
                            psm: int) -> list[_Line]:
        """Read again, without eng, each line of a Chinese page that came out as Latin
        letters (see _latin_garbage), and keep the reading tesseract is surer of. Only those
        lines: re-reading the whole page cost a second full pass (~1.1 s of CPU) for one
        bad line."""
        if not _mostly_cjk("".join(line.text for line in lines)):
            return lines
        out = []
        for line in lines:
            if not _latin_line(line.text):
                out.append(line)
                continue
            left, top, right, bottom = line.box
            pad = max(8, (bottom - top) // 4)
            crop = binary.crop((max(0, left - pad), max(0, top - pad),
                                min(binary.width, right + pad), min(binary.height, bottom + pad)))
            if min(crop.size) < MIN_REREAD_PX:
                out.append(line)
                continue
            try:
                # The page's own mode, not psm 7 (single line): on the sample's sealed JPEG
                # psm 7 crashed tesseract (SIGFPE) and read the other lines worse.
                again = self._tesseract(crop, langs, psm)
            except OcrFailed as exc:
                # A second reading is only a chance to do better: tesseract failing on a
                # line crop must not fail the page.
                log.warning("re-reading a line failed (%s); keeping the first reading", exc)
                out.append(line)
                continue
            confs = [c for x in again for c in x.confs]
            if confs and sum(confs) / len(confs) > sum(line.confs) / len(line.confs):
                out.append(_Line([w for x in again for w in x.words], confs, line.box))
            else:
                out.append(line)
        return out

    @staticmethod
    def _script_in_doubt(lines: list[_Line], conf: float | None) -> bool:
        """Whether a chi_sim reading may be of a traditional page (then the strip check
        runs). Measured after cleaning, chi_sim+eng on 8 sealed, skewed, speckled simplified
        pages: mean confidence 86.6-90.1, 2.8-7.2% of words below 60; on 8 traditional pages
        (clean and scanned): 70.3-83.3, 10-30%. Either sign alone sends a page to the check,
        so a traditional page would have to pass as simplified on both."""
        confs = [c for line in lines for c in line.confs]
        if not confs or conf is None:
            return True
        unsure = sum(1 for c in confs if c < 60) / len(confs)
        return conf < SCRIPT_CHECK_BELOW or unsure >= SCRIPT_CHECK_UNSURE_WORDS

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
        text, conf = _page_text(self._tesseract(strip, tra, psm))
        return looks_traditional(text) and (conf or 0) > (sim_conf or 0)

    def cache_key(self, image: Image.Image, langs: str) -> str:
        h = hashlib.sha256()
        h.update(f"{image.mode}:{image.width}x{image.height}:".encode())
        h.update(image.tobytes())
        # The engine's version too: a new libtesseract reads the same pixels differently.
        h.update(f"|{langs}|psm={self.psm}|v{PREPROCESS_VERSION}|"
                 f"tesseract {self.tesseract_version}".encode())
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
