"""The indexing pipeline, top to bottom as in DESIGN.md:

    recover → discover → check the ledger → read (hash, extract, OCR) → decide (metadata,
    duplicates, document) → batch: note ids, upsert, commit, record → remove what is gone

Every file ends in the ledger as indexed, skipped or failed with a reason. A batch's ids
are noted in the ledger before the engine writes them and its rows are recorded after the
engine committed, so a run killed at any moment (kill -9) is repaired by the next: rows
the ledger lacks are redone (ids are stable), and a document the engine got but no row
explains is removed or redone (`recover`)."""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import signal
import stat
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from analysis import meaning
from engine import Engine
from engine.model import COLLECTIONS, Document, Page
from indexer import arrangement, limits, relations, withdrawals
from indexer import metadata as text_metadata
from indexer.extract import Extracted, ExtractionError, extractor_for
from indexer.ledger import FAILED, INDEXED, SKIPPED, Entry, Ledger
from indexer.manifest import Manifest
from staff import opening
from staff.store import Store

log = logging.getLogger("chayue.indexer")

BATCH_DOCS = 32
BATCH_CHARS = 16_000_000  # flush earlier for very long documents: memory stays flat
SEEN_FLUSH = 5_000  # unchanged files marked seen per ledger transaction
IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
# Lock and partial files that editors, browsers and copy tools leave while they work.
TEMPORARY_PREFIXES = ("~$", ".~lock.")
TEMPORARY_SUFFIXES = (".part", ".crdownload", ".tmp", ".swp", ".partial")
NOTABLE = 50  # failed/skipped files kept for the summary; the ledger has them all


@dataclass
class Options:
    collection: str | None = None
    manifest: Manifest | None = None
    max_file_bytes: int = 512 * 1024 * 1024
    batch_docs: int = BATCH_DOCS
    exclude: tuple[Path, ...] = ()  # e.g. the data directory when it lies under a root
    retry_failed: bool = False  # read failed files again even when unchanged
    workers: int = 0  # processes reading files ahead of the writer; 0: read in this process
    file_seconds: float = limits.FILE_SECONDS  # reading one file (extraction, OCR) may take this long
    file_memory_mb: float = limits.FILE_MEMORY_MB  # and add this much to the reader's memory
    meaning: bool = False  # embed each document's passages for questions (analysis/meaning.py)
    meaning_model: Path | None = None  # the model's folder; None: the cache's


@dataclass
class Candidate:
    path: Path  # as found under the root (not resolved: the ledger keys on it)
    root: Path
    problem: tuple[str, str] | None = None  # (status, reason) decided during discovery
    force: bool = False  # read it even when the ledger says unchanged


@dataclass
class Job:
    """A file the ledger cannot vouch for: it is hashed and read (in a worker, maybe)."""
    path: Path
    entry: Entry  # the row being built
    previous: Entry | None
    row: dict[str, Any]  # manifest values, {} when none
    force: bool = False
    budget: tuple[float, float] = (limits.FILE_SECONDS, limits.FILE_MEMORY_MB)  # seconds, MB


@dataclass
class Reading:
    sha256: str | None = None
    extracted: Extracted | None = None
    problem: tuple[str, str] | None = None
    same_as_before: bool = False  # touched (mtime) but the bytes are those indexed


@dataclass
class Outcome:
    entry: Entry
    document: Document | None = None
    stale_id: str | None = None  # the file's previous document, to remove unless still held
    unchanged: bool = False
    touched: bool = False  # unchanged content, new size/mtime to record


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
    notable: list[Entry] = field(default_factory=list)  # the first failed/skipped files


Progress = Callable[[Outcome], None]


