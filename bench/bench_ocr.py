"""OCR throughput and accuracy of each engine through our Ocr service against the raw
engines on the same page files, and born-digital PDF throughput through pdf.py.

    .venv/bin/python bench/bench_ocr.py [--pages 12] [--runs 1] [--pdf-pages 100] [--sets renders,real,dense]

Three sets of pages, each saved as image files: renders of real laws at 300 dpi with a red
seal, skew and speckle, as a scanner would deliver them; the real scanned pages of the
evaluation set (../shared/corpus/real, scored against tests/ocr_eval/truth), drawn as the
indexer draws them; and the evaluation set's dense small print (pages.dense_cases: real
report, magazine and table pages at 72 dpi, newspaper renders; characters 7-10 px, JPEG). Every side starts from those files, two at a time: the raw
`tesseract page.png - -l chi_sim --psm 3` command (OMP_THREAD_LIMIT=1),
raw RapidOCR (tests/ocr_eval/raw.py: its defaults but one onnxruntime thread, in two processes), and our Ocr with
two workers and a cold cache for each engine (`rapid`, the default, and `tesseract`), which
open the same files (starting the engine processes and loading their models is inside the
timed run too). CPU seconds per page barely move with load, wall time does: look at both,
and at the load average printed with them. Accuracy: character error rate (CER) and the F1
of the multiset of Han characters, against the rendered text. Memory: the peak resident
size (VmHWM) of each OCR engine process, read before the service closes them."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.extract.pdf import PdfExtractor  # noqa: E402
from indexer.ocr import Ocr  # noqa: E402
from tests import inputs  # noqa: E402
from tests.ocr_eval import pages as P  # noqa: E402
from tests.ocr_eval import raw  # noqa: E402

REAL = inputs.SHARED / "real"
TRUTH = Path(__file__).resolve().parents[1] / "tests" / "ocr_eval" / "truth"

LANGS = "chi_sim+eng"
WORKERS = 2
# The raw command the issue measured against, as anyone would type it.
RAW_TESSERACT = ["-l", "chi_sim", "--psm", "3"]

def _cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (the tesseract command, our
    engine processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _cpu_of(pids: list[int]) -> float:
    """CPU seconds these running processes have used so far (utime + stime)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _running_children() -> list[int]:
    """Child processes not yet waited for, whichever thread started them."""
    return [int(pid) for task in Path("/proc/self/task").iterdir()
            for pid in (task / "children").read_text().split()]


def _measure(fn: Callable[[], list[str]], children_reaped: bool = True,
             ) -> tuple[float, float, list[str]]:
    """(wall seconds, CPU seconds, texts) of one run. Only waited-for children count in
    RUSAGE_CHILDREN: one still running (an engine not closed) would have its CPU missed."""
    cpu, wall = _cpu_seconds(), time.perf_counter()
    texts = fn()
    assert not children_reaped or not _running_children(), \
        f"children left running: {_running_children()}"
    return time.perf_counter() - wall, _cpu_seconds() - cpu, texts


def _cli(paths: list[Path]) -> list[str]:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def one(path: Path) -> str:
        return subprocess.run(["tesseract", str(path), "-", *RAW_TESSERACT],
                              check=True, capture_output=True, env=env).stdout.decode("utf-8")

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(one, paths))


def _opened(paths: list[Path]) -> Iterator[Image.Image]:
    for path in paths:
        with Image.open(path) as im:
            yield im.convert("RGB")


PEAK_RSS: dict[str, float] = {}


def _peak_mb(pids: list[int]) -> float:
    """The largest VmHWM (peak resident set) of these processes, MB."""
    peaks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def _ours(paths: list[Path], cache: Path, engine: str) -> list[str]:
    with Ocr(cache, LANGS, workers=WORKERS, engine=engine) as ocr:  # closing it reaps its engines
        pages = ocr.ocr_images(_opened(paths))
        assert ocr.misses == len(paths) and ocr.hits == 0, "cache was not cold"
        PEAK_RSS[engine] = _peak_mb(ocr.engine_pids())
    return [p.text for p in pages]


def _loaded(engine: str, cache: Path) -> Ocr:
    """Our Ocr with every worker's engine started and its models loaded: two small pages of
    their own read at once, one by each worker."""
    ocr = Ocr(cache, LANGS, workers=WORKERS, engine=engine)
    ocr.ocr_images(inputs.render_page(f"预热第{i}页", seal=False) for i in range(WORKERS))
    # One engine may have read both small pages while the other was still loading.
    deadline = time.monotonic() + 120
    while len(ocr.engine_pids()) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ocr.engine_pids()) == WORKERS, "not every worker's engine was started"
    ocr.hits = ocr.misses = 0
    return ocr


