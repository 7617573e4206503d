"""A stand-in Kubernetes API server for tests: stdlib only, real HTTP.

It answers the way kube-apiserver does for the calls norn makes, so the real
``kubernetes`` client can be driven against it from a kubeconfig:

* namespaced resources under ``/api/v1/namespaces/{ns}/{plural}[/{name}]`` and
  ``/apis/{group}/{version}/namespaces/{ns}/{plural}[/{name}]``, a ``/status``
  subresource, cluster-wide lists (``/apis/apps/v1/deployments``), namespaces
  themselves, and minimal discovery (``/version``, ``/api``, ``/apis``);
* create (201), get, list with label and field selectors (``SELECTABLE_FIELDS``), replace, patch and
  delete, with ``Status`` errors whose codes, reasons and messages match the
  real server's (AlreadyExists, NotFound, Conflict, Invalid, ...);
* a global resourceVersion counter; a stale resourceVersion on PUT or in a
  patch is a 409 Conflict; a write that changes nothing keeps the version, as
  etcd does; ``metadata.generation`` counts spec changes where the real server
  tracks it; ``?dryRun=All`` answers without storing; DeleteOptions
  ``preconditions`` (uid, resourceVersion) are honoured;
* what the decoder refuses with a 400: a Lease's MicroTimes not in RFC 3339
  with six fraction digits, Secret ``data`` that is not base64, a quantity
  ParseQuantity cannot read, a body of another kind or API version than the
  URL's; quantities are stored in canonical form (``quantity.py``: ``1024Mi``
  is read back as ``1Gi``);
* admission and validation: namespaces are objects (``default``,
  ``kube-system``, ``kube-public``, ``kube-node-lease`` exist; ``seed`` adds
  the namespace of what it seeds; ``add_namespace``, ``terminate_namespace``),
  and a create into a missing one is a 404 ``namespaces "x" not found``, into
  a terminating one a 403; label keys and values are checked; a
  resourceVersion on create is a 500; a PUT of a Lease without
  resourceVersion is a 422, and a PUT of a missing Lease creates it (its
  strategy's AllowUnconditionalUpdate and AllowCreateOnUpdate);
* finalizers: deleting an object that has some sets ``deletionTimestamp`` and
  answers the object; it goes when the last one is removed. PVCs get
  ``kubernetes.io/pvc-protection`` on create, which is removed (as the
  pvcprotection controller does) once no Pod, Deployment or Job in the
  namespace mounts the claim;
* a little of what controllers do, because tests wait on it: Services get a
  clusterIP, Secrets' ``stringData`` becomes ``data``, and Deployments roll
  out at once (``auto_rollout``; turn it off to keep a rollout pending);
  ``store.mutators`` change objects on create and update, as mutating
  admission webhooks do.

Patches, by Content-Type: ``application/merge-patch+json`` (RFC 7386);
``application/json-patch+json`` (RFC 6902: add, remove, replace, test, move,
copy); ``application/strategic-merge-patch+json``: maps merge and null
deletes; the lists in ``MERGE_KEYS`` merge item by item on their key and honour
``{"$patch": "delete"}`` items; a map with ``"$patch": "replace"`` replaces;
``$setElementOrder/...`` and ``$retainKeys`` are ignored; other lists are
replaced. Anything else, server-side apply included, is a 415.

Not supported: watch (400), paging, YAML or protobuf bodies, graceful
deletion of pods, and the namespace controller (a terminating namespace stays
so).

For tests there is a request log, fault injection (a status, a delay, a
dropped connection, optionally after the request was applied), a global
latency, bearer-token checking and direct access to the stored objects
(``set_status`` plays a controller: a rollout under way, a crash-looping pod).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import json
import re
import secrets
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.kubeapi import quantity

# --------------------------------------------------------------------------
# The kinds it serves


@dataclass(frozen=True)
class Resource:
    """One REST resource, and how the real server treats it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    generation: bool = False  # metadata.generation counts spec changes
    status: bool = False  # has a status subresource: main-resource writes keep .status
    returns_deleted: bool = False  # DELETE answers the object rather than a Status
    dns_label: bool = False  # the name must be a DNS-1035 label, not a subdomain
    unconditional_update: bool = True  # the strategy's AllowUnconditionalUpdate: a PUT may omit resourceVersion
    create_on_update: bool = False  # the strategy's AllowCreateOnUpdate: a PUT may create

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """How error messages name the resource: ``deployments.apps``, ``services``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


RESOURCES = (
    Resource("", "v1", "namespaces", "Namespace", namespaced=False, status=True, returns_deleted=True),
    Resource("", "v1", "services", "Service", status=True, returns_deleted=True, dns_label=True),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", status=True, returns_deleted=True),
    Resource("", "v1", "pods", "Pod", status=True, returns_deleted=True),
    Resource("", "v1", "configmaps", "ConfigMap"),
    Resource("", "v1", "secrets", "Secret"),
    Resource("", "v1", "endpoints", "Endpoints"),
    Resource("", "v1", "events", "Event"),
    Resource("apps", "v1", "deployments", "Deployment", generation=True, status=True),
    Resource("batch", "v1", "cronjobs", "CronJob", generation=True, status=True),
    Resource("batch", "v1", "jobs", "Job", generation=True, status=True),
    # pkg/registry/coordination/lease/strategy.go: AllowUnconditionalUpdate false, AllowCreateOnUpdate true.
    Resource("coordination.k8s.io", "v1", "leases", "Lease", unconditional_update=False, create_on_update=True),
)
_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
NAMESPACES = RESOURCES[0]
_BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}
_GROUP_VERSIONS = sorted({(r.group, r.version) for r in RESOURCES})

# Strategic merge patch: list field -> the item keys it merges on, first present wins.
MERGE_KEYS = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "volumes": ("name",),
    "env": ("name",),
    "imagePullSecrets": ("name",),
    "volumeMounts": ("mountPath",),
    "ports": ("containerPort", "port"),  # container ports, Service ports
}

VERSION_INFO = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T07:28:49Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def resource_for(plural: str, group: str = "") -> Resource:
    """The served resource with this plural in this API group."""
    for resource in RESOURCES:
        if resource.plural == plural and resource.group == group:
            return resource
    raise KeyError(f"the stand-in does not serve {plural!r} in group {group!r}")


# --------------------------------------------------------------------------
# Errors, as Status objects

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

FAULT_MESSAGES = {
    401: "Unauthorized",
    403: 'forbidden: User "system:anonymous" cannot perform this action',
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected fault",
    503: "the server is currently unable to handle the request",
    504: "Timeout: request did not complete within the allotted timeout",
}

MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


class ApiError(Exception):
    """An error answer: the HTTP code and the ``Status`` body kube-apiserver sends."""

    def __init__(self, code: int, message: str, details: dict | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.reason = REASONS.get(code, "Unknown") if reason is None else reason  # "": StatusReasonUnknown

    def status(self) -> dict:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if not self.reason:
            del body["reason"]  # omitempty
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(resource: Resource, name: str, **extra: Any) -> dict:
    details = {"name": name}
    if resource.group:
        details["group"] = resource.group
    details["kind"] = resource.plural
    details.update(extra)
    return details


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(404, f'{resource.qualified} "{name}" not found', _details(resource, name))


def already_exists(resource: Resource, name: str) -> ApiError:
    return ApiError(409, f'{resource.qualified} "{name}" already exists', _details(resource, name), "AlreadyExists")


def conflict(resource: Resource, name: str, why: str = MODIFIED) -> ApiError:
    return ApiError(
        409, f'Operation cannot be fulfilled on {resource.qualified} "{name}": {why}', _details(resource, name)
    )


def invalid(
    resource: Resource, name: str, causes: list[tuple[str, str, str]], *, by_resource: bool = False
) -> ApiError:
    """422 Invalid; ``causes`` are (field, reason, detail) as the real validator reports them.

    ``by_resource``: named by resource rather than kind (``leases.coordination.k8s.io``), as store.Update does.
    """
    texts = [f"{field_}: {detail}" for field_, _, detail in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details = _details(resource, name, kind=resource.plural if by_resource else resource.kind)
    details["causes"] = [{"reason": r, "message": d, "field": f} for f, r, d in causes]
    what = resource.qualified if by_resource else resource.qualified_kind
    return ApiError(422, f'{what} "{name}" is invalid: {joined}', details)


def namespace_not_found(namespace: str) -> ApiError:
    """NamespaceLifecycle admission on a create into a namespace that does not exist: the namespace's own 404."""
    return ApiError(404, f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"})


def namespace_terminating(resource: Resource, namespace: str, name: str) -> ApiError:
    """NamespaceLifecycle admission on a create into a terminating namespace.

    apiserver pkg/admission/plugin/namespace/lifecycle/admission.go (Lifecycle.Admit): admission.NewForbidden
    names the object being created, and a NamespaceTerminating cause is added.
    """
    cause = {"reason": "NamespaceTerminating", "message": f"namespace {namespace} is being terminated",
             "field": "metadata.namespace"}
    why = f"unable to create new content in namespace {namespace} because it is being terminated"
    return ApiError(403, f'{resource.qualified} "{name}" is forbidden: {why}', _details(resource, name, causes=[cause]))


# --------------------------------------------------------------------------
# Selectors

_LABEL_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_LABEL_VALUE = r"[-A-Za-z0-9_.]*"
_EXISTS = re.compile(rf"^(!?)\s*({_LABEL_KEY})$")
_SET = re.compile(rf"^({_LABEL_KEY})\s+(in|notin)\s*\(([^()]*)\)$")
_EQUALITY = re.compile(rf"^({_LABEL_KEY})\s*(==|=|!=)\s*({_LABEL_VALUE})$")

Matcher = Callable[[dict], bool]


def _split_terms(text: str) -> list[str]:
    """Split a selector on the commas that are not inside ``in (...)`` sets."""
    terms, depth, current = [], 0, []
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term.strip() for term in terms if term.strip()]


