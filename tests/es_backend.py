"""The conformance suite's hook into Elasticsearch: a fresh, throw-away index alias on the
server named by ES_URL, or a skip that says how to get one.

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
import uuid
from typing import Any

import pytest

from engine import Engine
from engine.base import EngineUnavailable
from engine.elastic import ElasticBackend
from settings import Settings

SKIP_REASON = ("Elasticsearch not reachable: set ES_URL=http://elastic:<password>@localhost:9200 "
               "(docker compose up elasticsearch) to run the conformance suite on it")


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
    """An Engine over a fresh `chayue-test-<random>` alias, writable; skips the test when
    ES_URL is unset or the server cannot be reached."""
    if not os.environ.get("ES_URL"):
        pytest.skip(SKIP_REASON)
    settings = Settings(engine="elasticsearch", es_index=f"chayue-test-{uuid.uuid4().hex[:12]}", **overrides)
    try:
        backend = _ThrowawayBackend.from_settings(settings, writable=True)
    except EngineUnavailable as exc:
        pytest.skip(f"{SKIP_REASON} ({exc})")
    return Engine(backend)
