"""The requests the Elasticsearch backend sends, checked without a server.

Three layers, weakest claim first:
1. expected bodies written by hand from the Elasticsearch reference (URLs in comments);
2. every body validated against the client's own typed DSL (`elasticsearch.dsl`, generated
   from the Elasticsearch API specification): each query/aggregation name must be a known
   class and each parameter one that class declares; and the body must survive a round
   trip through `Search.from_dict(...).to_dict()` unchanged;
3. a request recorder (a tiny real HTTP server on 127.0.0.1) behind a real
   `elasticsearch.Elasticsearch`, to see the method, path and body the client puts on the
   wire for index creation, bulk writes, the alias swap and searches.

None of this is a conformance test: the recorder answers with canned responses shaped like
the documented examples, it does not search. Whether Elasticsearch returns the same
documents as the embedded engine is for tests/conformance/ with ES_URL set."""

from __future__ import annotations

import inspect
import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from elasticsearch.dsl import Search, aggs as dsl_aggs, query as dsl_query, types as dsl_types, wrappers

from analysis.abbreviations import names_for
from engine.base import TIEBREAK, EngineUnavailable, access_filter
from engine.elastic import (
    FACET_AGG, BulkWriteError, ElasticBackend, alias_swap_actions, es_value, from_source, index_body,
    level_indices, new_index_name, parse_response, search_body, search_target, split_url, to_dsl, to_source,
)
from engine.base import Engine
from engine.model import Audience
from engine import syntax
from engine.query import (
    Bool, Boost, ConstScore, Fuzzy, MatchAll, MatchNone, NearPhrase, Phrase, Prefix, Range, SearchSpec, Term, Terms,
)

# ---- 1. documented shapes -------------------------------------------------------------------


def test_term_query_uses_the_value_form():
    # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-term-query
    assert to_dsl(Term("doc_number", "佳政发〔2007〕12号")) == {
        "term": {"doc_number": {"value": "佳政发〔2007〕12号"}}}


def test_terms_in_filter_context_is_a_terms_query():
    # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-terms-query
    assert to_dsl(Terms("access", ("open", "reading_room")), scoring=False) == {
        "terms": {"access": ["open", "reading_room"]}}


def test_terms_that_score_are_a_bool_of_terms_like_the_embedded_engine():
    # `terms` gives every match the same constant score; tantivy sums term scores.
    assert to_dsl(Terms("agency", ("国务院", "财政部"))) == {"bool": {"should": [
        {"term": {"agency": {"value": "国务院"}}}, {"term": {"agency": {"value": "财政部"}}}]}}
    assert to_dsl(Terms("agency", ())) == {"match_none": {}}


def test_phrase_joins_the_pre_cut_tokens_with_single_spaces():
    # match_phrase analyses the text with the field's analyzer (whitespace).
    # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-match-query-phrase
    assert to_dsl(Phrase("body_words", ("国务院", "关于", "通知"))) == {
        "match_phrase": {"body_words": {"query": "国务院 关于 通知"}}}
    assert to_dsl(Phrase("body_words", ())) == {"match_none": {}}


def test_prefix_and_range_and_exists():
    # query-dsl-prefix-query, query-dsl-range-query, query-dsl-exists-query
    assert to_dsl(Prefix("suggest_keys", "guowu")) == {"prefix": {"suggest_keys": {"value": "guowu"}}}
    assert to_dsl(Range("year", gte=2000, lte="2010")) == {"range": {"year": {"gte": 2000, "lte": 2010}}}
    assert to_dsl(Range("year")) == {"exists": {"field": "year"}}


def test_near_phrase_is_two_phrases_in_order_within_the_gap():
    # intervals all_of, ordered, max_gaps between the two match rules, each max_gaps 0:
    # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-intervals-query
    assert to_dsl(NearPhrase("body_grams", ("档案", "案法"), ("规定",), 2)) == {"intervals": {"body_grams": {
        "all_of": {"intervals": [{"match": {"query": "档案 案法", "max_gaps": 0, "ordered": True}},
                                 {"match": {"query": "规定", "max_gaps": 0, "ordered": True}}],
                   "max_gaps": 2, "ordered": True}}}}


