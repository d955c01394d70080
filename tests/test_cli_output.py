"""File names reach the operator's terminal through `chayue index` and `chayue report`:
escape sequences (clear the screen, set the window title, hyperlinks), other control and
bidi characters, and rich markup in a name are shown written out, never acted on."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from rich.console import Console

import indexer.cli as cli
from indexer.cli import main
from indexer.ledger import Entry
from indexer.pipeline import Outcome

HOSTILE = {
    "title": "\x1b]0;pwned-title\x07a.xyz",
    "clear": "\x1b[2J\x1b[Hb.xyz",
    "markup": "[bold red]fake [link=evil.example]c.xyz",
    "bidi": "report\u202egnp.xyz",
    "newline": "line1\nFAILED everything.xyz",
}
FORBIDDEN = ["\x1b]0;", "\x1b[2J", "\x1b]8;", "pwned-title\x07", "\u202e", "evil.example\x1b"]


@pytest.fixture
def terminal(monkeypatch):
    """Both consoles write to one buffer as to a colour terminal (rich emits its own codes)."""
    buf = io.StringIO()

    def make(*args, **kwargs):
        return Console(file=buf, force_terminal=True, color_system="standard", width=200)

    monkeypatch.setattr(cli, "console", make())
    monkeypatch.setattr(cli, "Console", make)
    return buf


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "drop"
    root.mkdir()
    for name in HOSTILE.values():
        (root / name).write_text("不支持的格式", encoding="utf-8")
    return root


def _plain(out: str) -> str:
    """Without rich's own colour codes (SGR), which its highlighter puts inside names."""
    return re.sub(r"\x1b\[[0-9;]*m", "", out)


def _check(out: str) -> None:
    for bad in FORBIDDEN:
        assert bad not in out, (bad, out[:2000])
    out = _plain(out)
    assert "\\x1b]0;pwned-title\\x07a.xyz" in out and "\\x1b[2J" in out and "\\u202egnp" in out
    assert "[bold red]fake" in out and "[link=evil.example]" in out
    assert "line1\\x0aFAILED" in out


def test_index_and_report_show_hostile_names_written_out(terminal, folder, tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["index", str(folder), "--data", str(data)]) == 0
    _check(terminal.getvalue())
    terminal.truncate(0)
    terminal.seek(0)
    assert main(["report", "--data", str(data)]) == 0
    _check(terminal.getvalue())
    # JSON keeps the names exactly (json escapes the control characters itself).
    capsys.readouterr()
    assert main(["report", "--data", str(data), "--json"]) == 0
    raw = capsys.readouterr().out
    assert "\x1b" not in raw
    assert {p.rsplit("/", 1)[-1] for p in (r["path"] for r in json.loads(raw)["skipped"])} == set(HOSTILE.values())


def test_watch_lines_and_log_lines_are_written_out(terminal, tmp_path, caplog):
    path = str(tmp_path / HOSTILE["title"])
    cli._print_outcome(Outcome(Entry(path=path, root=str(tmp_path), size=1, mtime_ns=1, sha256=None, status="failed",
                                     reason=f"bad {HOSTILE['markup']}")))
    out = terminal.getvalue()
    assert "\x1b]0;" not in out and "\x1b]8;" not in out
    assert "\\x1b]0;pwned" in _plain(out) and "[link=" in _plain(out)
    record = logging.LogRecord("chayue", logging.ERROR, __file__, 1, "reader process died on %s", (path,), None)
    line = cli._SafeFormatter("%(message)s").format(record)
    assert "\x1b" not in line and "\\x1b]0;pwned-title\\x07" in line
