"""The stand-in Kubernetes API server tests use: ``KubeAPI``, its request log, faults and direct access.

What it serves and how it answers is described in ``tests/kubeapi/__init__.py``; this module serves it over
HTTP (tests/standin_http) and gives tests their handles. It also re-exports what tests import from here.
"""

from __future__ import annotations

import json
import secrets
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.kubeapi.cloudflared import DEFAULT_CLOUDFLARED_CONFIG, seed_cloudflared
from tests.kubeapi.errors import ApiError, error_answer
from tests.kubeapi.faults import Fault
from tests.kubeapi.kinds.namespaces import namespace_object
from tests.kubeapi.kinds.storageclasses import storage_class
from tests.kubeapi.objects import now
from tests.kubeapi.resources import NAMESPACES, RESOURCES, Resource, resource_for
from tests.kubeapi.routing import route
from tests.kubeapi.store import Store
from tests.standin_http.answers import Answer, send
from tests.standin_http.faults import Faults
from tests.standin_http.records import RequestLog, RequestRecord, read_request
from tests.standin_http.server import ServerThread

__all__ = [
    "DEFAULT_CLOUDFLARED_CONFIG",
    "RESOURCES",
    "Fault",
    "KubeAPI",
    "RequestRecord",
    "Resource",
    "resource_for",
    "seed_cloudflared",
    "storage_class",
]

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
        self._log = RequestLog()
        self._faults: Faults[Fault] = Faults(every_match_counts=True)
        self._server = ServerThread(self, "kubeapi-standin")

    # lifecycle

    def start(self) -> KubeAPI:
        self.port = self._server.start(self.port)
        return self

    def stop(self) -> None:
        """Stop serving and close kept-alive connections, so no client talks to a stopped server."""
        self._server.stop()

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
        return self._log.snapshot()

    def clear_log(self) -> None:
        self._log.clear()

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        return self._log.count(method, path_contains)

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
        return self._faults.add(Fault(method, path_contains, status, nth, times, delay, drop, retry_after, after, hold))

    def clear_faults(self) -> None:
        self._faults.clear()

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
        stored["metadata"]["deletionTimestamp"] = now()
        stored["status"] = {"phase": "Terminating"}
        return self.seed(stored)

    def set_status(self, plural: str, namespace: str | None, name: str, status: dict, group: str = "") -> dict:
        """Replace an object's status, as its controller would (a rollout under way, a pod crash-looping)."""
        resource = resource_for(plural, group)
        stored = self.store.get(resource, namespace, name)
        return self.store.replace(resource, namespace, name, {**stored, "status": status}, subresource="status")

    # serving: the handler calls self._serve(handler), looked up per request (tests' Gate shadows it)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        record = read_request(handler)  # read it all, even to drop
        self._log.append(record)  # logged on arrival: a test can see a request the server holds
        if self.latency:
            time.sleep(self.latency)
        fault = self._faults.hit(record.method, handler.path)
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
        send(handler, answer)

    def _answer(self, request: RequestRecord) -> Answer:
        try:
            if self.require_token and request.authorization != f"Bearer {self.token}":
                raise ApiError(401, "Unauthorized")
            return route(request, self.store, f"127.0.0.1:{self.port}")
        except ApiError as error:
            return error_answer(error)
