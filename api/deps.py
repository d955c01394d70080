"""Request dependencies: the settings, the engine (opened once, lazily) and the caller's audience."""

from __future__ import annotations

import threading

from fastapi import Depends, Request

from api.access import audience_of
from engine import Engine, EngineUnavailable, open_engine
from engine.model import Audience
from settings import Settings

_lock = threading.Lock()


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    """The engine, opened on first use; an index that is not there yet answers 503, not 500."""
    engine = request.app.state.engine
    if engine is None:
        with _lock:
            engine = request.app.state.engine
            if engine is None:
                engine = open_engine(request.app.state.settings)  # raises EngineUnavailable
                request.app.state.engine = engine
    return engine


def get_audience(request: Request, settings: Settings = Depends(get_settings)) -> Audience:
    return audience_of(request, settings)


__all__ = ["get_engine", "get_audience", "get_settings", "EngineUnavailable"]
