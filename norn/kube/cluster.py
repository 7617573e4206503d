"""The Kubernetes adapter: the few calls norn makes, as plain dicts.

It keeps the official client for what it is good at (kubeconfig, contexts,
exec and token auth, in-cluster config, TLS) and sends requests through its
``ApiClient`` transport by resource path, which avoids importing the large
generated API classes. API errors become norn's small exception hierarchy.

Transient failures (connection refused or reset, timeouts, 429, 500, 502,
503, 504) are retried here with exponential backoff and jitter, honouring
Retry-After, for at most ``retry_seconds`` in all; the client's own retries
are switched off so that every retry is counted and bounded in one place.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

from norn.errors import (
    AccessDenied,
    AlreadyExists,
    ClusterError,
    Conflict,
    NotFound,
    UsageError,
)

STRATEGIC_MERGE = "application/strategic-merge-patch+json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
BACKOFF_FIRST = 0.2  # seconds before the first retry
BACKOFF_CAP = 5.0  # longest wait between two tries, Retry-After aside
PREFLIGHT_TIMEOUT = 5.0  # seconds to open a TCP connection to the API server


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

    @property
    def resource(self) -> str:
        """How RBAC names it: ``secrets``, ``leases.coordination.k8s.io``."""
        parts = self.prefix.strip("/").split("/")
        return f"{self.plural}.{parts[1]}" if parts[0] == "apis" else self.plural


DEPLOYMENT = Kind("Deployment", "/apis/apps/v1", "deployments")
SERVICE = Kind("Service", "/api/v1", "services")
PVC = Kind("PersistentVolumeClaim", "/api/v1", "persistentvolumeclaims")
CONFIGMAP = Kind("ConfigMap", "/api/v1", "configmaps")
CRONJOB = Kind("CronJob", "/apis/batch/v1", "cronjobs")
POD = Kind("Pod", "/api/v1", "pods")
EVENT = Kind("Event", "/api/v1", "events")
ENDPOINTS = Kind("Endpoints", "/api/v1", "endpoints")
SECRET = Kind("Secret", "/api/v1", "secrets")
LEASE = Kind("Lease", "/apis/coordination.k8s.io/v1", "leases")


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

    def _request(self, method: str, path: str, *, body: Any = None, content_type: str = "application/json") -> dict:
        """Send one request, retrying transient failures within ``retry_seconds``."""
        deadline = time.monotonic() + self.retry_seconds
        attempt = 0
        while True:
            try:
                return self._send(method, path, body, content_type)
            except ClusterError as exc:
                if not exc.transient:
                    raise
                wait = _backoff(attempt, exc.retry_after)
                if time.monotonic() + wait > deadline:
                    if attempt:
                        exc.message = f"{exc.message} (gave up after {attempt} retries in {self.retry_seconds:g} s)"
                    raise
                self._sleep(wait)
                attempt += 1
                self.retries += 1

    def _send(self, method: str, path: str, body: Any, content_type: str) -> dict:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        _, url, headers, body, _ = self._api.param_serialize(
            method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        try:
            response = self._api.call_api(
                method, url, header_params=headers, body=body, _request_timeout=self.request_timeout
            )
            data = response.read()
        except Exception as exc:  # the transport raises urllib3 and ApiException types
            raise self._unreachable(exc) from exc
        if not 200 <= response.status <= 299:
            raise self._api_error(response.status, data, method, path, response.headers)
        return json.loads(data) if data else {}

    def _api_error(self, status: int, data: bytes, method: str, path: str, headers: Any) -> ClusterError:
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
            who = f"kubeconfig context {self.context or '(in-cluster)'}, user {self.user or '(service account)'}"
            error.message = f"{error.message}; {who}"
            error.hint = (
                "the credentials were refused: log in again" if status == 401
                else "grant that user the permission the message names (see the README's Role)"
            )
        if status in TRANSIENT_STATUS:
            error.transient = True
            error.retry_after = _retry_after(headers.get("Retry-After") if headers is not None else None)
        return error

    def _unreachable(self, exc: Exception) -> ClusterError:
        error = ClusterError(
            f"cannot reach the Kubernetes API at {self.where()}: {_root_cause(exc)}",
            hint="check that the cluster is up and that KUBECONFIG / --context point at it",
        )
        error.transient = True
        return error

    def check_namespace(self, namespace: str) -> None:
        """Fail before any step when nothing can be created in ``namespace``: it is missing or being deleted.

        One GET of the Namespace. A Role bound in the namespace usually may not read Namespaces (403):
        then this check is skipped, and a create refused later says the same (``namespace_refusal``).
        """
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
                status=None, reason=None, hint=_namespace_hint(namespace, terminating=True),
            )


@contextmanager
def needs(cluster: Cluster, verb: str, kind: Kind, namespace: str) -> Iterator[None]:
    """Turn a 403 from the requests inside into AccessDenied naming what to grant, and to whom."""
    try:
        yield
    except ClusterError as exc:
        if exc.status != 403 or isinstance(exc, NamespaceUnusable):
            raise
        who = f"kubeconfig context {cluster.context or '(in-cluster)'}, user {cluster.user or '(service account)'}"
        raise AccessDenied(
            f"not allowed to {verb} {kind.resource} in namespace {namespace} (HTTP 403; {who})",
            status=403,
            reason=exc.reason,
            hint=f"grant the verb {verb} on {kind.resource} in namespace {namespace} to that user"
            " (norn's README has the whole Role it needs)",
        ) from exc


def _backoff(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter; the server's Retry-After wins when it asks for longer."""
    ceiling = min(BACKOFF_CAP, BACKOFF_FIRST * (2**attempt))
    wait = random.uniform(ceiling / 2, ceiling)
    return max(wait, retry_after) if retry_after is not None else wait


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _root_cause(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc).strip() or type(exc).__name__


