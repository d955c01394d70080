"""Named staff: accounts with roles, sign-in with throttling, sessions that end, CSRF on
every state change, personal API keys. Each protection has a test that fails without it."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from settings import Settings
from staff import audit
from staff.accounts import Accounts
from staff.store import Store
from tests.staff_fixtures import PASSWORD, make_accounts, sign_in

PEOPLE = (("wang", "王审核", "reviewer"), ("li", "李审核", "reviewer"), ("boss", "赵管理", "admin"),
          ("desk", "孙阅览", "reading_room"))


def _client(tmp_path, **kw) -> TestClient:
    settings = Settings(data=tmp_path, opening_interval=0, **kw)
    make_accounts(settings, *PEOPLE)
    return TestClient(create_app(settings))


def test_passwords_are_kept_as_argon2_hashes_only(tmp_path):
    settings = Settings(data=tmp_path)
    make_accounts(settings, *PEOPLE)
    raw = (tmp_path / "staff.sqlite").read_bytes()
    assert PASSWORD.encode() not in raw
    with Store(settings.staff_path).connect() as db:
        hashes = [r[0] for r in db.execute("SELECT password_hash FROM accounts")]
    assert len(hashes) == 4 and all(h.startswith("$argon2id$") for h in hashes)
    assert len(set(hashes)) == 4  # salted: the same password never hashes alike


def test_sign_in_gives_a_session_and_a_wrong_password_does_not(tmp_path):
    with _client(tmp_path) as c:
        assert c.get("/staff/api/me").status_code == 401
        bad = c.post("/staff/api/signin", json={"username": "wang", "password": "wrong password!"})
        assert bad.status_code == 401 and "chayue_staff" not in bad.cookies
        nobody = c.post("/staff/api/signin", json={"username": "nobody", "password": PASSWORD})
        assert nobody.status_code == 401 and nobody.json() == {**bad.json()}  # no telling who exists
        sign_in(c, "wang")
        me = c.get("/staff/api/me").json()
        assert me["name"] == "王审核" and me["role_label"] == "审核员"
        cookie = next(ck for ck in c.cookies.jar if ck.name == "chayue_staff")
        assert cookie.path == "/staff" and cookie.has_nonstandard_attr("HttpOnly")
        c.post("/staff/api/signout", headers={"X-CSRF-Token": me["csrf"]})
        assert c.get("/staff/api/me").status_code == 401


def test_state_changes_need_the_csrf_token(tmp_path):
    """A page of another site can make the browser send the cookie, not read the token."""
    with _client(tmp_path) as c:
        token = sign_in(c, "wang")
        body = {"id": "nothing", "reason": "投诉"}
        assert c.post("/staff/api/keys").status_code == 403
        assert c.post("/staff/api/keys", headers={"X-CSRF-Token": "forged"}).status_code == 403
        other = TestClient(c.app)
        other_token = sign_in(other, "li")
        assert c.post("/staff/api/keys", headers={"X-CSRF-Token": other_token}).status_code == 403  # not this session's
        assert c.post("/staff/api/withdrawals", json=body).json()["error"] == "csrf"
        resp = c.post("/staff/api/keys", headers={"X-CSRF-Token": token})
        assert resp.status_code == 200 and resp.json()["key"].startswith("cy_")


def test_sign_in_takes_a_json_body_only(tmp_path):
    """A form posted by another site's page cannot sign the browser in (login CSRF)."""
    with _client(tmp_path) as c:
        resp = c.post("/staff/api/signin", content=f'{{"username":"wang","password":"{PASSWORD}"}}',
                      headers={"content-type": "text/plain"})
        assert resp.status_code in (415, 422) and "chayue_staff" not in resp.cookies


def test_an_idle_session_ends(tmp_path):
    with _client(tmp_path, staff_idle_minutes=1.5 / 60) as c:
        sign_in(c, "wang")
        time.sleep(0.5)
        assert c.get("/staff/api/me").status_code == 200  # activity keeps it
        time.sleep(2.0)
        assert c.get("/staff/api/me").status_code == 401


def test_a_session_ends_at_its_maximum_age_even_when_busy(tmp_path):
    with _client(tmp_path, staff_session_hours=4 / 3600) as c:
        sign_in(c, "wang")
        for _ in range(4):
            assert c.get("/staff/api/me").status_code == 200
            time.sleep(0.5)
        time.sleep(2.5)
        assert c.get("/staff/api/me").status_code == 401


def test_sign_in_is_throttled_per_account_before_the_password_is_checked(tmp_path):
    with _client(tmp_path, signin_account_failures=3) as c:
        for _ in range(3):
            assert c.post("/staff/api/signin", json={"username": "wang", "password": "guess guess"}).status_code == 401
        right = c.post("/staff/api/signin", json={"username": "wang", "password": PASSWORD})
        assert right.status_code == 429 and "Retry-After" in right.headers
        sign_in(c, "li")  # another account is not held back
    with Store(tmp_path / "staff.sqlite").connect() as db:
        actions = [r[0] for r in db.execute("SELECT action FROM audit WHERE subject = 'wang'")]
    assert actions.count("signin.failed") == 3 and "signin.throttled" in actions


