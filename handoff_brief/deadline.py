"""`Deadline`: one overall deadline for an httpx request, its headers and body together.

httpx's timeouts bound each read, not the answer, so a server that trickles its headers or
its body a byte at a time could hold a request for as long as it likes. Within
`with Deadline(seconds) as deadline:`

- a watchdog shuts the request's connections when the time is up, which ends any read in
  progress at once; it sees them through httpcore's trace hook, so the request is sent with
  `extensions={"trace": deadline.trace}`, and a connection made after the time is up is shut
  as soon as it connects;
- `read_into` reads a streamed body up to a cap, with the clock checked between its chunks,
  which ends the read even through a transport that hides its connections from the hook.

The CRM API (`crm.http`) and the service's callbacks (`service.callback`) both use it.
"""

from __future__ import annotations

import socket
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import httpx

#: Guards every deadline's sockets and its passing: a connection made just as the time runs
#: out is shut too, and a set that several deadlines share is never read while it changes.
_LOCK = threading.Lock()


class Deadline:
    """`seconds` from now by `clock`; as a context manager, the watchdog runs inside it.

    `sockets` are the connections the watchdog shuts: by default those made under this
    deadline. A client that keeps connections alive gives all its deadlines one set, so that
    a pooled connection made under an earlier deadline is shut too (an idle one is then
    simply replaced).
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic, *,
                 sockets: weakref.WeakSet[socket.socket] | None = None) -> None:
        self.clock = clock
        self.until = clock() + seconds
        self.sockets: weakref.WeakSet[socket.socket] = (
            weakref.WeakSet() if sockets is None else sockets)
        self._cut = threading.Event()
        self._timer = threading.Timer(seconds, self._shut_all)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    @property
    def cut(self) -> bool:
        """The watchdog has shut the connections: an answer may have been cut short."""
        return self._cut.is_set()

    def over(self) -> bool:
        """The time is up, by the watchdog or by the clock."""
        return self.cut or self.clock() >= self.until

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: note each new connection's socket for the watchdog."""
        if event.endswith((".connect_tcp.complete", ".start_tls.complete")):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                with _LOCK:
                    self.sockets.add(sock)
                    if self._cut.is_set():  # connected just as the time ran out
                        _shut(sock)

    def read_into(self, body: bytearray, response: httpx.Response, limit: int,
                  inflate: Callable[[bytes, int], bytes] | None = None) -> bool:
        """Add `response`'s raw body to `body` until `body` holds `limit` bytes or the body
        ends: True then, False when the time is up first. `inflate(chunk, room)` turns each
        chunk into at most `room` bytes (a `zlib.decompressobj().decompress`; its errors
        pass). httpx's errors pass too, `body` holding what came before."""
        for raw in response.iter_raw():
            if self.over():
                return False
            room = limit - len(body)
            body += raw[:room] if inflate is None else inflate(raw, room)
            if len(body) >= limit:
                break
        return True

    def _shut_all(self) -> None:
        with _LOCK:
            self._cut.set()
            for sock in list(self.sockets):
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):  # closed already
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # under TLS too
