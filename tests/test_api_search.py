"""GET /api/search and /api/suggest over the demo sample: parameters, paging, snippets, the
zero-result offer, errors and limits."""

from __future__ import annotations

import base64
import json

import pytest

STAFF = {"X-Chayue-Key": "staff-secret"}
JMS_DOC = "J012-2007-永久-0001"  # 佳档发〔2007〕15号


def search(client, headers=None, **params):
    r = client.get("/api/search", params=params, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def test_response_has_the_contract_fields(client):
    body = search(client, q="档案")
    assert {"total", "hits", "facets", "took_ms", "page", "size", "next_cursor", "looser"} <= set(body)
    hit = body["hits"][0]
    assert {"id", "title", "doc_number", "agency", "date", "collection", "validity", "score", "snippets",
            "published", "category", "doc_type", "year", "pages", "archival_code"} <= set(hit)
    assert set(body["facets"]) == {"agency", "year", "category", "doc_type", "collection", "validity", "relation",
                                   "tree_1", "tree_parent"}  # the arrangement's levels: 全宗, 案卷


@pytest.mark.parametrize("q", ["佳档发[2007]15号", "佳档发〔2007〕15号", "佳档发（2007）15号", "佳档发 [2007] 第15号",
                               "文号:佳档发[2007]15号"])
def test_doc_number_in_any_bracket_style_returns_that_document_first(client, q):
    assert search(client, q=q)["hits"][0]["id"] == JMS_DOC


def test_snippets_come_from_matching_pages_with_page_numbers_at_most_three(client):
    for hit in search(client, q="档案", size=50)["hits"]:
        assert len(hit["snippets"]) <= 3
        for s in hit["snippets"]:
            assert s["page"] >= 1 and "<mark>" in s["html"]


def test_snippets_escape_html_before_marking_and_keep_characters_whole(client):
    from api.highlight import snippets

    pages = ["<script>alert(1)</script> 档案 & 档案馆 " + "字" * 200, "𠀀档案𠀁" + "字" * 100]
    out = snippets(pages, ["档案"])
    assert [s.page for s in out] == [1, 2] or len(out) >= 2
    assert "&lt;script&gt;" in out[0].html and "<script>" not in out[0].html
    assert "&amp;" in out[0].html
    assert "<mark>档案</mark>" in out[1].html and "𠀀" in out[1].html


def test_filters_narrow_and_facets_count_the_rest(client):
    every = search(client, size=100)
    archive = search(client, collection="archive", size=100)
    assert 0 < archive["total"] < every["total"]
    assert all(h["collection"] == "archive" for h in archive["hits"])
    # The collection facet keeps its other value visible while one is selected.
    assert {v["value"] for v in archive["facets"]["collection"]} == {"archive", "current"}
    by_year = search(client, year=2020, size=100)
    assert by_year["total"] and all(h["year"] == 2020 for h in by_year["hits"])
    two = search(client, agency=["全国人民代表大会", "佳木斯市档案局"], size=100)
    assert {a for h in two["hits"] for a in h["agency"]} >= {"全国人民代表大会", "佳木斯市档案局"}


def test_date_range_filters_by_date(client):
    body = search(client, date_from="2007-01-01", date_to="2007-12-31", size=100)
    assert body["total"] >= 1 and all(h["date"].startswith("2007") for h in body["hits"])
    assert search(client, date_from="1900-01-01", date_to="1900-12-31")["total"] == 0


@pytest.mark.parametrize("sort, reverse", [("date_desc", True), ("date_asc", False)])
def test_date_sorts(client, sort, reverse):
    dates = [h["date"] for h in search(client, sort=sort, size=100)["hits"] if h["date"]]
    assert dates == sorted(dates, reverse=reverse)


def test_equal_relevance_ranks_documents_in_force_first_then_newer(client):
    hits = search(client, size=100)["hits"]
    repealed = [i for i, h in enumerate(hits) if h["validity"] in ("已废止", "历史版本")]
    in_force = [i for i, h in enumerate(hits) if h["validity"] == "现行有效"]
    assert max(in_force) < min(repealed)
    years = [hits[i]["year"] for i in in_force]
    assert years == sorted(years, reverse=True)


def test_pages_and_cursor_visit_every_hit_once(client):
    total = search(client, q="法", size=100)["total"]
    by_page = []
    for page in range(1, 100):
        body = search(client, q="法", size=7, page=page)
        by_page += [h["id"] for h in body["hits"]]
        if not body["hits"]:
            break
    by_cursor, cursor = [], None
    for _ in range(100):
        body = search(client, q="法", size=7, **({"cursor": cursor} if cursor else {}))
        by_cursor += [h["id"] for h in body["hits"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(by_page) == len(set(by_page)) == total
    assert by_cursor == by_page


def test_zero_results_offers_a_looser_query_with_its_count(client):
    body = search(client, q="档案法 zzzqqqxyz")
    assert body["total"] == 0 and body["hits"] == []
    looser = body["looser"]
    assert looser and looser["total"] == search(client, q=looser["q"])["total"] > 0
    body = search(client, q="档案法", collection="archive", category="宪法")
    assert body["total"] == 0 and body["looser"]["dropped_filters"] is True


def test_access_filter_is_for_staff_only(client):
    public = search(client, access="restricted", size=100)
    assert all(h["id"] for h in public["hits"]) and public["total"] == search(client, size=100)["total"]
    staff = search(client, headers=STAFF, access="restricted", size=100)
    assert staff["total"] >= 1
    ids = {h["id"] for h in staff["hits"]}
    assert not ids & {h["id"] for h in public["hits"]}


@pytest.mark.parametrize("params, fragment", [
    ({"size": 101}, "size"), ({"size": 0}, "size"), ({"page": 0}, "page"), ({"sort": "random"}, "sort"),
    ({"year": "twenty"}, "year"), ({"date_from": "2020-02-30"}, "date_from"), ({"date_to": "yesterday"}, "date_to"),
    ({"date_from": "2020-01-01", "date_to": "2019-01-01"}, "date_from is after date_to"),
    ({"page": 200, "size": 100}, "cursor"), ({"cursor": "!!!"}, "cursor"), ({"q": "档" * 201}, "q"),
])
def test_bad_parameters_answer_422_in_chinese_and_english(client, params, fragment):
    r = client.get("/api/search", params=params)
    assert r.status_code == 422
    body = r.json()
    assert body["error"] in ("invalid_parameter", "request_too_long") and " / " in body["message"]
    assert fragment in body["message"]


def test_forged_cursors_are_422_never_500(client):
    def forge(after, sort="relevance"):
        from api.routes.search import _fingerprint

        params = {"collection": None, "agency": None, "category": None, "doc_type": None, "validity": None,
                  "fonds": None, "year": None, "date_from": None, "date_to": None, "access": None}
        raw = json.dumps({"a": after, "f": _fingerprint("法", params, sort)}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    for after in (["x"], [-5], [1.5], [True], [10**30], [[1]], [{"a": 1}], [], [1, 2, 3, 4]):
        r = client.get("/api/search", params={"q": "法", "cursor": forge(after)})
        assert r.status_code in (200, 422), (after, r.text)
    nan = base64.urlsafe_b64encode(b'{"a":[NaN],"f":"x"}').decode()
    assert client.get("/api/search", params={"cursor": nan}).status_code == 422
    # A position past the 10 000-result window is refused like any forged cursor.
    far = client.get("/api/search", params={"q": "法", "cursor": forge([10**12])})
    assert far.status_code == 422 and far.json()["error"] == "invalid_parameter"


def test_request_size_limits(client):
    r = client.get("/api/search", params={"agency": ["档" * 200] * 20})
    assert r.status_code == 422 and r.json()["error"] == "request_too_long"
    r = client.request("GET", "/api/search", content=b"x" * 20_000)
    assert r.status_code == 413


def test_json_answers_are_not_kept_by_shared_caches(client):
    r = client.get("/api/search", params={"q": "档案"})
    assert r.headers["cache-control"] == "private, no-cache" and "X-Chayue-Key" in r.headers["vary"]
    r = client.get("/api/search", params={"q": "档案"}, headers=STAFF)
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("prefix, expected", [
    ("档案", "中华人民共和国档案法"), ("dangan", "中华人民共和国档案法"), ("jms", "佳木斯市档案局"),
    ("jiamusi", "佳木斯市档案局"), ("佳档发", "佳档发〔2007〕15号"), ("檔案", "中华人民共和国档案法"),
])
def test_suggest_completes_titles_agencies_and_doc_numbers_by_characters_pinyin_and_initials(client, prefix, expected):
    r = client.get("/api/suggest", params={"q": prefix, "size": 20})
    assert r.status_code == 200 and expected in r.json()["suggestions"]


def test_suggest_initials_complete_from_inner_words(client):
    # 调解 inside 中华人民共和国人民调解法: completions also start at each inner word.
    assert "中华人民共和国人民调解法" in client.get("/api/suggest", params={"q": "tj", "size": 20}).json()["suggestions"]


@pytest.mark.parametrize("q", ['"unbalanced', "OR", "-", "标题:", "年份:abc", "机关:国", "((", "\\", "*", "\x00", "🙂"])
def test_bad_syntax_is_never_an_error(client, q):
    assert client.get("/api/search", params={"q": q}).status_code == 200
