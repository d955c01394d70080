"""The engine seam: `open_engine(settings)` gives an Engine over the configured backend."""

from __future__ import annotations

from engine.base import Engine, EngineUnavailable

__all__ = ["Engine", "EngineUnavailable", "open_engine"]


def open_engine(settings, *, writable: bool = False) -> Engine:
    if settings.engine == "elasticsearch":
        from engine.elastic import ElasticBackend

        return Engine(ElasticBackend.from_settings(settings, writable=writable))
    from engine.embedded import open_embedded

    return Engine(open_embedded(settings.data, writable=writable))
