"""Index builds, each in its own process so its peak RSS is its own (ru_maxrss):

    python -m bench.build embedded DATA_DIR SIZE SEED CORPUS     bulk, cached analysis
    python -m bench.build fts5 DB_PATH SIZE SEED CORPUS           the SQLite FTS5 baseline
    python -m bench.build analysis DATA_DIR DOCS SEED CORPUS     real analysis, 1 and 2 processes
    python -m bench.build elastic ALIAS SIZE SEED CORPUS          the Elasticsearch backend at ES_URL

Each prints one JSON line of figures on stdout."""

from __future__ import annotations

import gc
import json
import multiprocessing as mp
import resource
import shutil
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import corpus
from engine.embedded import EmbeddedBackend
from engine.record import to_record

COMMIT_EVERY = 5_000  # documents per commit in the bulk builds (the pipeline commits per batch)
FTS_TOKENCHARS = ".%-_+#&"  # characters jieba keeps inside a token (its re_han class)
FTS_COLUMNS = ("title_words", "body_words", "title_grams", "body_grams")
# The FTS5 baseline's tables, for `build_fts5` and for bench/relevance.py's small copy.
FTS5_SCHEMA = f"""
        CREATE TABLE docs(rowid INTEGER PRIMARY KEY, id TEXT UNIQUE, collection TEXT, title TEXT,
            doc_number TEXT, doc_number_key TEXT, date TEXT, year INTEGER, category TEXT,
            doc_type TEXT, validity TEXT, access TEXT, pages INTEGER, archival_code TEXT,
            published TEXT, agency_json TEXT, page_text_json TEXT);
        CREATE TABLE doc_agency(rowid INTEGER, agency TEXT);
        CREATE VIRTUAL TABLE fts USING fts5({", ".join(FTS_COLUMNS)}, content='',
            tokenize="unicode61 remove_diacritics 0 tokenchars '{FTS_TOKENCHARS}'");
"""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mb(*keys: str) -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in keys:
            out[key] = int(line.split()[1]) / 1024
    return out


class PeakRss:
    """Peak resident memory of this process while the block runs, sampled every 50 ms from
    /proc/self/status, split as Linux splits it: anonymous memory (what the indexer
    allocates) and mapped files (tantivy reads segments through mmap while it merges them:
    page cache, shared and reclaimable, which grows with the index and is not the
    indexer's own). `base` is the anonymous memory held before the block: the harness's
    pool of cut text and tokens, which a real indexer does not have."""

    def __init__(self) -> None:
        self.base = self.anon = self.file = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        now = _status_mb("RssAnon", "RssFile")
        self.anon = max(self.anon, now["RssAnon"])
        self.file = max(self.file, now["RssFile"])

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._sample()

    def __enter__(self) -> PeakRss:
        gc.collect()
        self.base = _status_mb("RssAnon")["RssAnon"]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def build_embedded(data: Path, size: int, seed: int, corpus_dir: Path) -> dict[str, Any]:
    pool = corpus.load_pool(corpus_dir, seed=0)
    cached = corpus.CachedAnalysis(pool)
    shutil.rmtree(data, ignore_errors=True)
    backend = EmbeddedBackend(data / "index", writable=True)
    text = 0
    with PeakRss() as rss:
        started = time.perf_counter()
        batch: list[dict[str, Any]] = []
        for n, doc in enumerate(corpus.documents(pool, size, seed), 1):
            text += corpus.text_bytes(doc)
            batch.append(cached.record(doc))
            if len(batch) >= 256:
                backend.upsert(batch)
                batch = []
            if n % COMMIT_EVERY == 0:
                backend.upsert(batch)
                batch = []
                backend.commit()
        backend.upsert(batch)
        backend.commit()
        backend.close()  # waits for the background merges: the time is to a finished index
        secs = time.perf_counter() - started
    return {"docs": size, "text_bytes": text, "seconds": secs, "peak_rss_mb": peak_rss_mb(),
            "pool_anon_mb": rss.base, "indexer_anon_mb": rss.anon - rss.base, "mapped_files_mb": rss.file,
            "index_bytes": dir_bytes(data / "index"), "analysis_misses": cached.misses}


def fts5_connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), check_same_thread=False)
    con.execute("PRAGMA temp_store=MEMORY")
    con.execute("PRAGMA cache_size=-200000")
    con.execute("PRAGMA mmap_size=4294967296")
    return con


