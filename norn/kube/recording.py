"""The dry run's cluster: reads for real, records every write instead of sending it.

``norn plan`` runs the real operations and steps against a RecordingCluster, as
kubectl runs its one request helper with a dry-run flag. Each object is read
from the API server at most once; after that, and after a recorded write, it is
answered from an overlay: what was read, changed by the writes recorded so far.
So a later step sees what an earlier one would have done (a rule added, an
object deleted), and the writes recorded are the requests forge would send.
"""

from __future__ import annotations

import copy
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

from norn.errors import AlreadyExists, Conflict, NotFound
from norn.kube import smp
from norn.kube.kinds import DEPLOYMENT, STRATEGIC_MERGE, Kind
from norn.kube.ownership import deleting
from norn.kube.rollout import format_seconds

if TYPE_CHECKING:
    from norn.kube.cluster import Cluster
    from norn.kube.rollout import Budget

Key = tuple[str, str, str]  # kind, namespace, name

_VERBS = {"POST": "create", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"}


@dataclass
class Write:
    """One request the run would send to the cluster; ``--server-dry-run`` sends it with ``dryRun=All``."""

    method: str  # POST, PUT, PATCH or DELETE
    kind: Kind
    namespace: str
    name: str
    body: Any = None
    content_type: str = "application/json"
    replaces: bool = False  # a create of an object the plan deletes (or waits out) first

    def describe(self) -> str:
        return self.kind.describe(self.namespace, self.name)


@dataclass
class Entry:
    """What one step would do: a line for the plan, and the write or the thing kept behind it, if any."""

    step: tuple[str, str] | None  # (operation, step name) running when it was recorded
    line: str | None
    write: Write | None = None
    kept: str | None = None


@dataclass
class Recorder:
    """Everything a dry run's adapters record, tagged with the step that was running."""

    entries: list[Entry] = field(default_factory=list)
    expected: list[tuple[str, str]] = field(default_factory=list)  # every step handed to the pipeline
    current: tuple[str, str] | None = None
    _intent: list[str] | None = None  # inside ``doing``: the line the next write takes, once

    # called by the pipeline

    def steps(self, operation: str, names: list[str]) -> None:
        self.expected += [(operation, name) for name in names]

    def start(self, operation: str, name: str) -> None:
        self.current = (operation, name)

    # called by steps: what a write means, and what is kept

    @contextmanager
    def doing(self, line: str) -> Iterator[None]:
        """The writes inside are shown as this one line (none when nothing is written)."""
        outer, self._intent = self._intent, [line]
        try:
            yield
        finally:
            self._intent = outer

    def keep(self, what: str, why: str, line: str | None = None) -> None:
        self.entries.append(Entry(self.current, line, kept=f"{what}: {why}"))

    # called by the adapters

    def record(self, default_line: str, write: Write | None = None) -> None:
        if self._intent is None:
            line: str | None = default_line
        else:
            line = self._intent.pop() if self._intent else None
        self.entries.append(Entry(self.current, line, write))

    def note(self, line: str) -> None:
        self.entries.append(Entry(self.current, line))

    def of(self, step: tuple[str, str]) -> list[Entry]:
        return [e for e in self.entries if e.step == step]

    @property
    def writes(self) -> list[Write]:
        return [e.write for e in self.entries if e.write is not None]


class RecordingCluster:
    """The Cluster interface: GETs go to the server (once per object), writes are recorded."""

    def __init__(self, connect: Callable[[], "Cluster"], recorder: Recorder) -> None:
        self._connect = connect
        self._real: Cluster | None = None
        self.recorder = recorder
        self.retries = 0
        self._read: dict[Key, dict | None] = {}  # what the server answered
        self._now: dict[Key, dict | None] = {}  # as the recorded writes leave it
        self._deleted: set[Key] = set()

    @property
    def real(self) -> "Cluster":
        if self._real is None:
            self._real = self._connect()
        return self._real

    def __getattr__(self, name: str) -> Any:
        # where(), context, list(), check_reachable(), check_namespace(), dry_run(): reads, or no request at all
        return getattr(self.real, name)

    def read(self, kind: Kind, namespace: str, name: str) -> dict | None:
        """The object as the server had it, or None when it was never read (or does not exist)."""
        return copy.deepcopy(self._read.get((kind.name, namespace, name)))

    def was_read(self, kind: Kind, namespace: str, name: str) -> bool:
        return (kind.name, namespace, name) in self._read

    def get(self, kind: Kind, namespace: str, name: str) -> dict | None:
        key = (kind.name, namespace, name)
        if key in self._now:
            return copy.deepcopy(self._now[key])
        if key not in self._read:
            self._read[key] = self.real.get(kind, namespace, name)
        return copy.deepcopy(self._read[key])

    def create(self, kind: Kind, namespace: str, obj: dict) -> dict:
        name = obj["metadata"]["name"]
        if self.get(kind, namespace, name) is not None:
            raise AlreadyExists(f'{kind.resource} "{name}" already exists', status=409, reason="AlreadyExists")
        key = (kind.name, namespace, name)
        write = Write("POST", kind, namespace, name, copy.deepcopy(obj), replaces=key in self._deleted)
        return self._record(write, copy.deepcopy(obj))

    def replace(self, kind: Kind, namespace: str, name: str, obj: dict) -> dict:
        existing = self._existing(kind, namespace, name)
        sent = (obj.get("metadata") or {}).get("resourceVersion")
        if sent and sent != (existing.get("metadata") or {}).get("resourceVersion"):
            raise Conflict(f'the object {kind.describe(namespace, name)} has been modified', status=409, reason="Conflict")
        return self._record(Write("PUT", kind, namespace, name, copy.deepcopy(obj)), copy.deepcopy(obj))

    def patch(self, kind: Kind, namespace: str, name: str, patch: Any, content_type: str = STRATEGIC_MERGE) -> dict:
        existing = self._existing(kind, namespace, name)
        write = Write("PATCH", kind, namespace, name, copy.deepcopy(patch), content_type)
        if isinstance(patch, dict) and content_type == STRATEGIC_MERGE:
            uid = (patch.get("metadata") or {}).get("uid")
            if uid and uid != (existing.get("metadata") or {}).get("uid"):  # as the server refuses it
                raise Conflict(f"Precondition failed: UID in precondition: {uid}", status=409, reason="Conflict")
            return self._record(write, smp.apply(existing, patch))
        return self._record(write, _merged(existing, patch) if isinstance(patch, dict) else existing)

    def delete(self, kind: Kind, namespace: str, name: str, *, uid: str | None = None) -> bool:
        existing = self.get(kind, namespace, name)
        if existing is None:
            return False
        if uid and (existing.get("metadata") or {}).get("uid") != uid:
            raise Conflict(f"Precondition failed: UID in precondition: {uid}", status=409, reason="Conflict")
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if uid:
            body["preconditions"] = {"uid": uid}
        self._record(Write("DELETE", kind, namespace, name, body), None)
        self._deleted.add((kind.name, namespace, name))
        return True

    def assume_gone(self, kind: Kind, namespace: str, name: str) -> None:
        """A dry run's wait for a deletion ends as the real one hopes: the object is gone."""
        key = (kind.name, namespace, name)
        self._now[key] = None
        self._deleted.add(key)

    def _existing(self, kind: Kind, namespace: str, name: str) -> dict:
        existing = self.get(kind, namespace, name)
        if existing is None:
            raise NotFound(f'{kind.resource} "{name}" not found', status=404, reason="NotFound")
        return existing

    def _record(self, write: Write, after: dict | None) -> Any:
        self.recorder.record(f"{_VERBS[write.method]} {write.describe()}", write)
        self._now[(write.kind.name, write.namespace, write.name)] = after
        return copy.deepcopy(after)


class RecordingWaiting:
    """A dry run does not poll: each wait becomes a line saying how long the run would wait, and for what."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def until_gone(
        self, cluster: RecordingCluster, kind: Kind, namespace: str, name: str, deadline: float,
        progress: Callable[[str], None], then: str,
    ) -> dict | None:
        existing = cluster.get(kind, namespace, name)
        if existing is None or not deleting(existing):
            return existing
        budget = format_seconds(max(0.0, deadline - time.monotonic()) + 0.5)
        self.recorder.note(f"wait for {kind.describe(namespace, name)} to finish being deleted, then {then} (up to {budget})")
        cluster.assume_gone(kind, namespace, name)
        return None

    def rollout(
        self, cluster: RecordingCluster, namespace: str, name: str, budget: "Budget", progress: Callable[[str], None]
    ) -> str:
        what = DEPLOYMENT.describe(namespace, name)
        self.recorder.note(f"wait up to {format_seconds(budget.seconds)} for {what} to roll out")
        return f"would wait for {what} to roll out"


def _merged(obj: dict, patch: dict) -> dict:
    """A merge patch of maps applied (what the restart annotation needs); lists are replaced."""
    merged = copy.deepcopy(obj)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        elif value is None:
            merged.pop(key, None)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