def _label_requirement(term: str) -> Callable[[dict], bool]:
    if match := _EXISTS.match(term):
        negate, key = match.group(1) == "!", match.group(2)
        return lambda labels: (key in labels) != negate
    if match := _SET.match(term):
        key, operator = match.group(1), match.group(2)
        values = {value.strip() for value in match.group(3).split(",") if value.strip()}
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: key not in labels or labels[key] not in values
    if match := _EQUALITY.match(term):
        key, operator, value = match.groups()
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    raise ApiError(400, f"unable to parse requirement: {term!r}")


def label_matcher(selector: str) -> Matcher:
    """An object matcher for a ``labelSelector`` (equality, set and existence terms)."""
    requirements = [_label_requirement(term) for term in _split_terms(selector)]
    return lambda obj: all(req(obj.get("metadata", {}).get("labels") or {}) for req in requirements)


# Field selectors the stand-in answers: every kind's metadata, and what Events add.
SELECTABLE_FIELDS = ("metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.name",
                     "involvedObject.namespace", "involvedObject.uid", "reason", "type")


def _field_value(obj: dict, path: str) -> Any:
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def field_matcher(selector: str) -> Matcher:
    """An object matcher for a ``fieldSelector`` on one of ``SELECTABLE_FIELDS``."""
    requirements = []
    for term in _split_terms(selector):
        match = re.match(r"^([\w.]+)\s*(==|=|!=)\s*(.*)$", term)
        if not match:
            raise ApiError(400, f"invalid selector: {term!r}; can't understand {term!r}")
        path, operator, value = match.groups()
        if path not in SELECTABLE_FIELDS:
            raise ApiError(400, f"field label not supported: {path}")
        wanted = operator != "!="
        requirements.append(lambda obj, p=path, v=value, w=wanted: (_field_value(obj, p) == v) == w)
    return lambda obj: all(req(obj) for req in requirements)


# --------------------------------------------------------------------------
# Patches


class PatchError(ValueError):
    """A patch that cannot be applied to this object (the real server answers 422)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Kubernetes strategic merge patch, for the subset described in the module docstring."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if value is None or (isinstance(value, dict) and value.get("$patch") == "delete"):
            result.pop(key, None)
        elif key in MERGE_KEYS and isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, MERGE_KEYS[key])
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def _merge_list(current: list, patch: list, candidates: tuple[str, ...]) -> list:
    """Merge ``patch`` items into ``current`` by merge key; unmatched items are appended."""
    if not all(isinstance(item, dict) for item in patch):
        return copy.deepcopy(patch)
    key = next((k for k in candidates if any(k in item for item in patch)), None)
    if key is None:
        return copy.deepcopy(patch)
    merged = copy.deepcopy(current)
    for item in patch:
        index = next(
            (n for n, old in enumerate(merged) if isinstance(old, dict) and old.get(key) == item.get(key)), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del merged[index]
        elif index is None:
            merged.append(strategic_merge_patch({}, item))
        else:
            merged[index] = strategic_merge_patch(merged[index], item)
    return merged


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [token.replace("~1", "/").replace("~0", "~") for token in path.split("/")[1:]]


def _index(container: list, token: str, *, for_add: bool = False) -> int:
    if for_add and token == "-":
        return len(container)
    if not token.isdigit():
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    if index > len(container) or (index == len(container) and not for_add):
        raise PatchError(f"array index {index} out of bounds")
    return index


def _resolve(doc: Any, tokens: list[str]) -> Any:
    for token in tokens:
        if isinstance(doc, dict) and token in doc:
            doc = doc[token]
        elif isinstance(doc, list):
            doc = doc[_index(doc, token)]
        else:
            raise PatchError(f"path /{'/'.join(tokens)} does not exist")
    return doc


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1])
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, tokens[-1], for_add=True), value)
    else:
        raise PatchError(f"cannot add to a {type(parent).__name__}")
    return doc


def _replace(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1])
    if isinstance(parent, dict) and tokens[-1] in parent:
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent[_index(parent, tokens[-1])] = value
    else:
        raise PatchError(f"path /{'/'.join(tokens)} does not exist")
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    """Remove and return the value at ``tokens``."""
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _resolve(doc, tokens[:-1])
    if isinstance(parent, dict) and tokens[-1] in parent:
        return parent.pop(tokens[-1])
    if isinstance(parent, list):
        return parent.pop(_index(parent, tokens[-1]))
    raise PatchError(f"path /{'/'.join(tokens)} does not exist")


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch on a copy of ``doc``."""
    if not isinstance(operations, list):
        raise ApiError(400, "json patch body must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op:
            raise PatchError(f"invalid operation {op!r}")
        kind, tokens = op["op"], _pointer(op.get("path"))
        if kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, tokens)
        elif kind == "replace":
            doc = _replace(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind == "test":
            if _resolve(doc, tokens) != op.get("value"):
                raise PatchError(f"testing value {op.get('path')} failed")
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from"))
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_resolve(doc, source))
            doc = _add(doc, tokens, value)
        else:
            raise PatchError(f"unexpected kind of operation {kind!r}")
    return doc


