"""How a step waits: the real run polls; a dry run passes kube.recording.RecordingWaiting, which says it would.

Every wait of every step goes through here, so a dry run never polls and needs
no code for any particular step.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from norn.errors import StepError
from norn.kube import rollout
from norn.kube.ownership import deleting

if TYPE_CHECKING:
    from norn.kube.cluster import Cluster, Kind

DELETION_POLL_SECONDS = 1.0  # between two looks at an object the server is deleting


class Waiting:
    def until_gone(
        self, cluster: "Cluster", kind: "Kind", namespace: str, name: str, deadline: float,
        progress: Callable[[str], None], then: str,
    ) -> dict | None:
        """The object as it is once the server is not deleting it; None when it is gone.

        Fails naming the finalizers that hold it when it is still there at ``deadline`` (time.monotonic).
        """
        existing = cluster.get(kind, namespace, name)
        while existing is not None and deleting(existing):
            what = kind.describe(namespace, name)
            if time.monotonic() + DELETION_POLL_SECONDS > deadline:
                finalizers = ", ".join(existing["metadata"].get("finalizers") or []) or "none"
                raise StepError(
                    f"{what} is still being deleted (deletionTimestamp set; its finalizers hold it: {finalizers})",
                    hint="wait until what those finalizers stand for lets it go (a PVC stays while a pod uses it), "
                    "then run the forge again; NORN_API_RETRY_SECONDS sets how long norn waits",
                )
            progress(f"waiting for {what} to finish being deleted")
            time.sleep(DELETION_POLL_SECONDS)
            existing = cluster.get(kind, namespace, name)
        return existing

    def rollout(
        self, cluster: "Cluster", namespace: str, name: str, budget: rollout.Budget, progress: Callable[[str], None]
    ) -> str:
        return rollout.wait_for_rollout(cluster, namespace, name, budget, progress)
