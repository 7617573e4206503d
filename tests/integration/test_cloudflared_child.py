"""A cloudflared that norn started does not outlive norn, even when norn is killed with SIGKILL (issue 14, point 8).

Linux: norn's preexec_fn sets PR_SET_PDEATHSIG to SIGKILL (man 2 prctl: "the signal that the calling process
will get when its parent dies"), so the kernel kills the child when norn dies, whatever killed norn.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import WEB_SPEC

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a parent-death signal is Linux's")
PATIENCE = 30  # seconds to wait for a state change; the assertions are on states, never on durations


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` runs: a zombie waiting for its reaper has already died."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(condition, what: str):
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"no {what} within {PATIENCE} s")


def test_a_sigkilled_norn_takes_its_cloudflared_child_with_it(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    process = norn.popen("forge", "web", "--output", "json", CLOUDFLARED_STANDIN_MODE="hang")
    child = None
    try:
        wait_for(lambda: any("route" in call for call in cloudflared_bin.calls()), "cloudflared route dns run")
        (child,) = wait_for(lambda: children(process.pid), "cloudflared child of norn")
        assert "cloudflared" in Path(f"/proc/{child}/cmdline").read_text()

        process.send_signal(signal.SIGKILL)
        process.wait()

        wait_for(lambda: not alive(child), "end of the cloudflared child after norn's death")
    finally:
        process.kill()
        process.communicate()
        if child is not None and alive(child):
            os.kill(child, signal.SIGKILL)  # the test failed: leave no stray process behind