PATCHERS: dict[str, Callable[[Any, Any], Any]] = {
    "application/merge-patch+json": merge_patch,
    "application/strategic-merge-patch+json": strategic_merge_patch,
    "application/json-patch+json": json_patch,
}


# --------------------------------------------------------------------------
# Validation and defaulting: the slices of the real server's that catch manifest bugs

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def _name_causes(resource: Resource, name: str) -> list[tuple[str, str, str]]:
    if resource.dns_label and not (_DNS_LABEL.match(name) and len(name) <= 63):
        detail = (
            f'Invalid value: "{name}": a DNS-1035 label must consist of lower case alphanumeric characters '
            "or '-', start with an alphabetic character, and end with an alphanumeric character"
        )
        return [("metadata.name", "FieldValueInvalid", detail)]
    if not resource.dns_label and not (_SUBDOMAIN.match(name) and len(name) <= 253):
        detail = (
            f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric '
            "characters, '-' or '.', and must start and end with an alphanumeric character"
        )
        return [("metadata.name", "FieldValueInvalid", detail)]
    return []


def _spec_causes(resource: Resource, obj: dict) -> list[tuple[str, str, str]]:
    spec = obj.get("spec") or {}
    required = "Required value"
    if resource.kind == "Deployment":
        wanted = (spec.get("selector") or {}).get("matchLabels")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not spec.get("selector"):
            return [("spec.selector", "FieldValueRequired", required)]
        if wanted and any(labels.get(k) != v for k, v in wanted.items()):
            detail = f"Invalid value: {json.dumps(labels)}: `selector` does not match template `labels`"
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


def _cronjob_name_causes(resource: Resource, obj: dict, creating: bool) -> list[tuple[str, str, str]]:
    """pkg/apis/batch/validation ValidateCronJobCreate: the controller names Jobs <cronjob>-<11 characters>, and
    a Job name is at most 63, so a new CronJob's name is at most 52."""
    name = obj["metadata"]["name"]
    if resource.kind != "CronJob" or not creating or len(name) <= 52:
        return []
    return [("metadata.name", "FieldValueInvalid", f"Invalid value: {json.dumps(name)}: must be no more than 52 characters")]


def _host_path_causes(resource: Resource, obj: dict) -> list[tuple[str, str, str]]:
    """pkg/apis/core/validation validateHostPathVolumeSource -> validatePathNoBacksteps: no '..' segment."""
    where = POD_SPECS.get(resource.kind)
    pod = _dig(obj, where) if where else None
    causes = []
    for index, volume in enumerate((pod.get("volumes") or []) if isinstance(pod, dict) else []):
        path = (volume.get("hostPath") or {}).get("path") if isinstance(volume, dict) else None
        if isinstance(path, str) and ".." in path.split("/"):
            detail = f"Invalid value: {json.dumps(path)}: must not contain '..'"
            causes.append((f"{where}.volumes[{index}].hostPath.path", "FieldValueInvalid", detail))
    return causes


def _port_causes(resource: Resource, obj: dict) -> list[tuple[str, str, str]]:
    """Ports must be 1-65535 (apimachinery IsValidPortNum, InclusiveRangeError): container ports
    (pkg/apis/core/validation validateContainerPorts) and Service ports (ValidateService, validateServicePort)."""
    found: list[tuple[str, Any]] = []
    where = POD_SPECS.get(resource.kind)
    pod = _dig(obj, where) if where else None
    for c, container in enumerate((pod.get("containers") or []) if isinstance(pod, dict) else []):
        for p, port in enumerate((container.get("ports") or []) if isinstance(container, dict) else []):
            found.append((f"{where}.containers[{c}].ports[{p}].containerPort", (port or {}).get("containerPort")))
    if resource.kind == "Service":
        for p, port in enumerate(_dig(obj, "spec.ports") or []):
            found.append((f"spec.ports[{p}].port", (port or {}).get("port")))
    return [(path, "FieldValueInvalid", f"Invalid value: {value}: must be between 1 and 65535, inclusive")
            for path, value in found if isinstance(value, int) and not 1 <= value <= 65535]


