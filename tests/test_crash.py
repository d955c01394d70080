"""kill -9 at any moment: a re-run ends with exactly the documents and ledger of a clean
run, each document once. `chayue index` runs as a real subprocess on real files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import open_engine
from engine.model import Audience
from engine.query import MatchAll, SearchSpec, Term
from settings import Settings
from tests import inputs

REPO = Path(__file__).resolve().parent.parent
CHAYUE = [sys.executable, "-c", "import sys; from indexer.cli import main; sys.exit(main())"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crash") / "in"
    root.mkdir()
    for i in range(30):
        (root / f"t{i:02d}.txt").write_text(inputs.law_excerpt(i, 400), encoding="utf-8")
    for i in range(10):
        inputs.text_pdf(root / f"p{i:02d}.pdf", [inputs.law_excerpt(30 + i, 300), inputs.law_excerpt(40 + i, 300)])
    (root / "t00 copy.txt").write_bytes((root / "t00.txt").read_bytes())  # a duplicate too
    return root


def index_cmd(root: Path, data: Path) -> list[str]:
    return [*CHAYUE, "index", str(root), "--data", str(data), "--quiet", "--batch", "4"]


def state(data: Path) -> tuple[list[str], dict[str, tuple]]:
    """(ids in the index, each checked to be there once) and the ledger's rows."""
    engine = open_engine(Settings(data=data))
    try:
        ids = sorted(h.id for h in engine.search(SearchSpec(query=MatchAll(), size=1000), Audience.staff).hits)
        assert all(engine.count(Term("id", i), Audience.staff) == 1 for i in ids)
        total = engine.count(MatchAll(), Audience.staff)
    finally:
        engine.close()
    assert total == len(ids) == len(set(ids))
    with sqlite3.connect(data / "ledger.sqlite") as db:
        rows = {r[0]: r[1:] for r in db.execute("SELECT path, status, doc_id, sha256, reason FROM files")}
        pending = db.execute("SELECT count(*) FROM pending").fetchone()[0]
    assert pending == 0
    return ids, rows


@pytest.fixture(scope="module")
def clean(corpus, tmp_path_factory):
    data = tmp_path_factory.mktemp("clean")
    subprocess.run(index_cmd(corpus, data), check=True, cwd=REPO, capture_output=True)
    return state(data)


def ledger_rows(data: Path) -> int:
    try:
        with sqlite3.connect(data / "ledger.sqlite", timeout=0.1) as db:
            return db.execute("SELECT count(*) FROM files").fetchone()[0]
    except sqlite3.Error:
        return 0


def kill_when(cmd: list[str], ready) -> None:
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not ready() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before the moment to kill it"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()


@pytest.mark.parametrize("moment", ["after the first commit", "mid-run"])
def test_kill_9_then_rerun_gives_the_clean_runs_index_and_ledger(corpus, clean, tmp_path, moment):
    data = tmp_path / "data"
    if moment == "after the first commit":
        kill_when(index_cmd(corpus, data), lambda: ledger_rows(data) >= 1)
    else:
        kill_when(index_cmd(corpus, data), lambda: ledger_rows(data) >= 16)
    assert ledger_rows(data) < len(clean[1])  # really cut short
    subprocess.run(index_cmd(corpus, data), check=True, cwd=REPO, capture_output=True)
    assert state(data) == clean


CRASH_AFTER_ENGINE_COMMIT = """
import os, signal, sys
from engine.base import Engine
from indexer.cli import main

commits = 0
real_commit = Engine.commit

def commit_then_die(self):
    global commits
    real_commit(self)
    commits += 1
    if commits == int(os.environ["DIE_AT"]):
        os.kill(os.getpid(), signal.SIGKILL)  # the engine has the batch, the ledger not

Engine.commit = commit_then_die
sys.exit(main())
"""


@pytest.mark.parametrize("die_at", [1, 3])
def test_kill_9_between_engine_commit_and_ledger_write_is_repaired(corpus, clean, tmp_path, die_at):
    data = tmp_path / "data"
    cmd = [sys.executable, "-c", CRASH_AFTER_ENGINE_COMMIT, "index", str(corpus), "--data", str(data),
           "--quiet", "--batch", "4"]
    proc = subprocess.run(cmd, cwd=REPO, env={**os.environ, "DIE_AT": str(die_at)}, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(data / "ledger.sqlite") as db:
        assert db.execute("SELECT count(*) FROM pending").fetchone()[0] > 0  # the trace it left
    subprocess.run(index_cmd(corpus, data), check=True, cwd=REPO, capture_output=True)
    assert state(data) == clean


def test_kill_9_after_files_changed_leaves_no_orphan_document(corpus, clean, tmp_path):
    """A file changes, its new document is committed, the run dies before the ledger knows;
    the file changes again before the re-run: the middle version must not linger."""
    import shutil

    root = tmp_path / "in"
    shutil.copytree(corpus, root)
    data = tmp_path / "data"
    subprocess.run(index_cmd(root, data), check=True, cwd=REPO, capture_output=True)
    (root / "t05.txt").write_text(inputs.law_excerpt(60, 300), encoding="utf-8")
    cmd = [sys.executable, "-c", CRASH_AFTER_ENGINE_COMMIT, "index", str(root), "--data", str(data),
           "--quiet", "--batch", "4"]
    subprocess.run(cmd, cwd=REPO, env={**os.environ, "DIE_AT": "1"}, capture_output=True)
    (root / "t05.txt").write_text(inputs.law_excerpt(61, 300), encoding="utf-8")
    subprocess.run(index_cmd(root, data), check=True, cwd=REPO, capture_output=True)
    fresh = tmp_path / "fresh"
    subprocess.run(index_cmd(root, fresh), check=True, cwd=REPO, capture_output=True)
    ids, rows = state(data)
    fresh_ids, fresh_rows = state(fresh)
    assert ids == fresh_ids
    assert {Path(p).name: r for p, r in rows.items()} == {Path(p).name: r for p, r in fresh_rows.items()}
