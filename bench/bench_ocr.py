"""OCR throughput of our Ocr service against the bare tesseract command on the same page
files, and born-digital PDF throughput through pdf.py.

    .venv/bin/python bench/bench_ocr.py [--pages 8] [--runs 3] [--pdf-pages 100]

Pages are rendered from real laws (/work/shared/corpus) at 300 dpi with a red seal, skew
and speckle, as a scanner would deliver them, and saved as PNG. Both sides start from
those files: `tesseract page.png - -l chi_sim+eng --psm 6`, two processes at a time with
OMP_THREAD_LIMIT=1, against our Ocr with two workers and a cold cache, which opens the
same files and cleans each page before its tesseract pass (the same libtesseract, in an
engine process per worker: starting them and loading their models is inside the timed run
too). Runs alternate (CLI, Ocr, CLI, Ocr, ...) so a burst of load from elsewhere hits both;
the table shows medians. CPU seconds per page (CLI: its tesseract children; ours: this
process and its engine processes, counted once the service has closed and reaped them; a
run that leaves a child running is refused) barely move with load, wall time does: look at
both, and at the load average printed with them."""

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
from indexer.ocr.tesseract import DOCUMENT_PSM  # noqa: E402
from tests import inputs  # noqa: E402

LANGS = "chi_sim+eng"
WORKERS = 2


def _cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (the tesseract command, our
    engine processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


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
        return subprocess.run(
            ["tesseract", str(path), "-", "-l", LANGS, "--psm", str(DOCUMENT_PSM)],
            check=True, capture_output=True, env=env).stdout.decode("utf-8")

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(one, paths))


def _opened(paths: list[Path]) -> Iterator[Image.Image]:
    for path in paths:
        with Image.open(path) as im:
            yield im.convert("RGB")


def _ours(paths: list[Path], cache: Path) -> list[str]:
    with Ocr(cache, LANGS, workers=WORKERS) as ocr:  # closing it ends and reaps its engines
        pages = ocr.ocr_images(_opened(paths))
        assert ocr.misses == len(paths) and ocr.hits == 0, "cache was not cold"
    return [p.text for p in pages]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pdf-pages", type=int, default=100)
    args = ap.parse_args()
    n = args.pages

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        texts = [inputs.law_excerpt(60 + i, 300) for i in range(n)]
        paths = []
        for i, text in enumerate(texts):
            page = inputs.render_page(text, seal=True, skew=(1.5, -2.3)[i % 2], noise=0.001,
                                      seed=i)
            paths.append(tmp / f"page{i}.png")
            page.save(paths[-1], dpi=(inputs.DPI, inputs.DPI))

        load_before = _load()
        runs: dict[str, list[tuple[float, float]]] = {"cli": [], "ours": []}
        accuracy: dict[str, float] = {}
        for r in range(args.runs):
            for name, fn in (("cli", lambda: _cli(paths)),
                             ("ours", lambda r=r: _ours(paths, tmp / f"cache{r}"))):
                wall, cpu, out = _measure(fn)
                runs[name].append((wall, cpu))
                accuracy[name] = statistics.mean(
                    inputs.char_accuracy(t, o) for t, o in zip(texts, out))
                print(f"run {r + 1} {name:4s}: {n / wall * 60:6.1f} pages/min, "
                      f"{cpu / n:.2f} CPU s/page, load {_load()}", file=sys.stderr, flush=True)

        with Ocr(tmp / "cache0", LANGS, workers=WORKERS) as ocr:  # filled by run 1
            # Its engine, loaded before the timing, reads nothing: every page is a cache hit.
            wall, cpu, _ = _measure(lambda: [p.text for p in ocr.ocr_images(_opened(paths))],
                                    children_reaped=False)
            warm = (wall, cpu, ocr.hits)
        load_after = _load()

        def median(name: str, i: int) -> float:
            return statistics.median(run[i] for run in runs[name])

        cli_ppm = n / median("cli", 0) * 60
        ours_ppm = n / median("ours", 0) * 60
        print(f"\n### OCR: {n} sealed, skewed, speckled pages at 300 dpi, {LANGS}, "
              f"psm {DOCUMENT_PSM}, {WORKERS} workers, {os.cpu_count()} CPUs, "
              f"median of {args.runs} runs\n")
        print(f"load average (1, 5, 15 min): before {load_before}, after {load_after}\n")
        print("| run | pages/minute | CPU s/page | accuracy | note |")
        print("|---|---:|---:|---:|---|")
        print(f"| `tesseract page.png -` ×{WORKERS} processes | {cli_ppm:.1f} | "
              f"{median('cli', 1) / n:.2f} | {accuracy['cli']:.1%} | no cleaning |")
        print(f"| chayue Ocr, {WORKERS} workers, cold cache | {ours_ppm:.1f} | "
              f"{median('ours', 1) / n:.2f} | {accuracy['ours']:.1%} | "
              f"red removed, deskewed, despeckled, bilevel |")
        print(f"| chayue Ocr, warm cache | {n / warm[0] * 60:.0f} | {warm[1] / n:.3f} | "
              f"| {warm[2]} cache hits |")
        print(f"\nratio Ocr / CLI: {ours_ppm / cli_ppm:.2f} pages/minute, "
              f"{median('cli', 1) / median('ours', 1):.2f} by CPU per page")

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
