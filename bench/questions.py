"""Questions people ask (tests/data/stard-dev.jsonl.xz: 308 real questions with the articles that
answer them) over the relevance corpus (the 300 laws, the seed speech and its scan, the State
Council pages), on chayue and on SQLite FTS5 over the same tokens (OR of the question's jieba
words, bm25; its passage shown is the hit's first snippet-bearing article, cut as ours are):

- law@10: the answering law among the first 10 hits;
- article@3: an answering article among the first 3 passages shown (chayue: 最相关条款; FTS5:
  the best-scoring articles of its first hits, scored as ours are, so only the document
  ranking differs);
- empty: questions that find nothing.

Counted over the questions whose answering law is in the collection (a question answered by
a 司法解释 or 条例 the collection lacks can only be answered by a related law), and over all.

    .venv/bin/python -m bench.questions [--out bench/out]    # prints the figures as JSON"""

from __future__ import annotations

import argparse
import json
import lzma
import re
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Callable

from analysis.meaning import MODEL
from bench.corpus import OUT
from settings import Settings

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "stard-dev.jsonl.xz"
# The relevance corpus's passage vectors, as the meaning model gives them, kept to 5 bits a
# dimension (-15..15 with a scale per vector: cosine 0.988 on average, 0.981 at worst, to the
# model's; 4.7 MB): embedding its 21 500 passages takes 8 minutes on two cores, which the test
# suite cannot spend at every run. Seeds the cache of vectors by text; a passage not in it (the
# corpus or the cutting changed) is embedded. Written again by `python -m bench.questions
# --write-seed`.
SEED = DATA.with_name("passage-vectors.npz.xz")
SEED_STEPS = 15  # each dimension in -15..15: 5 bits
_ARTICLE = re.compile(r"(第[一二三四五六七八九十百千零]+条(?:之[一二三四五六七八九十]+)?)$")


@dataclass(frozen=True)
class Question:
    text: str
    answers: frozenset[tuple[str, str]]  # (law title as in the collection, 第X条)
    in_collection: bool


