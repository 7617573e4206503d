"""The event sinks: NDJSON for programs, plain lines for logs, the live view for a terminal."""

from __future__ import annotations

import io
import json
import re
import threading
import time

import pytest
from rich.console import Console

from norn.events import rfc3339
from norn.output.live_sink import LiveSink
from norn.output.sinks import JsonSink, PlainSink, make_sink
from norn.output.text import format_duration
from tests.unit.output_events import (
    FAILED_FORGE,
    FORGE,
    SGR,
    SPINNER_FRAMES,
    colour_codes,
    ev,
    make_console,
    run,
)


class FlushCounter(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushed_at: list[str] = []

    def flush(self) -> None:
        self.flushed_at.append(self.getvalue())


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rendered(view) -> str:
    console = make_console(terminal=False)
    console.print(view)
    return console.file.getvalue()


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True



# --- durations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0 ms"),
        (120, "120 ms"),
        (999, "999 ms"),
        (1000, "1.0 s"),
        (1400, "1.4 s"),
        (59_960, "1 min 0 s"),
        (125_000, "2 min 5 s"),
    ],
)
def test_format_duration(ms, text):
    assert format_duration(ms) == text


# --- PlainSink ---------------------------------------------------------------


def test_plain_sink_writes_one_line_per_event_for_a_forge():
    stream = io.StringIO()
    run(PlainSink(stream), FORGE)
    assert stream.getvalue().splitlines() == [
        "forge myapp: started",
        "forge myapp: create-namespace running",
        "forge myapp: create-namespace completed in 120 ms: created Namespace default",
        "forge myapp: create-deployment running",
        "forge myapp: create-deployment completed in 1.4 s: created Deployment default/myapp",
        "  created PVC default/myapp-data",
        "forge myapp: add-ingress-rule skipped: no hosts.internal",
        "forge myapp: completed in 1.6 s",
    ]


def test_plain_sink_reports_a_failed_forge_with_its_error():
    stream = io.StringIO()
    run(PlainSink(stream), FAILED_FORGE)
    assert stream.getvalue().splitlines() == [
        "forge myapp: started",
        "forge myapp: create-service running",
        "forge myapp: create-service failed in 30 ms: 409 Conflict",
        "  retry later",
        "forge myapp: failed at create-service: 409 Conflict",  # the detail was shown once, under the step
    ]


def test_plain_sink_prefixes_teardown_lines_with_the_operation():
    stream = io.StringIO()
    run(PlainSink(stream), [ev("teardown.queued", 0), ev("teardown.completed", 250)])
    assert stream.getvalue().splitlines() == ["teardown myapp: started", "teardown myapp: completed in 250 ms"]


def test_plain_sink_flushes_after_every_event():
    stream = FlushCounter()
    run(PlainSink(stream), FORGE[:3])
    assert [text.count("\n") for text in stream.flushed_at] == [1, 2, 3]


# --- JsonSink ----------------------------------------------------------------


def test_json_sink_writes_ndjson_in_the_contract_shape():
    stream = FlushCounter()
    run(JsonSink(stream), FAILED_FORGE)
    lines = stream.getvalue().splitlines()
    assert len(lines) == len(FAILED_FORGE) == len(stream.flushed_at)
    for line, event in zip(lines, FAILED_FORGE):
        data = json.loads(line)
        assert set(data) == {"type", "app", "time", "payload"}
        assert data["type"] == event.type
        assert data["app"] == "myapp"
        assert data["payload"] == event.payload
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data["time"])
        assert data["time"] == rfc3339(event.time)


# --- LiveSink ----------------------------------------------------------------


def test_live_sink_leaves_the_final_view_with_marks_outputs_durations_and_summary():
    console = make_console(terminal=False)
    run(LiveSink(console), FORGE)
    lines = console.file.getvalue().splitlines()
    text = "\n".join(lines)
    assert lines[0] == "Forging myapp"
    assert re.search(r"✓ create-namespace +created Namespace default +120 ms", text)
    assert re.search(r"✓ create-deployment +created Deployment default/myapp +1\.4 s", text)
    assert re.search(r"↷ add-ingress-rule +no hosts\.internal +2 ms", text)
    assert lines[-1] == "myapp forged in 1.6 s: 2 done, 1 skipped"
    # One line per step, plus the second output line indented under the first.
    first = next(line for line in lines if "created Deployment" in line)
    rest = next(line for line in lines if "created PVC" in line)
    assert rest.index("created PVC") == first.index("created Deployment")
    assert rest[: rest.index("created PVC")].strip() == ""
    assert len(lines) == 1 + 3 + 1 + 1