KUBECONFIG_MAX_BYTES = 2 * 1024 * 1024  # all kubeconfig files together: parsed well within 2 s
KUBECONFIG_MAX_NODES = 1_000_000  # YAML nodes once aliases are expanded: an alias bomb goes no further
_SECTIONS = ("clusters", "contexts", "users")


def connect(kubeconfig: str | None, context: str | None, *, retry_seconds: float = 30.0, request_timeout: float = 30.0) -> Cluster:
    """Load credentials like kubectl: KUBECONFIG, else ~/.kube/config, else in-cluster."""
    try:
        from norn.kube.lazyimport import import_kube_config, import_without_init

        import_without_init("kubernetes")
        import_without_init("kubernetes.utils")  # the transport needs two of its modules, not the YAML helpers
        kube_config = import_kube_config()
        from kubernetes.client.api_client import ApiClient
        from kubernetes.client.configuration import Configuration
        from kubernetes.config import incluster_config
        from kubernetes.config.config_exception import ConfigException
    except ImportError as exc:
        raise UsageError(
            f"the kubernetes client cannot be imported: {exc}", hint="reinstall norn with its dependencies"
        ) from exc
    if not hasattr(ApiClient, "param_serialize"):  # Cluster._send needs it; the client has it from 37 on
        raise UsageError(
            "the installed kubernetes client is older than norn needs (37 or newer)",
            hint="pip install --upgrade 'kubernetes>=37'",
        )

    configuration = Configuration()
    configuration.retries = False  # norn retries, counted and bounded, in Cluster._request
    options = {"retry_seconds": retry_seconds, "request_timeout": request_timeout}
    default_file = Path("~/.kube/config").expanduser()
    config_file = kubeconfig or (str(default_file) if default_file.exists() else None)
    try:
        if config_file is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            if context:
                raise UsageError(f"--context {context} was given, but norn runs in a pod with no kubeconfig")
            incluster_config.load_incluster_config(client_configuration=configuration)
            configuration.retries = False
            return Cluster(ApiClient(configuration), None, None, **options)
        if config_file is None:
            raise UsageError(
                "no Kubernetes credentials: KUBECONFIG is not set and ~/.kube/config does not exist",
                hint="point KUBECONFIG at your kubeconfig file",
            )
        files = read_kubeconfigs(config_file)
        active = pick_context(files, context)
        user = _load(kube_config, files, config_file, active, configuration)
    except ConfigException as exc:
        raise UsageError(f"kubeconfig {config_file}: {exc}", hint="check KUBECONFIG and --context") from exc
    configuration.retries = False
    return Cluster(ApiClient(configuration), active, user, **options)