def test_sign_in_is_throttled_overall(tmp_path):
    """Guessing across many names is held back too."""
    with _client(tmp_path, signin_global_failures=4, signin_account_failures=100) as c:
        for name in ("a1", "a2", "a3", "a4"):
            c.post("/staff/api/signin", json={"username": name, "password": "guess guess"})
        assert c.post("/staff/api/signin", json={"username": "li", "password": PASSWORD}).status_code == 429


def test_a_disabled_account_and_a_reset_password_end_sessions_and_keys(tmp_path):
    with _client(tmp_path) as c:
        token = sign_in(c, "wang")
        key = c.post("/staff/api/keys", headers={"X-CSRF-Token": token}).json()["key"]
        assert c.get("/staff/api/me", headers={"X-Chayue-Key": key}).status_code == 200
        accounts: Accounts = c.app.state.staff.accounts
        accounts.set_disabled("wang", True, "test")
        assert c.get("/staff/api/me").status_code == 401
        assert c.get("/staff/api/me", headers={"X-Chayue-Key": key}).status_code == 401
        assert c.post("/staff/api/signin", json={"username": "wang", "password": PASSWORD}).status_code == 401
        sign_in(c, "li")
        accounts.reset_password("li", "a brand new passphrase", "test")
        assert c.get("/staff/api/me").status_code == 401


def test_a_personal_key_names_its_owner_and_replaces_the_shared_staff_key(tmp_path):
    from tests.test_leaks import _build

    data = _build("embedded", tmp_path, ("restricted", "reading_room"), []).data
    with _client(data) as c:
        boss = c.app.state.staff.accounts.get("boss")
        key = c.app.state.staff.accounts.new_key(boss, "test")
        desk_key = c.app.state.staff.accounts.new_key(c.app.state.staff.accounts.get("desk"), "test")
        assert c.get("/staff/api/me", headers={"Authorization": f"Bearer {key}"}).json()["username"] == "boss"
        # On the public API a 审核员/管理员 key sees what staff see, a 阅览室 key the reading room.
        assert c.get("/api/search", params={"q": "翡翠鹦鹉螺计划"}, headers={"X-Chayue-Key": key}).json()["total"] == 1
        assert c.get("/api/search", params={"q": "翡翠鹦鹉螺计划"}, headers={"X-Chayue-Key": desk_key}).json()["total"] == 0
        assert c.get("/api/search", params={"q": "琥珀蜻蜓"}, headers={"X-Chayue-Key": desk_key}).json()["total"] == 1
        assert c.get("/api/search", params={"q": "翡翠鹦鹉螺计划"},
                     headers={"X-Chayue-Key": "cy_not-a-key"}).json()["total"] == 0
        assert c.get("/api/documents/LEAKID7731", headers={"X-Chayue-Key": key}).status_code == 200
        assert c.get("/api/export/csv", params={"q": "湿地"}, headers={"X-Chayue-Key": key}).status_code == 200
        trail = [(e["actor"], e["action"], e["subject"]) for e in audit.entries(c.app.state.staff.store)]
        assert ("赵管理（boss）", "staff.view", "/api/documents/LEAKID7731") in trail
        assert ("赵管理（boss）", "staff.export", "/api/export/csv") in trail
        assert [t for t in trail if t[2] == "/api/documents/LEAKID7731"] == [("赵管理（boss）", "staff.view",
                                                                             "/api/documents/LEAKID7731")]
        # A key needs no CSRF token (no cookie is involved) but the role still counts.
        desk = c.post("/staff/api/withdrawals", json={"id": "open-01", "reason": "x"}, headers={"X-Chayue-Key": desk_key})
        assert desk.status_code == 403


def test_every_sign_in_is_in_the_audit_trail(tmp_path):
    with _client(tmp_path) as c:
        sign_in(c, "wang")
        c.post("/staff/api/signin", json={"username": "li", "password": "not it at all"})
    entries = audit.entries(Store(tmp_path / "staff.sqlite"))
    got = [(e["action"], e["subject"]) for e in entries]
    assert ("signin", "wang") in got and ("signin.failed", "li") in got


@pytest.mark.parametrize("short", ["", "short"])
def test_short_passwords_are_refused(tmp_path, short):
    with pytest.raises(ValueError):
        make_accounts(Settings(data=tmp_path), ("x", "x", "reviewer")).reset_password("x", short)


def test_only_administrators_read_and_export_the_audit_trail(tmp_path):
    with _client(tmp_path) as c:
        sign_in(c, "wang")
        assert c.get("/staff/api/audit").status_code == 403
        assert c.get("/staff/api/audit.csv").status_code == 403
        sign_in(c, "boss")
        body = c.get("/staff/api/audit").json()
        assert body["problems"] == [] and body["entries"][0]["action"] == "signin"
        csv_text = c.get("/staff/api/audit.csv").text
        assert "account.create" in csv_text and "signin" in csv_text
        assert audit.entries(c.app.state.staff.store)[0]["action"] == "staff.export"
