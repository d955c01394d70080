"""jieba (pure Python, what analysis/segment.py uses) against faster implementations of
the same algorithm and dictionary, each loaded with analysis/userdict.txt: identical
tokens on the corpus (after the same word filter) and speed on the same text."""

from __future__ import annotations

import logging
import time
from typing import Any
from collections.abc import Callable

from analysis import segment
from analysis.normalize import normalize
from bench import corpus


def _userdict() -> list[tuple[str, int | None, str | None]]:
    out = []
    for line in segment.USER_DICT.read_text(encoding="utf-8").splitlines():
        p = line.split()
        if p:
            out.append((p[0], int(p[1]) if len(p) > 1 else None, p[2] if len(p) > 2 else None))
    return out


def _keep(tokens) -> list[str]:
    return [w for w in tokens if segment._WORDLIKE.search(w) and not w.isspace()]


def candidates() -> dict[str, Callable[[str], list[str]] | str]:
    """name → cut(normalised text) → tokens, or the reason it is not available."""
    out: dict[str, Any] = {}
    try:
        import rjieba

        j = rjieba.Jieba()
        for w, f, tag in _userdict():
            j.add_word(w, f, tag)
        out["rjieba (jieba-rs)"] = lambda t, j=j: j.cut(t, True)
    except ImportError as exc:
        out["rjieba (jieba-rs)"] = f"not installed: {exc}"
    for mod_name in ("jieba_fast", "jieba_fast_dat"):
        try:
            mod = __import__(mod_name)
            mod.setLogLevel(logging.WARNING)
            tk = mod.Tokenizer()
            tk.load_userdict(str(segment.USER_DICT))
            tk.initialize()
            out[mod_name] = (lambda tk_: lambda t: list(tk_.cut(t, HMM=True)))(tk)
        except ImportError as exc:
            out[mod_name] = f"not installed: {exc}"
    return out


def compare(pool: corpus.Pool, sample_chars: int = 400_000) -> list[dict[str, Any]]:
    """Identity over every piece of the corpus; speed on the first `sample_chars`."""
    texts = [normalize(p) for p in pool.pieces]
    reference = [pool.analysed[p][0].split() for p in pool.pieces]  # what the index holds
    n_tokens = sum(len(r) for r in reference)
    sample, chars = [], 0
    for t in texts:
        if chars >= sample_chars:
            break
        sample.append(t)
        chars += len(t)
    segment._tokenizer.initialize()
    t0 = time.perf_counter()
    for t in sample:
        list(segment._tokenizer.cut(t, HMM=True))
    jieba_secs = time.perf_counter() - t0
    rows = [{"name": "jieba 0.42.1 (Python)", "chars_per_s": chars / jieba_secs, "speedup": 1.0,
             "identical_pieces": 1.0, "identical_tokens": 1.0, "note": ""}]
    for name, cut in candidates().items():
        if isinstance(cut, str):
            rows.append({"name": name, "note": cut})
            continue
        t0 = time.perf_counter()
        for t in sample:
            cut(t)
        secs = time.perf_counter() - t0
        same_pieces = same_tokens = 0
        example = ""
        for text, ref in zip(texts, reference, strict=True):
            got = _keep(cut(text))
            if got == ref:
                same_pieces += 1
                same_tokens += len(ref)
            elif not example:
                diff = sorted(set(got) ^ set(ref))[:4]
                example = f"e.g. {' / '.join(diff)}"
        rows.append({"name": name, "chars_per_s": chars / secs, "speedup": jieba_secs / secs,
                     "identical_pieces": same_pieces / len(texts), "identical_tokens": same_tokens / n_tokens,
                     "note": example})
    return rows
