"""Where forge state lives. One backend per module, all with this shape.

Backends: ``local`` (JSON files under NORN_STATE_DIR, the default) and
``kubernetes`` (one Secret per app, locked by a Lease). Both keep the same JSON
document, encoded by ``document.encode``, and both refuse a write based on a stale read:
a save carries what the store last read or wrote for the app, and anything
else found there raises LostRace instead of being overwritten.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from norn.state import ForgeState

if TYPE_CHECKING:
    from norn.settings import Settings

class StateStore(Protocol):
    def load(self, app: str) -> ForgeState | None:
        """The app's state, None when it has none; StateError when unreadable."""

    def save(self, state: ForgeState) -> None:
        """Replace the app's state atomically; LostRace when it changed since this store read it."""

    def delete(self, app: str) -> None:
        """Remove the app's record (the caller holds its lock); LostRace when it changed since this store read it."""

    def list(self) -> tuple[list[ForgeState], list[str]]:
        """Every app's state, and one problem line per record that cannot be read."""

    def is_running(self, app: str) -> bool:
        """Whether a norn run holds the app right now (a hint for display, not a lock)."""

    def lock(self, app: str) -> AbstractContextManager[None]:
        """Hold the app for one run; Busy when another run holds it."""

    def where(self, app: str | None = None) -> str:
        """A human description of where the state (of one app) is kept."""


def open_store(settings: "Settings", backend: str | None = None, namespace: str | None = None) -> StateStore:
    """The store of ``backend`` (default: the settings'); the kubernetes client is imported only for that one."""
    backend = backend or settings.state_backend
    if backend == "kubernetes":
        from norn.kube import cluster
        from norn.kube.connect import connect as connect_cluster
        from norn.store.kubernetes import KubernetesStore

        def connect() -> "cluster.Cluster":
            return connect_cluster(
                settings.kubeconfig,
                settings.context,
                retry_seconds=settings.api_retry_seconds,
                request_timeout=settings.api_timeout,
                explicit=settings.kubeconfig_flag,
            )

        return KubernetesStore(
            connect,
            namespace or settings.store_namespace,
            settings.lock_seconds,
        )
    from norn.store.local import LocalStore

    return LocalStore(settings.state_dir)
