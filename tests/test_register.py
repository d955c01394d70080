"""The reading room's register (利用登记): a clerk records a visit, the items consulted, pages
copied and the outcome; only 阅览室 and 管理员 read the personal fields, every read is on the
record, identity numbers are unreadable from the data directory alone, and the retention
purge erases them leaving the counts."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from settings import Settings
from staff import audit, register
from tests.staff_fixtures import archive_item, build_archive, make_accounts, sign_in

PEOPLE = (("desk", "孙阅览", "reading_room"), ("boss", "赵管理", "admin"), ("wang", "王审核", "reviewer"))
VISITOR = {"name": "张秀兰", "id_type": "居民身份证", "id_number": "23080319580317242X", "purpose": "个人取证"}


@pytest.fixture(scope="module")
def key():
    return register.new_key()


def _app(tmp_path, key, **kw) -> TestClient:
    if not (tmp_path / "index").exists():
        build_archive(tmp_path, [archive_item(1, date(1960, 5, 1), "open"), archive_item(2, date(1961, 5, 1), "open"),
                                 archive_item(3, date(2010, 5, 1), "restricted")])
    settings = Settings(data=tmp_path, opening_interval=0, **({"register_key": key} | kw))
    make_accounts(settings, *PEOPLE)
    return TestClient(create_app(settings))


def _post(c, path, token, body):
    return c.post(path, json=body, headers={"X-CSRF-Token": token})


def test_a_clerk_registers_a_visit_adds_items_and_records_copies_and_outcome(tmp_path, key):
    with _app(tmp_path, key) as c:
        token = sign_in(c, "desk")
        options = c.get("/staff/api/register/options").json()
        assert options["purposes"][:2] == ["编史修志", "工作查考"] and "居民身份证" in options["id_types"]
        resp = _post(c, "/staff/api/register/visits", token, {**VISITOR, "items": [{"ref": "J012-0001"}]})
        assert resp.status_code == 200, resp.text
        visit = resp.json()["id"]
        added = _post(c, f"/staff/api/register/visits/{visit}/items", token,
                      {"items": [{"ref": "J012-0003", "copies": 2}]})  # by 档号 (here the same as its id)
        assert added.json()["added"] == 1
        shown = c.get(f"/staff/api/register/visits/{visit}").json()
        rows = {i["id"]: i["row"] for i in shown["items"]}
        assert set(rows) == {"J012-0001", "J012-0003"}
        resp = _post(c, f"/staff/api/register/visits/{visit}/outcome", token,
                     {"outcome": "查到1958年招工档案，办理退休手续", "copies": {str(rows["J012-0001"]): 3}})
        assert resp.status_code == 200, resp.text
        shown = c.get(f"/staff/api/register/visits/{visit}").json()
        assert shown["name"] == "张秀兰" and shown["id_number"] == VISITOR["id_number"]
        assert shown["purpose"] == "个人取证" and shown["outcome"].startswith("查到1958年")
        assert shown["copies"] == 5 and shown["items"][0]["title"].startswith("佳木斯市林业局")
        listed = c.get("/staff/api/register/visits").json()["visits"]
        assert [v["id"] for v in listed] == [visit]
        assert _post(c, "/staff/api/register/visits", token, {**VISITOR, "items": [{"ref": "NO-SUCH"}]}).status_code == 422
        assert _post(c, "/staff/api/register/visits", token, {**VISITOR, "purpose": "好奇"}).status_code == 422
        assert c.get("/staff/api/register/visits/999").status_code == 404
        store = c.app.state.staff.store
    trail = audit.entries(store)
    reads = [e for e in trail if e["action"] == "register.read"]
    assert len(reads) == 3 and all(e["actor"] == "孙阅览（desk）" for e in reads)  # every read, by whom
    assert {"register.visit", "register.items", "register.outcome"} <= {e["action"] for e in trail}
    text = json.dumps(trail, ensure_ascii=False)
    assert "张秀兰" not in text and VISITOR["id_number"] not in text  # the trail cannot be erased: it names nobody
    assert audit.verify(store)[1] == []


def test_only_the_reading_room_and_administrators_reach_the_register(tmp_path, key):
    with _app(tmp_path, key) as c:
        assert c.get("/staff/api/register/visits").status_code == 404  # not there for anyone not signed in
        sign_in(c, "wang")
        assert c.get("/staff/api/register/visits").status_code == 403
        assert c.get("/staff/api/register/options").status_code == 403
        sign_in(c, "boss")
        assert c.get("/staff/api/register/visits").status_code == 200


def test_the_data_directory_alone_does_not_reveal_names_or_identity_numbers(tmp_path, key):
    with _app(tmp_path, key) as c:
        token = sign_in(c, "desk")
        assert _post(c, "/staff/api/register/visits", token, VISITOR).status_code == 200
        c.app.state.usage.flush()
    raw = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for field in ("张秀兰", VISITOR["id_number"], VISITOR["id_number"].lower(), key):
        assert field.encode() not in raw, field
    with _app(tmp_path, register.new_key()) as c:  # another key opens nothing
        sign_in(c, "desk")
        resp = c.get("/staff/api/register/visits")
        assert resp.status_code == 503 and "张秀兰" not in resp.text


def test_no_key_or_a_key_inside_the_data_directory_is_refused(tmp_path, key):
    inside = tmp_path / "register.key"
    inside.write_text(key)
    for kw in ({"register_key": None}, {"register_key": None, "register_key_file": inside}):
        with _app(tmp_path, key, **kw) as c:
            token = sign_in(c, "desk")
            resp = _post(c, "/staff/api/register/visits", token, VISITOR)
            assert resp.status_code == 503 and resp.json()["error"] == "register_key_missing"
    outside = tmp_path.parent / f"{tmp_path.name}-register.key"
    outside.write_text(key)
    with _app(tmp_path, key, register_key=None, register_key_file=outside) as c:
        assert _post(c, "/staff/api/register/visits", sign_in(c, "desk"), VISITOR).status_code == 200


def test_purposes_are_configurable(tmp_path, key):
    with _app(tmp_path, key, register_purposes="查档,其他") as c:
        token = sign_in(c, "desk")
        assert c.get("/staff/api/register/options").json()["purposes"] == ["查档", "其他"]
        assert _post(c, "/staff/api/register/visits", token, VISITOR).status_code == 422
        assert _post(c, "/staff/api/register/visits", token, {**VISITOR, "purpose": "查档"}).status_code == 200


def test_one_persons_data_is_exported_on_request(tmp_path, key):
    with _app(tmp_path, key) as c:
        token = sign_in(c, "desk")
        for body in (VISITOR, {**VISITOR, "id_number": VISITOR["id_number"].lower()[:6] + " " + VISITOR["id_number"][6:],
                               "purpose": "民生"},
                     {**VISITOR, "name": "李建国", "id_number": "230803196001011234"}):
            assert _post(c, "/staff/api/register/visits", token, {**body, "items": [{"ref": "J012-0002"}]}).status_code == 200
        resp = _post(c, "/staff/api/register/person", token, {"id_type": "居民身份证", "id_number": VISITOR["id_number"]})
        assert resp.status_code == 200
        mine = resp.json()["visits"]
        assert [v["purpose"] for v in mine] == ["个人取证", "民生"] and {v["name"] for v in mine} == {"张秀兰"}
        assert mine[0]["items"][0]["id"] == "J012-0002"
        trail = audit.entries(c.app.state.staff.store)
    assert trail[0]["action"] == "register.export_person" and VISITOR["id_number"] not in json.dumps(trail)


def test_the_retention_purge_erases_personal_fields_and_leaves_the_counts(tmp_path, key):
    old = date.today() - timedelta(days=1095 + 30)
    with _app(tmp_path, key) as c:
        token = sign_in(c, "desk")
        for day, items in ((old, ["J012-0001", "J012-0002"]), (date.today(), ["J012-0001"])):
            body = {**VISITOR, "day": day.isoformat(), "items": [{"ref": r, "copies": 4} for r in items]}
            assert _post(c, "/staff/api/register/visits", token, body).status_code == 200
        before = _counts(tmp_path)
        assert _post(c, "/staff/api/register/purge", token, {}).status_code == 403  # 管理员 only
        token = sign_in(c, "boss")
        assert _post(c, "/staff/api/register/purge", token, {}).json() == {"erased": 1}
        assert _counts(tmp_path) == before
        visits = {v["day"]: v for v in c.get("/staff/api/register/visits", params={"since": old.isoformat()}).json()["visits"]}
        erased, kept = visits[old.isoformat()], visits[date.today().isoformat()]
        assert erased["name"] == erased["id_number"] == erased["id_type"] == "（已删除）" and erased["erased_at"]
        assert erased["purpose"] == "个人取证" and erased["copies"] == 8 and len(erased["items"]) == 2
        assert kept["name"] == "张秀兰"
        assert _post(c, "/staff/api/register/person", token,
                     {"id_type": "居民身份证", "id_number": VISITOR["id_number"]}).json()["visits"][0]["day"] == kept["day"]
    db = sqlite3.connect(tmp_path / "staff.sqlite")
    left = db.execute("SELECT name_enc, id_type, id_number_enc, id_digest FROM register_visits WHERE day = ?",
                      (old.isoformat(),)).fetchone()
    assert left == (None, None, None, None)


def _counts(data) -> tuple:
    db = sqlite3.connect(data / "staff.sqlite")
    try:
        return (db.execute("SELECT count(*), group_concat(purpose) FROM register_visits").fetchone(),
                db.execute("SELECT count(*), sum(copies) FROM register_items").fetchone())
    finally:
        db.close()


def test_the_command_line_makes_a_key_and_purges(tmp_path, key, capsys, monkeypatch):
    from indexer.cli import main

    assert main(["register", "key"]) == 0
    made = capsys.readouterr().out.strip()
    assert register.cipher(Settings(data=tmp_path, register_key=made)).open(
        register.cipher(Settings(data=tmp_path, register_key=made)).seal("张三", "name"), "name") == "张三"
    old = (date.today() - timedelta(days=40)).isoformat()
    with _app(tmp_path, key) as c:
        assert _post(c, "/staff/api/register/visits", sign_in(c, "desk"), {**VISITOR, "day": old}).status_code == 200
    monkeypatch.setenv("CHAYUE_REGISTER_RETENTION_DAYS", "30")
    assert main(["register", "purge", "--data", str(tmp_path)]) == 0
    assert "1" in capsys.readouterr().out
    assert _counts(tmp_path)[0][0] == 1
    db = sqlite3.connect(tmp_path / "staff.sqlite")
    assert db.execute("SELECT erased_at IS NOT NULL, name_enc IS NULL FROM register_visits").fetchone() == (1, 1)


def test_a_terminal_bound_to_a_visit_records_what_the_visitor_opens(tmp_path, key):
    room = "room-key-terminal-7788"
    with _app(tmp_path, key, reading_room_key=room) as c:
        token = sign_in(c, "desk")
        visit = _post(c, "/staff/api/register/visits", token, VISITOR).json()["id"]
        code = _post(c, f"/staff/api/register/visits/{visit}/terminal", token, {}).json()["code"]
        assert len(code) == 8 and code.isdigit()
        terminal = TestClient(c.app, headers={"X-Chayue-Key": room})
        public = TestClient(c.app)
        assert public.post("/api/reading-room/visit", json={"code": code}).status_code == 404  # terminals only
        assert terminal.post("/api/reading-room/visit", json={"code": "00000000"}).status_code == 422
        assert terminal.get("/api/documents/J012-0001").status_code == 200  # before binding: not the visit's
        assert terminal.post("/api/reading-room/visit", json={"code": code}).status_code == 200
        for _ in range(2):
            assert terminal.get("/api/documents/J012-0002").status_code == 200
        # None of these is the visit's: a public browser with the cookie, a forged cookie, and
        # the terminal after the visitor ended the binding.
        public.cookies.set("chayue_visit", terminal.cookies.get("chayue_visit"))
        assert public.get("/api/documents/J012-0001").status_code == 200
        forged = TestClient(c.app, headers={"X-Chayue-Key": room}, cookies={"chayue_visit": f"{visit}.forged"})
        assert forged.get("/api/documents/J012-0001").status_code == 200
        terminal.delete("/api/reading-room/visit")
        assert terminal.get("/api/documents/J012-0001").status_code == 200
        shown = c.get(f"/staff/api/register/visits/{visit}").json()
    assert [i["id"] for i in shown["items"]] == ["J012-0002"]  # once, however often opened
