"""The output layer: sinks turn events into lines, status views turn states into text."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from rich.console import Console

from norn.events import Event, now, rfc3339
from norn.output.render import (
    JsonSink,
    LiveSink,
    PlainSink,
    format_duration,
    make_sink,
    render_status,
    render_status_table,
    status_json,
    status_lines,
    status_table_lines,
)
from norn.state import ForgeState, ForgeStatus, StepRecord

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def ev(type_: str, ms: int, app: str = "myapp", **payload) -> Event:
    return Event(type_, app, payload, T0 + timedelta(milliseconds=ms))


FORGE = [
    ev("forge.queued", 0, app="myapp"),
    ev("forge.step", 10, step="create-namespace", status="running"),
    ev("forge.step", 130, step="create-namespace", status="completed", output="created Namespace default", durationMs=120),
    ev("forge.step", 140, step="create-deployment", status="running"),
    ev(
        "forge.step",
        1540,
        step="create-deployment",
        status="completed",
        output="created Deployment default/myapp\ncreated PVC default/myapp-data",
        durationMs=1400,
    ),
    ev("forge.step", 1550, step="add-ingress-rule", status="skipped", output="no hosts.internal", durationMs=2),
    ev("forge.completed", 1600),
]

FAILED_FORGE = [
    ev("forge.queued", 0, app="myapp"),
    ev("forge.step", 10, step="create-service", status="running"),
    ev("forge.step", 40, step="create-service", status="failed", output="409 Conflict\nretry later", durationMs=30),
    ev("forge.failed", 50, step="create-service", error="409 Conflict\nretry later"),
]

SGR = re.compile(r"\x1b\[([0-9;]*)m")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SPINNER_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def colour_codes(text: str) -> list[str]:
    """SGR parameters that set a foreground or background colour (not bold/dim)."""
    codes = []
    for match in SGR.finditer(text):
        for code in filter(None, match.group(1).split(";")):
            n = int(code)
            if 30 <= n <= 49 or 90 <= n <= 107:
                codes.append(code)
    return codes


def make_console(*, terminal: bool, colour: bool = False) -> Console:
    return Console(
        file=io.StringIO(), force_terminal=terminal, width=100, color_system="standard" if colour else None
    )


def run(sink, events) -> None:
    try:
        for event in events:
            sink.emit(event)
    finally:
        sink.close()


class FlushCounter(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushed_at: list[str] = []

    def flush(self) -> None:
        self.flushed_at.append(self.getvalue())


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def local_tz(monkeypatch):
    """Local time is UTC+05:30, so a test can tell local time from UTC."""
    monkeypatch.setenv("TZ", "XYZ-05:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


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
        "forge myapp: failed at create-service: 409 Conflict",
        "  retry later",
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
        assert re.search(f"[{SPINNER_FRAMES}] create-namespace", console.file.getvalue())
        for event in FORGE[2:]:
            sink.emit(event)
    finally:
        sink.close()
    out = console.file.getvalue()
    # Not transient: after the last redraw comes the whole final view, then only
    # the cursor is shown again (no erasing).
    last_frame = out.rsplit("\x1b[2K", 1)[1]
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


# --- NO_COLOR ------------------------------------------------------------------


def sample_state() -> ForgeState:
    started = now() - timedelta(minutes=3, seconds=20)
    return ForgeState(
        app="myapp",
        status=ForgeStatus.FORGE_FAILED,
        operation="forge",
        steps=[
            StepRecord("create-namespace", "completed", "created Namespace default", 120),
            StepRecord("add-ingress-rule", "skipped", "no hosts.internal", None),
            StepRecord("create-service", "failed", "409 Conflict [spec.ports: Invalid value]", 30),
        ],
        resources={
            "namespace": "default",
            "deployment": "myapp",
            "persistentVolumeClaims": ["myapp-data"],
            "service": "myapp",
            "ingressRule": {"hostname": "myapp.example.com", "service": "myapp", "configMap": "cloudflared"},
            "dnsRoute": {"hostname": "myapp.example.com", "tunnel": "home"},
            "cronJob": "myapp-backup",
            "keptVolumes": ["myapp-old"],
        },
        error="create-service failed: 409 Conflict",
        started_at=rfc3339(started),
        finished_at=rfc3339(started + timedelta(seconds=2)),
    )


def draw_everything(console: Console) -> None:
    run(LiveSink(console), FORGE + FAILED_FORGE)
    render_status(sample_state(), console)
    render_status_table([sample_state(), ForgeState(app="other", status=ForgeStatus.FORGED)], console)


@pytest.mark.parametrize("terminal", [True, False])
def test_no_color_leaves_out_colour_codes(monkeypatch, terminal):
    monkeypatch.setenv("NO_COLOR", "1")
    console = Console(file=io.StringIO(), force_terminal=terminal, width=100)
    draw_everything(console)
    out = console.file.getvalue()
    assert "✓ create-namespace" in out  # it did draw
    assert colour_codes(out) == []


def test_without_no_color_the_same_views_are_coloured(monkeypatch):
    """The control for the NO_COLOR test: the colour check does see colour."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    console = Console(file=io.StringIO(), force_terminal=True, width=100, color_system="standard")
    draw_everything(console)
    assert colour_codes(console.file.getvalue())


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


