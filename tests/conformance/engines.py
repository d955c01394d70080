"""A fresh engine of each kind, filled with given documents: the embedded one always,
Elasticsearch when ES_URL is set (skipped with the reason otherwise)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from engine import Engine
from engine.embedded import open_embedded
from engine.model import Document

BACKENDS = ["embedded", "elasticsearch"]


def engine_for(kind: str, tmp_path_factory, docs: Iterable[Document], name: str) -> Engine:
    if kind == "embedded":
        engine = Engine(open_embedded(tmp_path_factory.mktemp(name), writable=True))
    else:
        from tests.es_backend import elastic_engine_or_skip

        engine = elastic_engine_or_skip()
    engine.upsert(docs)
    engine.commit()
    return engine


def engines_with(docs: Iterable[Document], name: str):
    """A module-scoped fixture `name`: an engine of each kind (BACKENDS) holding these
    documents, closed after the module."""
    docs = tuple(docs)

    @pytest.fixture(scope="module", params=BACKENDS, name=name)
    def fixture(request, tmp_path_factory) -> Engine:
        engine = engine_for(request.param, tmp_path_factory, docs, name.replace("_", "-"))
        yield engine
        engine.close()

    return fixture
