"""forge, teardown and force re-forge: the seed's state machine in use.

Each operation holds the app's lock for its whole run, loads the state,
decides from the state what to run, and hands the steps to the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from norn.errors import UsageError
from norn.events import Sink
from norn.infraspec.digest import spec_digest
from norn.state import ForgeState, ForgeStatus
from norn.steps import pipeline
from norn.steps.cron import RegisterCron, UnregisterCron
from norn.steps.deployment import CreateDeployment, DeleteDeployment
from norn.steps.dns import CreateDnsRoute, RemoveDnsRoute
from norn.steps.pipeline import Context, Step, Tools
from norn.steps.service import CreateService, DeleteService
from norn.steps.tunnel import PatchCloudflared, RestartCloudflared, UnpatchCloudflared
from norn.steps.update import (
    RemoveReplaced,
    UpdateCron,
    UpdateDeployment,
    UpdateService,
    refusals,
)
from norn.steps.update_tunnel import (
    RestartAfterUpdate,
    UpdateCloudflared,
    UpdateDnsRoute,
)
from norn.steps.wait import wait_steps

if TYPE_CHECKING:
    from norn.infraspec.model import Infraspec
    from norn.kube.cluster import Cluster
    from norn.settings import Settings
    from norn.store import StateStore


def forge_steps(spec: "Infraspec") -> list[Step]:
    if spec.is_cron:
        return [RegisterCron()]
    return [CreateDeployment(), CreateService(), PatchCloudflared(), CreateDnsRoute(), RestartCloudflared()]


def update_steps(spec: "Infraspec") -> list[Step]:
    if spec.is_cron:
        return [UpdateCron()]
    return [UpdateDeployment(), UpdateService(), UpdateCloudflared(), UpdateDnsRoute(), RestartAfterUpdate(),
            RemoveReplaced()]


def teardown_steps(state: ForgeState) -> list[Step]:
    if state.resources.cron_job:
        return [UnregisterCron()]
    return [RemoveDnsRoute(), UnpatchCloudflared(), RestartCloudflared(), DeleteService(), DeleteDeployment()]


@dataclass
class Outcome:
    """What an operation did, for the CLI to report. ``ran`` is False when there was nothing to do."""

    ran: bool
    message: str = ""


def current(store: "StateStore", app: str) -> ForgeState:
    """The app's state; one left mid-run by a killed process counts as failed (the caller holds the lock)."""
    return (store.load(app) or ForgeState(app)).interrupted()


def has_work_to_undo(state: ForgeState) -> bool:
    return state.status != ForgeStatus.UNFORGED


def refuse_moved(state: ForgeState | None, settings: "Settings") -> None:
    """Exit 2 for a record `norn state migrate` moved away: the backend it names holds the app now."""
    if state is not None and state.status == ForgeStatus.MOVED:
        to = state.moved_to
        raise UsageError(
            f"{state.app}: its state moved to the {to} backend (norn state migrate); "
            f"the {settings.state_backend} backend no longer holds it",
            hint=f"pass --state-backend {to} or set NORN_STATE_BACKEND={to}",
        )


def forge(
    spec: "Infraspec",
    settings: "Settings",
    store: "StateStore",
    sink: Sink,
    connect: Callable[[], "Cluster"],
    *,
    force: bool = False,
    repair: bool = False,
    delete_volumes: bool = False,
    wait_seconds: float | None = None,
    tools: Tools | None = None,
) -> Outcome:
    """Forge the app; a forged one whose infraspec changed (or with ``repair``) is updated in place.

    ``tools``: the cloudflared, Cloudflare API, waiting and recorder the steps use (a dry run's record).
    """
    app = spec.app
    with store.lock(app):
        state = current(store, app)
        digest = spec_digest(spec)
        updating, nothing = decide_forge(state, spec, settings, digest, force=force, repair=repair)
        if nothing:
            return Outcome(False, nothing)
        ctx = Context(app, settings, state, spec=spec, connect=connect, tools=tools or Tools(),
                      repair=repair, delete_volumes=delete_volumes)
        ctx.cluster.check_reachable()  # before any step: a bad kubeconfig or a down server changes nothing
        if not updating:  # an update's namespace holds its objects; a create refused there says why itself
            ctx.cluster.check_namespace(ctx.namespace)  # nor does a namespace that is missing or being deleted
        waits = wait_steps(wait_seconds) if wait_seconds else []
        if force and state.status != ForgeStatus.UNFORGED:  # the forge's steps follow in this run
            pipeline.run("teardown", teardown_steps(state), ctx, store, sink,
                         then=[step.name for step in forge_steps(spec) + waits])
            state.resources = state.resources.after_teardown()
        state.resources.namespace = settings.namespace
        if updating:  # the new digest is recorded only once every step is done: a failed update reruns
            pipeline.run("forge", update_steps(spec) + waits, ctx, store, sink,
                         on_completed=lambda done: setattr(done, "spec_digest", digest))
        else:
            state.spec_digest = digest
            pipeline.run("forge", forge_steps(spec) + waits, ctx, store, sink)
        return Outcome(True)


