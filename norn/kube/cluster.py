"""The Kubernetes port: the few calls norn makes, as plain dicts, on one cluster.

Requests go by path through the client's transport (kube/transport.py); API
errors become norn's small exception hierarchy (kube/apierrors.py). Transient
failures (connection refused or reset, timeouts, 429, 500, 502, 503, 504) are
retried here with exponential backoff and jitter, honouring Retry-After, for at
most ``retry_seconds`` in all (norn/retry.py), so that every retry is counted
and bounded in one place.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

from norn import retry
from norn.errors import ClusterError, NotFound
from norn.kube import transport
from norn.kube.apierrors import (
    NamespaceUnusable,
    api_error,
    namespace_hint,
    unreachable,
)
from norn.kube.kinds import STRATEGIC_MERGE, Kind

BACKOFF_FIRST = 0.2  # seconds before the first retry
BACKOFF_CAP = 5.0  # longest wait between two tries, Retry-After aside
PREFLIGHT_TIMEOUT = 5.0  # seconds to open a TCP connection to the API server


def backoff(retries: int, retry_after: float | None) -> float:
    """The wait before retry number ``retries`` (from 0): jittered exponential; the server's Retry-After wins when longer."""
    wait = retry.jittered(retries, BACKOFF_FIRST, BACKOFF_CAP)
    return max(wait, retry_after) if retry_after is not None else wait


class Cluster:
    """One connection to one cluster, as a kubeconfig context names it."""

    def __init__(
        self,
        api_client: Any,
        context: str | None,
        user: str | None = None,
        *,
        retry_seconds: float = 30.0,
        request_timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api = api_client
        self.context = context
        self.user = user
        self.server = api_client.configuration.host
        self.retry_seconds = retry_seconds
        self.request_timeout = request_timeout
        self.retries = 0  # retries made so far, for the steps' output
        self._sleep = sleep
        # The namespaces check_namespace found usable, and the lock that lets one check at a time look:
        # both shared with siblings, so the apps of a run that start together still check once.
        self._usable: set[str] = set()
        self._checking = threading.Lock()

    def sibling(self) -> "Cluster":
        """Another Cluster on this one's connection pool and credentials, with its own count of retries: one
        per app of a many-app run, which reads the kubeconfig once and checks each namespace once."""
        twin = Cluster(self._api, self.context, self.user, retry_seconds=self.retry_seconds,
                       request_timeout=self.request_timeout, sleep=self._sleep)
        twin._usable, twin._checking = self._usable, self._checking
        return twin

    def where(self) -> str:
        return f"{self.server} (context {self.context})" if self.context else self.server

    def check_reachable(self) -> None:
        """Open (and close) a TCP connection to the API server: fail fast, before any step, if it is down.

        This sends no request, so it costs no API round trip.
        """
        if self._api.configuration.proxy:
            return  # the proxy decides how the server is reached
        url = urlsplit(self.server)
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            socket.create_connection((url.hostname, port), timeout=PREFLIGHT_TIMEOUT).close()
        except OSError as exc:
            raise ClusterError(
                f"cannot reach the Kubernetes API at {self.where()}: {exc.strerror or exc}",
                hint="check that the cluster is up and that KUBECONFIG / --context point at it; nothing was changed",
            ) from exc

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

    def delete(
        self, kind: Kind, namespace: str, name: str, *, uid: str | None = None, resource_version: str | None = None
    ) -> bool:
        """Delete; False when it was already gone. ``uid`` guards against deleting a look-alike,
        ``resource_version`` against deleting what changed since it was read (409 either way)."""
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        preconditions = {key: value for key, value in (("uid", uid), ("resourceVersion", resource_version)) if value}
        if preconditions:
            body["preconditions"] = preconditions
        try:
            self._request("DELETE", kind.path(namespace, name), body=body)
        except NotFound:
            return False
        return True

    def list(
        self, kind: Kind, namespace: str | None, *, labels: str | None = None, fields: str | None = None
    ) -> list[dict]:
        """One list call: in a namespace, or in every namespace when ``namespace`` is None."""
        path = kind.path(namespace) if namespace else f"{kind.prefix}/{kind.plural}"
        query = {k: v for k, v in (("labelSelector", labels), ("fieldSelector", fields)) if v}
        if query:
            path += "?" + urlencode(query)
        return self._request("GET", path).get("items") or []

    def dry_run(
        self, method: str, kind: Kind, namespace: str, name: str | None = None, body: Any = None,
        content_type: str = "application/json",
    ) -> dict:
        """Send a write with ``dryRun=All``: the server validates and admits it, and stores nothing."""
        return self._request(method, kind.path(namespace, name) + "?dryRun=All", body=body, content_type=content_type)

    def check_namespace(self, namespace: str) -> None:
        """Fail before any step when nothing can be created in ``namespace``: it is missing or being deleted.

        One GET of the Namespace, once per namespace for a Cluster and its siblings. A Role bound in the
        namespace usually may not read Namespaces (403): then this check is skipped, and a create refused
        later says the same (``namespace_refusal``).
        """
        with self._checking:
            if namespace in self._usable:
                return
            try:
                found = self._request("GET", f"/api/v1/namespaces/{namespace}")
            except NamespaceUnusable:
                raise
            except ClusterError as exc:
                # 403: not allowed to read Namespaces. A 404 that does not name the namespace (a server or proxy
                # that does not serve the namespaces resource) tells nothing either: the first create will say.
                if exc.status in (403, 404):
                    return
                raise
            if (found.get("status") or {}).get("phase") == "Terminating":
                raise NamespaceUnusable(
                    f"namespace {namespace} is being deleted (status.phase Terminating): nothing can be created in it",
                    status=None, reason=None, hint=namespace_hint(namespace, terminating=True),
                )
            self._usable.add(namespace)

    def _request(self, method: str, path: str, *, body: Any = None, content_type: str = "application/json") -> dict:
        """Send one request, retrying transient failures within ``retry_seconds``."""

        def gave_up(error: ClusterError, failures: int, elapsed: float) -> dict:
            if failures > 1:
                error.message = f"{error.message} (gave up after {failures - 1} retries in {self.retry_seconds:g} s)"
            raise error

        def counted() -> None:
            self.retries += 1

        return retry.run(
            lambda _: self._send(method, path, body, content_type),
            retryable=lambda error: isinstance(error, ClusterError) and error.transient,
            wait=lambda failures, error: backoff(failures - 1, error.retry_after),
            give_up=lambda failures, elapsed, wait: elapsed + wait > self.retry_seconds,
            gave_up=gave_up,
            sleep=self._sleep,
            on_retry=counted,
        )

    def _send(self, method: str, path: str, body: Any, content_type: str) -> dict:
        try:
            answer = transport.send(self._api, method, path, body, content_type, self.request_timeout)
        except transport.TransportFailed as failed:
            raise unreachable(self.where(), failed.cause) from failed.cause
        if not 200 <= answer.status <= 299:
            raise api_error(
                answer.status, answer.data, method, path, answer.headers, context=self.context, user=self.user
            )
        return transport.decode(answer.data)
