"""Admission control: a bound on the expensive searches in flight in this process, so a
flood of costly queries is refused fast (503 with Retry-After) and cheap ones keep answering.

A search is expensive when the engine's estimate of its matches (an upper bound from term
document frequencies: what facets, ranking and counting walk) passes
`settings.expensive_matches`, or when it is a kind that always is (similar documents).
The decision is taken in the event loop, before the route's work is handed to a thread:
a refused request never waits for or occupies one of the thread pool's threads."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Depends, Request

from api.deps import get_audience, get_engine, get_settings
from api.errors import ApiError
from engine import Engine
from engine import syntax
from engine.model import Audience
from settings import Settings

RETRY_AFTER_S = 1


class Admission:
    """The expensive requests in flight. Entered and left only from the event loop (async
    dependencies), so a plain counter is enough."""

    def __init__(self, limit: int):
        self.limit, self.in_flight = limit, 0

    def enter(self) -> None:
        if self.in_flight >= self.limit:
            raise busy()
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1


def busy() -> ApiError:
    return ApiError(503, "busy", "检索繁忙，请稍后再试 / too many expensive searches at once, retry shortly",
                    headers={"Retry-After": str(RETRY_AFTER_S)})


def admission_of(request: Request) -> Admission:
    app = request.app
    if getattr(app.state, "admission", None) is None:
        app.state.admission = Admission(app.state.settings.max_expensive)
    return app.state.admission


async def admit_search(request: Request, engine: Engine = Depends(get_engine),
                       audience: Audience = Depends(get_audience),
                       settings: Settings = Depends(get_settings)) -> AsyncIterator[None]:
    """For a search (/api/search, its feed) and /api/stats (a search for everything): a slot
    if the query is expensive; nothing to hold otherwise."""
    q = "" if request.url.path.endswith("/stats") else request.query_params.get("q", "")
    if len(q) > 200:  # the route refuses it (422) before any work
        yield
        return
    node = syntax.to_node(syntax.parse(q))
    if engine.estimate(node, audience) <= settings.expensive_matches:
        yield
        return
    admission = admission_of(request)
    admission.enter()
    try:
        yield
    finally:
        admission.leave()


async def admit_expensive(request: Request) -> AsyncIterator[None]:
    """For routes that are always expensive (similar documents, exports of up to 10 000)."""
    admission = admission_of(request)
    admission.enter()
    try:
        yield
    finally:
        admission.leave()