# -- discover ---------------------------------------------------------------------------
def discover(root: Path, manifest_path: Path | None = None, exclude: Iterable[Path] = (),
             within: Path | None = None) -> Iterator[Candidate]:
    """Every file under root, in a stable order, without following symlinks out of it or
    round in loops; what cannot be indexed is yielded with its reason, never dropped.
    `within`: the indexed root when `root` is a folder inside it (the watcher)."""
    root = root.absolute()
    top = (within or root).absolute()
    real_top = top.resolve()
    skip = {manifest_path.resolve()} if manifest_path else set()
    if not root.is_dir() or root.is_symlink():
        if root.is_symlink() or root.resolve() not in skip:
            yield candidate(root, top, real_top)
        return
    excluded = {p.resolve() for p in exclude}
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=errors.append):
        while errors:
            exc = errors.pop()
            yield Candidate(Path(exc.filename or dirpath), top,
                            (FAILED, f"无法读取目录 / cannot list folder: {exc.strerror}"))
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if (here / d).is_symlink() or (here / d).resolve() not in excluded)
        for name in list(dirnames):
            link = here / name
            if link.is_symlink():
                yield _link_problem(link, top, real_top, is_dir=True)
        for name in sorted(filenames):
            path = here / name
            if path.is_symlink() or path.resolve() not in skip:
                yield candidate(path, top, real_top)
    for exc in errors:
        yield Candidate(Path(exc.filename or root), top, (FAILED, f"无法读取目录 / cannot list folder: {exc.strerror}"))


def candidate(path: Path, root: Path, real_root: Path) -> Candidate:
    name = path.name
    if path.is_symlink():
        return _link_problem(path, root, real_root, is_dir=path.is_dir())
    if name in IGNORED_NAMES:
        return Candidate(path, root, (SKIPPED, "系统生成的文件，不是档案内容 / operating-system file"))
    if name.startswith(TEMPORARY_PREFIXES) or name.lower().endswith(TEMPORARY_SUFFIXES):
        return Candidate(path, root, (SKIPPED, "临时文件或未完成的下载 / temporary or partial file"))
    return Candidate(path, root)


def _link_problem(link: Path, root: Path, real_root: Path, is_dir: bool) -> Candidate:
    """Links are never indexed themselves: one inside the root names a file that is
    indexed where it lies; one outside would let a drop folder reach anywhere."""
    try:
        target = link.resolve(strict=True)
    except RuntimeError:
        return Candidate(link, root, (FAILED, "符号链接循环 / symlink loop"))
    except OSError as exc:
        return Candidate(link, root, (FAILED, f"符号链接的目标不存在 / dangling symlink ({exc.strerror})"))
    if not target.is_relative_to(real_root):
        return Candidate(link, root, (SKIPPED, f"链接指向索引目录之外 / symlink points outside the root: {target}"))
    if is_dir:
        return Candidate(link, root, (SKIPPED, "目录链接不跟随，其内容在原位置索引 / directory symlink not followed"))
    return Candidate(link, root, (SKIPPED, f"链接指向目录内的文件，按原文件索引 / symlink to {target}, "
                                           f"indexed there"))


# -- check: what the ledger already knows -------------------------------------------------
def check(cand: Candidate, ledger: Ledger, opts: Options) -> Outcome | Job:
    """An outcome decided without reading the file (unchanged, problem, empty, too large),
    or the job of reading it."""
    path, key = cand.path, str(cand.path)
    previous = ledger.get(key)
    entry = Entry(path=key, root=str(cand.root), size=None, mtime_ns=None, sha256=None, status=FAILED)
    if cand.problem:
        return ended(entry, previous, *cand.problem)
    try:
        st = path.stat()
    except OSError as exc:
        return ended(entry, previous, FAILED, f"无法读取文件 / cannot stat: {exc.strerror}")
    entry.size, entry.mtime_ns, entry.device, entry.inode = st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino
    row, entry.joined_by = opts.manifest.lookup(path) if opts.manifest else (None, None)
    values = opts.manifest.unit_values(row.values) if row and opts.manifest else {}
    entry.meta_hash = _digest(values if row else None, opts.collection)

    if previous and not cand.force and previous.size == st.st_size and previous.mtime_ns == st.st_mtime_ns \
            and previous.meta_hash == entry.meta_hash and not (opts.retry_failed and previous.status == FAILED):
        if previous.inode is None:  # a row from before inodes were kept: note them now
            previous.device, previous.inode = st.st_dev, st.st_ino
            return Outcome(previous, unchanged=True, touched=True)
        return Outcome(previous, unchanged=True)
    if not stat.S_ISREG(st.st_mode):  # a FIFO would hang the reader, a device never ends
        return ended(entry, previous, SKIPPED, "不是普通文件（设备、管道或套接字）/ not a regular file")
    if st.st_size == 0:
        return ended(entry, previous, SKIPPED, "空文件 / empty file")
    if st.st_size > opts.max_file_bytes:
        limit = _megabytes(opts.max_file_bytes)
        return ended(entry, previous, SKIPPED, f"文件超过 {limit} MB 上限 / file larger than the {limit} MB limit")
    return Job(path, entry, previous, values, force=cand.force, budget=(opts.file_seconds, opts.file_memory_mb))


