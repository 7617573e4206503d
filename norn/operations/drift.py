"""``status --live``: what the cluster says now about what norn forged, and where it drifted.

Reading is one list call per kind (norn's label selects its objects, in one
namespace or all), plus one GET of the cloudflared ConfigMap, whatever the
number of apps. Judging is pure: ``assess`` compares the recorded state, the
infraspec and what was read. An object counts as edited when a field norn set
differs; fields others own (the image the deploy pipeline sets, what the
server defaults) are not norn's and never count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from norn.cloudflare import ingress
from norn.errors import NornError
from norn.infraspec.digest import spec_digest
from norn.kube import ownership
from norn.kube.kinds import (
    CONFIGMAP,
    CRONJOB,
    DEPLOYMENT,
    ENDPOINTS,
    PVC,
    SERVICE,
    Kind,
)
from norn.kube.quantity import quantity_value, same_quantity  # noqa: F401 (tests import quantity_value here)
from norn.kube.rollout import rollout_status
from norn.kube.smp import NOT_NORNS  # container fields the deploy pipeline changes
from norn.resources import DnsRoute, IngressRule
from norn.settings import CLOUDFLARED_CONFIG_KEY
from norn.state import ForgeState
from norn.steps import manifests

if TYPE_CHECKING:
    from norn.infraspec.model import Infraspec
    from norn.kube.cluster import Cluster
    from norn.settings import Settings

LISTED = (DEPLOYMENT, PVC, SERVICE, ENDPOINTS, CRONJOB)
NAME_LABEL = "app.kubernetes.io/name"  # on all norn creates; the Endpoints controller copies Service labels

Key = tuple[str, str, str]  # kind, namespace, name


@dataclass
class Observed:
    objects: dict[Key, dict] = field(default_factory=dict)
    config_name: str = ""
    config_text: str | None = None  # None: the cloudflared ConfigMap (or its key) is not there

    def get(self, kind: Kind, namespace: str, name: str) -> dict | None:
        return self.objects.get((kind.name, namespace, name))


def observe(cluster: "Cluster", apps: list[str], namespaces: set[str], settings: "Settings") -> Observed:
    """One list per kind, in the one namespace the apps use or across all of them.

    Objects are selected by app name, not by norn's managed-by label, so one
    whose ownership label was edited is reported as edited, not as gone.
    """
    namespace = next(iter(namespaces)) if len(namespaces) == 1 else None
    selector = f"{NAME_LABEL} in ({','.join(sorted(apps))})"
    observed = Observed(config_name=f"{settings.cloudflared_namespace}/{settings.cloudflared_configmap}")
    for kind in LISTED:
        for obj in cluster.list(kind, namespace, labels=selector):
            meta = obj["metadata"]
            observed.objects[(kind.name, meta.get("namespace", ""), meta["name"])] = obj
    configmap = cluster.get(CONFIGMAP, settings.cloudflared_namespace, settings.cloudflared_configmap)
    observed.config_text = ((configmap or {}).get("data") or {}).get(CLOUDFLARED_CONFIG_KEY)
    return observed


# The kinds of what is not a Kubernetes object, in the JSON of `status --live` (named by hostname or app).
INGRESS_RULE, DNS_RECORD, INFRASPEC = "IngressRule", "DNSRecord", "Infraspec"


def _identity(kind: str, name: str, namespace: str | None) -> dict[str, Any]:
    """kind and name, and the namespace of a Kubernetes object (the others have none)."""
    return {"kind": kind, "name": name, **({"namespace": namespace} if namespace is not None else {})}


@dataclass
class Drift:
    what: str  # the message, as the text view shows it
    fix: str
    kind: str
    name: str
    namespace: str | None = None
    field: str | None = None  # the edited field's path, for an edited object

    def to_json(self) -> dict[str, Any]:
        found = _identity(self.kind, self.name, self.namespace)
        if self.field is not None:
            found["field"] = self.field
        return {**found, "message": self.what, "fix": self.fix}


@dataclass
class LiveObject:
    """How one recorded thing is now: a line of the text view (label, text) and its JSON entry."""

    label: str
    text: str
    kind: str
    name: str
    state: str  # one word for machines: present, gone, missing, elsewhere, changed ...
    namespace: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**_identity(self.kind, self.name, self.namespace), "state": self.state, "message": self.text,
                **self.details}


@dataclass
class Live:
    """One app: each recorded object and how it is, and its drift."""

    app: str
    objects: list[LiveObject] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)

    @property
    def lines(self) -> list[tuple[str, str]]:
        return [(found.label, found.text) for found in self.objects]

    def to_json(self) -> dict[str, Any]:
        """A list each, not a mapping by label: two PVCs are two entries."""
        return {"live": [found.to_json() for found in self.objects], "drift": [d.to_json() for d in self.drift]}


def assess(
    state: ForgeState, spec: "Infraspec | None", spec_problem: str | None, observed: Observed, settings: "Settings"
) -> Live:
    """Compare what the state recorded (and the infraspec asks for) with what was observed."""
    app, resources = state.app, state.resources
    namespace = resources.namespace or settings.namespace
    settings = settings.with_flags(namespace=namespace)
    live = Live(app)
    force = f"norn forge {app} --repair"  # restores norn's fields in place
    changed = _spec_changed(state, spec, spec_problem, live)
    wanted = spec if spec is not None and not changed else None  # fields are compared with an unchanged spec only

    def check(kind: Kind, name: str, desired: dict | None) -> dict | None:
        obj = observed.get(kind, namespace, name)
        what = kind.describe(namespace, name)
        if obj is None:
            live.drift.append(Drift(f"{what} is gone", f"run {force} to create it again", kind.name, name, namespace))
            live.objects.append(LiveObject(kind.name, f"{name}: gone", kind.name, name, "gone", namespace))
            return None
        norns = {k: v for k, v in (desired or {}).items() if k not in ("apiVersion", "kind")}  # lists omit them
        if ownership.INSTANCE not in ((obj.get("metadata") or {}).get("labels") or {}):
            norns = _without_instance(norns)  # made before norn set the label: not an edit
        for path, want, have in edited_fields(norns, obj):
            values = f" (norn set {want!r}, now {have!r})" if _scalar(want) and _scalar(have) else ""
            live.drift.append(Drift(f"{what}: {path} was edited{values}", f"run {force} to restore it from the infraspec",
                                    kind.name, name, namespace, path))
        return obj

    def present(kind: Kind, name: str, text: str, **details: Any) -> None:
        live.objects.append(LiveObject(kind.name, f"{name}: {text}", kind.name, name, "present", namespace, details))

    if name := resources.deployment:
        desired = manifests.deployment(wanted, settings) if wanted else None
        if obj := check(DEPLOYMENT, name, desired):
            status = obj.get("status") or {}
            present(DEPLOYMENT, name, _deployment_text(obj), replicas=(obj.get("spec") or {}).get("replicas", 1),
                    readyReplicas=status.get("readyReplicas", 0), rolledOut=rollout_status(obj).done)
    for claim in resources.persistent_volume_claims:
        claims = manifests.persistent_volume_claims(wanted, namespace) if wanted else []
        desired = next((c for c in claims if c["metadata"]["name"] == claim), None)
        if obj := check(PVC, claim, desired):
            phase = (obj.get("status") or {}).get("phase")
            present(PVC, claim, phase or "no phase reported", phase=phase)
    if name := resources.service:
        desired = manifests.service(wanted, settings) if wanted else None
        if check(SERVICE, name, desired):
            ready, not_ready = _endpoint_counts(observed.get(ENDPOINTS, namespace, name))
            present(SERVICE, name, _endpoints_text(ready, not_ready), endpoints=ready, notReadyEndpoints=not_ready)
    if rule := resources.ingress_rule:
        _check_rule(rule, observed, live, force)
    if route := resources.dns_route:
        _check_dns(route, settings, live, force)
    if name := resources.cron_job:
        desired = manifests.cronjob(wanted, settings) if wanted else None
        if obj := check(CRONJOB, name, desired):
            schedule, last = obj["spec"].get("schedule"), (obj.get("status") or {}).get("lastScheduleTime")
            present(CRONJOB, name, f"schedule {schedule}, last scheduled {last or 'never'}",
                    schedule=schedule, lastScheduleTime=last)
    return live


def _spec_changed(state: ForgeState, spec: "Infraspec | None", problem: str | None, live: Live) -> bool:
    def said(text: str, word: str) -> None:
        live.objects.append(LiveObject("Infraspec", text, INFRASPEC, state.app, word))

    if spec is None:
        said(f"cannot tell whether it changed: {problem}", "unknown")
        return False
    if state.spec_digest is None:
        said("no digest recorded", "unknown")
        return False
    if state.spec_digest == spec_digest(spec):
        said("unchanged since the forge", "unchanged")
        return False
    said("changed since the forge", "changed")
    live.drift.append(Drift(
        f"the infraspec changed since the forge; run norn forge {state.app} to apply it",
        f"run norn plan {state.app} to see what would change, then norn forge {state.app}",
        INFRASPEC, state.app,
    ))
    return True


def _check_rule(rule: IngressRule, observed: Observed, live: Live, force: str) -> None:
    hostname, service = rule.hostname, rule.service

    def said(text: str, word: str, routed: str | None = None) -> None:
        details = {"service": routed, "configMap": observed.config_name}
        live.objects.append(LiveObject("Ingress rule", text, INGRESS_RULE, hostname, word, details=details))

    def drifted(what: str, fix: str) -> None:
        live.drift.append(Drift(what, fix, INGRESS_RULE, hostname))

    if observed.config_text is None:
        said(f"{hostname}: the cloudflared ConfigMap {observed.config_name} is gone", "gone")
        drifted(f"ConfigMap {observed.config_name} is gone, and the rule for {hostname} with it",
                "redeploy cloudflared, then run " + force)
        return
    try:
        routed = ingress.find_rule(observed.config_text, hostname)
    except NornError as exc:
        said(f"{hostname}: cannot read the cloudflared config: {exc.message}", "unknown")
        return
    if routed is None:
        said(f"{hostname}: missing", "missing")
        drifted(f"the ingress rule for {hostname} was removed from {observed.config_name}", f"run {force} to add it again")
    elif routed != service:
        said(f"{hostname} → {routed}", "elsewhere", routed)
        drifted(f"the ingress rule for {hostname} points to {routed}, not {service}",
                f"remove that rule from {observed.config_name}, then run {force}")
    else:
        said(f"{hostname} → {service}: present", "present", routed)


def _check_dns(route: DnsRoute, settings: "Settings", live: Live, force: str) -> None:
    """The CNAME through the Cloudflare API, when a token allows it; otherwise say it is not checked."""
    hostname = route.hostname
    if not settings.cloudflare_token:
        text = f"{hostname}: not checked (set CLOUDFLARE_API_TOKEN to check it)"
        live.objects.append(LiveObject("DNS record", text, DNS_RECORD, hostname, "unchecked"))
        return
    from norn.cloudflare.dnsrecords import dns_record_status

    tunnel_id = settings.tunnel_id or route.tunnel_id
    said = dns_record_status(hostname, tunnel_id, settings.cloudflare_token, settings.cloudflare_base_url)
    word, detail = said.split(": ", 1)  # dns_record_status says "<word>: <detail>"
    live.objects.append(LiveObject("DNS record", said, DNS_RECORD, hostname, word))
    if word in ("missing", "elsewhere"):
        live.drift.append(Drift(f"the DNS record of {hostname} {detail}", f"run {force} to route it again",
                                DNS_RECORD, hostname))


def _deployment_text(obj: dict) -> str:
    desired = (obj.get("spec") or {}).get("replicas", 1)
    status = obj.get("status") or {}
    conditions = ", ".join(
        f"{c.get('type')}={c.get('status')}" + (f" ({c['reason']})" if c.get("reason") else "")
        for c in status.get("conditions") or []
    )
    text = f"{status.get('readyReplicas', 0)}/{desired} ready, {rollout_status(obj).message}"
    return f"{text}; {conditions}" if conditions else text


def _endpoint_counts(endpoints: dict | None) -> tuple[int, int]:
    subsets = (endpoints or {}).get("subsets") or []
    ready = sum(len(s.get("addresses") or []) for s in subsets)
    return ready, sum(len(s.get("notReadyAddresses") or []) for s in subsets)


def _endpoints_text(ready: int, not_ready: int) -> str:
    return f"{ready} endpoint{'s' if ready != 1 else ''}" + (f" ({not_ready} not ready)" if not_ready else "")


def _without_instance(value: Any) -> Any:
    """A copy of desired fields without the instance label, in metadata and pod templates alike."""
    if isinstance(value, dict):
        return {k: _without_instance(v) for k, v in value.items() if k != ownership.INSTANCE}
    if isinstance(value, list):
        return [_without_instance(item) for item in value]
    return value


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def edited_fields(want: Any, have: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, what norn set, what is there) for each field norn set that differs.

    Fields norn did not set are ignored (server defaults, others' annotations);
    a list of named items is matched by name.
    """
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return [(path, want, have)]
        found = []
        for key, value in want.items():
            if key in NOT_NORNS and path.rsplit(".", 1)[-1].startswith("containers["):
                continue
            found += edited_fields(value, have.get(key), f"{path}.{key}" if path else key)
        return found
    if isinstance(want, list):
        if not isinstance(have, list) or len(have) != len(want):
            return [(path, want, have)]
        named = all(isinstance(item, dict) and "name" in item for item in want)
        found = []
        for i, item in enumerate(want):
            if named:
                other = next((h for h in have if isinstance(h, dict) and h.get("name") == item["name"]), None)
                found += edited_fields(item, other, f"{path}[{item['name']}]")
            else:
                found += edited_fields(item, have[i], f"{path}[{i}]")
        return found
    if want == have or (_QUANTITY_FIELD.search(path) and same_quantity(want, have)):
        return []
    return [(path, want, have)]


# Fields that are resource.Quantity: the server stores them in canonical form (1024Mi comes back as 1Gi).
_QUANTITY_FIELD = re.compile(r"(\.resources\.(requests|limits)\.[^.\[]+|\.sizeLimit)$")