def test_fuzzy_counts_a_swap_as_one_edit_like_tantivy():
    # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-fuzzy-query
    assert to_dsl(Fuzzy("doc_number_key", "国办发〔2019〕13号")) == {"fuzzy": {"doc_number_key": {
        "value": "国办发〔2019〕13号", "fuzziness": 1, "transpositions": True, "prefix_length": 0}}}


def test_dates_are_sent_as_strict_date_for_date_fields():
    # mappings/documents.json: date and published use format strict_date (yyyy-MM-dd).
    assert to_dsl(Range("date", gte=date(2007, 1, 1), lte=datetime(2007, 12, 31, 8, 0))) == {
        "range": {"date": {"gte": "2007-01-01", "lte": "2007-12-31"}}}
    assert es_value("published", "2019-03-04") == "2019-03-04"
    assert es_value("published", "2019-03-04T10:00:00+08:00") == "2019-03-04"
    # indexed_at keeps the default format, so it keeps its time.
    stamp = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert es_value("indexed_at", stamp) == "2024-05-06T07:08:09+00:00"


def test_bool_keeps_filter_and_must_not_out_of_scoring():
    # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-bool-query
    node = Bool(must=(Term("title_words", "通知"),), should=(Term("body_words", "通知"),),
                must_not=(Terms("validity", ("已废止",)),), filter=(Terms("access", ("open",)),))
    assert to_dsl(node) == {"bool": {
        "must": [{"term": {"title_words": {"value": "通知"}}}],
        "filter": [{"terms": {"access": ["open"]}}],
        "should": [{"term": {"body_words": {"value": "通知"}}}],
        "must_not": [{"terms": {"validity": ["已废止"]}}],
    }}


def test_bool_with_only_must_not_matches_everything_else():
    # Same as the embedded engine, which adds an all-query as a must clause.
    assert to_dsl(Bool(must_not=(Term("id", "a"),))) == {"bool": {
        "must": [{"match_all": {}}], "must_not": [{"term": {"id": {"value": "a"}}}]}}
    assert to_dsl(Bool()) == {"bool": {"must": [{"match_all": {}}]}}


def test_boost_and_const_score():
    # bool accepts `boost` (multiplies the score); constant_score's boost is the score.
    # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-constant-score-query
    assert to_dsl(Boost(Term("title_words", "通知"), 3.0)) == {
        "bool": {"must": [{"term": {"title_words": {"value": "通知"}}}], "boost": 3.0}}
    assert to_dsl(ConstScore(Term("validity", "现行有效"), 0.02)) == {
        "constant_score": {"filter": {"term": {"validity": {"value": "现行有效"}}}, "boost": 0.02}}
    # In filter context scores do not exist, so neither wrapper is sent.
    assert to_dsl(Boost(Term("id", "a"), 2.0), scoring=False) == {"term": {"id": {"value": "a"}}}
    assert to_dsl(MatchAll()) == {"match_all": {}} and to_dsl(MatchNone()) == {"match_none": {}}


def _spec(**kw: Any) -> SearchSpec:
    base: dict[str, Any] = dict(
        query=Bool(should=(Phrase("body_words", ("国务院", "通知")), Boost(Term("title_words", "通知"), 3.0))),
        bonus=TIEBREAK,
        filters={"_access": access_filter(Audience.public),
                 "agency": Terms("agency", ("国务院",)),
                 "year": Range("year", gte=2000, lte=2010),
                 "collection": Term("collection", "current")},
        facets=("agency", "year", "category"),
    )
    base.update(kw)
    return SearchSpec(**base)


def test_facet_filters_go_to_post_filter_and_other_filters_to_the_query():
    # post_filter narrows hits, not aggregations ("Filter search results", post_filter):
    # https://www.elastic.co/docs/reference/elasticsearch/rest-apis/filter-search-results
    body = search_body(_spec())
    assert body["query"]["bool"]["filter"] == [
        {"terms": {"access": ["open"]}}, {"term": {"collection": {"value": "current"}}}]
    assert body["post_filter"] == {"bool": {"filter": [
        {"terms": {"agency": ["国务院"]}}, {"range": {"year": {"gte": 2000, "lte": 2010}}}]}}
    assert body["track_total_hits"] is True