def _restart_policy_causes(resource: Resource, obj: dict) -> list[tuple[str, str, str]]:
    """pkg/apis/batch/validation validateJobSpec: a Job's pods restart OnFailure or Never; the pod default,
    Always (pkg/apis/core/v1 defaults), is refused."""
    if resource.kind not in ("Job", "CronJob") or not isinstance(_dig(obj, POD_SPECS[resource.kind]), dict):
        return []  # no pod template at all: the stand-in reports that as the missing field only
    path = POD_SPECS[resource.kind] + ".restartPolicy"
    policy = _dig(obj, path) or "Always"
    if policy in ("OnFailure", "Never"):
        return []
    return [(path, "FieldValueNotSupported", f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"')]


# apimachinery pkg/api/validate/content/kube.go (IsLabelKey, IsLabelValue) and errors.go (MaxLenError, RegexError),
# applied by ValidateLabels (apimachinery pkg/apis/meta/v1/validation) to metadata.labels and the selectors and
# pod template labels of pkg/apis/apps/validation and pkg/apis/batch/validation.
_LABEL_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_NAME = re.compile(f"^{_LABEL_NAME_FMT}$")
_LABEL_VALUE_FMT = f"({_LABEL_NAME_FMT})?"
_LABEL_VALUE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_SUBDOMAIN_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"


def _regex_error(message: str, regex: str, *examples: str) -> str:
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{regex}')"


def label_key_errors(key: str) -> list[str]:
    """IsLabelKey: an optional DNS subdomain prefix and '/', then a name of at most 63 bytes."""
    name_message = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    parts = key.split("/")
    errors = []
    if len(parts) > 2:
        return ["a valid label key " + _regex_error(name_message, _LABEL_NAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            if len(prefix.encode()) > 253:
                errors.append("prefix part must be no more than 253 bytes")
            if not _SUBDOMAIN.match(prefix):
                errors.append("prefix part " + _regex_error(
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                    "and must start and end with an alphanumeric character", _SUBDOMAIN_FMT, "example.com"))
    if not name:
        errors.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        errors.append("name part must be no more than 63 bytes")
    if not _LABEL_NAME.match(name):
        errors.append("name part " + _regex_error(name_message, _LABEL_NAME_FMT, "MyName", "my.name", "123-abc"))
    return errors


def label_value_errors(value: Any) -> list[str]:
    """IsLabelValue: empty, or at most 63 bytes of alphanumerics, '-', '_', '.', alphanumeric at both ends."""
    errors = []
    if len(value.encode()) > 63:
        errors.append("must be no more than 63 bytes")
    if not _LABEL_VALUE.match(value):
        errors.append(_regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character", _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def _label_causes(labels: Any, path: str) -> list[tuple[str, str, str]]:
    """ValidateLabels: each bad key or value is a FieldValueInvalid on the map's path, as the real server says."""
    causes = []
    for key, value in (labels or {}).items() if isinstance(labels, dict) else []:
        causes += [(path, "FieldValueInvalid", f"Invalid value: {json.dumps(key)}: {m}") for m in label_key_errors(key)]
        if isinstance(value, str):
            causes += [(path, "FieldValueInvalid", f"Invalid value: {json.dumps(value)}: {m}")
                       for m in label_value_errors(value)]
    return causes


def _dig(obj: Any, path: str) -> Any:
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


# Where each kind carries labels the real validation checks, besides metadata.labels.
LABEL_PATHS = {
    "Deployment": ("spec.selector.matchLabels", "spec.template.metadata.labels"),
    "Job": ("spec.template.metadata.labels",),
    "CronJob": ("spec.jobTemplate.metadata.labels", "spec.jobTemplate.spec.template.metadata.labels"),
}


def _all_label_causes(resource: Resource, obj: dict) -> list[tuple[str, str, str]]:
    causes = _label_causes(_dig(obj, "metadata.labels"), "metadata.labels")
    for path in LABEL_PATHS.get(resource.kind, ()):
        causes += _label_causes(_dig(obj, path), path)
    return causes


# Where each kind holds a pod spec, whose quantities (resources, emptyDir sizeLimit) the server canonicalises.
POD_SPECS = {
    "Pod": "spec",
    "Deployment": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
}


def _quantity_maps(resource: Resource, obj: dict) -> list[tuple[dict, str]]:
    """(mapping, key) for every resource.Quantity the object holds."""
    found: list[tuple[dict, str]] = []

    def amounts(resources: Any) -> None:
        for part in ("requests", "limits"):
            mapping = resources.get(part) if isinstance(resources, dict) else None
            if isinstance(mapping, dict):
                found.extend((mapping, key) for key in mapping)

    if resource.kind == "PersistentVolumeClaim":
        amounts(_dig(obj, "spec.resources"))
        capacity = _dig(obj, "status.capacity")
        if isinstance(capacity, dict):
            found.extend((capacity, key) for key in capacity)
    pod = _dig(obj, POD_SPECS[resource.kind]) if resource.kind in POD_SPECS else None
    if isinstance(pod, dict):
        for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            if isinstance(container, dict):
                amounts(container.get("resources"))
        for volume in pod.get("volumes") or []:
            empty_dir = volume.get("emptyDir") if isinstance(volume, dict) else None
            if isinstance(empty_dir, dict) and "sizeLimit" in empty_dir:
                found.append((empty_dir, "sizeLimit"))
    return found


def _canonical_quantities(resource: Resource, obj: dict) -> None:
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
    other = _BY_KIND.get((api_version, kind))
    if kind == resource.kind:
        raise ApiError(400, f"the API version in the data ({api_version}) does not match the expected API version "
                            f"({resource.api_version})")
    if other is None:
        why = f'no kind "{kind}" is registered for version "{api_version}" in scheme "pkg/api/legacyscheme/scheme.go:30"'
    else:
        why = f"converting ({version}.{kind}) to ({internal}): unknown conversion"
    raise ApiError(400, f'{kind} in version "{version}" cannot be handled as a {resource.kind}: {why}')


_MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$")


def _check_decodable(resource: Resource, obj: dict) -> None:
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


def _default_service(obj: dict, old: dict | None, allocate: Callable[[], str]) -> None:
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


def _default_secret(obj: dict) -> None:
    obj.setdefault("type", "Opaque")
    for key, text in (obj.pop("stringData", None) or {}).items():
        obj.setdefault("data", {})[key] = base64.b64encode(str(text).encode()).decode()


def _rolled_out(obj: dict, previous: dict | None = None) -> dict:
    """The status a Deployment controller reports once every replica is updated and ready.

    An unchanged rollout keeps ``previous``, so a no-op write stays a no-op.
    """
    replicas = obj.get("spec", {}).get("replicas", 1)
    generation = obj["metadata"].get("generation", 1)
    if previous and (previous.get("observedGeneration"), previous.get("replicas")) == (generation, replicas):
        return copy.deepcopy(previous)
    now = _now()
    condition = {"lastUpdateTime": now, "lastTransitionTime": now, "status": "True"}
    return {
        "observedGeneration": generation,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {**condition, "type": "Available", "reason": "MinimumReplicasAvailable"},
            {**condition, "type": "Progressing", "reason": "NewReplicaSetAvailable"},
        ],
    }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------
# Namespaces and finalizers

SEEDED_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")  # what a new cluster has
PVC_PROTECTION = "kubernetes.io/pvc-protection"


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


def claims_used(obj: dict) -> set[str]:
    """The PersistentVolumeClaims a Pod, or the pods of a Deployment or Job, mount."""
    spec = _dig(obj, POD_SPECS.get(obj.get("kind", ""), "spec")) or {}
    volumes = spec.get("volumes") or [] if isinstance(spec, dict) else []
    return {(v.get("persistentVolumeClaim") or {}).get("claimName") for v in volumes if isinstance(v, dict)} - {None}


# --------------------------------------------------------------------------
# The store: kube-apiserver's semantics, with no HTTP in sight

Key = tuple[str, str, str, str, str]  # group, version, plural, namespace ("" if cluster-scoped), name


class Store:
    """Objects by (group, version, plural, namespace, name), behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objects: dict[Key, dict] = {}
        self._version = 0
        self._next_ip = 1
        self.auto_rollout = True
        self.mutators: list[Callable[[str, dict], None]] = []  # (kind, object): like mutating webhooks
        for name in SEEDED_NAMESPACES:
            self.seed(namespace_object(name))

    @staticmethod
    def key(resource: Resource, namespace: str | None, name: str) -> Key:
        return (resource.group, resource.version, resource.plural, namespace or "", name)

    def _bump(self) -> str:
        self._version += 1
        return str(self._version)

    def _allocate_ip(self) -> str:
        self._next_ip += 1
        return f"10.96.{self._next_ip // 250}.{self._next_ip % 250 + 1}"

    def _stored(self, resource: Resource, namespace: str | None, name: str) -> dict:
        obj = self._objects.get(self.key(resource, namespace, name))
        if obj is None:
            raise not_found(resource, name)
        return obj

    # reads

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._stored(resource, namespace, name))

    def peek(self, resource: Resource, namespace: str | None, name: str) -> dict | None:
        with self._lock:
            return copy.deepcopy(self._objects.get(self.key(resource, namespace, name)))

    def all(self, resource: Resource, namespace: str | None = None) -> list[dict]:
        """Every object of a resource, in one namespace or all, sorted like etcd keys."""
        with self._lock:
            return [
                copy.deepcopy(obj)
                for key, obj in sorted(self._objects.items())
                if key[:3] == self.key(resource, None, "")[:3] and (namespace is None or key[3] == namespace)
            ]

    def list(self, resource: Resource, namespace: str | None, matchers: list[Matcher]) -> dict:
        with self._lock:
            version = str(self._version)
            objects = self.all(resource, namespace)
        items = [_without_type(obj) for obj in objects if all(m(obj) for m in matchers)]
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": {"resourceVersion": version},
            "items": items,
        }

    # writes

    def create(self, resource: Resource, namespace: str | None, body: Any, dry_run: bool = False) -> dict:
        """POST, in the real server's order: decode, admission (the namespace's lifecycle, the
        PVC protection finalizer), validation, then storage (a resourceVersion set, a name taken)."""
        check_body_type(resource, body)
        obj = _typed(resource, body)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        name = meta.get("name") or ""
        with self._lock:
            self._check_namespace(resource, namespace, name or meta.get("generateName") or "Unknown")
            if resource.namespaced and not meta.get("namespace"):
                meta["namespace"] = namespace
            if resource.namespaced and meta["namespace"] != namespace:
                raise ApiError(400, "the namespace of the provided object does not match the namespace sent on the request")
            if not name:
                cause = ("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")
                raise invalid(resource, "", [cause])
            if resource.status:
                obj.pop("status", None)
            if resource.kind == "PersistentVolumeClaim":
                # plugin/pkg/admission/storage/storageobjectinuseprotection (admitPVC): added on create.
                if PVC_PROTECTION not in (meta.get("finalizers") or []):
                    meta["finalizers"] = [*(meta.get("finalizers") or []), PVC_PROTECTION]
            for system in ("deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(system, None)  # rest.FillObjectMetaSystemFields / BeforeCreate clear them
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now())
            if resource.generation:
                meta["generation"] = 1
            self._admit(resource, obj, None)
            if meta.get("resourceVersion"):
                # apiserver pkg/storage/etcd3/store.go (Create): storage.ErrResourceVersionSetOnCreate, a plain
                # error that responsewriters.ErrorToAPIStatus turns into a 500 with no reason.
                raise ApiError(500, "resourceVersion should not be set on objects to be created", reason="")
            existing = self._objects.get(self.key(resource, namespace, name))
            if existing is not None:
                error = already_exists(resource, name)
                if existing["metadata"].get("deletionTimestamp"):  # store.go (create): said so
                    error.message = f"object is being deleted: {error.message}"
                raise error
            self._reconcile(resource, obj, None)
            if not dry_run:
                meta["resourceVersion"] = self._bump()
                self._objects[self.key(resource, namespace, name)] = obj
            return copy.deepcopy(obj)

    def _check_namespace(self, resource: Resource, namespace: str | None, name: str) -> None:
        """NamespaceLifecycle admission: no create into a namespace that is missing or terminating."""
        if not resource.namespaced:
            return
        found = self._objects.get(self.key(NAMESPACES, None, namespace or ""))
        if found is None:
            raise namespace_not_found(namespace or "")
        if (found.get("status") or {}).get("phase") == "Terminating":
            raise namespace_terminating(resource, namespace or "", name)

    def create_on_update(self, resource: Resource, namespace: str | None, name: str, body: Any, dry_run: bool) -> dict:
        """A PUT to a missing object of a kind whose strategy allows create-on-update (store.go Update).

        A uid in the body is a storage precondition the missing object cannot meet: 409, as
        storage.Preconditions.Check and InterpretUpdateError answer.
        """
        uid = (body.get("metadata") or {}).get("uid") if isinstance(body, dict) else None
        if uid:
            raise conflict(resource, name, f"Precondition failed: UID in precondition: {uid}, UID in object meta: ")
        check_body_type(resource, body)
        obj = _typed(resource, body)
        if obj["metadata"].get("name") != name:
            raise ApiError(
                400, f"the name of the object ({obj['metadata'].get('name', '')}) does not match the name on the URL ({name})"
            )
        obj["metadata"].pop("resourceVersion", None)  # the create path of GuaranteedUpdate stores it afresh
        return self.create(resource, namespace, obj, dry_run)

    def replace(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        body: Any,
        dry_run: bool = False,
        subresource: str | None = None,
    ) -> dict:
        check_body_type(resource, body)
        with self._lock:
            stored = self._stored(resource, namespace, name)
            candidate = _typed(resource, body)
            if not candidate["metadata"].get("resourceVersion") and not resource.unconditional_update:
                # store.go (Update): without AllowUnconditionalUpdate a PUT must name the version it replaces.
                detail = "Invalid value: 0x0: must be specified for an update"
                raise invalid(resource, name, [("metadata.resourceVersion", "FieldValueInvalid", detail)],
                              by_resource=True)
            return self._update(resource, stored, candidate, dry_run, subresource)

    def patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        content_type: str,
        patch: Any,
        dry_run: bool = False,
        subresource: str | None = None,
    ) -> dict:
        patcher = PATCHERS[content_type]
        if content_type != "application/json-patch+json" and not isinstance(patch, dict):
            raise ApiError(400, "the body of a merge patch must be a JSON object")
        with self._lock:
            stored = self._stored(resource, namespace, name)
            try:
                patched = patcher(copy.deepcopy(stored), patch)
            except PatchError as exc:
                raise ApiError(422, str(exc)) from None
            if not isinstance(patched, dict):
                raise ApiError(422, "the patch did not produce an object")
            return self._update(resource, stored, _typed(resource, patched), dry_run, subresource)

    def _update(
        self, resource: Resource, stored: dict, candidate: dict, dry_run: bool, subresource: str | None
    ) -> dict:
        """The shared end of PUT and PATCH: preconditions, identity, generation, version."""
        old, meta = stored["metadata"], candidate["metadata"]
        name = old["name"]
        if meta.get("name") != name:
            raise ApiError(
                400, f"the name of the object ({meta.get('name', '')}) does not match the name on the URL ({name})"
            )
        if resource.namespaced and (meta.get("namespace") or old["namespace"]) != old["namespace"]:
            raise ApiError(400, "the namespace of the provided object does not match the namespace sent on the request")
        if meta.get("resourceVersion") and meta["resourceVersion"] != old["resourceVersion"]:
            raise conflict(resource, name)
        if meta.get("uid") and meta["uid"] != old["uid"]:
            raise conflict(
                resource,
                name,
                f"Precondition failed: UID in precondition: {meta['uid']}, UID in object meta: {old['uid']}",
            )
        if subresource == "status":
            updated = copy.deepcopy(stored)
            updated["status"] = candidate.get("status") or {}
        else:
            updated = candidate
            if resource.status:
                updated.pop("status", None)
                if "status" in stored:
                    updated["status"] = copy.deepcopy(stored["status"])
        system = ("name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion",
                  "deletionTimestamp", "deletionGracePeriodSeconds")
        for key in system:
            updated["metadata"].pop(key, None)
        updated["metadata"].update({k: old[k] for k in system if k in old})
        if subresource != "status":
            self._admit(resource, updated, stored)
        if resource.generation and updated.get("spec") != stored.get("spec"):
            updated["metadata"]["generation"] = old.get("generation", 1) + 1
        if subresource != "status":
            self._reconcile(resource, updated, stored)
        if updated == stored:
            return copy.deepcopy(stored)  # a no-op write keeps its resourceVersion, as etcd does
        if old.get("deletionTimestamp") and not updated["metadata"].get("finalizers"):
            # store.go ShouldDeleteDuringUpdate: the last finalizer gone from an object being deleted deletes it.
            if not dry_run:
                del self._objects[self.key(resource, old.get("namespace"), name)]
                self._release_claims()
            return copy.deepcopy(updated)
        if not dry_run:
            updated["metadata"]["resourceVersion"] = self._bump()
            self._objects[self.key(resource, old.get("namespace"), name)] = updated
            self._release_claims()
        return copy.deepcopy(updated)

    def _admit(self, resource: Resource, obj: dict, old: dict | None) -> None:
        """Mutate (the test's webhooks), validate and default ``obj``, replacing ``old``, as admission does."""
        for mutate in self.mutators:
            mutate(resource.kind, obj)
        _check_decodable(resource, obj)
        _canonical_quantities(resource, obj)
        causes = (
            _name_causes(resource, obj["metadata"]["name"])
            + _cronjob_name_causes(resource, obj, creating=old is None)
            + _all_label_causes(resource, obj)
            + _host_path_causes(resource, obj)
            + _port_causes(resource, obj)
            + _restart_policy_causes(resource, obj)
            + _spec_causes(resource, obj)
        )
        if causes:
            raise invalid(resource, obj["metadata"]["name"], causes)
        if resource.kind == "Namespace" and old is None:
            fresh = namespace_object(obj["metadata"]["name"])
            obj["metadata"].setdefault("labels", {}).update(fresh["metadata"]["labels"])
            obj.setdefault("spec", {}).setdefault("finalizers", fresh["spec"]["finalizers"])
            obj["status"] = fresh["status"]
        if resource.kind == "Service":
            _default_service(obj, old, self._allocate_ip)
        elif resource.kind == "Secret":
            _default_secret(obj)
        elif resource.kind == "Deployment":
            obj["spec"].setdefault("replicas", 1)

    def _reconcile(self, resource: Resource, obj: dict, old: dict | None) -> None:
        """Do at once what a controller would do soon: roll Deployments out."""
        if resource.kind == "Deployment" and self.auto_rollout:
            obj["status"] = _rolled_out(obj, (old or {}).get("status"))

    def delete(self, resource: Resource, namespace: str | None, name: str, options: Any, dry_run: bool = False) -> dict:
        preconditions = (options.get("preconditions") if isinstance(options, dict) else None) or {}
        with self._lock:
            stored = self._stored(resource, namespace, name)
            meta = stored["metadata"]
            for field_, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
                wanted = preconditions.get(field_)
                actual = meta.get(field_)
                if wanted and wanted != actual:
                    why = f"Precondition failed: {label} in precondition: {wanted}, {label} in object meta: {actual}"
                    raise conflict(resource, name, why)
            if meta.get("finalizers"):
                return self._mark_deleted(resource, stored, dry_run)
            if not dry_run:
                del self._objects[self.key(resource, namespace, name)]
                self._release_claims()
        if resource.returns_deleted:
            return copy.deepcopy(stored)
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": _details(resource, name, uid=meta["uid"]),
        }

    def _mark_deleted(self, resource: Resource, stored: dict, dry_run: bool) -> dict:
        """store.go (Delete, updateForGracefulDeletionAndFinalizers): an object with finalizers is not removed;
        it gets deletionTimestamp and stays until its finalizers are gone, and the answer is the object."""
        marked = copy.deepcopy(stored)
        meta = marked["metadata"]
        if not meta.get("deletionTimestamp"):
            meta.update(deletionTimestamp=_now(), deletionGracePeriodSeconds=0)
            if not dry_run:
                meta["resourceVersion"] = self._bump()
                self._objects[self.key(resource, meta.get("namespace"), meta["name"])] = marked
                self._release_claims()
        return copy.deepcopy(marked)

    def _release_claims(self) -> None:
        """What pkg/controller/volume/pvcprotection does: a PVC being deleted loses its protection finalizer once
        no pod uses it (here: no Pod, nor a Deployment or Job whose pods would), and is then removed."""
        pvcs = resource_for("persistentvolumeclaims")
        users = [resource_for("pods"), resource_for("deployments", "apps"), resource_for("jobs", "batch")]
        for key, claim in list(self._objects.items()):
            meta = claim["metadata"]
            if key[:3] != self.key(pvcs, None, "")[:3] or not meta.get("deletionTimestamp"):
                continue
            if PVC_PROTECTION not in (meta.get("finalizers") or []):
                continue
            namespace = meta.get("namespace")
            if any(meta["name"] in claims_used(user) for kind in users for user in self.all(kind, namespace)):
                continue
            meta["finalizers"] = [f for f in meta["finalizers"] if f != PVC_PROTECTION]
            if meta["finalizers"]:
                meta["resourceVersion"] = self._bump()
            else:
                del self._objects[key]

    # direct access for tests

    def seed(self, obj: dict) -> dict:
        """Store ``obj`` as given, filling the metadata the server owns (and its namespace, which it needs)."""
        resource = _BY_KIND.get((obj.get("apiVersion"), obj.get("kind")))
        if resource is None:
            raise ValueError(f"the stand-in does not serve {obj.get('apiVersion')} {obj.get('kind')}")
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", _now())
        if resource.namespaced:
            meta.setdefault("namespace", "default")
        if resource.generation:
            meta.setdefault("generation", 1)
        with self._lock:
            if resource.namespaced and self.key(NAMESPACES, None, meta["namespace"]) not in self._objects:
                self.seed(namespace_object(meta["namespace"]))  # an object cannot exist without its namespace
            meta["resourceVersion"] = self._bump()
            self._objects[self.key(resource, meta.get("namespace"), meta["name"])] = obj
        return copy.deepcopy(obj)

    def remove(self, resource: Resource, namespace: str | None, name: str) -> bool:
        """Take an object away at once, as if its controller had finished with it."""
        with self._lock:
            removed = self._objects.pop(self.key(resource, namespace, name), None) is not None
            self._release_claims()  # it may have been a claim's last user
            return removed


def _typed(resource: Resource, body: Any) -> dict:
    """A copy of a request body with kind and apiVersion set, as the server stores it."""
    if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
        raise ApiError(400, "the request body must be a JSON object with an object for metadata")
    rest = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("kind", "apiVersion")}
    return {"kind": resource.kind, "apiVersion": resource.api_version, "metadata": {}, **rest}


def _without_type(obj: dict) -> dict:
    """List items come without kind and apiVersion, as from the real server."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


# --------------------------------------------------------------------------
# The request log and fault injection


@dataclass
class RequestRecord:
    """One request as the server saw it, and what it answered (None when dropped)."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str | None
    body: Any
    headers: dict[str, str]
    status: int | None = None
    dropped: bool = False

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass
class Fault:
    """An injected failure for the Nth matching request and the ``times - 1`` after it."""

    method: str | None = None
    path_contains: str | None = None
    status: int | None = None
    nth: int = 1
    times: int | None = 1  # None: every matching request from the Nth on
    delay: float = 0.0
    drop: bool = False
    retry_after: int | None = None
    after: bool = False  # apply the request to the store first, then fail
    hold: float = 0.0  # seconds to wait after applying the request, before answering
    seen: int = 0

    def matches(self, method: str, target: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path_contains is None or self.path_contains in target
        )

    def fires(self) -> bool:
        """Count one more matching request; True when this one is hit."""
        self.seen += 1
        return self.seen >= self.nth and (self.times is None or self.seen < self.nth + self.times)

    @property
    def interrupts(self) -> bool:
        return self.drop or self.status is not None

    def answer(self) -> Answer | None:
        """The failure to answer; None to drop the connection."""
        if self.drop:
            return None
        message = FAULT_MESSAGES.get(self.status, f"injected fault: HTTP {self.status}")
        if self.retry_after is None:
            return _error_answer(ApiError(self.status, message))
        error = ApiError(self.status, message, {"retryAfterSeconds": self.retry_after})
        return Answer(error.code, error.status(), {"Retry-After": str(self.retry_after)})


@dataclass
class Answer:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


def _error_answer(error: ApiError) -> Answer:
    return Answer(error.code, error.status())


# --------------------------------------------------------------------------
# HTTP


@dataclass(frozen=True)
class Target:
    """What a request path names."""

    resource: Resource
    namespace: str | None
    name: str | None
    subresource: str | None


NO_SUCH_PATH = "the server could not find the requested resource"
NOT_ALLOWED = "the server does not allow this method on the requested resource"


def split_path(path: str) -> tuple[str, str, list[str]]:
    """(group, version, the segments after them) of an ``/api`` or ``/apis`` path."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise ApiError(404, NO_SUCH_PATH)
    if (group, version) not in _GROUP_VERSIONS:
        raise ApiError(404, NO_SUCH_PATH)
    return group, version, rest


def parse_target(group: str, version: str, rest: list[str]) -> Target:
    """The resource, namespace, name and subresource that path segments name."""
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    resource = _BY_PATH.get((group, version, rest[0]))
    if resource is None or len(rest) > 3 or (len(rest) > 1 and namespace is None and resource.namespaced):
        raise ApiError(404, NO_SUCH_PATH)
    subresource = rest[2] if len(rest) == 3 else None
    if subresource not in (None, "status") or (subresource and not resource.status):
        raise ApiError(404, NO_SUCH_PATH)
    return Target(resource, namespace, rest[1] if len(rest) > 1 else None, subresource)


def _discovery(path: str, host: str) -> dict | None:
    """Minimal discovery documents: /version, /api and /apis."""
    path = path.rstrip("/")  # the client asks for /version/
    if path == "/version":
        return VERSION_INFO
    if path == "/api":
        address = [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": address}
    if path == "/apis":
        groups = []
        for group, version in _GROUP_VERSIONS:
            if group:
                entry = {"groupVersion": f"{group}/{version}", "version": version}
                groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    return None


def _resource_list(group: str, version: str) -> dict:
    """The APIResourceList of one group version, for discovery clients."""
    entries = []
    for r in RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        entry = {"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced, "kind": r.kind}
        entries.append({**entry, "verbs": ["create", "delete", "get", "list", "patch", "update"]})
        if r.status:
            entries.append(
                {**entry, "name": f"{r.plural}/status", "singularName": "", "verbs": ["get", "patch", "update"]}
            )
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the KubeAPI that owns the server."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    disable_nagle_algorithm = True  # otherwise each small answer waits ~40 ms for a delayed ACK
    server_version = "kubeapi-standin"

    def setup(self) -> None:
        super().setup()
        self.server.api._track(self.connection)

    def finish(self) -> None:
        self.server.api._untrack(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log records what tests need."""

    def _serve(self) -> None:
        self.server.api._serve(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: KubeAPI) -> None:
        self.api = api
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hung up (timeouts in fault tests); loud about the rest."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


KUBECONFIG_TEMPLATE = """\
apiVersion: v1
kind: Config
clusters:
- name: {context}
  cluster:
    server: {url}
users:
- name: {context}
  user:
    token: {token}
contexts:
- name: {context}
  context:
    cluster: {context}
    user: {context}
{namespace_line}current-context: {context}
preferences: {{}}
"""


class KubeAPI:
    """The stand-in server: ``start()``, point a kubeconfig at ``url``, ``stop()``."""

    def __init__(self, port: int = 0, token: str | None = None) -> None:
        self.port = port
        self.token = token or secrets.token_hex(16)
        self.require_token = False
        self.latency = 0.0
        self.kubeconfig: Path | None = None
        self.store = Store()
        self._lock = threading.Lock()  # the log, the faults and the open connections
        self._log: list[RequestRecord] = []
        self._faults: list[Fault] = []
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> KubeAPI:
        self._httpd = _HTTPServer(("127.0.0.1", self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name=f"kubeapi:{self.port}", daemon=True
        )  # a short poll interval: stop() waits for one
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close kept-alive connections, so no client talks to a stopped server."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> KubeAPI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auto_rollout(self) -> bool:
        return self.store.auto_rollout

    @auto_rollout.setter
    def auto_rollout(self, value: bool) -> None:
        self.store.auto_rollout = value

    def write_kubeconfig(self, path: str | Path, context: str = "standin", namespace: str | None = None) -> Path:
        """Write a kubeconfig whose current context reaches this server with its bearer token."""
        path = Path(path)
        quoted = json.dumps  # a JSON string is a YAML string, whatever it holds
        namespace_line = f"    namespace: {quoted(namespace)}\n" if namespace else ""
        text = KUBECONFIG_TEMPLATE.format(
            context=quoted(context), url=quoted(self.url), token=quoted(self.token), namespace_line=namespace_line
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.kubeconfig = path
        return path

    # the request log

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method.upper()) and (path_contains is None or path_contains in r.path)
        )

    def writes(self) -> list[RequestRecord]:
        """Every request that could change something: all but GETs."""
        return [r for r in self.requests if r.method != "GET"]

    # faults

    def inject(
        self,
        method: str | None = None,
        path_contains: str | None = None,
        status: int | None = None,
        nth: int = 1,
        times: int | None = 1,
        delay: float = 0.0,
        drop: bool = False,
        retry_after: int | None = None,
        after: bool = False,
        hold: float = 0.0,
    ) -> Fault:
        """Fail the Nth request matching ``method`` and ``path_contains`` (and ``times - 1`` more).

        It answers ``status`` with a Status body (and ``Retry-After``), or drops the
        connection, after sleeping ``delay`` seconds; a delay alone slows the request
        down. With ``after=True`` the request is applied to the store first. ``hold``
        applies the request, then waits that long before answering (a crash window).
        """
        fault = Fault(method, path_contains, status, nth, times, delay, drop, retry_after, after, hold)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _fault_for(self, method: str, target: str) -> Fault | None:
        """The first fault hit by this request; every matching fault counts it."""
        hit = None
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, target) and fault.fires() and hit is None:
                    hit = fault
        return hit

    # direct access for tests

    def seed(self, obj: dict) -> dict:
        return self.store.seed(obj)

    def get_object(self, plural: str, namespace: str | None, name: str, group: str = "") -> dict | None:
        return self.store.peek(resource_for(plural, group), namespace, name)

    def objects(self, plural: str, group: str = "") -> list[dict]:
        return self.store.all(resource_for(plural, group))

    def remove(self, plural: str, namespace: str | None, name: str, group: str = "") -> bool:
        return self.store.remove(resource_for(plural, group), namespace, name)

    def mount_claim(self, namespace: str, claim: str, pod: str = "claim-user") -> dict:
        """Seed a running Pod that mounts ``claim``: a delete of the claim then leaves it terminating (the
        pvc-protection finalizer) until the Pod goes (``remove("pods", namespace, pod)``)."""
        volume = {"name": "data", "persistentVolumeClaim": {"claimName": claim}}
        return self.seed({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": namespace},
            "spec": {"containers": [{"name": "main", "image": "busybox"}], "volumes": [volume]},
            "status": {"phase": "Running"},
        })

    def add_namespace(self, name: str) -> dict:
        """Create a namespace, as ``kubectl create namespace`` would."""
        return self.seed(namespace_object(name))

    def terminate_namespace(self, name: str) -> dict:
        """Put a namespace in the state ``kubectl delete namespace`` leaves it in while its content goes."""
        stored = self.store.get(NAMESPACES, None, name)
        stored["metadata"]["deletionTimestamp"] = _now()
        stored["status"] = {"phase": "Terminating"}
        return self.seed(stored)

    def set_status(self, plural: str, namespace: str | None, name: str, status: dict, group: str = "") -> dict:
        """Replace an object's status, as its controller would (a rollout under way, a pod crash-looping)."""
        resource = resource_for(plural, group)
        stored = self.store.get(resource, namespace, name)
        return self.store.replace(resource, namespace, name, {**stored, "status": status}, subresource="status")

    # serving

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))  # read it all, even to drop
        method, target = handler.command, handler.path
        parts = urlsplit(target)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        record = RequestRecord(
            method=method,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            content_type=headers.get("content-type"),
            body=_parse_json(raw),
            headers=headers,
        )
        with self._lock:
            self._log.append(record)  # logged on arrival: a test can see a request the server holds
        if self.latency:
            time.sleep(self.latency)
        fault = self._fault_for(method, target)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.hold:
            answer = self._answer(record)  # applied; the client hears of it only after the hold
            time.sleep(fault.hold)
            if fault.interrupts:
                answer = fault.answer()
        elif fault and fault.interrupts:
            if fault.after:
                self._answer(record)  # applied, but the client never hears of it
            answer = fault.answer()
        else:
            answer = self._answer(record)
        record.status, record.dropped = (answer.status, False) if answer else (None, True)
        if answer is None:
            handler.close_connection = True
            return
        _send(handler, answer)

    def _answer(self, request: RequestRecord) -> Answer:
        try:
            if self.require_token and request.authorization != f"Bearer {self.token}":
                raise ApiError(401, "Unauthorized")
            return self._route(request)
        except ApiError as error:
            return _error_answer(error)

    def _route(self, request: RequestRecord) -> Answer:
        document = _discovery(request.path, f"127.0.0.1:{self.port}") if request.method == "GET" else None
        if document is not None:
            return Answer(200, document)
        group, version, rest = split_path(request.path)
        if not rest:
            if request.method != "GET":
                raise ApiError(405, NOT_ALLOWED)
            return Answer(200, _resource_list(group, version))
        target = parse_target(group, version, rest)
        if request.query.get("watch") in ("true", "1"):
            raise ApiError(400, "watch is not supported by the stand-in API server")
        dry_run = request.query.get("dryRun")
        if dry_run not in (None, "All"):
            raise ApiError(400, f'dryRun: Unsupported value: "{dry_run}": supported values: "All"')
        body = _request_body(request)
        if target.name is None:
            return self._collection(request, target, body, dry_run is not None)
        return self._item(request, target, body, dry_run is not None)

    def _collection(self, request: RequestRecord, target: Target, body: Any, dry_run: bool) -> Answer:
        resource, namespace = target.resource, target.namespace
        if request.method == "GET":
            matchers = []
            if request.query.get("labelSelector"):
                matchers.append(label_matcher(request.query["labelSelector"]))
            if request.query.get("fieldSelector"):
                matchers.append(field_matcher(request.query["fieldSelector"]))
            return Answer(200, self.store.list(resource, namespace, matchers))
        if request.method == "POST" and (namespace is not None or not resource.namespaced):
            return Answer(201, self.store.create(resource, namespace, body, dry_run))
        raise ApiError(405, NOT_ALLOWED)

    def _item(self, request: RequestRecord, target: Target, body: Any, dry_run: bool) -> Answer:
        resource, namespace, name, sub = target.resource, target.namespace, target.name, target.subresource
        if request.method == "GET":
            return Answer(200, self.store.get(resource, namespace, name))
        if request.method == "PUT":
            if resource.create_on_update and sub is None and self.store.peek(resource, namespace, name) is None:
                return Answer(201, self.store.create_on_update(resource, namespace, name, body, dry_run))
            return Answer(200, self.store.replace(resource, namespace, name, body, dry_run, sub))
        if request.method == "PATCH":
            content_type = (request.content_type or "").split(";")[0].strip()
            return Answer(200, self.store.patch(resource, namespace, name, content_type, body, dry_run, sub))
        if request.method == "DELETE" and sub is None:
            return Answer(200, self.store.delete(resource, namespace, name, body, dry_run))
        raise ApiError(405, NOT_ALLOWED)


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _request_body(request: RequestRecord) -> Any:
    """The parsed body, after checking its media type as the real server does."""
    if request.method in ("GET", "DELETE"):
        return request.body
    media_type = (request.content_type or "").split(";")[0].strip()
    accepted = list(PATCHERS) if request.method == "PATCH" else ["application/json"]
    if not media_type and request.method != "PATCH":
        media_type = "application/json"  # the generated client sends none on create and replace
    if media_type not in accepted:
        message = (
            f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}"
        )
        raise ApiError(415, message)
    if request.body is None:
        raise ApiError(400, "the request body is missing or is not valid JSON")
    return request.body