def _ours_loaded(paths: list[Path], ocr: Ocr) -> list[str]:
    pages = ocr.ocr_images(_opened(paths))
    assert ocr.misses == len(paths) and ocr.hits == 0, "cache was not cold"
    return [p.text for p in pages]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _synthetic(tmp: Path, n: int) -> tuple[list[Path], list[str]]:
    texts = [inputs.law_excerpt(60 + i, 300) for i in range(n)]
    paths = []
    for i, text in enumerate(texts):
        page = inputs.render_page(text, seal=True, skew=(1.5, -2.3)[i % 2], noise=0.001, seed=i)
        paths.append(tmp / f"page{i}.png")
        page.save(paths[-1], dpi=(inputs.DPI, inputs.DPI))
    return paths, texts


def _real(tmp: Path) -> tuple[list[Path], list[str]]:
    """The real scanned pages of the evaluation set (tests/ocr_eval/truth), drawn as the
    indexer draws them for OCR (pdf.scan_dpi); none when ../shared is not beside the clone."""
    import pypdfium2 as pdfium

    from indexer.extract.pdf import render, scan_dpi

    paths, truths = [], []
    for name in ("scans/mineru_small_ocr.pdf", "pdf/pdfplumber_pr-136-example.pdf"):
        path = REAL / name
        if not path.exists():
            return [], []
        doc = pdfium.PdfDocument(path)
        for truth in sorted(TRUTH.glob(f"{path.stem}-*.txt"), key=lambda t: int(t.stem.rsplit("-", 1)[1])):
            number = int(truth.stem.rsplit("-", 1)[1])
            paths.append(tmp / f"{truth.stem}.png")
            render(doc, number - 1, scan_dpi(doc, number - 1)).save(paths[-1])
            truths.append(truth.read_text("utf-8").split("\n\n", 1)[1])  # after the note
        doc.close()
    return paths, truths


