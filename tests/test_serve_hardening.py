"""A real `chayue serve` on loopback: a request trickling in (slowloris) is cut off at the read
deadline, and no key reaches its access log, wherever the caller put it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from engine import Engine
from engine.embedded import open_embedded
from engine.model import Document, Page

REPO = Path(__file__).resolve().parent.parent
STAFF = "staff-Key/with+odd&chars"
ROOM = "room-key-5521"
READ_TIMEOUT = 2.0

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("serve-hardening")
    engine = Engine(open_embedded(data, writable=True))
    engine.upsert([Document(id="d1", collection="current", title="湿地保护通知", pages=[Page(1, "湿地保护。")])])
    engine.commit()
    engine.close()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAYUE_")} | {
        "CHAYUE_STAFF_KEY": STAFF, "CHAYUE_READING_ROOM_KEY": ROOM, "CHAYUE_READ_TIMEOUT": str(READ_TIMEOUT)}
    log_path = data / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "indexer.cli", "serve", "--data", str(data),
                             "--host", "127.0.0.1", "--port", str(port)],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/api/health", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.3)
    yield url, port, proc, log_path
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def _held_for(port: int, first: bytes, trickle: bytes, give_up: float) -> float:
    """Seconds until the server closes a connection that sends `first`, then `trickle` every
    half second (capped at `give_up`)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(first)
        s.settimeout(0.5)
        while time.monotonic() - started < give_up:
            try:
                if s.recv(4096) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                pass
            try:
                s.sendall(trickle)
            except OSError:  # reset: closed
                return time.monotonic() - started
    return time.monotonic() - started


def test_a_request_trickling_in_is_cut_off_at_the_read_deadline(server):
    _, port, _, _ = server
    # Headers a line at a time, never finished.
    held = _held_for(port, b"GET /api/health HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n", give_up=4 * READ_TIMEOUT)
    assert held < READ_TIMEOUT + 1.5, held
    # Headers complete, a body promised and sent a byte at a time.
    held = _held_for(port, b"GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n", b"a",
                     give_up=4 * READ_TIMEOUT)
    assert held < READ_TIMEOUT + 1.5, held
    # Nothing sent at all.
    assert _held_for(port, b"", b"", give_up=4 * READ_TIMEOUT) < READ_TIMEOUT + 1.5


def test_a_kept_alive_connection_still_serves_several_requests(server):
    url, _, _, _ = server
    with httpx.Client() as c:
        for _ in range(3):
            assert c.get(url + "/api/health").status_code == 200
            time.sleep(READ_TIMEOUT * 0.4)  # together longer than the deadline: each request has its own


def test_keys_never_reach_the_access_log(server):
    url, _, _, log_path = server
    tries = [{"key": STAFF}, {"q": "湿地", "api_key": ROOM}, {"token": STAFF, "q": "x"}, {"q": STAFF},
             {"X-Chayue-Key": ROOM}, {"access_token": "a-token-value-77"}]
    for params in tries:
        assert httpx.get(url + "/api/search", params=params).status_code == 200
    assert httpx.get(url + "/api/search", params={"q": "湿地"}, headers={"X-Chayue-Key": STAFF}).status_code == 200
    httpx.get(url + "/api/nothing", params={"password": "pw-9911"})
    time.sleep(0.5)
    text = log_path.read_text(encoding="utf-8")
    assert text.count("GET /api/search") >= len(tries)  # the requests were logged
    encoded = [httpx.QueryParams({"k": k}).__str__()[2:] for k in (STAFF, ROOM)]
    for secret in [STAFF, ROOM, "a-token-value-77", "pw-9911", *encoded]:
        assert secret not in text, secret
    assert "key=***" in text


def _encoded(key: str, which: str) -> str:
    """`key` with every character (or only the first) percent-encoded, in upper or lower case."""
    def pct(c: str) -> str:
        return "".join(f"%{b:02x}" if which.endswith("lower") else f"%{b:02X}" for b in c.encode())

    if which.startswith("first"):
        return pct(key[0]) + key[1:].replace("+", "%2B").replace("&", "%26").replace("/", "%2F")
    return "".join(pct(c) for c in key)


def test_keys_in_unusual_percent_encodings_never_reach_the_access_log(server):
    url, _, _, log_path = server
    before = len(log_path.read_text(encoding="utf-8"))
    for key in (STAFF, ROOM):
        for which in ("first-upper", "first-lower", "all-upper", "all-lower"):
            raw = f"{url}/api/search?q={_encoded(key, which)}"
            assert httpx.get(httpx.URL(raw)).status_code == 200, raw
    time.sleep(0.5)
    text = log_path.read_text(encoding="utf-8")[before:]
    assert text.count("GET /api/search") == 8  # the requests were logged
    assert STAFF not in unquote(text) and ROOM not in unquote(text), text
