"""Services: the defaults the real server fills, a clusterIP allocated once and kept."""

from __future__ import annotations

from collections.abc import Callable


def default_service(obj: dict, old: dict | None, allocate: Callable[[], str]) -> None:
    """Defaults, and on update what pkg/registry/core/service/strategy.go PrepareForUpdate does before validation:
    patchAllocatedValues (a clusterIP the client left out is the allocated one) and NormalizeClusterIPs (a
    changed clusterIP alone is carried into clusterIPs[0], which validation then refuses)."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    old_spec = (old or {}).get("spec") or {}
    if old is not None and "ExternalName" not in (spec["type"], old_spec.get("type")):
        spec["clusterIP"] = spec.get("clusterIP") or old_spec.get("clusterIP")
        spec["clusterIPs"] = spec.get("clusterIPs") or old_spec.get("clusterIPs")
        changed = spec["clusterIP"] != old_spec.get("clusterIP")
        if changed and spec["clusterIPs"] and spec["clusterIPs"] == old_spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"], *spec["clusterIPs"][1:]]
    elif spec["type"] != "ExternalName" and not spec.get("clusterIP"):
        spec["clusterIP"] = allocate()
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    for key in ("clusterIP", "clusterIPs"):
        if not spec.get(key):
            spec.pop(key, None)
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
