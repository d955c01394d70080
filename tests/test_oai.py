"""OAI-PMH 2.0, harvested by Sickle (a kept OAI-PMH client) from a real `chayue serve`:
complete harvests through resumption tokens, sets by collection and 全宗, withdrawn and
removed items as deleted records, and nothing the harvester may not see."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sickle import Sickle
from sickle.oaiexceptions import BadArgument, BadResumptionToken, IdDoesNotExist, NoRecordsMatch

from indexer.cli import main

REPO = Path(__file__).resolve().parent.parent
ROOM_KEY, STAFF_KEY = "oai-room-key", "oai-staff-key"
PAGE = 4
OPEN = 10  # open items of fonds J050; one more is reading-room only, one restricted


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manifest(files: Path, closed: dict[str, str]) -> Path:
    rows = ["文件,档号,题名,全宗号,开放状态,馆藏类别"]
    for i in range(1, OPEN + 3):
        code = f"J050-2001-永久-{i:04d}"
        access = {OPEN + 1: "馆内查阅", OPEN + 2: "控制"}.get(i, "开放")
        access = closed.get(code, access)
        if (files / f"{code}.txt").exists():
            rows.append(f"{code}.txt,{code},佳木斯市交通局文件第{i}号,J050 佳木斯市交通局,{access},开放档案")
    path = files / "目录.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    root = tmp_path_factory.mktemp("oai")
    files = root / "files"
    files.mkdir()
    for i in range(1, OPEN + 3):
        (files / f"J050-2001-永久-{i:04d}.txt").write_text(f"佳木斯市交通局关于道路养护的第{i}号通知。" * 3, encoding="utf-8")
    (files / "current.txt").write_text("佳木斯市人民政府关于公共交通的现行文件。", encoding="utf-8")
    data = root / "data"

    def index(closed: dict[str, str] | None = None) -> None:
        manifest = _manifest(files, closed or {})
        assert main(["index", str(files), "--manifest", str(manifest), "--collection", "current",
                     "--data", str(data), "--quiet"]) == 0

    index()
    port = _free_port()
    env = {**os.environ, "CHAYUE_STAFF_KEY": STAFF_KEY, "CHAYUE_READING_ROOM_KEY": ROOM_KEY,
           "CHAYUE_OAI_PAGE_SIZE": str(PAGE)}
    log = root / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "indexer.cli", "serve", "--data", str(data),
                                 "--host", "127.0.0.1", "--port", str(port)],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield {"base": base, "files": files, "index": index}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert "Traceback" not in log.read_text(errors="replace")


def _sickle(repository, key: str | None = None) -> Sickle:
    headers = {"X-Chayue-Key": key} if key else {}
    return Sickle(f"{repository['base']}/api/oai", headers=headers, timeout=30)


def _ids(headers) -> list[str]:
    return [h.identifier.rsplit(":", 1)[-1] for h in headers]


def test_a_harvester_collects_every_open_record_through_resumption_tokens(repository):
    sickle = _sickle(repository)
    records = sickle.ListRecords(metadataPrefix="oai_dc")
    # More than one page: the first answer carries a token and the size of the whole list.
    assert records.resumption_token is not None and records.resumption_token.complete_list_size == str(OPEN + 1)
    harvested = list(records)
    assert len(harvested) == OPEN + 1 and len({r.header.identifier for r in harvested}) == OPEN + 1
    item = next(r for r in harvested if "0003" in r.header.identifier)
    assert item.metadata["title"] == ["佳木斯市交通局文件第3号"]
    assert f"{repository['base']}/a/J050-2001-%E6%B0%B8%E4%B9%85-0003" in item.metadata["identifier"]
    assert "fonds:J050" in item.header.setSpecs and "collection:archive" in item.header.setSpecs


def test_sets_by_collection_and_fonds(repository):
    sickle = _sickle(repository)
    sets = {s.setSpec: s.setName for s in sickle.ListSets()}
    assert sets["fonds:J050"] == "全宗 J050 佳木斯市交通局"
    assert {"collection:archive", "collection:current"} <= set(sets)
    assert len(list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="fonds:J050"))) == OPEN
    assert len(list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="collection:current"))) == 1
    with pytest.raises(BadArgument):
        list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="fonds"))


def test_what_the_harvester_may_not_see_is_nowhere(repository):
    public, room = _sickle(repository), _sickle(repository, ROOM_KEY)
    public_ids = _ids(public.ListIdentifiers(metadataPrefix="oai_dc"))
    room_ids = _ids(room.ListIdentifiers(metadataPrefix="oai_dc"))
    room_only = "J050-2001-%E6%B0%B8%E4%B9%85-0011"
    restricted = "J050-2001-%E6%B0%B8%E4%B9%85-0012"
    assert room_only not in public_ids and room_only in room_ids and restricted not in room_ids
    assert set(room_ids) - set(public_ids) == {room_only}
    # A hidden record answers exactly like one that was never there.
    host = public.ListIdentifiers(metadataPrefix="oai_dc").next().identifier.rsplit(":", 1)[0]
    for sickle, hidden in ((public, room_only), (public, restricted), (room, restricted), (public, "nothing")):
        with pytest.raises(IdDoesNotExist):
            sickle.GetRecord(identifier=f"{host}:{hidden}", metadataPrefix="oai_dc")
    with pytest.raises(BadResumptionToken):
        list(public.ListIdentifiers(resumptionToken="bm90IGEgdG9rZW4"))
    with pytest.raises(NoRecordsMatch):
        list(public.ListIdentifiers(metadataPrefix="oai_dc", set="fonds:J999"))


def test_withdrawn_and_removed_items_are_deleted_records_to_those_who_saw_them(repository):
    # 0002 is closed (open → restricted), 0005's file is removed, the reading-room 0011 too.
    files = repository["files"]
    (files / "J050-2001-永久-0005.txt").unlink()
    (files / "J050-2001-永久-0011.txt").unlink()
    repository["index"]({"J050-2001-永久-0002": "控制"})
    public, room, staff = _sickle(repository), _sickle(repository, ROOM_KEY), _sickle(repository, STAFF_KEY)
    headers = list(public.ListIdentifiers(metadataPrefix="oai_dc"))
    deleted = {h.identifier.rsplit(":", 1)[-1] for h in headers if h.deleted}
    live = {h.identifier.rsplit(":", 1)[-1] for h in headers if not h.deleted}
    code = "J050-2001-%E6%B0%B8%E4%B9%85-{:04d}".format
    assert deleted == {code(2), code(5)}  # the reading-room item was never the public's to know
    assert len(live) == OPEN - 2 + 1
    room_deleted = {h.identifier.rsplit(":", 1)[-1] for h in room.ListIdentifiers(metadataPrefix="oai_dc") if h.deleted}
    assert room_deleted == {code(2), code(5), code(11)}
    staff_deleted = {h.identifier.rsplit(":", 1)[-1] for h in staff.ListIdentifiers(metadataPrefix="oai_dc") if h.deleted}
    assert staff_deleted == {code(5), code(11)}  # staff still see the closed one
    host = headers[0].identifier.rsplit(":", 1)[0]
    record = public.GetRecord(identifier=f"{host}:{code(2)}", metadataPrefix="oai_dc")
    assert record.deleted and not getattr(record, "metadata", None)
    # Opened again, it is a live record again.
    repository["index"]({})
    assert not public.GetRecord(identifier=f"{host}:{code(2)}", metadataPrefix="oai_dc").deleted
