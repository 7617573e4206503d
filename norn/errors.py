"""The exceptions norn raises on purpose, each mapped to an exit code by the CLI.

Anything else escaping to the CLI is a bug and is shown with its traceback.
"""

from __future__ import annotations


class NornError(Exception):
    """An expected failure: one clear line for the user, and maybe a hint."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(NornError):
    """Bad input: a flag, an environment value, a missing confirmation."""

    exit_code = 2


class SpecError(UsageError):
    """An infraspec that cannot be found, parsed or validated."""


class StateError(UsageError):
    """A state file that cannot be read; it is never overwritten silently."""


class Busy(NornError):
    """Another norn run holds the app's lock."""

    exit_code = 3


class LostRace(Busy):
    """Another run wrote the app's state (or took its lock) since this run read it; nothing was overwritten."""


class ClusterError(NornError):
    """The Kubernetes API refused or failed a request."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.reason = reason
        self.transient = False  # worth retrying: the same request may succeed later
        self.retry_after: float | None = None  # seconds the server asked us to wait


class NotFound(ClusterError):
    """404: the object does not exist."""


class AlreadyExists(ClusterError):
    """409 AlreadyExists on create."""


class Conflict(ClusterError):
    """409 Conflict: the resourceVersion we sent is stale."""


class AccessDenied(ClusterError):
    """403: the credentials lack a permission norn needs; found before any step, so nothing changed."""

    exit_code = 2


class StepError(NornError):
    """A step could not do its work; the message is recorded as the step's error."""


class StepFailed(NornError):
    """The pipeline stopped at a failed step (state is now forge_failed)."""

    def __init__(self, step: str, error: str) -> None:
        super().__init__(f"{step} failed: {error}")
        self.step = step
        self.error = error
