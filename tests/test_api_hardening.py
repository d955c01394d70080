"""Bounded work and what the api gives away around it: expensive searches beyond the per-process
bound answer a fast 503 with Retry-After while cheap ones keep answering; /docs needs no CDN;
a cursor cannot reach past the result window."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.search import MAX_WINDOW, _fingerprint
from engine import Engine
from engine.embedded import open_embedded
from engine.model import Document, Page
from settings import Settings

COMMON = "湿地保护与档案管理工作报告。"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    data = tmp_path_factory.mktemp("hardening")
    engine = Engine(open_embedded(data, writable=True))
    docs = [Document(id=f"d{i:03d}", collection="current", title=f"湿地保护通知第{i}号", pages=[Page(1, COMMON * 3)])
            for i in range(40)]
    docs.append(Document(id="rare", collection="current", title="鲟鳇鱼洄游调查", pages=[Page(1, "鲟鳇鱼洄游。")]))
    engine.upsert(docs)
    engine.commit()
    engine.close()
    return data


@pytest.fixture(scope="module")
def api(data):
    # 湿地 is in 40 documents: above 10, expensive; the rare words are in one.
    with TestClient(create_app(Settings(data=data, max_expensive=1, expensive_queue=0, expensive_matches=10))) as c:
        yield c


@pytest.fixture
def queued_api(data):
    """One expensive search at a time, one more may wait for it up to 3 s."""
    with TestClient(create_app(Settings(data=data, max_expensive=1, expensive_queue=1, expensive_wait=3,
                                        expensive_matches=10))) as c:
        yield c


def test_expensive_searches_beyond_the_bound_are_refused_fast_and_cheap_ones_answer(api):
    assert api.get("/api/search", params={"q": "湿地"}).status_code == 200  # under the bound
    admission = api.app.state.admission
    api.portal.call(admission.enter)  # one expensive search in flight: the bound (1) is reached
    try:
        for path, params in (("/api/search", {"q": "湿地"}), ("/api/search", {"q": ""}),
                             ("/api/search", {"q": "湿地 OR 鲟鳇鱼"}), ("/api/stats", {}),
                             ("/api/documents/d001/similar", {}), ("/api/search.atom", {"q": "湿地"})):
            resp = api.get(path, params=params)
            assert resp.status_code == 503, (path, params, resp.text)
            assert resp.json() == {"error": "busy", "message": resp.json()["message"]}
            assert "稍后" in resp.json()["message"] and resp.headers["retry-after"] == "1"
        for q in ("鲟鳇鱼", "鲟鳇鱼 湿地", "\"鲟鳇鱼洄游\"", "没有这个词"):
            assert api.get("/api/search", params={"q": q}).status_code == 200, q
        assert api.get("/api/documents/rare").status_code == 200
    finally:
        api.portal.call(admission.leave)
    assert api.get("/api/search", params={"q": "湿地"}).status_code == 200
    assert admission.in_flight == 0


# Thirteen different rare words (more than CHAYUE_EXPENSIVE_UNITS, 12): each one matches
# nothing or one document, but each is a clause of its own in every field searched.
MANY_WORDS = "鲟鳇鱼 洄游 甲 乙 丙 丁 戊 己 庚 辛 壬 癸 子"


def test_a_long_query_is_expensive_however_few_documents_it_matches(api):
    assert api.get("/api/search", params={"q": MANY_WORDS}).status_code == 200  # under the bound
    admission = api.app.state.admission
    api.portal.call(admission.enter)
    try:
        for path in ("/api/search", "/api/search.atom"):
            assert api.get(path, params={"q": MANY_WORDS}).status_code == 503, path
        # The same word typed forty times is one word: cheap, and answered; past four times
        # CHAYUE_EXPENSIVE_UNITS pieces, a query is expensive before it is even read.
        assert api.get("/api/search", params={"q": " ".join(["鲟鳇鱼"] * 49)}).status_code == 503
        many = api.get("/api/search", params={"q": " ".join(["鲟鳇鱼"] * 40)})
        assert many.status_code == 200 and [h["id"] for h in many.json()["hits"]] == ["rare"]
        assert api.get("/api/search", params={"q": "鲟鳇鱼 洄游 调查"}).status_code == 200
    finally:
        api.portal.call(admission.leave)
    assert admission.in_flight == 0


def test_a_query_of_more_than_32_different_words_is_refused_at_once(api):
    words = [f"词{i}" for i in range(33)]
    for path in ("/api/search", "/api/search.atom"):
        resp = api.get(path, params={"q": " ".join(words)})
        assert resp.status_code == 422 and resp.json()["error"] == "invalid_parameter", path
        assert resp.json()["message"].startswith("检索词过多")
    assert api.get("/api/search", params={"q": " ".join(words[:32])}).status_code == 200
    assert api.get("/api/search", params={"q": " OR ".join(words[:20])}).status_code == 200  # OR is no word


def test_exports_have_slots_of_their_own(api):
    """A flood of exports never makes a search wait, and expensive searches never block an export."""
    assert api.get("/api/export/csv", params={"q": "鲟鳇鱼"}).status_code == 200  # makes the exports' pool
    exports, admission = api.app.state.exports, api.app.state.admission
    api.portal.call(exports.enter)  # an export in flight: the bound (1) is reached
    try:
        for resp in (api.get("/api/export/csv", params={"q": "鲟鳇鱼"}),
                     api.post("/api/export/docx", json={"items": [{"id": "rare"}]})):
            assert resp.status_code == 503 and resp.json()["error"] == "busy"
        assert api.get("/api/documents/d001/similar").status_code == 200
        assert api.get("/api/search", params={"q": "湿地"}).status_code == 200
    finally:
        api.portal.call(exports.leave)
    api.portal.call(admission.enter)  # now the expensive searches' slot is taken
    try:
        assert api.get("/api/documents/d001/similar").status_code == 503
        assert api.get("/api/export/csv", params={"q": "湿地"}).status_code == 200
        assert api.post("/api/export/docx", json={"items": [{"id": "rare"}]}).status_code == 200
    finally:
        api.portal.call(admission.leave)
    assert exports.in_flight == admission.in_flight == 0


def test_all_searches_in_flight_are_bounded_per_process(data):
    with TestClient(create_app(Settings(data=data, max_searches=2, expensive_wait=0.5))) as c:
        assert c.get("/api/search", params={"q": "鲟鳇鱼"}).status_code == 200
        searches = c.app.state.searches
        c.portal.call(searches.enter)
        assert c.get("/api/search", params={"q": "鲟鳇鱼"}).status_code == 200  # one place left
        c.portal.call(searches.enter)
        try:
            started = time.monotonic()
            resp = c.get("/api/search", params={"q": "鲟鳇鱼"})
            assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
            assert time.monotonic() - started < 5
            assert c.get("/api/documents/rare").status_code == 200  # reading a document is no search
        finally:
            c.portal.call(searches.leave)
            c.portal.call(searches.leave)
        assert c.get("/api/search", params={"q": "鲟鳇鱼"}).status_code == 200
        assert searches.in_flight == 0


def test_an_expensive_search_waits_its_turn_rather_than_failing_when_the_queue_has_room(queued_api):
    """Two visitors searching a common word at the same instant both get their answer."""
    from concurrent.futures import ThreadPoolExecutor

    assert queued_api.get("/api/search", params={"q": "湿地"}).status_code == 200
    admission = queued_api.app.state.admission
    queued_api.portal.call(admission.enter)  # another expensive search holds the one slot
    with ThreadPoolExecutor(2) as pool:
        waiting = pool.submit(queued_api.get, "/api/search", params={"q": "湿地"})
        time.sleep(0.5)
        assert not waiting.done()  # it waits for the slot, it is not refused
        # The queue (one) is full: the next expensive search is refused at once.
        started = time.monotonic()
        assert queued_api.get("/api/search", params={"q": "湿地"}).status_code == 503
        assert time.monotonic() - started < 1.0
        queued_api.portal.call(admission.leave)  # the slot passes to the waiting search
        assert waiting.result(timeout=10).status_code == 200
    assert admission.in_flight == 0


def test_an_expensive_search_that_waits_too_long_is_refused_and_leaves_nothing_held(queued_api):
    assert queued_api.get("/api/search", params={"q": "湿地"}).status_code == 200
    admission = queued_api.app.state.admission
    queued_api.portal.call(admission.enter)
    try:
        started = time.monotonic()
        resp = queued_api.get("/api/search", params={"q": "湿地"})
        waited = time.monotonic() - started
        assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
        assert 2.5 < waited < 10  # the wait ran out (3 s), then busy
    finally:
        queued_api.portal.call(admission.leave)
    assert admission.in_flight == 0 and not admission._waiting
    assert queued_api.get("/api/search", params={"q": "湿地"}).status_code == 200


def test_a_refused_or_failed_expensive_search_gives_its_slot_back(api):
    admission = api.app.state.admission
    for _ in range(3):
        assert api.get("/api/search", params={"q": "湿地", "sort": "nonsense"}).status_code == 422
        assert api.get("/api/documents/nothing/similar").status_code == 404
    assert admission.in_flight == 0


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_swagger_ui_is_served_from_the_package_without_a_cdn(api):
    page = api.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    links = _Links()
    links.feed(page.text)
    # Every URL the page loads: its tags, and the OpenAPI document its script names.
    urls = links.urls + re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
    assert len(urls) >= 4, urls
    assert not re.search(r"""["'(]\s*(?:https?:)?//""", page.text), "an absolute or protocol-relative URL"
    for url in urls:
        assert url.startswith("/"), url
        resp = api.get(url)
        assert resp.status_code == 200 and resp.content, url
    assert "paths" in api.get("/openapi.json").json()


