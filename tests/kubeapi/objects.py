"""Small helpers on objects as the server stores them: paths into them, the pod spec of each kind, timestamps."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from tests.kubeapi.errors import ApiError
from tests.kubeapi.resources import Resource

# Where each kind holds a pod spec, whose quantities (resources, emptyDir sizeLimit) the server canonicalises.
POD_SPECS = {
    "Pod": "spec",
    "Deployment": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
}


def dig(obj: Any, path: str) -> Any:
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def typed(resource: Resource, body: Any) -> dict:
    """A copy of a request body with kind and apiVersion set, as the server stores it."""
    if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
        raise ApiError(400, "the request body must be a JSON object with an object for metadata")
    rest = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("kind", "apiVersion")}
    return {"kind": resource.kind, "apiVersion": resource.api_version, "metadata": {}, **rest}


def without_type(obj: dict) -> dict:
    """List items come without kind and apiVersion, as from the real server."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


