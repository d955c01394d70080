"""The tesseract engine: the system's libtesseract through its C API (capi.h), the same
library the `tesseract` command runs, each language set in a child process
(tesseract_child.py) that keeps its models loaded.

Tesseract reads a cleaned page much better than the scan (red seal and letterhead removed,
deskewed, despeckled, binarised: clean.py), so it gets the cleaned page. Around its one pass
it needs two repairs measured on real pages: a Chinese line read as Latin letters is read
again without `eng`, and a page chi_sim is unsure of gets a script check, because chi_sim
maps traditional glyphs to simplified ones."""

from __future__ import annotations

import ctypes.util
import functools
import logging
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from analysis.normalize import looks_traditional
from indexer.ocr.child import DONE, OUT_OF_TIME, EngineProcess
from indexer.ocr.clean import clean
from indexer.ocr.engine import Box, Line, OcrFailed, Reading

log = logging.getLogger(__name__)

DOCUMENT_PSM = 6  # one uniform block: default psm 3 took 49 s and garbled an A4 page, psm 6 6 s
VERTICAL_PSM = 5  # a single block of vertically aligned text
PAGE_TIMEOUT_S = 300
SPARE_S = 60  # past the page's deadline, how long a silent engine is waited for
MIN_REREAD_PX = 12  # smaller line crops are noise, and tesseract can crash on them
# chi_sim reads simplified pages at 86.6-92 mean confidence, traditional ones at 70-83.3 with
# 10-30% of words below 60 (measured; see _script_in_doubt). A page under either limit
# gets the script check's extra pass; others are simplified and skip it.
SCRIPT_CHECK_BELOW = 85
SCRIPT_CHECK_UNSURE_WORDS = 0.08
SCRIPT_MARGIN = 5  # chi_tra must read the strip this much surer than chi_sim to switch
PROGRAM = Path(__file__).with_name("tesseract_child.py")


@functools.cache
def _libtesseract() -> str:
    """The library's file name, found once here rather than by each engine."""
    name = ctypes.util.find_library("tesseract")
    if name is None:
        raise RuntimeError("libtesseract not found: install tesseract-ocr")
    return name


class TesseractProcess(EngineProcess):
    """libtesseract with one language set loaded, in its own process."""

    def __init__(self, langs: str):
        self.langs = langs
        # One OpenMP thread: the workers are the parallelism (an operator who sets
        # OMP_THREAD_LIMIT still has it).
        env = {"OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1")}
        super().__init__("tesseract", PROGRAM, [_libtesseract(), langs], env,
                         PAGE_TIMEOUT_S + SPARE_S)
        if self.status != DONE:
            self.close()
            raise OcrFailed(f"tesseract could not load the language data for {langs}")
        datapath, version = self.greeting.split(b"\0")
        self.datapath = Path(datapath.decode())
        self.version = version.decode()

    def tsv(self, image: Image.Image, psm: int) -> str:
        """Tesseract's TSV of a bilevel image, from its packed bits (no PNG file)."""
        bits = image.convert("1").tobytes()  # 1 = white, MSB first: as SetImage takes it
        head = struct.pack("<4i", image.width, image.height, psm, int(PAGE_TIMEOUT_S * 1000))
        status, payload = self.ask(head + bits, PAGE_TIMEOUT_S + SPARE_S)
        if status == OUT_OF_TIME:
            raise OcrFailed(f"tesseract gave up on a {image.width}×{image.height} image "
                            f"(time limit {PAGE_TIMEOUT_S} s)")
        return payload.decode("utf-8")


def _is_cjk(c: str) -> bool:
    return "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef"


@dataclass
class TessLine:
    """One line as tesseract read it: its words' text and confidence, and where it is."""
    words: list[str]
    confs: list[float]
    box: Box

    @property
    def text(self) -> str:
        """Tesseract puts spaces between CJK glyphs; they are dropped, spaces between Latin
        words kept."""
        line = self.words[0]
        for w in self.words[1:]:
            line += w if _is_cjk(line[-1]) or _is_cjk(w[0]) else " " + w
        return line


_TSV_COLUMNS = ("level", "page_num", "block_num", "par_num", "line_num", "word_num", "left",
                "top", "width", "height", "conf", "text")


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


def lines_from_data(data: dict) -> list[TessLine]:
    """The lines of tesseract's TSV (as data_from_tsv gives it), in its order, with words."""
    lines: dict[tuple[int, int, int], TessLine] = {}
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
            lines[key] = TessLine([word], [conf], (left, top, right, bottom))
        else:
            line.words.append(word)
            line.confs.append(conf)
            l0, t0, r0, b0 = line.box
            line.box = (min(l0, left), min(t0, top), max(r0, right), max(b0, bottom))
    return list(lines.values())


def mean_confidence(lines: list[TessLine]) -> float | None:
    confs = [c for line in lines for c in line.confs]
    return round(sum(confs) / len(confs), 1) if confs else None


def _mostly_cjk(text: str) -> bool:
    chars = [c for c in text if not c.isspace()]
    return bool(chars) and sum(1 for c in chars if _is_cjk(c)) / len(chars) >= 0.5


def _latin_line(line: str) -> bool:
    letters = sum(1 for c in line if c.isascii() and c.isalpha())
    return letters >= 6 and letters > 0.5 * len(line.replace(" ", ""))


