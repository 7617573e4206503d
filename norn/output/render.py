"""Output: how a run's events and an app's stored state look to a person or a program.

Nothing below the CLI prints; the pipeline emits Events to a Sink, and the sinks
here decide the look: a live view on a terminal, plain lines in a log, NDJSON for
programs. rich is imported inside the code that draws so that importing this
module stays cheap for ``norn status`` and ``--help``.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any
from unicodedata import east_asian_width

from norn.events import COMPLETED, FAILED, RUNNING, SKIPPED, Event, Sink, now
from norn.state import ForgeState, ForgeStatus

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.text import Text

# Mark and colour of a finished step, shared by the live view and `norn status`.
# A stored step can still say "running" when its run died, hence that entry.
_STEP_MARKS = {
    COMPLETED: ("✓", "green"),
    SKIPPED: ("↷", "yellow"),
    FAILED: ("✗", "red"),
    RUNNING: ("…", "yellow"),
}

_STATUS_STYLES = {
    ForgeStatus.FORGED: "green",
    ForgeStatus.FORGE_FAILED: "red",
    ForgeStatus.FORGING: "yellow",
    ForgeStatus.TEARING_DOWN: "yellow",
    ForgeStatus.UNFORGED: "dim",
}

_HEADERS = {"forge": "Forging", "teardown": "Tearing down"}
_DONE_VERBS = {"forge": "forged", "teardown": "torn down"}

_NO_VALUE = "—"


def format_duration(ms: int) -> str:
    """'120 ms', '1.4 s', '2 min 5 s': exact when short, readable when long."""
    if ms < 1000:
        return f"{ms} ms"
    seconds = round(ms / 1000, 1)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _elapsed(start: datetime | None, end: datetime) -> str | None:
    return None if start is None else format_duration(round((end - start).total_seconds() * 1000))


def _lines(text: str | None) -> list[str]:
    """A step's output or an error as lines, without the blank ends."""
    return (text or "").strip("\n").splitlines()


# --- sinks -------------------------------------------------------------------


class JsonSink:
    """NDJSON for programs: one event per line and nothing else on the stream."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def emit(self, event: Event) -> None:
        self._stream.write(json.dumps(event.to_json()) + "\n")
        self._stream.flush()

    def close(self) -> None:
        pass


class PlainSink:
    """One plain line per event for logs (CI): no colour, no cursor movement, and
    flushed per line so the log shows progress while the run is going."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._started: dict[str, datetime] = {}

    def emit(self, event: Event) -> None:
        head, *rest = self._describe(event)
        text = f"{event.operation} {event.app}: {head}\n" + "".join(f"  {line}\n" for line in rest)
        self._stream.write(text)
        self._stream.flush()

    def close(self) -> None:
        pass

    def _describe(self, event: Event) -> list[str]:
        """The event as lines: the first follows the 'forge myapp: ' prefix,
        the others (a multi-line output or error) are indented under it."""
        payload = event.payload
        if event.kind == "queued":
            self._started[event.app] = event.time
            return ["started"]
        if event.kind == "step":
            return self._step(payload)
        took = _elapsed(self._started.pop(event.app, None), event.time)
        if event.kind == "completed":
            return [f"completed in {took}" if took else "completed"]
        first, *rest = _lines(payload["error"]) or [""]
        return [f"failed at {payload['step']}: {first}", *rest]

    @staticmethod
    def _step(payload: dict[str, Any]) -> list[str]:
        status = payload["status"]
        line = f"{payload['step']} {status}"
        # A skip does no work, so its time would only be noise.
        if payload.get("durationMs") is not None and status != SKIPPED:
            line += f" in {format_duration(payload['durationMs'])}"
        output = _lines(payload.get("output"))
        if not output:
            return [line]
        return [f"{line}: {output[0]}", *output[1:]]


class Guarded:
    """A sink whose output errors never stop the run: once writing fails (``norn forge web | head -1``
    closed the pipe, the terminal went away, the disk is full) the rest of the output is dropped and
    the steps go on to the end the state records. Half a report beats half a teardown."""

    def __init__(self, sink: Sink, stream: IO[str]) -> None:
        self._sink = sink
        self._stream = stream
        self._lost = False

    def emit(self, event: Event) -> None:
        if not self._lost:
            self._guard(self._sink.emit, event)

    def close(self) -> None:
        if not self._lost:
            self._guard(self._sink.close)

    def _guard(self, call, *args) -> None:
        try:
            call(*args)
        except OSError:
            self._lost = True
            discard(self._stream)