class NamespaceUnusable(ClusterError):
    """The namespace does not exist or is being deleted: a setup to fix, not a permission to grant."""

    exit_code = 2


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
            status=status, reason=payload.get("reason"), hint=_namespace_hint(namespace, terminating=False),
        )
    causes = details.get("causes") if isinstance(details.get("causes"), list) else []
    if status == 403 and any(isinstance(c, dict) and c.get("reason") == "NamespaceTerminating" for c in causes):
        found = _IN_NAMESPACE.search(path)
        namespace = found.group(1) if found else "?"
        return NamespaceUnusable(
            f"namespace {namespace} is being deleted (the API server: {message})",
            status=status, reason=payload.get("reason"), hint=_namespace_hint(namespace, terminating=True),
        )
    return None


def _namespace_hint(namespace: str, *, terminating: bool) -> str:
    first = (
        f"wait until namespace {namespace} is gone and create it again" if terminating
        else f"create it (kubectl create namespace {namespace})"
    )
    return (
        f"{first}, or use a namespace that exists: --namespace or NORN_NAMESPACE for the app, "
        "NORN_STATE_NAMESPACE for norn's state (kubernetes state backend)"
    )


def _load(kube_config: Any, files: list[tuple[str, dict]], config_file: str, active: str, configuration: Any) -> str | None:
    """Set ``configuration`` for context ``active``; return the context's user.

    The client's loader is given the files as they were read here (parsed once,
    each entry remembering its file for relative certificate paths); a client
    laid out otherwise gets its public function, which reads the files again.
    """
    loader = getattr(kube_config, "KubeConfigLoader", None)
    try:
        if hasattr(kube_config, "ConfigNode") and hasattr(loader, "load_and_set"):
            _load_parsed(kube_config, files, active, configuration)
        else:
            kube_config.load_kube_config(config_file, active, client_configuration=configuration, persist_config=False)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:  # what the loader trips on in an odd file
        raise UsageError(
            f"kubeconfig {config_file}: the kubernetes client cannot load context {active!r}: {type(exc).__name__}: {exc}",
            hint="check that context, its cluster and its user in the kubeconfig",
        ) from exc
    return _context_user(files, active)


def _load_parsed(kube_config: Any, files: list[tuple[str, dict]], active: str, configuration: Any) -> None:
    config_node = kube_config.ConfigNode
    first_path, first = files[0]
    merged = {k: v for k, v in first.items() if k not in _SECTIONS}
    for section in _SECTIONS:
        merged[section] = [
            config_node(f"{path}/{section}/{entry['name']}", entry, path) for path, entry in _entries(files, section)
        ]
    root = config_node(first_path, merged, first_path)
    loader = kube_config.KubeConfigLoader(config_dict=root, active_context=active, config_base_path=None)
    loader.load_and_set(configuration)


def read_kubeconfigs(config_file: str) -> list[tuple[str, dict]]:
    """Each existing file of a KUBECONFIG list, parsed: (path, its mapping).

    Anything that is not a kubeconfig is refused here with one line naming the
    file, before the client's loader sees it.
    """
    paths = [str(Path(p).expanduser()) for p in config_file.split(os.pathsep) if p]
    existing = [p for p in paths if os.path.exists(p)]
    if not existing:
        raise UsageError(f"kubeconfig {config_file} does not exist", hint="check KUBECONFIG")
    files, total = [], 0
    for path in existing:
        data = _read(path, KUBECONFIG_MAX_BYTES - total)
        total += len(data)
        files.append((path, parse_kubeconfig(path, _decode(path, data))))
    return files


