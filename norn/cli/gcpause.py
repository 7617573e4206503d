"""Garbage collection for a short-lived command.

A norn command spends most of its time importing typer, pydantic and the
kubernetes client, and those imports allocate most of the objects the process
will ever hold, all kept to the end. Collecting while they are imported walks
an ever larger heap for nothing, and so does the interpreter's last collection
at exit: together about a sixth of a forge (docs/performance.md).

Only the norn process itself does this (``pause`` is called by the console
script): a test that runs a pipeline in its own process keeps its collector.
"""

from __future__ import annotations

import gc
from typing import Any

_in_command = False


def pause() -> None:
    """At start-up: no collection while the command imports what it needs."""
    global _in_command
    _in_command = True
    gc.disable()


def resume() -> None:
    """Before long work (a pipeline, which may poll or retry for minutes): what exists
    now lives to the end, so later collections skip it, and collection is back on."""
    if _in_command and not gc.isenabled():
        gc.freeze()
        gc.enable()


class ResumingSink:
    """Hands a run's events on; the first one (the pipeline's queued) ends start-up, so collection
    resumes there, after the imports and the connection and before steps that may run for minutes.
    The pipeline knows nothing of this: the garbage-collector policy is the CLI's alone."""

    def __init__(self, sink: Any) -> None:
        self._sink = sink
        self._started = False

    def emit(self, event: Any) -> None:
        if not self._started:
            self._started = True
            resume()
        self._sink.emit(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sink, name)


def at_exit() -> None:
    """Leaving: the exit frees everything at once, so spare the last collection the walk."""
    if _in_command:
        gc.freeze()