def _send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
    payload = json.dumps(answer.body).encode()
    handler.send_response(answer.status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    for name, value in answer.headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(payload)


# --------------------------------------------------------------------------
# The cloudflared operator's objects

DEFAULT_CLOUDFLARED_CONFIG = """\
# cloudflared, run by the cluster operator; norn adds and removes app rules.
tunnel: norn
credentials-file: /etc/cloudflared/creds/credentials.json
metrics: 0.0.0.0:2000
no-autoupdate: true
ingress:
  - hostname: grafana.example.com
    service: http://grafana.monitoring.svc.cluster.local:80
  # everything else: 404
  - service: http_status:404
"""


def seed_cloudflared(
    server: KubeAPI,
    namespace: str = "cloudflared",
    name: str = "cloudflared",
    config_text: str = DEFAULT_CLOUDFLARED_CONFIG,
) -> tuple[dict, dict]:
    """Seed the operator's cloudflared ConfigMap (key ``config.yaml``) and Deployment."""
    labels = {"app": name}
    configmap = server.seed(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "data": {"config.yaml": config_text},
        }
    )
    container = {
        "name": "cloudflared",
        "image": "cloudflare/cloudflared:2024.8.2",
        "args": ["tunnel", "--config", "/etc/cloudflared/config/config.yaml", "run"],
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/cloudflared/config", "readOnly": True},
            {"name": "creds", "mountPath": "/etc/cloudflared/creds", "readOnly": True},
        ],
    }
    volumes = [
        {"name": "config", "configMap": {"name": name}},
        {"name": "creds", "secret": {"secretName": "tunnel-credentials"}},
    ]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container], "volumes": volumes}},
        },
    }
    deployment["status"] = _rolled_out(deployment)
    return configmap, server.seed(deployment)