def _read(path: str, budget: int) -> bytes:
    where = f"kubeconfig {path}"
    if os.path.isdir(path):
        raise UsageError(f"{where} is a directory, not a file", hint="point KUBECONFIG at the file inside it")
    try:
        with open(path, "rb") as f:
            data = f.read(budget + 1)
    except OSError as exc:
        raise UsageError(f"{where} cannot be read: {exc.strerror or exc}", hint="check its permissions") from exc
    if len(data) > budget:
        raise UsageError(
            f"{where} is too large: kubeconfig files may hold {KUBECONFIG_MAX_BYTES // (1024 * 1024)} MiB in all",
            hint="point KUBECONFIG at the kubeconfig norn should use",
        )
    return data


def _decode(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"kubeconfig {path} is not UTF-8 text (byte {exc.start})", hint="point KUBECONFIG at a kubeconfig file"
        ) from exc


def parse_kubeconfig(path: str, text: str) -> dict:
    """One kubeconfig's YAML as a mapping, its aliases expanding to at most KUBECONFIG_MAX_NODES nodes."""
    import yaml

    where = f"kubeconfig {path}"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)  # libyaml when there: a large file parses in ms
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, {}) > KUBECONFIG_MAX_NODES:
            raise UsageError(
                f"{where}: its YAML aliases expand to more than {KUBECONFIG_MAX_NODES:,} nodes",
                hint="write the kubeconfig without anchors and aliases",
            )
        config = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise UsageError(f"{where} is not valid YAML: {_yaml_problem(exc)}", hint="fix the file or point KUBECONFIG elsewhere") from exc
    except RecursionError as exc:
        raise UsageError(f"{where} nests too deeply to be a kubeconfig", hint="point KUBECONFIG at a kubeconfig file") from exc
    finally:
        loader.dispose()
    if config is None:
        raise UsageError(f"{where} is empty", hint="point KUBECONFIG at a kubeconfig file")
    if not isinstance(config, dict):
        raise UsageError(f"{where} is not a kubeconfig: its top level is not a mapping", hint="point KUBECONFIG at a kubeconfig file")
    for section in _SECTIONS:
        entries = config.get(section) or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries):
            raise UsageError(f"{where}: {section} must be a list of entries, each with a name", hint="fix the file")
    return config


def _expanded_size(node: Any, seen: dict[int, int]) -> int:
    """How many nodes ``node`` stands for once every alias is written out (shared nodes counted once each time)."""
    if id(node) in seen:
        return seen[id(node)]
    seen[id(node)] = 1  # a node reached again while being counted is a cycle: counted once
    size = 1
    if isinstance(node.value, list):
        for item in node.value:
            for child in item if isinstance(item, tuple) else (item,):
                size += _expanded_size(child, seen)
                if size > KUBECONFIG_MAX_NODES:
                    break
    seen[id(node)] = size
    return size


def _yaml_problem(exc: Exception) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem


def _entries(files: list[tuple[str, dict]], section: str) -> list[tuple[str, dict]]:
    """One section of the merged kubeconfig: the first entry of each name wins, as kubectl merges."""
    found: dict[str, tuple[str, dict]] = {}
    for path, config in files:
        for entry in config.get(section) or []:
            found.setdefault(entry["name"], (path, entry))
    return list(found.values())


def pick_context(files: list[tuple[str, dict]], context: str | None) -> str:
    """The context to use: --context, else the first current-context set (kubectl's rule); it must exist."""
    names = [entry["name"] for _, entry in _entries(files, "contexts")]
    where = "kubeconfig " + os.pathsep.join(path for path, _ in files)
    wanted = context or next((c["current-context"] for _, c in files if c.get("current-context")), None)
    listed = ", ".join(names) if names else "none"
    if wanted is None:
        raise UsageError(f"{where} sets no current-context; its contexts: {listed}", hint="pass --context NAME")
    if wanted not in names:
        source = "--context" if context else "its current-context"
        raise UsageError(
            f"{where} has no context {wanted!r} (from {source}); its contexts: {listed}",
            hint="pass --context with one of them" if names else "add the context to the kubeconfig",
        )
    return wanted


def _context_user(files: list[tuple[str, dict]], name: str) -> str | None:
    context = next(e for _, e in _entries(files, "contexts") if e["name"] == name).get("context")
    return context.get("user") if isinstance(context, dict) else None
