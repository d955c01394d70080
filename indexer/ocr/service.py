"""The OCR service every extractor hands page images to, the same for every engine: worker
threads, each with an engine whose models stay loaded in a child process; one page's
engine crash or time-out failing only that page; reading order (layout.py); and a cache on
disk keyed by the page's pixels, the engine and its version, so a re-run never reads the
same page twice."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import count
from pathlib import Path

from PIL import Image

from engine.model import LOW_CONFIDENCE, Page
from indexer.extract import ExtractionError
from indexer.ocr import layout
from indexer.ocr.engine import Engine, OcrFailed, Reading

log = logging.getLogger(__name__)

ENGINES = ("rapid", "tesseract")
# Bump when what is cached for a page changes (cleaning, layout, the result's shape), so old
# entries are not reused; the engine's own version is in the key as well.
CACHE_VERSION = 12


@dataclass(frozen=True)
class OcrResult:
    text: str
    confidence: float | None  # mean line confidence 0-100, by characters; None: no text found
    engine: str  # "rapid", "tesseract"
    script: str  # what the engine read the page as: "ppocr"; "chi_sim+eng", "chi_tra" …
    size: tuple[int, int] = (0, 0)  # the page image's width and height, pixels
    rotation: int = 0  # 0/90/180/270: how far the page was turned from upright
    angle: float = 0.0  # deskew applied by the engine's page cleaning, degrees
    # Each line in reading order: left, top, right, bottom (pixels of the page image),
    # start, end (its characters in `text`), confidence.
    lines: list[list[float]] = field(default_factory=list)
    # How the lines were found (engine.Reading.detection): the text size measured, the scale
    # detected at, the share of printed text read, and the regions read again at a larger
    # scale where much was left unread.
    detection: dict = field(default_factory=dict)


def is_low_confidence(page: Page) -> bool:
    return page.ocr and (page.confidence is None or page.confidence < LOW_CONFIDENCE)


def _free_engines(idle: dict[str, list[Engine]], lock: threading.Lock) -> None:
    with lock:
        engines = [e for group in idle.values() for e in group]
        idle.clear()
    for engine in engines:
        engine.close()


def _start(name: str, languages: str, psm: int | None) -> Engine:
    if name == "rapid":
        from indexer.ocr.rapid import RapidEngine
        return RapidEngine(threads=1)
    if name == "tesseract":
        from indexer.ocr.tesseract import DOCUMENT_PSM, TesseractEngine
        return TesseractEngine(languages, psm or DOCUMENT_PSM)
    raise ValueError(f"unknown OCR engine {name!r}: choose one of {', '.join(ENGINES)}")


class Ocr:
    """OCR service handed to extractors: `ocr_images(images)` → pages, in order.

    `languages` are tesseract's (the PP-OCR model reads Chinese, both scripts, and Latin)."""

    def __init__(self, cache_dir: Path, languages: str = "chi_sim+eng", workers: int = 0,
                 engine: str = "rapid", psm: int | None = None):
        if engine not in ENGINES:
            raise ValueError(f"unknown OCR engine {engine!r}: choose one of {', '.join(ENGINES)}")
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.engine_name = engine
        self.languages = languages
        self.workers = workers or os.cpu_count() or 1
        self.psm = psm
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)  # an engine started in the background
        self._idle: dict[str, list[Engine]] = {}  # loaded engines not reading, by key
        self._starting: dict[str, int] = {}  # engines being started in the background, by key
        self._starters: list[threading.Thread] = []
        # Engines' processes are ended and reaped on close(), or when the service is dropped
        # or Python exits unclosed; if this process dies first, they see EOF and exit.
        self._finalizer = weakref.finalize(self, _free_engines, self._idle, self._lock)
        # Every worker's engine is started now, at once: loading models takes an engine
        # 1.2 CPU s, and started one after the other, a core stood idle while the first loaded
        # (bench/RESULTS.md). The first is waited for here, so an engine that cannot start
        # is reported now; a page that comes before the others are loaded waits for one.
        for _ in range(self.workers - 1):
            self._start_in_background(self._key(languages), languages)
        try:
            first = _start(self.engine_name, languages, self.psm)
        except OcrFailed as e:
            self.close()
            raise RuntimeError(str(e)) from e
        self.engine_version = first.version
        self._put_back(self._key(languages), first)
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
        with self._engine(langs) as engine:
            reading = engine.read(image)
        result = _result(reading, image.size, engine.name)
        self._cache_put(key, result)
        return result

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        for thread in self._starters:  # engines still loading: theirs are ended too
            thread.join()
        self._starters.clear()
        _free_engines(self._idle, self._lock)

    def __enter__(self) -> Ocr:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def engine_pids(self) -> list[int]:
        """The processes of the loaded engines not reading now (for tests and the bench)."""
        with self._lock:
            return [pid for group in self._idle.values() for e in group
                    for pid in getattr(e, "pids", [])]

    # -- internals -----------------------------------------------------------------------

    def _get_pool(self) -> ThreadPoolExecutor:
        # Threads, not processes: the work is in the engines' processes, and Pillow and
        # numpy release the GIL while a page is prepared.
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
        return Page(number=number, text=result.text, ocr=True, confidence=result.confidence,
                    size=result.size, lines=[[round(v) for v in x[:6]] for x in result.lines])

    def _key(self, langs: str) -> str:
        return langs if self.engine_name == "tesseract" else self.engine_name

    def _start_in_background(self, key: str, langs: str) -> None:
        def start() -> None:
            engine: Engine | None = None
            try:
                engine = _start(self.engine_name, langs, self.psm)
            except Exception as e:  # noqa: BLE001 - a page that needs it starts one, and fails
                log.warning("OCR engine did not start in the background: %s", e)
            finally:
                self._put_back(key, engine, started=True)

        with self._lock:
            self._starting[key] = self._starting.get(key, 0) + 1
        thread = threading.Thread(target=start, name="ocr-start", daemon=True)
        self._starters.append(thread)
        thread.start()

    def _put_back(self, key: str, engine: Engine | None, started: bool = False) -> None:
        """An engine that is free again (`started`: one the background has just started, or
        None if it could not) goes to the idle ones, unless it died. Pages waiting for an
        engine are woken either way."""
        with self._ready:
            if started:
                self._starting[key] -= 1
            keep = engine is not None and engine.alive
            if keep:
                self._idle.setdefault(key, []).append(engine)
            self._ready.notify_all()
        if engine is not None and not keep:
            engine.close()

    @contextmanager
    def _engine(self, langs: str) -> Iterator[Engine]:
        """A loaded engine that no other thread is using: an idle one, one being started, or
        a new one (at most one per worker stays loaded). One whose process died is not kept:
        the next page gets a new one."""
        key = self._key(langs)
        with self._ready:
            while not self._idle.get(key) and self._starting.get(key):
                self._ready.wait()
            idle = self._idle.get(key)
            engine = idle.pop() if idle else None
        if engine is not None and not engine.alive:  # died idle (killed, out of memory)
            engine.close()
            engine = None
        if engine is None:
            engine = _start(self.engine_name, langs, self.psm)
        try:
            yield engine
        finally:
            self._put_back(key, engine)

    def cache_key(self, image: Image.Image, langs: str) -> str:
        h = hashlib.sha256()
        h.update(f"{image.mode}:{image.width}x{image.height}:".encode())
        h.update(image.tobytes())
        # The engine's version too: a new model reads the same pixels differently.
        h.update(f"|{self.engine_name}|{self.engine_version}|v{CACHE_VERSION}|".encode())
        if self.engine_name == "tesseract":
            h.update(f"{langs}|psm={self.psm}".encode())
        return h.hexdigest()

    def _cache_path(self, key: str) -> Path:
        return self.cache_dir / key[:2] / f"{key}.json"

    def _cache_get(self, key: str) -> OcrResult | None:
        path = self._cache_path(key)
        try:
            data = json.loads(path.read_text("utf-8"))
            data["size"] = tuple(data["size"])
            return OcrResult(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError) as e:  # torn or stale: redo the page
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


def _result(reading: Reading, size: tuple[int, int], engine: str) -> OcrResult:
    text, spans = layout.text(layout.order(reading, size))
    weight = sum(end - start for _, start, end in spans)
    conf = round(sum(line.confidence * (end - start) for line, start, end in spans) / weight, 1) \
        if weight else None
    lines = [[*line.box, start, end, line.confidence] for line, start, end in spans]
    return OcrResult(text, conf, engine, reading.script, size, reading.rotation, reading.angle,
                     lines, reading.detection)