def ended(entry: Entry, previous: Entry | None, status: str, reason: str, **extra: Any) -> Outcome:
    entry.status, entry.reason = status, reason
    for k, v in extra.items():
        setattr(entry, k, v)
    stale = previous.doc_id if previous and previous.doc_id and previous.doc_id != entry.doc_id else None
    return Outcome(entry, stale_id=stale)


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g}"


def _digest(values: dict[str, Any] | None, collection: str | None) -> str:
    blob = json.dumps([values, collection], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# -- read: hash, extract, OCR (may run in a worker process) ------------------------------
def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read(job: Job, ocr: Any) -> Reading:
    path, previous = job.path, job.previous
    try:
        sha = sha256_of(path)
    except OSError as exc:
        return Reading(problem=(FAILED, f"无法读取文件 / cannot read: {exc.strerror}"))
    if previous and not job.force and previous.status == INDEXED and previous.sha256 == sha \
            and previous.meta_hash == job.entry.meta_hash:
        return Reading(sha, same_as_before=True)
    extractor = extractor_for(path)
    if extractor is None:
        return Reading(sha, problem=(SKIPPED, unsupported_reason(path)))
    try:
        with limits.budget(path.name, *job.budget):
            return Reading(sha, extractor.extract(path, ocr))
    except ExtractionError as exc:
        return Reading(sha, problem=(SKIPPED if exc.skip else FAILED, exc.reason))
    except Image.DecompressionBombError as exc:
        return Reading(sha, problem=(FAILED, f"图像像素过多，疑似解压炸弹 / decompression bomb: {exc}"))
    except Exception as exc:  # noqa: BLE001 - an extractor bug must not stop the run; the reason is kept
        log.exception("extracting %s failed", path)
        return Reading(sha, problem=(FAILED, f"提取失败 / extraction failed: {exc.__class__.__name__}: {exc}"))


def unsupported_reason(path: Path) -> str:
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError:
        head = b""
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return ("旧版 Office 文件（.doc/.wps/.xls）不支持，请另存为 .docx 或 PDF / "
                "legacy Office (OLE) file not supported: save it as .docx or PDF")
    if head.startswith(b"PK\x03\x04"):
        return "压缩包或不支持的 Office 格式 / zip archive or unsupported zip-based format"
    return f"不支持的文件格式 / unsupported format ({path.suffix or 'no extension'})"


# -- decide: metadata, duplicates, the document ------------------------------------------
def decide(job: Job, reading: Reading, ledger: Ledger, batch: Batch, opts: Options) -> Outcome:
    entry, previous = job.entry, job.previous
    entry.sha256 = reading.sha256
    if reading.same_as_before and previous:
        for name in ("status", "reason", "doc_id", "pages", "ocr_pages", "review", "disagreements"):
            setattr(entry, name, getattr(previous, name))
        return Outcome(entry, unchanged=True, touched=True)
    if reading.problem:
        return ended(entry, previous, *reading.problem)
    assert reading.extracted is not None and reading.sha256 is not None
    pages = reading.extracted.pages
    counts = {"pages": len(pages), "ocr_pages": sum(p.ocr for p in pages)}
    if not any(p.text.strip() for p in pages):
        return ended(entry, previous, SKIPPED, "文件中没有可识别的文字 / no text found (blank or unreadable pages)",
                     **counts)
    doc, review, disagreements = build_document(job.path, reading.sha256, pages, reading.extracted.media_type,
                                                reading.extracted.metadata, job.row, opts, Path(entry.root))
    holder = batch.holder_of(doc.id, entry.path) or valid_holder(ledger, doc.id, entry.path)
    if holder:
        same = holder.sha256 == reading.sha256
        reason = (f"与已索引文件内容相同 / duplicate of {holder.path}" if same else
                  f"与 {holder.path} 的编号（档号）相同，未合并 / same document id {doc.id} as {holder.path}")
        return ended(entry, previous, SKIPPED, reason, doc_id=doc.id, **counts)
    # An indexed file's reason is its note (e.g. bad bytes replaced), shown by `chayue report`.
    entry.reason = "; ".join(reading.extracted.notes) or None
    entry.status, entry.doc_id, entry.review = INDEXED, doc.id, review
    entry.disagreements = json.dumps(disagreements, ensure_ascii=False) if disagreements else None
    entry.pages, entry.ocr_pages = counts["pages"], counts["ocr_pages"]
    stale = previous.doc_id if previous and previous.doc_id and previous.doc_id != doc.id else None
    return Outcome(entry, document=doc, stale_id=stale)


def valid_holder(ledger: Ledger, doc_id: str, other_than: str) -> Entry | None:
    """Another file that holds this document and still has the bytes it was indexed from
    (a holder that changed since will be read again and may no longer hold it)."""
    for e in ledger.holders(doc_id):
        if e.path == other_than:
            continue
        try:
            st = os.stat(e.path)
        except OSError:
            continue
        if st.st_size == e.size and st.st_mtime_ns == e.mtime_ns:
            return e
    return None


def build_document(path: Path, sha256: str, pages: list[Page], media_type: str,
                   file_meta: dict[str, str], row: dict[str, Any],
                   opts: Options, root: Path | None = None) -> tuple[Document, str | None, list[dict]]:
    """Merge what we know, most trusted first: manifest, then the text, then file properties;
    what the manifest and the text disagree on comes back for review."""
    found = text_metadata.extract(pages)
    combined = text_metadata.combine(row, found, file_meta, path.stem)
    merged = combined.values
    collection = row.get("collection") or opts.collection or "current"
    if collection not in COLLECTIONS:
        collection = "current"
    agency = merged.get("agency") or []
    doc = Document(
        id=str(row.get("id") or row.get("archival_code") or sha256[:24]),
        collection=collection,
        title=str(merged["title"]),
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
        effective=merged.get("effective"),
        ended=merged.get("ended"),
        classification=row.get("classification") or found.get("classification"),
        access=row.get("access") or "open",
        source_path=str(path),
        source_sha256=sha256,
        media_type=media_type,
        provenance=combined.provenance,
        opening_due=row.get("open_date"),
        opening_mark=row.get("opening_mark"),
    )
    _place(doc, {**merged, **row}, path, root)
    if row.get("access_from"):
        doc.provenance["access"] = f"上级单元 unit {row['access_from']}"
    text = "\n".join(p.text for p in pages)
    if doc.effective is None:
        doc.effective = relations.effective_in_text(relations.compact(text), doc.published or doc.date)
    doc.relations = [r.to_json() for r in relations.for_document(
        doc.title, text, row, found, doc.effective or doc.date or doc.published)]
    review = None
    if doc.classification:
        # A 密级 marking (the manifest's 密级 column, or the text's 版头) overrides the access
        # the catalogue gives: better closed by mistake than leaked.
        doc.access = "restricted"
        where = ("清单密级为", "in the manifest") if row.get("classification") else ("正文有密级标志", "in the text")
        review = f"{where[0]}“{doc.classification}”，已按控制使用处理 / classification marking found {where[1]}"
    return doc, review, combined.disagreements


def _place(doc: Document, values: dict[str, Any], path: Path, root: Path | None) -> None:
    """The document's node path in its fonds (manifest columns, else 档号, else folders);
    a unit the manifest describes names its node (案卷题名)."""
    relative = None
    if root is not None:
        try:
            relative = path.absolute().relative_to(root.absolute())
        except ValueError:
            relative = None
    place = arrangement.arrange(values, relative, doc.collection)
    if place is None:
        return
    titles = values.get("unit_titles") or {}
    doc.arrangement = [[n.kind, n.code, titles.get(p) or n.label] for n, p in zip(place.nodes, place.paths)]
    doc.item_no = place.item
    doc.provenance.setdefault("arrangement", place.source)


# -- batch: note, write, commit, record ---------------------------------------------------
class Batch:
    def __init__(self, engine: Engine, ledger: Ledger, run_id: int, size: int = BATCH_DOCS,
                 links: relations.RelationStore | None = None, openings: Store | None = None,
                 vectors: tuple[meaning.Vectors, meaning.Model] | None = None):
        self.engine, self.ledger, self.run_id, self.size = engine, ledger, run_id, size
        self.vectors = vectors
        self.links = links
        self.openings = openings
        self.outcomes: list[Outcome] = []
        self.seen: list[str] = []
        self.ids: dict[str, Entry] = {}  # documents in this batch → their file's row
        self.chars = 0
        self.withdrawn = 0  # documents removed because their file no longer gives one

    def holder_of(self, doc_id: str, other_than: str) -> Entry | None:
        e = self.ids.get(doc_id)
        return e if e and e.path != other_than else None

    def add(self, outcome: Outcome) -> None:
        if outcome.unchanged and not outcome.touched:
            self.seen.append(outcome.entry.path)
            if len(self.seen) >= SEEN_FLUSH:
                self.flush()
            return
        self.outcomes.append(outcome)
        if outcome.document:
            self.ids[outcome.document.id] = outcome.entry
            self.chars += sum(len(p.text) for p in outcome.document.pages)
        if len(self.ids) >= self.size or self.chars >= BATCH_CHARS:
            self.flush()

    def flush(self) -> None:
        if not self.outcomes and not self.seen:
            return
        docs = [o.document for o in self.outcomes if o.document]
        stale = self.stale()
        if docs or stale:
            if docs:
                self.ledger.note_pending({d.id: str(d.source_path) for d in docs})
            withdrawals.note(self.engine, self.ledger, docs, stale)
            if stale:
                self.engine.delete(stale)
                if self.vectors:
                    self.vectors[0].delete(stale)
            if docs:
                if self.links is not None:
                    self.links.prepare(docs)
                if self.openings is not None:
                    opening.register(self.openings, docs)  # archival items: access as decided by staff
                self.engine.upsert(docs)
                if self.vectors:  # before the commit: a document is seen with its vectors
                    self.vectors[0].put(docs, self.vectors[1])
            self.engine.commit()
        self.ledger.record([o.entry for o in self.outcomes], self.seen, self.run_id)
        self.withdrawn += sum(1 for o in self.outcomes if o.stale_id in stale and not o.document)
        self.outcomes, self.seen, self.ids, self.chars = [], [], {}, 0

    def stale(self) -> set[str]:
        """Previous documents of this batch's files that nothing refers to any more. One
        another file still holds (or duplicates: it will take over) stays."""
        here = {o.entry.path for o in self.outcomes}
        refer = {o.entry.doc_id for o in self.outcomes if o.entry.doc_id}
        out = set()
        for o in self.outcomes:
            x = o.stale_id
            if x and x not in refer and not any(e.path not in here for e in self.ledger.rows_for(x)):
                out.add(x)
        return out


# -- run ----------------------------------------------------------------------------------
def _vectors(path: Path, opts: Options) -> tuple[meaning.Vectors, meaning.Model] | None:
    """Where questions are to be read by meaning and the model is there: the vectors beside
    the index, and the model (all the cores: the writer embeds while workers read files)."""
    if not opts.meaning:
        return None
    model = meaning.load(opts.meaning_model, threads=len(os.sched_getaffinity(0)))
    return (meaning.Vectors(path), model) if model else None


class Indexer:
    """One indexing session over an engine and a ledger: `run` uses it once over whole
    folders, the watcher keeps it open and feeds it the files that changed."""

    def __init__(self, engine: Engine, ledger: Ledger, ocr: Any, opts: Options,
                 progress: Progress | None = None, roots: Iterable[Path] = ()):
        self.engine, self.ledger, self.ocr, self.opts, self.progress = engine, ledger, ocr, opts, progress
        self.summary = Summary(problems=list(opts.manifest.problems) if opts.manifest else [])
        self.run_id = ledger.start_run([str(Path(p).absolute()) for p in roots])
        self.links = relations.RelationStore(Path(ledger.path).with_name("relations.sqlite"))
        self.vectors = _vectors(Path(ledger.path).with_name("meaning.sqlite"), opts)
        self.batch = Batch(engine, ledger, self.run_id, opts.batch_docs, self.links,
                           Store(Path(ledger.path).with_name("staff.sqlite")), self.vectors)
        self._pool: ProcessPoolExecutor | None = None
        self.stop = threading.Event()  # set by Ctrl-C: finish the current file, write, stop

    def recover(self) -> None:
        """Ids a killed run handed to the engine without recording them: their files are
        read again, and a document no file refers to is removed. An index rebuilt from
        nothing (a new generation) means the ledger no longer describes it: start over."""
        generation = self.engine.generation
        if generation != self.ledger.generation():
            forgotten = self.ledger.start_over(generation)
            if forgotten:
                log.warning("the index was rebuilt: all %d files will be read again", forgotten)
        ids = self.ledger.pending()
        if not ids:
            return
        log.warning("repairing an interrupted run: %d documents to check", len(ids))
        self.ledger.redo_holders(ids)
        orphans = [i for i in ids if not self.ledger.rows_for(i)]
        if orphans:
            self.engine.delete(orphans)
            self.engine.commit()
            if self.vectors:
                self.vectors[0].delete(orphans)
        self.ledger.clear_pending()

    def index(self, candidates: Iterable[Candidate]) -> None:
        checked = (check(c, self.ledger, self.opts) for c in candidates)
        for item, reading in self._read_ahead(checked):
            if self.stop.is_set():
                break
            outcome = item if isinstance(item, Outcome) else decide(item, reading, self.ledger, self.batch,
                                                                    self.opts)
            self._count(outcome)
            self.batch.add(outcome)
            if self.progress:
                self.progress(outcome)

    def flush(self) -> None:
        self.batch.flush()
        self.summary.removed += self.batch.withdrawn
        self.batch.withdrawn = 0

    def remove(self, gone: list[Entry]) -> None:
        """Files that are gone: their rows go, and their documents unless another file
        still refers to them (a duplicate then takes over, see `adopt_orphans`)."""
        self.flush()
        if not gone:
            return
        gone_paths = {e.path for e in gone}
        ids = {e.doc_id for e in gone if e.doc_id
               and not any(r.path not in gone_paths for r in self.ledger.rows_for(e.doc_id))}
        if ids:
            withdrawals.note(self.engine, self.ledger, (), ids)
            self.engine.delete(ids)
            self.engine.commit()
            if self.vectors:
                self.vectors[0].delete(ids)
        self.ledger.forget(sorted(gone_paths))
        self.summary.removed += sum(1 for e in gone if e.doc_id in ids and e.status == INDEXED)

    def adopt_orphans(self) -> None:
        """Duplicates whose holder went or changed are indexed in its place."""
        orphans = [e for e in self.ledger.orphaned_duplicates() if os.path.lexists(e.path)]
        if orphans:
            self.index(Candidate(Path(e.path), Path(e.root), force=True) for e in orphans)
        self.flush()

    def run(self, roots: Iterable[Path]) -> None:
        exclude = self.opts.exclude
        manifest_path = self.opts.manifest.path if self.opts.manifest else None
        for root in roots:
            root = Path(root).absolute()
            self.index(discover(root, manifest_path, exclude))
            self.flush()
            if self.stop.is_set():
                return  # the walk was cut short: what was not seen is not gone
            self.remove(self.ledger.not_seen(str(root), self.run_id))
            self.adopt_orphans()

    def settle(self) -> None:
        """Relations across the collection: documents whose derived state changed (repealed,
        superseded, amended by what was just indexed) are written again."""
        self.flush()
        indexed = {e.doc_id for e in self.ledger.entries(INDEXED) if e.doc_id}
        self.links.settle(self.engine, indexed)

    def finish(self, problems: list[str] | None = None) -> Summary:
        self.settle()
        if problems is None:
            problems = self.opts.manifest.unmatched() if self.opts.manifest else []
        self.summary.problems += problems
        source = self.opts.manifest.path.name if self.opts.manifest else "-"
        self.ledger.finish_run(self.run_id, [(source, p) for p in self.summary.problems])
        return self.summary

    def close(self) -> None:
        self.links.close()
        if self.vectors:
            self.vectors[0].close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Indexer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ahead ---------------------------------------------------------------
    def _read_ahead(self, items: Iterator[Outcome | Job]) -> Iterator[tuple[Outcome | Job, Reading | None]]:
        """Each item with its reading, in the order given. With workers, the next files are
        read in other processes while this one decides and writes (OCR of small scans keeps
        every core busy); the ledger still records them in order."""
        if self.opts.workers <= 0:
            for item in items:
                yield item, read(item, self.ocr) if isinstance(item, Job) else None
            return
        window: deque[tuple[Outcome | Job, Future[Reading] | None]] = deque()
        limit = 2 * self.opts.workers
        for item in items:
            window.append((item, self._submit(item) if isinstance(item, Job) else None))
            while sum(1 for _, f in window if f) > limit or len(window) > 1000:
                yield self._collect(window.popleft(), window)
        while window:
            yield self._collect(window.popleft(), window)

    def _submit(self, job: Job) -> Future[Reading]:
        if self._pool is None:
            ocr = self.ocr
            per_worker = max(1, -(-getattr(ocr, "workers", 1) // self.opts.workers))
            if hasattr(ocr, "close"):
                ocr.close()  # the readers OCR with engines of their own: these would only idle
            self._pool = ProcessPoolExecutor(
                self.opts.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                initargs=(str(ocr.cache_dir), ocr.languages, per_worker, getattr(ocr, "engine_name", "rapid")))
        return self._pool.submit(_read_in_worker, job)

    def _collect(self, pair: tuple[Outcome | Job, Future[Reading] | None],
                 window: deque[tuple[Outcome | Job, Future[Reading] | None]]) -> tuple[Outcome | Job, Reading | None]:
        item, fut = pair
        if fut is None:
            return item, None
        try:
            return item, fut.result()
        except BrokenProcessPool:
            # A reader died on this file (a crash in a native parser, or out of memory): it is
            # recorded as failed and the files after it are read by a new pool.
            log.error("reader process died on %s", getattr(item, "path", item))
            self._pool = None
            for i, (other, f) in enumerate(window):
                if f is not None:
                    window[i] = (other, self._submit(other))  # type: ignore[arg-type]
            return item, Reading(problem=(FAILED, "读取此文件时进程崩溃 / the reader process crashed on this file"))

    def _count(self, o: Outcome) -> None:
        s = self.summary
        if o.unchanged:
            s.unchanged += 1
            return
        s.pages += o.entry.pages or 0
        s.ocr_pages += o.entry.ocr_pages or 0
        if o.entry.status == INDEXED:
            s.indexed += 1
            return
        if o.entry.status == SKIPPED:
            s.skipped += 1
        else:
            s.failed += 1
        if len(s.notable) < NOTABLE:
            s.notable.append(o.entry)


_WORKER_OCR: Any = None


def _start_worker(cache_dir: str, languages: str, workers: int, engine: str) -> None:
    global _WORKER_OCR
    from indexer.ocr import Ocr

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the writer's to handle
    _WORKER_OCR = Ocr(Path(cache_dir), languages=languages, workers=workers, engine=engine)


def _read_in_worker(job: Job) -> Reading:
    return read(job, _WORKER_OCR)


def run(paths: list[Path], engine: Engine, ledger: Ledger, ocr: Any, opts: Options,
        progress: Progress | None = None) -> Summary:
    """Index these files and folders: the whole pipeline, once."""
    with Indexer(engine, ledger, ocr, opts, progress, roots=paths) as indexer:
        indexer.recover()
        indexer.run(paths)
        return indexer.finish()
