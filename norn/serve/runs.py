"""The runs of one server: ids, the ordered queue with at most NORN_SERVE_WORKERS at work, each run's events.

A run is claimed for its app before it is accepted and keeps the claim until it ends, so two requests for
one app never both pass (the store's lock, held from accept to end, keeps CLIs out likewise). Finished runs
are kept for GET /v1/runs/{run}, the newest HISTORY of them.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
from collections import OrderedDict
from typing import Any, Callable

from norn.errors import Busy, NornError, StepFailed
from norn.events import Event

QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"
HISTORY = 1000  # finished runs kept for GET /v1/runs/{run}; the oldest is forgotten first
NOT_STARTED = "norn serve stopped before the run started; nothing changed"

log = logging.getLogger("norn.serve")

Work = Callable[[Any, Callable[[], bool]], object]  # (sink, stopped) -> the operation's outcome


class Run:
    """One accepted forge or teardown and every event it emitted so far."""

    def __init__(self, app: str, operation: str, work: Work, release: Callable[[], None]) -> None:
        self.id = secrets.token_hex(8)
        self.app, self.operation = app, operation
        self.status = QUEUED
        self.events: list[dict] = []
        self.work, self.release = work, release
        self.dropped_queued = False
        self.last: Event | None = None  # the completed or failed event, held until the app is free

    def document(self) -> dict:
        return {"run": self.id, "app": self.app, "operation": self.operation, "status": self.status,
                "events": list(self.events)}


class Runs:
    def __init__(self, workers: int, publish: Callable[[dict], None], history: int = HISTORY) -> None:
        self._publish = publish
        self._history = history
        self._lock = threading.Condition()
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._claimed: set[str] = set()  # apps with a run queued or at work, or being accepted
        self._active = 0
        self._queue: queue.Queue[Run] = queue.Queue()
        self._stopping = threading.Event()
        for number in range(workers):  # daemons: a step stuck past the shutdown's wait does not hold the exit
            threading.Thread(target=self._work, name=f"norn-serve-{number}", daemon=True).start()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def get(self, run_id: str) -> dict | None:
        with self._lock:
            run = self._runs.get(run_id)
            return run.document() if run else None

    def claim(self, app: str) -> None:
        """Hold ``app`` for a run about to be accepted; Busy while a run of this server holds it."""
        with self._lock:
            if app in self._claimed:
                raise Busy(f"{app}: operation already in progress (a run of this norn serve)",
                           hint="wait for it to finish: GET /v1/runs/{run} or the events tell when")
            self._claimed.add(app)

    def unclaim(self, app: str) -> None:
        with self._lock:
            self._claimed.discard(app)
            self._lock.notify_all()

    def accept(self, app: str, operation: str, work: Work, release: Callable[[], None]) -> Run:
        """Queue a run of a claimed app; its ``queued`` event is emitted now."""
        run = Run(app, operation, work, release)
        with self._lock:
            self._runs[run.id] = run
            self._active += 1
        self._emit(run, Event(f"{operation}.queued", app, {"app": app}))
        self._queue.put(run)
        return run

    def stop(self) -> None:
        """No run starts any more; one at work stops before its next step (Tools.stopped)."""
        self._stopping.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no run is queued or at work; False when ``timeout`` passed first."""
        with self._lock:
            return self._lock.wait_for(lambda: self._active == 0, timeout)

    def _emit(self, run: Run, event: Event) -> None:
        if event.type == f"{run.operation}.queued" and run.events and not run.dropped_queued:
            run.dropped_queued = True  # the pipeline's own: sent already when the run was accepted
            return
        if event.kind == "failed" or event.type == f"{run.operation}.completed":
            run.last = event  # sent once the app is free again, so a client may go on at once (_finish)
            return
        self._record(run, event)

    def _record(self, run: Run, event: Event) -> None:
        document = event.to_json()
        with self._lock:
            run.events.append(document)
        self._publish(document)

    def _work(self) -> None:
        while True:
            run = self._queue.get()
            try:
                self._execute(run)
            finally:
                self._finish(run)

    def _execute(self, run: Run) -> None:
        if self.stopping:
            return self._fail(run, NOT_STARTED)
        run.status = RUNNING
        try:
            run.work(_RunSink(self, run), self._stopping.is_set)
        except StepFailed:  # the pipeline emitted the failed step and the failed event
            pass
        except NornError as exc:  # before any step: the cluster unreachable, the namespace missing, ...
            self._fail(run, f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message)
        except Exception as exc:  # a bug: the run fails, the server goes on
            log.exception("run %s of %s failed", run.id, run.app)
            self._fail(run, f"norn failed: {exc!r}")
        if run.last is None:  # the operation found nothing to do after all: it ends as done
            run.last = Event(f"{run.operation}.completed", run.app, {})

    def _fail(self, run: Run, error: str) -> None:
        run.last = Event(f"{run.operation}.failed", run.app, {"step": None, "error": error})

    def _finish(self, run: Run) -> None:
        try:
            run.release()
        except Exception:  # a lock that cannot be freed cleanly expires or dies with the process
            log.exception("freeing the lock of %s", run.app)
        last = run.last or Event(f"{run.operation}.failed", run.app, {"step": None, "error": "norn failed"})
        with self._lock:
            self._claimed.discard(run.app)
            run.status = FAILED if last.kind == "failed" else COMPLETED
        self._record(run, last)
        with self._lock:
            self._active -= 1
            finished = [key for key, kept in self._runs.items() if kept.status in (COMPLETED, FAILED)]
            for key in finished[: max(0, len(finished) - self._history)]:
                del self._runs[key]
            self._lock.notify_all()


class _RunSink:
    """The events of one run: kept with the run and published to the WebSocket clients."""

    def __init__(self, runs: Runs, run: Run) -> None:
        self._runs, self._run = runs, run

    def emit(self, event: Event) -> None:
        self._runs._emit(self._run, event)

    def close(self) -> None:
        pass
