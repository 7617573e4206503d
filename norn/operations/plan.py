"""What a forge or teardown would do, decided without changing anything.

The planner walks the steps the real run would walk, asks each step its own
``skip_reason`` on a copy of the state, and builds the objects with the same
``manifests`` functions, so what it shows is what forge would send. It reads
the cluster only through a ``look`` function (GETs), which makes it pure given
what it reads. Of each step's bookkeeping it mirrors what later steps decide
on (a rule added means cloudflared is restarted; a teardown deletes what the
forge after it creates again).
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from norn import events
from norn.cloudflare import ingress
from norn.errors import AlreadyExists, ClusterError, NornError
from norn.kube import ownership
from norn.kube.kinds import (
    CONFIGMAP,
    CRONJOB,
    DEPLOYMENT,
    PVC,
    SERVICE,
    STRATEGIC_MERGE,
    Kind,
)
from norn.kube.rollout import format_seconds
from norn.operations import lifecycle
from norn.settings import CLOUDFLARED_CONFIG_KEY
from norn.state import ForgeState, ForgeStatus
from norn.steps import CREATED_UIDS, manifests
from norn.steps.pipeline import Context, Step
from norn.steps.tunnel import RESTARTED_AT
from norn.steps.wait import wait_steps

if TYPE_CHECKING:
    from norn.infraspec.model import Infraspec
    from norn.kube.cluster import Cluster
    from norn.settings import Settings

RUN = "run"  # would run
RESUME = "resume"  # would run again, resuming a failed run
SKIP = "skip"  # would be skipped
FAIL = "fail"  # would fail, and stop the run
BLOCKED = "blocked"  # would not be reached: an earlier step fails

Look = Callable[[Kind, str, str], "dict | None"]


@dataclass
class Write:
    """One request the run would send; ``--server-dry-run`` sends it with ``dryRun=All``."""

    method: str  # POST, PUT, PATCH or DELETE
    kind: Kind
    namespace: str
    name: str
    body: Any = None
    content_type: str = "application/json"
    replaces: bool = False  # a create of an object an earlier step of the plan deletes

    def describe(self) -> str:
        return self.kind.describe(self.namespace, self.name)


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
class Plan:
    app: str
    operation: str  # forge | teardown
    summary: str
    steps: list[StepPlan] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    config_name: str = ""  # namespace/name of the cloudflared ConfigMap, once read
    config_before: str | None = None
    config_after: str | None = None

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
        }


# --- the two operations ------------------------------------------------------------


def plan_forge(
    spec: "Infraspec",
    settings: "Settings",
    state: ForgeState,
    look: Look,
    *,
    force: bool = False,
    wait_seconds: float | None = None,
) -> Plan:
    """What ``norn forge`` would do from this state, as lifecycle.forge decides it."""
    app = spec.app
    if state.status == ForgeStatus.FORGED and not force:
        return Plan(app, "forge", f"{app} is already forged: nothing would run (--force plans a teardown and a fresh forge)")
    if not force:
        lifecycle.check_namespace(state, settings)
    sim = _Sim(Context(app, settings, copy.deepcopy(state), spec=spec), look)
    plan = sim.plan = Plan(app, "forge", f"a fresh forge of {app} into namespace {settings.namespace}")
    resume = state.status == ForgeStatus.FORGE_FAILED and not force
    if force and state.status != ForgeStatus.UNFORGED:
        plan.summary = f"a forced re-forge of {app}: tear down what is recorded, then forge afresh into {settings.namespace}"
        sim.walk("teardown", lifecycle.teardown_steps(state))
        resources = sim.ctx.state.resources
        sim.ctx.state.resources = {k: v for k, v in resources.items() if k == "keptVolumes"}
    elif resume:
        plan.summary = f"a resumed forge of {app}: steps the failed run recorded as done are skipped"
    sim.ctx.state.resources["namespace"] = settings.namespace
    waits = wait_steps(wait_seconds) if wait_seconds else []
    sim.wait_seconds = wait_seconds or 0.0
    sim.walk("forge", lifecycle.forge_steps(spec) + waits, resume=resume)
    return plan


def plan_teardown(
    app: str, settings: "Settings", state: ForgeState, look: Look, *, delete_volumes: bool = False
) -> Plan:
    """What ``norn teardown`` would delete, and what it would keep."""
    if not lifecycle.has_work_to_undo(state):
        return Plan(app, "teardown", f"{app}: nothing to tear down (it is not forged)")
    sim = _Sim(Context(app, settings, copy.deepcopy(state), delete_volumes=delete_volumes), look)
    namespace = state.resources.get("namespace") or settings.namespace
    sim.plan = Plan(app, "teardown", f"a teardown of {app} in namespace {namespace}")
    sim.walk("teardown", lifecycle.teardown_steps(state))
    return sim.plan


def reader(connect: Callable[[], "Cluster"]) -> Look:
    """A look that GETs each object once, connecting only when something is read."""
    seen: dict[tuple[str, str, str], dict | None] = {}
    cluster: list[Cluster] = []

    def look(kind: Kind, namespace: str, name: str) -> dict | None:
        key = (kind.name, namespace, name)
        if key not in seen:
            if not cluster:
                cluster.append(connect())
            seen[key] = cluster[0].get(kind, namespace, name)
        return copy.deepcopy(seen[key])

    return look


def check_with_server(plan: Plan, cluster: "Cluster") -> None:
    """Send every write with ``dryRun=All``; a step the server would refuse becomes a failure."""
    for step in plan.steps:
        if step.action not in (RUN, RESUME):
            continue
        for write in step.writes:
            name = None if write.method == "POST" else write.name
            try:
                cluster.dry_run(write.method, write.kind, write.namespace, name, write.body, write.content_type)
            except ClusterError as exc:
                if isinstance(exc, AlreadyExists) and write.replaces:
                    continue  # it exists until the teardown planned before it deletes it
                step.action, step.why = FAIL, f"the server refused {write.describe()}: {exc.message}"
                break


# --- walking the steps -------------------------------------------------------------


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Fail(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason

    @classmethod
    def of(cls, exc: NornError) -> "_Fail":
        """Worded as the pipeline words a failed step."""
        return cls(f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message)


class _Sim:
    """The copy of the run's context the plan moves forward, and the cluster as the plan changes it."""

    def __init__(self, ctx: Context, look: Look) -> None:
        self.ctx = ctx
        self._look = look
        self.plan: Plan
        self.deleted: set[tuple[str, str, str]] = set()
        self.blocked_by: str | None = None
        self.wait_seconds = 0.0  # --timeout of the waits, when --wait is planned
        self._configmap: dict | None = None
        self._config_read = False

    @property
    def resources(self) -> dict:
        return self.ctx.resources

    def look(self, kind: Kind, namespace: str, name: str) -> dict | None:
        return None if (kind.name, namespace, name) in self.deleted else self._look(kind, namespace, name)

    def walk(self, operation: str, steps: list[Step], *, resume: bool = False) -> None:
        for step in steps:
            if self.blocked_by:
                self.plan.steps.append(StepPlan(operation, step.name, BLOCKED, f"not reached: {self.blocked_by} would fail"))
                continue
            reason = step.skip_reason(self.ctx)
            if reason is not None:
                self.plan.steps.append(StepPlan(operation, step.name, SKIP, reason))
                continue
            planned = StepPlan(operation, step.name, RESUME if resume else RUN, self._why_run(operation, step, resume))
            try:
                _PLANNERS[step.name](self, planned)
            except _Skip as skip:
                planned.action, planned.why, planned.changes, planned.writes = SKIP, skip.reason, [], []
            except _Fail as fail:
                planned.action, planned.why = FAIL, fail.reason
                self.blocked_by = step.name
            self.plan.steps.append(planned)

    def _why_run(self, operation: str, step: Step, resume: bool) -> str:
        if not resume:
            return "recorded at forge time" if operation == "teardown" else "not done yet"
        error = self.ctx.state.error or ""
        if error.startswith(f"{step.name}: "):
            return f"failed last time: {error[len(step.name) + 2:]}"
        return "not recorded as done by the failed run"

    # the cloudflared config, as the plan edits it

    def config_text(self) -> str | None:
        """The config text as earlier steps of the plan leave it; None when the ConfigMap does not exist."""
        settings = self.ctx.settings
        namespace, name = settings.cloudflared_namespace, settings.cloudflared_configmap
        if not self._config_read:
            self._configmap = self.look(CONFIGMAP, namespace, name)
            self._config_read = True
            self.plan.config_name = f"{namespace}/{name}"
            if self._configmap is not None:
                text = (self._configmap.get("data") or {}).get(CLOUDFLARED_CONFIG_KEY)
                self.plan.config_before = self.plan.config_after = text
        if self._configmap is None:
            return None
        if self.plan.config_after is None:
            raise _Fail(f"ConfigMap {namespace}/{name} has no {CLOUDFLARED_CONFIG_KEY} key")
        return self.plan.config_after

    def edit_config(self, planned: StepPlan, text: str) -> None:
        self.plan.config_after = text
        body = copy.deepcopy(self._configmap)
        body["data"][CLOUDFLARED_CONFIG_KEY] = text
        settings = self.ctx.settings
        planned.writes.append(Write("PUT", CONFIGMAP, settings.cloudflared_namespace, settings.cloudflared_configmap, body))

    # objects

    def create(self, planned: StepPlan, kind: Kind, obj: dict) -> None:
        namespace, name = self.ctx.namespace, obj["metadata"]["name"]
        what = kind.describe(namespace, name)
        replaces = (kind.name, namespace, name) in self.deleted
        existing = self.look(kind, namespace, name)
        claimed_by = ownership.owner(existing) if existing is not None else None
        if existing is not None and ownership.deleting(existing):
            planned.changes.append(f"wait for {what} to finish being deleted, then create it afresh")
            planned.writes.append(Write("POST", kind, namespace, name, obj, replaces=True))
        elif existing is None:
            planned.changes.append(f"create {what}")
            planned.writes.append(Write("POST", kind, namespace, name, obj, replaces=replaces))
        elif claimed_by == self.ctx.app:
            planned.changes.append(f"{what} already exists (made by norn for {claimed_by}): counts as done")
        elif claimed_by is not None:
            raise _Fail(f"{what} belongs to norn app {claimed_by}; norn never takes over another app's objects")
        else:
            raise _Fail(f"{what} exists but was not created by norn; norn never adopts, changes or deletes it")

    def delete(self, planned: StepPlan, kind: Kind, name: str) -> None:
        namespace = self.ctx.namespace
        what = kind.describe(namespace, name)
        existing = self.look(kind, namespace, name)
        recorded = self.resources.get(CREATED_UIDS, {}).get(f"{kind.name}/{name}")
        if existing is None:
            planned.changes.append(f"{what} is already gone")
            return
        uid = existing.get("metadata", {}).get("uid")
        claimed_by = ownership.owner(existing)
        if not (recorded and recorded == uid) and claimed_by != self.ctx.app:
            if claimed_by is not None:
                self.plan.kept.append(f"{what}: belongs to norn app {claimed_by}")
                planned.changes.append(f"leave {what} in place: it belongs to norn app {claimed_by}")
                return
            self.plan.kept.append(f"{what}: not created by norn")
            raise _Fail(f"{what} exists but was not created by norn; norn never deletes it")
        planned.changes.append(f"delete {what}")
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if uid:
            body["preconditions"] = {"uid": uid}
        planned.writes.append(Write("DELETE", kind, namespace, name, body))
        self.deleted.add((kind.name, namespace, name))


