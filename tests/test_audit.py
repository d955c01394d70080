"""The audit trail is append-only and tamper-evident: `chayue audit verify` passes on an
untouched trail and names the entry that was edited or removed."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys

import pytest

from settings import Settings
from staff import audit
from staff.store import Store


def _trail(tmp_path, n: int = 6) -> Store:
    store = Store(Settings(data=tmp_path).staff_path)
    for i in range(1, n + 1):
        audit.record(store, f"审核员{i}", "withdraw", f"J012-{i:04d}", {"reason": f"投诉 {i}"})
    return store


def _verify(tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "indexer.cli", "audit", "verify", "--data", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)


def _raw(store: Store) -> sqlite3.Connection:
    """The file opened as someone with write access to it would: triggers dropped."""
    db = sqlite3.connect(store.path, isolation_level=None)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    return db


def test_an_untouched_trail_verifies(tmp_path):
    _trail(tmp_path)
    out = _verify(tmp_path)
    assert out.returncode == 0 and "6" in out.stdout, out


def test_the_trail_refuses_updates_and_deletes_through_sql(tmp_path):
    store = _trail(tmp_path)
    db = sqlite3.connect(store.path)
    for sql in ("UPDATE audit SET actor = 'x' WHERE seq = 2", "DELETE FROM audit WHERE seq = 2"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(sql)
    db.close()


def test_verify_names_an_edited_entry(tmp_path):
    store = _trail(tmp_path)
    db = _raw(store)
    db.execute("UPDATE audit SET detail = ? WHERE seq = 3", (json.dumps({"reason": "改过的理由"}, ensure_ascii=False),))
    db.close()
    out = _verify(tmp_path)
    assert out.returncode == 1
    assert "entry 3 was edited" in out.stdout and "entry 4" not in out.stdout


def test_verify_names_an_entry_edited_and_rehashed(tmp_path):
    """Rewriting an entry with a fresh hash of its own still breaks the link to the next one."""
    store = _trail(tmp_path)
    db = _raw(store)
    row = db.execute("SELECT seq, at, actor, action, subject, detail, prev FROM audit WHERE seq = 2").fetchone()
    forged = list(row)
    forged[2] = "别人"
    digest = audit.entry_hash(*forged)
    db.execute("UPDATE audit SET actor = ?, hash = ? WHERE seq = 2", (forged[2], digest))
    db.close()
    out = _verify(tmp_path)
    assert out.returncode == 1 and "entry 2 was edited" in out.stdout, out.stdout


def test_verify_names_a_removed_entry_in_the_middle_and_at_the_end(tmp_path):
    store = _trail(tmp_path)
    db = _raw(store)
    db.execute("DELETE FROM audit WHERE seq = 4")
    db.close()
    out = _verify(tmp_path)
    assert out.returncode == 1 and "entry 4 was removed" in out.stdout, out.stdout

    other = tmp_path / "b"
    store = _trail(other)
    db = _raw(store)
    db.execute("DELETE FROM audit WHERE seq >= 5")
    db.close()
    out = _verify(other)
    assert out.returncode == 1 and "entry 5 was removed" in out.stdout and "entry 6 was removed" in out.stdout


def test_each_entry_carries_the_hash_of_the_one_before(tmp_path):
    store = _trail(tmp_path, 3)
    rows = audit.entries(store)[::-1]
    assert rows[0]["prev"] == audit.GENESIS
    for before, after in zip(rows, rows[1:]):
        assert after["prev"] == before["hash"]
        assert len(after["hash"]) == len(hashlib.sha256().hexdigest())


def test_the_trail_exports_as_csv_for_administrators(tmp_path):
    store = _trail(tmp_path, 2)
    text = audit.export_csv(store)
    assert text.startswith("\ufeff") and "投诉 2" in text and text.count("\n") == 3
