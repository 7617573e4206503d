"""The confirmation prompt before a command undoes work."""

from __future__ import annotations

import sys

from norn.cli.exits import InterruptedAtPrompt
from norn.cli.printing import out
from norn.errors import UsageError


def confirm(yes: bool, question: str, what: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{what} needs confirmation and there is no terminal to ask", hint="pass --yes to confirm")
    # Not typer.confirm: it turns Ctrl-C and Ctrl-D alike into "Aborted!" and exit 1.
    try:  # the prompt inside: a Ctrl-C as soon as it shows is still at the prompt
        out(f"{question} [y/N]: ", nl=False, err=True)
        answer = sys.stdin.readline()  # "" at Ctrl-D: not confirmed
    except KeyboardInterrupt:
        out("", err=True)
        raise InterruptedAtPrompt("interrupted at the confirmation; nothing was changed") from None
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError("not confirmed; nothing was changed")
