"""What only the local backend does: private files, no temp files left, a lock the kernel frees.

The behaviour every backend shares is in tests/integration/test_store_contract.py.
"""

from __future__ import annotations

import stat
import subprocess
import sys
import textwrap

import pytest

from norn.errors import LostRace
from norn.state import ForgeState, ForgeStatus
from norn.store.local import LocalStore


def test_state_file_is_private_and_leaves_no_temp_files(tmp_path):
    store = LocalStore(tmp_path / "state")
    store.save(ForgeState("web", ForgeStatus.FORGED))
    store.save(ForgeState("web", ForgeStatus.FORGED))
    path = tmp_path / "state" / "web.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["web.json"]


def test_a_refused_save_leaves_no_temp_files(tmp_path):
    LocalStore(tmp_path).save(ForgeState("web"))
    with pytest.raises(LostRace):
        LocalStore(tmp_path).save(ForgeState("web", ForgeStatus.FORGED))  # never read: it must not overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web.json"]


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
