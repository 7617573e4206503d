"""The live view of a forge or teardown on a terminal: spinners while steps run, marks when
they end. Imported only for a terminal (sinks.make_sink): rich costs start-up time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from norn.events import COMPLETED, FAILED, RUNNING, SKIPPED, Event
from norn.output.rows import STEP_MARKS
from norn.output.text import elapsed, format_duration, lines_of, running_for

_HEADERS = {"forge": "Forging", "teardown": "Tearing down"}
_DONE_VERBS = {"forge": "forged", "teardown": "torn down"}


@dataclass
class _StepRow:
    """One step's line in the live view."""

    name: str
    since: float  # the clock when it started running
    status: str = RUNNING
    output: str | None = None
    duration_ms: int | None = None
    # One spinner for the row's life: a new one each redraw would stay on its first frame.
    spinner: Spinner = field(default_factory=lambda: Spinner("dots", style="cyan"))

    def cells(self, now: float) -> tuple[RenderableType, ...]:
        if self.status == RUNNING:
            took = Text(running_for(now - self.since))
            return (self.spinner, Text(self.name), Text("\n".join(lines_of(self.output))), took)
        mark, colour = STEP_MARKS[self.status]
        name_style = {SKIPPED: "dim", FAILED: "red"}.get(self.status, "")
        duration = format_duration(self.duration_ms) if self.duration_ms is not None else ""
        return (
            Text(mark, style=colour),
            Text(self.name, style=name_style),
            Text("\n".join(lines_of(self.output))),
            Text(duration),
        )


class _Run:
    """One app's forge or teardown as the live view shows it: a header, a row per
    step in the order the steps started, and a summary once it is over."""

    def __init__(self, operation: str, app: str, started: datetime | None) -> None:
        self.operation = operation
        self.app = app
        self._started = started
        self._rows: dict[str, _StepRow] = {}
        self._summary: Text | None = None

    def apply(self, event: Event, now: float) -> None:
        payload = event.payload
        if event.kind == "step":
            row = self._rows.setdefault(payload["step"], _StepRow(payload["step"], now))
            row.status = payload["status"]
            row.output = payload.get("output")
            row.duration_ms = payload.get("durationMs")
        elif event.kind == "completed":
            took = elapsed(self._started, event.time)
            statuses = [row.status for row in self._rows.values()]
            counts = f"{statuses.count(COMPLETED)} done, {statuses.count(SKIPPED)} skipped"
            timing = f" in {took}" if took else ""
            self._summary = Text(f"{self.app} {_DONE_VERBS[self.operation]}{timing}: {counts}", style="bold green")
        elif event.kind == "failed":
            # The failed step's row shows the whole error: its first line is enough here.
            first = (lines_of(payload["error"]) or [""])[0]
            failure = f"{self.operation} of {self.app} failed at {payload['step']}: {first}"
            self._summary = Text(failure, style="bold red")

    def renderable(self, now: float) -> RenderableType:
        parts: list[RenderableType] = [Text(f"{_HEADERS[self.operation]} {self.app}", style="bold")]
        if self._rows:
            # Mark, name and duration keep their width; the output wraps in what is left.
            name_width = max(len(name) for name in self._rows)
            grid = Table.grid(padding=(0, 1), expand=True)
            grid.add_column(width=1)  # indents the steps under the header
            grid.add_column(width=1, no_wrap=True)
            grid.add_column(min_width=name_width, no_wrap=True)
            grid.add_column(style="dim", overflow="fold", ratio=1)
            grid.add_column(style="dim", justify="right", no_wrap=True, min_width=8)
            for row in self._rows.values():
                grid.add_row("", *row.cells(now))
            parts.append(grid)
        if self._summary is not None:
            parts.append(self._summary)
        return Group(*parts)


class LiveSink:
    """A live view for a terminal.

    Only rich's refresh thread draws it, ten times a second from ``view``, so a
    running step's time ticks each second; and a Ctrl-C, which Python raises in
    the main thread, never stops a frame half drawn (the next one would land
    under it, the header twice). The lock keeps a redraw from seeing the rows
    change mid-draw. ``close`` leaves the final view on screen.
    """

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self._console = console
        self._clock = clock
        self._runs: list[_Run] = []
        self._lock = threading.Lock()
        self._live: Live | None = None  # started by the first event

    def emit(self, event: Event) -> None:
        with self._lock:
            self._run_for(event).apply(event, self._clock())
        if self._live is None:
            self._live = Live(console=self._console, get_renderable=self.view, refresh_per_second=10, transient=False)
            self._live.start(refresh=False)

    def view(self) -> RenderableType:
        """The whole view as of now."""
        with self._lock:
            now = self._clock()
            return Group(*(run.renderable(now) for run in self._runs))

    def close(self) -> None:
        """Draw the final view, from a thread of its own: a Ctrl-C meanwhile waits for it to finish."""
        if self._live is None:
            return
        last = threading.Thread(target=self._live.stop, name="norn-live-stop")
        last.start()
        self._live = None
        try:
            last.join()
        except KeyboardInterrupt:
            last.join()
            raise

    def _run_for(self, event: Event) -> _Run:
        """The run an event belongs to; 'queued' always opens a new one."""
        if event.kind != "queued":
            for run in reversed(self._runs):
                if (run.operation, run.app) == (event.operation, event.app):
                    return run
        started = event.time if event.kind == "queued" else None
        run = _Run(event.operation, event.app, started)
        self._runs.append(run)
        return run
