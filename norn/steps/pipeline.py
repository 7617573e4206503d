"""The runner: ordered steps, each skipped, run, completed or failed.

After every step the state is saved, so a killed run is resumed from what the
state records. Every observable thing leaves as an Event; nothing here prints.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Protocol

from norn import events
from norn.cloudflare.cloudflared import Cloudflared
from norn.errors import NornError, StepFailed
from norn.events import Event, Sink
from norn.resources import Resources
from norn.state import ForgeState, ForgeStatus, StepRecord
from norn.steps.waiting import Waiting

if TYPE_CHECKING:
    from norn.infraspec.model import Infraspec
    from norn.kube.cluster import Cluster
    from norn.settings import Settings
    from norn.store import StateStore


class Skip(Exception):
    """Raised by a step's run() when it finds, only by looking, that nothing is to be done."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unrecorded:
    """A real run records nothing: what a dry run's Recorder (kube.recording) notes is dropped."""

    def steps(self, operation: str, names: list[str]) -> None:
        pass

    def start(self, operation: str, name: str) -> None:
        pass

    def doing(self, line: str) -> ContextManager[None]:
        return nullcontext()

    def keep(self, what: str, why: str, line: str | None = None) -> None:
        pass


class Alone:
    """A run of one app: a shared tunnel edit or restart is carried out at once, for this app alone.

    A many-app run puts a gathering one in its place (steps/tunnel_batch.py), which carries out the
    edits of every app of the run in one write and their restarts in one.
    """

    def steps(self, app: str, names: list[str]) -> None:
        pass

    def passed(self, app: str, name: str) -> None:
        pass

    def gather(self, kind: str, ctx: "Context", item: Any, act: Callable[[list], list]) -> Any:
        """``act([(ctx, item)])``'s one result; an exception it returns is raised."""
        result = act([(ctx, item)])[0]
        if isinstance(result, BaseException):
            raise result
        return result


def open_cloudflare_api(base_url: str, token: str) -> Any:
    from norn.cloudflare.cfapi import (
        Api,  # the HTTP client is loaded only when a record is to be deleted
    )

    return Api(base_url, token)


@dataclass
class Tools:
    """The outside world besides the cluster, as steps reach it. A dry run passes recording ones."""

    cloudflared: Cloudflared = field(default_factory=Cloudflared)
    cloudflare_api: Callable[[str, str], Any] = open_cloudflare_api  # (base URL, token) -> an Api
    waiting: Any = field(default_factory=Waiting)  # how a step waits: polls, or (dry run) says it would
    recorder: Any = field(default_factory=Unrecorded)  # what writes mean and what is kept, for a plan
    tunnel: Any = field(default_factory=Alone)  # the shared tunnel's edits and restarts: at once, or gathered
    # True once no further step may start (norn serve shutting down): the run fails at the next step, resumable.
    stopped: Callable[[], bool] = lambda: False


@dataclass
class Context:
    """What steps work with. ``cluster`` is connected lazily: a fully skipped run never connects."""

    app: str
    settings: "Settings"
    state: ForgeState
    spec: "Infraspec | None" = None
    delete_volumes: bool = False
    repair: bool = False  # an update compares with the live objects, not with what norn last applied
    connect: Callable[[], "Cluster"] | None = None
    progress: Callable[[str], None] = field(default=lambda text: None, repr=False)  # a running step's news
    # Saves the state mid-step: what a step is about to create is recorded first, so a kill after the create
    # leaves it known to the rerun and to teardown.
    save: Callable[[], None] = field(default=lambda: None, repr=False)
    tools: Tools = field(default_factory=Tools, repr=False)
    _cluster: "Cluster | None" = field(default=None, repr=False)

    @property
    def resources(self) -> "Resources":
        return self.state.resources

    @property
    def namespace(self) -> str:
        return self.state.resources.namespace or self.settings.namespace

    def api_retries(self) -> int:
        """Transient API failures retried so far in this run (0 before connecting)."""
        return self._cluster.retries if self._cluster is not None else 0

    @property
    def cluster(self) -> "Cluster":
        if self._cluster is None:
            assert self.connect is not None, "no cluster connection configured"
            self._cluster = self.connect()
        return self._cluster


class Step(Protocol):
    name: str

    def skip_reason(self, ctx: Context) -> str | None:
        """Why this step has nothing to do, decided from the spec and the state alone."""

    def run(self, ctx: Context) -> str:
        """Do the work, record it in ctx.state.resources, and say what was done."""


