"""norn serve's pure parts: the token, problem lines as objects, the run registry."""

from __future__ import annotations

import threading
import time

import pytest

from norn.errors import Busy, StepFailed, UsageError
from norn.events import Event
from norn.serve.auth import authorized, load_token
from norn.serve.problems import fields
from norn.serve.runs import NOT_STARTED, Runs

TOKEN = "a" * 32


def test_the_token_comes_from_the_file_first_and_needs_32_characters(tmp_path):
    assert load_token(TOKEN, None) == TOKEN
    (tmp_path / "t").write_text("b" * 32 + "\n")
    assert load_token(TOKEN, tmp_path / "t") == "b" * 32
    for env, path in ((None, None), ("a" * 31, None), (TOKEN + " ", None), (None, tmp_path / "none")):
        with pytest.raises(UsageError) as refused:
            load_token(env, path)
        assert "a" * 31 not in refused.value.message  # named by its setting, never shown


def test_only_the_bearer_header_with_the_token_is_authorized():
    assert authorized(f"Bearer {TOKEN}", TOKEN) and authorized(f"bearer {TOKEN}", TOKEN)
    for header in (None, "", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer \udcff"):
        assert not authorized(header, TOKEN)


def test_problem_lines_become_objects_whatever_the_file_name():
    # norn/infraspec/problems.py: problem() writes FILE:LINE: KEY: MESSAGE, the key as dotted() makes it.
    assert fields("/a:b/i.yaml:3: volumes[0].size: bad: 5", "/a:b/i.yaml") == {
        "file": "/a:b/i.yaml", "line": 3, "key": "volumes[0].size", "message": "bad: 5"}
    assert fields("/i.yaml:2: YAML syntax error: x", "/i.yaml")["key"] is None
    assert fields("/i.yaml: no such file", "/i.yaml") == {"file": "/i.yaml", "line": None, "key": None,
                                                          "message": "no such file"}


def _runs(workers: int = 1):
    published: list[dict] = []
    return Runs(workers, published.append), published


def _accept(runs: Runs, app: str, work, released: list | None = None):
    runs.claim(app)
    return runs.accept(app, "forge", work, lambda: (released or []).append(app))


def test_queued_is_sent_once_and_the_end_after_the_app_is_free():
    runs, published = _runs()
    seen_claimed = []

    def work(sink, stopped):
        sink.emit(Event("forge.queued", "web", {"app": "web"}))  # the pipeline's own: dropped
        sink.emit(Event("forge.step", "web", {"step": "s", "status": "completed"}))
        sink.emit(Event("forge.completed", "web", {}))
        with pytest.raises(Busy):
            runs.claim("web")  # still held while the work runs
        seen_claimed.append(True)

    run = _accept(runs, "web", work)
    assert runs.wait_idle(30)
    assert [e["type"] for e in published] == ["forge.queued", "forge.step", "forge.completed"]
    assert runs.get(run.id)["status"] == "completed" and runs.get(run.id)["events"] == published
    runs.claim("web")  # free again
    assert seen_claimed


def test_a_failed_step_fails_the_run_and_an_error_before_any_step_says_so():
    runs, published = _runs()

    def failing(sink, stopped):
        sink.emit(Event("forge.failed", "web", {"step": "s", "error": "boom"}))
        raise StepFailed("s", "boom")

    def unreachable(sink, stopped):
        raise UsageError("namespace x does not exist")

    first, second = _accept(runs, "web", failing), _accept(runs, "api", unreachable)
    assert runs.wait_idle(30)
    assert runs.get(first.id)["status"] == runs.get(second.id)["status"] == "failed"
    assert runs.get(second.id)["events"][-1]["payload"] == {"step": None, "error": "namespace x does not exist"}


def test_one_worker_runs_in_order_and_a_stop_fails_the_queued_before_they_start():
    runs, published = _runs(workers=1)
    gate, order = threading.Event(), []

    def slow(sink, stopped):
        gate.wait(30)
        order.append(("web", stopped()))

    first = _accept(runs, "web", slow)
    second = _accept(runs, "api", lambda sink, stopped: order.append(("api", stopped())))
    assert runs.get(second.id)["status"] == "queued"
    deadline = time.monotonic() + 30
    while runs.get(first.id)["status"] != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    runs.stop()
    gate.set()
    assert runs.wait_idle(30)
    assert order == [("web", True)]  # the running one sees the stop; the queued one never started
    assert runs.get(first.id)["status"] == "completed"
    assert runs.get(second.id)["events"][-1]["payload"]["error"] == NOT_STARTED


def test_finished_runs_beyond_the_history_are_forgotten_oldest_first():
    published: list[dict] = []
    runs = Runs(1, published.append, history=2)
    ids = [_accept(runs, f"app{n}", lambda sink, stopped: None).id for n in range(3)]
    assert runs.wait_idle(30)
    assert [runs.get(i) is not None for i in ids] == [False, True, True]
