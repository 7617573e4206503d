"""Spec rules: required fields per kind, host paths, port numbers, a Job's restart policy."""

from __future__ import annotations

import json
from typing import Any

from tests.kubeapi.objects import POD_SPECS, dig
from tests.kubeapi.resources import Resource


def spec_causes(resource: Resource, obj: dict) -> list[tuple[str, str, str]]:
    spec = obj.get("spec") or {}
    required = "Required value"
    if resource.kind == "Deployment":
        wanted = (spec.get("selector") or {}).get("matchLabels")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not spec.get("selector"):
            return [("spec.selector", "FieldValueRequired", required)]
        if wanted and any(labels.get(k) != v for k, v in wanted.items()):
            detail = f"Invalid value: {json.dumps(labels, separators=(',', ':'))}: `selector` does not match template `labels`"
            return [("spec.template.metadata.labels", "FieldValueInvalid", detail)]
    headless = spec.get("type") == "ExternalName" or spec.get("clusterIP") == "None"
    if resource.kind == "Service" and not headless and not spec.get("ports"):
        return [("spec.ports", "FieldValueRequired", required)]
    if resource.kind == "CronJob":
        return [(f"spec.{k}", "FieldValueRequired", required) for k in ("schedule", "jobTemplate") if not spec.get(k)]
    duration = spec.get("leaseDurationSeconds")
    if resource.kind == "Lease" and duration is not None and duration <= 0:
        return [("spec.leaseDurationSeconds", "FieldValueInvalid", f"Invalid value: {duration}: must be greater than 0")]
    return []


def host_path_causes(resource: Resource, obj: dict) -> list[tuple[str, str, str]]:
    """pkg/apis/core/validation validateHostPathVolumeSource -> validatePathNoBacksteps: no '..' segment."""
    where = POD_SPECS.get(resource.kind)
    pod = dig(obj, where) if where else None
    causes = []
    for index, volume in enumerate((pod.get("volumes") or []) if isinstance(pod, dict) else []):
        path = (volume.get("hostPath") or {}).get("path") if isinstance(volume, dict) else None
        if isinstance(path, str) and ".." in path.split("/"):
            detail = f"Invalid value: {json.dumps(path)}: must not contain '..'"
            causes.append((f"{where}.volumes[{index}].hostPath.path", "FieldValueInvalid", detail))
    return causes


def port_causes(resource: Resource, obj: dict) -> list[tuple[str, str, str]]:
    """Ports must be 1-65535 (apimachinery IsValidPortNum, InclusiveRangeError): container ports
    (pkg/apis/core/validation validateContainerPorts) and Service ports (ValidateService, validateServicePort)."""
    found: list[tuple[str, Any]] = []
    where = POD_SPECS.get(resource.kind)
    pod = dig(obj, where) if where else None
    for c, container in enumerate((pod.get("containers") or []) if isinstance(pod, dict) else []):
        for p, port in enumerate((container.get("ports") or []) if isinstance(container, dict) else []):
            found.append((f"{where}.containers[{c}].ports[{p}].containerPort", (port or {}).get("containerPort")))
    if resource.kind == "Service":
        for p, port in enumerate(dig(obj, "spec.ports") or []):
            found.append((f"spec.ports[{p}].port", (port or {}).get("port")))
    return [(path, "FieldValueInvalid", f"Invalid value: {value}: must be between 1 and 65535, inclusive")
            for path, value in found if isinstance(value, int) and not 1 <= value <= 65535]


def restart_policy_causes(resource: Resource, obj: dict) -> list[tuple[str, str, str]]:
    """pkg/apis/batch/validation validateJobSpec: a Job's pods restart OnFailure or Never; the pod default,
    Always (pkg/apis/core/v1 defaults), is refused."""
    if resource.kind not in ("Job", "CronJob") or not isinstance(dig(obj, POD_SPECS[resource.kind]), dict):
        return []  # no pod template at all: the stand-in reports that as the missing field only
    path = POD_SPECS[resource.kind] + ".restartPolicy"
    policy = dig(obj, path) or "Always"
    if policy in ("OnFailure", "Never"):
        return []
    return [(path, "FieldValueNotSupported", f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"')]
