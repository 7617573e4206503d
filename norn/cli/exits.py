"""The single place where exceptions become exit codes.

Exit codes: 0 done or nothing to do; 1 a step failed, or no app has that name; 2 bad
input, usage or a confirmation that could not be given; 3 another norn run holds the
app; 130 interrupted.
"""

from __future__ import annotations

from norn.cli.printing import out
from norn.errors import NornError, StepFailed, UsageError


class Exit:
    OK = 0
    STEP_FAILED = 1
    DRIFT = 1  # status --live --exit-code found drift, as git diff --exit-code finds a difference
    USAGE = 2
    BUSY = 3
    INTERRUPTED = 130


class InterruptedAtPrompt(NornError):
    """Ctrl-C at a confirmation prompt: nothing ran, so there is nothing to resume."""

    exit_code = Exit.INTERRUPTED


class UnknownApp(NornError):
    """No state record and no infraspec name the app: as kubectl's NotFound, exit 1, not a usage error."""

    exit_code = Exit.STEP_FAILED


class handled:
    """Map norn's errors to one line and an exit code; tracebacks only with --debug."""

    def __init__(self, debug: bool, resume: str | None = None) -> None:
        self.debug = debug
        # How to go on after a failure or an interrupt, when it is not the same command again.
        self.resume = resume or "rerun the same command"

    def __enter__(self) -> "handled":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or isinstance(exc, SystemExit):
            return False  # (typer's Exit and Abort, and bugs, are not norn's errors: they pass below)
        if isinstance(exc, KeyboardInterrupt):
            out(f"interrupted; {self.resume} to resume", err=True)
            raise SystemExit(Exit.INTERRUPTED)
        error = as_norn_error(exc)
        if error is None:
            return False  # a bug: let the traceback show
        if self.debug:
            import traceback

            traceback.print_exception(exc)
        if isinstance(error, StepFailed):
            # The events already told the story; add how to go on.
            out(f"hint: fix the cause, then {self.resume} to resume from {error.step}", err=True)
        else:
            out(f"error: {error.message}", err=True)
            if error.hint:
                out(f"hint: {error.hint}", err=True)
        raise SystemExit(error.exit_code)


def as_norn_error(exc: BaseException) -> NornError | None:
    """The error as norn reports it; None for a bug. A file or folder of the user's that the
    system refuses (an app folder norn may not read, say) is bad input, not a bug."""
    if isinstance(exc, NornError):
        return exc
    if isinstance(exc, OSError) and exc.filename is not None:
        return UsageError(f"{exc.filename}: {exc.strerror or exc}", hint="check its owner and mode, or move it away")
    return None