def test_each_facet_counts_with_every_facet_filter_but_its_own():
    # filter aggregation wrapping a terms aggregation:
    # https://www.elastic.co/docs/reference/aggregations/search-aggregations-bucket-filter-aggregation
    aggs = search_body(_spec())["aggs"]
    assert aggs["agency"]["filter"] == {"range": {"year": {"gte": 2000, "lte": 2010}}}
    assert aggs["year"]["filter"] == {"terms": {"agency": ["国务院"]}}
    assert aggs["category"]["filter"] == {"bool": {"filter": [
        {"terms": {"agency": ["国务院"]}}, {"range": {"year": {"gte": 2000, "lte": 2010}}}]}}
    assert aggs["agency"]["aggs"][FACET_AGG]["terms"] == {
        "field": "agency", "size": 20, "order": [{"_count": "desc"}, {"_key": "asc"}]}


def test_the_access_filter_never_leaves_the_query():
    # Even a facet named like the access key keeps the audience filter on counts and hits.
    spec = _spec(facets=("access", "agency"), filters={"_access": access_filter(Audience.public)})
    body = search_body(spec)
    assert "post_filter" not in body
    assert body["query"]["bool"]["filter"] == [{"terms": {"access": ["open"]}}]


def test_relevance_sort_breaks_ties_by_id_and_pages_with_from():
    body = search_body(_spec(offset=20, size=10))
    assert body["sort"] == [{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}]
    assert body["from"] == 20 and body["size"] == 10 and "search_after" not in body


def test_search_after_replaces_from():
    # https://www.elastic.co/docs/reference/elasticsearch/rest-apis/paginate-search-results
    body = search_body(_spec(sort="date_desc", offset=20, search_after=["2007-03-01", "doc-9"]))
    assert body["sort"] == [{"date": {"order": "desc", "missing": "_last"}}, {"id": {"order": "asc"}}]
    assert body["search_after"] == ["2007-03-01", "doc-9"] and "from" not in body


def test_source_filtering_always_includes_the_id():
    body = search_body(_spec(fields=("title", "date")))
    assert body["_source"] == {"includes": ["title", "date", "id"]}
    assert "_source" not in search_body(_spec())


def test_tie_break_bonus_is_a_should_clause_beside_the_query_and_not_in_counts():
    spec = _spec(filters={"_access": access_filter(Audience.public)}, facets=())
    must = search_body(spec)["query"]["bool"]["must"]
    assert must == [{"bool": {"must": [to_dsl(spec.query)], "should": [to_dsl(n) for n in TIEBREAK]}}]
    # A count has no scores to break ties in: the same documents match without the clauses.
    assert search_body(_spec(size=0, filters={}))["query"] == to_dsl(spec.query)


def test_count_only_requests_have_no_sort():
    body = search_body(SearchSpec(query=MatchAll(), size=0))
    assert body == {"query": {"match_all": {}}, "track_total_hits": True, "size": 0}


# ---- 2. the client's typed DSL ----------------------------------------------------------

_FIELD_LEVEL_TYPES = {"term": dsl_types.TermQuery, "prefix": dsl_types.PrefixQuery,
                      "match_phrase": dsl_types.MatchPhraseQuery, "fuzzy": dsl_types.FuzzyQuery,
                      "intervals": dsl_types.IntervalsQuery}
_INTERVAL_RULES = {"all_of": dsl_types.IntervalsAllOf, "match": dsl_types.IntervalsMatch}


def _check_intervals(rule: dict[str, Any]) -> None:
    ((name, body),) = rule.items()
    assert set(body) <= _params(_INTERVAL_RULES[name]), (name, body)
    for sub in body.get("intervals", []):
        assert set(sub) <= _params(dsl_types.IntervalsContainer)
        _check_intervals(sub)
_RANGE_KEYS = set(wrappers.Range.OPS) | {"format", "time_zone", "relation", "boost", "_name"}


def _params(cls: type) -> set[str]:
    return {p for p in inspect.signature(cls).parameters if p != "kwargs"}


