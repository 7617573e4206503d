"""`norn status` and `norn status APP` answered without loading typer.

Importing typer is most of a `norn status APP`: about 50 of its 66 ms (docs/performance.md), and
status is what scripts and shell prompts run most often. These two plain forms (no option at all)
run the code the typer command runs (status_recorded.show_recorded), inside the same `handled`, so
their output and exit codes are the same. Any other command line goes to typer: every option,
--help, a second argument, shell completion.
"""

from __future__ import annotations

import os


def run(argv: list[str]) -> None:
    """Answer ``argv`` (the arguments after `norn`) and raise SystemExit with the exit code when it
    is a plain status; return, having done nothing, for typer to parse anything else."""
    if not plain_status(argv):
        return
    from norn.cli.exits import handled
    from norn.cli.status_recorded import show_recorded
    from norn.cli.wiring import settings_for

    with handled(debug=False):
        show_recorded(argv[1] if len(argv) == 2 else None, settings_for(None, None), "text", None)
    raise SystemExit(0)


def plain_status(argv: list[str]) -> bool:
    """`status` or `status APP`, with nothing that could be an option, outside shell completion
    (typer answers that through _NORN_COMPLETE)."""
    return (
        argv[:1] == ["status"] and len(argv) <= 2
        and not any(arg.startswith("-") for arg in argv[1:])
        and "_NORN_COMPLETE" not in os.environ
    )
