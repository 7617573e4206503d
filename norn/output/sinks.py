"""The event sinks for ``--output``: NDJSON for programs, plain lines for logs, and the choice of
sink. Nothing below the CLI prints; the pipeline emits Events to a Sink, and the sink decides the
look. The live view (live_sink.py) is imported only for a terminal: rich costs start-up time a
pipe or a CI log need not pay (docs/performance.md)."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import IO, Any

from norn.events import SKIPPED, Event, Sink
from norn.output.text import elapsed, format_duration, lines_of


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
        took = elapsed(self._started.pop(event.app, None), event.time)
        if event.kind == "completed":
            return [f"completed in {took}" if took else "completed"]
        first, *rest = lines_of(payload["error"]) or [""]
        return [f"failed at {payload['step']}: {first}", *rest]

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
