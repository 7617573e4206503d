"""`norn status APP` answered without loading typer.

Importing typer is most of a `norn status APP`: about 50 of its 66 ms (docs/performance.md), and
one app's status is what scripts and shell prompts run most often. This plain form (one app, no
option at all) runs the code the typer command runs (status_recorded.show_recorded), inside the
same `handled`, so its output and exit codes are the same. Any other command line goes to typer:
every option, --help, shell completion, and `norn status` of every app, whose time is the reading
of every state (issue 7 holds 1,000 apps to under 3x of one, each through typer).
"""

from __future__ import annotations

import os


def run(argv: list[str]) -> None:
    """Answer ``argv`` (the arguments after `norn`) and raise SystemExit with the exit code when it
    is a plain `status APP`; return, having done nothing, for typer to parse anything else."""
    if not plain_status(argv):
        return
    from norn.cli import gcpause
    from norn.cli.exits import handled
    from norn.cli.status_recorded import show_recorded
    from norn.cli.wiring import settings_for

    gcpause.pause()  # as main() does: no collection while the command imports and reads
    try:
        with handled(debug=False):
            show_recorded(argv[1], settings_for(None, None), "text", None)
    finally:
        gcpause.at_exit()
    raise SystemExit(0)


def plain_status(argv: list[str]) -> bool:
    """`status APP`, APP not something that could be an option, outside shell completion (typer
    answers that through _NORN_COMPLETE)."""
    return (
        len(argv) == 2 and argv[0] == "status" and not argv[1].startswith("-")
        and "_NORN_COMPLETE" not in os.environ
    )
