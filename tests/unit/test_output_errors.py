"""guard.Guarded: an output that fails (a closed pipe) never stops a run; the rest is dropped."""

from __future__ import annotations

import os

from norn.events import Event
from norn.output.guard import Guarded
from norn.output.sinks import PlainSink


class Counting(PlainSink):
    def __init__(self, stream) -> None:
        super().__init__(stream)
        self.calls = 0

    def emit(self, event: Event) -> None:
        self.calls += 1
        super().emit(event)


def test_a_closed_pipe_drops_the_output_and_never_raises():
    read, write = os.pipe()
    os.close(read)  # the reader has gone, as after `| head -1`
    stream = os.fdopen(write, "w")
    inner = Counting(stream)
    sink = Guarded(inner, stream)
    for _ in range(3):
        sink.emit(Event("forge.queued", "web", {"app": "web"}))
    sink.close()
    assert inner.calls == 1  # the first write failed; the rest were not attempted
    stream.write("later output\n")
    stream.flush()  # the descriptor now points at /dev/null: no BrokenPipeError at exit either
    stream.close()
