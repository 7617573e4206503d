"""The local state store: atomic 0600 files, corrupt files refused, the per-app lock."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from norn.errors import Busy, StateError
from norn.state import ForgeState, ForgeStatus, StepRecord
from norn.store.local import LocalStore


def make_state(app: str = "web") -> ForgeState:
    return ForgeState(
        app,
        ForgeStatus.FORGED,
        operation="forge",
        steps=[StepRecord("create-deployment", "completed", "created", 12)],
        resources={"namespace": "default", "deployment": app},
        started_at="2026-11-27T10:00:00.000Z",
        finished_at="2026-11-27T10:00:01.000Z",
    )


def test_save_then_load_round_trips(tmp_path):
    store = LocalStore(tmp_path / "state")
    store.save(make_state())
    assert store.load("web") == make_state()


def test_state_file_is_private_and_leaves_no_temp_files(tmp_path):
    store = LocalStore(tmp_path / "state")
    store.save(make_state())
    store.save(make_state())
    path = tmp_path / "state" / "web.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["web.json"]


def test_stored_document_has_the_status_contract_keys(tmp_path):
    store = LocalStore(tmp_path)
    store.save(make_state())
    data = json.loads((tmp_path / "web.json").read_text())
    assert {"app", "status", "steps", "resources", "error", "startedAt", "finishedAt"} <= set(data)
    assert data["steps"] == [{"step": "create-deployment", "status": "completed", "output": "created", "durationMs": 12}]


def test_missing_state_is_none(tmp_path):
    assert LocalStore(tmp_path).load("web") is None


@pytest.mark.parametrize("content", ["{not json", "[]", '{"app": "web"}', '{"app": "web", "status": "bogus"}', ""])
def test_corrupt_state_file_is_refused_naming_the_file(tmp_path, content):
    (tmp_path / "web.json").write_text(content)
    with pytest.raises(StateError) as err:
        LocalStore(tmp_path).load("web")
    assert str(tmp_path / "web.json") in err.value.message
    assert err.value.exit_code == 2
    assert (tmp_path / "web.json").read_text() == content  # never overwritten


def test_list_reports_unreadable_files_beside_good_ones(tmp_path):
    store = LocalStore(tmp_path)
    store.save(make_state("a"))
    (tmp_path / "b.json").write_text("garbage")
    states, problems = store.list()
    assert [s.app for s in states] == ["a"]
    assert len(problems) == 1 and "b.json" in problems[0]


def test_second_lock_on_the_same_app_is_busy_with_holder(tmp_path):
    store = LocalStore(tmp_path)
    with store.lock("web"):
        with pytest.raises(Busy) as err:
            with LocalStore(tmp_path).lock("web"):
                pass
    assert err.value.exit_code == 3
    assert f"operation already in progress (pid {os.getpid()} since " in err.value.message


def test_locks_of_different_apps_do_not_collide(tmp_path):
    store = LocalStore(tmp_path)
    with store.lock("a"), store.lock("b"):
        pass


def test_lock_of_a_killed_process_is_free(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, signal
        from norn.store.local import LocalStore
        with LocalStore({str(tmp_path)!r}).lock("web"):
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script])
    assert done.returncode == -9
    with LocalStore(tmp_path).lock("web"):
        pass
