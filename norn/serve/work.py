"""What each endpoint does, without HTTP: the same functions as the CLI's, errors as (status, body).

Blocking: the routes call these in a worker thread. A POST decides under the app's lock what the
CLI's forge or teardown would decide (lifecycle.decide_forge, decide_teardown); a run that has work
is accepted with the lock still held, so a CLI started after the 202 gets Busy (exit 3).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from norn.cli.exits import UnknownApp
from norn.errors import Busy, ClusterError, NornError, SpecError, UsageError
from norn.serve.problems import fields
from norn.serve.runs import Runs

if TYPE_CHECKING:
    from norn.infraspec.model import Infraspec
    from norn.settings import Settings

log = logging.getLogger("norn.serve")


class ApiError(Exception):
    """An answer other than success: its status and JSON body ({"error", ...})."""

    def __init__(self, status: int, error: str, **more: Any) -> None:
        super().__init__(error)
        self.status, self.body = status, {"error": error, **more}


def _text(error: NornError) -> str:
    return f"{error.message} (hint: {error.hint})" if error.hint else error.message


def as_api_error(error: NornError) -> ApiError:
    """norn's errors as the CLI's exit codes would have them: unknown 404, busy 409, bad input 422."""
    if isinstance(error, UnknownApp):
        return ApiError(404, _text(error))
    if isinstance(error, Busy):
        return ApiError(409, _text(error))
    if isinstance(error, UsageError):
        return ApiError(422, _text(error), problems=[])
    status = 502 if isinstance(error, ClusterError) else 500  # the cluster (or cloudflared) failed, not the request
    return ApiError(status, _text(error))


@dataclass
class Service:
    settings: "Settings"
    folder: Path  # where infraspecs are looked for, as the CLI's current folder
    runs: Runs


def apps(service: Service) -> list:
    """The document of `norn status -o json`."""
    from norn.cli.status_recorded import apps_states
    from norn.cli.wiring import store_for
    from norn.output.rows import status_json

    states, problems = apps_states(store_for(service.settings), None)
    for problem in problems:
        log.warning("state record: %s", problem)
    return status_json(states)


def app(service: Service, name: str) -> dict:
    """The document of `norn status APP -o json`."""
    from norn.cli.shown_state import as_seen
    from norn.cli.status_recorded import known_state
    from norn.cli.wiring import store_for
    from norn.output.rows import status_json

    store = store_for(service.settings)
    return status_json(as_seen(store, known_state(name, store, service.settings, service.folder)))


def plan(service: Service, name: str, force: bool) -> dict:
    """The document of `norn plan APP -o json`."""
    from norn.cli.dry_run import forge_plan

    spec_of(service, name)  # 404 or 422 as a POST would answer
    return forge_plan(name, service.settings, force=force).to_json()


def spec_of(service: Service, name: str) -> "Infraspec":
    """The app's infraspec, found as forge finds it; 404 when there is none, 422 with its problems."""
    from norn.infraspec.discovery import find
    from norn.infraspec.loading import check_forgeable
    from norn.names import check_app_name
    from norn.operations.validation import check_file

    check_app_name(name)
    try:
        path = find(name, spec_path=None, apps_dir=service.settings.apps_dir, cwd=service.folder)
    except SpecError as exc:
        raise ApiError(404, _text(exc)) from None
    checked = check_file(path)  # what norn validate reports
    if checked.problems:
        more = f" (and {len(checked.problems) - 1} more)" if len(checked.problems) > 1 else ""
        raise ApiError(422, checked.problems[0] + more, problems=[fields(p, str(path)) for p in checked.problems])
    try:
        check_forgeable(checked.spec, path)
    except SpecError as exc:
        raise ApiError(422, _text(exc), problems=[fields(exc.message, str(path))]) from None
    return checked.spec


def forge(service: Service, name: str, force: bool, wait_seconds: float | None) -> tuple[int, dict]:
    """202 and the run, or 200 when there is nothing to do."""
    from norn.infraspec.digest import spec_digest
    from norn.operations import lifecycle

    accepting(service)
    spec = spec_of(service, name)

    def decide(store) -> str | None:
        state = lifecycle.current(store, name)
        return lifecycle.decide_forge(state, spec, service.settings, spec_digest(spec), force=force, repair=False)[1]

    def work(store, connect, tools, sink) -> object:
        return lifecycle.forge(spec, service.settings, store, sink, connect, force=force, wait_seconds=wait_seconds,
                               tools=tools)

    return _start(service, name, "forge", decide, work)


def teardown(service: Service, name: str, delete_volumes: bool) -> tuple[int, dict]:
    from norn.cli.known import check_known
    from norn.cli.wiring import store_for
    from norn.names import check_app_name
    from norn.operations import lifecycle
    from norn.state import ForgeState

    accepting(service)
    check_app_name(name)
    store = store_for(service.settings)
    if store.load(name) is None:  # as the CLI's teardown: no lock (file) is taken for an app with no state
        check_known(name, store, service.settings, service.folder)  # 404 for an app norn does not know
        if not store.is_running(name):
            return 200, {"ran": False, "message": lifecycle.decide_teardown(ForgeState(name), service.settings, None)}

    def decide(store) -> str | None:
        return lifecycle.decide_teardown(lifecycle.current(store, name), service.settings, None)

    def work(store, connect, tools, sink) -> object:
        return lifecycle.teardown(name, service.settings, store, sink, connect, delete_volumes=delete_volumes,
                                  tools=tools)

    return _start(service, name, "teardown", decide, work)


def accepting(service: Service) -> None:
    """503 once the server stops: a run accepted meanwhile fails before its first step, changing nothing."""
    if service.runs.stopping:
        raise ApiError(503, "norn serve is stopping: it accepts no new run")


def _start(service: Service, name: str, operation: str, decide, work) -> tuple[int, dict]:
    """Claim the app, take its lock and decide; accept a run that holds both until it ends."""
    from norn.cli.wiring import connector, store_for
    from norn.steps.pipeline import Tools

    service.runs.claim(name)
    held = ExitStack()
    try:
        store = store_for(service.settings)  # a store of its own: its record of what it read is this run's
        held.enter_context(store.lock(name))
        nothing = decide(store)
    except BaseException:
        held.close()
        service.runs.unclaim(name)
        raise
    if nothing:
        held.close()
        service.runs.unclaim(name)
        return 200, {"ran": False, "message": nothing}
    locked, connect = Held(store), connector(service.settings)
    run = service.runs.accept(
        name, operation, lambda sink, stopped: work(locked, connect, Tools(stopped=stopped), sink), held.close)
    return 202, {"run": run.id, "app": name, "operation": operation, "events": f"/v1/events?app={name}"}


class Held:
    """The run's store while the server holds the app's lock for it: the operation's own lock() is a no-op."""

    def __init__(self, store) -> None:
        self._store = store

    def lock(self, app: str) -> ExitStack:
        return ExitStack()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)
