"""The PP-OCR engine (the default): RapidOCR on onnxruntime, with the PP-OCRv6 detection
and recognition models and the PP-OCR line classifier that ship inside the rapidocr wheel.

Why it is the default: on 11 real Chinese pages (book, newspaper, magazine, notes, reports)
its text scored 0.955 Han-character F1 against 0.68 for `tesseract -l chi_sim`, in about a
third of the time per page; one model reads simplified, traditional and vertical lines, so
there is no script guess to get wrong. It gets the page as scanned: the detector finds
lines through seals and skew, and a cleaned, bilevel page read worse (bench/RESULTS.md).

The engine runs in a child process (rapid_child.py) with one onnxruntime thread: the
service's workers are the parallelism, and several engines with a thread pool each fight
over the cores."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
import statistics
import struct
from pathlib import Path

from PIL import Image

from indexer.ocr.child import DONE, EngineProcess
from indexer.ocr.clean import remove_red
from indexer.ocr.engine import Line, OcrFailed, Reading

PROGRAM = Path(__file__).with_name("rapid_child.py")
PAGE_TIMEOUT_S = 300  # onnxruntime has no deadline of its own: past this the child is ended
LOAD_TIMEOUT_S = 120
MIN_SCORE = 0.5  # lines the recogniser is less sure of are noise (RapidOCR's own text_score)
TALL = 1.5  # a box this much taller than wide is a column (RapidOCR turns such crops too)
# RapidOCR reads a page at most this many px on its longer side (its Global.max_side_len),
# shrinking a larger one itself. A page much larger (a 300 dpi A4 scan is 3.5× the pixels)
# is shrunk here instead, so the red is taken out at that size (0.08 s at 2554×3751, 0.01 s
# at 2000 px) and that size crosses the pipe. Pillow's resize takes about 0.06 s whatever
# the factor: shrinking the bench's 2100 px renders too cost 0.13 CPU s a page (1.15
# against 1.02, bench/RESULTS.md).
MAX_SIDE = 2000
SHRINK_BELOW = 0.7


def installed() -> bool:
    return importlib.util.find_spec("rapidocr") is not None and \
        importlib.util.find_spec("onnxruntime") is not None


class RapidProcess(EngineProcess):
    def __init__(self, threads: int = 1):
        if not installed():
            raise OcrFailed("RapidOCR is not installed: pip install rapidocr onnxruntime")
        # onnxruntime >= 1.29 sends telemetry from Linux too (an uploader, a device id and an
        # offline cache under ~/.cache/Microsoft); ORT_DISABLE_TELEMETRY=1 before it starts
        # turns all of that off (onnxruntime PR #27379). Nothing leaves the machine.
        super().__init__("RapidOCR", PROGRAM, [str(threads)], {"ORT_DISABLE_TELEMETRY": "1"},
                         LOAD_TIMEOUT_S, site_packages=True)
        if self.status != DONE:
            self.close()
            raise OcrFailed(f"RapidOCR could not load its models: {self.greeting.decode()}")
        self.version = self.greeting.decode()

    def lines(self, image: Image.Image) -> dict:
        rgb = image if image.mode in ("RGB", "L") else image.convert("RGB")
        channels = 3 if rgb.mode == "RGB" else 1
        head = struct.pack("<3i", rgb.width, rgb.height, channels)
        _, payload = self.ask(head + rgb.tobytes(), PAGE_TIMEOUT_S)
        return json.loads(payload)


def confidence(score: float) -> float:
    """RapidOCR's line score (the mean of its characters' probabilities, MIN_SCORE..1) on
    the project's 0-100 scale, where a page under engine.model.LOW_CONFIDENCE goes to review:
    the score's distance above the floor. Measured: a clean page's lines score 0.99-1.0
    (98-100), a sealed page's 0.93-0.98 (86-96), a pixelated report that came out as
    garbage 0.72 (44); scaled as score × 100, that garbage (72) passed as fit to read."""
    return round(max(0.0, (score - MIN_SCORE) / (1 - MIN_SCORE)) * 100, 1)


def _side(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


class RapidEngine:
    """PP-OCR for one worker: one child process with the three models loaded."""

    name = "rapid"

    def __init__(self, threads: int = 1):
        self.process = RapidProcess(threads)
        self.version = (f"rapidocr {self.process.version} onnxruntime "
                        f"{importlib.metadata.version('onnxruntime')} PP-OCRv6 page<={MAX_SIDE}@{SHRINK_BELOW}")

    @property
    def alive(self) -> bool:
        return self.process.alive

    @property
    def pids(self) -> list[int]:
        return [self.process.pid]

    def close(self) -> None:
        self.process.close()

    def _lines(self, image: Image.Image) -> tuple[list[Line], dict[str, int], float, dict]:
        """The lines RapidOCR finds on `image`; how many characters are in lines of each
        kind: wide or tall (a column), turned by the line classifier or not; the skew of its
        lines (median, degrees, as clean.estimate_skew gives it); and the child's note on
        how the page was read (rapid_child.detect)."""
        lines: list[Line] = []
        slopes: list[float] = []
        weight = {"wide": 0, "wide_turned": 0, "tall": 0, "tall_turned": 0}
        reply = self.process.lines(image)
        for quad, text, score, turned in reply["lines"]:
            if score < MIN_SCORE:
                continue
            pts = list(zip(quad[0::2], quad[1::2]))
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            tall = _side(pts[0], pts[3]) >= TALL * _side(pts[0], pts[1])
            weight[("tall" if tall else "wide") + ("_turned" if turned else "")] += len(text)
            if not tall and len(text) >= 8:
                slopes.append(math.degrees(math.atan2(pts[1][1] - pts[0][1],
                                                            pts[1][0] - pts[0][0])))
            lines.append(Line(text, (min(xs), min(ys), max(xs), max(ys)),
                              confidence(score), vertical=tall))
        return lines, weight, round(statistics.median(slopes), 2) if slopes else 0.0, reply["note"]

    def read(self, image: Image.Image) -> Reading:
        # Red ink out (seals, 红头), nothing else: on a sealed page PP-OCR misread the
        # characters under the seal (accuracy 94.5% as scanned, 100% without the red); the
        # full cleaning (bilevel, deskewed) reads worse, and skew PP-OCR handles itself.
        scale = MAX_SIDE / max(image.size)
        if scale >= SHRINK_BELOW:
            scale = 1.0
        page = image.resize((round(image.width * scale), round(image.height * scale)),
                            Image.Resampling.BILINEAR) if scale < 1 else image
        page = remove_red(page) if page.mode == "RGB" else page
        lines, weight, skew, note = self._lines(page)
        if scale < 1:  # boxes on the page as given, where the document view marks them
            note["reread"] = [[math.floor(v / scale) for v in r] for r in note.get("reread", [])]
            for line in lines:
                x0, y0, x1, y1 = line.box
                line.box = (math.floor(x0 / scale), math.floor(y0 / scale),
                            min(image.width, math.ceil(x1 / scale)), min(image.height, math.ceil(y1 / scale)))
        wide = weight["wide"] + weight["wide_turned"]
        tall = weight["tall"] + weight["tall_turned"]
        # The page's orientation, from its lines by characters (each line was read the way
        # up it reads best): wide lines read turned are a page upside down; tall lines read
        # turned, a page turned a quarter counter-clockwise (its lines run bottom to top).
        # Tall lines read as they are are 竖排 columns, or a page turned clockwise: both
        # are read top to bottom, right to left, so they need not be told apart.
        rotation = 0
        if wide >= tall and weight["wide_turned"] > weight["wide"]:
            rotation = 180
        elif tall > wide and weight["tall_turned"] > weight["tall"]:
            rotation = 90
        if rotation:
            for line in lines:
                line.vertical = False
        return Reading(lines, rotation=rotation, angle=skew, script="ppocr", detection=note)