STOPPED = "interrupted: norn serve stopped before this step"
OUTCOME = {"forge": ForgeStatus.FORGED, "teardown": ForgeStatus.UNFORGED}
IN_PROGRESS = {"forge": ForgeStatus.FORGING, "teardown": ForgeStatus.TEARING_DOWN}


def run(
    operation: str, steps: list[Step], ctx: Context, store: "StateStore", sink: Sink,
    *, on_completed: Callable[[ForgeState], None] | None = None, then: list[str] | None = None,
) -> None:
    """Run the steps in order; raise StepFailed (state saved as forge_failed) at the first failure.

    ``on_completed`` changes the state once every step is done, in the same save that records the outcome.
    ``then``: the steps another run of the same operation runs next (a force re-forge's), for the tunnel
    coordinator to wait for.
    """
    state = ctx.state
    emit = _emitter(operation, ctx.app, sink)
    emit("queued", {"app": ctx.app})
    state.move_to(IN_PROGRESS[operation])
    state.operation = operation
    state.steps = []
    state.error = None
    state.started_at = events.rfc3339(events.now())
    state.finished_at = None
    store.save(state)
    ctx.tools.recorder.steps(operation, [step.name for step in steps])
    ctx.tools.tunnel.steps(ctx.app, [step.name for step in steps] + (then or []))
    ctx.save = lambda: store.save(state)

    for step in steps:
        ctx.tools.recorder.start(operation, step.name)
        record = StepRecord(step.name, events.RUNNING)
        state.steps.append(record)
        if ctx.tools.stopped():  # as a step interrupted by a signal, but before it starts
            _fail(state, record, STOPPED, time.monotonic(), store)
            ctx.tools.tunnel.passed(ctx.app, step.name)
            emit("step", _step_payload(record))
            emit("failed", {"step": step.name, "error": STOPPED})
            raise StepFailed(step.name, STOPPED)
        reason = step.skip_reason(ctx)
        if reason is None:
            emit("step", {"step": step.name, "status": events.RUNNING})
            ctx.progress = lambda text, name=step.name: emit("step", {"step": name, "status": events.RUNNING, "output": text})
            store.save(state)
            started = time.monotonic()
            retries_before = ctx.api_retries()
            try:
                record.output = _with_retries(step.run(ctx), ctx.api_retries() - retries_before)
                record.status = events.COMPLETED
            except Skip as skip:
                record.status, reason = events.SKIPPED, skip.reason
            except (NornError, KeyboardInterrupt) as exc:
                error = exc.message if isinstance(exc, NornError) else "interrupted"
                if isinstance(exc, NornError) and exc.hint:
                    error = f"{error} (hint: {exc.hint})"
                _fail(state, record, error, started, store)
                ctx.tools.tunnel.passed(ctx.app, step.name)
                emit("step", _step_payload(record))
                emit("failed", {"step": step.name, "error": error})
                if isinstance(exc, KeyboardInterrupt):
                    raise
                raise StepFailed(step.name, error) from exc
            record.duration_ms = _elapsed_ms(started)
        if reason is not None:
            record.status, record.output = events.SKIPPED, reason
        ctx.tools.tunnel.passed(ctx.app, step.name)
        store.save(state)
        emit("step", _step_payload(record))

    if on_completed is not None:
        on_completed(state)
    state.move_to(OUTCOME[operation])
    state.finished_at = events.rfc3339(events.now())
    store.save(state)
    emit("completed", {})


def _with_retries(output: str, retries: int) -> str:
    if not retries:
        return output
    return f"{output} (after {retries} {'retry' if retries == 1 else 'retries'} of transient API errors)"


def _fail(state: ForgeState, record: StepRecord, error: str, started: float, store: "StateStore") -> None:
    record.status = events.FAILED
    record.output = error
    record.duration_ms = _elapsed_ms(started)
    state.error = f"{record.step}: {error}"
    state.move_to(ForgeStatus.FORGE_FAILED)
    state.finished_at = events.rfc3339(events.now())
    store.save(state)


def _step_payload(record: StepRecord) -> dict:
    payload: dict = {"step": record.step, "status": record.status}
    if record.output:
        payload["output"] = record.output
    if record.duration_ms is not None:
        payload["durationMs"] = record.duration_ms
    return payload


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _emitter(operation: str, app: str, sink: Sink) -> Callable[[str, dict], None]:
    def emit(kind: str, payload: dict) -> None:
        sink.emit(Event(f"{operation}.{kind}", app, payload))

    return emit
