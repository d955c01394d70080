"""The ledger: one SQLite row per input file, so nothing is lost (DESIGN.md, "Ledger").

A file's row says what became of it: `indexed` (with its document id), `skipped` or
`failed` (with a reason a person understands). The row is written only after the engine
has committed the document, so a run killed at any moment is repaired by the next one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
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
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    roots       TEXT NOT NULL
);
"""


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
    doc_id: str | None = None
    pages: int | None = None
    ocr_pages: int | None = None
    review: str | None = None  # why a person should look (e.g. a 密级 marking)
    first_seen: str | None = None
    updated_at: str | None = None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Ledger:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def get(self, path: str) -> Entry | None:
        row = self.db.execute("SELECT * FROM files WHERE path = ?", (path,)).fetchone()
        return Entry(**dict(row)) if row else None

    def holder_of(self, doc_id: str, other_than: str) -> str | None:
        """Another indexed file that already produced this document id (a duplicate)."""
        row = self.db.execute(
            "SELECT path FROM files WHERE doc_id = ? AND status = 'indexed' AND path != ?",
            (doc_id, other_than),
        ).fetchone()
        return row["path"] if row else None

    def holders(self, doc_id: str) -> list[str]:
        rows = self.db.execute("SELECT path FROM files WHERE doc_id = ? AND status = 'indexed'", (doc_id,))
        return [r["path"] for r in rows]

    def record(self, entries: list[Entry]) -> None:
        """Write a batch of outcomes in one transaction (after the engine committed them)."""
        now = _now()
        with self._tx():
            for e in entries:
                self.db.execute(
                    """INSERT INTO files (path, root, size, mtime_ns, sha256, meta_hash, status, reason,
                                          doc_id, pages, ocr_pages, review, first_seen, updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT(path) DO UPDATE SET
                         root=excluded.root, size=excluded.size, mtime_ns=excluded.mtime_ns,
                         sha256=excluded.sha256, meta_hash=excluded.meta_hash, status=excluded.status, reason=excluded.reason,
                         doc_id=excluded.doc_id, pages=excluded.pages, ocr_pages=excluded.ocr_pages,
                         review=excluded.review, updated_at=excluded.updated_at""",
                    (e.path, e.root, e.size, e.mtime_ns, e.sha256, e.meta_hash, e.status, e.reason, e.doc_id,
                     e.pages, e.ocr_pages, e.review, now, now),
                )

    def forget(self, paths: list[str]) -> None:
        with self._tx():
            self.db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])

    def under(self, root: str) -> Iterator[Entry]:
        for row in self.db.execute("SELECT * FROM files WHERE root = ?", (root,)):
            yield Entry(**dict(row))

    def entries(self, status: str | None = None) -> list[Entry]:
        if status:
            rows = self.db.execute("SELECT * FROM files WHERE status = ? ORDER BY path", (status,))
        else:
            rows = self.db.execute("SELECT * FROM files ORDER BY path")
        return [Entry(**dict(r)) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, count(*) AS n FROM files GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    def for_review(self) -> list[Entry]:
        rows = self.db.execute("SELECT * FROM files WHERE review IS NOT NULL ORDER BY path")
        return [Entry(**dict(r)) for r in rows]

    def last_run(self) -> str | None:
        row = self.db.execute("SELECT max(finished_at) AS t FROM runs").fetchone()
        return row["t"] if row else None

    def start_run(self, roots: list[str]) -> int:
        cur = self.db.execute("INSERT INTO runs (started_at, roots) VALUES (?, ?)", (_now(), "\n".join(roots)))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int) -> None:
        self.db.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (_now(), run_id))

    def _tx(self):
        return _Transaction(self.db)

    def close(self) -> None:
        self.db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        return False