def check_query(q: dict[str, Any]) -> None:
    """Every query name is a class of elasticsearch.dsl.query; every parameter is one that
    class (or its field-level type) declares; nested queries are checked recursively."""
    assert isinstance(q, dict) and len(q) == 1, q
    ((name, body),) = q.items()
    cls = dsl_query.Query.get_dsl_class(name)  # raises UnknownDslObject for unknown names
    params = _params(cls)
    if "_field" in params:  # {name: {field: value}}
        ((field, inner),) = body.items()
        assert isinstance(field, str)
        if name == "range":
            assert set(inner) <= _RANGE_KEYS, inner
        elif name == "terms":
            assert isinstance(inner, list)
        elif name == "intervals":
            assert set(inner) <= _params(dsl_types.IntervalsQuery), inner
            _check_intervals(inner)
        else:
            assert set(inner) <= _params(_FIELD_LEVEL_TYPES[name]), (name, inner)
        return
    assert set(body) <= params, (name, set(body) - params)
    for key, value in body.items():
        if cls._param_defs.get(key, {}).get("type") == "query":
            for sub in value if isinstance(value, list) else [value]:
                check_query(sub)


def check_aggs(aggs: dict[str, Any]) -> None:
    for agg in aggs.values():
        sub = agg.get("aggs", {})
        ((name, body),) = ((k, v) for k, v in agg.items() if k != "aggs")
        cls = dsl_aggs.Agg.get_dsl_class(name)
        if name == "filter":
            check_query(body)
        else:
            assert set(body) <= _params(cls), (name, set(body) - _params(cls))
        check_aggs(sub)


def check_search_body(body: dict[str, Any]) -> None:
    # Top-level keys are body fields of Elasticsearch.search (or their documented aliases).
    search_params = set(inspect.signature(Elasticsearch.search).parameters) | {"_source", "from"}
    assert set(body) <= search_params, set(body) - search_params
    check_query(body["query"])
    if "post_filter" in body:
        check_query(body["post_filter"])
    check_aggs(body.get("aggs", {}))
    assert Search.from_dict(body).to_dict() == body


SPECS = [
    _spec(),
    _spec(sort="date_asc", search_after=["2001-01-01", "x"], fields=("title",)),
    _spec(facets=(), filters={}),
    SearchSpec(query=MatchAll(), size=0, facets=("collection", "agency", "year"), facet_size=50,
               filters={"_access": access_filter(Audience.staff)}),
    SearchSpec(query=Prefix("suggest_keys", "gw"), size=50, fields=("suggest_keys", "title")),
    SearchSpec(query=Bool(should=(Boost(Term("title_words", "预算"), 3.0), Term("body_words", "预算")),
                          must_not=(Term("id", "doc-1"),)), size=5),
    SearchSpec(query=Bool(must_not=(Terms("validity", ("已废止", "失效")),)),
               filters={"date": Range("date", gte=date(1990, 1, 1))}, facets=("validity",)),
    # queries as people type them: a fragment cut mid-word (near misses for OCR), a passage in
    # pieces, an abbreviation, a 文号 series, a 文号 one character off
    *(SearchSpec(query=syntax.to_node(syntax.parse(q, names_for(None))), size=10, bonus=TIEBREAK)
      for q in ("师制度，规范律师执业行为，保", "第五十七条 拍", "国办 幼儿园", "国办发〔2019〕", "个税法")),
    SearchSpec(query=ConstScore(Fuzzy("doc_number_key", "国办发〔2019〕13号"), 1.0), size=3),
]


@pytest.mark.parametrize("spec", SPECS, ids=range(len(SPECS)))
def test_search_bodies_are_valid_for_the_clients_typed_dsl(spec: SearchSpec):
    check_search_body(search_body(spec))


def test_the_typed_check_rejects_what_elasticsearch_would():
    with pytest.raises(Exception):  # noqa: B017 - whatever the typed DSL raises for an unknown query
        check_query({"phrase": {"body_words": {"query": "a b"}}})  # no such query
    with pytest.raises(AssertionError):
        check_query({"term": {"id": {"val": "a"}}})  # no such parameter
    with pytest.raises(AssertionError):
        check_query({"bool": {"musts": []}})


# ---- index body ------------------------------------------------------------------------------

def test_index_body_is_the_catalogue_settings_and_mappings():
    body = index_body()
    assert set(body) == {"settings", "mappings"}  # `_comment` is not a create-index key
    assert body["mappings"]["dynamic"] == "strict"
    assert body["mappings"]["properties"]["body_words"]["analyzer"] == "whitespace"