def questions(titles: set[str]) -> list[Question]:
    out = []
    with lzma.open(DATA, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            answers = set()
            for article in row["articles"]:
                m = _ARTICLE.search(article)
                if not m:
                    continue
                law = article[:m.start()]
                law = law if law in titles else f"中华人民共和国{law}"
                answers.add((law, m.group(1)))
            out.append(Question(row["question"], frozenset(answers), any(law in titles for law, _ in answers)))
    return out


# What a search gives back for the measure: the titles of its first 10 hits, the (title, label)
# of its first 3 passages shown, how many it found, and how long it took (ms).
Answer = tuple[list[str], list[tuple[str, str | None]], int, float]


def evaluate(qs: list[Question], search: Callable[[str], Answer]) -> dict[str, Any]:
    rows = []
    for q in qs:
        titles, shown, total, ms = search(q.text)
        rows.append((q, any(law in titles for law, _ in q.answers),
                     any(s in q.answers for s in shown), total == 0, ms))
    inside = [r for r in rows if r[0].in_collection]

    def share(rs: list, i: int) -> float:
        return round(sum(1 for r in rs if r[i]) / max(1, len(rs)), 3)

    times = sorted(r[4] for r in rows)
    return {"questions": len(rows), "in_collection": len(inside),
            "law@10": share(inside, 1), "article@3": share(inside, 2), "empty": sum(1 for r in rows if r[3]),
            "law@10 all": share(rows, 1), "article@3 all": share(rows, 2),
            "p50 ms": round(statistics.median(times), 1), "p99 ms": round(times[int(0.99 * (len(times) - 1))], 1)}


def measure(out: Path, limit: int = 0, use_meaning: bool = True) -> dict[str, Any]:
    """The figures of chayue (its questions ordered by meaning when `use_meaning` and the model
    is there, as the api does) and of FTS5."""
    from analysis import meaning as embeddings
    from api import meaning
    from api.highlight import query_terms
    from api.routes.search import best_passages, search
    from bench.relevance import _fts5
    from engine import Engine, syntax
    from engine.embedded import open_embedded
    from engine.model import Audience, Hit
    from engine.record import to_record
    from tests.relevance import cases

    corpus = cases.corpus()
    records = [to_record(d) for d in corpus.documents]
    titles = {d.title for d in corpus.documents}
    qs = questions(titles)[:limit or None]
    data = out / "questions-index"
    shutil.rmtree(data, ignore_errors=True)
    backend = open_embedded(data, writable=True)
    backend.upsert(records)
    backend.commit()
    engine = Engine(backend)
    settings = Settings(data=data, meaning=use_meaning)
    model = meaning.model(settings)
    embedded_s, passages = 0.0, 0
    if model is not None:
        started = time.perf_counter()
        vectors = embeddings.Vectors(data / "meaning.sqlite")
        cache = embeddings.passage_cache()
        seed(cache)
        passages = vectors.put(corpus.documents, model, cache=cache)
        vectors.close()
        embedded_s = time.perf_counter() - started

    def answer(parsed: syntax.ParsedQuery, hits: list[Hit], total: int, started: float) -> Answer:
        _, answers = best_passages(hits, parsed, query_terms(parsed))
        return ([h.fields.get("title", "") for h in hits], [(a.title, a.label) for a in answers],
                total, (time.perf_counter() - started) * 1000)

    def ours(q: str) -> Answer:
        """The route itself (api/routes/search.py), as a request for the first page calls it."""
        started = time.perf_counter()
        body = search(q=q, page=1, size=10, engine=engine, audience=Audience.public, settings=settings)
        return ([h.title for h in body.hits], [(a.title, a.label) for a in body.answers], body.total,
                (time.perf_counter() - started) * 1000)

    db = out / "questions-fts5.sqlite"
    _fts5(db, records)
    from bench.build import fts5_connect

    con = fts5_connect(db)

    def fts5(q: str) -> Answer:
        started = time.perf_counter()
        parsed = syntax.parse(q, None, "words")
        parsed.question = True  # every passage shown as ours, from FTS5's documents
        ws = [w.replace('"', '""') for w in parsed.keywords]
        if not ws:
            return [], [], 0, 0.0
        expr = " OR ".join(f'"{w}"' for w in ws)
        total = con.execute("SELECT count(*) FROM fts WHERE fts MATCH ?", (f"body_words : ({expr})",)).fetchone()[0]
        found = con.execute(
            "SELECT d.id, d.title, d.page_text_json FROM fts JOIN docs d ON d.rowid = fts.rowid "
            "WHERE fts MATCH ? ORDER BY bm25(fts, 4.0, 1.0, 1.0, 0.25) LIMIT 10",
            (f"{{title_words body_words}} : ({expr})",)).fetchall()
        hits = [Hit(id=i, score=0.0, fields={"title": t, "page_text": json.loads(p)}) for i, t, p in found]
        return answer(parsed, hits, total, started)

    result = {"chayue": evaluate(qs, ours), "fts5": evaluate(qs, fts5), "docs": len(records),
              "meaning": model is not None, "passages": passages,
              "embedding s": round(embedded_s, 1)}
    engine.close()
    con.close()
    return result


def seed(cache: Path) -> None:
    """The shipped vectors into the cache, where it does not hold them yet."""
    import io
    import sqlite3

    import numpy as np

    with lzma.open(SEED) as f:
        z = np.load(io.BytesIO(f.read()))
    if str(z["model"]) != MODEL:
        return
    keys = [bytes(k) for k in z["keys"]]
    vecs = z["q"].astype(np.float32) * z["scale"].astype(np.float32)[:, None]
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(cache, timeout=60)
    try:
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS v (h BLOB PRIMARY KEY, vec BLOB NOT NULL)")
            db.executemany("INSERT OR IGNORE INTO v VALUES (?, ?)", [(k, v.tobytes()) for k, v in zip(keys, vecs)])
    finally:
        db.close()


def write_seed(out: Path) -> None:
    """The relevance corpus's passage vectors from the cache (embedding those it lacks) into SEED."""
    import io
    import sqlite3

    import numpy as np

    from analysis import meaning
    from api.passages import cut
    from tests.relevance import cases

    model = meaning.load()
    if model is None:
        raise SystemExit("no meaning model: python -m analysis.meaning --fetch")
    cache = meaning.passage_cache()
    store = meaning.Vectors(out / "seed-meaning.sqlite")
    docs = cases.corpus().documents
    store.put(docs, model, cache=cache)
    store.close()
    texts = sorted({meaning.passage_text(d.title, p.label, p.text) for d in docs
                    for p in cut([pg.text for pg in d.pages])})
    keys = [meaning.text_key(t) for t in texts]
    db = sqlite3.connect(cache)
    found = {}
    for k in range(0, len(keys), 500):
        part = keys[k:k + 500]
        found.update(db.execute(f"SELECT h, vec FROM v WHERE h IN ({','.join('?' * len(part))})", part))
    db.close()
    vecs = np.stack([np.frombuffer(found[k], dtype=np.float32) for k in keys])
    scale = np.abs(vecs).max(axis=1) / SEED_STEPS
    buf = io.BytesIO()
    np.savez(buf, model=np.array(MODEL), keys=np.frombuffer(b"".join(keys), dtype="S20"),
             scale=scale.astype(np.float16), q=np.round(vecs / scale[:, None]).astype(np.int8))
    SEED.write_bytes(lzma.compress(buf.getvalue(), preset=9))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--limit", type=int, default=0, help="the first N questions only (0: all)")
    p.add_argument("--words-only", action="store_true", help="questions by words alone (no meaning model)")
    p.add_argument("--write-seed", action="store_true", help=f"write {SEED.name} (the corpus's passage vectors)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.write_seed:
        write_seed(args.out)
        return 0
    print(json.dumps(measure(args.out, args.limit, not args.words_only), ensure_ascii=False))  # one line: `make bench` reads the last
    return 0


if __name__ == "__main__":
    sys.exit(main())
