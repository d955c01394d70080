"""The staff store: one SQLite file under the data directory (`staff.sqlite`) holding
accounts, sessions, the audit trail, the items' opening state, decisions, withdrawals, the
outbox of access changes the index has still to take, the counts of online use and the
reading room's register. Each call opens its own short
connection (WAL, a busy timeout), so the api's threads, its workers and the command line
share the file safely; every change that must be whole is one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
  id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
  password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
  password_changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id), created REAL NOT NULL,
  last_seen REAL NOT NULL, ended INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS api_keys (
  id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id), digest TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL, created_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS signin_failures (username TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS signin_failures_at ON signin_failures(at);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  subject TEXT NOT NULL, detail TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE IF NOT EXISTS items (
  id TEXT PRIMARY KEY, title TEXT NOT NULL, archival_code TEXT, formed TEXT, category TEXT, fonds TEXT,
  retention TEXT, classification TEXT, manifest_access TEXT NOT NULL, manifest_due TEXT,
  manifest_mark TEXT, registered_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reviews (
  id INTEGER PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id), batch TEXT NOT NULL,
  decision TEXT NOT NULL, reason TEXT, open_on TEXT, next_review TEXT,
  first_by INTEGER NOT NULL REFERENCES accounts(id), first_at TEXT NOT NULL,
  final_by INTEGER REFERENCES accounts(id), final_at TEXT, outcome TEXT
);
CREATE INDEX IF NOT EXISTS reviews_item ON reviews(item_id);
CREATE TABLE IF NOT EXISTS decisions (
  item_id TEXT PRIMARY KEY REFERENCES items(id), mark TEXT NOT NULL, reason TEXT, open_on TEXT,
  next_review TEXT, review_id INTEGER NOT NULL REFERENCES reviews(id), decided_at TEXT NOT NULL,
  opened_batch INTEGER
);
CREATE TABLE IF NOT EXISTS withdrawals (
  id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, reason TEXT NOT NULL, by INTEGER NOT NULL REFERENCES accounts(id),
  at TEXT NOT NULL, lifted_by INTEGER, lifted_at TEXT
);
CREATE INDEX IF NOT EXISTS withdrawals_active ON withdrawals(item_id) WHERE lifted_at IS NULL;
CREATE TABLE IF NOT EXISTS withdrawn_access (item_id TEXT PRIMARY KEY, access TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS opening_batches (
  number INTEGER PRIMARY KEY, day TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY, item_id TEXT NOT NULL, access TEXT NOT NULL, queued_at TEXT NOT NULL, applied_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(seq) WHERE applied_at IS NULL;
CREATE TABLE IF NOT EXISTS register_visits (
  id INTEGER PRIMARY KEY, day TEXT NOT NULL, purpose TEXT NOT NULL, name_enc BLOB, id_type TEXT, id_number_enc BLOB,
  id_digest TEXT, outcome TEXT, created_at TEXT NOT NULL, created_by TEXT NOT NULL, erased_at TEXT
);
CREATE INDEX IF NOT EXISTS register_visits_day ON register_visits(day);
CREATE INDEX IF NOT EXISTS register_visits_person ON register_visits(id_digest);
CREATE TABLE IF NOT EXISTS register_items (
  id INTEGER PRIMARY KEY, visit_id INTEGER NOT NULL REFERENCES register_visits(id), day TEXT NOT NULL,
  purpose TEXT NOT NULL, item_id TEXT NOT NULL,
  archival_code TEXT, title TEXT NOT NULL, collection TEXT NOT NULL, fonds TEXT NOT NULL, category TEXT NOT NULL,
  copies INTEGER NOT NULL DEFAULT 0, added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS register_items_visit ON register_items(visit_id);
CREATE INDEX IF NOT EXISTS register_items_figures ON register_items(day, purpose, collection, fonds, category,
  visit_id, copies);
CREATE TABLE IF NOT EXISTS register_terminal_codes (
  code TEXT PRIMARY KEY, visit_id INTEGER NOT NULL REFERENCES register_visits(id), until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS usage_docs (
  day TEXT NOT NULL, doc_id TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (day, doc_id, channel, kind)
);
CREATE TABLE IF NOT EXISTS usage_doc_info (
  doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, collection TEXT NOT NULL, fonds TEXT NOT NULL, category TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS usage_months (
  month TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL, collection TEXT NOT NULL, fonds TEXT NOT NULL,
  category TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (month, channel, kind, collection, fonds, category)
);
CREATE TABLE IF NOT EXISTS usage_searches (
  day TEXT NOT NULL, channel TEXT NOT NULL, n INTEGER NOT NULL, empty INTEGER NOT NULL, PRIMARY KEY (day, channel)
);
CREATE TABLE IF NOT EXISTS usage_queries (
  day TEXT NOT NULL, query TEXT NOT NULL, n INTEGER NOT NULL, empty INTEGER NOT NULL, PRIMARY KEY (day, query)
);
"""


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        finally:
            db.close()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection whose block is one transaction (BEGIN IMMEDIATE: the writer is known
        from the start, so two processes never both read then both write)."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()


def store_path(data: Path) -> Path:
    return Path(data) / "staff.sqlite"
