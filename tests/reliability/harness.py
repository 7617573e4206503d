"""What the reliability suite shares: norn runs (killable processes and in-process
runs), a gate that keeps requests from reaching the stand-in server, cluster
snapshots for "equals an uninterrupted run", and waiting on conditions.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.kubeapi.server import DEFAULT_CLOUDFLARED_CONFIG, RESOURCES, KubeAPI
from tests.reliability import figures

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
SERVER_ASSIGNED = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")
WAIT = 90.0  # seconds to wait for any condition: generous, for a loaded 2-core machine

FORGE = ("forge", "web", "--output", "json")
TEARDOWN = ("teardown", "web", "--yes", "--delete-volumes", "--output", "json")


# --- waiting --------------------------------------------------------------------


def wait_until(condition: Callable[[], Any], what: str, *, timeout: float = WAIT, process: "Process | None" = None) -> None:
    """Poll ``condition``; fail naming ``what`` on timeout, or at once if ``process`` ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.popen.poll() is not None:
            raise AssertionError(f"norn exited {process.popen.returncode} before {what}:\n{process.output()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.01)


def quiesce(server: KubeAPI, timeout: float = WAIT) -> None:
    """Wait until the server has answered (or dropped) every request it logged: nothing lands late."""
    wait_until(
        lambda: all(r.status is not None or r.dropped for r in server.requests),
        "the server to finish the requests it holds",
        timeout=timeout,
    )


# --- norn runs --------------------------------------------------------------------


@dataclass
class Run:
    """One finished norn run: exit code, output, and the traceback if an exception escaped."""

    code: int
    stdout: str
    stderr: str
    traceback: str | None = None

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def steps(self) -> dict[str, dict]:
        """step -> the payload of its last event."""
        return {e["payload"]["step"]: e["payload"] for e in self.events() if e["type"].endswith(".step")}

    def failed(self) -> dict | None:
        return next((e["payload"] for e in self.events() if e["type"].endswith(".failed")), None)

    def explain(self) -> str:
        return f"exit {self.code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}\n{self.traceback or ''}"


class Process:
    """A norn process in its own session, so a kill takes its cloudflared child too."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, logs: Path) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.out_path, self.err_path = logs / "stdout", logs / "stderr"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(
                argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
            )

    def kill(self) -> None:
        """kill -9 the whole process group, and reap the norn process."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=WAIT)

    def wait(self, timeout: float = WAIT) -> Run:
        code = self.popen.wait(timeout=timeout)
        return Run(code, self.out_path.read_text(), self.err_path.read_text())

    def output(self) -> str:
        return f"stdout:\n{self.out_path.read_text()}\nstderr:\n{self.err_path.read_text()}"


class Norn:
    """Runs norn against the test's stand-ins: as a process to kill, or in-process (fast) for the matrix.

    Both see the same environment: KUBECONFIG and PATH from the stand-in fixtures,
    NORN_STATE_DIR and NORN_APPS_DIR under the test's folder.
    """

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.state_dir = tmp_path / "state"
        self.apps_dir = tmp_path / "apps"
        self.apps_dir.mkdir(parents=True, exist_ok=True)
        self.state_cluster: KubeAPI | None = None  # set when NORN_STATE_BACKEND=kubernetes: the state is a Secret
        self._runs = 0

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(NORN_STATE_DIR=str(self.state_dir), NORN_APPS_DIR=str(self.apps_dir), **extra)
        env.pop("NO_COLOR", None)
        return env

    def start(self, *args: str, **extra_env: str) -> Process:
        self._runs += 1
        argv = [sys.executable, "-m", "norn", *args]
        return Process(argv, self.env(**extra_env), self.root, self.root / "runs" / str(self._runs))

    def __call__(self, *args: str, **extra_env: str) -> Run:
        """Run ``norn ARGS`` in this process through Typer's CliRunner (no terminal, like CI)."""
        from typer.testing import CliRunner

        from norn.cli import app

        env = {"NORN_STATE_DIR": str(self.state_dir), "NORN_APPS_DIR": str(self.apps_dir), **extra_env}
        result = CliRunner().invoke(app, list(args), env=env)
        escaped = None
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            escaped = "".join(traceback.format_exception(*result.exc_info))
        return Run(result.exit_code, result.stdout, result.stderr, escaped)

    def write_spec(self, text: str, app: str = "web") -> Path:
        path = self.apps_dir / app / "infraspec.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def state_path(self, app: str = "web") -> Path:
        return self.state_dir / f"{app}.json"

    def state(self, app: str = "web") -> dict:
        """The app's state document: the local file, or the Secret when ``state_cluster`` is set."""
        if self.state_cluster is None:
            return json.loads(self.state_path(app).read_text())
        secret = self.state_cluster.get_object("secrets", "default", f"norn-state-{app}")
        if secret is None:
            raise FileNotFoundError(f"no Secret norn-state-{app}")
        return json.loads(base64.b64decode(secret["data"]["state.json"]))

    def step_in_flight(self, app: str = "web") -> tuple[str, str] | None:
        """(step, status) of the last step the state records, or None."""
        try:
            steps = self.state(app).get("steps") or []
        except (FileNotFoundError, ValueError):
            return None
        return (steps[-1]["step"], steps[-1]["status"]) if steps else None


# --- the gate -----------------------------------------------------------------------


class Gate:
    """Holds the requests that match, on a stand-in server whose handler calls ``server._serve(handler)``.

    By default a held request is held before the server reads it: it is not
    logged and not applied, for the server it never arrived. With
    ``answer=True`` the server applies it and its answer is held instead.
    ``release(drop=True)`` closes the held connections unanswered (the client is
    dead); ``release(drop=False)`` lets them through. Matches every request when
    no method or path is given.
    """

    def __init__(
        self, server: Any, method: str | None = None, path_contains: str | None = None, *, answer: bool = False
    ) -> None:
        self.server = server
        self.method = method
        self.path_contains = path_contains
        self.answer = answer
        self.caught = threading.Event()
        self.held = 0
        self._open = threading.Event()
        self._drop = True
        self._lock = threading.Lock()
        self._serve = server._serve  # the bound method; the handler calls server._serve(handler)

    def __enter__(self) -> "Gate":
        self.server._serve = self._gate  # an instance attribute shadows the method
        return self

    def __exit__(self, *exc: object) -> None:
        del self.server._serve
        self.release(drop=True)

    def matches(self, method: str, target: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_contains is None or self.path_contains in target
        )

    def _gate(self, handler: Any) -> None:
        if self._open.is_set() or not self.matches(handler.command, handler.path):
            self._serve(handler)
        elif self.answer:
            handler.wfile = _HeldWrites(handler.wfile, self, handler)
            self._serve(handler)  # applied; its first write of the answer waits for the release
        elif self._wait():
            handler.close_connection = True
        else:
            self._serve(handler)

    def _wait(self) -> bool:
        """Hold this request until released; True when it is to be dropped."""
        with self._lock:
            self.held += 1
        self.caught.set()
        self._open.wait()
        return self._drop

    def release(self, drop: bool) -> None:
        self._drop = drop
        self._open.set()


class _HeldWrites:
    """A handler's output stream whose first write waits at the gate (and is discarded on a drop)."""

    def __init__(self, stream: Any, gate: Gate, handler: Any) -> None:
        self._stream, self._gate, self._handler = stream, gate, handler
        self._decided: bool | None = None  # None: not yet at the gate; True: drop

    def write(self, data: bytes) -> int:
        if self._decided is None:
            self._decided = self._gate._wait()
        if self._decided:
            self._handler.close_connection = True
            return len(data)
        return self._stream.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


# --- the cluster, compared ---------------------------------------------------------------


def snapshot(server: KubeAPI) -> dict[str, dict]:
    """Every object in the stand-in cluster, without what the server assigns and the restart time.

    Two clusters with equal snapshots hold the same objects with the same
    content; the restartedAt value only says when cloudflared was last restarted.
    """
    result = {}
    for resource in RESOURCES:
        for obj in server.objects(resource.plural, resource.group):
            obj = copy.deepcopy(obj)
            meta = obj.get("metadata", {})
            for key in SERVER_ASSIGNED:
                meta.pop(key, None)
            obj.pop("status", None)
            spec = obj.get("spec")
            if isinstance(spec, dict):
                spec.pop("clusterIP", None)
                spec.pop("clusterIPs", None)
                annotations = ((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {}
                if RESTARTED_AT in annotations:
                    annotations[RESTARTED_AT] = "(set)"
            result[f"{resource.plural}/{meta.get('namespace', '')}/{meta['name']}"] = obj
    return result


def configmap_text(server: KubeAPI) -> str:
    return server.get_object("configmaps", "cloudflared", "cloudflared")["data"]["config.yaml"]


def ingress_rules(text: str) -> list[dict]:
    """The ingress rules of a cloudflared config; it must parse, and the catch-all must come last."""
    rules = yaml.safe_load(text)["ingress"]
    assert rules and "hostname" not in rules[-1], f"the catch-all rule is not last:\n{text}"
    assert all("hostname" in rule for rule in rules[:-1]), f"a catch-all rule before the last:\n{text}"
    return rules


def restart_stamp(server: KubeAPI) -> str | None:
    deployment = server.get_object("deployments", "cloudflared", "cloudflared", group="apps")
    annotations = deployment["spec"]["template"].get("metadata", {}).get("annotations") or {}
    return annotations.get(RESTARTED_AT)


def age_restart(server: KubeAPI, stamp: str = "2000-01-01T00:00:00Z") -> None:
    """Set cloudflared's restartedAt to an old time, so that the next restart visibly changes it."""
    deployment = server.get_object("deployments", "cloudflared", "cloudflared", group="apps")
    deployment["spec"]["template"].setdefault("metadata", {}).setdefault("annotations", {})[RESTARTED_AT] = stamp
    server.seed(deployment)


def fired(fault: Any) -> int:
    """How many requests an injected fault answered."""
    hits = max(0, fault.seen - fault.nth + 1)
    return hits if fault.times is None else min(hits, fault.times)


@dataclass(frozen=True)
class Reference:
    """The cluster after an uninterrupted forge of the web app, and after its uninterrupted teardown."""

    forged: dict
    forged_text: str
    torn_down: dict
    torn_down_text: str


def assert_converged(server: KubeAPI, reference: Reference, operation: str) -> None:
    """The cluster equals the one an uninterrupted ``operation`` leaves: same objects, same config text."""
    assert_same_objects(server, reference.forged if operation == "forge" else reference.torn_down, operation)
    text = configmap_text(server)
    hostnames = [rule.get("hostname") for rule in ingress_rules(text)]
    assert hostnames.count("web.example.com") == (1 if operation == "forge" else 0), text
    if operation == "forge":
        assert text == reference.forged_text
    else:
        assert text == DEFAULT_CLOUDFLARED_CONFIG  # byte-identical to the start


def assert_same_objects(server: KubeAPI, expected: dict, operation: str) -> None:
    """The cluster holds the objects of ``expected`` (a snapshot), with the same content; state objects aside."""
    actual = {key: obj for key, obj in snapshot(server).items() if not _state_backend_object(key)}
    lost, extra = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
    figures.count("objects_lost", len(lost))
    figures.count("objects_extra", len(extra))
    assert not lost, f"objects lost: {lost}"
    assert not extra, f"objects left over: {extra}"
    different = [key for key in expected if expected[key] != actual[key]]
    assert not different, f"objects that differ from an uninterrupted {operation}: {different}"


def app_requests(server: KubeAPI) -> list:
    """The server's log but for the kubernetes state backend's own requests (its state Secret, its lock Lease).

    norn never writes an app's Secret (a Deployment only names ``<app>-secrets``): every Secret request is the state's.
    """
    return [r for r in server.requests if "/secrets" not in r.path and "/apis/coordination.k8s.io/" not in r.path]


def _state_backend_object(key: str) -> bool:
    """The kubernetes state backend's own objects: the app's state Secret and its lock Lease."""
    kind, _namespace, name = key.split("/", 2)
    return (kind == "secrets" and name.startswith("norn-state-")) or (kind == "leases" and name.startswith("norn-lock-"))


def undisturbed(tmp: Path, runs: list[tuple[str, tuple[str, ...]]]) -> list[tuple[dict, str, dict]]:
    """Real norn processes, one after another and undisturbed, on a fresh stand-in cluster (cloudflared deployed).

    Each run writes its infraspec text, then runs its arguments; returns the snapshot, the
    config text and the app's state after each: what a killed and rerun sequence must equal.
    """
    from tests.kubeapi import seed_cloudflared
    from tests.kubeapi.fixtures import BIN_DIR

    runner, after = Norn(tmp), []
    env = {
        "PATH": os.pathsep.join([str(BIN_DIR), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "CLOUDFLARED_STANDIN_STATE": str(tmp / "cloudflared-state.json"),
        "CLOUDFLARED_STANDIN_LOG": str(tmp / "cloudflared-calls.jsonl"),
    }
    with KubeAPI() as server:
        seed_cloudflared(server)
        env["KUBECONFIG"] = str(server.write_kubeconfig(tmp / "kubeconfig"))
        for text, args in runs:
            runner.write_spec(text)
            process = runner.start(*args, **env)
            run = process.wait(timeout=120)
            assert run.code == 0, run.explain()
            after.append((snapshot(server), configmap_text(server), runner.state()))
    return after


# --- a kill at a crash point --------------------------------------------------------------

HOLD = 600.0  # seconds the server holds a request; the kill comes long before


@dataclass(frozen=True)
class Point:
    """A crash point: one request of ``step`` (or, with no method, its cloudflared call)."""

    step: str
    request: str  # how the docs and test ids name it
    method: str | None = None
    path: str | None = None
    applied: Callable[[KubeAPI], bool] | None = None  # whether it took effect; None: a read, it applies nothing
    api: str = "kubernetes"  # or cloudflare: which stand-in answers it
    operation: str = "forge"  # forge | teardown: the run it is a point of

    @property
    def moments(self) -> list[str]:
        if self.api == "cloudflare":  # the stand-in applies a request as it reads it: no "held, not applied"
            return ["before", "applied"] if self.method == "DELETE" else ["before"]
        return ["before", "held", "applied"] if self.applied or self.method is None else ["before", "held"]


def kill_at_request(norn: Norn, cluster: KubeAPI, point: Point, moment: str, args: tuple[str, ...]) -> None:
    """Start ``norn ARGS`` and kill -9 it at ``point`` of the Kubernetes API, at ``moment``."""
    if moment == "before":
        with Gate(cluster, point.method, point.path) as gate:
            process = norn.start(*args)
            wait_until(gate.caught.is_set, f"{point.request} to reach the gate", process=process)
            process.kill()
        assert cluster.count(point.method, point.path) == 0  # it never reached the server
        return
    if moment == "held":
        cluster.inject(point.method, point.path, delay=HOLD, drop=True)  # held, then never applied
        process = norn.start(*args)
        wait_until(lambda: cluster.count(point.method, point.path) > 0, f"the server to hold {point.request}",
                   process=process)
        process.kill()
        if point.applied is not None:
            assert not point.applied(cluster)
    else:
        cluster.inject(point.method, point.path, hold=HOLD)  # applied, the answer held back
        process = norn.start(*args)
        wait_until(lambda: point.applied(cluster), f"the server to apply {point.request}", process=process)
        process.kill()
    cluster.clear_faults()


def kill_at_cloudflare_api(norn: Norn, cfapi: Any, point: Point, moment: str, args: tuple[str, ...],
                           record: str) -> None:
    """Kill -9 ``norn ARGS`` at ``point`` of the Cloudflare API; its DELETE deletes the CNAME ``record``."""
    with Gate(cfapi, point.method, point.path, answer=moment == "applied") as gate:
        process = norn.start(*args)
        wait_until(gate.caught.is_set, f"{point.request} to reach the gate", process=process)
        process.kill()
    logged = [r for r in cfapi.requests if gate.matches(r.method, r.path + ("?" if r.query else ""))]
    if moment == "before":
        assert logged == []  # it never reached the server
    else:
        assert len(logged) == 1 and cfapi.records(record) == []  # applied, never answered


def kill_at_cloudflared(norn: Norn, cloudflared_bin: Any, moment: str, args: tuple[str, ...], step: str,
                        hostname: str) -> None:
    """Kill -9 ``norn ARGS`` around its ``cloudflared tunnel route dns HOSTNAME`` in ``step``."""
    if moment == "before":
        cloudflared_bin.set_mode("hang")  # should it start before the kill lands, it does nothing
        process = norn.start(*args)
        wait_until(lambda: norn.step_in_flight() == (step, "running"),
                   f"the state to record {step} as running", process=process)
        process.kill()
        assert hostname not in cloudflared_bin.routes()
    elif moment == "held":
        cloudflared_bin.set_mode("hang")
        process = norn.start(*args)
        asked = lambda: any("route" in call and "dns" in call and call[-1] == hostname  # noqa: E731
                            for call in cloudflared_bin.calls())
        wait_until(asked, "cloudflared to be asked for the route", process=process)  # not its ingress validate
        process.kill()
        assert hostname not in cloudflared_bin.routes()
    else:
        cloudflared_bin.set_mode("hang-after-route")
        process = norn.start(*args)
        wait_until(lambda: hostname in cloudflared_bin.routes(), "cloudflared to add the route", process=process)
        process.kill()
    cloudflared_bin.set_mode("ok")