def test_field_meta_is_within_the_documented_limits():
    # https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/mapping-field-meta
    for name, prop in index_body()["mappings"]["properties"].items():
        meta = prop.get("meta", {})
        assert len(meta) <= 5, name
        for k, v in meta.items():
            assert len(k) <= 20 and isinstance(v, str) and len(v) <= 50, (name, k, len(v))


def test_index_names_are_valid_and_sort_by_time():
    # Index names: lower case, no \ / * ? " < > | space , #, not starting with - _ +.
    a = new_index_name("chayue", datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    b = new_index_name("chayue", datetime(2025, 1, 2, 3, 4, 5, 7, tzinfo=UTC))
    assert a == "chayue-20250102-030405-000006" and a < b
    for name in [a, *level_indices(a).values()]:
        assert name == name.lower() and not re.search(r'[\\/*?"<>| ,#:]', name)
    assert level_indices(a) == {"open": f"{a}-open", "reading_room": f"{a}-reading_room",
                                "restricted": f"{a}-restricted"}


def test_alias_swap_is_one_request_with_removes_and_the_adds():
    # https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-update-aliases
    new = level_indices("chayue-2")
    assert alias_swap_actions("chayue", new, ["chayue-1-open", "chayue-0"]) == [
        {"remove": {"index": "chayue-1-open", "alias": "chayue"}},
        {"remove": {"index": "chayue-1-open", "alias": "chayue-open"}},
        {"remove": {"index": "chayue-0", "alias": "chayue"}},  # from before the levels: one alias
        *[a for lvl in ("open", "reading_room", "restricted") for a in (
            {"add": {"index": f"chayue-2-{lvl}", "alias": "chayue"}},
            {"add": {"index": f"chayue-2-{lvl}", "alias": f"chayue-{lvl}"}})]]


def test_each_audience_searches_only_the_indices_of_what_it_may_see():
    # dfs_query_then_fetch: "Documents are scored using global term and document frequencies
    # across all shards" of the request (Search API, search_type), i.e. of these indices only.
    spec = _spec()
    for audience, indices in [(Audience.public, ["chayue-open"]),
                              (Audience.reading_room, ["chayue-open", "chayue-reading_room"]),
                              (Audience.staff, ["chayue-open", "chayue-reading_room", "chayue-restricted"])]:
        spec.audience = audience
        target = search_target("chayue", spec)
        assert target["index"] == indices
        # One index of one shard has the statistics already; several need the dfs phase.
        assert target.get("search_type") == (None if len(indices) == 1 else "dfs_query_then_fetch")
    spec.size = 0  # counts and facets score nothing: no dfs round trip
    assert "search_type" not in search_target("chayue", spec)


# ---- records and responses ---------------------------------------------------------------------

def test_source_round_trip_keeps_lists_and_iso_dates():
    rec = {"id": "a", "agency": ["国务院"], "date": "2007-01-02", "year": 2007, "ocr": False,
           "page_text": ["一", "二"], "indexed_at": "2024-05-06T07:08:09+00:00"}
    src = json.loads(json.dumps(to_source(rec)))
    assert src == rec
    assert from_source({"id": "a", "agency": "国务院", "suggest_keys": "k"}) == {
        "id": "a", "agency": ["国务院"], "suggest_keys": ["k"]}


def test_response_is_parsed_like_the_embedded_engine():
    # Shapes from the search API and terms aggregation reference responses.
    spec = _spec()
    resp = {
        "took": 3, "timed_out": False,
        "hits": {"total": {"value": 2, "relation": "eq"}, "max_score": 1.5, "hits": [
            {"_index": "chayue-1", "_id": "a", "_score": 1.5,
             "_source": {"id": "a", "title": "关于…的通知", "agency": "国务院"}, "sort": [1.5, "a"]},
            {"_index": "chayue-1", "_id": "b", "_score": None, "_source": {"id": "b"}, "sort": [0, "b"]},
        ]},
        "aggregations": {
            "agency": {"doc_count": 7, FACET_AGG: {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
                       "buckets": [{"key": "财政部", "doc_count": 3}, {"key": "国务院", "doc_count": 3},
                                   {"key": "省政府", "doc_count": 4}]}},
            "year": {"doc_count": 7, FACET_AGG: {"buckets": [{"key": 2007, "doc_count": 2}]}},
            "category": {"doc_count": 0, FACET_AGG: {"buckets": []}},
        },
    }
    res = parse_response(spec, resp)
    assert res.total == 2 and [h.id for h in res.hits] == ["a", "b"]
    assert res.hits[0].fields["agency"] == ["国务院"] and res.hits[0].sort == [1.5, "a"]
    assert res.hits[1].score == 0.0
    assert [(v.value, v.count) for v in res.facets["agency"]] == [("省政府", 4), ("国务院", 3), ("财政部", 3)]
    assert [(v.value, v.count) for v in res.facets["year"]] == [("2007", 2)]
    assert res.facets["category"] == []
    assert not res.partial


def test_a_shard_with_no_copy_left_makes_the_answer_say_it_is_partial():
    # With allow_partial_search_results (Elasticsearch's default) the answer comes from the
    # shards that answered, and `_shards.failed` counts the others.
    resp = {"took": 5, "timed_out": False,
            "_shards": {"total": 3, "successful": 2, "skipped": 0, "failed": 1,
                        "failures": [{"shard": 0, "index": "chayue-x-open", "reason": {"type": "no_shard_available"}}]},
            "hits": {"total": {"value": 1, "relation": "eq"}, "hits": [{"_id": "a", "_score": 1.0, "_source": {}}]}}
    res = parse_response(_spec(), resp)
    assert res.partial and res.total == 1
    whole = {**resp, "_shards": {"total": 3, "successful": 3, "skipped": 0, "failed": 0}}
    assert not parse_response(_spec(), whole).partial


def test_credentials_in_es_url_become_basic_auth():
    assert split_url("https://elastic:p%40ss@localhost:9200", "elastic", None) == (
        "https://localhost:9200", ("elastic", "p@ss"))
    assert split_url("http://es:9200", "elastic", "pw") == ("http://es:9200", ("elastic", "pw"))
    assert split_url("http://es:9200", "elastic", None) == ("http://es:9200", None)


# ---- 3. request recorder -----------------------------------------------------------------------

Reply = tuple[int, Any]


class Recorder:
    """Records what a real client sends; answers with canned, documented-shape responses.
    A request recorder for body shape, not an Elasticsearch: it does not index or search."""

    def __init__(self, route: Callable[[str, str, bytes], Reply]):
        self.requests: list[tuple[str, str, bytes]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.requests.append((self.command, self.path, body))
                status, payload = route(self.command, self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def json(self, i: int) -> Any:
        return json.loads(self.requests[i][2])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Callable[[Callable[[str, str, bytes], Reply]], Recorder]]:
    made: list[Recorder] = []

    def make(route: Callable[[str, str, bytes], Reply]) -> Recorder:
        made.append(Recorder(route))
        return made[-1]

    yield make
    for r in made:
        r.close()


def _backend(url: str, *, writable: bool = True, password: str = "s3cret-pw") -> ElasticBackend:
    client = Elasticsearch(url, basic_auth=("elastic", password), max_retries=0)
    return ElasticBackend(client, "chayue-test", writable=writable, where=url, secrets=(password,))


def _bulk_ok(body: bytes) -> Reply:
    """A bulk response for an NDJSON body: every action succeeds, except deleting `missing`."""
    items = []
    for line in (json.loads(x) for x in body.splitlines() if x.strip()):
        op = next(iter(line))
        if len(line) == 1 and op in ("index", "delete"):
            doc_id = line[op]["_id"]
            status = 201 if op == "index" else 404 if doc_id == "missing" else 200
            items.append({op: {"_index": line[op]["_index"], "_id": doc_id, "status": status}})
    errors = any(item[next(iter(item))]["status"] >= 300 for item in items)
    return 200, {"took": 1, "errors": errors, "items": items}


def test_index_creation_bulk_and_refresh_on_the_wire(recorder):
    def route(method: str, path: str, body: bytes) -> Reply:
        if path.startswith("/_alias/"):
            return 404, {"error": "alias [chayue-test] missing", "status": 404}
        if path.startswith("/_bulk"):
            return _bulk_ok(body)
        if method == "PUT":
            return 200, {"acknowledged": True, "shards_acknowledged": True, "index": path.strip("/")}
        return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}

    rec = recorder(route)
    backend = _backend(rec.url)
    backend.ensure_index()
    for i, lvl in enumerate(("open", "reading_room", "restricted"), start=1):
        method, path, _ = rec.requests[i]
        assert method == "PUT" and re.fullmatch(rf"/chayue-test-\d{{8}}-\d{{6}}-\d{{6}}-{lvl}", path)
        assert rec.json(i) == {**index_body(), "aliases": {"chayue-test": {}, f"chayue-test-{lvl}": {}}}

    n = backend.upsert([{"id": "a", "title": "甲", "date": "2007-01-02", "agency": ["国务院"], "access": "open"},
                        {"id": "b", "title": "乙", "access": "restricted"}])
    assert n == 2
    method, path, body = rec.requests[4]
    assert (method, path.split("?")[0]) == ("PUT", "/_bulk")
    lines = [json.loads(x) for x in body.splitlines()]
    # Each document into its level's index, and out of the others (its level may have changed).
    assert lines[0] == {"index": {"_index": "chayue-test-open", "_id": "a"}}
    assert lines[1] == {"id": "a", "title": "甲", "date": "2007-01-02", "agency": ["国务院"], "access": "open"}
    assert lines[2:4] == [{"delete": {"_index": "chayue-test-reading_room", "_id": "a"}},
                          {"delete": {"_index": "chayue-test-restricted", "_id": "a"}}]
    assert lines[4] == {"index": {"_index": "chayue-test-restricted", "_id": "b"}}
    assert lines[6:] == [{"delete": {"_index": "chayue-test-open", "_id": "b"}},
                         {"delete": {"_index": "chayue-test-reading_room", "_id": "b"}}]

    backend.delete(["a", "missing"])  # 404 for a missing document is not an error
    lines = [json.loads(x) for x in rec.requests[-1][2].splitlines()]
    assert {x["delete"]["_index"] for x in lines if x["delete"]["_id"] == "missing"} == {
        "chayue-test-open", "chayue-test-reading_room", "chayue-test-restricted"}
    backend.commit()
    assert rec.requests[-1][:2] == ("POST", "/chayue-test/_refresh")


def test_bulk_errors_are_raised_with_ids_and_reasons(recorder):
    def route(method: str, path: str, body: bytes) -> Reply:
        return 200, {"took": 1, "errors": True, "items": [
            {"index": {"_index": "chayue-test-1", "_id": "a", "status": 201}},
            {"index": {"_index": "chayue-test-1", "_id": "b", "status": 400, "error": {
                "type": "document_parsing_exception",
                "reason": "[1:10] failed to parse field [date] of type [date]"}}}]}

    rec = recorder(route)
    with pytest.raises(BulkWriteError) as err:
        _backend(rec.url).upsert([{"id": "a"}, {"id": "b", "date": "2007"}])
    assert err.value.failed == {"b": "document_parsing_exception: [1:10] failed to parse field [date] of type [date]"}
    assert "b: document_parsing_exception" in str(err.value)


def _reindex_route(old: str) -> Callable[[str, str, bytes], Reply]:
    def route(method: str, path: str, body: bytes) -> Reply:
        if path.startswith("/_alias/"):
            return 200, {old: {"aliases": {"chayue-test": {}}}}
        if method == "PUT" and not path.startswith("/_bulk"):
            return 200, {"acknowledged": True, "shards_acknowledged": True, "index": path.strip("/")}
        if path.startswith("/_bulk"):
            return _bulk_ok(body)
        return 200, {"acknowledged": True, "_shards": {"total": 1, "successful": 1, "failed": 0}}
    return route


def test_full_reindex_swaps_the_aliases_atomically_and_drops_the_old_indices(recorder):
    old = "chayue-test-20240101-000000-000000-open"
    rec = recorder(_reindex_route(old))
    backend = _backend(rec.url)
    base = backend.begin_reindex()
    new = level_indices(base)
    assert [rec.requests[i][1] for i in range(3)] == [f"/{n}" for n in new.values()]
    assert all(rec.json(i) == index_body() for i in range(3))  # created without aliases: readers keep the old
    backend.upsert([{"id": "a", "access": "reading_room"}])
    assert json.loads(rec.requests[3][2].splitlines()[0]) == {"index": {"_index": new["reading_room"], "_id": "a"}}
    backend.finish_reindex()
    calls = [(m, p.split("?")[0]) for m, p, _ in rec.requests[4:]]
    assert calls == [("GET", "/_alias/chayue-test"), ("POST", f"/{','.join(new.values())}/_refresh"),
                     ("POST", "/_aliases"), ("DELETE", f"/{old}")]
    assert rec.json(6) == {"actions": alias_swap_actions("chayue-test", new, [old])}


def test_an_index_from_before_the_levels_is_replaced_by_a_set(recorder):
    old = "chayue-test-20240101-000000-000000"  # one index for every audience
    rec = recorder(_reindex_route(old))
    _backend(rec.url).ensure_index()
    calls = [(m, p.split("?")[0]) for m, p, _ in rec.requests]
    assert [m for m, _ in calls[1:4]] == ["PUT"] * 3 and calls[-2:] == [("POST", "/_aliases"), ("DELETE", f"/{old}")]
    actions = json.loads(rec.requests[-2][2])["actions"]
    assert actions[0] == {"remove": {"index": old, "alias": "chayue-test"}} and len(actions) == 7


def test_the_seam_sends_each_audience_to_its_indices_with_the_filter_as_well(recorder):
    def route(method: str, path: str, body: bytes) -> Reply:
        return 200, {"took": 1, "timed_out": False, "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}

    rec = recorder(route)
    engine = Engine(_backend(rec.url, writable=False))
    for audience in Audience:
        engine.search(SearchSpec(query=MatchAll()), audience)
    engine.count(MatchAll(), Audience.reading_room)
    paths = [p for _, p, _ in rec.requests]
    assert paths[0] == "/chayue-test-open/_search"
    assert paths[1] == "/chayue-test-open,chayue-test-reading_room/_search?search_type=dfs_query_then_fetch"
    assert paths[2] == ("/chayue-test-open,chayue-test-reading_room,chayue-test-restricted/_search"
                        "?search_type=dfs_query_then_fetch")
    assert paths[3] == "/chayue-test-open,chayue-test-reading_room/_search"
    # The access filter stays in every body: the second line of defence.
    for i, audience in enumerate(Audience):
        assert rec.json(i)["query"]["bool"]["filter"] == [to_dsl(access_filter(audience), scoring=False)]


def test_search_sends_search_body_unchanged(recorder):
    def route(method: str, path: str, body: bytes) -> Reply:
        return 200, {"took": 1, "timed_out": False, "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []},
                     "aggregations": {f: {"doc_count": 0, FACET_AGG: {"buckets": []}} for f in ("agency", "year", "category")}}

    rec = recorder(route)
    spec = _spec(sort="date_desc", search_after=["2007-01-01", "a"], fields=("title",))
    expected = search_body(spec)
    res = _backend(rec.url, writable=False).execute(spec)
    method, path, body = rec.requests[0]
    assert (method, path.split("?")[0]) == ("POST", "/chayue-test/_search")
    assert json.loads(body) == expected
    assert res.total == 0 and set(res.facets) == {"agency", "year", "category"}


def test_auth_failure_is_unavailable_without_the_password(recorder):
    def route(method: str, path: str, body: bytes) -> Reply:
        return 401, {"error": {"type": "security_exception",
                               "reason": "unable to authenticate user [elastic] for REST request [/_search]"},
                     "status": 401}

    rec = recorder(route)
    with pytest.raises(EngineUnavailable) as err:
        _backend(rec.url, writable=False).execute(SearchSpec(query=MatchAll()))
    assert "ES_PASSWORD" in str(err.value) and "s3cret-pw" not in str(err.value)


def test_missing_index_says_what_to_do(recorder):
    def route(method: str, path: str, body: bytes) -> Reply:
        return 404, {"error": {"type": "index_not_found_exception", "reason": "no such index [chayue-test]"},
                     "status": 404}

    rec = recorder(route)
    with pytest.raises(EngineUnavailable, match="chayue index"):
        _backend(rec.url, writable=False).execute(SearchSpec(query=MatchAll()))


def test_unreachable_server_is_unavailable_without_the_password():
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = _backend(f"http://127.0.0.1:{port}", writable=False)
    with pytest.raises(EngineUnavailable) as err:
        backend.execute(SearchSpec(query=MatchAll()))
    assert f"127.0.0.1:{port}" in str(err.value) and "s3cret-pw" not in str(err.value)
