"""The conformance suite's hook into Elasticsearch: a fresh, throw-away index alias on the
server named by ES_URL or, when it is unset, on a node of the tests' own (tests/es_node.py:
Elastic's distribution of the compose file's version, started on first use, stopped when the
session ends; security on: basic auth and TLS with a CA of its own). Where no node can start the test is skipped with the reason; in CI (CI=true)
it fails instead, since CI must run the Elasticsearch half. CHAYUE_TEST_ES=off skips it.

    from tests.es_backend import elastic_engine_or_skip

    @pytest.fixture(scope="session")
    def es_engine():
        engine = elastic_engine_or_skip()
        yield engine
        engine.close()          # deletes the test indices and the alias

Credentials come from ES_URL (`https://elastic:<password>@localhost:9200`) or from
ES_USER / ES_PASSWORD; ES_CA_CERTS names the CA of a TLS server."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest

from engine import Engine
from engine.base import EngineUnavailable
from engine.elastic import ElasticBackend
from settings import Settings
from tests.es_node import Cluster, NodeUnavailable

SKIP_REASON = ("Elasticsearch not reachable: set ES_URL=http://elastic:<password>@localhost:9200 "
               "(docker compose up elasticsearch) to run the conformance suite on it")

_node: Cluster | None = None
_node_failure: str | None = None
started_note: str | None = None  # for the session's summary


def skip_or_fail(reason: str) -> None:
    """Skip, or fail in CI, where a skipped Elasticsearch half would hide a broken backend."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI runs the Elasticsearch half of the suite, but: {reason}", pytrace=False)
    pytest.skip(reason)


def es_connection() -> dict[str, Any]:
    """Settings for the server the tests use: ES_URL's (from the environment) when set, else
    the tests' own node, started on the first call."""
    global _node, _node_failure, started_note
    if os.environ.get("ES_URL"):
        return {}
    if os.environ.get("CHAYUE_TEST_ES") == "off":
        skip_or_fail("CHAYUE_TEST_ES=off: no Elasticsearch node for this run")
    if _node_failure:
        skip_or_fail(_node_failure)
    if _node is None:
        started = time.monotonic()
        # As deployed with TLS: basic auth as `elastic`, HTTPS with a CA of its own (ES_CA_CERTS).
        cluster = Cluster(nodes=1, security=True)
        try:
            _node = cluster.start()
        except (NodeUnavailable, OSError) as exc:
            _node_failure = f"no Elasticsearch {cluster.version} node could start here: {exc}"
            skip_or_fail(_node_failure)
        started_note = (f"Elasticsearch {cluster.version}: a node of the tests' own at {cluster.url} "
                        "(security on: basic auth, TLS with its own CA), "
                        f"up in {time.monotonic() - started:.0f} s")
    assert _node is not None
    # By the settings' aliases: the field names are not accepted as keywords.
    return {"ES_URL": _node.es_url, "ES_CA_CERTS": str(_node.ca_certs) if _node.ca_certs else None}


def own_node() -> Cluster | None:
    """The tests' own node, once es_connection() started it (None when ES_URL is set)."""
    return _node


def stop_node() -> None:
    global _node
    if _node is not None:
        _node.stop()
        _node = None


class _ThrowawayBackend(ElasticBackend):
    """An ElasticBackend whose close() deletes every index it created behind its alias."""

    def close(self) -> None:
        try:
            targets = self._alias_targets()
            if self._building:
                targets += self._building.values()
            for index in targets:
                self.client.indices.delete(index=index, ignore_unavailable=True)
        finally:
            super().close()


def elastic_engine_or_skip(**overrides: Any) -> Engine:
    """An Engine over a fresh `chayue-test-<random>` alias, writable; skips the test (fails
    in CI) when no server can be had."""
    settings = Settings(engine="elasticsearch", es_index=f"chayue-test-{uuid.uuid4().hex[:12]}",
                        **{**es_connection(), **overrides})
    try:
        backend = _ThrowawayBackend.from_settings(settings, writable=True)
    except EngineUnavailable as exc:
        skip_or_fail(f"{SKIP_REASON} ({exc})")
    return Engine(backend)
