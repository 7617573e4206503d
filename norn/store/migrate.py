"""``norn state migrate``: copy apps' state records from one backend to the other.

It holds the app's lock in both backends while it copies, so it never copies a
run's half-written state nor races one, and it never replaces a newer record:
when the target's latest startedAt/finishedAt is later than the source's, the
app is refused and reported, not copied. Once copied, the source's record is
marked ``moved`` (to the target's backend), so the old backend's status and runs
no longer speak for the app; a moved record at the target is replaced, so an
app can be migrated back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from norn.errors import Busy, StateError
from norn.events import rfc3339
from norn.state import ForgeState, ForgeStatus
from norn.store import StateStore, open_store
from norn.store.document import encode

if TYPE_CHECKING:
    from norn.settings import Settings

COPIED = "copied"
UP_TO_DATE = "up to date"
REFUSED = "refused"
MISSING = "missing"
FAILED = "failed"


@dataclass(frozen=True)
class Result:
    app: str | None  # None: a source record that could not even be named
    outcome: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.outcome in (COPIED, UP_TO_DATE)

    def to_json(self) -> dict:
        return {"app": self.app, "result": self.outcome, "detail": self.detail}

    def line(self) -> str:
        return f"{self.outcome} {self.app}: {self.detail}" if self.app else f"{self.outcome}: {self.detail}"


def recorded_at(state: ForgeState) -> datetime | None:
    """The latest moment a record speaks of: its run's finish, else its start."""
    moments = [m for m in map(_parse_time, (state.started_at, state.finished_at)) if m]
    return max(moments, default=None)


def is_newer(candidate: ForgeState, than: ForgeState) -> bool:
    mine, theirs = recorded_at(candidate), recorded_at(than)
    return mine is not None and (theirs is None or mine > theirs)


def targets(settings: "Settings", backend: str) -> Callable[[ForgeState], StateStore]:
    """The store each record goes to: where forge will look for it.

    In the cluster that is NORN_STATE_NAMESPACE, else the namespace the record
    says the app lives in, else NORN_NAMESPACE.
    """
    stores: dict[str, StateStore] = {}

    def target(state: ForgeState) -> StateStore:
        namespace = ""
        if backend == "kubernetes":
            namespace = settings.state_namespace or state.resources.namespace or settings.namespace
        if namespace not in stores:
            stores[namespace] = open_store(settings, backend, namespace or None)
        return stores[namespace]

    return target


def migrate(
    source: StateStore, target_for: Callable[[ForgeState], StateStore], apps: list[str] | None, to: str
) -> list[Result]:
    """Copy ``apps`` (all the source holds when None) to backend ``to``; one Result per app, in order."""
    results: list[Result] = []
    if apps is None:
        states, problems = source.list()
        results += [Result(None, FAILED, problem) for problem in problems]
        apps = [state.app for state in states]
    return results + [copy_one(app, source, target_for, to) for app in apps]


def copy_one(app: str, source: StateStore, target_for: Callable[[ForgeState], StateStore], to: str) -> Result:
    try:
        if source.load(app) is None:  # looked at before locking: no lock is left behind for an app that is not there
            return Result(app, MISSING, f"no state in {source.where(app)}")
        with source.lock(app):
            state = source.load(app)
            if state is None:
                return Result(app, MISSING, f"no state in {source.where(app)}")
            if state.status == ForgeStatus.MOVED:
                return Result(app, UP_TO_DATE, f"{source.where(app)} says it moved to the {state.moved_to} backend")
            target = target_for(state)
            with target.lock(app):
                result = _copy(app, state, source, target)
            if result.ok:  # the target holds it now: the source no longer speaks for it
                source.save(state.moved(to))
            return result
    except (Busy, StateError) as exc:
        return Result(app, FAILED, exc.message)


def _copy(app: str, state: ForgeState, source: StateStore, target: StateStore) -> Result:
    existing = target.load(app)
    if existing is not None and encode(existing) == encode(state):
        return Result(app, UP_TO_DATE, f"{target.where(app)} already holds the same record")
    if existing is not None and existing.status != ForgeStatus.MOVED and is_newer(existing, state):
        return Result(
            app,
            REFUSED,
            f"{target.where(app)} is newer ({_moment(existing)}, against {_moment(state)} "
            f"in {source.where(app)}); not overwritten",
        )
    target.save(state)
    return Result(app, COPIED, f"{source.where(app)} -> {target.where(app)} ({state.status})")


def _parse_time(text: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _moment(state: ForgeState) -> str:
    moment = recorded_at(state)
    return rfc3339(moment) if moment else "no time recorded"
