"""The original and its page images are served only as indexed: an indexed file replaced
by a link (to /etc/passwd, the ledger, /proc/self/environ), a FIFO, a linked folder, or
new bytes answers 404, and `chayue report` lists it for re-indexing."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from indexer.cli import main
from settings import Settings
from tests import inputs
from tests.test_pipeline import rows

STAFF = "staff-files-key"


@pytest.fixture
def indexed(tmp_path):
    """A drop folder with a text PDF in a subfolder, indexed; the api over it."""
    drop = tmp_path / "drop"
    (drop / "sub").mkdir(parents=True)
    pdf = inputs.text_pdf(drop / "sub" / "notice.pdf", [inputs.law_excerpt(3, 200)])
    data = tmp_path / "data"
    assert main(["index", str(drop), "--data", str(data), "--quiet"]) == 0
    doc_id = rows(data)["notice.pdf"].doc_id
    with TestClient(create_app(Settings(data=data, staff_key=STAFF))) as client:
        yield client, pdf, doc_id, data


def _get(client, doc_id: str, what: str = "file"):
    return client.get(f"/api/documents/{doc_id}/{what}", headers={"X-Chayue-Key": STAFF})


def _replace_with_link(pdf: Path, target: Path | str) -> None:
    pdf.unlink()
    pdf.symlink_to(target)


def _changed(capsys, data: Path) -> dict[str, str]:
    capsys.readouterr()
    assert main(["report", "--data", str(data), "--json"]) == 0
    return {r["path"]: r["changed"] for r in json.loads(capsys.readouterr().out)["changed"]}


def test_the_indexed_file_is_served_with_its_name_and_bytes(indexed):
    client, pdf, doc_id, _ = indexed
    r = _get(client, doc_id)
    assert r.status_code == 200 and r.content == pdf.read_bytes()
    assert r.headers["content-type"] == "application/pdf" and "notice.pdf" in r.headers["content-disposition"]
    assert _get(client, doc_id, "pages/1.png").status_code == 200


@pytest.mark.parametrize("target", ["/etc/passwd", "ledger", "/proc/self/environ"])
def test_indexed_file_replaced_by_a_link_is_404_and_listed_for_reindexing(indexed, capsys, target):
    client, pdf, doc_id, data = indexed
    assert _get(client, doc_id, "pages/1.png").status_code == 200  # cached before the swap
    os.environ["CHAYUE_PROBE_SECRET"] = "environ-leak-marker"
    try:
        _replace_with_link(pdf, data / "ledger.sqlite" if target == "ledger" else target)
        for what in ("file", "pages/1.png"):
            r = _get(client, doc_id, what)
            assert r.status_code == 404 and r.json()["error"] == "file_missing"
            assert b"root:" not in r.content and b"SQLite" not in r.content and b"environ-leak" not in r.content
    finally:
        del os.environ["CHAYUE_PROBE_SECRET"]
    assert "link" in _changed(capsys, data)[str(pdf)]


def test_a_fifo_or_a_linked_parent_folder_or_new_bytes_are_404(indexed, capsys, tmp_path):
    client, pdf, doc_id, data = indexed
    original = pdf.read_bytes()
    pdf.unlink()
    os.mkfifo(pdf)  # opening it must neither hang nor serve
    assert _get(client, doc_id).status_code == 404
    pdf.unlink()
    # The folder above it becomes a link to a folder outside the root holding the same file.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notice.pdf").write_bytes(original)
    shutil.rmtree(pdf.parent)
    pdf.parent.symlink_to(outside, target_is_directory=True)
    assert _get(client, doc_id).status_code == 404
    pdf.parent.unlink()
    # Back in place, same size, other bytes (a new inode, as editors save).
    pdf.parent.mkdir()
    pdf.write_bytes(original[:-8] + b"%%EOF\n\n\n")
    assert _get(client, doc_id).status_code == 404
    assert str(pdf) in _changed(capsys, data)
    # Indexed again, it is served again.
    assert main(["index", str(data.parent / "drop"), "--data", str(data), "--quiet"]) == 0
    assert _changed(capsys, data) == {}
    doc_id = rows(data)["notice.pdf"].doc_id
    assert _get(client, doc_id).content == pdf.read_bytes()


def test_a_file_the_ledger_does_not_hold_is_not_served(indexed):
    client, pdf, doc_id, data = indexed
    (data / "ledger.sqlite").rename(data / "elsewhere.sqlite")
    assert _get(client, doc_id).status_code == 404
