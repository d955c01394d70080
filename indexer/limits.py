"""Bounds on the work one file may cause, so a hostile or broken file fails alone: pixels
for every rendering (the indexer's OCR pages and the api's page images share them, and so
does Pillow's own bomb check), bytes decompressed from zip parts and PDF streams, PDF
content-stream operators, and each file's wall time and memory.

A bound that is passed raises `LimitExceeded`, an ExtractionError whose reason names the
limit, so the file ends `failed` in the ledger with that reason."""

from __future__ import annotations

import contextvars
import os
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from indexer.extract import ExtractionError

# 50 megapixels: an A0 drawing at 180 dpi, an A3 scan at 600 dpi; 200 MB as RGBA.
MAX_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow warns above it and refuses above twice it
DISPLAY_PIXELS = 4_000_000  # a page image the api serves is for a screen: 1400×2000 and a bit
MAX_PART_BYTES = 64 * 1024 * 1024  # one zip part or one PDF content stream, decompressed
MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024  # all of a file's parts or content streams
MAX_MARKUP_BYTES = 64 * 1024 * 1024  # an HTML page (lxml's tree is ~10× the text)
MAX_PAGE_OPERATORS = 200_000  # content-stream operators on one PDF page (a dense map: ~50 000)
MAX_OPERATORS = 5_000_000  # on all pages: a 1 000-page book of dense text
FILE_SECONDS = 900.0  # one file's reading (extraction and OCR); CHAYUE_FILE_SECONDS
FILE_MEMORY_MB = 2048  # what reading one file may add to the reader's memory; CHAYUE_FILE_MEMORY_MB


class LimitExceeded(ExtractionError):
    """A file passed one of the bounds above; the reason names it."""


def _mb(n: float) -> str:
    return f"{n / (1024 * 1024):g}"


# -- zips (DOCX, XLSX, OFD) --------------------------------------------------------------------
def check_zip(z: zipfile.ZipFile, name: str) -> None:
    """Refuse a zip whose parts would inflate past the bounds, before any is read. Python's
    zipfile never inflates a member past its declared size (it stops and fails the CRC), so
    the declared sizes are the bound."""
    total = 0
    for info in z.infolist():
        if info.file_size > MAX_PART_BYTES:
            raise LimitExceeded(f"{name}: 压缩包部件解压后超过 {_mb(MAX_PART_BYTES)} MB 上限 / zip part "
                                f"{info.filename} inflates to {_mb(info.file_size)} MB, over the "
                                f"decompressed-part limit of {_mb(MAX_PART_BYTES)} MB")
        total += info.file_size
    if total > MAX_DECOMPRESSED_BYTES:
        raise LimitExceeded(f"{name}: 解压后总量超过 {_mb(MAX_DECOMPRESSED_BYTES)} MB 上限 / zip inflates to "
                            f"{_mb(total)} MB, over the decompressed-bytes limit of "
                            f"{_mb(MAX_DECOMPRESSED_BYTES)} MB")


def check_zip_file(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            check_zip(z, path.name)
    except zipfile.BadZipFile:
        return  # the extractor says what is wrong with it


def check_markup(size: int, name: str) -> None:
    if size > MAX_MARKUP_BYTES:
        raise LimitExceeded(f"{name}: 网页超过 {_mb(MAX_MARKUP_BYTES)} MB 上限 / page of {_mb(size)} MB, over the "
                            f"markup limit of {_mb(MAX_MARKUP_BYTES)} MB")


# -- rendering ------------------------------------------------------------------------------
def fit_scale(width_pt: float, height_pt: float, dpi: float, pixels: int = MAX_PIXELS) -> float:
    """The render scale (pixels per point) at `dpi`, lowered so the page stays under `pixels`."""
    scale = dpi / 72
    area = max(width_pt * height_pt, 1.0)
    return min(scale, (pixels / area) ** 0.5)


# -- each file's time and memory --------------------------------------------------------------
@dataclass
class Budget:
    name: str
    deadline: float
    seconds: float
    memory_base: int
    memory_bytes: int
    next_memory_check: float = 0.0

    def check(self) -> None:
        now = time.monotonic()
        if now > self.deadline:
            raise LimitExceeded(f"{self.name}: 读取超过每个文件 {self.seconds:g} 秒的时限 / reading took longer "
                                f"than the per-file time limit of {self.seconds:g} s")
        if now >= self.next_memory_check:  # reading /proc costs ~20 µs: not at every call
            self.next_memory_check = now + 0.05
            grown = rss() - self.memory_base
            if grown > self.memory_bytes:
                raise LimitExceeded(f"{self.name}: 读取占用内存超过每个文件 {_mb(self.memory_bytes)} MB 的上限 / "
                                    f"reading needed {_mb(grown):.4} MB more memory, over the per-file "
                                    f"memory limit of {_mb(self.memory_bytes)} MB")


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("chayue_file_budget", default=None)
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    """This process's resident memory in bytes."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


@contextmanager
def budget(name: str, seconds: float = FILE_SECONDS, memory_mb: float = FILE_MEMORY_MB) -> Iterator[Budget]:
    """Time and memory for reading one file; `checkpoint()` inside raises when either is spent."""
    b = Budget(name, time.monotonic() + seconds, seconds, rss(), int(memory_mb * 1024 * 1024))
    token = _BUDGET.set(b)
    try:
        yield b
    finally:
        _BUDGET.reset(token)


def checkpoint() -> None:
    """Called by extractors between pages, frames and blocks: raises LimitExceeded when the
    current file's time or memory is spent (no-op outside `budget`)."""
    b = _BUDGET.get()
    if b is not None:
        b.check()
