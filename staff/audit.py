"""The audit trail: every sign-in, decision, withdrawal, staff export and staff view of a
non-public item, append-only and tamper-evident. Each entry carries the hash of the one
before it and its own hash over both (as Certificate Transparency's log commits to what came
before), so an edited entry no longer matches its hash and a removed one breaks the chain.
The newest entry's number and hash are also written to a file beside the store (the head),
so removing entries from the end is noticed too."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from staff.store import Store

GENESIS = "0" * 64


def entry_hash(seq: int, at: str, actor: str, action: str, subject: str, detail: str, prev: str) -> str:
    canonical = json.dumps([seq, at, actor, action, subject, detail, prev], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def head_path(store: Store) -> Path:
    return store.path.with_name(store.path.name + ".audit-head")


def append(db: sqlite3.Connection, store: Store, actor: str, action: str, subject: str = "",
           detail: dict[str, Any] | None = None) -> int:
    """One entry, inside the caller's transaction (so a decision and its entry are one)."""
    last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)
    digest = entry_hash(seq, at, actor, action, subject, text, prev)
    db.execute("INSERT INTO audit (seq, at, actor, action, subject, detail, prev, hash) VALUES (?,?,?,?,?,?,?,?)",
               (seq, at, actor, action, subject, text, prev, digest))
    _write_head(store, seq, digest)
    return seq


def record(store: Store, actor: str, action: str, subject: str = "", detail: dict[str, Any] | None = None) -> int:
    with store.connect() as db:
        return append(db, store, actor, action, subject, detail)


def _write_head(store: Store, seq: int, digest: str) -> None:
    # Written while the store's write lock is held, so heads are written in order; replaced
    # atomically. A crash after the insert but before this leaves the head one behind, which
    # verify accepts (the entry is still chained); a head ahead of the trail is a removal.
    path = head_path(store)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{seq} {digest}\n", encoding="ascii")
    os.replace(tmp, path)


@dataclass
class Problem:
    seq: int
    what: str  # edited, removed

    def __str__(self) -> str:
        zh = {"edited": "被修改", "removed": "被删除"}[self.what]
        return f"第 {self.seq} 条{zh} / entry {self.seq} was {self.what}"


def verify(store: Store) -> tuple[int, list[Problem]]:
    """Walks the chain: the number of entries read and what is wrong, by entry number."""
    db = sqlite3.connect(store.path)
    db.row_factory = sqlite3.Row
    try:
        rows = db.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    finally:
        db.close()
    problems: list[Problem] = []
    prev, expected = GENESIS, 1
    for row in rows:
        while row["seq"] > expected:  # a gap: entries taken out of the middle
            problems.append(Problem(expected, "removed"))
            expected += 1
        own = entry_hash(row["seq"], row["at"], row["actor"], row["action"], row["subject"], row["detail"], row["prev"])
        if own != row["hash"]:
            problems.append(Problem(row["seq"], "edited"))
        elif row["prev"] != prev and not (problems and problems[-1].seq == row["seq"] - 1):
            # Its own hash holds but it does not follow the one before: the one before was
            # replaced (edited and re-hashed).
            problems.append(Problem(row["seq"] - 1, "edited"))
        prev, expected = row["hash"], row["seq"] + 1
    head = head_path(store)
    if head.exists():
        seq_text, _, digest = head.read_text(encoding="ascii").strip().partition(" ")
        head_seq = int(seq_text)
        last = rows[-1]["seq"] if rows else 0
        if head_seq > last:
            problems += [Problem(s, "removed") for s in range(last + 1, head_seq + 1)]
        elif head_seq == last and rows and rows[-1]["hash"] != digest:
            problems.append(Problem(last, "edited"))
    return len(rows), problems


def entries(store: Store, limit: int = 200, before: int | None = None) -> list[dict[str, Any]]:
    with store.connect() as db:
        rows = db.execute("SELECT * FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                          (before or 2**62, limit)).fetchall()
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


def export_csv(store: Store) -> str:
    with store.connect() as db:
        rows = db.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["序号 seq", "时间 at", "人员 actor", "操作 action", "对象 subject", "详情 detail", "前一哈希 prev", "哈希 hash"])
    for r in rows:
        w.writerow([r["seq"], r["at"], r["actor"], r["action"], r["subject"], r["detail"], r["prev"], r["hash"]])
    return "\ufeff" + out.getvalue()
