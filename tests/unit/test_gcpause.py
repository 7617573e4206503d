"""The collector in a norn command: off while it imports, back on for the pipeline (the CLI's sink
turns it on at the run's first event), frozen at exit."""

import gc

import pytest

from norn import cli, settings
from norn.cli import gcpause
from norn.events import Recorder
from norn.state import ForgeState
from norn.steps import pipeline
from norn.steps.pipeline import Context


@pytest.fixture(autouse=True)
def collector_restored(monkeypatch):
    monkeypatch.setattr(gcpause, "_in_command", False)
    yield
    gc.unfreeze()
    gc.enable()


class MemoryStore:
    def __init__(self) -> None:
        self.saved = 0

    def save(self, state: ForgeState) -> None:
        self.saved += 1


class Probe:
    """A step that notes whether the collector runs while it does."""

    name = "probe"

    def __init__(self) -> None:
        self.collecting: bool | None = None

    def skip_reason(self, ctx: Context) -> str | None:
        return None

    def run(self, ctx: Context) -> str:
        self.collecting = gc.isenabled()
        return "probed"


def run_probe() -> Probe:
    probe = Probe()
    ctx = Context("web", settings.load({}), ForgeState("web"))
    pipeline.run("forge", [probe], ctx, MemoryStore(), gcpause.ResumingSink(Recorder()))
    return probe


def test_the_console_script_runs_the_command_without_collection_and_freezes_at_exit(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "app", lambda **_: seen.append(gc.isenabled()))
    cli.main()
    assert seen == [False]
    assert gc.get_freeze_count() > 0  # the interpreter's last collection has nothing to walk


def test_a_pipeline_turns_collection_back_on_in_a_command():
    gcpause.pause()
    assert run_probe().collecting is True
    assert gc.get_freeze_count() > 0  # what start-up built is not walked again


def test_a_pipeline_run_in_a_test_process_leaves_its_collector_alone():
    gc.disable()
    assert run_probe().collecting is False
    assert gc.get_freeze_count() == 0


def test_the_console_script_module_loads_no_typer_so_the_collector_is_off_before_it_does():
    import subprocess
    import sys

    code = (
        "import gc, sys; import norn.cli as cli; assert 'typer' not in sys.modules, 'typer loaded early'\n"
        "import norn.cli.root; seen = []\n"
        "cli.app = lambda **_: seen.append(gc.isenabled()); cli.main(); assert seen == [False]"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
