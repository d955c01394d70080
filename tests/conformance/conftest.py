"""Every backend gets the same corpus; the tests in this folder run once per backend.

The embedded engine always runs. Elasticsearch runs when ES_URL is set; otherwise its
tests are skipped with the reason (no fake server stands in for it)."""

from __future__ import annotations

import pytest

from engine import Engine
from tests import corpus
from tests.conformance.engines import BACKENDS, engine_for


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory) -> Engine:
    engine = engine_for(request.param, tmp_path_factory, corpus.documents(), "conformance")
    yield engine
    engine.close()