# --- status views --------------------------------------------------------------


def rendered(draw, *args, colour: bool = False) -> str:
    console = make_console(terminal=colour, colour=colour)
    draw(*args, console)
    return console.file.getvalue()


PLAIN = {render_status: status_lines, render_status_table: status_table_lines}


@pytest.fixture(params=["rich", "plain"])
def shown(request):
    """A status view as rich draws it for a terminal, or as plain lines for a pipe."""

    def show(draw, *args) -> str:
        if request.param == "plain":
            return "\n".join(PLAIN[draw](*args)) + "\n"
        return rendered(draw, *args)

    return show


def test_render_status_shows_the_run_the_steps_and_the_resources(local_tz, shown):
    out = shown(render_status, sample_state())
    assert re.search(r"App +myapp", out)
    assert re.search(r"Status +forge_failed", out)
    assert re.search(r"Last run +forge", out)
    assert re.search(r"Started +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(3 min ago\)", out)
    assert re.search(r"Finished +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(3 min ago\)", out)
    assert re.search(r"Error +create-service failed: 409 Conflict", out)
    assert re.search(r"create-namespace +✓ completed +120 ms +created Namespace default", out)
    assert re.search(r"add-ingress-rule +↷ skipped +no hosts\.internal", out)
    assert re.search(r"create-service +✗ failed +30 ms +409 Conflict \[spec\.ports: Invalid value\]", out)
    for label, value in [
        ("Namespace", "default"),
        ("Deployment", "myapp"),
        ("Volumes", "myapp-data"),
        ("Service", "myapp"),
        ("Ingress rule", "myapp.example.com → myapp (ConfigMap cloudflared)"),
        ("DNS route", "myapp.example.com → tunnel home"),
        ("CronJob", "myapp-backup"),
        ("Kept volumes", "myapp-old"),
    ]:
        assert re.search(rf"{label} +{re.escape(value)}", out), label


def test_render_status_shows_stored_times_in_local_time(local_tz, shown):
    state = ForgeState(app="myapp", started_at="2024-05-01T12:00:00.000Z", finished_at="2024-05-01T12:00:02.500Z")
    out = shown(render_status, state)
    assert re.search(r"Started +2024-05-01 17:30:00 \(\d+ days ago\)", out)
    assert re.search(r"Finished +2024-05-01 17:30:02 \(\d+ days ago\)", out)


@pytest.mark.parametrize("stored", ["yesterday", "2024-05-01T12:00:00"])
def test_render_status_shows_times_it_cannot_read_as_stored(stored, shown):
    """An unparseable or zone-less time is shown as it is, not guessed at."""
    out = shown(render_status, ForgeState(app="myapp", started_at=stored))
    assert re.search(rf"Started +{stored}\n", out)


def test_render_status_of_a_new_app_has_no_steps_or_resources(shown):
    out = shown(render_status, ForgeState(app="newapp"))
    assert re.search(r"Status +unforged", out)
    assert re.search(r"Last run +—", out)
    assert "Steps" not in out
    assert re.search(r"Resources\n +none", out)
    assert "Error" not in out


@pytest.mark.parametrize(
    ("status", "sgr"),
    [
        (ForgeStatus.FORGED, "32"),
        (ForgeStatus.FORGE_FAILED, "31"),
        (ForgeStatus.FORGING, "33"),
        (ForgeStatus.TEARING_DOWN, "33"),
        (ForgeStatus.UNFORGED, "2"),
    ],
)
def test_status_is_coloured_by_meaning(status, sgr):
    state = ForgeState(app="myapp", status=status)
    assert f"\x1b[{sgr}m{status}\x1b[0m" in rendered(render_status, state, colour=True)
    assert f"\x1b[{sgr}m{status}" in rendered(render_status_table, [state], colour=True)


