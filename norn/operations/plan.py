"""What a forge or teardown would do: the real operation, run against recording adapters.

``norn plan`` runs lifecycle.forge or lifecycle.teardown itself, with the same
steps through the same pipeline, as kubectl runs its one request helper with a
dry-run flag. The cluster, cloudflared and the Cloudflare API are recording
variants (kube.recording, cloudflare.recording): reads are real, writes are
recorded; the state is an in-memory copy, never saved, and no lock is taken.
The plan is then read off the pipeline's events and what was recorded, so
there is no second copy of any step here, and a new step needs no plan code.
"""

from __future__ import annotations

import copy
import difflib
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from norn.cloudflare.recording import RecordingApi, RecordingCloudflared
from norn.errors import AlreadyExists, ClusterError, StepFailed
from norn.events import COMPLETED, FAILED, SKIPPED, Event
from norn.infraspec.digest import spec_digest
from norn.kube import smp
from norn.kube.kinds import CONFIGMAP
from norn.kube.recording import Recorder, RecordingCluster, RecordingWaiting, Write
from norn.operations import lifecycle
from norn.settings import CLOUDFLARED_CONFIG_KEY
from norn.state import ForgeState, ForgeStatus
from norn.steps.pipeline import Tools, open_cloudflare_api

if TYPE_CHECKING:
    from norn.infraspec.model import Infraspec
    from norn.kube.cluster import Cluster
    from norn.settings import Settings
    from norn.store import StateStore

RUN = "run"  # would run
UPDATE = "update"  # would run, changing what the app has in place
RESUME = "resume"  # would run again, resuming a failed run
SKIP = "skip"  # would be skipped
FAIL = "fail"  # would fail, and stop the run
BLOCKED = "blocked"  # would not be reached: an earlier step fails


@dataclass
class StepPlan:
    operation: str  # forge | teardown
    step: str
    action: str  # RUN, RESUME, SKIP, FAIL or BLOCKED
    why: str
    changes: list[str] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "step": self.step, "action": self.action, "why": self.why,
                "changes": self.changes}


@dataclass
class ObjectUpdate:
    """One object an update would patch: its field changes, and the live object's diff as kubectl diff shows it."""

    kind: str
    namespace: str
    name: str
    changes: list  # smp.Change
    diff: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name,
                "changes": [c.to_json() for c in self.changes], "diff": self.diff}


@dataclass
class Plan:
    app: str
    operation: str  # forge | teardown
    summary: str
    steps: list[StepPlan] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    config_name: str = ""  # namespace/name of the cloudflared ConfigMap, once read
    config_before: str | None = None
    config_after: str | None = None
    updates: list[ObjectUpdate] = field(default_factory=list)

    @property
    def objects(self) -> list[dict]:
        """The objects the run would create, in the order it would create them."""
        return [w.body for s in self.steps for w in s.writes if w.method == "POST"]

    @property
    def fails(self) -> bool:
        return any(s.action == FAIL for s in self.steps)

    def config_diff(self) -> str:
        """A unified diff of the cloudflared ``config.yaml``; empty when it would not change."""
        if self.config_before is None or self.config_after is None or self.config_before == self.config_after:
            return ""
        where = f"{self.config_name}/{CLOUDFLARED_CONFIG_KEY}"
        lines = difflib.unified_diff(
            self.config_before.splitlines(keepends=True),
            self.config_after.splitlines(keepends=True),
            f"a/{where}",
            f"b/{where}",
        )
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "operation": self.operation,
            "summary": self.summary,
            "steps": [s.to_json() for s in self.steps],
            "objects": self.objects,
            "configDiff": self.config_diff(),
            "kept": self.kept,
            "updates": [u.to_json() for u in self.updates],
        }


# --- the two operations, dry -------------------------------------------------------


