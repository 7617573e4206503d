"""Paths -> what they name, discovery documents, and each request -> the store call that answers it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.kubeapi.errors import ApiError
from tests.kubeapi.patches import PATCHERS
from tests.kubeapi.resources import BY_PATH, GROUP_VERSIONS, RESOURCES, Resource
from tests.kubeapi.selectors import field_matcher, label_matcher
from tests.kubeapi.store import Store
from tests.standin_http.answers import Answer
from tests.standin_http.records import RequestRecord

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
    if (group, version) not in GROUP_VERSIONS:
        raise ApiError(404, NO_SUCH_PATH)
    return group, version, rest


def parse_target(group: str, version: str, rest: list[str]) -> Target:
    """The resource, namespace, name and subresource that path segments name."""
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    resource = BY_PATH.get((group, version, rest[0]))
    if resource is None or len(rest) > 3 or (len(rest) > 1 and namespace is None and resource.namespaced):
        raise ApiError(404, NO_SUCH_PATH)
    subresource = rest[2] if len(rest) == 3 else None
    if subresource not in (None, "status") or (subresource and not resource.status):
        raise ApiError(404, NO_SUCH_PATH)
    return Target(resource, namespace, rest[1] if len(rest) > 1 else None, subresource)


def discovery(path: str, host: str) -> dict | None:
    """Minimal discovery documents: /version, /api and /apis."""
    path = path.rstrip("/")  # the client asks for /version/
    if path == "/version":
        return VERSION_INFO
    if path == "/api":
        address = [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": address}
    if path == "/apis":
        groups = []
        for group, version in GROUP_VERSIONS:
            if group:
                entry = {"groupVersion": f"{group}/{version}", "version": version}
                groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    return None


def resource_list(group: str, version: str) -> dict:
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


def request_body(request: RequestRecord) -> Any:
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


def route(request: RequestRecord, store: Store, host: str) -> Answer:
    """The answer to a request that passed authentication; an ApiError for the refusals."""
    document = discovery(request.path, host) if request.method == "GET" else None
    if document is not None:
        return Answer(200, document)
    group, version, rest = split_path(request.path)
    if not rest:
        if request.method != "GET":
            raise ApiError(405, NOT_ALLOWED)
        return Answer(200, resource_list(group, version))
    target = parse_target(group, version, rest)
    if request.query.get("watch") in ("true", "1"):
        raise ApiError(400, "watch is not supported by the stand-in API server")
    dry_run = request.query.get("dryRun")
    if dry_run not in (None, "All"):
        raise ApiError(400, f'dryRun: Unsupported value: "{dry_run}": supported values: "All"')
    body = request_body(request)
    if target.name is None:
        return _collection(request, store, target, body, dry_run is not None)
    return _item(request, store, target, body, dry_run is not None)


def _collection(request: RequestRecord, store: Store, target: Target, body: Any, dry_run: bool) -> Answer:
    resource, namespace = target.resource, target.namespace
    if request.method == "GET":
        matchers = []
        if request.query.get("labelSelector"):
            matchers.append(label_matcher(request.query["labelSelector"]))
        if request.query.get("fieldSelector"):
            matchers.append(field_matcher(request.query["fieldSelector"]))
        return Answer(200, store.list(resource, namespace, matchers))
    if request.method == "POST" and (namespace is not None or not resource.namespaced):
        return Answer(201, store.create(resource, namespace, body, dry_run))
    raise ApiError(405, NOT_ALLOWED)


def _item(request: RequestRecord, store: Store, target: Target, body: Any, dry_run: bool) -> Answer:
    resource, namespace, name, sub = target.resource, target.namespace, target.name, target.subresource
    if request.method == "GET":
        return Answer(200, store.get(resource, namespace, name))
    if request.method == "PUT":
        if resource.create_on_update and sub is None and store.peek(resource, namespace, name) is None:
            return Answer(201, store.create_on_update(resource, namespace, name, body, dry_run))
        return Answer(200, store.replace(resource, namespace, name, body, dry_run, sub))
    if request.method == "PATCH":
        content_type = (request.content_type or "").split(";")[0].strip()
        return Answer(200, store.patch(resource, namespace, name, content_type, body, dry_run, sub))
    if request.method == "DELETE" and sub is None:
        return Answer(200, store.delete(resource, namespace, name, body, dry_run))
    raise ApiError(405, NOT_ALLOWED)
