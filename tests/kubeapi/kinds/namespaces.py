"""Namespaces: the ones a new cluster has, how one is stored, and NamespaceLifecycle admission."""

from __future__ import annotations

from tests.kubeapi.errors import namespace_not_found, namespace_terminating
from tests.kubeapi.resources import Resource

SEEDED_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")  # what a new cluster has


def namespace_object(name: str, phase: str = "Active") -> dict:
    """A Namespace as the server stores it (pkg/registry/core/namespace/strategy.go: phase Active, the
    kubernetes finalizer; the kubernetes.io/metadata.name label its defaulting adds)."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": phase},
    }


def default_namespace(obj: dict) -> None:
    """A created Namespace gets its name label, the kubernetes finalizer and phase Active."""
    fresh = namespace_object(obj["metadata"]["name"])
    obj["metadata"].setdefault("labels", {}).update(fresh["metadata"]["labels"])
    obj.setdefault("spec", {}).setdefault("finalizers", fresh["spec"]["finalizers"])
    obj["status"] = fresh["status"]


def check_namespace(resource: Resource, namespace: str | None, found: dict | None, name: str) -> None:
    """NamespaceLifecycle admission: no create into a namespace that is missing (``found`` None) or terminating."""
    if not resource.namespaced:
        return
    if found is None:
        raise namespace_not_found(namespace or "")
    if (found.get("status") or {}).get("phase") == "Terminating":
        raise namespace_terminating(resource, namespace or "", name)
