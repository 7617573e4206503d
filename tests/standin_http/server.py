"""A threaded HTTP server on 127.0.0.1 for a stand-in: keep-alive, quiet, and stoppable with its connections."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to ``owner._serve(handler)``, looked up per request: tests' Gate shadows it."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the clients' connection pools expect
    disable_nagle_algorithm = True  # otherwise each small answer waits ~40 ms for a delayed ACK

    def setup(self) -> None:
        super().setup()
        self.server.thread.track(self.connection)

    def finish(self) -> None:
        self.server.thread.untrack(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log records what tests need."""

    def _serve(self) -> None:
        self.server.thread.owner._serve(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], thread: ServerThread, handler: type[BaseHTTPRequestHandler]) -> None:
        self.thread = thread
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hung up (timeouts in fault tests); loud about the rest."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class ServerThread:
    """Serves ``owner._serve(handler)`` on 127.0.0.1 from a daemon thread; ``stop()`` closes kept-alive
    connections too, so no client talks to a stopped server."""

    def __init__(self, owner: Any, server_version: str) -> None:
        self.owner = owner
        self._handler = type("Handler", (_Handler,), {"server_version": server_version})
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, port: int) -> int:
        """Listen on ``port`` (0: a free one) and answer from a thread; the port listened on."""
        self._httpd = _HTTPServer(("127.0.0.1", port), self, self._handler)
        port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name=f"{self._handler.server_version}:{port}", daemon=True
        )  # a short poll interval: stop() waits for one
        self._thread.start()
        return port

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._httpd = None

    def track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)
