"""`chayue index --watch DIR` as a real subprocess: a dropped file becomes searchable
once it is complete, a change replaces it, a deletion removes it, Ctrl-C stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from engine import open_engine
from engine.model import Audience
from engine.query import MatchAll, SearchSpec
from settings import Settings
from tests import inputs

REPO = Path(__file__).resolve().parent.parent
CHAYUE = [sys.executable, "-c", "import sys; from indexer.cli import main; sys.exit(main())"]


def sources(data: Path) -> dict[str, str]:
    """source file name → title of every document, as staff see them."""
    try:
        engine = open_engine(Settings(data=data))
    except Exception:  # noqa: BLE001 - no index yet
        return {}
    try:
        hits = engine.search(SearchSpec(query=MatchAll(), size=100), Audience.staff).hits
        return {Path(h.fields["source_path"]).name: h.fields["title"] for h in hits}
    finally:
        engine.close()


def wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError("timed out waiting")


def test_watch_indexes_dropped_changed_and_deleted_files_and_stops_on_ctrl_c(tmp_path):
    drop, data = tmp_path / "drop", tmp_path / "data"
    drop.mkdir()
    (drop / "已有.txt").write_text("关于已有文件的通知\n\n" + inputs.law_excerpt(0, 200), encoding="utf-8")
    proc = subprocess.Popen([*CHAYUE, "index", "--watch", str(drop), "--data", str(data), "--settle", "1"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: "已有.txt" in sources(data))
        time.sleep(1.5)  # the watcher is up after the first full run

        # A file written slowly: not read before it holds still, then indexed whole.
        new = drop / "新发布.txt"
        with new.open("w", encoding="utf-8") as f:
            f.write("关于新发布文件的通知\n\n")
            for i in range(3):
                f.flush()
                time.sleep(0.5)
                f.write(inputs.law_excerpt(i + 1, 100) + "\n")
        wait_for(lambda: "新发布.txt" in sources(data))
        assert sources(data)["新发布.txt"] == "关于新发布文件的通知"

        new.write_text("关于修改后文件的通知\n\n" + inputs.law_excerpt(7, 200), encoding="utf-8")
        wait_for(lambda: sources(data).get("新发布.txt") == "关于修改后文件的通知")

        new.unlink()
        wait_for(lambda: "新发布.txt" not in sources(data))
        assert "已有.txt" in sources(data)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "已停止监视" in out and "Traceback" not in out
