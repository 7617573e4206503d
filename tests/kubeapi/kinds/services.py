"""Services: the defaults the real server fills, a clusterIP allocated once and kept."""

from __future__ import annotations

from collections.abc import Callable


def default_service(obj: dict, old: dict | None, allocate: Callable[[], str]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
        spec["clusterIP"] = ((old or {}).get("spec") or {}).get("clusterIP") or allocate()
    if spec.get("clusterIP"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
