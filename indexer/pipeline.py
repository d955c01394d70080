"""The indexing pipeline, top to bottom as in DESIGN.md:

    discover → check the ledger → extract (OCR where a page has no text) → metadata
    → build the document → upsert in batches → commit → ledger

Every file ends in the ledger as indexed, skipped or failed with a reason; a batch is
recorded in the ledger only after the engine has committed it, so a killed run is
repaired by the next one (unchanged files are skipped, the rest redone, ids are stable)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from engine import Engine
from engine.model import COLLECTIONS, Document, Page
from indexer import metadata as text_metadata
from indexer.extract import ExtractionError, extractor_for
from indexer.ledger import FAILED, INDEXED, SKIPPED, Entry, Ledger
from indexer.manifest import Manifest

log = logging.getLogger("chayue.indexer")

BATCH_DOCS = 32
BATCH_CHARS = 16_000_000  # flush earlier for very long documents: memory stays flat
IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass
class Options:
    collection: str | None = None
    manifest: Manifest | None = None
    max_file_bytes: int = 512 * 1024 * 1024


@dataclass
class Candidate:
    path: Path  # as found under the root (not resolved: the ledger keys on it)
    root: Path
    problem: tuple[str, str] | None = None  # (status, reason) decided during discovery


@dataclass
class Outcome:
    entry: Entry
    document: Document | None = None
    stale_id: str | None = None  # a previous document of this file to remove
    unchanged: bool = False


@dataclass
class Summary:
    indexed: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    removed: int = 0
    pages: int = 0
    ocr_pages: int = 0
    problems: list[str] = field(default_factory=list)


Progress = Callable[[Outcome], None]


# -- discover ---------------------------------------------------------------------------
def discover(root: Path, manifest_path: Path | None = None) -> Iterator[Candidate]:
    """Every file under root, without following symlinks out of it or round in loops."""
    root = root.absolute()
    if root.is_file():
        yield Candidate(root, root)
        return
    real_root = root.resolve()
    skip = {manifest_path.resolve()} if manifest_path else set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        for name in sorted(dirnames):
            link = here / name
            if link.is_symlink():
                yield _link_problem(link, root, real_root, is_dir=True)
        for name in sorted(filenames):
            path = here / name
            if path.resolve() in skip:
                continue
            if name in IGNORED_NAMES:
                yield Candidate(path, root, (SKIPPED, "系统生成的文件，不是档案内容 / operating-system file"))
            elif path.is_symlink():
                yield _link_problem(path, root, real_root, is_dir=False)
            else:
                yield Candidate(path, root)


def _link_problem(link: Path, root: Path, real_root: Path, is_dir: bool) -> Candidate:
    try:
        target = link.resolve(strict=True)
    except (RuntimeError, OSError) as exc:
        reason = "符号链接循环或目标不存在 / symlink loop or dangling symlink"
        return Candidate(link, root, (FAILED, f"{reason}: {exc.__class__.__name__}"))
    if not target.is_relative_to(real_root):
        return Candidate(link, root, (SKIPPED, f"链接指向索引目录之外 / symlink points outside the root: {target}"))
    if is_dir:
        return Candidate(link, root, (SKIPPED, "目录链接不跟随，其内容已在原位置索引 / directory symlink not followed"))
    return Candidate(link, root)


# -- check, extract, build --------------------------------------------------------------
def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def process(cand: Candidate, ledger: Ledger, ocr: Any, opts: Options) -> Outcome:
    path, root = cand.path, cand.root
    key = str(path)
    previous = ledger.get(key)
    base = Entry(path=key, root=str(root), size=None, mtime_ns=None, sha256=None, status=FAILED)

    def ends(status: str, reason: str, **extra: Any) -> Outcome:
        base.status, base.reason = status, reason
        for k, v in extra.items():
            setattr(base, k, v)
        stale = previous.doc_id if previous and previous.status == INDEXED else None
        return Outcome(base, stale_id=stale)

    if cand.problem:
        return ends(*cand.problem)
    try:
        st = path.stat()
    except OSError as exc:
        return ends(FAILED, f"无法读取文件 / cannot stat: {exc.strerror}")
    base.size, base.mtime_ns = st.st_size, st.st_mtime_ns
    row = opts.manifest.lookup(path) if opts.manifest else None
    base.meta_hash = _digest(row.values if row else None, opts.collection)

    if previous and previous.size == st.st_size and previous.mtime_ns == st.st_mtime_ns \
            and previous.meta_hash == base.meta_hash:
        return Outcome(previous, unchanged=True)
    if st.st_size == 0:
        return ends(SKIPPED, "空文件 / empty file")
    if st.st_size > opts.max_file_bytes:
        limit = opts.max_file_bytes // (1024 * 1024)
        return ends(SKIPPED, f"文件超过 {limit} MB 上限 / file larger than the {limit} MB limit")
    try:
        base.sha256 = sha256_of(path)
    except OSError as exc:
        return ends(FAILED, f"无法读取文件 / cannot read: {exc.strerror}")
    if previous and previous.sha256 == base.sha256 and previous.meta_hash == base.meta_hash \
            and previous.status == INDEXED:
        previous.size, previous.mtime_ns = base.size, base.mtime_ns  # touched, not changed
        return Outcome(previous, unchanged=True)

    extractor = extractor_for(path)
    if extractor is None:
        return ends(SKIPPED, f"不支持的文件格式 / unsupported format ({path.suffix or 'no extension'})")
    try:
        extracted = extractor.extract(path, ocr)
    except ExtractionError as exc:
        return ends(SKIPPED if exc.skip else FAILED, exc.reason)
    except Image.DecompressionBombError as exc:
        return ends(FAILED, f"图像像素过多，疑似解压炸弹 / decompression bomb: {exc}")
    except Exception as exc:  # noqa: BLE001 - an extractor bug must not stop the run; the reason is kept
        log.exception("extracting %s failed", path)
        return ends(FAILED, f"提取失败 / extraction failed: {exc.__class__.__name__}: {exc}")

    pages = [p for p in extracted.pages]
    if not any(p.text.strip() for p in pages):
        return ends(SKIPPED, "文件中没有可识别的文字 / no text found (blank or unreadable pages)",
                    pages=len(pages), ocr_pages=sum(p.ocr for p in pages))
    doc, review = build_document(path, base.sha256, pages, extracted.media_type, extracted.metadata,
                                 row.values if row else {}, opts)
    holder = ledger.holder_of(doc.id, other_than=key)
    if holder and Path(holder).exists():
        return ends(SKIPPED, f"与已索引文件内容相同 / duplicate of {holder}")
    base.status, base.reason, base.doc_id = INDEXED, None, doc.id
    base.pages, base.ocr_pages, base.review = len(pages), sum(p.ocr for p in pages), review
    stale = previous.doc_id if previous and previous.doc_id and previous.doc_id != doc.id else None
    return Outcome(base, document=doc, stale_id=stale)


def _digest(values: dict[str, Any] | None, collection: str | None) -> str:
    blob = json.dumps([values, collection], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build_document(path: Path, sha256: str, pages: list[Page], media_type: str,
                   file_meta: dict[str, str], row: dict[str, Any], opts: Options) -> tuple[Document, str | None]:
    """Merge what we know, most trusted first: manifest, then the text, then file properties."""
    found = text_metadata.extract(pages)
    merged: dict[str, Any] = {**{k: v for k, v in file_meta.items() if v}, **{k: v for k, v in found.items() if v},
                              **row}
    collection = row.get("collection") or opts.collection or "current"
    if collection not in COLLECTIONS:
        collection = "current"
    agency = merged.get("agency") or []
    doc = Document(
        id=str(row.get("id") or row.get("archival_code") or sha256[:24]),
        collection=collection,
        title=str(merged.get("title") or path.stem),
        pages=pages,
        doc_number=merged.get("doc_number"),
        agency=[agency] if isinstance(agency, str) else list(agency),
        recipients=list(merged.get("recipients") or []),
        date=merged.get("date"),
        published=merged.get("published"),
        category=merged.get("category"),
        doc_type=merged.get("doc_type"),
        fonds=merged.get("fonds"),
        archival_code=merged.get("archival_code"),
        retention=merged.get("retention"),
        validity=merged.get("validity"),
        classification=found.get("classification"),
        access=row.get("access") or "open",
        source_path=str(path),
        source_sha256=sha256,
        media_type=media_type,
    )
    review = None
    if doc.classification:
        # A 密级 marking in the text overrides the catalogue: better closed by mistake than leaked.
        doc.access = "restricted"
        review = f"正文有密级标志“{doc.classification}”，已按控制使用处理 / classification marking found"
    return doc, review


# -- run --------------------------------------------------------------------------------
class Batch:
    def __init__(self, engine: Engine, ledger: Ledger):
        self.engine, self.ledger = engine, ledger
        self.outcomes: list[Outcome] = []
        self.chars = 0

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if outcome.document:
            self.chars += sum(len(p.text) for p in outcome.document.pages)
        if len(self.outcomes) >= BATCH_DOCS or self.chars >= BATCH_CHARS:
            self.flush()

    def flush(self) -> None:
        if not self.outcomes:
            return
        docs = [o.document for o in self.outcomes if o.document]
        new_ids = {d.id for d in docs}
        # A file's previous document goes, unless another file still holds the same id.
        stale = {o.stale_id for o in self.outcomes if o.stale_id and o.stale_id not in new_ids
                 and not self.ledger.holder_of(o.stale_id, other_than=o.entry.path)}
        if stale:
            self.engine.delete(stale)
        if docs:
            self.engine.upsert(docs)
        self.engine.commit()
        self.ledger.record([o.entry for o in self.outcomes])
        self.outcomes, self.chars = [], 0


def run(paths: list[Path], engine: Engine, ledger: Ledger, ocr: Any, opts: Options,
        progress: Progress | None = None) -> Summary:
    summary = Summary(problems=list(opts.manifest.problems) if opts.manifest else [])
    run_id = ledger.start_run([str(p.absolute()) for p in paths])
    batch = Batch(engine, ledger)
    for root in paths:
        root = root.absolute()
        seen: set[str] = set()
        manifest_path = opts.manifest.path if opts.manifest else None
        for cand in discover(root, manifest_path):
            seen.add(str(cand.path))
            outcome = process(cand, ledger, ocr, opts)
            _count(summary, outcome)
            if not outcome.unchanged:
                batch.add(outcome)
            if progress:
                progress(outcome)
        batch.flush()
        summary.removed += remove_missing(root, seen, engine, ledger)
    if opts.manifest:
        missing = sorted(f for f in opts.manifest.files if not Path(f).exists())
        summary.problems += [f"清单中的文件不存在 / manifest lists a missing file: {f}" for f in missing]
    ledger.finish_run(run_id)
    return summary


def _count(summary: Summary, o: Outcome) -> None:
    if o.unchanged:
        summary.unchanged += 1
        return
    summary.pages += o.entry.pages or 0
    summary.ocr_pages += o.entry.ocr_pages or 0
    if o.entry.status == INDEXED:
        summary.indexed += 1
    elif o.entry.status == SKIPPED:
        summary.skipped += 1
    else:
        summary.failed += 1


def remove_missing(root: Path, seen: set[str], engine: Engine, ledger: Ledger) -> int:
    """Files the ledger knows under this root that are gone: their documents go too."""
    gone = [e for e in ledger.under(str(root)) if e.path not in seen]
    if not gone:
        return 0
    gone_paths = {e.path for e in gone}
    ids = {e.doc_id for e in gone if e.status == INDEXED and e.doc_id
           and not set(ledger.holders(e.doc_id)) - gone_paths}
    if ids:
        engine.delete(ids)
        engine.commit()
    ledger.forget(sorted(gone_paths))
    return len(ids)
