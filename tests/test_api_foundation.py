"""The walking skeleton seen through the API, over the demo sample indexed by the real pipeline."""

from __future__ import annotations


def search(client, **params):
    r = client.get("/api/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_archives_law_query_returns_the_archives_law_first_with_facets_and_marked_snippet(client):
    body = search(client, q="档案法")
    first = body["hits"][0]
    assert first["title"] == "中华人民共和国档案法"
    assert any("<mark>档案法</mark>" in s["html"] for s in first["snippets"])
    assert all(s["page"] >= 1 for s in first["snippets"])
    assert {"collection", "agency", "year", "category", "doc_type", "validity"} <= set(body["facets"])
    assert sum(v["count"] for v in body["facets"]["collection"]) == body["total"]


def test_traditional_query_finds_the_same_documents(client):
    simplified = [h["id"] for h in search(client, q="档案法")["hits"]]
    assert [h["id"] for h in search(client, q="檔案法")["hits"]] == simplified


def test_snippet_html_is_escaped_before_marking(client):
    # The sample has no markup in its text; angle brackets in a law title (《》) are not HTML,
    # so look at every snippet of a broad query: only <mark> tags may appear.
    body = search(client, q="法", size=50)
    for hit in body["hits"]:
        for s in hit["snippets"]:
            stripped = s["html"].replace("<mark>", "").replace("</mark>", "")
            assert "<" not in stripped and ">" not in stripped


def test_scanned_archive_is_found_through_ocr(client):
    body = search(client, q="佳木斯", collection="archive")
    assert body["total"] >= 1
    doc = client.get(f"/api/documents/{body['hits'][0]['id']}").json()
    assert doc["ocr"] is True and doc["pages"][0]["text"]


def test_document_view_lists_pages_and_matches(client):
    hit = search(client, q="档案法")["hits"][0]
    doc = client.get(f"/api/documents/{hit['id']}", params={"q": "档案"}).json()
    assert doc["title"] == "中华人民共和国档案法" and doc["page_count"] == len(doc["pages"]) >= 1
    assert doc["matches"] and all("<mark>" in m["html"] for m in doc["matches"])


def test_openapi_documents_every_endpoint(client):
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/api/search", "/api/documents/{doc_id}", "/api/suggest", "/api/stats", "/api/health"} <= paths
    assert client.get("/docs").status_code == 200


def test_the_page_is_served_at_the_root(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_suggestions_complete_agencies_from_inner_words_and_pinyin_initials(client):
    def suggest(q):
        return client.get("/api/suggest", params={"q": q}).json()["suggestions"]

    assert "佳木斯市档案局" in suggest("jms")  # 佳木斯 by initials
    assert "佳木斯市档案局" in suggest("daj")  # 档案局, a word inside the agency name
    assert "佳木斯市档案局" in suggest("档案局")
