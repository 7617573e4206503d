"""What a run reports: one Event per observable thing, in the seed's shapes.

Types and payloads (the NDJSON contract):
  forge.queued     {app}
  forge.step       {step, status, output?, durationMs?}   status: running|completed|skipped|failed
  forge.failed     {step, error}
  forge.completed  {}
and the same set with the prefix ``teardown.``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

RUNNING = "running"
COMPLETED = "completed"
SKIPPED = "skipped"
FAILED = "failed"


def now() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(moment: datetime) -> str:
    """UTC time as RFC 3339 with a Z and millisecond precision."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    type: str  # e.g. "forge.step"
    app: str
    payload: dict[str, Any] = field(default_factory=dict)
    time: datetime = field(default_factory=now)

    @property
    def operation(self) -> str:
        """'forge' or 'teardown'."""
        return self.type.split(".", 1)[0]

    @property
    def kind(self) -> str:
        """'queued', 'step', 'failed' or 'completed'."""
        return self.type.split(".", 1)[1]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "app": self.app, "time": rfc3339(self.time), "payload": self.payload}


class Sink(Protocol):
    """Where events go. Nothing below the CLI prints; it emits."""

    def emit(self, event: Event) -> None: ...

    def close(self) -> None: ...


class Recorder:
    """A sink that keeps events in a list (tests, and the CLI's exit summary)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass
