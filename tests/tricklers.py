"""Slow servers for the tests of a request's overall deadline (`handoff_brief.deadline`), as
the CRM API and the service's callbacks meet them."""

from __future__ import annotations

import socket
import threading
import time

import httpx


class Trickler:
    """A real HTTP server on 127.0.0.1 that answers each connection with `head`, then one
    byte of `drip` every 50 ms, for at most 20 s (so that a client without a deadline ends
    too). `url` has no path (any path will do); `connections` counts the ones accepted."""

    def __init__(self, head: bytes, drip: bytes = b"a") -> None:
        self.head, self.drip = head, drip
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            started = time.monotonic()
            try:
                connection.recv(65536)  # the request; its content does not matter
                connection.sendall(self.head)
                while not self.stop.wait(0.05) and time.monotonic() - started < 20:
                    connection.sendall(self.drip)
            except OSError:
                pass  # the client hung up: what the deadline is for

    def __enter__(self) -> Trickler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        self.listener.close()


class Traceless(httpx.HTTPTransport):
    """A transport that hides its connections from the watchdog (it drops the trace hook):
    only the clock checked between a body's chunks can end a trickled body."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions.pop("trace", None)
        return super().handle_request(request)