def plan_forge(
    spec: "Infraspec",
    settings: "Settings",
    store: "StateStore",
    connect: Callable[[], "Cluster"],
    *,
    force: bool = False,
    repair: bool = False,
    delete_volumes: bool = False,
    wait_seconds: float | None = None,
) -> Plan:
    """What ``norn forge`` would do: lifecycle.forge itself, against recording adapters."""
    app, dry = spec.app, DryRun(store, connect)
    before = lifecycle.current(dry.store, app)
    updating = not force and lifecycle.is_update(before, spec_digest(spec), repair)
    resume = before.status == ForgeStatus.FORGE_FAILED and not force and not updating
    if updating:
        how = "restore what drifted from the infraspec" if repair else "change what the edited infraspec changes"
        summary = f"an in-place update of {app}: {how}; nothing is deleted and made again"
    elif force and before.status != ForgeStatus.UNFORGED:
        summary = f"a forced re-forge of {app}: tear down what is recorded, then forge afresh into {settings.namespace}"
    elif resume:
        summary = f"a resumed forge of {app}: steps the failed run recorded as done are skipped"
    else:
        summary = f"a fresh forge of {app} into namespace {settings.namespace}"
    ran = dry.run(lambda sink: lifecycle.forge(
        spec, settings, dry.store, sink, dry.connect, force=force, repair=repair, delete_volumes=delete_volumes,
        wait_seconds=wait_seconds, tools=dry.tools,
    ))
    if not ran:
        return Plan(app, "forge", f"{app} is forged and up to date: nothing would run "
                    "(--repair restores what drifted; --force plans a teardown and a fresh forge)")
    why = _why_update(repair) if updating else _why_run(before if resume else None)
    return dry.plan(app, "forge", summary, settings, why)


def plan_teardown(
    app: str,
    settings: "Settings",
    store: "StateStore",
    connect: Callable[[], "Cluster"],
    *,
    delete_volumes: bool = False,
    namespace_flag: str | None = None,
) -> Plan:
    """What ``norn teardown`` would delete, and what it would keep."""
    dry = DryRun(store, connect)
    before = lifecycle.current(dry.store, app)
    ran = dry.run(lambda sink: lifecycle.teardown(
        app, settings, dry.store, sink, dry.connect, delete_volumes=delete_volumes, namespace_flag=namespace_flag,
        tools=dry.tools,
    ))
    if not ran:
        return Plan(app, "teardown", f"{app}: nothing to tear down (it is not forged)")
    namespace = before.resources.namespace or settings.namespace
    return dry.plan(app, "teardown", f"a teardown of {app} in namespace {namespace}", settings, _why_run(None))


def check_with_server(plan: Plan, cluster: "Cluster") -> None:
    """Send every write with ``dryRun=All``; a step the server would refuse becomes a failure."""
    for step in plan.steps:
        if step.action not in (RUN, RESUME, UPDATE):
            continue
        for write in step.writes:
            name = None if write.method == "POST" else write.name
            try:
                cluster.dry_run(write.method, write.kind, write.namespace, name, write.body, write.content_type)
            except ClusterError as exc:
                if isinstance(exc, AlreadyExists) and write.replaces:
                    continue  # it exists until the deletion planned before it is done
                step.action, step.why = FAIL, f"the server refused {write.describe()}: {exc.message}"
                break


# --- the dry run's adapters, and reading the plan off them ---------------------------


