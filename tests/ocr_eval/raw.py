"""The raw RapidOCR reading a page is measured against: RapidOCR as its README runs it (its
defaults, the models inside its wheel, the same PP-OCRv6 ones chayue uses), one onnxruntime
thread, the texts of its lines joined. What the engine gives without chayue around it: on
no page may chayue read less (tests/test_ocr_eval.py, bench/bench_ocr.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
