"""The kinds the stand-in serves, and how the real server treats each (its strategy's flags)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    """One REST resource, and how the real server treats it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    generation: bool = False  # metadata.generation counts spec changes
    status: bool = False  # has a status subresource: main-resource writes keep .status
    returns_deleted: bool = False  # DELETE answers the object rather than a Status
    dns_label: bool = False  # the name must be a DNS-1035 label, not a subdomain
    unconditional_update: bool = True  # the strategy's AllowUnconditionalUpdate: a PUT may omit resourceVersion
    create_on_update: bool = False  # the strategy's AllowCreateOnUpdate: a PUT may create

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """How error messages name the resource: ``deployments.apps``, ``services``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


RESOURCES = (
    Resource("", "v1", "namespaces", "Namespace", namespaced=False, status=True, returns_deleted=True),
    Resource("", "v1", "services", "Service", status=True, returns_deleted=True, dns_label=True),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", status=True, returns_deleted=True),
    Resource("", "v1", "pods", "Pod", status=True, returns_deleted=True),
    Resource("", "v1", "configmaps", "ConfigMap"),
    Resource("", "v1", "secrets", "Secret"),
    Resource("", "v1", "endpoints", "Endpoints"),
    Resource("", "v1", "events", "Event"),
    Resource("apps", "v1", "deployments", "Deployment", generation=True, status=True),
    Resource("batch", "v1", "cronjobs", "CronJob", generation=True, status=True),
    Resource("batch", "v1", "jobs", "Job", generation=True, status=True),
    Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False),
    # pkg/registry/coordination/lease/strategy.go: AllowUnconditionalUpdate false, AllowCreateOnUpdate true.
    Resource("coordination.k8s.io", "v1", "leases", "Lease", unconditional_update=False, create_on_update=True),
)
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
NAMESPACES = RESOURCES[0]
BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}
GROUP_VERSIONS = sorted({(r.group, r.version) for r in RESOURCES})


def resource_for(plural: str, group: str = "") -> Resource:
    """The served resource with this plural in this API group."""
    for resource in RESOURCES:
        if resource.plural == plural and resource.group == group:
            return resource
    raise KeyError(f"the stand-in does not serve {plural!r} in group {group!r}")


