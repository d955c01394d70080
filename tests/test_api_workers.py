"""`chayue serve --workers 2`: several api processes over one index. Each sees a new commit,
applies the access rules, and renders page images (PDFium is per process) while the others
do the same."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
SCAN = "J012-2007-永久-0001"  # a scanned PDF in the archive
STAFF = {"X-Chayue-Key": "staff-secret"}

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_workers(sample_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(sample_data, data, ignore=shutil.ignore_patterns("page-cache"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAYUE_")} | {"CHAYUE_STAFF_KEY": "staff-secret"}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "indexer.cli", "serve", "--data", str(data), "--workers", "2",
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
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
        time.sleep(0.3)
    yield url, data, proc
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def _workers(proc: subprocess.Popen) -> list[int]:
    return [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]


def _each_connection(url: str, params: dict, n: int = 16, headers: dict | None = None) -> list[dict]:
    """n requests, each on a new connection, so the kernel hands them to either process."""
    return [httpx.get(url + "/api/search", params=params, headers=headers or {}, timeout=30).json()
            for _ in range(n)]


def test_every_worker_sees_a_new_commit(two_workers, tmp_path):
    url, data, proc = two_workers
    assert len(_workers(proc)) >= 2
    assert all(b["total"] == 0 for b in _each_connection(url, {"q": "鹦鹉螺号潜水艇"}))
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "鹦鹉螺号.txt").write_text("关于鹦鹉螺号潜水艇档案移交的通知\n\n鹦鹉螺号潜水艇档案今日移交。", encoding="utf-8")
    from indexer.cli import main

    assert main(["index", str(drop), "--collection", "current", "--data", str(data), "--quiet"]) == 0
    bodies = _each_connection(url, {"q": "鹦鹉螺号潜水艇"})
    assert all(b["total"] == 1 for b in bodies)
    assert all("<mark>" in b["hits"][0]["snippets"][0]["html"] for b in bodies)


def test_keep_alive_answers_are_not_held_back(two_workers):
    """Nagle's algorithm stays off for the workers' connections: with it on, each answer on a
    kept-alive connection waits ~40 ms for the client's delayed ACK."""
    url, _, _ = two_workers
    with httpx.Client() as c:
        times = []
        for _ in range(20):
            t = time.perf_counter()
            assert c.get(url + "/api/config").status_code == 200
            times.append(time.perf_counter() - t)
    assert sorted(times)[len(times) // 2] < 0.030


def test_access_rules_hold_in_every_worker(two_workers):
    url, _, _ = two_workers
    restricted = _each_connection(url, {"access": "restricted", "size": 100}, n=1, headers=STAFF)[0]["hits"]
    assert restricted
    for hit in restricted[:3]:
        for _ in range(6):
            assert httpx.get(f"{url}/api/documents/{hit['id']}", timeout=30).status_code == 404
            assert httpx.get(f"{url}/api/documents/{hit['id']}", headers=STAFF, timeout=30).status_code == 200


def test_page_images_render_at_once_in_both_workers(two_workers):
    url, _, _ = two_workers
    pages = [f"{url}/api/documents/{SCAN}/pages/1.png"] * 8

    def fetch(u: str) -> httpx.Response:
        return httpx.get(u, timeout=60)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(fetch, pages))
    assert all(r.status_code == 200 and r.content.startswith(b"\x89PNG") for r in answers)
    assert len({r.content for r in answers}) == 1
