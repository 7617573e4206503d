"""The strategic merge patch metadata of the kinds the stand-in serves: each struct's ``patchStrategy`` and
``patchMergeKey`` tags, as the real server reads them from the Go types (strategicpatch.NewPatchMetaFromStruct).

Taken from kubernetes/api ``core/v1/types.go`` (Container, EphemeralContainerCommon, PodSpec, ServiceSpec,
the status conditions), ``apps/v1/types.go`` (DeploymentSpec.strategy: retainKeys; DeploymentStatus),
``batch/v1/types.go`` and kubernetes/apimachinery ``pkg/apis/meta/v1/types.go`` (ObjectMeta). A field not
listed has no strategy: a map merges key by key, a list is replaced whole (envFrom, command, args,
accessModes, tolerations, clusterIPs, mountOptions).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldMeta:
    """One field's tags: does its list merge, on which key, and the struct type of its values."""

    merge: bool = False
    key: str = ""
    type: str = ""


NONE = FieldMeta()


def _merge(key: str, type_: str = "") -> FieldMeta:
    return FieldMeta(True, key, type_)


def _of(type_: str) -> FieldMeta:
    return FieldMeta(type=type_)


_CONDITIONS = {"conditions": _merge("type")}

STRUCTS: dict[str, dict[str, FieldMeta]] = {
    "ObjectMeta": {"finalizers": _merge(""), "ownerReferences": _merge("uid")},
    "PodTemplateSpec": {"metadata": _of("ObjectMeta"), "spec": _of("PodSpec")},
    "PodSpec": {
        "volumes": _merge("name"),  # patchStrategy:"merge,retainKeys"
        "initContainers": _merge("name", "Container"),
        "containers": _merge("name", "Container"),
        "ephemeralContainers": _merge("name", "Container"),
        "imagePullSecrets": _merge("name"),
        "hostAliases": _merge("ip"),
        "topologySpreadConstraints": _merge("topologyKey"),
        "schedulingGates": _merge("name"),
        "resourceClaims": _merge("name"),  # patchStrategy:"merge,retainKeys"
    },
    "Container": {
        "ports": _merge("containerPort"),
        "env": _merge("name"),
        "volumeMounts": _merge("mountPath"),
        "volumeDevices": _merge("devicePath"),
    },
    "DeploymentSpec": {"template": _of("PodTemplateSpec")},
    "JobTemplateSpec": {"metadata": _of("ObjectMeta"), "spec": _of("JobSpec")},
    "JobSpec": {"template": _of("PodTemplateSpec")},
    "CronJobSpec": {"jobTemplate": _of("JobTemplateSpec")},
    "ServiceSpec": {"ports": _merge("port")},
    "PodStatus": {**_CONDITIONS, "podIPs": _merge("ip"), "hostIPs": _merge("ip")},
    "Conditions": _CONDITIONS,  # the status of Deployment, Job, Service, PVC, Namespace
    "ObjectRoot": {"metadata": _of("ObjectMeta")},
}

# kind -> the struct type of each top-level field.
ROOTS: dict[str, dict[str, str]] = {
    "Deployment": {"spec": "DeploymentSpec", "status": "Conditions"},
    "CronJob": {"spec": "CronJobSpec"},
    "Job": {"spec": "JobSpec", "status": "Conditions"},
    "Pod": {"spec": "PodSpec", "status": "PodStatus"},
    "Service": {"spec": "ServiceSpec", "status": "Conditions"},
    "PersistentVolumeClaim": {"status": "Conditions"},
    "Namespace": {"status": "Conditions"},
}


for _kind, _fields in ROOTS.items():
    STRUCTS[f"{_kind}Root"] = {"metadata": _of("ObjectMeta"), **{k: _of(t) for k, t in _fields.items()}}


def root(kind: str) -> str:
    """The schema name of a kind's top level; a kind with no tagged fields below metadata: ``ObjectRoot``."""
    return f"{kind}Root" if kind in ROOTS else "ObjectRoot"


def lookup(struct: str, key: str) -> FieldMeta:
    """The tags of ``key`` in ``struct`` (LookupPatchMetadataForStruct / ForSlice); an untagged field: NONE."""
    return STRUCTS.get(struct, {}).get(key, NONE)
