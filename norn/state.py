"""An app's forge state: the seed's state machine and what a run records.

The state is a plain JSON document (see ``ForgeState.to_json``); the store
decides where it lives. ``resources`` records what norn created and what is
present now, so resume and teardown decide from it, never from step counts.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from norn.errors import StateError
from norn.resources import Record, Resources

FORMAT_VERSION = 1


class ForgeStatus(StrEnum):
    UNFORGED = "unforged"
    FORGING = "forging"
    FORGED = "forged"
    FORGE_FAILED = "forge_failed"
    TEARING_DOWN = "tearing_down"
    # Not a step of the diagram: `norn state migrate` leaves it in the backend it copied from, so that
    # backend no longer speaks for the app (``moved_to`` names the one that does).
    MOVED = "moved"


# The seed's diagram: where each status may go next.
TRANSITIONS: dict[ForgeStatus, frozenset[ForgeStatus]] = {
    ForgeStatus.UNFORGED: frozenset({ForgeStatus.FORGING}),
    ForgeStatus.FORGING: frozenset({ForgeStatus.FORGED, ForgeStatus.FORGE_FAILED}),
    ForgeStatus.FORGE_FAILED: frozenset({ForgeStatus.FORGING, ForgeStatus.TEARING_DOWN}),
    # FORGED -> FORGING: an in-place update of an edited infraspec (or a --repair).
    ForgeStatus.FORGED: frozenset({ForgeStatus.TEARING_DOWN, ForgeStatus.FORGING}),
    ForgeStatus.TEARING_DOWN: frozenset({ForgeStatus.UNFORGED, ForgeStatus.FORGE_FAILED, ForgeStatus.FORGING}),
    ForgeStatus.MOVED: frozenset(),  # a run refuses a moved record (lifecycle.refuse_moved) before it moves
}
BACKENDS = ("local", "kubernetes")

class StepRecord(Record):
    """One step of the last run, as the state keeps it."""

    __slots__ = _fields = ("step", "status", "output", "duration_ms")

    def __init__(self, step: str, status: str, output: str | None = None, duration_ms: int | None = None) -> None:
        self.step = step
        self.status = status  # running | completed | skipped | failed
        self.output = output
        self.duration_ms = duration_ms

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "status": self.status, "output": self.output, "durationMs": self.duration_ms}


class ForgeState(Record):
    """An app's state: its status in the seed's diagram, the last run's steps, and what it made."""

    __slots__ = _fields = ("app", "status", "operation", "steps", "resources", "error", "started_at",
                           "finished_at", "spec_digest", "applied", "moved_to")

    def __init__(
        self,
        app: str,
        status: ForgeStatus = ForgeStatus.UNFORGED,
        operation: str | None = None,  # the last run: forge | teardown
        steps: list[StepRecord] | None = None,
        resources: Resources | dict | None = None,
        error: str | None = None,
        started_at: str | None = None,
        finished_at: str | None = None,
        spec_digest: str | None = None,  # of the infraspec the last forge ran with, to tell drift
        # {"Kind/name": manifest}: what norn last applied to each object it made, without the fields it leaves
        # to others (the image); an update patches the difference to what it would apply now, without reading.
        applied: dict[str, dict] | None = None,
        moved_to: str | None = None,  # the backend that holds the app now, when status is moved
    ) -> None:
        self.app, self.status, self.operation = app, status, operation
        self.steps = [] if steps is None else steps
        if resources is None:
            resources = Resources()
        elif isinstance(resources, dict):  # as tests and callers may write it: the stored JSON shape
            resources = Resources.from_json(resources)
        self.resources = resources
        self.error, self.started_at, self.finished_at = error, started_at, finished_at
        self.spec_digest = spec_digest
        self.applied = {} if applied is None else applied
        self.moved_to = moved_to

    def move_to(self, target: ForgeStatus) -> None:
        if target != self.status and target not in TRANSITIONS[self.status]:
            raise StateError(f"{self.app}: cannot go from {self.status} to {target}")
        self.status = target

    def moved(self, backend: str) -> "ForgeState":
        """This record as the backend it was copied from keeps it: pointing at ``backend``."""
        self.status, self.moved_to = ForgeStatus.MOVED, backend
        return self

    def interrupted(self) -> "ForgeState":
        """How a state left mid-run by a process that died reads: failed, and resumable."""
        if self.status in (ForgeStatus.FORGING, ForgeStatus.TEARING_DOWN):
            self.status = ForgeStatus.FORGE_FAILED
            self.error = self.error or "the previous run was interrupted; rerun to resume"
        return self

    def to_status_json(self) -> dict[str, Any]:
        """The contract shape of ``norn status --output json``."""
        return {
            "app": self.app,
            "status": str(self.status),
            "steps": [s.to_json() for s in self.steps],
            "resources": self.resources.to_json(),
            "error": self.error,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            **({"movedTo": self.moved_to} if self.status == ForgeStatus.MOVED else {}),
        }

    def to_json(self) -> dict[str, Any]:
        """The stored document: the status shape plus bookkeeping."""
        return {
            "version": FORMAT_VERSION,
            **self.to_status_json(),
            "operation": self.operation,
            "specDigest": self.spec_digest,
            **({"applied": self.applied} if self.applied else {}),
        }

    @classmethod
    def from_json(cls, data: Any) -> "ForgeState":
        """Parse a stored document; ValueError/KeyError/TypeError on a bad one."""
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise ValueError(f"unknown state format version {data.get('version')!r}")
        _check_shapes(data)
        resources = Resources.from_json(data.get("resources") or {})
        steps = []
        for item in data.get("steps") or []:
            steps.append(
                StepRecord(
                    step=str(item["step"]),
                    status=str(item["status"]),
                    output=item.get("output"),
                    duration_ms=item.get("durationMs"),
                )
            )
        app = data["app"]
        if not isinstance(app, str):
            raise TypeError("app is not a string")
        if data["status"] == ForgeStatus.MOVED and not data.get("movedTo"):
            raise ValueError("status moved without movedTo")
        return cls(
            app=app,
            status=ForgeStatus(data["status"]),
            operation=data.get("operation"),
            steps=steps,
            resources=resources,
            error=data.get("error"),
            started_at=data.get("startedAt"),
            finished_at=data.get("finishedAt"),
            spec_digest=data.get("specDigest"),
            applied=dict(data.get("applied") or {}),
            moved_to=data.get("movedTo"),
        )


def _text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _step(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    ms = item.get("durationMs")
    return (isinstance(item.get("step"), str) and isinstance(item.get("status"), str) and _text(item.get("output"))
            and (ms is None or (isinstance(ms, int) and not isinstance(ms, bool))))


def _steps(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(map(_step, value)))


def _applied(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and all(
        isinstance(key, str) and isinstance(obj, dict) for key, obj in value.items()))


# What each key of the document must hold when present (None: absent): anything else makes the file unreadable
# (exit 2), never a crash half-way through a run (Resources.from_json checks ``resources``). Plain functions, made
# once: `norn status` checks every app's file (1,000 apps: docs/performance.md).
_DOCUMENT_SHAPES = {
    "steps": _steps,
    "operation": lambda value: value in (None, "forge", "teardown"),
    "error": _text,
    "startedAt": _text,
    "finishedAt": _text,
    "specDigest": _text,
    "applied": _applied,
    "movedTo": lambda value: value is None or value in BACKENDS,
}


def _check_shapes(data: dict) -> None:
    for key, fits in _DOCUMENT_SHAPES.items():
        if not fits(data.get(key)):
            raise TypeError(f"{key} does not hold what norn writes there")
