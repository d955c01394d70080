"""Request dependencies: the settings, the engine (opened once, lazily) and the caller's audience.

They are coroutines because they only read what is already in memory: FastAPI runs a plain
function dependency in its thread pool, and three hand-offs to a thread and back per
request cost more than the work itself. Only the first opening of the engine, which reads
the disk, goes to a thread."""

from __future__ import annotations

import threading

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from api.access import audience_of
from engine import Engine, EngineUnavailable, open_engine
from engine.model import Audience
from settings import Settings

_lock = threading.Lock()


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def engine_of(app: FastAPI) -> Engine:
    """The app's engine, opened on first use (blocking); an index that is not there yet
    raises EngineUnavailable, which answers 503, not 500."""
    engine = app.state.engine
    if engine is None:
        with _lock:
            engine = app.state.engine
            if engine is None:
                engine = open_engine(app.state.settings)  # raises EngineUnavailable
                withheld = getattr(app.state, "withheld", None)  # staff/web.py installs it
                if withheld is not None:
                    engine.withheld = withheld
                app.state.engine = engine
    return engine


async def get_engine(request: Request) -> Engine:
    engine = request.app.state.engine
    return engine if engine is not None else await run_in_threadpool(engine_of, request.app)


async def get_audience(request: Request, settings: Settings = Depends(get_settings)) -> Audience:
    return audience_of(request, settings)


__all__ = ["engine_of", "get_engine", "get_audience", "get_settings", "EngineUnavailable"]