def test_live_sink_shows_a_failed_step_and_the_failure_in_red():
    console = make_console(terminal=False, colour=True)
    run(LiveSink(console), FAILED_FORGE)
    out = console.file.getvalue()
    plain = SGR.sub("", out)
    assert re.search(r"✗ create-service +409 Conflict +30 ms", plain)
    assert "forge of myapp failed at create-service: 409 Conflict" in plain
    assert re.search(r"\x1b\[[0-9;]*31m✗", out)
    assert re.search(r"\x1b\[[0-9;]*31mforge of myapp failed", out)


def test_live_sink_marks_completed_green_and_skipped_yellow():
    console = make_console(terminal=False, colour=True)
    run(LiveSink(console), FORGE)
    out = console.file.getvalue()
    assert re.search(r"\x1b\[32m✓", out)
    assert re.search(r"\x1b\[33m↷", out)


def test_live_sink_spins_while_a_step_runs_then_keeps_the_final_view():
    console = make_console(terminal=True)
    sink = LiveSink(console)
    try:
        for event in FORGE[:2]:
            sink.emit(event)
        assert re.search(f"[{SPINNER_FRAMES}] create-namespace", rendered(sink.view()))  # what the next redraw draws
        for event in FORGE[2:]:
            sink.emit(event)
    finally:
        sink.close()
    out = console.file.getvalue()
    # Not transient: after the last redraw comes the whole final view, then only
    # the cursor is shown again (no erasing).
    last_frame = out.rsplit("\x1b[2K", 1)[-1].removeprefix("\x1b[?25l")  # no redraw yet in a quick run
    assert last_frame.startswith("Forging myapp\n")
    assert last_frame.endswith("myapp forged in 1.6 s: 2 done, 1 skipped\n\x1b[?25h")
    assert "✓ create-namespace" in last_frame
    assert not re.search(f"[{SPINNER_FRAMES}]", last_frame)


def test_live_sink_animates_the_spinner_of_a_running_step():
    console = make_console(terminal=True)
    sink = LiveSink(console)
    try:
        sink.emit(FORGE[1])
        time.sleep(0.4)  # several 80 ms spinner frames, redrawn ten times a second
    finally:
        sink.close()
    frames = set(re.findall(f"([{SPINNER_FRAMES}]) create-namespace", console.file.getvalue()))
    assert len(frames) > 1


def test_live_sink_says_tearing_down_and_torn_down():
    console = make_console(terminal=False)
    events = [
        ev("teardown.queued", 0),
        ev("teardown.step", 5, step="delete-service", status="completed", output="deleted Service default/myapp", durationMs=40),
        ev("teardown.completed", 80),
    ]
    run(LiveSink(console), events)
    lines = console.file.getvalue().splitlines()
    assert lines[0] == "Tearing down myapp"
    assert lines[-1] == "myapp torn down in 80 ms: 1 done, 0 skipped"


def test_live_sink_shows_markup_like_output_literally():
    console = make_console(terminal=False)
    output = "spec.containers[0].image: Required value [bold]"
    run(LiveSink(console), [ev("forge.step", 5, step="create-deployment", status="failed", output=output, durationMs=3)])
    assert output in console.file.getvalue()


def test_live_sink_writes_nothing_before_any_event():
    console = make_console(terminal=True)
    LiveSink(console).close()
    assert console.file.getvalue() == ""


# --- make_sink -----------------------------------------------------------------


def test_make_sink_json_writes_ndjson_to_stdout(capsys):
    sink = make_sink("json")
    assert isinstance(sink, JsonSink)
    sink.emit(FORGE[0])
    sink.close()
    assert json.loads(capsys.readouterr().out)["type"] == "forge.queued"


def test_make_sink_text_on_a_pipe_is_plain(capsys):
    assert isinstance(make_sink("text", stream=io.StringIO()), PlainSink)
    sink = make_sink("text")  # stdout, which pytest has made a pipe
    run(sink, FORGE[:1])
    assert isinstance(sink, PlainSink)
    assert capsys.readouterr().out == "forge myapp: started\n"


