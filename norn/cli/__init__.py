"""The command line: the console script, and the Typer app (root.py). Thin.

Each command lives in its own module, imported only when it runs (commands.py holds the table);
exits.py is the one place where errors become exit codes; gcpause.py is the garbage-collector policy;
fastpath.py answers the plain `norn status APP` without typer.
This module imports neither typer nor the app, so the console script turns the collector off
before they load (docs/performance.md: about 3 ms of collections during typer's import).
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from norn.cli import gcpause


def main() -> None:
    gcpause.pause()
    try:
        # The app loads here, collector off (see __getattr__); prog_name also under python -m norn: the usage
        # line and the completion variable (_NORN_COMPLETE).
        sys.modules[__name__].app(prog_name="norn")
    finally:
        gcpause.at_exit()


def run() -> NoReturn:
    """The console script (and ``python -m norn``): the command, then ``leave`` with its exit code.
    `norn status APP` is answered without typer (fastpath.py)."""
    from norn.cli import fastpath

    try:
        fastpath.run(sys.argv[1:])
        main()
    except SystemExit as exc:
        leave(exc.code)
    leave(0)


def leave(code: object) -> NoReturn:
    """Exit as ``sys.exit(code)`` does, but without the interpreter's teardown of every module: about 3 ms
    of a `norn status` (median of 60 runs), spent freeing what an ending process need not free.

    The atexit handlers run and the output is flushed first. While a thread that is not a daemon still
    works, or when a flush fails (the reader went away), the ordinary exit does what it always did.
    """
    import atexit
    import os
    import threading

    if any(thread.is_alive() and not thread.daemon for thread in threading.enumerate()
           if thread is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()  # what the interpreter's own exit would run first
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # as sys.exit("message") does: the message on stderr, exit status 1
        print(code, file=sys.stderr)
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(status)
    os._exit(status)


def __getattr__(name: str) -> Any:
    """``norn.cli.app``, the Typer app, imported on first use."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from norn.cli.root import app

    globals()["app"] = app
    return app
