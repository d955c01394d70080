"""GET /api/search over the demo sample with queries as people type them: 文号 in every form,
other names (and the staff's own table, read without re-indexing), "did you mean", and the
OCR'd scans found by phrases of their printed text."""

from __future__ import annotations

import time

import pytest

from tests import inputs
from tests.relevance.cases import doc_number_forms

JMS_DOC = "J012-2007-永久-0001"  # 佳档发〔2007〕15号, a scan read by OCR
SCANS = {  # scan → the law whose first page it is (sample/README.md)
    "J012-2020-长期-0004": "中华人民共和国档案法",
    "J003-1998-30年-0021": "全国人民代表大会常务委员会关于惩治骗购外汇、逃汇和非法买卖外汇犯罪的决定",
}


def search(client, **params):
    r = client.get("/api/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("q", doc_number_forms("佳档发〔2007〕15号"))
def test_doc_number_as_people_type_it_returns_that_document_first(client, q):
    assert search(client, q=q)["hits"][0]["id"] == JMS_DOC


def test_a_series_lists_its_documents(client):
    assert [h["id"] for h in search(client, q="佳档发〔2007〕")["hits"]][:1] == [JMS_DOC]


def test_other_names_are_said_and_can_be_left_out(client):
    body = search(client, q="人大常委会 档案")
    assert body["expanded"] == [{"typed": "人大常委会", "names": ["全国人民代表大会常务委员会"]}]
    marked = " ".join(s["html"] for h in body["hits"] for s in h["snippets"])
    assert "<mark>全国人民代表大会常务委员会</mark>" in marked  # the other name is marked where found
    assert body["total"] > search(client, q="人大常委会 档案", expand="false")["total"]
    assert search(client, q="人大常委会 档案", expand="false")["expanded"] == []
    # a cursor belongs to one reading of the query
    page = search(client, q="人大常委会 档案", size=2)
    r = client.get("/api/search", params={"q": "人大常委会 档案", "size": 2, "expand": "false",
                                          "cursor": page["next_cursor"]})
    assert r.status_code == 422


def test_the_staff_table_is_read_when_it_changes_without_reindexing(client, sample_data):
    staff = sample_data / "abbreviations.tsv"
    assert search(client, q="佳档局")["total"] == 0
    try:
        staff.write_text("# our own\n佳档局\t佳木斯市档案局\n", encoding="utf-8")
        body = search(client, q="佳档局")
        assert body["expanded"] == [{"typed": "佳档局", "names": ["佳木斯市档案局"]}]
        assert JMS_DOC in [h["id"] for h in body["hits"][:3]]
    finally:
        staff.unlink()
    time.sleep(0.01)
    assert search(client, q="佳档局")["expanded"] == []


def test_nothing_found_offers_the_doc_number_or_title_one_character_off(client):
    body = search(client, q="佳档发〔2007〕16号")
    assert body["total"] == 0
    assert body["did_you_mean"] == [{"q": "佳档发〔2007〕15号", "field": "doc_number"}]
    body = search(client, q="档按法")  # 案 mistyped
    assert body["total"] == 0
    assert body["did_you_mean"][0] == {"q": "中华人民共和国档案法", "field": "title"}
    assert search(client, q="档案法")["did_you_mean"] == []


def test_phrases_printed_on_the_scans_find_them_despite_ocr_errors(client):
    """Phrases of the printed text (the law the scan shows) find the OCR'd scan in the first
    ten, also where OCR misread a character of the phrase (below the digital text)."""
    for scan, title in SCANS.items():
        text = next(x for x in inputs.laws() if x["title"] == title)["text"]
        lines = [ln for ln in text.split("\n")[1:12] if len(ln) >= 16]
        found = 0
        for line in lines[:6]:
            phrase = line[4:16]
            ids = [h["id"] for h in search(client, q=phrase)["hits"]]
            found += scan in ids
        assert found >= len(lines[:6]) - 1, (scan, found)
