"""The Kubernetes adapter: the few calls norn makes, as plain dicts.

It keeps the official client for what it is good at (kubeconfig, contexts,
exec and token auth, in-cluster config, TLS) and sends requests through its
``ApiClient`` transport by resource path, which avoids importing the large
generated API classes. API errors become norn's small exception hierarchy.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from norn.errors import AlreadyExists, ClusterError, Conflict, NotFound, UsageError

STRATEGIC_MERGE = "application/strategic-merge-patch+json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

# (connect, read) seconds for one request
REQUEST_TIMEOUT = (10, 30)


@dataclass(frozen=True)
class Kind:
    name: str
    prefix: str  # "/api/v1" or "/apis/<group>/<version>"
    plural: str

    def path(self, namespace: str, name: str | None = None) -> str:
        base = f"{self.prefix}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{name}" if name else base

    def describe(self, namespace: str, name: str) -> str:
        return f"{self.name} {namespace}/{name}"


DEPLOYMENT = Kind("Deployment", "/apis/apps/v1", "deployments")
SERVICE = Kind("Service", "/api/v1", "services")
PVC = Kind("PersistentVolumeClaim", "/api/v1", "persistentvolumeclaims")
CONFIGMAP = Kind("ConfigMap", "/api/v1", "configmaps")
CRONJOB = Kind("CronJob", "/apis/batch/v1", "cronjobs")


class Cluster:
    """One connection to one cluster, as a kubeconfig context names it."""

    def __init__(self, api_client: Any, context: str | None) -> None:
        self._api = api_client
        self.context = context
        self.server = api_client.configuration.host

    def where(self) -> str:
        return f"{self.server} (context {self.context})" if self.context else self.server

    def get(self, kind: Kind, namespace: str, name: str) -> dict | None:
        try:
            return self._request("GET", kind.path(namespace, name))
        except NotFound:
            return None

    def create(self, kind: Kind, namespace: str, obj: dict) -> dict:
        return self._request("POST", kind.path(namespace), body=obj)

    def replace(self, kind: Kind, namespace: str, name: str, obj: dict) -> dict:
        return self._request("PUT", kind.path(namespace, name), body=obj)

    def patch(self, kind: Kind, namespace: str, name: str, patch: Any, content_type: str = STRATEGIC_MERGE) -> dict:
        return self._request("PATCH", kind.path(namespace, name), body=patch, content_type=content_type)

    def delete(self, kind: Kind, namespace: str, name: str, *, uid: str | None = None) -> bool:
        """Delete; False when it was already gone. ``uid`` guards against deleting a look-alike."""
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            self._request("DELETE", kind.path(namespace, name), body=body)
        except NotFound:
            return False
        return True

    def _request(self, method: str, path: str, *, body: Any = None, content_type: str = "application/json") -> dict:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        _, url, headers, body, _ = self._api.param_serialize(
            method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        try:
            response = self._api.call_api(method, url, header_params=headers, body=body, _request_timeout=REQUEST_TIMEOUT)
            data = response.read()
        except Exception as exc:  # the client raises urllib3 and ApiException types
            raise _translate(exc, self) from exc
        if not 200 <= response.status <= 299:
            raise _api_error(response.status, data, method, path)
        return json.loads(data) if data else {}


def _api_error(status: int, data: bytes, method: str, path: str) -> ClusterError:
    """Turn a Kubernetes Status answer into the matching norn error."""
    try:
        payload = json.loads(data)
    except ValueError:
        payload = {}
    reason = payload.get("reason") if isinstance(payload, dict) else None
    message = payload.get("message") if isinstance(payload, dict) else None
    message = message or (data.decode(errors="replace").strip()[:300] or f"HTTP {status}")
    if status == 404:
        return NotFound(message, status=status, reason=reason)
    if status == 409 and reason == "AlreadyExists":
        return AlreadyExists(message, status=status, reason=reason)
    if status == 409:
        return Conflict(message, status=status, reason=reason)
    return ClusterError(f"{method} {path}: {message} (HTTP {status})", status=status, reason=reason)


def _translate(exc: Exception, cluster: Cluster) -> ClusterError:
    status = getattr(exc, "status", None)
    if status:  # an ApiException raised by the transport itself
        return _api_error(status, (getattr(exc, "body", None) or "").encode(), "request", "")
    return ClusterError(
        f"cannot reach the Kubernetes API at {cluster.where()}: {_root_cause(exc)}",
        hint="check that the cluster is up and that KUBECONFIG / --context point at it",
    )


def _root_cause(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc).strip() or type(exc).__name__


def connect(kubeconfig: str | None, context: str | None) -> Cluster:
    """Load credentials like kubectl: KUBECONFIG, else ~/.kube/config, else in-cluster."""
    from kubernetes.client.api_client import ApiClient
    from kubernetes.client.configuration import Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config import incluster_config, kube_config

    configuration = Configuration()
    default_file = Path("~/.kube/config").expanduser()
    config_file = kubeconfig or (str(default_file) if default_file.exists() else None)
    try:
        if config_file is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            if context:
                raise UsageError(f"--context {context} was given, but norn runs in a pod with no kubeconfig")
            incluster_config.load_incluster_config(client_configuration=configuration)
            return Cluster(ApiClient(configuration), None)
        if config_file is None:
            raise UsageError(
                "no Kubernetes credentials: KUBECONFIG is not set and ~/.kube/config does not exist",
                hint="point KUBECONFIG at your kubeconfig file",
            )
        missing = [p for p in config_file.split(os.pathsep) if p and not Path(p).expanduser().exists()]
        if missing and len(missing) == len([p for p in config_file.split(os.pathsep) if p]):
            raise UsageError(f"kubeconfig {config_file} does not exist", hint="check KUBECONFIG")
        kube_config.load_kube_config(
            config_file=config_file, context=context, client_configuration=configuration, persist_config=False
        )
        active = context or kube_config.list_kube_config_contexts(config_file)[1].get("name")
    except ConfigException as exc:
        raise UsageError(f"kubeconfig {config_file}: {exc}", hint="check KUBECONFIG and --context") from exc
    return Cluster(ApiClient(configuration), active)
