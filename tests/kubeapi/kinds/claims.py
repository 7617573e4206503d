"""PersistentVolumeClaims: their defaults, the pvc-protection finalizer, and who mounts a claim."""

from __future__ import annotations

from tests.kubeapi.objects import POD_SPECS, dig

PVC_PROTECTION = "kubernetes.io/pvc-protection"
CLAIM_USERS = (("pods", ""), ("deployments", "apps"), ("jobs", "batch"))  # (plural, group) whose pods mount claims


def default_claim(obj: dict) -> None:
    """pkg/apis/core/v1 defaults.go SetDefaults_PersistentVolumeClaimSpec: volumeMode Filesystem. Defaulting runs
    on every decode, a patched object's included (handlers/patch.go applyPatchToObject)."""
    obj.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")


def protect(meta: dict) -> None:
    """plugin/pkg/admission/storage/storageobjectinuseprotection (admitPVC): added on create."""
    if PVC_PROTECTION not in (meta.get("finalizers") or []):
        meta["finalizers"] = [*(meta.get("finalizers") or []), PVC_PROTECTION]


def claims_used(obj: dict) -> set[str]:
    """The PersistentVolumeClaims a Pod, or the pods of a Deployment or Job, mount."""
    spec = dig(obj, POD_SPECS.get(obj.get("kind", ""), "spec")) or {}
    volumes = spec.get("volumes") or [] if isinstance(spec, dict) else []
    return {(v.get("persistentVolumeClaim") or {}).get("claimName") for v in volumes if isinstance(v, dict)} - {None}


def releasable(claim: dict, users: list[dict]) -> bool:
    """What pkg/controller/volume/pvcprotection decides: a claim being deleted loses its protection finalizer
    once no pod uses it (here: no Pod, nor a Deployment or Job whose pods would)."""
    meta = claim["metadata"]
    if not meta.get("deletionTimestamp") or PVC_PROTECTION not in (meta.get("finalizers") or []):
        return False
    return not any(meta["name"] in claims_used(user) for user in users)