def run_set(title: str, tmp: Path, paths: list[Path], texts: list[str], runs: int) -> None:
    """Every side on the same files, two at a time; one table."""
    n = len(paths)
    sides: dict[str, Callable[[int], list[str]]] = {
        "cli": lambda r: _cli(paths),
        "raw-rapid": lambda r: raw.read(paths, WORKERS),
        "rapid": lambda r: _ours(paths, tmp / f"cache-rapid{r}", "rapid"),
        "rapid-loaded": lambda r: _ours_loaded(paths, loaded[r]),
        "tesseract": lambda r: _ours(paths, tmp / f"cache-tess{r}", "tesseract"),
    }
    load_before = _load()
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    quality: dict[str, tuple[float, float]] = {}
    loaded: dict[int, Ocr] = {}
    for r in range(runs):
        for name, fn in sides.items():  # alternating, so a burst of load hits every side
            if name == "rapid-loaded":
                loaded[r] = _loaded("rapid", tmp / f"cache-rapid-loaded{r}")
                engines = loaded[r].engine_pids()
                before = _cpu_of(engines)  # engines still running: not in RUSAGE_CHILDREN
                try:
                    wall, cpu, out = _measure(lambda fn=fn, r=r: fn(r), children_reaped=False)
                    cpu += _cpu_of(engines) - before
                finally:
                    loaded.pop(r).close()
            else:
                wall, cpu, out = _measure(lambda fn=fn, r=r: fn(r))
            results[name].append((wall, cpu))
            edits = sum(P.errors(t, o)[0] for t, o in zip(texts, out))
            chars = sum(P.errors(t, o)[1] for t, o in zip(texts, out))
            quality[name] = (edits / chars, P.han_f1("".join(texts), "".join(out)))
            print(f"{title} run {r + 1} {name:9s}: {n / wall * 60:6.1f} pages/min, "
                  f"{cpu / n:.2f} CPU s/page, load {_load()}", file=sys.stderr, flush=True)
    load_after = _load()

    def median(name: str, i: int) -> float:
        return statistics.median(run[i] for run in results[name])

    def ppm(name: str) -> float:
        return n / median(name, 0) * 60

    print(f"\n### OCR, {title}: {n} pages, {WORKERS} at a time, {os.cpu_count()} CPUs, median of {runs} run(s)\n")
    print(f"load average (1, 5, 15 min): before {load_before}, after {load_after}\n")
    print("| run | pages/minute | CPU s/page | CER | Han F1 | engine peak RSS | note |")
    print("|---|---:|---:|---:|---:|---:|---|")
    rows = [
        ("cli", f"{title}: `tesseract page.png - {' '.join(RAW_TESSERACT)}` ×{WORKERS} processes", "",
         "the raw command, no cleaning"),
        ("raw-rapid", f"{title}: raw RapidOCR ×{WORKERS} processes", "", "its defaults, 1 thread"),
        ("rapid", f"{title}: chayue Ocr `rapid` (default), {WORKERS} workers, cold cache",
         f"{PEAK_RSS.get('rapid', 0):.0f} MB", "red removed; reading order"),
        ("rapid-loaded", f"{title}: the same, its engines loaded before the timing", "",
         "a long run's rate: models are loaded once per run"),
        ("tesseract", f"{title}: chayue Ocr `tesseract`, {WORKERS} workers, cold cache",
         f"{PEAK_RSS.get('tesseract', 0):.0f} MB", f"{LANGS}; red removed, deskewed, despeckled, bilevel"),
    ]
    for name, label, rss, note in rows:
        cer, f1 = quality[name]
        print(f"| {label} | {ppm(name):.1f} | {median(name, 1) / n:.2f} | {cer:.1%} | "
              f"{f1:.3f} | {rss} | {note} |")
    print(f"\nratio chayue `rapid` / raw tesseract: {ppm('rapid') / ppm('cli'):.2f} pages/minute, "
          f"{ppm('rapid-loaded') / ppm('cli'):.2f} with its engines loaded; "
          f"/ raw RapidOCR: {ppm('rapid') / ppm('raw-rapid'):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=12)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--pdf-pages", type=int, default=100)
    ap.add_argument("--sets", default="renders,real,dense",
                    help="page sets to read, comma-separated: renders, real, dense")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "synthetic").mkdir()
        (tmp / "real").mkdir()
        sets = args.sets.split(",")
        if "dense" in sets:
            (tmp / "dense").mkdir()
            dense = P.dense_cases(REAL)
            for i, case in enumerate(dense):
                case.image.save(tmp / "dense" / f"dense{i}.png")
            run_set("dense small print", tmp / "dense", [tmp / "dense" / f"dense{i}.png" for i in range(len(dense))],
                    [c.text for c in dense], args.runs)
        paths, texts = _synthetic(tmp / "synthetic", args.pages)
        if "renders" in sets:
            run_set("sealed, skewed, speckled renders at 300 dpi", tmp / "synthetic", paths, texts, args.runs)
        real_paths, truths = _real(tmp / "real")
        if "real" in sets and real_paths:
            run_set("real scanned pages", tmp / "real", real_paths, truths, args.runs)
        elif "real" in sets:
            print(f"\n(real scanned pages skipped: {REAL} is not beside this checkout)")
        if "renders" not in sets:
            return
        with Ocr(tmp / "synthetic" / "cache-rapid0", LANGS, workers=WORKERS) as ocr:  # filled by run 1
            # Its engines, loaded before the timing, read nothing: every page is a cache hit.
            wall, cpu, _ = _measure(lambda: [p.text for p in ocr.ocr_images(_opened(paths))],
                                    children_reaped=False)
        print(f"\n### OCR cache\n\n| run | pages/minute | CPU s/page | note |\n|---|---:|---:|---|\n"
              f"| chayue Ocr, warm cache | {len(paths) / wall * 60:.0f} | {cpu / len(paths):.3f} | "
              f"{ocr.hits} cache hits |")

        pdf_texts = [inputs.law_excerpt(i % 300, 600) for i in range(args.pdf_pages)]
        pdf = inputs.text_pdf(tmp / "born_digital.pdf", pdf_texts)
        with Ocr(tmp / "cache-pdf", LANGS, workers=WORKERS) as ocr:
            t = time.perf_counter()
            extracted = PdfExtractor().extract(pdf, ocr)
            secs = time.perf_counter() - t
        assert not any(p.ocr for p in extracted.pages)
        print(f"\n### Born-digital PDF through pdf.py\n\n| pages | seconds | pages/second |\n"
              f"|---:|---:|---:|\n| {len(extracted.pages)} | {secs:.2f} | "
              f"{len(extracted.pages) / secs:.1f} |")


if __name__ == "__main__":
    main()
