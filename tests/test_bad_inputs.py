"""A folder of bad inputs beside good ones: every file ends in the ledger with a reason a
person can act on, the run exits 0, and the good files are searchable."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from engine import open_engine
from engine.model import Audience
from engine.query import MatchAll, SearchSpec
from indexer.cli import main
from indexer.ledger import Ledger
from settings import Settings
from tests import inputs


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height pixels (a decompression bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def ole_file() -> bytes:
    """The header of an OLE2 compound file, as legacy Word (.doc) writes it."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHH", 0x3E, 3, 0xFFFE)
    return header.ljust(4096, b"\0")


def test_every_bad_file_is_accounted_for_and_the_good_ones_indexed(tmp_path, monkeypatch, capsys):
    root = tmp_path / "drop"
    root.mkdir()
    good_text = inputs.law_excerpt(0, 200)
    (root / "good.txt").write_text(good_text, encoding="utf-8")
    inputs.text_pdf(root / "good.pdf", [inputs.law_excerpt(1, 200)])
    inputs.text_pdf(root / "locked.pdf", [inputs.law_excerpt(2, 200)], user_password="secret")
    whole = inputs.text_pdf(tmp_path / "whole.pdf", [inputs.law_excerpt(3, 400)]).read_bytes()
    (root / "truncated.pdf").write_bytes(whole[: len(whole) // 3])
    (root / "random.pdf").write_bytes(os.urandom(3000))
    (root / "empty.txt").write_bytes(b"")
    (root / "bomb.png").write_bytes(png_claiming(50000, 50000))
    (root / "huge.txt").write_text("档案" * 400_000, encoding="utf-8")  # 2.4 MB, limit 1 MB
    (root / "loop_a").symlink_to(root / "loop_b")
    (root / "loop_b").symlink_to(root / "loop_a")
    outside = tmp_path / "elsewhere.txt"
    outside.write_text(inputs.law_excerpt(4, 100), encoding="utf-8")
    (root / "outside.txt").symlink_to(outside)
    (root / "program.bin").write_bytes(b"\x7fELF\x02\x01\x01" + os.urandom(2000))
    (root / "old.doc").write_bytes(ole_file())
    (root / "~$good.docx").write_bytes(b"lock")
    expected = {p.name for p in root.iterdir()}

    monkeypatch.setenv("CHAYUE_MAX_FILE_MB", "1")
    data = tmp_path / "data"
    assert main(["index", str(root), "--data", str(data), "--quiet"]) == 0

    ledger = Ledger(data / "ledger.sqlite")
    rows = {Path(e.path).name: e for e in ledger.entries()}
    ledger.close()
    assert set(rows) == expected  # every file, none dropped
    status = {name: e.status for name, e in rows.items()}
    assert status == {
        "good.txt": "indexed", "good.pdf": "indexed",
        "locked.pdf": "failed", "truncated.pdf": "failed", "random.pdf": "failed",
        "empty.txt": "skipped", "bomb.png": "failed", "huge.txt": "skipped",
        "loop_a": "failed", "loop_b": "failed", "outside.txt": "skipped",
        "program.bin": "skipped", "old.doc": "skipped", "~$good.docx": "skipped",
    }
    reason = {name: e.reason for name, e in rows.items()}
    assert "密码" in reason["locked.pdf"] and "password" in reason["locked.pdf"]
    assert "PDF" in reason["truncated.pdf"] and "PDF" in reason["random.pdf"]
    assert "空文件" in reason["empty.txt"]
    assert "解压炸弹" in reason["bomb.png"]
    assert "1 MB" in reason["huge.txt"]
    assert "循环" in reason["loop_a"] and "loop" in reason["loop_b"]
    assert "之外" in reason["outside.txt"] and str(outside) in reason["outside.txt"]
    assert "不支持" in reason["program.bin"]
    assert ".docx" in reason["old.doc"] and "Office" in reason["old.doc"]
    assert "临时" in reason["~$good.docx"]
    for name, text in reason.items():
        assert status[name] == "indexed" or (text and "Traceback" not in text), name

    engine = open_engine(Settings(data=data))
    hits = engine.search(SearchSpec(query=MatchAll(), size=50), Audience.staff).hits
    engine.close()
    assert sorted(Path(h.fields["source_path"]).name for h in hits) == ["good.pdf", "good.txt"]

    capsys.readouterr()
    assert main(["report", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "失败 / failed (6)" in out and "跳过 / skipped (6)" in out