def _unrotate(box: Box, angle: float, size: tuple[int, int], rotated: tuple[int, int]) -> Box:
    """A box on the deskewed page (rotated by `angle` about its centre, expanded) back on the
    page as given: its centre is turned back, its size kept (skew is a few degrees)."""
    if not angle:
        return box
    cx, cy = (box[0] + box[2]) / 2 - rotated[0] / 2, (box[1] + box[3]) / 2 - rotated[1] / 2
    t = math.radians(angle)  # Image.rotate turns counter-clockwise; y grows downwards
    x = cx * math.cos(t) - cy * math.sin(t) + size[0] / 2
    y = cx * math.sin(t) + cy * math.cos(t) + size[1] / 2
    hw, hh = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
    return (max(0, round(x - hw)), max(0, round(y - hh)), min(size[0], round(x + hw)),
            min(size[1], round(y + hh)))


class TesseractEngine:
    """Tesseract for one worker: a child process per language set it has needed so far."""

    name = "tesseract"

    def __init__(self, languages: str = "chi_sim+eng", psm: int = DOCUMENT_PSM):
        self.languages = languages
        self.psm = psm
        self.processes: dict[str, TesseractProcess] = {}
        first = self._process(languages)  # loaded now: a missing language is named at once
        self.version = f"tesseract {first.version}"
        self.installed = {p.stem for p in first.datapath.glob("*.traineddata")}
        # tesseract loads what it has of chi_sim+xyz and only warns about xyz.
        missing = [lang for lang in languages.split("+") if lang not in self.installed]
        if missing:
            self.close()
            raise OcrFailed(f"tesseract language data not installed: {', '.join(missing)}")

    @property
    def alive(self) -> bool:
        """Whether every process this engine holds still runs; a crash in any one makes the
        engine go, so the next page gets a new one."""
        return all(p.alive for p in self.processes.values())

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes.values()]

    def close(self) -> None:
        for p in self.processes.values():
            p.close()

    def _process(self, langs: str) -> TesseractProcess:
        p = self.processes.get(langs)
        if p is None or not p.alive:
            p = self.processes[langs] = TesseractProcess(langs)
        return p

    def _tesseract(self, image: Image.Image, langs: str, psm: int) -> list[TessLine]:
        """One tesseract pass: TSV gives text and confidence together."""
        return lines_from_data(data_from_tsv(self._process(langs).tsv(image, psm)))

    def read(self, image: Image.Image) -> Reading:
        binary, angle, vertical = clean(image)
        langs, psm = self.languages, self.psm
        if vertical:
            psm = VERTICAL_PSM
            if "chi_sim_vert" in self.installed and "chi_sim" in langs.split("+"):
                langs = langs.replace("chi_sim", "chi_sim_vert", 1)
        lines = self._tesseract(binary, langs, psm)
        without_eng = "+".join(p for p in langs.split("+") if p != "eng")
        if without_eng != langs and without_eng:
            lines = self.reread_latin_lines(binary, lines, without_eng, psm)
        conf = mean_confidence(lines)
        tra = self._traditional_languages(langs)
        if tra and self.script_in_doubt(lines, conf) and self._reads_traditional(
                binary, tra, langs, psm):
            lines2 = self._tesseract(binary, tra, psm)
            if (mean_confidence(lines2) or 0) >= (conf or 0):
                lines, langs = lines2, tra
        out = [Line(t.text, _unrotate(t.box, angle, image.size, binary.size),
                    round(sum(t.confs) / len(t.confs), 1), vertical) for t in lines]
        # Tesseract gives its lines in its own reading order; vertical pages are read by
        # layout.py from their (column) boxes like any other engine's.
        return Reading(out, rotation=0, angle=round(angle, 2), script=langs)

    def reread_latin_lines(self, binary: Image.Image, lines: list[TessLine], langs: str,
                           psm: int) -> list[TessLine]:
        """Read again, without eng, each line of a Chinese page that came out as Latin
        letters ('LF, RPANEN AAG, MEMRAM': chi_sim+eng sometimes takes a whole CJK line for
        English; on one such page 60% accuracy with eng in the mix, 94% without), and keep
        the reading tesseract is surer of. Only those lines: re-reading the whole page cost
        a second full pass for one bad line."""
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
                out.append(TessLine([w for x in again for w in x.words], confs, line.box))
            else:
                out.append(line)
        return out

    @staticmethod
    def script_in_doubt(lines: list[TessLine], conf: float | None) -> bool:
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

    def _reads_traditional(self, binary: Image.Image, tra: str, sim: str, psm: int) -> bool:
        """Script check on the top third of the page, read with both models. chi_sim maps
        traditional glyphs to simplified ones (a 繁體 page read as 59% accurate *simplified*
        text) and chi_tra simplified ones to traditional, so neither's output tells; their
        confidence on the same strip does. Compared with chi_sim's confidence on the whole
        page instead, a real scan chi_sim is unsure of (a worn book page, a 300 dpi report)
        was taken for traditional and read again with chi_tra, Latin letters at the start of
        its lines (issue #10): now chi_tra must be surer on the strip by SCRIPT_MARGIN.
        Measured (chi_tra vs chi_sim on the strip): a traditional page 87.6 vs 70.8; a clean
        simplified one 72.6 vs 88.2; the real book page 77.1 vs 84.0; the real report page
        80.2 vs 81.3."""
        w, h = binary.size
        strip = binary.crop((0, 0, w, max(h // 3, min(h, 400)))) if psm != VERTICAL_PSM \
            else binary.crop((w * 2 // 3, 0, w, h))  # vertical text starts at the right
        tra_lines = self._tesseract(strip, tra, psm)
        text = "".join(t.text for t in tra_lines)
        if not looks_traditional(text):
            return False
        tra_conf = mean_confidence(tra_lines) or 0
        sim_conf = mean_confidence(self._tesseract(strip, sim, psm)) or 0
        return tra_conf >= sim_conf + SCRIPT_MARGIN
