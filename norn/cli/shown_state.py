"""What `norn status` and `norn status --live` both show of the recorded state."""

from __future__ import annotations

from norn.cli.exits import Exit
from norn.cli.printing import out


def as_seen(store, state):
    """A state left in forging or tearing_down by a run that died shows as what it is: failed.

    Only such a state asks the store who holds the app, so a settled one costs no request.
    """
    from norn.state import ForgeStatus

    if state.status not in (ForgeStatus.FORGING, ForgeStatus.TEARING_DOWN) or store.is_running(state.app):
        return state
    return state.interrupted()


def report_problems(problems) -> None:
    """State records that could not be read: each on stderr, and exit 2 once all else is shown."""
    for problem in problems:
        out(f"error: {problem}", err=True)
    if problems:
        raise SystemExit(Exit.USAGE)


def in_namespace(states, namespace: str | None) -> list:
    """The apps forged into ``namespace`` (by the namespace their state records); all without one."""
    if namespace is None:
        return list(states)
    return [state for state in states if state.resources.namespace == namespace]
