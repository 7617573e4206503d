"""The event sinks for ``--output``: NDJSON for programs, plain lines for logs, and the choice of
sink. Nothing below the CLI prints; the pipeline emits Events to a Sink, and the sink decides the
look. The live view (live_sink.py) is imported only for a terminal: rich costs start-up time a
pipe or a CI log need not pay (docs/performance.md)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any

from norn.events import RUNNING, SKIPPED, Event, Sink
from norn.output.text import elapsed, format_duration, lines_of, running_for


class JsonSink:
    """NDJSON for programs: one event per line and nothing else on the stream."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def emit(self, event: Event) -> None:
        self._stream.write(json.dumps(event.to_json()) + "\n")
        self._stream.flush()

    def close(self) -> None:
        pass


PROGRESS_SECONDS = 10.0  # the longest a CI log goes without a line while a step runs


class PlainSink:
    """One plain line per event for logs (CI): no colour, no cursor movement, and
    flushed per line so the log shows progress while the run is going. A step that
    runs long gets a line at least every PROGRESS_SECONDS (from a thread: the step
    itself may be silent), so a CI log shows the run is alive."""

    def __init__(self, stream: IO[str], clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        self._started: dict[str, datetime] = {}
        self._running: dict[tuple[str, str], tuple[str, float, str | None]] = {}  # (op, app) -> step, since, output
        self._last_line = clock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def emit(self, event: Event) -> None:
        head, *rest = self._describe(event)
        with self._lock:
            self._note_running(event)
            self._write(f"{event.operation} {event.app}: {head}\n" + "".join(f"  {line}\n" for line in rest))
        if self._running and self._ticker is None:
            self._ticker = threading.Thread(target=self._tick_until_closed, name="norn-progress", daemon=True)
            self._ticker.start()

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()

    def tick(self) -> None:
        """A progress line for each running step when the log has been quiet for PROGRESS_SECONDS."""
        with self._lock:
            now = self._clock()
            if not self._running or now - self._last_line < PROGRESS_SECONDS:
                return
            lines = []
            for (operation, app), (step, since, output) in self._running.items():
                news = lines_of(output)
                lines.append(f"{operation} {app}: {step} still running after {running_for(now - since)}"
                             + (f": {news[0]}" if news else "") + "\n")
            self._write("".join(lines))

    def _tick_until_closed(self) -> None:
        try:
            while not self._stop.wait(self._quiet_left()):
                self.tick()
        except OSError:
            pass  # the reader went away: the run goes on, and the main thread's next write finds out

    def _quiet_left(self) -> float:
        """Seconds until a running step is due a progress line."""
        if not self._running:
            return PROGRESS_SECONDS
        return max(0.05, self._last_line + PROGRESS_SECONDS - self._clock())

    def _write(self, text: str) -> None:
        """Write and flush; the caller holds the lock (the ticker writes too)."""
        self._stream.write(text)
        self._stream.flush()
        self._last_line = self._clock()

    def _note_running(self, event: Event) -> None:
        key = (event.operation, event.app)
        if event.kind == "step" and event.payload["status"] == RUNNING:
            step = event.payload["step"]
            since = self._running[key][1] if self._running.get(key, ("",))[0] == step else self._clock()
            self._running[key] = (step, since, event.payload.get("output"))
        else:
            self._running.pop(key, None)

    def _describe(self, event: Event) -> list[str]:
        """The event as lines: the first follows the 'forge myapp: ' prefix,
        the others (a multi-line output or error) are indented under it."""
        payload = event.payload
        if event.kind == "queued":
            self._started[event.app] = event.time
            return ["started"]
        if event.kind == "step":
            return self._step(payload)
        took = elapsed(self._started.pop(event.app, None), event.time)
        if event.kind == "completed":
            return [f"completed in {took}" if took else "completed"]
        # The failed step's line just showed the whole error: its first line is enough here.
        first = (lines_of(payload["error"]) or [""])[0]
        return [f"failed at {payload['step']}: {first}"]

    @staticmethod
    def _step(payload: dict[str, Any]) -> list[str]:
        status = payload["status"]
        line = f"{payload['step']} {status}"
        # A skip does no work, so its time would only be noise.
        if payload.get("durationMs") is not None and status != SKIPPED:
            line += f" in {format_duration(payload['durationMs'])}"
        output = lines_of(payload.get("output"))
        if not output:
            return [line]
        return [f"{line}: {output[0]}", *output[1:]]


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
    from rich.console import Console  # rich: only for a terminal (start-up time)

    from norn.output.live_sink import LiveSink

    return LiveSink(Console(file=out, force_terminal=True))
