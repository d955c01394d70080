"""Small things a caller could learn or forge: the last indexing time moving when only a
restricted file is indexed, line breaks in a title starting records of their own in a RIS
export, and bodies the parser cannot read answered in another shape than the others."""

from __future__ import annotations

import time
from datetime import date

import pytest
import rispy
from fastapi.testclient import TestClient

from api.app import create_app
from engine import Engine
from engine.embedded import open_embedded
from engine.model import Document, Page
from settings import Settings

STAFF = {"X-Chayue-Key": "staff-k"}
FORGED = "湿地保护通知\r\nER  - \r\nTY  - JOUR\r\nTI  - 伪造的记录\nAU  - 伪造者"


def _doc(doc_id: str, title: str, access: str = "open") -> Document:
    return Document(id=doc_id, collection="current", title=title, access=access, date=date(2020, 1, 1),
                    agency=["佳木斯市档案局\nER  - "], pages=[Page(1, "湿地保护与档案管理。")])


def _write(data, docs) -> None:
    engine = Engine(open_embedded(data, writable=True))
    engine.upsert(docs)
    engine.commit()
    engine.close()


@pytest.fixture
def data(tmp_path):
    _write(tmp_path, [_doc("open-1", FORGED), _doc("open-2", "湿地保护规定")])
    return tmp_path


def test_indexing_a_restricted_file_does_not_move_the_public_last_indexed(data):
    with TestClient(create_app(Settings(data=data, staff_key="staff-k"))) as c:
        public, staff = c.get("/api/health").json(), c.get("/api/health", headers=STAFF).json()
        assert staff["last_indexed"]
        time.sleep(1.1)  # the time is kept to the second
        _write(data, [_doc("secret-1", "内部文件", access="restricted")])
        assert c.get("/api/health", headers=STAFF).json()["last_indexed"] != staff["last_indexed"]
        assert c.get("/api/health").json()["last_indexed"] == public["last_indexed"]
        assert c.get("/api/health").json()["documents"] == 2


def test_line_breaks_in_a_title_or_an_agency_start_no_ris_record(data):
    with TestClient(create_app(Settings(data=data))) as c:
        resp = c.get("/api/export/ris", params={"q": "湿地"})
        assert resp.status_code == 200
        records = rispy.loads(resp.content.decode("utf-8-sig"))
        assert sorted(r["id"] for r in records) == ["open-1", "open-2"]
        forged = next(r for r in records if r["id"] == "open-1")
        assert forged["title"].startswith("湿地保护通知 ER  - ") and "伪造者" in forged["title"]
        assert all(r.get("type_of_reference") == "GOVDOC" for r in records)


@pytest.mark.parametrize("body", [
    b'{"items": [{"id": "\xff\xfe"}]}',                          # not UTF-8
    b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",      # nested past the parser's depth
    b"not json at all",
    b'{"items": [{"id": "open-1"}',                              # cut short
])
def test_a_body_that_is_not_json_is_answered_in_one_shape_chinese_first(data, body):
    with TestClient(create_app(Settings(data=data))) as c:
        resp = c.post("/api/export/csv", content=body, headers={"Content-Type": "application/json"})
        assert resp.status_code == 422, resp.text
        err = resp.json()
        assert set(err) == {"error", "message"} and err["error"] == "invalid_parameter"
        assert err["message"].startswith("参数不正确"), err
