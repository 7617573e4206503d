"""A real `norn serve` process for the serve tests: the venv's console script, a free port, real HTTP
(urllib) and a real WebSocket client (websockets' sync client). No tests here; the others import it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from websockets.sync.client import connect

TOKEN = "t0ken-for-the-serve-tests-0123456789abcdef"
NORN = str(Path(sys.executable).with_name("norn"))  # the console script a user runs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float = 30.0, what: str = "the condition"):
    """Poll ``condition`` until it returns something true; generous for a loaded machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Server:
    """One `norn serve` child process and a client for it."""

    def __init__(self, norn, *args: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = norn.cwd / f"serve-{self.port}.log"
        environment = norn.env(**{"NORN_SERVE_TOKEN": TOKEN, "NORN_API_RETRY_SECONDS": "0", **env})
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen([NORN, "serve", "--port", str(self.port), *args], cwd=norn.cwd,
                                            env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        wait_for(self._healthy, what=f"norn serve on {self.url}: {self.log()}")

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"norn serve exited {self.process.returncode}: {self.log()}")
        try:
            return self.request("GET", "/healthz", token=None)[0] == 200
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text()

    def request(self, method: str, path: str, body=None, token: str | None = TOKEN, raw: bytes | None = None,
                ) -> tuple[int, object]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def events(self, app: str | None = None, token: str | None = TOKEN):
        """A WebSocket on /v1/events (of one app); use as a context manager."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        query = f"?app={app}" if app else ""
        return connect(f"ws://127.0.0.1:{self.port}/v1/events{query}", additional_headers=headers,
                       open_timeout=30)

    def idle_client(self) -> socket.socket:
        """A WebSocket client that completes the handshake and then never reads: a plain socket."""
        client = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        client.sendall((f"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {TOKEN}\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += client.recv(1024)
        assert answer.startswith(b"HTTP/1.1 101")  # switched; from now on it reads nothing
        return client

    def run_document(self, run: str) -> dict:
        status, document = self.request("GET", f"/v1/runs/{run}")
        assert status == 200, document
        return document

    def finished(self, run: str) -> dict:
        """The run's document once it completed or failed."""
        return wait_for(lambda: (d := self.run_document(run))["status"] in ("completed", "failed") and d,
                        timeout=60, what=f"run {run} to end")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def until(websocket, last: str, timeout: float = 60) -> list[dict]:
    """The events a WebSocket receives up to and including the first of type ``last``."""
    received = []
    deadline = time.monotonic() + timeout
    while not received or received[-1]["type"] != last:
        received.append(json.loads(websocket.recv(timeout=max(0.1, deadline - time.monotonic()))))
    return received


def shape(events: list[dict]) -> list[tuple]:
    """What must match between the API's events and the CLI's: type, app, step, status, payload keys."""
    return [(e["type"], e["app"], e["payload"].get("step"), e["payload"].get("status"), sorted(e["payload"]))
            for e in events]


@pytest.fixture
def serve(norn):
    """Start a `norn serve` (arguments: its flags, keyword arguments: its environment); each is killed after
    the test, and its log must not hold the token."""
    started: list[Server] = []

    def start(*args: str, **env: str) -> Server:
        started.append(Server(norn, *args, **env))
        return started[-1]

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=30)
    assert all(TOKEN not in server.log() for server in started), "the token reached the log"

