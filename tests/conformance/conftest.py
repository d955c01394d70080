"""Every backend gets the same corpus; the tests in this folder run once per backend.

The embedded engine always runs. Elasticsearch runs when ES_URL is set; otherwise its
tests are skipped with the reason (no fake server stands in for it)."""

from __future__ import annotations

import pytest

from engine import Engine
from engine.embedded import open_embedded
from tests import corpus


def _fill(engine: Engine) -> Engine:
    engine.upsert(corpus.documents())
    engine.commit()
    return engine


@pytest.fixture(scope="session", params=["embedded", "elasticsearch"])
def backend(request, tmp_path_factory) -> Engine:
    if request.param == "embedded":
        engine = Engine(open_embedded(tmp_path_factory.mktemp("conformance"), writable=True))
    else:
        from tests.es_backend import elastic_engine_or_skip

        engine = elastic_engine_or_skip()
    _fill(engine)
    yield engine
    engine.close()
