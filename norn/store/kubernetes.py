"""Kubernetes backend: each app's state in a Secret, its lock in a Lease.

As Helm 3 keeps release records, the state lives on the cluster norn already
talks to, so a CI job and a teammate's laptop see and resume the same state.
One Secret ``norn-state-<app>`` per app, in NORN_STATE_NAMESPACE (default: the
app namespace), labelled ``app.kubernetes.io/managed-by: norn`` and
``norn.dev/app: <app>``, holds the local file's JSON document under the key
``state.json``. A Secret rather than a ConfigMap because RBAC keeps Secrets
from casual readers; the document holds no secret value either way.

Every write carries the resourceVersion this store last read or wrote, so a
409 is a lost race (LostRace), never a silent overwrite. Before a run's first
step, ``lock`` takes the Lease (see lease.py) and sends dry-run writes of the
Secret, so a missing permission fails before anything changed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from norn.errors import (
    AlreadyExists,
    ClusterError,
    Conflict,
    LostRace,
    NotFound,
    StateError,
)
from norn.events import now
from norn.kube.apierrors import needs
from norn.kube.kinds import LEASE, SECRET
from norn.kube.ownership import MANAGED_BY, is_managed
from norn.state import ForgeState
from norn.store.document import decode, describe, encode
from norn.store.lease import LeaseLock, holder, identity, lease_name

if TYPE_CHECKING:
    from norn.kube.cluster import Cluster

STATE_KEY = "state.json"
SECRET_TYPE = "norn.dev/state.v1"
APP_LABEL = "norn.dev/app"
SELECTOR = f"{MANAGED_BY[0]}={MANAGED_BY[1]},{APP_LABEL}"


def secret_name(app: str) -> str:
    return f"norn-state-{app}"


def labels(app: str) -> dict[str, str]:
    return {MANAGED_BY[0]: MANAGED_BY[1], APP_LABEL: app}


class KubernetesStore:
    def __init__(
        self, connect: Callable[[], "Cluster"], namespace: str, lock_seconds: int, who: str | None = None
    ) -> None:
        self._connect = connect
        self._cluster: "Cluster | None" = None
        self.namespace = namespace
        self.lock_seconds = lock_seconds
        self.identity = who or identity()
        self._versions: dict[str, str | None] = {}  # app -> resourceVersion last read or written, None: no Secret
        self._locks: dict[str, LeaseLock] = {}

    @property
    def cluster(self) -> "Cluster":
        """Connected on first use; an API server that is down fails at once, not after retries."""
        if self._cluster is None:
            connected = self._connect()
            connected.check_reachable()
            self._cluster = connected
        return self._cluster

    def where(self, app: str | None = None) -> str:
        if app:
            return SECRET.describe(self.namespace, secret_name(app))
        return f"Secrets labelled {APP_LABEL} in namespace {self.namespace}"

    def load(self, app: str) -> ForgeState | None:
        with needs(self.cluster, "get", SECRET, self.namespace):
            secret = self.cluster.get(SECRET, self.namespace, secret_name(app))
        if secret is None:
            self._versions[app] = None
            return None
        state = self._parse(secret)
        self._versions[app] = secret["metadata"]["resourceVersion"]
        return state

    def save(self, state: ForgeState) -> None:
        app = state.app
        if app in self._locks:
            self._locks[app].check()
        name = secret_name(app)
        secret = self._secret(app, {STATE_KEY: base64.b64encode(encode(state)).decode()})
        version = self._versions.get(app)
        try:
            if version is None:
                with needs(self.cluster, "create", SECRET, self.namespace):
                    written = self.cluster.create(SECRET, self.namespace, secret)
            else:
                secret["metadata"]["resourceVersion"] = version
                with needs(self.cluster, "update", SECRET, self.namespace):
                    written = self.cluster.replace(SECRET, self.namespace, name, secret)
        except (AlreadyExists, Conflict, NotFound) as exc:
            raise LostRace(
                f"{app}: {self.where(app)} changed since this run read it; nothing was overwritten",
                hint=f"another norn run wrote it; see norn status {app}, then rerun",
            ) from exc
        self._versions[app] = written["metadata"]["resourceVersion"]

    def delete(self, app: str) -> None:
        """Delete the Secret as this store last read or wrote it: its resourceVersion is the precondition."""
        if app in self._locks:
            self._locks[app].check()
        version = self._versions.get(app)
        if version is None:
            return
        with needs(self.cluster, "delete", SECRET, self.namespace):
            try:
                gone = self.cluster.delete(SECRET, self.namespace, secret_name(app), resource_version=version)
            except Conflict:
                gone = False
        if not gone:  # changed or deleted since it was read, as the local file's digest tells
            raise LostRace(
                f"{app}: {self.where(app)} changed since this run read it; nothing was deleted",
                hint=f"another norn run wrote it; see norn status {app}, then rerun",
            )
        self._versions[app] = None

    def list(self) -> tuple[list[ForgeState], list[str]]:
        with needs(self.cluster, "list", SECRET, self.namespace):
            items = self.cluster.list(SECRET, self.namespace, labels=SELECTOR)
        states: list[ForgeState] = []
        problems: list[str] = []
        for secret in items:
            try:
                states.append(self._parse(secret))
            except StateError as exc:
                problems.append(exc.message)
        return sorted(states, key=lambda s: s.app), problems

    def is_running(self, app: str) -> bool:
        """Whether a run holds the app's Lease now: one that died keeps it until it expires."""
        with needs(self.cluster, "get", LEASE, self.namespace):
            return holder(self.cluster.get(LEASE, self.namespace, lease_name(app)), now()) is not None

    @contextmanager
    def lock(self, app: str) -> Iterator[None]:
        lease = LeaseLock(self.cluster, self.namespace, app, self.lock_seconds, self.identity, labels(app))
        with lease:
            self._check_writes(app)
            self._locks[app] = lease
            try:
                yield
            finally:
                del self._locks[app]

    def _check_writes(self, app: str) -> None:
        """Dry-run a create and an update of the Secret: a 403 now beats one after the first step.

        The server authorizes before it looks the object up, so 404, 409 and
        422 answers all mean the verb is allowed.
        """
        probe = self._secret(app, {})
        for verb, name in (("create", None), ("update", secret_name(app))):
            with needs(self.cluster, verb, SECRET, self.namespace):
                try:
                    self.cluster.dry_run("PUT" if name else "POST", SECRET, self.namespace, name, probe)
                except ClusterError as exc:
                    if exc.status not in (404, 409, 422):
                        raise

    def _secret(self, app: str, data: dict[str, str]) -> dict:
        metadata = {"name": secret_name(app), "namespace": self.namespace, "labels": labels(app)}
        return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": SECRET_TYPE, "data": data}

    def _parse(self, secret: dict) -> ForgeState:
        name = secret["metadata"]["name"]
        where = SECRET.describe(self.namespace, name)
        if not is_managed(secret):
            raise StateError(
                f"{where} was not created by norn; norn will not read or overwrite it",
                hint="rename or delete that Secret, or set NORN_STATE_NAMESPACE to keep norn's state elsewhere",
            )
        try:
            state = decode(base64.b64decode((secret.get("data") or {})[STATE_KEY], validate=True))
        except (ValueError, KeyError, TypeError) as exc:
            raise StateError(f"{where} cannot be read: {describe(exc)}", hint=self._corrupt_hint(name)) from exc
        if name != secret_name(state.app):
            raise StateError(f"{where} holds the state of app {state.app!r}", hint=self._corrupt_hint(name))
        return state

    def _corrupt_hint(self, name: str) -> str:
        show = f"kubectl get secret -n {self.namespace} {name} -o jsonpath='{{.data.state\\.json}}' | base64 -d"
        return f"norn will not overwrite it; inspect it ({show}), then delete it to start over"
