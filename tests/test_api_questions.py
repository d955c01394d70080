"""GET /api/search reads a question or keywords typed together as words (DESIGN.md, "Reading a
query"), says which reading it used, and shows the articles that answer first."""

from __future__ import annotations

JMS_DOC = "J012-2007-永久-0001"  # the 2007 speech of 佳木斯市档案局, all about 档案
QUESTION = "档案馆的档案一般过多少年向社会开放？"


def search(client, **params):
    r = client.get("/api/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_keywords_typed_together_find_the_document_holding_them_apart(client):
    body = search(client, q="佳木斯档案")
    assert body["hits"][0]["id"] == JMS_DOC
    assert body["reading"]["used"] == "words" and not body["reading"]["question"]
    assert body["reading"]["other"] == "exact"
    exact = search(client, q="佳木斯档案", reading="exact")
    assert JMS_DOC not in [h["id"] for h in exact["hits"]]  # the words are never side by side there
    assert exact["reading"]["used"] == "exact" and exact["reading"]["other"] == "words"


def test_keywords_find_every_document_holding_both_words_side_by_side_first(client):
    together = {h["id"] for h in search(client, q="档案开放", reading="exact", size=100)["hits"]}
    body = search(client, q="档案开放", size=100)
    found = [h["id"] for h in body["hits"]]
    assert together < set(found)  # more than the exact reading, never fewer
    assert set(found[:len(together)]) == together


def test_a_question_shows_the_answering_article_first(client):
    body = search(client, q=QUESTION)
    assert body["reading"]["used"] == "words" and body["reading"]["question"]
    assert "多少" not in body["reading"]["words"] and "档案馆" in body["reading"]["words"]
    first = body["answers"][0]
    assert first["title"] == "中华人民共和国档案法" and first["label"] == "第二十七条", first
    assert "<mark>" in first["html"] and first["page"] >= 1
    hit = next(h for h in body["hits"] if h["id"] == first["id"])
    assert hit["passages"][0]["label"] == "第二十七条"
    # Read exactly, the question finds nothing; its page says so and offers the words.
    exact = search(client, q=QUESTION, reading="exact")
    assert exact["total"] == 0 and exact["answers"] == []


def test_a_sentence_the_exact_reading_finds_nothing_for_is_read_as_words(client):
    body = search(client, q="档案馆的档案应当满二十五年向社会开放吗可以")
    assert body["total"] > 0
    assert body["reading"]["used"] == "words"


def test_passages_are_escaped_before_they_are_marked(client):
    for hit in search(client, q=QUESTION)["hits"]:
        for p in hit["passages"]:
            assert "<script" not in p["html"]
            assert p["html"].replace("<mark>", "").replace("</mark>", "").count("<") == 0
