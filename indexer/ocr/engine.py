"""The OCR engine seam: an engine turns a page image into lines, each with its text, its box
on the page and its confidence. Everything else (worker processes, cache, crash handling,
reading order) is the shared service's, so engines stay small and comparable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

Box = tuple[int, int, int, int]  # left, top, right, bottom, in the page image's pixels


class OcrFailed(RuntimeError):
    """An engine could not read an image (no models for the language, out of time, crashed)."""


@dataclass
class Line:
    """One line as an engine read it. `box` is in the pixels of the image the service was
    given (not of a cleaned or rotated copy), so the page view can mark it on the scan."""

    text: str
    box: Box
    confidence: float  # 0-100
    vertical: bool = False  # a column of 竖排 text, read top to bottom


@dataclass
class Reading:
    """An engine's lines of one page, in no promised order (layout.py orders them).

    `rotation` is how far the page's text is turned from upright (0, 90, 180, 270 degrees
    counter-clockwise, as `Image.rotate` takes it), so reading order can be worked out in the
    upright page; `script` is what the engine made of the page, for the cache and the tests."""

    lines: list[Line] = field(default_factory=list)
    rotation: int = 0
    # The skew of the page's lines in the upright page: the turn that levels them, degrees,
    # counter-clockwise as Image.rotate takes it (what clean.estimate_skew measures).
    angle: float = 0.0
    script: str = ""  # e.g. "chi_sim+eng" or "chi_tra" (tesseract), "ppocr" (RapidOCR)
    # How the engine found the lines, where it says (RapidOCR): the characters' height
    # measured on the page (`glyph_px`), the scale detected at (`det_scale`), the share of
    # the page's text ink under a found line (`ink_read`) and, when much was left unread,
    # the regions read again at a larger scale (`reread`: [top, bottom, left, right] on the
    # page as given) and the share read after (`ink_read_after`).
    detection: dict = field(default_factory=dict)


class Engine(Protocol):
    """What the service needs of an engine; one instance per worker thread."""

    name: str  # "rapid", "tesseract": CHAYUE_OCR_ENGINE's values
    version: str  # engine and model version: part of the cache key

    @property
    def alive(self) -> bool: ...

    def read(self, image: Image.Image) -> Reading: ...

    def close(self) -> None: ...
