"""The confirmation prompt before a command undoes work."""

from __future__ import annotations

import sys
from collections.abc import Callable

from norn.cli.exits import InterruptedAtPrompt
from norn.cli.printing import out
from norn.errors import UsageError


def confirm(yes: bool, question: Callable[[], str], what: str) -> None:
    """Ask ``question()`` (built only when it is asked: naming the context reads the kubeconfig)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{what} needs confirmation and there is no terminal to ask", hint="pass --yes to confirm")
    text = question()
    # Not typer.confirm: it turns Ctrl-C and Ctrl-D alike into "Aborted!" and exit 1.
    try:  # the prompt inside: a Ctrl-C as soon as it shows is still at the prompt
        out(f"{text} [y/N]: ", nl=False, err=True)
        answer = sys.stdin.readline()  # "" at Ctrl-D: not confirmed
    except KeyboardInterrupt:
        out("", err=True)
        raise InterruptedAtPrompt("interrupted at the confirmation; nothing was changed") from None
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError("not confirmed; nothing was changed")


def target(app: str, namespace: str, cluster) -> str:
    """What a prompt acts on, as kubectl users place it: the app, its namespace, the kubeconfig context."""
    return f"{app} in namespace {namespace}, context {cluster.context or 'in-cluster'}"
