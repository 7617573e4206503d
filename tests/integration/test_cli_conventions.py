"""CLI conventions (issue 17): unknown apps, norn forget, migrate marks moved, prompts, hints, progress."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.integration.conftest import WEB_SPEC


def _own_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pty, so that a Ctrl-C
    typed there (written to the leader) reaches it as the terminal's SIGINT, echoed as ^C."""
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def on_a_pty(norn, *args: str, until: bytes | None = None, then=None, **env: str) -> tuple[int, str]:
    """Run norn with stdin, stdout and stderr on one pseudo-terminal, 100 columns wide; once it has
    written ``until``, call ``then(process, leader)``. The exit code and everything it drew."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "norn", *args], cwd=norn.cwd, env=norn.env(NO_COLOR="1", TERM="xterm", **env),
        stdin=follower, stdout=follower, stderr=follower, preexec_fn=_own_terminal,
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal closed
            break
        if not chunk:
            break
        drawn += chunk
        if until is not None and until in drawn:
            until = None
            then(process, leader)
    os.close(leader)
    return process.wait(timeout=60), drawn.decode()


import pytest
@pytest.mark.parametrize("delay", [0, 0.01, 0.02, 0.05, 0.1, 0.2])
def test_ctrl_c_explore(norn, cluster, delay):
    norn.write_spec(WEB_SPEC)
    cluster.latency = 0.05
    code, drawn = on_a_pty(norn, "forge", "web", until=b"Forging", then=lambda p, fd: (time.sleep(delay), os.write(fd, b"\x03")))
    import sys; sys.path.insert(0, "/tmp"); from emu import screen
    print("\n".join(screen(drawn)))
    assert "\n".join(screen(drawn)).count("Forging web") == 1
