"""Errors as the real server answers them: an HTTP code and a ``Status`` body, with its reason and details."""

from __future__ import annotations

from typing import Any

from tests.kubeapi.resources import Resource
from tests.standin_http.answers import Answer

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


def status_details(resource: Resource, name: str, **extra: Any) -> dict:
    details = {"name": name}
    if resource.group:
        details["group"] = resource.group
    details["kind"] = resource.plural
    details.update(extra)
    return details


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(404, f'{resource.qualified} "{name}" not found', status_details(resource, name))


def already_exists(resource: Resource, name: str) -> ApiError:
    details = status_details(resource, name)
    return ApiError(409, f'{resource.qualified} "{name}" already exists', details, "AlreadyExists")


def conflict(resource: Resource, name: str, why: str = MODIFIED) -> ApiError:
    return ApiError(
        409, f'Operation cannot be fulfilled on {resource.qualified} "{name}": {why}', status_details(resource, name)
    )


def invalid(
    resource: Resource, name: str, causes: list[tuple[str, str, str]], *, by_resource: bool = False
) -> ApiError:
    """422 Invalid; ``causes`` are (field, reason, detail) as the real validator reports them.

    ``by_resource``: named by resource rather than kind (``leases.coordination.k8s.io``), as store.Update does.
    """
    texts = list(dict.fromkeys(f"{field_}: {detail}" for field_, _, detail in causes))  # ToAggregate dedupes
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details = status_details(resource, name, kind=resource.plural if by_resource else resource.kind)
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
    details = status_details(resource, name, causes=[cause])
    return ApiError(403, f'{resource.qualified} "{name}" is forbidden: {why}', details)


def error_answer(error: ApiError) -> Answer:
    return Answer(error.code, error.status())
