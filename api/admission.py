"""Admission control: a bound on the expensive searches in flight in this process, so a
flood of costly queries is refused fast (503 with Retry-After) and cheap ones keep answering.

A search is expensive when the engine's estimate of its matches (an upper bound from term
document frequencies: what facets, ranking and counting walk) passes
`settings.expensive_matches`, when it asks for more than `settings.expensive_units` different
things (words, phrases, fields, exclusions, each alternative of an OR, a repeated one counted
once: each is a clause of its own in every field searched, so a 100-word query costs a
hundred one-word ones even on a collection too small for any one of them to match much), or
when it is a kind that always is (similar documents, a question ordered by meaning). Every search, cheap or not, also
takes one of `settings.max_searches` places in flight, and exports have a pool of their own
(`settings.max_exports`): a flood of one kind of request never takes the others' places.
The decision is taken in the event loop, before the route's work is handed to a thread:
a refused request never waits for or occupies one of the thread pool's threads. Beyond the
bound a few requests wait their turn for a moment (`settings.expensive_queue` of them, up to
`settings.expensive_wait` seconds), so two visitors who search a common word at the same
instant both get their answer; only past that is a request refused."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, Request

from api import meaning
from api.deps import get_audience, get_engine, get_settings
from api.errors import ApiError
from engine import Engine
from engine import syntax
from engine.model import Audience
from settings import Settings

RETRY_AFTER_S = 1


class Admission:
    """The expensive requests in flight, and those waiting for a slot. Entered and left only
    from the event loop (async dependencies), so plain counters are enough."""

    def __init__(self, limit: int, queue: int = 0, wait_s: float = 0.0):
        self.limit, self.queue, self.wait_s = limit, queue, wait_s
        self.in_flight = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def enter(self) -> None:
        if self.in_flight < self.limit and not self._waiting:
            self.in_flight += 1
            return
        if len(self._waiting) >= self.queue:
            raise busy()
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            # leave() hands its slot to the first waiter; wait_for returns (rather than
            # raising) when the slot arrived just as the wait ran out, so no slot is lost.
            await asyncio.wait_for(turn, self.wait_s)
        except TimeoutError:
            raise busy() from None
        finally:
            if turn in self._waiting:
                self._waiting.remove(turn)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.enter()
        try:
            yield
        finally:
            self.leave()

    def leave(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes on: in_flight stays as it is
                return
        self.in_flight -= 1


def busy() -> ApiError:
    return ApiError(503, "busy", "检索繁忙，请稍后再试 / too many expensive searches at once, retry shortly",
                    headers={"Retry-After": str(RETRY_AFTER_S)})


def admission_of(request: Request) -> Admission:
    """The expensive searches' slots."""
    return _pool(request, "admission", lambda s: Admission(s.expensive_bound, s.expensive_queue, s.expensive_wait))


def searches_of(request: Request) -> Admission:
    """The places of all searches in flight, cheap ones too."""
    return _pool(request, "searches", lambda s: Admission(s.max_searches, 4 * s.max_searches, s.expensive_wait))


def exports_of(request: Request) -> Admission:
    """The exports' slots, apart from the searches'."""
    return _pool(request, "exports", lambda s: Admission(s.max_exports, s.expensive_queue, s.expensive_wait))


def _pool(request: Request, name: str, make: Callable[[Settings], Admission]) -> Admission:
    state = request.app.state
    if getattr(state, name, None) is None:
        setattr(state, name, make(state.settings))
    return getattr(state, name)


_TYPED = re.compile(r'-?"[^"]*"|\S+')
_OR = {"OR", "|", "或"}
# Different pieces a search may have at all (as web search engines cap a query's words): each
# is a clause in every field, and 100 of them took 1.5 s of the engine at 1,000 documents.
MAX_TYPED_UNITS = 32


def _typed(q: str) -> list[str]:
    """The query's pieces as typed (a quoted phrase is one), without OR."""
    return [t for t in _TYPED.findall(unicodedata.normalize("NFKC", q)) if t not in _OR]


def expensive(q: str, engine: Engine, audience: Audience, settings: Settings) -> bool:
    """Whether the search for `q` takes an expensive slot: by how many different things it
    asks for, and by the documents it may match. A query of more pieces, as typed, than
    could make a cheap one is expensive before it is read at all: reading a 100-word query
    takes 15-50 ms, which the event loop would otherwise spend on every refused flood request."""
    typed = _typed(q)
    if len(set(typed)) > settings.expensive_units or len(typed) > 4 * settings.expensive_units:
        return True
    parsed = syntax.parse(q)
    if syntax.distinct_units(parsed) > settings.expensive_units:
        return True
    if parsed.question and meaning.ready(settings):
        return True  # read by the model, then the first WINDOW hits weighed: ~90 ms (api/meaning.py)
    return engine.estimate(syntax.to_node(parsed), audience) > settings.expensive_matches


async def admit_search(request: Request, engine: Engine = Depends(get_engine),
                       audience: Audience = Depends(get_audience),
                       settings: Settings = Depends(get_settings)) -> AsyncIterator[None]:
    """For a search (/api/search, its feed) and /api/stats (a search for everything): a slot
    if the query is expensive; nothing to hold otherwise."""
    q = "" if request.url.path.endswith("/stats") else request.query_params.get("q", "")
    if len(q) > 200:  # the route refuses it (422) before any work
        yield
        return
    if len(set(_typed(q))) > MAX_TYPED_UNITS:
        raise ApiError(422, "invalid_parameter", f"检索词过多：不同的检索词最多 {MAX_TYPED_UNITS} 个 / too many "
                                                 f"words in the query (at most {MAX_TYPED_UNITS} different ones)")
    async with searches_of(request).slot():
        if not expensive(q, engine, audience, settings):
            yield
            return
        async with admission_of(request).slot():
            yield


async def admit_expensive(request: Request) -> AsyncIterator[None]:
    """For searches that are always expensive (similar documents)."""
    async with searches_of(request).slot(), admission_of(request).slot():
        yield


async def admit_export(request: Request) -> AsyncIterator[None]:
    """For exports (of up to 10 000 documents, or a folder's passages): their own slots, held
    until the file is sent, so a flood of exports waits for itself and never for a search."""
    async with exports_of(request).slot():
        yield
