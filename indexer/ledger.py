"""The ledger: one SQLite row per input file, so nothing is lost (DESIGN.md, "Ledger").

A file's row says what became of it: `indexed` (with its document id), `skipped` or
`failed` (with a reason a person understands). Rows are written only after the engine has
committed the batch they belong to, and the ids about to be written are noted first
(`pending`), so a run killed at any moment (kill -9) is repaired by the next one: a
document the engine holds but no row explains is found and removed or redone."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime, UTC
from pathlib import Path

INDEXED, SKIPPED, FAILED = "indexed", "skipped", "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path        TEXT PRIMARY KEY,
    root        TEXT NOT NULL,
    size        INTEGER,
    mtime_ns    INTEGER,
    sha256      TEXT,
    meta_hash   TEXT,
    status      TEXT NOT NULL CHECK (status IN ('indexed', 'skipped', 'failed')),
    reason      TEXT,
    doc_id      TEXT,
    pages       INTEGER,
    ocr_pages   INTEGER,
    review      TEXT,
    first_seen  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_doc ON files(doc_id);
CREATE INDEX IF NOT EXISTS files_status ON files(status);
CREATE INDEX IF NOT EXISTS files_root ON files(root);
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    roots       TEXT NOT NULL
);
-- Ids handed to the engine whose ledger rows are not written yet (write-ahead).
CREATE TABLE IF NOT EXISTS meta (
    key         TEXT PRIMARY KEY,
    value       TEXT
);
CREATE TABLE IF NOT EXISTS pending (
    doc_id      TEXT PRIMARY KEY,
    path        TEXT NOT NULL
);
-- Documents once shown that are gone or closed: OAI-PMH lists them as deleted records to the
-- audiences that saw them (indexer/withdrawals.py). Kept when the index is rebuilt.
CREATE TABLE IF NOT EXISTS withdrawn (
    doc_id      TEXT PRIMARY KEY,
    collection  TEXT,
    fonds       TEXT,
    access_was  TEXT NOT NULL,
    at          TEXT NOT NULL
);
-- What a run noticed that is not a file: manifest rows without a file, bad values.
CREATE TABLE IF NOT EXISTS problems (
    run_id      INTEGER NOT NULL,
    source      TEXT NOT NULL,
    message     TEXT NOT NULL
);
"""
# Columns added after the first release, with their types (old ledgers are migrated).
_ADDED = {"seen_run": "INTEGER", "joined_by": "TEXT", "device": "INTEGER", "inode": "INTEGER",
          "disagreements": "TEXT"}


@dataclass
class Entry:
    path: str
    root: str
    size: int | None
    mtime_ns: int | None
    sha256: str | None
    status: str
    meta_hash: str | None = None  # digest of the manifest row: a catalogue change re-indexes
    reason: str | None = None
    doc_id: str | None = None  # indexed: its document; skipped as a duplicate: the holder's
    pages: int | None = None
    ocr_pages: int | None = None
    review: str | None = None  # why a person should look (e.g. a 密级 marking)
    first_seen: str | None = None
    updated_at: str | None = None
    seen_run: int | None = None  # last run that found the file (the rest are gone)
    joined_by: str | None = None  # how the manifest row was found: 文件 path or 档号
    device: int | None = None  # st_dev and st_ino when read: the api serves only this file
    inode: int | None = None
    disagreements: str | None = None  # JSON [{field, manifest, layout}]: the manifest won


_ENTRY_FIELDS = {f.name for f in fields(Entry)}


