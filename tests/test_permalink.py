"""Permanent links /a/<档号>: the same link opens the same document after the index is
rebuilt and after its file was moved or renamed; exports and citations carry them."""

from __future__ import annotations

import shutil
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from api.app import create_app
from indexer.cli import main
from settings import Settings


def _index(files, manifest, data) -> None:
    assert main(["index", str(files), "--manifest", str(manifest), "--collection", "archive",
                 "--data", str(data), "--quiet"]) == 0


def _opened(client, link: str) -> str | None:
    resp = client.get(link, follow_redirects=False)
    if resp.status_code != 303:
        return None
    return parse_qs(urlsplit(resp.headers["location"]).query)["id"][0]


def test_a_permanent_link_survives_rebuilds_and_moved_files(tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    (files / "scan-0001.txt").write_text("佳木斯市粮食局关于粮食收购工作的通知。", encoding="utf-8")
    (files / "loose.txt").write_text("一件没有档号的零散文件，内容独一无二：紫檀书架。", encoding="utf-8")
    manifest = files / "目录.csv"
    manifest.write_text("文件,档号,题名,全宗号,开放状态\n"
                        "scan-0001.txt,J040-1999-永久-0003,粮食收购通知,J040 佳木斯市粮食局,开放\n", encoding="utf-8")
    data = tmp_path / "data"
    _index(files, manifest, data)
    with TestClient(create_app(Settings(data=data))) as c:
        first = _opened(c, "/a/J040-1999-永久-0003")
        loose_id = c.get("/api/search", params={"q": "紫檀书架"}).json()["hits"][0]["id"]
        assert first and _opened(c, f"/a/{loose_id}") == loose_id
        csv_text = c.get("/api/export/csv", params={"q": "粮食收购"}).content.decode("utf-8-sig")
        assert "/a/J040-1999-%E6%B0%B8%E4%B9%85-0003" in csv_text  # exports cite the permanent link

    # The files move into folders under new names; the catalogue follows them.
    (files / "1999").mkdir()
    shutil.move(files / "scan-0001.txt", files / "1999" / "粮食收购通知.txt")
    shutil.move(files / "loose.txt", files / "1999" / "零散.txt")
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("scan-0001.txt", "1999/粮食收购通知.txt"),
                        encoding="utf-8")
    _index(files, manifest, data)
    with TestClient(create_app(Settings(data=data))) as c:
        assert _opened(c, "/a/J040-1999-永久-0003") == first
        assert _opened(c, f"/a/{loose_id}") == loose_id

    # And the index is built again from nothing.
    shutil.rmtree(data)
    _index(files, manifest, data)
    with TestClient(create_app(Settings(data=data))) as c:
        assert _opened(c, "/a/J040-1999-永久-0003") == first
        assert _opened(c, f"/a/{loose_id}") == loose_id
        assert c.get("/a/J040-1999-永久-9999", follow_redirects=False).status_code == 404
