"""API answers and transport failures -> norn's small exception hierarchy, with what to do about them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from norn import retry
from norn.errors import AccessDenied, AlreadyExists, ClusterError, Conflict, NotFound
from norn.kube.kinds import Kind

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


class NamespaceUnusable(ClusterError):
    """The namespace does not exist or is being deleted: a setup to fix, not a permission to grant."""

    exit_code = 2


def who(context: str | None, user: str | None) -> str:
    return f"kubeconfig context {context or '(in-cluster)'}, user {user or '(service account)'}"


def api_error(
    status: int, data: bytes, method: str, path: str, headers: Any, *, context: str | None, user: str | None
) -> ClusterError:
    """Turn a Kubernetes Status answer into the matching norn error."""
    try:
        payload = json.loads(data)
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    reason = payload.get("reason")
    message = payload.get("message") or data.decode(errors="replace").strip()[:300] or f"HTTP {status}"
    if unusable := namespace_refusal(status, payload, path):
        return unusable
    if status == 404:
        return NotFound(message, status=status, reason=reason)
    if status == 409 and reason == "AlreadyExists":
        return AlreadyExists(message, status=status, reason=reason)
    if status == 409:
        return Conflict(message, status=status, reason=reason)
    error = ClusterError(f"{method} {path}: {message} (HTTP {status})", status=status, reason=reason)
    if status in (401, 403):
        error.message = f"{error.message}; {who(context, user)}"
        error.hint = (
            "the credentials were refused: log in again" if status == 401
            else "grant that user the permission the message names (see the README's Role)"
        )
    if status in TRANSIENT_STATUS:
        error.transient = True
        error.retry_after = retry.retry_after(headers.get("Retry-After") if headers is not None else None)
    return error


def unreachable(where: str, exc: BaseException) -> ClusterError:
    """No answer from the API server: transient, so retried."""
    error = ClusterError(
        f"cannot reach the Kubernetes API at {where}: {_root_cause(exc)}",
        hint="check that the cluster is up and that KUBECONFIG / --context point at it",
    )
    error.transient = True
    return error


def _root_cause(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc).strip() or type(exc).__name__


@contextmanager
def needs(cluster: Any, verb: str, kind: Kind, namespace: str) -> Iterator[None]:
    """Turn a 403 from the requests inside into AccessDenied naming what to grant, and to whom."""
    try:
        yield
    except ClusterError as exc:
        if exc.status != 403 or isinstance(exc, NamespaceUnusable):
            raise
        raise AccessDenied(
            f"not allowed to {verb} {kind.resource} in namespace {namespace} (HTTP 403; {who(cluster.context, cluster.user)})",
            status=403,
            reason=exc.reason,
            hint=f"grant the verb {verb} on {kind.resource} in namespace {namespace} to that user"
            " (norn's README has the whole Role it needs)",
        ) from exc


_IN_NAMESPACE = re.compile(r"/namespaces/([^/?]+)/")


def namespace_refusal(status: int, payload: dict, path: str) -> NamespaceUnusable | None:
    """What kube-apiserver answers when a request's namespace is missing or terminating, as a clear error.

    Its NamespaceLifecycle admission plugin (apiserver pkg/admission/plugin/namespace/lifecycle) refuses a
    create into a missing namespace with the namespace's own 404 (details kind ``namespaces``), and into a
    terminating one with a 403 whose cause is ``NamespaceTerminating``.
    """
    details = payload.get("details") if isinstance(payload.get("details"), dict) else {}
    message = payload.get("message") or ""
    if status == 404 and details.get("kind") == "namespaces" and not details.get("group"):
        namespace = details.get("name") or ""
        return NamespaceUnusable(
            f"namespace {namespace} does not exist (the API server: {message})",
            status=status, reason=payload.get("reason"), hint=namespace_hint(namespace, terminating=False),
        )
    causes = details.get("causes") if isinstance(details.get("causes"), list) else []
    if status == 403 and any(isinstance(c, dict) and c.get("reason") == "NamespaceTerminating" for c in causes):
        found = _IN_NAMESPACE.search(path)
        namespace = found.group(1) if found else "?"
        return NamespaceUnusable(
            f"namespace {namespace} is being deleted (the API server: {message})",
            status=status, reason=payload.get("reason"), hint=namespace_hint(namespace, terminating=True),
        )
    return None


def namespace_hint(namespace: str, *, terminating: bool) -> str:
    first = (
        f"wait until namespace {namespace} is gone and create it again" if terminating
        else f"create it (kubectl create namespace {namespace})"
    )
    return (
        f"{first}, or use a namespace that exists: --namespace or NORN_NAMESPACE for the app, "
        "NORN_STATE_NAMESPACE for norn's state (kubernetes state backend)"
    )