def _entry(row: sqlite3.Row) -> Entry:
    return Entry(**{k: row[k] for k in row.keys() if k in _ENTRY_FIELDS})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Ledger:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(_SCHEMA)
        have = {r["name"] for r in self.db.execute("PRAGMA table_info(files)")}
        for name, kind in _ADDED.items():
            if name not in have:
                self.db.execute(f"ALTER TABLE files ADD COLUMN {name} {kind}")

    @classmethod
    def open_readonly(cls, path: Path) -> Ledger:
        """For readers (the api): no schema written, no write possible."""
        self = cls.__new__(cls)
        self.path = path
        self.db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA busy_timeout=10000")
        return self

    # -- the index this ledger describes ---------------------------------------------------
    def generation(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return row["value"] if row else None

    def start_over(self, generation: str | None) -> int:
        """The engine's index was rebuilt from nothing: every file must be read again."""
        with self._tx():
            n = self.db.execute("SELECT count(*) AS n FROM files").fetchone()["n"]
            self.db.execute("DELETE FROM files")
            self.db.execute("DELETE FROM pending")
            self.db.execute("INSERT INTO meta (key, value) VALUES ('generation', ?) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (generation,))
        return int(n)

    # -- reading ---------------------------------------------------------------------
    def get(self, path: str) -> Entry | None:
        row = self.db.execute("SELECT * FROM files WHERE path = ?", (path,)).fetchone()
        return _entry(row) if row else None

    def holders(self, doc_id: str) -> list[Entry]:
        """The indexed files whose document this id is."""
        return [e for e in self.rows_for(doc_id) if e.status == INDEXED]

    def rows_for(self, doc_id: str) -> list[Entry]:
        """Every file that refers to this document: its holder and its duplicates."""
        rows = self.db.execute("SELECT * FROM files WHERE doc_id = ? ORDER BY path", (doc_id,))
        return [_entry(r) for r in rows]

    def orphaned_duplicates(self) -> list[Entry]:
        """Files skipped as duplicates of a document that no indexed file holds any more
        (its holder was deleted or changed): they must be indexed in its place."""
        rows = self.db.execute(
            """SELECT * FROM files f WHERE f.status = 'skipped' AND f.doc_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM files g WHERE g.doc_id = f.doc_id AND g.status = 'indexed')
               ORDER BY f.path""")
        return [_entry(r) for r in rows]

    def not_seen(self, root: str, run_id: int) -> list[Entry]:
        """Files recorded under this root that the run did not find: they are gone."""
        rows = self.db.execute(
            "SELECT * FROM files WHERE root = ? AND (seen_run IS NULL OR seen_run != ?) ORDER BY path",
            (root, run_id))
        return [_entry(r) for r in rows]

    def at_or_below(self, path: str) -> list[Entry]:
        """The row of a file, or the rows of every file below a folder."""
        prefix = path.rstrip("/") + "/"
        rows = self.db.execute(
            "SELECT * FROM files WHERE path = ? OR substr(path, 1, ?) = ? ORDER BY path",
            (path, len(prefix), prefix))
        return [_entry(r) for r in rows]

    def entries(self, status: str | None = None) -> list[Entry]:
        if status:
            rows = self.db.execute("SELECT * FROM files WHERE status = ? ORDER BY path", (status,))
        else:
            rows = self.db.execute("SELECT * FROM files ORDER BY path")
        return [_entry(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, count(*) AS n FROM files GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    def for_review(self) -> list[Entry]:
        rows = self.db.execute("SELECT * FROM files WHERE review IS NOT NULL AND status = 'indexed' ORDER BY path")
        return [_entry(r) for r in rows]

    def disagreements(self) -> list[tuple[Entry, list[dict]]]:
        """Indexed files whose manifest row and own layout disagree (the manifest won)."""
        rows = self.db.execute("SELECT * FROM files WHERE disagreements IS NOT NULL AND status = 'indexed' "
                               "ORDER BY path")
        return [(e, json.loads(e.disagreements or "[]")) for e in map(_entry, rows)]

    def last_run(self) -> str | None:
        row = self.db.execute("SELECT max(finished_at) AS t FROM runs").fetchone()
        return row["t"] if row else None

    def problems(self) -> list[tuple[str, str]]:
        """(source, message) noted by the latest run that noted any."""
        row = self.db.execute("SELECT max(run_id) AS r FROM problems").fetchone()
        if not row or row["r"] is None:
            return []
        rows = self.db.execute("SELECT source, message FROM problems WHERE run_id = ? ORDER BY rowid",
                               (row["r"],))
        return [(r["source"], r["message"]) for r in rows]

    # -- writing ---------------------------------------------------------------------
    def note_pending(self, ids: dict[str, str]) -> None:
        """Before the engine writes these ids (id → path): a crash now leaves a trace."""
        with self._tx():
            self.db.executemany("INSERT OR REPLACE INTO pending (doc_id, path) VALUES (?, ?)", ids.items())

    def pending(self) -> list[str]:
        return [r["doc_id"] for r in self.db.execute("SELECT doc_id FROM pending ORDER BY doc_id")]

    def redo_holders(self, ids: Iterable[str]) -> None:
        """Forget what is known of these documents' files, so the next check reads them again."""
        with self._tx():
            self.db.executemany("UPDATE files SET mtime_ns = NULL, sha256 = NULL WHERE doc_id = ?",
                                [(i,) for i in ids])

    def clear_pending(self) -> None:
        with self._tx():
            self.db.execute("DELETE FROM pending")

    def record(self, entries: list[Entry], seen: Iterable[str] = (), run_id: int | None = None) -> None:
        """Write a batch of outcomes, mark unchanged files as seen and clear the write-ahead
        notes, in one transaction (after the engine committed the batch)."""
        now = _now()
        with self._tx():
            for e in entries:
                self.db.execute(
                    """INSERT INTO files (path, root, size, mtime_ns, sha256, meta_hash, status, reason,
                                          doc_id, pages, ocr_pages, review, first_seen, updated_at,
                                          seen_run, joined_by, device, inode, disagreements)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT(path) DO UPDATE SET
                         root=excluded.root, size=excluded.size, mtime_ns=excluded.mtime_ns,
                         sha256=excluded.sha256, meta_hash=excluded.meta_hash, status=excluded.status,
                         reason=excluded.reason, doc_id=excluded.doc_id, pages=excluded.pages,
                         ocr_pages=excluded.ocr_pages, review=excluded.review,
                         updated_at=excluded.updated_at, seen_run=excluded.seen_run,
                         joined_by=excluded.joined_by, device=excluded.device, inode=excluded.inode,
                         disagreements=excluded.disagreements""",
                    (e.path, e.root, e.size, e.mtime_ns, e.sha256, e.meta_hash, e.status, e.reason, e.doc_id,
                     e.pages, e.ocr_pages, e.review, now, now, run_id, e.joined_by, e.device, e.inode,
                     e.disagreements),
                )
            if run_id is not None:
                self.db.executemany("UPDATE files SET seen_run = ? WHERE path = ?",
                                    [(run_id, p) for p in seen])
            self.db.execute("DELETE FROM pending")

    def note_withdrawn(self, rows: list[tuple[str, str | None, str | None, str]]) -> None:
        """(doc_id, collection, fonds, access it had): the widest access it was ever shown with is kept."""
        rank = "CASE {} WHEN 'open' THEN 0 WHEN 'reading_room' THEN 1 ELSE 2 END"
        with self._tx():
            self.db.executemany(
                f"""INSERT INTO withdrawn (doc_id, collection, fonds, access_was, at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(doc_id) DO UPDATE SET at = excluded.at, collection = excluded.collection,
                      fonds = excluded.fonds,
                      access_was = CASE WHEN {rank.format('excluded.access_was')} < {rank.format('withdrawn.access_was')}
                                   THEN excluded.access_was ELSE withdrawn.access_was END""",
                [(*r, _now()) for r in rows])

    def restore(self, ids: Iterable[str]) -> None:
        with self._tx():
            self.db.executemany("DELETE FROM withdrawn WHERE doc_id = ?", [(i,) for i in ids])

    def withdrawn(self) -> list[sqlite3.Row]:
        """Every withdrawal noted, oldest first (an old ledger opened read-only has none)."""
        try:
            return self.db.execute("SELECT * FROM withdrawn ORDER BY at, doc_id").fetchall()
        except sqlite3.OperationalError:
            return []

    def forget(self, paths: list[str]) -> None:
        with self._tx():
            self.db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])

    def start_run(self, roots: list[str]) -> int:
        cur = self.db.execute("INSERT INTO runs (started_at, roots) VALUES (?, ?)", (_now(), "\n".join(roots)))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, problems: list[tuple[str, str]] = ()) -> None:
        with self._tx():
            self.db.executemany("INSERT INTO problems (run_id, source, message) VALUES (?, ?, ?)",
                                [(run_id, s, m) for s, m in problems])
            self.db.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (_now(), run_id))

    def _tx(self) -> _Transaction:
        return _Transaction(self.db)

    def close(self) -> None:
        self.db.close()

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries())


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        return False
