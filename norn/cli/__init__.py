"""The command line: the console script, and the Typer app (root.py). Thin.

Each command lives in its own module, imported only when it runs (commands.py holds the table);
exits.py is the one place where errors become exit codes; gcpause.py is the garbage-collector policy.
This module imports neither typer nor the app, so the console script turns the collector off
before they load (docs/performance.md: about 3 ms of collections during typer's import).
"""

from __future__ import annotations

import sys
from typing import Any

from norn.cli import gcpause


def main() -> None:
    gcpause.pause()
    try:
        # The app loads here, collector off (see __getattr__); prog_name also under python -m norn: the usage
        # line and the completion variable (_NORN_COMPLETE).
        sys.modules[__name__].app(prog_name="norn")
    finally:
        gcpause.at_exit()


def __getattr__(name: str) -> Any:
    """``norn.cli.app``, the Typer app, imported on first use."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from norn.cli.root import app

    globals()["app"] = app
    return app
