"""What an update may change: the rules kube-apiserver applies on PUT and PATCH, after the patch and before
storage (apiserver ``pkg/registry/rest/update.go`` BeforeUpdate, then each kind's ValidateXUpdate).

Each cause is (field, reason, detail) as ``errors.invalid`` takes it.
"""

from __future__ import annotations

import json
from typing import Any

from tests.kubeapi.quantity import parse
from tests.kubeapi.resources import Resource

Cause = tuple[str, str, str]
IMMUTABLE = "field is immutable"  # apimachinery pkg/api/validation FieldImmutableErrorMsg


def _value(value: Any) -> str:
    """How field.Error shows a value: quoted strings, other values as JSON."""
    return json.dumps(value, separators=(",", ":"))


def meta_update_causes(new: dict, old: dict) -> list[Cause]:
    """apimachinery pkg/api/validation/objectmeta.go ValidateObjectMetaAccessorUpdate: no finalizer may be added
    to an object being deleted (ValidateNoNewFinalizers); the uid is immutable (BeforeUpdate keeps the old one
    only when none is given). The registry runs it twice, in validateCommonFields and in the kind's
    ValidateXUpdate (ValidateObjectMetaUpdate): the causes come twice, the message (ToAggregate) once."""
    meta, old_meta = new["metadata"], old["metadata"]
    causes = []
    if old_meta.get("deletionTimestamp"):
        added = sorted(set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or []))
        if added:
            found = "[]string{" + ", ".join(json.dumps(f) for f in added) + "}"
            detail = f"Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {found}"
            causes.append(("metadata.finalizers", "FieldValueForbidden", detail))
    if meta.get("uid") != old_meta.get("uid"):
        causes.append(("metadata.uid", "FieldValueInvalid", f"Invalid value: {_value(meta.get('uid'))}: {IMMUTABLE}"))
    return causes


def kind_update_causes(resource: Resource, new: dict, old: dict) -> list[Cause]:
    """The kind's own update rules, for the kinds norn changes in place."""
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    if resource.kind == "Deployment" and spec.get("selector") != old_spec.get("selector"):
        # pkg/registry/apps/deployment/strategy.go ValidateUpdate (apps/v1): ValidateImmutableField(spec.selector)
        return [("spec.selector", "FieldValueInvalid", f"Invalid value: {_value(spec.get('selector'))}: {IMMUTABLE}")]
    if resource.kind == "Service":
        return _service_causes(spec, old_spec)
    if resource.kind == "PersistentVolumeClaim":
        return claim_update_causes(new, old)
    if resource.kind == "StorageClass":
        return _class_causes(new, old)
    return []


def _class_causes(new: dict, old: dict) -> list[Cause]:
    """pkg/apis/storage/validation ValidateStorageClassUpdate: parameters, provisioner and reclaimPolicy (default
    Delete) are forbidden to change, volumeBindingMode (default Immediate) immutable; allowVolumeExpansion may."""
    causes = [(key, "FieldValueForbidden", f"Forbidden: updates to {key} are forbidden.")
              for key, default in (("parameters", {}), ("provisioner", ""), ("reclaimPolicy", "Delete"))
              if (new.get(key) or default) != (old.get(key) or default)]
    mode, old_mode = new.get("volumeBindingMode") or "Immediate", old.get("volumeBindingMode") or "Immediate"
    if mode != old_mode:
        causes.append(("volumeBindingMode", "FieldValueInvalid", f"Invalid value: {_value(mode)}: {IMMUTABLE}"))
    return causes


def _service_causes(spec: dict, old_spec: dict) -> list[Cause]:
    """pkg/apis/core/validation ValidateServiceUpdate, validateUpgradeDowngradeClusterIPs: an allocated
    clusterIP may not change (the strategy's NormalizeClusterIPs has already copied a changed clusterIP into
    clusterIPs[0]); a headless or ExternalName Service is not bound by it."""
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return []
    new_ips, old_ips = spec.get("clusterIPs") or [], old_spec.get("clusterIPs") or []
    if old_ips == ["None"] and new_ips == ["None"]:
        return []
    if len(new_ips) == len(old_ips):
        return [(f"spec.clusterIPs[{i}]", "FieldValueInvalid", f"Invalid value: {_value(new_ips)}: may not change once set")
                for i, ip in enumerate(old_ips) if new_ips[i] != ip]
    if old_ips and not new_ips:
        return [("spec.clusterIPs[0]", "FieldValueInvalid", f"Invalid value: {_value(new_ips)}: primary clusterIP can not be unset")]
    return []


