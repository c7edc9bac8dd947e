"""A TLS server that takes connections and then never answers: no response, no TLS close."""

from __future__ import annotations

import asyncio
import gc
import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

import pytest


class SilentTlsServer:
    """Accepts TLS connections on 127.0.0.1, then neither reads nor writes: a client's request
    goes unanswered, and so does the close_notify of its TLS shutdown (a peer that is busy, or
    gone). It runs on a thread of its own, so it holds its connections whatever the client's
    event loop does, until `close()`."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # so that the thread sees `close()` soon
        self.port: int = self._listener.getsockname()[1]
        self.accepted = threading.Event()
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-tls", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(5)  # a client that never completes the handshake
            try:
                self._held.append(self._context.wrap_socket(raw, server_side=True))
            except OSError:  # the client gave up during the handshake
                raw.close()
                continue
            self.accepted.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._listener.close()


async def cancel_once_sent(call: asyncio.Future[Any], server: SilentTlsServer) -> None:
    """Cancel `call` once its connection is up and its request sent, and see it end so."""
    for _ in range(500):  # until the connection is up
        if server.accepted.is_set():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # and the request sent
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call


def resource_warnings(
    server: SilentTlsServer, give_up: Callable[[], Coroutine[Any, Any, None]]
) -> list[str]:
    """Run `give_up()` on a new event loop that is closed as soon as it returns (no extra
    turns, as a test's loop ends), collect the garbage, close the server; the
    ResourceWarnings raised meanwhile ("unclosed transport" for a socket left open)."""
    loop = asyncio.new_event_loop()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            try:
                loop.run_until_complete(give_up())
            finally:
                loop.close()  # at once: no extra turns
            gc.collect()
    finally:
        server.close()
    assert server.accepted.is_set()
    return [str(w.message) for w in caught if w.category is ResourceWarning]
