"""GET /api/documents/{id} with its file, page images and similar documents, over the demo sample."""

from __future__ import annotations

import re

import pytest

STAFF = {"X-Chayue-Key": "staff-secret"}
SCAN = "J012-2007-永久-0001"  # a scanned PDF in the archive


def doc_id(client, q: str) -> str:
    return client.get("/api/search", params={"q": q}).json()["hits"][0]["id"]


def test_document_has_metadata_pages_with_ocr_confidence_and_links(client):
    doc = client.get(f"/api/documents/{SCAN}").json()
    assert doc["doc_number"] == "佳档发〔2007〕15号" and doc["agency"] == ["佳木斯市档案局"]
    assert doc["page_count"] == len(doc["pages"]) >= 1
    page = doc["pages"][0]
    assert page["ocr"] is True and 0 < page["confidence"] <= 100 and page["text"]
    links = doc["links"]
    assert links["file"] == f"/api/documents/{SCAN}/file"
    assert links["page_image"] == f"/api/documents/{SCAN}/pages/{{n}}.png"
    assert links["similar"] == f"/api/documents/{SCAN}/similar"
    assert doc["matches"] is None


def test_matches_mark_every_occurrence_of_the_query(client):
    law = doc_id(client, "档案法")
    doc = client.get(f"/api/documents/{law}", params={"q": "档案"}).json()
    assert len(doc["matches"]) >= 5 and all("<mark>" in m["html"] for m in doc["matches"])
    pages = {m["page"] for m in doc["matches"]}
    assert pages <= set(range(1, doc["page_count"] + 1))


def test_a_quoted_phrase_is_counted_and_marked_as_a_phrase(client):
    """The sealed scan says 推进国家治理体系 once; its words stand elsewhere too, and a
    reader who quoted the phrase is shown the phrase, not each word (once "8 处")."""
    scan = "J012-2020-长期-0004"
    def marks(q: str) -> list[str]:
        matches = client.get(f"/api/documents/{scan}", params={"q": q}).json()["matches"]
        return [re.sub(r"\s+", "", m) for x in matches for m in re.findall(r"<mark>(.*?)</mark>", x["html"], re.S)]

    assert marks('"推进国家治理体系"') == ["推进国家治理体系"]
    assert len(marks("推进 国家 治理 体系")) > 1


def test_file_and_page_image(client):
    r = client.get(f"/api/documents/{SCAN}/file")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    r = client.get(f"/api/documents/{SCAN}/pages/1.png")
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG") and r.headers["content-type"] == "image/png"
    assert client.get(f"/api/documents/{SCAN}/pages/999.png").status_code == 404


def test_text_documents_have_no_page_images(client):
    txt = doc_id(client, "标题:个人独资企业法")
    doc = client.get(f"/api/documents/{txt}").json()
    assert doc["links"]["page_image"] is None
    r = client.get(f"/api/documents/{txt}/pages/1.png")
    assert r.status_code == 404 and r.json()["error"] == "no_page_image"


def test_similar_documents_exclude_the_document_itself(client):
    law = doc_id(client, "档案法")
    hits = client.get(f"/api/documents/{law}/similar", params={"size": 5}).json()["hits"]
    assert 0 < len(hits) <= 5 and law not in {h["id"] for h in hits}


@pytest.mark.parametrize("path", ["/api/documents/nope", "/api/documents/nope/file", "/api/documents/nope/pages/1.png",
                                  "/api/documents/nope/similar"])
def test_unknown_documents_are_404_with_one_error_shape(client, path):
    r = client.get(path)
    assert r.status_code == 404 and r.json() == {"error": "not_found", "message": "未找到该文件 / not found"}


def test_restricted_sample_document_is_404_for_the_public_and_there_for_staff(client):
    staff = client.get("/api/search", params={"access": "restricted"}, headers=STAFF).json()["hits"]
    assert staff
    rid = staff[0]["id"]
    for path in (f"/api/documents/{rid}", f"/api/documents/{rid}/file", f"/api/documents/{rid}/similar"):
        assert client.get(path).status_code == 404
        assert client.get(path, headers={"X-Chayue-Key": "room-secret"}).status_code == 404
        assert client.get(path, headers=STAFF).status_code == 200


@pytest.mark.parametrize("path", ["/api/documents/x/pages/0.png", "/api/documents/x/pages/abc.png",
                                  "/api/documents/x/similar?size=0", "/api/documents/x/similar?size=21"])
def test_bad_document_parameters_are_422(client, path):
    r = client.get(path)
    assert r.status_code == 422 and " / " in r.json()["message"]