def build_fts5(db: Path, size: int, seed: int, corpus_dir: Path) -> dict[str, Any]:
    pool = corpus.load_pool(corpus_dir, seed=0)
    cached = corpus.CachedAnalysis(pool)
    db.unlink(missing_ok=True)
    con = fts5_connect(db)
    con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + FTS5_SCHEMA)
    tokens: set[str] = set()
    text = 0
    check = 0.0  # seconds of the vocabulary check, not part of the build
    with PeakRss() as rss:
        started = time.perf_counter()
        con.execute("BEGIN")
        for n, doc in enumerate(corpus.documents(pool, size, seed), 1):
            text += corpus.text_bytes(doc)
            r = cached.record(doc)
            con.execute("INSERT INTO docs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (
                n, r["id"], r["collection"], r["title"], r.get("doc_number"), r.get("doc_number_key"),
                r.get("date"), r.get("year"), r.get("category"), r.get("doc_type"), r.get("validity"),
                r["access"], r["pages"], r.get("archival_code"), r.get("published"),
                json.dumps(r.get("agency", []), ensure_ascii=False),
                json.dumps(r["page_text"], ensure_ascii=False)))
            con.executemany("INSERT INTO doc_agency VALUES (?,?)", [(n, a) for a in r.get("agency", [])])
            values = [r.get(c, "") for c in FTS_COLUMNS]
            con.execute(f"INSERT INTO fts(rowid, {', '.join(FTS_COLUMNS)}) VALUES (?,?,?,?,?)", (n, *values))
            if n <= 20_000:  # the vocabulary check: every distinct token of the first 20k documents
                t = time.perf_counter()
                for v in values:
                    tokens.update(v.split())
                check += time.perf_counter() - t
            if n % COMMIT_EVERY == 0:
                con.execute("COMMIT")
                con.execute("BEGIN")
        con.execute("COMMIT")
        con.executescript("""
            CREATE INDEX doc_agency_rowid ON doc_agency(rowid);
            CREATE INDEX docs_doc_number_key ON docs(doc_number_key);
        """)
        secs = time.perf_counter() - started - check
    con.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, fts, 'row')")
    vocab = {t for (t,) in con.execute("SELECT term FROM temp.vocab")}
    con.close()
    return {"docs": size, "text_bytes": text, "seconds": secs, "peak_rss_mb": peak_rss_mb(),
            "pool_anon_mb": rss.base, "indexer_anon_mb": rss.anon - rss.base, "mapped_files_mb": rss.file,
            "db_bytes": db.stat().st_size, "tokens_checked": len(tokens),
            "tokens_identical": len(tokens & vocab)}


def build_elastic(alias: Path, size: int, seed: int, corpus_dir: Path) -> dict[str, Any]:
    """The same documents into the Elasticsearch backend at ES_URL, through the backend's own
    full re-index (bulk into a new index, then the alias swap), as `chayue index` does."""
    from engine.elastic import ElasticBackend
    from settings import Settings

    pool = corpus.load_pool(corpus_dir, seed=0)
    cached = corpus.CachedAnalysis(pool)
    backend = ElasticBackend.from_settings(Settings(engine="elasticsearch", es_index=str(alias)), writable=True)
    text = 0
    started = time.perf_counter()
    backend.begin_reindex()
    batch: list[dict[str, Any]] = []
    for doc in corpus.documents(pool, size, seed):
        text += corpus.text_bytes(doc)
        batch.append(cached.record(doc))
        if len(batch) >= 500:
            backend.upsert(batch)
            batch = []
    backend.upsert(batch)
    backend.finish_reindex()
    secs = time.perf_counter() - started
    info = backend.info()
    backend.close()
    return {"docs": size, "text_bytes": text, "seconds": secs, "index_bytes": info.get("index_bytes")}


def _record(doc):  # a top-level function, for the process pool
    return to_record(doc)


def build_with_analysis(data: Path, n: int, seed: int, corpus_dir: Path) -> dict[str, Any]:
    """Documents through the real analysis (to_record) and the engine: in one process,
    as the pipeline runs today, and with analysis in 2 worker processes."""
    pool = corpus.load_pool(corpus_dir, seed=0)
    docs = list(corpus.documents(pool, n, seed, start=10_000_000))
    text = sum(corpus.text_bytes(d) for d in docs)
    out: dict[str, Any] = {"docs": n, "text_bytes": text}
    for label, workers in (("one_process", 1), ("two_processes", 2)):
        shutil.rmtree(data, ignore_errors=True)
        backend = EmbeddedBackend(data / "index", writable=True)
        started = time.perf_counter()
        if workers == 1:
            backend.upsert(to_record(d) for d in docs)
        else:
            with mp.get_context("fork").Pool(workers) as p:
                backend.upsert(p.imap(_record, docs, chunksize=4))
        backend.commit()
        out[label] = time.perf_counter() - started
        backend.close()
    out["peak_rss_mb"] = peak_rss_mb()
    out["children_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    shutil.rmtree(data, ignore_errors=True)
    return out


def main(argv: list[str]) -> None:
    kind, path, size, seed, corpus_dir = argv[0], Path(argv[1]), int(argv[2]), int(argv[3]), Path(argv[4])
    fn = {"embedded": build_embedded, "fts5": build_fts5, "analysis": build_with_analysis,
          "elastic": build_elastic}[kind]
    print(json.dumps(fn(path, size, seed, corpus_dir)))


if __name__ == "__main__":
    main(sys.argv[1:])
