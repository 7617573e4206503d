"""Signals during a run: the first stops it cleanly, a second exits at once."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager

from norn.cli.exits import Exit


@contextmanager
def interruptible():
    """SIGINT and SIGTERM stop the run cleanly: the step in flight is recorded as
    interrupted, the state saved and the lock freed. A second signal exits at once."""

    def exit_now(signum, frame):
        os._exit(Exit.INTERRUPTED)

    def interrupt(signum, frame):
        signal.signal(signal.SIGINT, exit_now)
        signal.signal(signal.SIGTERM, exit_now)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