# --- one planner per step, mirroring what its run() does -----------------------------------


def _create_deployment(sim: _Sim, planned: StepPlan) -> None:
    spec, ctx = sim.ctx.spec, sim.ctx
    claims = manifests.persistent_volume_claims(spec, ctx.namespace)
    for claim in claims:
        sim.create(planned, PVC, claim)
    sim.create(planned, DEPLOYMENT, manifests.deployment(spec, ctx.settings))
    sim.resources["deployment"] = spec.app
    if claims:
        sim.resources["persistentVolumeClaims"] = [c["metadata"]["name"] for c in claims]


def _create_service(sim: _Sim, planned: StepPlan) -> None:
    sim.create(planned, SERVICE, manifests.service(sim.ctx.spec, sim.ctx.settings))
    sim.resources["service"] = sim.ctx.spec.hosts.internal


def _register_cron(sim: _Sim, planned: StepPlan) -> None:
    sim.create(planned, CRONJOB, manifests.cronjob(sim.ctx.spec, sim.ctx.settings))
    planned.changes[-1] += f" (schedule {sim.ctx.spec.schedule})"
    sim.resources["cronJob"] = sim.ctx.spec.app


def _patch_cloudflared(sim: _Sim, planned: StepPlan) -> None:
    text = sim.config_text()
    if text is None:
        raise _Skip(f"ConfigMap {sim.plan.config_name} not found: cloudflared is not deployed")
    hostname = sim.ctx.spec.hosts.external
    service = manifests.service_url(sim.ctx.spec, sim.ctx.namespace)
    try:
        new_text, changed = ingress.add_rule(text, hostname, service)
    except NornError as exc:
        raise _Fail.of(exc) from None
    if changed:
        planned.changes.append(f"add the rule {hostname} → {service} to ConfigMap {sim.plan.config_name}")
        sim.edit_config(planned, new_text)
    else:
        planned.changes.append(f"the rule {hostname} → {service} is already in ConfigMap {sim.plan.config_name}")
    sim.resources["ingressRule"] = {"hostname": hostname, "service": service, "configMap": sim.plan.config_name}
    sim.resources["cloudflaredRestartPending"] = True