def decide_forge(
    state: ForgeState, spec: "Infraspec", settings: "Settings", digest: str, *, force: bool, repair: bool,
) -> tuple[bool, str | None]:
    """(whether it is an update, why there is nothing to do or None); UsageError for what no forge can do.

    Decided from the state alone, under the lock: the CLI's forge and norn serve's POST (before its 202).
    """
    refuse_moved(state, settings)
    updating = not force and is_update(state, digest, repair)
    if state.status == ForgeStatus.FORGED and not force and not updating:
        if state.resources.namespace and state.resources.namespace != settings.namespace:
            refuse_in_place(state, spec, settings)  # asked for another namespace: never "up to date"
        return False, f"{state.app} is forged and up to date"
    if updating:
        refuse_in_place(state, spec, settings)
    elif not force:
        check_namespace(state, settings)
    return updating, None


def is_update(state: ForgeState, digest: str, repair: bool) -> bool:
    """A forged app (or a failed one whose objects exist) whose infraspec changed since, or a repair, is updated."""
    if state.status == ForgeStatus.FORGED:
        return repair or state.spec_digest != digest
    if state.status == ForgeStatus.FORGE_FAILED and state.resources.has_objects():
        return repair or state.spec_digest != digest
    return False


def refuse_in_place(state: ForgeState, spec: "Infraspec", settings: "Settings") -> None:
    """Exit 2, before any request, for a change no update can make; --force can, and says what it deletes."""
    found = refusals(state, spec, settings)
    if found:
        raise UsageError(
            f"{state.app}: {'; '.join(found)}, which norn cannot change in place",
            hint=f"norn forge {state.app} --force tears the app down ({_deletes(state)}) and forges it afresh",
        )


def _deletes(state: ForgeState) -> str:
    """What a forced re-forge would delete, in a few words."""
    resources, ns = state.resources, state.resources.namespace or "default"
    parts = [f"Deployment {ns}/{resources.deployment}" if resources.deployment else "",
             f"Service {ns}/{resources.service}" if resources.service else "",
             f"the rule and DNS record of {resources.ingress_rule.hostname}" if resources.ingress_rule else "",
             f"CronJob {ns}/{resources.cron_job}" if resources.cron_job else ""]
    kept = ", volumes are kept" if resources.persistent_volume_claims else ""
    return "deletes " + ", ".join(p for p in parts if p) + kept


def teardown(
    app: str,
    settings: "Settings",
    store: "StateStore",
    sink: Sink,
    connect: Callable[[], "Cluster"],
    *,
    delete_volumes: bool = False,
    namespace_flag: str | None = None,
    tools: Tools | None = None,
) -> Outcome:
    # No namespace check: in a missing or terminating namespace the deletes find their objects gone or going,
    # which is what a teardown wants.
    with store.lock(app):
        state = current(store, app)
        nothing = decide_teardown(state, settings, namespace_flag)
        if nothing:
            return Outcome(False, nothing)
        ctx = Context(app, settings, state, delete_volumes=delete_volumes, connect=connect, tools=tools or Tools())
        ctx.cluster.check_reachable()  # before any step: a bad kubeconfig or a down server changes nothing
        pipeline.run("teardown", teardown_steps(state), ctx, store, sink)
        state.resources = state.resources.after_teardown()
        state.spec_digest = None
        store.save(state)
        return Outcome(True)


def decide_teardown(state: ForgeState, settings: "Settings", namespace_flag: str | None) -> str | None:
    """Why there is nothing to tear down, or None; UsageError for what no teardown can do (CLI and serve)."""
    refuse_moved(state, settings)
    if not has_work_to_undo(state):
        return f"{state.app}: nothing to tear down (it is not forged)"
    check_teardown_namespace(state, namespace_flag)
    return None


def check_teardown_namespace(state: ForgeState, namespace_flag: str | None) -> None:
    """Teardown acts where the objects were forged; a --namespace naming elsewhere is a mistake."""
    recorded = state.resources.namespace
    if namespace_flag and recorded and namespace_flag != recorded:
        raise UsageError(
            f"{state.app} was forged in namespace {recorded}, not {namespace_flag}",
            hint=f"run norn teardown {state.app} without --namespace, or with --namespace {recorded}",
        )


def check_namespace(state: ForgeState, settings: "Settings") -> None:
    """A resume must forge into the namespace the recorded objects are in."""
    recorded = state.resources.namespace
    if recorded and state.resources.has_objects() and recorded != settings.namespace and state.status != ForgeStatus.UNFORGED:
        raise UsageError(
            f"{state.app} has objects in namespace {recorded}; this run would forge into {settings.namespace}",
            hint=f"pass --namespace {recorded} to resume, or norn teardown {state.app} first",
        )

