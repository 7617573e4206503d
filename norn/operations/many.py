"""Many apps in one run: each app's usual forge or teardown in its own thread, the tunnel shared.

Every app takes its own lock, loads its own state and runs its own pipeline, exactly as a run of
that app alone does; only the steps that touch the shared tunnel are gathered
(steps/tunnel_batch.py), so the run makes one config write and one cloudflared restart. One app's
failure does not stop the others.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from norn.errors import NornError, StepFailed, UsageError
from norn.events import Event, Sink
from norn.operations import lifecycle
from norn.steps.pipeline import Tools
from norn.steps.tunnel_batch import Gathering

if TYPE_CHECKING:
    from norn.infraspec.model import Infraspec
    from norn.kube.cluster import Cluster
    from norn.settings import Settings
    from norn.store import StateStore


INTERRUPTED = 130


@dataclass(frozen=True)
class AppResult:
    """One app's outcome: its exit code as a run of it alone would have it, and a line about it."""

    app: str
    code: int
    message: str
    failed_step: str | None = None


def worst(results: list[AppResult]) -> int:
    """The run's exit code: the worst of its apps' (1 a step failed, 2 bad input, 3 busy, 130 interrupted)."""
    return max((result.code for result in results), default=0)


class Problems(UsageError):
    """Bad input in a many-app run, one line per problem; nothing ran."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _line(error: UsageError) -> str:
    return f"{error.message} (hint: {error.hint})" if error.hint else error.message


def check_names(apps: list[str]) -> None:
    """Problems when an app name would be refused by the API server, or an app is given twice."""
    problems = _name_problems(apps)
    if problems:
        raise Problems(problems)


def _name_problems(apps: list[str]) -> list[str]:
    from norn.names import check_app_name

    problems = [f"{app} is given {apps.count(app)} times" for app in dict.fromkeys(apps) if apps.count(app) > 1]
    for app in dict.fromkeys(apps):
        try:
            check_app_name(app)
        except UsageError as exc:
            problems.append(_line(exc))
    return problems


def find_specs(apps: list[str], apps_dir: Path, cwd: Path) -> list["Infraspec"]:
    """Every app's infraspec, found and validated before anything runs; Problems lists all that are not."""
    from norn.infraspec.discovery import find_and_load
    from norn.infraspec.loading import check_forgeable

    problems, specs = _name_problems(apps), []
    for app in ([] if problems else apps):
        try:
            spec, path = find_and_load(app, spec_path=None, apps_dir=apps_dir, cwd=cwd)
            check_forgeable(spec, path)
            specs.append(spec)
        except UsageError as exc:
            problems.append(_line(exc))
    if problems:
        raise Problems(problems)
    return specs


def all_specs(apps_dir: Path) -> tuple[list["Infraspec"], list[str]]:
    """``--all``: the infraspec of every app folder under ``apps_dir``, and notes on those left out (functions)."""
    from norn.infraspec.discovery import SPEC_NAME
    from norn.infraspec.loading import load

    try:
        paths = sorted(apps_dir.glob(f"*/{SPEC_NAME}"))
    except OSError:
        paths = []
    if not paths:
        raise UsageError(f"--all: no infraspec found at {apps_dir}/*/{SPEC_NAME}",
                         hint="set NORN_APPS_DIR to the folder holding the app folders")
    problems, specs, notes, where = [], [], [], {}
    for path in paths:
        try:
            spec = load(path)
        except UsageError as exc:
            problems.append(_line(exc))
            continue
        if spec.app in where:
            problems.append(f"app {spec.app!r} is declared by more than one infraspec: {where[spec.app]}, {path}")
        elif spec.role == "function":
            notes.append(f"left out {spec.app} ({path}): role function, which forge does not provision")
        else:
            specs.append(spec)
        where.setdefault(spec.app, path)
    if problems:
        raise Problems(problems)
    return specs, notes


class Serialized:
    """A sink the apps' threads share: one event at a time, each whole."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            self._sink.emit(event)

    def close(self) -> None:
        with self._lock:
            self._sink.close()


def forge_many(
    specs: list["Infraspec"], settings: "Settings", store: "StateStore", sink: Sink,
    connect: Callable[[], "Cluster"], **options,
) -> list[AppResult]:
    """``lifecycle.forge`` of every spec (with ``options``), the tunnel's edits and restarts gathered."""
    by_app = {spec.app: spec for spec in specs}
    connect = one_connection(connect)
    return _run_all(list(by_app), settings.parallel, lambda app, tools, shared: lifecycle.forge(
        by_app[app], settings, store, shared, connect, tools=tools, **options), sink, "forged")


def teardown_many(
    apps: list[str], settings: "Settings", store: "StateStore", sink: Sink,
    connect: Callable[[], "Cluster"], **options,
) -> list[AppResult]:
    """``lifecycle.teardown`` of every app (with ``options``), the tunnel's edits and restarts gathered."""
    connect = one_connection(connect)
    return _run_all(apps, settings.parallel, lambda app, tools, shared: lifecycle.teardown(
        app, settings, store, shared, connect, tools=tools, **options), sink, "torn down")


def one_connection(connect: Callable[[], "Cluster"]) -> Callable[[], "Cluster"]:
    """``connect`` for every app of the run: the first app to connect reads the kubeconfig, the others get
    a sibling of its Cluster (one pool of connections, each namespace checked once; their own retry counts).
    A connect that fails is tried again by the next app, and fails it the same way."""
    lock = threading.Lock()
    first: list["Cluster"] = []

    def each() -> "Cluster":
        with lock:
            if not first:
                first.append(connect())
        return first[0].sibling()

    return each


POLL_SECONDS = 0.02  # how often the main thread looks whether every app has ended


def _run_all(apps: list[str], parallel: int, one: Callable, sink: Sink, done: str) -> list[AppResult]:
    coordinator = Gathering(apps, parallel)
    tools = Tools(tunnel=coordinator)
    shared = Serialized(sink)
    results: dict[str, AppResult] = {}
    bugs: list[BaseException] = []

    def work(app: str) -> None:
        try:
            with coordinator.slot():
                outcome = one(app, tools, shared)
            results[app] = AppResult(app, 0, done if outcome.ran else outcome.message)
        except StepFailed as exc:
            results[app] = AppResult(app, exc.exit_code, exc.error, exc.step)
        except NornError as exc:
            results[app] = AppResult(app, exc.exit_code, exc.message)
        except KeyboardInterrupt:
            results[app] = AppResult(app, INTERRUPTED, "rerun the same command to resume")
        except BaseException as exc:  # a bug: shown with its traceback once every app is done
            results[app] = AppResult(app, 1, f"norn failed: {exc!r}")
            bugs.append(exc)
        finally:
            coordinator.ended(app)
            ended.add(app)

    ended: set[str] = set()
    # Daemon threads: a second signal exits at once (cli.interrupts), without waiting for them.
    for app in apps:
        threading.Thread(target=work, args=(app,), name=f"norn:{app}", daemon=True).start()
    # Not Thread.join: a join interrupted by Ctrl-C can mark a thread that still runs as stopped (CPython's
    # bpo-45274 release of its lock), and the run would then report before that app ended.
    while len(ended) < len(apps):
        try:
            time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:  # signals reach the main thread only: the apps stop at their next point
            coordinator.stop()
    if bugs:
        raise bugs[0]
    return [results[app] for app in apps]
