"""The `norn serve` rows of make bench: 50 apps forged through one server, and the server's peak memory.

One round starts `norn serve` (the bench venv's, installed with its serve extra) on a free port against
the same stand-in and state folder as the other rows, connects one WebSocket to /v1/events, then times
50 POST /v1/apps/APP/forge and the wait for the 50 forge.completed events. The server is already up when
the clock starts: it pays no start-up per forge, which is the point of the row. The other side is the
50 `norn forge` processes at once of bench/fifty.sh, timed by hyperfine as before. The peak memory is the
server's VmHWM (/proc/PID/status) after the run: the most it held at once, start-up included.
"""

from __future__ import annotations

import http.client
import json
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from bench.report import Pair

BUDGET_MIB = 150.0  # issue 18: the server's peak memory during the 50 forges
WAIT_SECONDS = 300.0  # for the 50 forges: far more than they take; only a stuck run reaches it


def hwm_mib(status: str) -> float:
    """The peak resident set size (VmHWM) in MiB, from the text of /proc/PID/status."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"VmHWM in {unit!r}, not kB")
            return int(value) / 1024
    raise ValueError("no VmHWM line (not Linux, or the process is gone)")


class Tally:
    """Which apps' forges have completed, from the server's events; a failed forge or a foreign app is an error."""

    def __init__(self, apps: Iterable[str]) -> None:
        self.waiting = set(apps)
        self.completed: list[str] = []

    def see(self, event: dict) -> bool:
        """Count one event; True once every app has completed."""
        kind, app = event.get("type"), event.get("app")
        if kind in ("forge.completed", "forge.failed") and app not in self.waiting:
            raise SystemExit(f"bench: {kind} for {app!r}, which this round did not forge (or forged twice)")
        if kind == "forge.failed":
            raise SystemExit(f"bench: forge of {app} through norn serve failed: {event.get('payload')}")
        if kind == "forge.completed":
            self.waiting.discard(app)
            self.completed.append(app)
        return not self.waiting


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One `norn serve` process on localhost, its token, and a small client for it."""

    def __init__(self, norn: Path, env: dict[str, str], log: Path) -> None:
        self.token = secrets.token_urlsafe(32)
        self.port = free_port()
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(norn), "serve", "--port", str(self.port)], env={**env, "NORN_SERVE_TOKEN": self.token},
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )
        self._wait_healthy()

    def _wait_healthy(self, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: norn serve exited {self.process.returncode}; see {self.log}")
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"bench: norn serve did not answer /healthz within {seconds:.0f} s; see {self.log}")

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
            connection.request(method, path, body=data, headers=headers)
            answer = connection.getresponse()
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else {}
        finally:
            connection.close()

    def forge_all(self, apps: list[str]) -> float:
        """POST a forge of every app, then wait on one WebSocket for every forge.completed; milliseconds."""
        from websockets.sync.client import connect  # the serve extra's; the bench venv installs it

        headers = {"Authorization": f"Bearer {self.token}"}
        with connect(f"ws://127.0.0.1:{self.port}/v1/events", additional_headers=headers) as events:
            started = time.perf_counter()
            for app in apps:
                status, answer = self.request("POST", f"/v1/apps/{app}/forge", {})
                if status != 202:
                    raise SystemExit(f"bench: POST /v1/apps/{app}/forge answered {status}: {answer}")
            tally = Tally(apps)
            deadline = time.monotonic() + WAIT_SECONDS
            try:
                while not tally.see(json.loads(events.recv(timeout=max(0.0, deadline - time.monotonic())))):
                    pass
            except TimeoutError:
                raise SystemExit(f"bench: {len(tally.completed)} of {len(apps)} forges completed through norn serve "
                                 f"within {WAIT_SECONDS:.0f} s; see {self.log}") from None
            return (time.perf_counter() - started) * 1000

    def peak_mib(self) -> float:
        return hwm_mib(Path(f"/proc/{self.process.pid}/status").read_text())

    def stop(self) -> None:
        """SIGTERM, as Kubernetes stops it; nothing runs by now, so it exits at once."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def compare(bench, apps: list[str], processes: str, hyperfine: Callable[..., float], rounds: int = 2,
            start: Callable[..., Server] = Server) -> tuple[Pair, Pair]:
    """Time the 50 forges through norn serve against ``processes`` (fifty.sh's 50 processes at once),
    alternately, after a round that warms caches; and the server's peak memory in each round."""
    fifty = Pair(f"{len(apps)} apps forged through norn serve (POSTs, then the events) / {len(apps)} norn forge "
                 "processes at once", target="≤ 0.6x", limit=0.6, unit="s")
    memory = Pair(f"peak memory of norn serve during those {len(apps)} forges (VmHWM) / the budget",
                  target=f"≤ {BUDGET_MIB:.0f} MiB", limit=1.0, unit="MiB")
    norn = bench.norn
    for number in range(rounds + 1):
        sides = ["serve", "processes"] if number % 2 else ["processes", "serve"]
        for side in sides:
            bench.reset(apps)
            if side == "processes":
                took = hyperfine(processes, bench.env)
            else:
                server = start(norn, bench.env, bench.work / "serve.log")
                try:
                    took = server.forge_all(apps)
                    peak = server.peak_mib()
                finally:
                    server.stop()
                fifty.checks.append(bench.forged())
                if number:
                    memory.a.append(peak)
                    memory.b.append(BUDGET_MIB)
            if number:
                (fifty.a if side == "serve" else fifty.b).append(took)
    print(f"  {fifty.name}: {fifty.a} vs {fifty.b} ms; peak {memory.a} MiB", flush=True)
    return fifty, memory
