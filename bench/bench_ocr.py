"""OCR throughput of our Ocr service against the bare tesseract command, on the same page
images in the same run, and born-digital PDF throughput through pdf.py.

    .venv/bin/python bench/bench_ocr.py [--pages 6] [--pdf-pages 100]

Pages are rendered from real laws (/work/shared/corpus) at 300 dpi with a red seal, 1.5°
skew and speckle, as a scanner would deliver them. Our Ocr does more work per page than
bare tesseract (cleaning, a script check), so the ratio shows what parallelism and the
cache buy after paying for that."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.extract.pdf import PdfExtractor  # noqa: E402
from indexer.ocr import DOCUMENT_PSM, Ocr  # noqa: E402
from tests import inputs  # noqa: E402

LANGS = "chi_sim+eng"


def _tesseract(path: Path, env: dict[str, str]) -> None:
    subprocess.run(["tesseract", str(path), "stdout", "-l", LANGS, "--psm", str(DOCUMENT_PSM)],
                   check=True, capture_output=True, env=env)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=6)
    ap.add_argument("--pdf-pages", type=int, default=100)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        texts = [inputs.law_excerpt(60 + i, 300) for i in range(args.pages)]
        images = [inputs.render_page(t, seal=True, skew=1.5, noise=0.001, seed=i)
                  for i, t in enumerate(texts)]
        paths = []
        for i, im in enumerate(images):
            p = tmp / f"page{i}.png"
            im.save(p)
            paths.append(p)
        rows: list[tuple[str, float, str]] = []

        env = dict(os.environ)
        t = time.perf_counter()
        for p in paths:
            _tesseract(p, env)
        seq = time.perf_counter() - t
        rows.append(("tesseract CLI, sequential (default threads)", seq, ""))

        env1 = dict(os.environ, OMP_THREAD_LIMIT="1")
        t = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda p: _tesseract(p, env1), paths))
        par = time.perf_counter() - t
        rows.append(("tesseract CLI, 2 processes, OMP_THREAD_LIMIT=1", par, ""))

        ocr = Ocr(tmp / "cache", LANGS, workers=2)
        t = time.perf_counter()
        pages = ocr.ocr_images(images)
        cold = time.perf_counter() - t
        acc = sum(inputs.char_accuracy(x, p.text) for x, p in zip(texts, pages)) / len(pages)
        rows.append(("chayue Ocr, 2 workers, cold cache (clean+deskew+OCR)", cold,
                     f"mean accuracy {acc:.1%}"))
        t = time.perf_counter()
        ocr.ocr_images(images)
        warm = time.perf_counter() - t
        rows.append(("chayue Ocr, warm cache (re-run)", warm, f"{ocr.hits} cache hits"))
        ocr.close()

        print(f"\n### OCR: {args.pages} pages, 300 dpi, {LANGS}, psm {DOCUMENT_PSM}, "
              f"{os.cpu_count()} CPUs\n")
        print("| run | seconds | pages/minute | vs CLI sequential | note |")
        print("|---|---:|---:|---:|---|")
        for name, secs, note in rows:
            print(f"| {name} | {secs:.2f} | {args.pages / secs * 60:.1f} | "
                  f"{seq / secs:.2f}× | {note} |")

        pdf_texts = [inputs.law_excerpt(i % 300, 600) for i in range(args.pdf_pages)]
        pdf = inputs.text_pdf(tmp / "born_digital.pdf", pdf_texts)
        t = time.perf_counter()
        extracted = PdfExtractor().extract(pdf, ocr)
        secs = time.perf_counter() - t
        assert not any(p.ocr for p in extracted.pages)
        print(f"\n### Born-digital PDF through pdf.py\n\n| pages | seconds | pages/second |\n"
              f"|---:|---:|---:|\n| {len(extracted.pages)} | {secs:.2f} | "
              f"{len(extracted.pages) / secs:.1f} |")


if __name__ == "__main__":
    main()
