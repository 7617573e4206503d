"""What the decoder refuses with a 400 (another kind, MicroTimes, base64, quantities), and canonical quantities."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from tests.kubeapi import quantity
from tests.kubeapi.errors import ApiError
from tests.kubeapi.objects import POD_SPECS, dig
from tests.kubeapi.resources import BY_KIND, Resource


def _quantity_maps(resource: Resource, obj: dict) -> list[tuple[dict, str]]:
    """(mapping, key) for every resource.Quantity the object holds."""
    found: list[tuple[dict, str]] = []

    def amounts(resources: Any) -> None:
        for part in ("requests", "limits"):
            mapping = resources.get(part) if isinstance(resources, dict) else None
            if isinstance(mapping, dict):
                found.extend((mapping, key) for key in mapping)

    if resource.kind == "PersistentVolumeClaim":
        amounts(dig(obj, "spec.resources"))
        capacity = dig(obj, "status.capacity")
        if isinstance(capacity, dict):
            found.extend((capacity, key) for key in capacity)
    pod = dig(obj, POD_SPECS[resource.kind]) if resource.kind in POD_SPECS else None
    if isinstance(pod, dict):
        for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            if isinstance(container, dict):
                amounts(container.get("resources"))
        for volume in pod.get("volumes") or []:
            empty_dir = volume.get("emptyDir") if isinstance(volume, dict) else None
            if isinstance(empty_dir, dict) and "sizeLimit" in empty_dir:
                found.append((empty_dir, "sizeLimit"))
    return found


def canonical_quantities(resource: Resource, obj: dict) -> None:
    """Decode each quantity and store its canonical form, as the real server's JSON round trip does.

    A quantity it cannot parse fails decoding: a 400 with ParseQuantity's words.
    """
    for mapping, key in _quantity_maps(resource, obj):
        value = mapping[key]
        text = str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        try:
            mapping[key] = quantity.canonical(text)
        except quantity.QuantityError as exc:
            cannot = f'{resource.kind} in version "{resource.version}" cannot be handled as a {resource.kind}'
            raise ApiError(400, f"{cannot}: {exc}") from None


def check_body_type(resource: Resource, body: Any) -> None:
    """The decoder's and handler's 400s for a body of another kind or API version than the URL's.

    apiserver pkg/endpoints/handlers/create.go and update.go (createHandler, UpdateResource: "the API version in
    the data ... does not match the expected API version") and rest.go transformDecodeError ("... cannot be
    handled as a ..."), with the scheme's "unknown conversion" between two kinds.
    """
    if not isinstance(body, dict):
        return
    kind, api_version = body.get("kind") or resource.kind, body.get("apiVersion") or resource.api_version
    if (api_version, kind) == (resource.api_version, resource.kind):
        return
    version = api_version.rsplit("/", 1)[-1]
    internal = (resource.group.split(".")[0] or "core") + "." + resource.kind
    other = BY_KIND.get((api_version, kind))
    if kind == resource.kind:
        raise ApiError(400, f"the API version in the data ({api_version}) does not match the expected API version "
                            f"({resource.api_version})")
    if other is None:
        why = f'no kind "{kind}" is registered for version "{api_version}" in scheme "pkg/api/legacyscheme/scheme.go:30"'
    else:
        why = f"converting ({version}.{kind}) to ({internal}): unknown conversion"
    raise ApiError(400, f'{kind} in version "{version}" cannot be handled as a {resource.kind}: {why}')


_MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$")


def check_decodable(resource: Resource, obj: dict) -> None:
    """The 400s of the real server's decoder: a MicroTime needs exactly six fraction digits, Secret data base64."""
    cannot = f'{resource.kind} in version "{resource.version}" cannot be handled as a {resource.kind}'
    if resource.kind == "Lease":
        for key in ("acquireTime", "renewTime"):
            value = (obj.get("spec") or {}).get(key)
            if value is not None and not (isinstance(value, str) and _MICRO_TIME.match(value)):
                raise ApiError(400, f'{cannot}: parsing time "{value}" as "2006-01-02T15:04:05.000000Z07:00"')
    if resource.kind == "Secret":
        for key, value in (obj.get("data") or {}).items():
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise ApiError(400, f"{cannot}: illegal base64 data in data[{key!r}]") from None
