"""The benchmark harness runs end to end on a tiny set (no timing asserts), and its FTS5
baseline is a real baseline: same tokens, same documents for the same token queries."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.inputs import laws

pytestmark = pytest.mark.slow

DOCS = 200
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> Path:
    """The first laws of the real corpus, so the text pool is cut in seconds."""
    root = tmp_path_factory.mktemp("bench-corpus")
    (root / "laws").mkdir()
    lines = [json.dumps(row, ensure_ascii=False) for row in laws()[:12]]
    (root / "laws" / "laws.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def bench_run(small_corpus, tmp_path_factory):
    """`python -m bench` as `make bench` runs it, in its own process (its HTTP load uses
    asyncio.run, which cannot nest in a loop another test left running)."""
    out = tmp_path_factory.mktemp("bench-out")
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", str(DOCS), "--corpus", str(small_corpus), "--out", str(out),
         "--analysis-docs", "8", "--questions", "10", "--attack-seconds", "1", "--budget", "0.1", "--requests", "3", "--http-seconds", "1",
         "--ocr-pages", "0", "--segment-chars", "5000", "--flood-seconds", "1", "--results", "-",
         "--no-es-node", "--use-visits", "200", "--use-views", "5000"],
        cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    yield proc.stdout, out
    shutil.rmtree(out, ignore_errors=True)


def test_bench_prints_one_table_with_every_row(bench_run):
    text, _ = bench_run
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| area | figure |")
    body = "\n".join(rows)
    for needle in ("jieba 0.42.1", "rjieba", "analysis + engine, 2 processes", "bulk build",
                   "indexer peak memory", "index on disk", "FTS5 vocabulary equals our tokens",
                   "frequent word", "rare word", "two words", "phrase", "文号 lookup",
                   "2 facet filters + date range", "deep page", "question", "questions (", "HTTP 1 client", "HTTP 8 clients",
                   "RSS after the load", "50-client flood", "under the flood", "Elasticsearch backend",
                   "-hit search as csv", "-hit search as xlsx", "利用统计 of a generated year"):
        assert needle in body, needle
    assert "| search, HTTP 1 client |" in body and "errors" not in body
    assert "totals differ" not in text


def test_cached_analysis_equals_to_record(bench_run, small_corpus):
    from bench import corpus

    # The pool the bench cut and cached (cutting it again here took two minutes of CI's time).
    _, out = bench_run
    saved = corpus.OUT
    corpus.OUT = out
    try:
        pool = corpus.load_pool(small_corpus, workers=1)
        assert corpus.verify(pool, 5, seed=3) == 5
    finally:
        corpus.OUT = saved


def test_fts5_and_engine_return_the_same_ids_for_token_queries(bench_run, small_corpus):
    from bench import corpus
    from bench.fts5 import Fts5Search
    from engine.embedded import open_embedded
    from engine.query import Bool, Phrase, SearchSpec, Term

    _, out = bench_run
    saved = corpus.OUT
    corpus.OUT = out
    try:
        pool = corpus.load_pool(small_corpus)
    finally:
        corpus.OUT = saved
    backend = open_embedded(out / f"data-{DOCS}-1")
    fts = Fts5Search(out / f"fts5-{DOCS}-1.sqlite")
    by_df = sorted((w for w in pool.word_df if len(w) >= 2), key=lambda w: (-pool.word_df[w], w))
    frequent, middle, rare = by_df[5], by_df[len(by_df) // 4], by_df[-1]
    piece = next(p for p in pool.pieces if len(pool.analysed[p][0].split()) > 6)
    phrase = tuple(pool.analysed[piece][0].split()[2:5])
    grams = tuple(pool.analysed[piece][1].split()[:3])
    cases = [
        (Term("body_words", frequent), f'body_words : "{frequent}"'),
        (Term("body_words", rare), f'body_words : "{rare}"'),
        (Bool(must=(Term("body_words", frequent), Term("body_words", middle))),
         f'body_words : "{frequent}" AND body_words : "{middle}"'),
        (Phrase("body_words", phrase), f'body_words : "{" ".join(phrase)}"'),
        (Phrase("body_grams", grams), f'body_grams : "{" ".join(grams)}"'),
        (Term("title_words", frequent), f'title_words : "{frequent}"'),
    ]
    nonempty = 0
    for node, expr in cases:
        ours = {h.id for h in backend.execute(SearchSpec(query=node, size=DOCS, fields=("id",))).hits}
        theirs = fts.ids(fts.match_rowids(expr))
        assert ours == theirs, expr
        nonempty += bool(ours)
    assert nonempty >= 4
