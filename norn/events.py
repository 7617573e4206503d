"""What a run reports: one Event per observable thing, in the seed's shapes.

Types and payloads (the NDJSON contract):
  forge.queued     {app}
  forge.step       {step, status, output?, durationMs?}   status: running|completed|skipped|failed
  forge.failed     {step, error}
  forge.completed  {}
and the same set with the prefix ``teardown.``.
"""

from __future__ import annotations

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


class Event:
    """One thing a run reports. A plain slotted class: a frozen dataclass costs every command
    about 0.6 ms at import, to compile methods norn never calls (events are not compared)."""

    __slots__ = ("type", "app", "payload", "time")

    def __init__(self, type: str, app: str, payload: dict[str, Any] | None = None, time: datetime | None = None) -> None:
        self.type = type  # e.g. "forge.step"
        self.app = app
        self.payload = {} if payload is None else payload
        self.time = now() if time is None else time

    def __repr__(self) -> str:
        return f"Event(type={self.type!r}, app={self.app!r}, payload={self.payload!r}, time={self.time!r})"

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
