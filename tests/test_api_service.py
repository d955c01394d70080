"""GET /api/stats, /api/health and /api/config, and the 503 answer when the engine is missing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from settings import Settings

STAFF = {"X-Chayue-Key": "staff-secret"}


def test_stats_count_collections_agencies_and_years_of_what_the_caller_sees(client):
    public, staff = client.get("/api/stats").json(), client.get("/api/stats", headers=STAFF).json()
    assert public["total"] == sum(v["count"] for v in public["collection"]) == client.get("/api/search", params={"versions": "all"}).json()["total"]
    assert staff["total"] > public["total"]
    assert {"current", "archive"} == {v["value"] for v in public["collection"]}
    assert public["agency"] and public["year"]


def test_health_says_engine_documents_size_and_last_indexing(client):
    h = client.get("/api/health").json()
    # The last indexing time moves when a restricted file is indexed: staff only (issue 25).
    assert h["status"] == "ok" and h["engine"] == "embedded" and h["last_indexed"] is None
    assert h["documents"] == client.get("/api/stats").json()["total"] and h["index_bytes"] is None
    staff = client.get("/api/health", headers=STAFF).json()
    assert staff["documents"] > h["documents"] and staff["index_bytes"] > 0 and staff["last_indexed"]
    assert client.get("/api/health").headers["cache-control"] == "no-store"


def test_config_tells_the_page_about_kiosk_mode(client):
    assert client.get("/api/config").json() == {"kiosk": False, "kiosk_idle_minutes": 3.0}


def test_a_missing_index_answers_503_with_a_message(tmp_path):
    with TestClient(create_app(Settings(data=tmp_path / "empty"))) as c:
        for path in ("/api/search?q=档案", "/api/suggest?q=da", "/api/stats", "/api/documents/x"):
            r = c.get(path)
            assert r.status_code == 503, path
            assert r.json() == {"error": "engine_unavailable",
                                "message": "检索服务暂不可用，请稍后再试 / search engine unavailable"}
        r = c.get("/api/health")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"


def test_unknown_paths_and_methods_use_the_error_shape(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and set(r.json()) == {"error", "message"}
    r = client.post("/api/search")
    assert r.status_code == 405 and set(r.json()) == {"error", "message"}
