"""bench/serve.py: the norn serve rows' pure parts (the peak memory read, the events tally, the rounds),
with given numbers and a stand-in server: no norn serve, no hyperfine."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report import Pair, row
from bench.serve import BUDGET_MIB, Tally, compare, hwm_mib

STATUS = """\
Name:\tnorn
VmPeak:\t  400000 kB
VmHWM:\t  102400 kB
VmRSS:\t   98304 kB
"""


def test_the_peak_is_vmhwm_in_mib():
    assert hwm_mib(STATUS) == 100.0


@pytest.mark.parametrize("status", ["Name:\tnorn\n", "VmHWM:\t 1 MB\n"])
def test_a_status_without_vmhwm_in_kb_is_an_error(status):
    with pytest.raises(ValueError):
        hwm_mib(status)


def event(kind: str, app: str) -> dict:
    return {"type": kind, "app": app, "time": "2026-01-01T00:00:00Z", "payload": {}}


def test_the_tally_is_done_once_every_app_completed_whatever_else_arrives():
    tally = Tally(["a", "b"])
    assert not tally.see(event("forge.queued", "a"))
    assert not tally.see(event("forge.step", "b"))
    assert not tally.see(event("forge.completed", "b"))
    assert tally.see(event("forge.completed", "a"))
    assert tally.completed == ["b", "a"]


@pytest.mark.parametrize("bad", [event("forge.failed", "a"), event("forge.completed", "c")])
def test_a_failed_forge_or_one_of_another_app_stops_the_bench(bad):
    with pytest.raises(SystemExit):
        Tally(["a", "b"]).see(bad)


def test_a_second_completion_of_the_same_app_stops_the_bench():
    tally = Tally(["a", "b"])
    tally.see(event("forge.completed", "a"))
    with pytest.raises(SystemExit):
        tally.see(event("forge.completed", "a"))


class FakeBench:
    def __init__(self) -> None:
        self.norn, self.env, self.work = Path("/venv/bin/norn"), {"X": "1"}, Path("/work")
        self.done: list[str] = []

    def reset(self, apps) -> None:
        self.done.append(f"reset {len(apps)}")

    def forged(self) -> str:
        return "2 of 2 forged, 2 rules"


def test_rounds_alternate_the_first_warms_up_and_each_server_round_gives_its_peak():
    bench = FakeBench()
    times = iter([1000.0, 2000.0, 3000.0])
    peaks = iter([90.0, 120.0, 130.0])

    class FakeServer:
        def __init__(self, norn, env, log) -> None:
            assert (norn, env, log) == (bench.norn, bench.env, bench.work / "serve.log")

        def forge_all(self, apps) -> float:
            bench.done.append("serve")
            return 500.0 + len(bench.done)

        def peak_mib(self) -> float:
            return next(peaks)

        def stop(self) -> None:
            bench.done.append("stop")

    def hyperfine(command, env) -> float:
        assert (command, env) == ("fifty.sh norn 2", bench.env)
        bench.done.append("processes")
        return next(times)

    fifty, memory = compare(bench, ["a", "b"], "fifty.sh norn 2", hyperfine, rounds=2, start=FakeServer)

    sides = [step for step in bench.done if step in ("serve", "processes")]
    assert sides == ["processes", "serve", "serve", "processes", "processes", "serve"]
    assert bench.done.count("reset 2") == 6 and bench.done.count("stop") == 3  # each forge on a clean cluster
    assert fifty.b == [2000.0, 3000.0] and len(fifty.a) == 2  # the warm-up round is not counted
    assert fifty.checks == ["2 of 2 forged, 2 rules"] * 3 and fifty.limit == 0.6
    assert memory.a == [120.0, 130.0] and memory.b == [BUDGET_MIB, BUDGET_MIB]


def test_the_memory_row_reads_against_the_150_mib_budget():
    memory = Pair("peak", a=[120.0, 130.0], b=[BUDGET_MIB] * 2, target="≤ 150 MiB", limit=1.0, unit="MiB")
    assert row(memory).startswith("| peak | 125 MiB | 150 MiB | 0.83x | ≤ 150 MiB | yes |")
    over = Pair("peak", a=[160.0], b=[BUDGET_MIB], target="≤ 150 MiB", limit=1.0, unit="MiB")
    assert "| **no** |" in row(over)
