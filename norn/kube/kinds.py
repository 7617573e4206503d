"""The Kubernetes kinds norn reads and writes, each with its resource path, and the patch content type."""

from __future__ import annotations

from dataclasses import dataclass

STRATEGIC_MERGE = "application/strategic-merge-patch+json"  # the content type of kubectl's default patch


@dataclass(frozen=True)
class Kind:
    name: str
    prefix: str  # "/api/v1" or "/apis/<group>/<version>"
    plural: str

    def path(self, namespace: str, name: str | None = None) -> str:
        base = f"{self.prefix}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{name}" if name else base

    def describe(self, namespace: str, name: str) -> str:
        return f"{self.name} {namespace}/{name}"

    @property
    def resource(self) -> str:
        """How RBAC names it: ``secrets``, ``leases.coordination.k8s.io``."""
        parts = self.prefix.strip("/").split("/")
        return f"{self.plural}.{parts[1]}" if parts[0] == "apis" else self.plural


DEPLOYMENT = Kind("Deployment", "/apis/apps/v1", "deployments")
SERVICE = Kind("Service", "/api/v1", "services")
PVC = Kind("PersistentVolumeClaim", "/api/v1", "persistentvolumeclaims")
CONFIGMAP = Kind("ConfigMap", "/api/v1", "configmaps")
CRONJOB = Kind("CronJob", "/apis/batch/v1", "cronjobs")
POD = Kind("Pod", "/api/v1", "pods")
EVENT = Kind("Event", "/api/v1", "events")
ENDPOINTS = Kind("Endpoints", "/api/v1", "endpoints")
SECRET = Kind("Secret", "/api/v1", "secrets")
LEASE = Kind("Lease", "/apis/coordination.k8s.io/v1", "leases")