def discard(stream: IO[str]) -> None:
    """Send what is still written to ``stream`` nowhere, its reader being gone: its descriptor now
    points at /dev/null, so later prints and the interpreter's last flush neither fail nor warn."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a file (a test's StringIO): nothing to redirect
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


@dataclass
class _StepRow:
    """One step's line in the live view."""

    name: str
    status: str = RUNNING
    output: str | None = None
    duration_ms: int | None = None

    def cells(self) -> tuple[RenderableType, ...]:
        from rich.spinner import Spinner
        from rich.text import Text

        if self.status == RUNNING:
            return (Spinner("dots", style="cyan"), Text(self.name), Text("\n".join(_lines(self.output))), Text(""))
        mark, colour = _STEP_MARKS[self.status]
        name_style = {SKIPPED: "dim", FAILED: "red"}.get(self.status, "")
        duration = format_duration(self.duration_ms) if self.duration_ms is not None else ""
        return (
            Text(mark, style=colour),
            Text(self.name, style=name_style),
            Text("\n".join(_lines(self.output))),
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

    def apply(self, event: Event) -> None:
        from rich.text import Text

        payload = event.payload
        if event.kind == "step":
            row = self._rows.setdefault(payload["step"], _StepRow(payload["step"]))
            row.status = payload["status"]
            row.output = payload.get("output")
            row.duration_ms = payload.get("durationMs")
        elif event.kind == "completed":
            took = _elapsed(self._started, event.time)
            statuses = [row.status for row in self._rows.values()]
            counts = f"{statuses.count(COMPLETED)} done, {statuses.count(SKIPPED)} skipped"
            timing = f" in {took}" if took else ""
            self._summary = Text(f"{self.app} {_DONE_VERBS[self.operation]}{timing}: {counts}", style="bold green")
        elif event.kind == "failed":
            failure = f"{self.operation} of {self.app} failed at {payload['step']}: {payload['error']}"
            self._summary = Text(failure, style="bold red")

    def renderable(self) -> RenderableType:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

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
                grid.add_row("", *row.cells())
            parts.append(grid)
        if self._summary is not None:
            parts.append(self._summary)
        return Group(*parts)


class LiveSink:
    """A live view for a terminal: spinners while steps run, marks when they end.

    Each emit hands rich a freshly built renderable, so its refresh thread never
    sees the rows change mid-draw. ``close`` leaves the final view on screen.
    """

    def __init__(self, console: Console) -> None:
        self._console = console
        self._runs: list[_Run] = []
        self._live: Live | None = None  # started by the first event

    def emit(self, event: Event) -> None:
        self._run_for(event).apply(event)
        view = self._view()
        if self._live is None:
            from rich.live import Live

            self._live = Live(view, console=self._console, refresh_per_second=10, transient=False)
            self._live.start(refresh=True)
        else:
            self._live.update(view, refresh=True)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

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

    def _view(self) -> RenderableType:
        from rich.console import Group

        return Group(*(run.renderable() for run in self._runs))


def make_sink(output: str, *, stream: IO[str] | None = None, force_terminal: bool | None = None) -> Sink:
    """The sink for ``--output``: 'json' gives NDJSON; 'text' gives the live view
    on an interactive terminal and plain lines anywhere else (pipes, CI, TERM=dumb)."""
    out = stream if stream is not None else sys.stdout
    if output == "json":
        return JsonSink(out)
    if output != "text":
        raise ValueError(f"unknown output format {output!r}")
    if force_terminal is None:
        force_terminal = out.isatty() and os.environ.get("TERM", "").lower() != "dumb"
    if not force_terminal:
        return PlainSink(out)
    from rich.console import Console

    return LiveSink(Console(file=out, force_terminal=True))


# --- status views ---------------------------------------------------------------


def status_json(states: ForgeState | list[ForgeState]) -> Any:
    """The JSON value of ``norn status --output json``: one object or a list."""
    if isinstance(states, ForgeState):
        return states.to_status_json()
    return [state.to_status_json() for state in states]


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return f"{days} day ago" if days == 1 else f"{days} days ago"


def _human_time(value: str | None) -> str:
    """A stored RFC 3339 time as local wall-clock time and how long ago, e.g.
    '2024-05-01 14:03:12 (3 min ago)'. Text that does not parse is shown as stored."""
    if not value:
        return _NO_VALUE
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return f"{moment.astimezone().strftime('%Y-%m-%d %H:%M:%S')} ({_ago((now() - moment).total_seconds())})"


def _status_text(status: ForgeStatus) -> Text:
    from rich.text import Text

    return Text(str(status), style=_STATUS_STYLES.get(status, ""))


def _resource_lines(resources: dict[str, Any]) -> list[tuple[str, str]]:
    """The resources norn recorded, as (label, value) pairs in reading order."""
    lines: list[tuple[str, str]] = []
    if resources.get("namespace"):
        lines.append(("Namespace", resources["namespace"]))
    if resources.get("deployment"):
        lines.append(("Deployment", resources["deployment"]))
    if resources.get("persistentVolumeClaims"):
        lines.append(("Volumes", ", ".join(resources["persistentVolumeClaims"])))
    if resources.get("service"):
        lines.append(("Service", resources["service"]))
    if rule := resources.get("ingressRule"):
        where = f" (ConfigMap {rule['configMap']})" if rule.get("configMap") else ""
        lines.append(("Ingress rule", f"{rule.get('hostname')} → {rule.get('service')}{where}"))
    if route := resources.get("dnsRoute"):
        lines.append(("DNS route", f"{route.get('hostname')} → tunnel {route.get('tunnel')}"))
    if resources.get("cronJob"):
        lines.append(("CronJob", resources["cronJob"]))
    if resources.get("keptVolumes"):
        lines.append(("Kept volumes", ", ".join(resources["keptVolumes"])))
    if resources.get("cloudflaredRestartPending"):
        lines.append(("cloudflared", "restart pending (tunnel config changed since)"))
    return lines


# Short names for the status table's RESOURCES column, in reading order.
_RESOURCE_ABBREVIATIONS = (
    ("deployment", "deploy"),
    ("persistentVolumeClaims", "pvc"),
    ("service", "svc"),
    ("ingressRule", "rule"),
    ("dnsRoute", "dns"),
    ("cronJob", "cronjob"),
    ("keptVolumes", "kept pvc"),
)


def _resource_summary(resources: dict[str, Any]) -> str:
    """'deploy, 2 pvc, svc, rule, dns': what exists, at a glance."""
    parts = []
    for key, short in _RESOURCE_ABBREVIATIONS:
        value = resources.get(key)
        if value:
            many = isinstance(value, list) and len(value) > 1
            parts.append(f"{len(value)} {short}" if many else short)
    return ", ".join(parts) or _NO_VALUE


def render_status(state: ForgeState, console: Console) -> None:
    """``norn status APP``: where the app stands, its last run step by step, and
    what norn has created for it."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("App", Text(state.app))
    facts.add_row("Status", _status_text(state.status))
    facts.add_row("Last run", Text(state.operation or _NO_VALUE))
    facts.add_row("Started", Text(_human_time(state.started_at)))
    facts.add_row("Finished", Text(_human_time(state.finished_at)))
    if state.error:
        facts.add_row("Error", Text(state.error, style="red"))
    console.print(facts)

    if state.steps:
        steps = Table(box=box.SIMPLE_HEAD, title="Steps", title_justify="left", title_style="bold")
        steps.add_column("Step")
        steps.add_column("Status")
        steps.add_column("Duration", justify="right")
        steps.add_column("Output", style="dim", overflow="fold")
        for record in state.steps:
            mark, colour = _STEP_MARKS.get(record.status, ("?", ""))
            duration = format_duration(record.duration_ms) if record.duration_ms is not None else ""
            steps.add_row(
                Text(record.step), Text(f"{mark} {record.status}", style=colour), duration, Text(record.output or "")
            )
        console.print(steps)

    console.print(Text("Resources", style="bold"))
    lines = _resource_lines(state.resources)
    if not lines:
        console.print("  none")
        return
    resources = Table.grid(padding=(0, 2))
    resources.add_column(style="dim")
    resources.add_column()
    for label, value in lines:
        resources.add_row(f"  {label}", Text(value))
    console.print(resources)


def _cells(text: str) -> int:
    """Terminal columns of a line: East Asian wide characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * (width - _cells(text))
    return fill + text if right else text + fill


def _grid(rows: list[tuple[str, ...]], *, indent: str = "", right: frozenset[int] = frozenset()) -> list[str]:
    """Rows as lines, columns two spaces apart as kubectl lays them out. A cell of
    several lines continues under its column; trailing spaces are dropped."""
    split = [[cell.splitlines() or [""] for cell in row] for row in rows]
    widths = [max(_cells(line) for row in split for line in row[i]) for i in range(len(rows[0]))]
    lines = []
    for row in split:
        for depth in range(max(len(cell) for cell in row)):
            parts = [_pad(cell[depth] if depth < len(cell) else "", width, i in right) for i, (cell, width) in enumerate(zip(row, widths))]
            lines.append((indent + "  ".join(parts)).rstrip())
    return lines


def status_lines(state: ForgeState) -> list[str]:
    """``norn status APP`` for a pipe or a CI log: the layout of render_status as
    plain lines, without rich (whose import and measuring cost more than the rest
    of the command) and without padding to a width no log has."""
    facts = [
        ("App", state.app),
        ("Status", str(state.status)),
        ("Last run", state.operation or _NO_VALUE),
        ("Started", _human_time(state.started_at)),
        ("Finished", _human_time(state.finished_at)),
    ]
    if state.error:
        facts.append(("Error", state.error))
    lines = _grid(facts)
    if state.steps:
        steps = [("Step", "Status", "Duration", "Output")]
        for record in state.steps:
            mark = _STEP_MARKS.get(record.status, ("?", ""))[0]
            duration = format_duration(record.duration_ms) if record.duration_ms is not None else ""
            steps.append((record.step, f"{mark} {record.status}", duration, record.output or ""))
        lines += ["", "Steps", *_grid(steps, indent="  ", right=frozenset({2})), ""]
    lines.append("Resources")
    resources = _resource_lines(state.resources)
    lines += _grid(resources, indent="  ") if resources else ["  none"]
    return lines


def status_table_lines(states: list[ForgeState]) -> list[str]:
    """``norn status`` for a pipe or a CI log: one whole line per app (ERROR cut
    at 40 columns), as render_status_table lays it out on a terminal."""
    if not states:
        return ["No apps forged yet."]
    rows = [_TABLE_HEADERS]
    for state in states:
        error = _lines(state.error)
        rows.append(
            (
                state.app,
                str(state.status),
                state.operation or _NO_VALUE,
                _human_time(state.finished_at),
                _resource_summary(state.resources),
                _cut(error[0], _ERROR_MAX_WIDTH) if error else "",
            )
        )
    return _grid(rows)


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, an ellipsis marking a cut."""
    if _cells(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        used += _cells(char)
        if used > width - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


_TABLE_HEADERS = ("APP", "STATUS", "LAST RUN", "FINISHED", "RESOURCES", "ERROR")
_ERROR_MAX_WIDTH = 40


def render_status_table(states: list[ForgeState], console: Console) -> None:
    """``norn status``: one row per app, enough to see which needs attention.

    Laid out as rich's borderless table would be (columns two spaces apart, as
    kubectl does), but as padded lines of text: rich's Table measures and renders
    every cell, which made 1,000 apps take seconds. Each app keeps to one line:
    only ERROR narrows to fit (cut with an ellipsis, at most 40 columns).
    """
    from rich.cells import cell_len
    from rich.text import Text

    if not states:
        console.print("No apps forged yet.")
        return
    rows = []
    for state in states:
        error = _lines(state.error)
        cells = (
            state.app,
            str(state.status),
            state.operation or _NO_VALUE,
            _human_time(state.finished_at),
            _resource_summary(state.resources),
            error[0] if error else "",
        )
        rows.append((cells, ("bold", _STATUS_STYLES.get(state.status, ""), "", "", "", "red")))
    widths = [max(cell_len(cells[i]) for cells in (_TABLE_HEADERS, *(row for row, _ in rows))) for i in range(6)]
    room = console.width - sum(widths[:-1]) - 2 * (len(widths) - 1)
    widths[-1] = min(widths[-1], _ERROR_MAX_WIDTH)
    if room < widths[-1] and room < len(_TABLE_HEADERS[-1]):
        _render_narrow_status_table(states, console)  # too narrow even without ERROR: rich shares out the width
        return
    widths[-1] = min(widths[-1], room)

    table = Text(end="")
    for number, (cells, styles) in enumerate([(_TABLE_HEADERS, ("bold",) * 6), *rows]):
        if number:
            table.append("\n")
        for column, (cell, style, width) in enumerate(zip(cells, styles, widths)):
            text = Text(cell, style=style)
            text.truncate(width, overflow="ellipsis", pad=True)
            if column:
                table.append("  ")
            table.append_text(text)
    console.print(table, no_wrap=True, overflow="crop")


def _render_narrow_status_table(states: list[ForgeState], console: Console) -> None:
    """The status table when the terminal is too narrow for it: rich narrows every column."""
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, header_style="bold")
    for header in _TABLE_HEADERS[:-1]:
        table.add_column(header, style="bold" if header == "APP" else None, no_wrap=True)
    table.add_column(_TABLE_HEADERS[-1], style="red", max_width=_ERROR_MAX_WIDTH)
    for state in states:
        error = _lines(state.error)
        table.add_row(
            Text(state.app),
            _status_text(state.status),
            Text(state.operation or _NO_VALUE),
            Text(_human_time(state.finished_at)),
            Text(_resource_summary(state.resources)),
            Text(error[0] if error else "", no_wrap=True, overflow="ellipsis"),
        )
    console.print(table)
