"""The Elasticsearch requests for validity over time, relation facets and versions, checked
without a server as tests/test_elastic_requests.py checks the others (documented shapes, the
client's typed DSL); whether they return the embedded engine's answers is for
tests/conformance/test_validity.py with ES_URL set."""

from __future__ import annotations

from datetime import date

from engine.base import TIEBREAK, access_filter
from engine.elastic import search_body, to_dsl
from engine.model import Audience
from engine.query import MatchAll, SearchSpec, Terms
from engine.validity import LATEST_VERSIONS, RELATION_FACET, valid_on
from tests.test_elastic_requests import check_search_body


def test_valid_on_is_two_ranges_in_filter_context():
    # query-dsl-range-query; a bool's filter and must_not never score.
    assert to_dsl(valid_on(date(2020, 1, 1))) == {"bool": {
        "filter": [{"range": {"valid_from": {"lte": "2020-01-01"}}}],
        "must_not": [{"range": {"valid_until": {"lte": "2020-01-01"}}}]}}


def test_latest_versions_leaves_out_former_ones():
    assert to_dsl(LATEST_VERSIONS, scoring=False) == {"bool": {
        "must_not": [{"term": {"version_state": {"value": "former"}}}], "must": [{"match_all": {}}]}}


def test_grouped_search_with_relation_facet_keeps_versions_out_of_the_validity_counts():
    spec = SearchSpec(query=MatchAll(), size=10, bonus=TIEBREAK,
                      filters={"validity": LATEST_VERSIONS, RELATION_FACET: Terms(RELATION_FACET, ("被修改过",)),
                               "_access": access_filter(Audience.public)},
                      facets=("validity", RELATION_FACET))
    body = search_body(spec)
    check_search_body(body)
    # Both keyed filters are facet filters: post_filter narrows the hits, and each facet's
    # counts drop only its own filter (so 历史版本 is still counted while versions are grouped).
    assert body["aggs"]["validity"]["filter"] == to_dsl(Terms(RELATION_FACET, ("被修改过",)), scoring=False)
    assert body["aggs"][RELATION_FACET]["filter"] == to_dsl(LATEST_VERSIONS, scoring=False)
    assert {"terms": {"access": ["open"]}} in body["query"]["bool"]["filter"]


def test_valid_on_and_version_counts_are_valid_request_bodies():
    check_search_body(search_body(SearchSpec(query=MatchAll(), size=20,
                                             filters={"valid_on": valid_on(date(2026, 8, 15))})))
    counts = SearchSpec(query=Terms("version_group", ("仲裁法", "宪法")), size=0, facets=("version_group",),
                        facet_size=2, filters={"_access": access_filter(Audience.reading_room)})
    body = search_body(counts)
    check_search_body(body)
    assert body["aggs"]["version_group"]["aggs"]["values"]["terms"]["size"] == 2