def test_render_status_shows_the_error_in_red():
    out = rendered(render_status, sample_state(), colour=True)
    assert "\x1b[31mcreate-service failed: 409 Conflict" in out


def test_render_status_table_has_one_row_per_app(shown):
    failed = ForgeState(
        app="web",
        status=ForgeStatus.FORGE_FAILED,
        operation="teardown",
        resources={"namespace": "default", "deployment": "web"},
        error="delete-service: 500",
        finished_at=rfc3339(now() - timedelta(minutes=3, seconds=5)),
    )
    job = ForgeState(
        app="nightly",
        status=ForgeStatus.FORGED,
        operation="forge",
        resources={"namespace": "jobs", "cronJob": "nightly"},
        finished_at=rfc3339(now() - timedelta(hours=2, minutes=1)),
    )
    site = ForgeState(
        app="site",
        status=ForgeStatus.FORGING,
        operation="forge",
        resources={
            "namespace": "default",
            "deployment": "site",
            "service": "site",
            "ingressRule": {"hostname": "site.example.com", "service": "site", "configMap": "cloudflared"},
            "dnsRoute": {"hostname": "site.example.com", "tunnel": "home"},
        },
    )
    fresh = ForgeState(app="fresh")
    lines = shown(render_status_table, [failed, job, site, fresh]).splitlines()
    time_ = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    rows = [
        r"APP +STATUS +LAST RUN +FINISHED +RESOURCES +ERROR",
        rf"web +forge_failed +teardown +{time_} \(3 min ago\) +deploy +delete-",  # cut to fit 100 columns
        rf"nightly +forged +forge +{time_} \(2 h ago\) +cronjob",
        r"site +forging +forge +— +deploy, svc, rule, dns",
        r"fresh +unforged +— +— +—",
    ]
    matched = [next((i for i, line in enumerate(lines) if re.search(row, line)), None) for row in rows]
    assert None not in matched, list(zip(rows, matched))
    assert matched == sorted(matched)


def test_render_status_table_cuts_errors_to_their_first_line_and_the_width(shown):
    state = ForgeState(app="web", status=ForgeStatus.FORGE_FAILED, error="boom " + "x" * 200 + "\nsecond line")
    out = shown(render_status_table, [state])
    assert "boom xxx" in out
    assert "x" * 40 not in out
    assert "…" in out
    assert "second line" not in out


def test_render_status_table_summarises_volumes(shown):
    state = ForgeState(
        app="db", resources={"deployment": "db", "persistentVolumeClaims": ["a", "b"], "keptVolumes": ["c"]}
    )
    assert "deploy, 2 pvc, kept pvc" in shown(render_status_table, [state])


def test_render_status_table_without_apps_says_so(shown):
    assert shown(render_status_table, []) == "No apps forged yet.\n"


def test_status_json_is_the_contract_shape():
    state = sample_state()
    assert status_json(state) == state.to_status_json()
    assert status_json([state, ForgeState(app="b")]) == [state.to_status_json(), ForgeState(app="b").to_status_json()]


def test_plain_status_keeps_whole_lines_without_padding(local_tz):
    long = "created Deployment default/myapp " + "y" * 300
    state = sample_state()
    state.steps[0].output = long + "\nsecond line"
    lines = status_lines(state)
    assert all(line == line.rstrip() for line in lines)
    row = next(line for line in lines if "create-namespace" in line)
    assert row.endswith(long)  # never cut to a width
    follow = lines[lines.index(row) + 1]
    assert follow.strip() == "second line" and follow.index("second") == row.index("created")


def test_plain_status_table_lines_up_wide_characters():
    lines = status_table_lines([ForgeState(app="web", error="日本語のエラー"), ForgeState(app="other", error="plain")])
    header, first, second = lines
    assert first.index("日本") == header.index("ERROR")
    assert second.index("plain") == header.index("ERROR")


def test_plain_status_table_cuts_a_wide_error_to_40_columns():
    (_, row) = status_table_lines([ForgeState(app="web", error="錯" * 30)])
    error = row[row.index("錯") :]
    assert error == "錯" * 19 + "…"  # 38 columns and the ellipsis: a 20th would make 41
