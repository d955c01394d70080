"""The HTTP protocol `chayue serve` runs: uvicorn's h11 protocol with a deadline for reading
each request.

uvicorn arms no timer while a request is being read: its keep-alive timer starts only after
a response and is cancelled by any byte received, so a client sending its headers (or a
body) a byte at a time holds a connection for as long as it likes (slowloris). Here each
request, headers and body, must be complete within `read_timeout` seconds of the connection
opening or of the previous response, however slowly it trickles; otherwise the connection
is closed."""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from settings import get_settings


class DeadlineH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # From the environment, as every worker process reads it (uvicorn builds the
        # protocol itself, from its config only).
        self.read_timeout = get_settings().read_timeout
        self._read_deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(self.read_timeout, self._read_too_slow)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_too_slow(self) -> None:
        self._read_deadline = None
        if not self.transport.is_closing():
            self.logger.info("closing a connection whose request took over %s s to arrive", self.read_timeout)
            self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR):
            self._disarm()  # the request is in (or the connection is ending)

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection has its own deadline
        super().on_response_complete()  # (which reads a pipelined request, and disarms if it is in)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
