"""The raw RapidOCR reading a page is measured against: RapidOCR as its README runs it (its
defaults, the models inside its wheel, the same PP-OCRv6 ones chayue uses), one onnxruntime
thread, the texts of its lines joined. What the engine gives without chayue around it: on
no page may chayue read less (tests/test_ocr_eval.py, bench/bench_ocr.py)."""

from __future__ import annotations

import json
import lzma
import os
import subprocess
import sys
from pathlib import Path

# Raw readings recorded by the page's pixels and RapidOCR's version (the key test_ocr_eval.py
# makes), so a run need not read again the pages it drew exactly as before. Written from
# pytest's cache after a run: python -m tests.ocr_eval.raw --record .pytest_cache/d/ocr-eval-raw
RECORDED = Path(__file__).resolve().parent / "raw-readings.json.xz"

SCRIPT = """
import json, sys
from rapidocr import RapidOCR
engine = RapidOCR(params={"Global.log_level": "critical",
                          "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                          "EngineConfig.onnxruntime.inter_op_num_threads": 1})
print(json.dumps(["\\n".join(engine(p).txts or ()) for p in sys.argv[1:]], ensure_ascii=False))
"""


def read(paths: list[Path], processes: int = 2) -> list[str]:
    """The raw readings of these image files, `processes` at a time, in order."""
    shares = [paths[i::processes] for i in range(processes)]
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1")
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, *map(str, share)], env=env,
                              stdout=subprocess.PIPE, text=True) for share in shares if share]
    outs = [json.loads(p.communicate()[0]) for p in procs]
    texts = [""] * len(paths)
    for i, out in enumerate(outs):
        texts[i::processes] = out
    return texts


def recorded() -> dict[str, str]:
    if not RECORDED.exists():
        return {}
    return json.loads(lzma.decompress(RECORDED.read_bytes()))


def record(cache: Path) -> int:
    """RECORDED from pytest's cache of raw readings (one `<key>.json` per page)."""
    found = {p.stem: json.loads(p.read_text("utf-8")) for p in sorted(cache.glob("*.json"))}
    RECORDED.write_bytes(lzma.compress(json.dumps(found, ensure_ascii=False, sort_keys=True, indent=0).encode()))
    return len(found)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Record raw RapidOCR's readings from pytest's cache.")
    parser.add_argument("--record", type=Path, required=True, metavar="CACHE_DIR")
    print(f"{record(parser.parse_args().record)} readings recorded in {RECORDED}")
