"""The status views: one row model per view, drawn alike by the rich printer (a terminal) and
the plain printer (a pipe, a CI log)."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import pytest
from rich.console import Console

from norn.events import now, rfc3339
from norn.output import plain, rich_printer, rows
from norn.output.live_sink import LiveSink
from norn.output.rows import status_json
from norn.state import ForgeState, ForgeStatus, StepRecord
from tests.unit.output_events import (
    FAILED_FORGE,
    FORGE,
    colour_codes,
    make_console,
    run,
)


def render_status(state: ForgeState, console: Console) -> None:
    rich_printer.draw(rows.app_status(state), console)


def render_status_table(states: list[ForgeState], console: Console) -> None:
    rich_printer.draw(rows.status_table(states), console)


def status_lines(state: ForgeState) -> list[str]:
    return plain.lines(rows.app_status(state))


def status_table_lines(states: list[ForgeState]) -> list[str]:
    return plain.lines(rows.status_table(states))


@pytest.fixture
def local_tz(monkeypatch):
    """Local time is UTC+05:30, so a test can tell local time from UTC."""
    monkeypatch.setenv("TZ", "XYZ-05:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()



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


# --- status --live -------------------------------------------------------------


def live(lines=(), drift=()):
    from norn.operations.drift import Drift, Live, LiveObject

    objects = [LiveObject(label, text, label, text.split(":")[0], "present") for label, text in lines]
    return Live("web", objects, [Drift(what, fix, "Service", "web", "default") for what, fix in drift])


def test_live_status_lists_each_object_then_each_drift_with_its_fix():
    found = live(
        [("Deployment", "web: 2/2 ready"), ("Service", "web: gone")],
        [("Service default/web is gone", "run norn forge web --force to create it again")],
    )
    assert plain.lines(rows.live_status(found, title="web")) == [
        "web",
        "  Deployment  web: 2/2 ready",
        "  Service     web: gone",
        "Drift (1)",
        "  ! Service default/web is gone",
        "    fix: run norn forge web --force to create it again",
    ]


def test_live_status_without_objects_or_drift_says_so():
    assert plain.lines(rows.live_status(live())) == ["Live", "  nothing recorded", "No drift."]


# --- one model, two printers ---------------------------------------------------


def test_both_printers_draw_every_cell_of_the_same_table(local_tz):
    states = [sample_state(), ForgeState(app="other", status=ForgeStatus.FORGED, operation="forge")]
    view = rows.status_table(states)
    console = Console(file=io.StringIO(), width=200)
    rich_printer.draw(view, console)
    drawn, printed = console.file.getvalue(), "\n".join(plain.lines(view))
    for row in view.rows:
        for cell in row.cells():
            assert cell in drawn and cell in printed, cell


def test_the_row_models_and_the_plain_printer_never_import_rich():
    """A pipe pays for neither rich nor pydantic (docs/performance.md)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from norn.output import plain, rows\n"
        "from norn.state import ForgeState\n"
        "plain.lines(rows.app_status(ForgeState('web'))); plain.lines(rows.status_table([ForgeState('web')]))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'pydantic', 'kubernetes', 'yaml'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
