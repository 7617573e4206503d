"""StorageClasses and what they decide for claims: the default class, binding, and whether a claim may grow."""

from __future__ import annotations

from tests.kubeapi.errors import ApiError, status_details
from tests.kubeapi.quantity import parse
from tests.kubeapi.resources import Resource

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def storage_class(name: str, *, default: bool = False, expandable: bool = True) -> dict:
    """A StorageClass like a new cluster's (kind's ``standard``, bound at once so a claim can grow)."""
    annotations = {DEFAULT_CLASS_ANNOTATION: "true"} if default else {}
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "annotations": annotations},
        "provisioner": "rancher.io/local-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": expandable,
    }


def claim_class(claim: dict) -> str:
    """pkg/apis/core/helper GetPersistentVolumeClaimClass: the beta annotation, else spec.storageClassName."""
    annotations = claim["metadata"].get("annotations") or {}
    if BETA_CLASS_ANNOTATION in annotations:
        return annotations[BETA_CLASS_ANNOTATION]
    return (claim.get("spec") or {}).get("storageClassName") or ""


def default_class(classes: list[dict]) -> dict | None:
    """plugin/pkg/admission/storage/storageclass/setdefault (GetDefaultClass): of the classes annotated as
    default, the newest (then the first by name)."""
    defaults = [c for c in classes if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"]
    defaults.sort(key=lambda c: c["metadata"]["name"])
    defaults.sort(key=lambda c: c["metadata"].get("creationTimestamp", ""), reverse=True)
    return defaults[0] if defaults else None


def set_default_class(claim: dict, classes: list[dict]) -> None:
    """DefaultStorageClass admission (Admit, on create): a claim that names no class, neither by
    storageClassName (an empty string is a name: no class) nor by the beta annotation, gets the default one."""
    spec = claim.setdefault("spec", {})
    if "storageClassName" in spec or BETA_CLASS_ANNOTATION in (claim["metadata"].get("annotations") or {}):
        return
    found = default_class(classes)
    if found is not None:
        spec["storageClassName"] = found["metadata"]["name"]


def bind(claim: dict, classes: list[dict]) -> None:
    """Play the provisioner and the PV controller at once: a claim of an existing class that binds immediately
    gets a volume of the size it asked and is Bound; any other stays Pending (no volume will come). No
    PersistentVolume is served, so spec.volumeName stays unset (the resize admission does not read it)."""
    found = next((c for c in classes if c["metadata"]["name"] == claim_class(claim)), None)
    if found is None or found.get("volumeBindingMode") == "WaitForFirstConsumer":
        claim["status"] = {"phase": "Pending"}
        return
    spec = claim["spec"]
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    claim["status"] = {"phase": "Bound", "accessModes": list(spec.get("accessModes") or []),
                       "capacity": {"storage": size} if size else {}}


def storage_request(claim: dict | None) -> str | None:
    return (((claim or {}).get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")


def check_resize(resource: Resource, claim: dict, old: dict, classes: list[dict]) -> None:
    """PersistentVolumeClaimResize admission (plugin/pkg/admission/storage/persistentvolume/resize, Validate):
    a claim may grow only when it is bound and its class (the same before and after) allows volume
    expansion; admission.NewForbidden answers a 403 naming the claim."""
    new_size, old_size = storage_request(claim), storage_request(old)
    if new_size is None or (old_size is not None and parse(new_size)[0] <= parse(old_size)[0]):
        return
    why = None
    name = claim["metadata"]["name"]
    if (old.get("status") or {}).get("phase") != "Bound":
        why = "Only bound persistent volume claims can be expanded"
    elif not _allows_resize(claim_class(claim), claim_class(old), classes):
        why = ("only dynamically provisioned pvc can be resized and "
               "the storageclass that provisions the pvc must support resize")
    if why:
        raise ApiError(403, f'{resource.qualified} "{name}" is forbidden: {why}', status_details(resource, name))


def _allows_resize(new_class: str, old_class: str, classes: list[dict]) -> bool:
    if not new_class or new_class != old_class:
        return False
    found = next((c for c in classes if c["metadata"]["name"] == new_class), None)
    return bool(found and found.get("allowVolumeExpansion") is True)


def follow_resize(claim: dict) -> None:
    """The resize controller and kubelet finishing at once: a bound claim's capacity follows its request."""
    size = storage_request(claim)
    status = claim.get("status") or {}
    if status.get("phase") == "Bound" and size:
        status.setdefault("capacity", {})["storage"] = size