def _cursor(position: int, q: str = "湿地") -> str:
    params = {"collection": None, "agency": None, "category": None, "doc_type": None, "validity": None,
              "fonds": None, "year": None, "date_from": None, "date_to": None, "access": None}
    raw = json.dumps({"a": [position], "f": _fingerprint(q, params, "relevance")}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_a_forged_cursor_cannot_pass_the_result_window(api):
    ok = api.get("/api/search", params={"q": "湿地", "cursor": _cursor(5)})
    assert ok.status_code == 200 and ok.json()["hits"]  # a cursor of the right shape is taken
    for position in (MAX_WINDOW - 1, MAX_WINDOW, 10 * MAX_WINDOW, 2**40):
        resp = api.get("/api/search", params={"q": "湿地", "cursor": _cursor(position), "size": 10})
        assert resp.status_code == 422, (position, resp.text)
        assert resp.json()["error"] == "invalid_parameter"
    # The last page inside the window is still taken.
    assert api.get("/api/search", params={"q": "湿地", "cursor": _cursor(MAX_WINDOW - 11), "size": 10}).status_code == 200


def test_the_estimate_never_counts_fewer_than_match(data):
    """Admission weighs a search by an upper bound of its matches: never below the real count
    (or an expensive search would pass as cheap)."""
    from engine.model import Audience
    from engine.syntax import parse, to_node

    engine = Engine(open_embedded(data))
    try:
        for q in ("湿地", "鲟鳇鱼", "湿地 鲟鳇鱼", "湿地 OR 鲟鳇鱼", "\"湿地保护\"", "湿地 -鲟鳇鱼", "", "标题:通知",
                  "年份:2007", "没有这个词"):
            node = to_node(parse(q))
            for audience in Audience:
                assert engine.estimate(node, audience) >= engine.count(node, audience), (q, audience)
        assert engine.estimate(to_node(parse("湿地")), Audience.public) >= 40 > 10  # expensive here
        assert engine.estimate(to_node(parse("鲟鳇鱼")), Audience.public) <= 10  # cheap
    finally:
        engine.close()


def test_by_default_each_process_admits_one_expensive_search_per_core_it_is_given(data, monkeypatch):
    """Two cores and one api process: two expensive searches run at once, a third waits or
    is refused; with two processes, one each. CHAYUE_MAX_EXPENSIVE overrides."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    for workers, bound in ((1, 2), (2, 1), (3, 1)):
        with TestClient(create_app(Settings(data=data, workers=workers, expensive_queue=0,
                                            expensive_matches=10))) as c:
            assert c.get("/api/search", params={"q": "湿地"}).status_code == 200  # makes the admission
            admission = c.app.state.admission
            for _ in range(bound):
                c.portal.call(admission.enter)
            try:
                assert c.get("/api/search", params={"q": "湿地"}).status_code == 503, workers
                assert c.get("/api/search", params={"q": "鲟鳇鱼"}).status_code == 200
            finally:
                for _ in range(bound):
                    c.portal.call(admission.leave)
            if bound > 1:  # one slot short of the bound, an expensive search still answers
                c.portal.call(admission.enter)
                try:
                    assert c.get("/api/search", params={"q": "湿地"}).status_code == 200
                finally:
                    c.portal.call(admission.leave)
    assert Settings(data=data, max_expensive=5).expensive_bound == 5