def _unpatch_cloudflared(sim: _Sim, planned: StepPlan) -> None:
    rule = sim.resources.pop("ingressRule")
    text = sim.config_text()
    if text is None:
        planned.changes.append(f"ConfigMap {sim.plan.config_name} is gone; nothing to remove")
        return
    try:
        new_text, changed = ingress.remove_rule(text, rule["hostname"], rule["service"])
    except NornError as exc:
        raise _Fail.of(exc) from None
    if changed:
        planned.changes.append(f"remove the rule {rule['hostname']} from ConfigMap {sim.plan.config_name}")
        sim.edit_config(planned, new_text)
    else:
        planned.changes.append(f"{rule['hostname']} is not in ConfigMap {sim.plan.config_name}")
    sim.resources["cloudflaredRestartPending"] = True
    sim.plan.kept.append(f"ConfigMap {sim.plan.config_name}: the operator's; only norn's rule is removed")


def _restart_cloudflared(sim: _Sim, planned: StepPlan) -> None:
    settings = sim.ctx.settings
    namespace, name = settings.cloudflared_namespace, settings.cloudflared_deployment
    sim.resources.pop("cloudflaredRestartPending", None)
    if sim.look(DEPLOYMENT, namespace, name) is None:
        raise _Skip(f"no cloudflared Deployment {namespace}/{name}")
    stamp = events.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    planned.changes.append(f"restart Deployment {namespace}/{name}: set the pod template annotation {RESTARTED_AT}")
    planned.writes.append(Write("PATCH", DEPLOYMENT, namespace, name, patch, STRATEGIC_MERGE))


