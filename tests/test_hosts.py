"""Which host names the service answers to, and the address its links carry: with terminal
networks configured, a page that rebinds its own name to the server (DNS rebinding) gets
nothing through a terminal's browser; feeds and exports link to the configured base URL,
whatever Host a request named, and never repeat a key put in the URL."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from settings import Settings
from tests.test_leaks import ROOM, ROOM_ONLY, _build

TERMINAL = ("10.20.0.5", 50000)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _build("embedded", tmp_path_factory.mktemp("hosts"), ("reading_room",), []).data


def _room_search(data, host: str, **settings) -> tuple[int, str]:
    app = create_app(Settings(data=data, reading_room_networks="10.20.0.0/24", **settings))
    with TestClient(app, base_url=f"http://{host}", client=TERMINAL) as c:
        resp = c.get("/api/search", params={"q": ROOM_ONLY["body"]})
        return resp.status_code, resp.text


def test_a_terminal_gets_reading_room_answers_only_under_a_name_the_service_has(data):
    status, text = _room_search(data, "evil.example")
    assert status == 400 and '"bad_host"' in text and ROOM_ONLY["id"] not in text
    assert _room_search(data, "evil.example:8000")[0] == 400
    assert _room_search(data, "chayue.evil.example", base_url="https://chayue.example.org")[0] == 400
    # The control: the same terminal by the server's address, or by its configured name, is
    # the reading room, and finds the reading-room document.
    for host, settings in (("10.20.0.1:8000", {}), ("[::1]:8000", {}), ("localhost", {}),
                           ("chayue.example.org", {"base_url": "https://chayue.example.org"})):
        status, text = _room_search(data, host, **settings)
        assert status == 200 and ROOM_ONLY["id"] in text, host


def test_an_allowed_hosts_list_is_all_that_is_answered(data):
    listed = {"allowed_hosts": "chayue.example.org, *.archive.example"}
    assert _room_search(data, "chayue.example.org", **listed)[0] == 200
    assert _room_search(data, "reading.archive.example:443", **listed)[0] == 200
    for host in ("evil.example", "10.20.0.1", "archive.example.evil"):
        assert _room_search(data, host, **listed)[0] == 400, host
    assert _room_search(data, "evil.example", allowed_hosts="*")[0] == 200


def test_without_terminal_networks_any_host_is_answered(data):
    with TestClient(create_app(Settings(data=data)), base_url="http://whatever.example") as c:
        assert c.get("/api/search", params={"q": "湿地"}).status_code == 200


def test_feed_and_export_links_use_the_base_url_whatever_the_host(data):
    app = create_app(Settings(data=data, base_url="https://chayue.example.org/"))
    with TestClient(app, base_url="http://evil.example") as c:
        feed = c.get("/api/search.atom", params={"q": "湿地"}).text
        assert "evil.example" not in feed and "https://chayue.example.org/doc.html?id=open-" in feed
        assert 'href="https://chayue.example.org/api/search.atom?q=' in feed
        rows = list(csv.reader(io.StringIO(c.get("/api/export/csv", params={"q": "湿地"}).content.decode("utf-8-sig"))))
        links = [r[rows[0].index("链接")] for r in rows[1:]]
        assert links and all(link.startswith("https://chayue.example.org/a/") for link in links)


def test_a_key_put_in_the_feed_url_is_not_repeated_in_the_feed(data):
    with TestClient(create_app(Settings(data=data, reading_room_key=ROOM))) as c:
        for name in ("key", "X-Chayue-Key", "token", "k"):
            resp = c.get("/api/search.atom", params={"q": "湿地", name: ROOM, "agency": "佳木斯市档案局"})
            assert resp.status_code == 200
            assert ROOM not in resp.text and resp.text.count("agency=") == 3, name  # id, self, alternate