def test_make_sink_text_on_a_terminal_is_live(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    assert isinstance(make_sink("text", stream=FakeTty()), LiveSink)


def test_make_sink_text_on_a_dumb_terminal_is_plain(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    assert isinstance(make_sink("text", stream=FakeTty()), PlainSink)


def test_make_sink_force_terminal_overrides_detection(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    assert isinstance(make_sink("text", stream=io.StringIO(), force_terminal=True), LiveSink)
    assert isinstance(make_sink("text", stream=FakeTty(), force_terminal=False), PlainSink)


def test_make_sink_live_draws_on_the_given_stream():
    stream = io.StringIO()
    run(make_sink("text", stream=stream, force_terminal=True), FORGE)
    assert "myapp forged in 1.6 s" in stream.getvalue()


@pytest.mark.parametrize(("no_color", "coloured"), [("1", False), (None, True)])
def test_make_sink_live_colours_unless_no_color(monkeypatch, no_color, coloured):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    if no_color:
        monkeypatch.setenv("NO_COLOR", no_color)
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    stream = io.StringIO()
    run(make_sink("text", stream=stream, force_terminal=True), FORGE)
    assert bool(colour_codes(stream.getvalue())) is coloured


def test_make_sink_rejects_an_unknown_format():
    with pytest.raises(ValueError, match="yaml"):
        make_sink("yaml")


# --- progress: a running step's time, a quiet log, Ctrl-C ------------------------


def test_the_live_view_ticks_a_running_steps_time_each_second():
    """For given clock values, the running step's row says how long it has run, in whole seconds;
    rich redraws the view ten times a second, so the shown time ticks every second."""
    clock = FakeClock(100.0)
    sink = LiveSink(make_console(terminal=False), clock=clock)
    sink.emit(FORGE[0])
    sink.emit(FORGE[1])  # create-namespace running, at 100.0
    shown = {}
    for now in (100.0, 100.9, 101.0, 103.5, 165.0):
        clock.now = now
        shown[now] = re.search(r"create-namespace +(.*?) *$", rendered(sink.view()), re.M).group(1)
    assert shown == {100.0: "0 s", 100.9: "0 s", 101.0: "1 s", 103.5: "3 s", 165.0: "1 min 5 s"}


def test_the_live_view_shows_the_time_of_any_running_step_beside_its_news():
    clock = FakeClock(0.0)
    sink = LiveSink(make_console(terminal=False), clock=clock)
    sink.emit(ev("forge.queued", 0))
    sink.emit(ev("forge.step", 1, step="wait-rollout", status="running"))
    clock.now = 4.2
    sink.emit(ev("forge.step", 2, step="wait-rollout", status="running", output="0/2 ready"))  # news keeps its start
    clock.now = 7.0
    assert re.search(r"wait-rollout +0/2 ready +7 s", rendered(sink.view()))


def test_the_live_view_is_drawn_only_by_richs_refresh_thread():
    """A Ctrl-C is raised in the main thread: were it to stop a frame half drawn there, the next frame
    would land under it (the header twice). So the main thread writes no frame; the final one comes
    from a thread of its own (close)."""
    writers = []

    class Recording(io.StringIO):
        def write(self, text: str) -> int:
            writers.append((threading.current_thread() is threading.main_thread(), text))
            return super().write(text)

    console = Console(file=Recording(), force_terminal=True, width=100, color_system=None)
    run(LiveSink(console), FORGE)
    assert "myapp forged in 1.6 s" in console.file.getvalue()
    assert not any("Forging" in text for in_main, text in writers if in_main)


def test_a_failures_detail_is_shown_once_in_the_live_view():
    console = make_console(terminal=False)
    run(LiveSink(console), FAILED_FORGE)
    assert console.file.getvalue().count("retry later") == 1


def test_a_quiet_log_gets_a_progress_line_every_ten_seconds_while_a_step_runs():
    """Not on a terminal: what is printed for given clock values (the sink's thread calls tick)."""
    clock = FakeClock(0.0)
    stream = io.StringIO()
    sink = PlainSink(stream, clock=clock)
    printed = []
    try:
        sink.emit(ev("forge.queued", 0))
        sink.emit(ev("forge.step", 1, step="wait-rollout", status="running"))
        for now in (5.0, 9.9, 10.0, 12.0, 21.9, 22.0, 32.0, 40.0, 60.0):
            clock.now = now
            if now == 12.0:
                sink.emit(ev("forge.step", 2, step="wait-rollout", status="running", output="1/2 ready\nmore"))
            if now == 40.0:
                sink.emit(ev("forge.step", 3, step="wait-rollout", status="completed", durationMs=40_000))
            before = len(stream.getvalue())
            sink.tick()
            printed.append((now, stream.getvalue()[before:]))
    finally:
        sink.close()
    assert printed == [
        (5.0, ""),
        (9.9, ""),
        (10.0, "forge myapp: wait-rollout still running after 10 s\n"),
        (12.0, ""),  # the step's news was a line at 12
        (21.9, ""),
        (22.0, "forge myapp: wait-rollout still running after 22 s: 1/2 ready\n"),
        (32.0, "forge myapp: wait-rollout still running after 32 s: 1/2 ready\n"),
        (40.0, ""),
        (60.0, ""),  # nothing runs
    ]
