"""uvicorn's HTTP/1.1 protocol with a deadline for each request's head.

uvicorn times out an idle connection only after a response, so a client that opens a
connection and sends its request line and headers a byte at a time (or never finishes
them) would hold it, and a socket, for ever. Here every request head must arrive whole
within `head_timeout` seconds of its first byte (or of the connection, for the first
request); the connection is closed otherwise.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class HeadTimeoutProtocol(H11Protocol):
    head_timeout = 10.0  # seconds a client has to send a request's line and headers

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._waiting_for: Any = None
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self._between_requests():
            self._arm()  # the first bytes of the next request on this connection
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self._head_timer is not None and self.cycle is not self._waiting_for:
            self._head_timer.cancel()  # a new request's head has arrived whole
            self._head_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._waiting_for = self.cycle
        self._head_timer = self.loop.call_later(self.head_timeout, self._too_slow)

    def _too_slow(self) -> None:
        self._head_timer = None
        if self.cycle is self._waiting_for and not self.transport.is_closing():
            self.transport.close()


def protocol(head_timeout: float) -> type[HeadTimeoutProtocol]:
    """The protocol class with its own head timeout."""
    return type("HeadTimeoutProtocol", (HeadTimeoutProtocol,), {"head_timeout": head_timeout})
