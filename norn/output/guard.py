"""The output-error guard: a reader that went away (``norn forge web | head -1``) never stops a run."""

from __future__ import annotations

import os
from typing import IO

from norn.events import Event, Sink


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