def _create_dns_route(sim: _Sim, planned: StepPlan) -> None:
    hostname, tunnel = sim.ctx.spec.hosts.external, sim.ctx.settings.tunnel_name
    planned.changes.append(f"run cloudflared tunnel route dns {tunnel} {hostname}")
    sim.resources["dnsRoute"] = {"hostname": hostname, "tunnel": tunnel}


def _remove_dns_route(sim: _Sim, planned: StepPlan) -> None:
    route = sim.resources.pop("dnsRoute")
    if sim.ctx.settings.cloudflare_token:
        planned.changes.append(f"delete the CNAME {route['hostname']} through the Cloudflare API, if it points at the tunnel")
        return
    planned.changes.append(
        f"warn: without CLOUDFLARE_API_TOKEN norn cannot delete DNS records; delete the CNAME {route['hostname']} by hand"
    )
    sim.plan.kept.append(f"DNS record {route['hostname']} → tunnel {route['tunnel']}: no CLOUDFLARE_API_TOKEN to delete it")


def _delete_service(sim: _Sim, planned: StepPlan) -> None:
    sim.delete(planned, SERVICE, sim.resources.pop("service"))


def _unregister_cron(sim: _Sim, planned: StepPlan) -> None:
    sim.delete(planned, CRONJOB, sim.resources.pop("cronJob"))


def _delete_deployment(sim: _Sim, planned: StepPlan) -> None:
    if sim.resources.get("deployment"):
        sim.delete(planned, DEPLOYMENT, sim.resources.pop("deployment"))
    claims = sim.resources.pop("persistentVolumeClaims", [])
    for claim in claims:
        if sim.ctx.delete_volumes:
            sim.delete(planned, PVC, claim)
        else:
            what = PVC.describe(sim.ctx.namespace, claim)
            planned.changes.append(f"keep {what} with its data (--delete-volumes deletes it)")
            sim.plan.kept.append(f"{what}: volumes are kept unless --delete-volumes is given")
    if claims and not sim.ctx.delete_volumes:
        sim.resources["keptVolumes"] = claims


def _wait_rollout(sim: _Sim, planned: StepPlan) -> None:
    what = DEPLOYMENT.describe(sim.ctx.namespace, sim.ctx.spec.app)
    planned.changes.append(f"wait up to {_budget(sim)} for {what} to roll out")


def _wait_cloudflared(sim: _Sim, planned: StepPlan) -> None:
    namespace, name = sim.ctx.settings.cloudflared_namespace, sim.ctx.settings.cloudflared_deployment
    if sim.look(DEPLOYMENT, namespace, name) is None:
        raise _Skip(f"no cloudflared Deployment {namespace}/{name}")
    planned.changes.append(f"wait up to {_budget(sim)} for {DEPLOYMENT.describe(namespace, name)} to roll out")


def _budget(sim: _Sim) -> str:
    return format_seconds(sim.wait_seconds)


_PLANNERS: dict[str, Callable[[_Sim, StepPlan], None]] = {
    "create-deployment": _create_deployment,
    "create-service": _create_service,
    "patch-cloudflared": _patch_cloudflared,
    "create-dns-route": _create_dns_route,
    "restart-cloudflared": _restart_cloudflared,
    "register-cron": _register_cron,
    "remove-dns-route": _remove_dns_route,
    "unpatch-cloudflared": _unpatch_cloudflared,
    "delete-service": _delete_service,
    "delete-deployment": _delete_deployment,
    "unregister-cron": _unregister_cron,
    "wait-rollout": _wait_rollout,
    "wait-cloudflared": _wait_cloudflared,
}