def claim_update_causes(new: dict, old: dict) -> list[Cause]:
    """pkg/apis/core/validation ValidatePersistentVolumeClaimUpdate: the spec is immutable, but for the volumeName
    the binder sets once, a class given to a claim that had none, and resources.requests.storage of a Bound
    claim; the request may not shrink (RecoverVolumeExpansionFailure off, as in 1.31); volumeAttributesClassName
    is left to its own rule (the VolumeAttributesClass gate off in 1.31: no change at all)."""
    spec, old_spec = dict(new.get("spec") or {}), dict(old.get("spec") or {})
    if not old_spec.get("volumeName"):
        old_spec["volumeName"] = spec.get("volumeName")
    if old_spec.get("storageClassName") is None and spec.get("storageClassName") is not None:
        old_spec["storageClassName"] = spec["storageClassName"]
    new_size, old_size = _storage(spec), _storage(old_spec)
    if (new.get("status") or {}).get("phase") == "Bound":
        spec = _with_storage(spec, old_size)
    causes, vac_changed = [], spec.get("volumeAttributesClassName") != old_spec.get("volumeAttributesClassName")
    spec["volumeAttributesClassName"] = old_spec.get("volumeAttributesClassName")
    if _without_none(spec) != _without_none(old_spec):
        detail = ("Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName "
                  f"for bound claims\n{_spec_diff(old_spec, spec)}")
        causes.append(("spec", "FieldValueForbidden", detail))
    if new_size is not None and old_size is not None and parse(new_size)[0] < parse(old_size)[0]:
        causes.append(("spec.resources.requests.storage", "FieldValueForbidden",
                       "Forbidden: field can not be less than previous value"))
    if spec.get("volumeMode") != old_spec.get("volumeMode"):  # the real path has no "spec."
        causes.append(("volumeMode", "FieldValueInvalid", f"Invalid value: {_value(spec.get('volumeMode'))}: {IMMUTABLE}"))
    if vac_changed:
        causes.append(("spec.volumeAttributesClassName", "FieldValueForbidden",
                       "Forbidden: update is forbidden when the VolumeAttributesClass feature gate is disabled"))
    return causes


def _storage(spec: dict) -> str | None:
    return ((spec.get("resources") or {}).get("requests") or {}).get("storage")


def _with_storage(spec: dict, size: str | None) -> dict:
    resources = dict(spec.get("resources") or {})
    requests = dict(resources.get("requests") or {})
    if size is None:
        requests.pop("storage", None)
    else:
        requests["storage"] = size
    return {**spec, "resources": {**resources, "requests": requests}}


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value


def _spec_diff(old: dict, new: dict) -> str:
    """The real message appends go-cmp's diff of the internal specs; the stand-in lists the changed fields
    (tests assert on the first line)."""
    keys = sorted(set(old) | set(new))
    return "\n".join(f"  {k}: {_value(old.get(k))} -> {_value(new.get(k))}" for k in keys if old.get(k) != new.get(k))


def bumps_generation(resource: Resource, new: dict, old: dict) -> bool:
    """The strategies' PrepareForUpdate: a spec change bumps metadata.generation (pkg/registry/batch/cronjob and
    job strategy.go); a Deployment's also an annotation change, as annotations are copied to its ReplicaSets
    (pkg/registry/apps/deployment/strategy.go)."""
    if not resource.generation:
        return False
    annotations = resource.kind == "Deployment" and new["metadata"].get("annotations") != old["metadata"].get("annotations")
    return new.get("spec") != old.get("spec") or bool(annotations)
