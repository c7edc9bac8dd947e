"""A TLS server that takes connections and then never answers: no response, no TLS close."""

from __future__ import annotations

import socket
import ssl
import threading


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
