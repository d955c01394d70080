"""Online use counted without personal data: what staff read in /staff/api/usage after the
public, the reading room and named callers have searched, read and exported."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from settings import Settings
from tests.staff_fixtures import archive_item, build_archive, make_accounts, sign_in

ROOM_KEY, STAFF_KEY = "room-key-usage-4417", "staff-key-usage-9931"
PEOPLE = (("wang", "王审核", "reviewer"), ("desk", "孙阅览", "reading_room"))


@pytest.fixture
def app(tmp_path):
    docs = [archive_item(1, date(1960, 5, 1), "open"), archive_item(2, date(1961, 5, 1), "open"),
            archive_item(3, date(2010, 5, 1), "restricted", title="秘密湿地调查报告")]
    build_archive(tmp_path, docs)
    settings = Settings(data=tmp_path, opening_interval=0, reading_room_key=ROOM_KEY, staff_key=STAFF_KEY)
    accounts = make_accounts(settings, *PEOPLE)
    personal = accounts.new_key(accounts.get("desk"), "test")
    with TestClient(create_app(settings)) as c:
        yield c, personal


def _usage(c) -> dict:
    resp = c.get("/staff/api/usage")
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_views_exports_and_searches_are_counted_per_document_and_day(app):
    c, _ = app
    room = {"X-Chayue-Key": ROOM_KEY}
    for _ in range(3):
        assert c.get("/api/documents/J012-0001").status_code == 200
    assert c.get("/api/documents/J012-0002", headers=room).status_code == 200
    assert c.get("/api/export/csv", params={"q": "湿地保护档案"}).status_code == 200  # both open items
    for q in ("湿地", "湿地", "湿地", "鲟鳇鱼洄游"):
        assert c.get("/api/search", params={"q": q}).status_code == 200
    assert c.get("/api/search", params={"q": "湿地", "page": 2}).status_code == 200  # a page, not a search
    assert c.get("/api/search", params={"q": "湿地"}, headers=room).status_code == 200
    sign_in(c, "wang")
    figures = _usage(c)
    by_id = {d["doc_id"]: d for d in figures["documents"]}
    assert (by_id["J012-0001"]["views"], by_id["J012-0001"]["exports"]) == (3, 1)
    assert (by_id["J012-0002"]["views"], by_id["J012-0002"]["exports"]) == (1, 1)
    assert by_id["J012-0001"]["fonds"] == "J012 佳木斯市林业局" and by_id["J012-0001"]["category"] == "林业"
    today = date.today().isoformat()
    searches = {(s["day"], s["channel_label"]): (s["n"], s["empty"]) for s in figures["searches"]}
    assert searches == {(today, "网上"): (4, 1), (today, "阅览室"): (1, 0)}
    assert figures["frequent"][0] == {"query": "湿地", "n": 4, "empty": 0}
    assert figures["fruitless"] == [{"query": "鲟鳇鱼洄游", "n": 1}]


def test_staff_use_and_what_a_caller_may_not_see_are_not_counted(app):
    c, _ = app
    assert c.get("/api/documents/J012-0003").status_code == 404  # restricted: as if missing
    assert c.get("/api/documents/NO-SUCH").status_code == 404
    staff = {"X-Chayue-Key": STAFF_KEY}
    assert c.get("/api/documents/J012-0003", headers=staff).status_code == 200
    assert c.get("/api/search", params={"q": "秘密湿地"}, headers=staff).status_code == 200
    sign_in(c, "wang")
    figures = _usage(c)
    assert figures["documents"] == [] and figures["searches"] == [] and figures["frequent"] == []


def test_no_address_key_or_named_query_is_stored(app, tmp_path):
    c, personal = app
    c.get("/api/search", params={"q": "王小明 个人取证"}, headers={"X-Chayue-Key": personal})
    c.get("/api/search", params={"q": "公开检索词"}, headers={"X-Forwarded-For": "203.0.113.77"})
    c.get("/api/documents/J012-0001", headers={"X-Chayue-Key": personal})
    sign_in(c, "wang")
    figures = _usage(c)
    assert [q["query"] for q in figures["frequent"]] == ["公开检索词"]  # the named clerk's words are not kept
    assert sum(s["n"] for s in figures["searches"]) == 2  # but the search counts
    c.app.state.usage.flush()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("staff.sqlite*"))
    for secret in ("王小明", "203.0.113.77", "testclient", personal, ROOM_KEY, STAFF_KEY):
        assert secret.encode() not in raw, secret


def test_only_reviewers_and_administrators_read_the_figures(app):
    c, personal = app
    c.get("/api/documents/J012-0001")
    assert c.get("/staff/api/usage").status_code == 404  # not signed in: not there
    assert c.get("/staff/api/usage", headers={"X-Chayue-Key": ROOM_KEY}).status_code == 404
    assert c.get("/staff/api/usage", headers={"X-Chayue-Key": personal}).status_code == 403
    sign_in(c, "desk")
    assert c.get("/staff/api/usage").status_code == 403


def test_counts_survive_a_restart(tmp_path, app):
    c, _ = app
    c.get("/api/documents/J012-0001")
    c.app.state.usage.stop()  # what shutdown does
    with TestClient(create_app(c.app.state.settings)) as again:
        again.get("/api/documents/J012-0001")
        sign_in(again, "wang")
        assert {d["doc_id"]: d["views"] for d in _usage(again)["documents"]} == {"J012-0001": 2}


def test_a_store_that_cannot_be_written_fails_no_request_and_loses_no_count(app, tmp_path):
    from staff.store import Store

    c, _ = app
    side = c.app.state.staff
    good = side.store
    broken = tmp_path / "broken"
    broken.mkdir()
    side.store = Store.__new__(Store)
    side.store.path = broken  # a directory: sqlite cannot open it
    try:
        assert c.get("/api/documents/J012-0001").status_code == 200
        assert c.get("/api/search", params={"q": "湿地"}).status_code == 200
        c.app.state.usage.flush()  # fails, logged; the counts wait in memory
    finally:
        side.store = good
    sign_in(c, "wang")
    figures = _usage(c)
    assert {d["doc_id"]: d["views"] for d in figures["documents"]} == {"J012-0001": 1}
    assert figures["frequent"] == [{"query": "湿地", "n": 1, "empty": 0}]