class DryRun:
    """One dry run: its recording adapters, its unsaved state, and the step events it hears."""

    def __init__(self, store: "StateStore", connect: Callable[[], "Cluster"]) -> None:
        self.recorder = Recorder()
        self.cluster = RecordingCluster(connect, self.recorder)
        self.store = UnsavedStore(store)
        self.tools = Tools(
            cloudflared=RecordingCloudflared(self.recorder),
            cloudflare_api=lambda base_url, token: RecordingApi(open_cloudflare_api(base_url, token), self.recorder),
            waiting=RecordingWaiting(self.recorder),
            recorder=self.recorder,
        )
        self.events: list[Event] = []

    def connect(self) -> RecordingCluster:
        return self.cluster

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass

    def run(self, operation: Callable[["DryRun"], "lifecycle.Outcome"]) -> bool:
        """Run the operation; False when it had nothing to do. A failed step ends it, as it would the real one."""
        try:
            return operation(self).ran
        except StepFailed:
            return True

    def plan(self, app: str, operation: str, summary: str, settings: "Settings", why_run: Callable) -> Plan:
        plan = Plan(app, operation, summary)
        finished = {}
        for event in self.events:
            status = event.payload.get("status")
            if event.kind == "step" and status in (COMPLETED, SKIPPED, FAILED):
                finished[(event.operation, event.payload["step"])] = (status, event.payload.get("output") or "")
        failed_at = None
        for key in self.recorder.expected:
            op, name = key
            if key not in finished:
                plan.steps.append(StepPlan(op, name, BLOCKED, f"not reached: {failed_at} would fail"))
                continue
            status, output = finished[key]
            entries = self.recorder.of(key)
            plan.kept += [e.kept for e in entries if e.kept and e.kept not in plan.kept]
            if status == SKIPPED:
                plan.steps.append(StepPlan(op, name, SKIP, output))
                continue
            lines = [e.line for e in entries if e.line]
            writes = [e.write for e in entries if e.write is not None]
            if status == FAILED:
                failed_at = name
                plan.steps.append(StepPlan(op, name, FAIL, output, lines, writes))
            else:
                action, why = why_run(op, name)
                plan.steps.append(StepPlan(op, name, action, why, lines or output.splitlines(), writes))
        self._config(plan, settings)
        self._updates(plan)
        return plan

    def _updates(self, plan: Plan) -> None:
        """Each object an update patches, as the server has it and as the patch would leave it."""
        for write in [w for s in plan.steps for w in s.writes]:
            if write.method != "PATCH" or not isinstance(write.body, dict) or "uid" not in (write.body.get("metadata") or {}):
                continue  # norn's updates carry the uid; the cloudflared restart does not
            before = self.cluster.read(write.kind, write.namespace, write.name) or {}
            after = smp.apply(before, write.body)
            plan.updates.append(ObjectUpdate(write.kind.name, write.namespace, write.name,
                                             smp.field_changes(before, after), smp.unified_diff(before, after)))

    def _config(self, plan: Plan, settings: "Settings") -> None:
        """The cloudflared config as read, and as the recorded writes leave it."""
        namespace, name = settings.cloudflared_namespace, settings.cloudflared_configmap
        if not self.cluster.was_read(CONFIGMAP, namespace, name):
            return
        plan.config_name = f"{namespace}/{name}"
        plan.config_before = _config_text(self.cluster.read(CONFIGMAP, namespace, name))
        plan.config_after = _config_text(self.cluster.get(CONFIGMAP, namespace, name))


def _config_text(configmap: dict | None) -> str | None:
    return ((configmap or {}).get("data") or {}).get(CLOUDFLARED_CONFIG_KEY)


def _why_update(repair: bool) -> Callable[[str, str], tuple[str, str]]:
    because = "--repair: restore what drifted" if repair else "the infraspec changed since the forge"
    return lambda operation, step: (UPDATE, because)


def _why_run(failed: ForgeState | None) -> Callable[[str, str], tuple[str, str]]:
    """The action and why of a step that would run; ``failed``: the state of the failed forge it resumes."""

    def why(operation: str, step: str) -> tuple[str, str]:
        if operation == "teardown":
            return RUN, "recorded at forge time"
        if failed is None:
            return RUN, "not done yet"
        error = failed.error or ""
        if error.startswith(f"{step}: "):
            return RESUME, f"failed last time: {error[len(step) + 2:]}"
        return RESUME, "not recorded as done by the failed run"

    return why


class UnsavedStore:
    """A dry run's state store: reads the real one once, keeps every save in memory, takes no lock."""

    def __init__(self, store: "StateStore") -> None:
        self._store = store
        self._states: dict[str, ForgeState | None] = {}

    def load(self, app: str) -> ForgeState | None:
        if app not in self._states:
            self._states[app] = self._store.load(app)
        return copy.deepcopy(self._states[app])

    def save(self, state: ForgeState) -> None:
        self._states[state.app] = copy.deepcopy(state)

    def lock(self, app: str) -> nullcontext:
        return nullcontext()  # a plan changes nothing, so it holds nothing

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)  # list(), is_running(), where(): reads
