"""A runner that reads the Lease absent and then finds it created by another runner loses cleanly.

kube-apiserver refuses an update of an existing Lease without metadata.resourceVersion with 422
Invalid ("metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"):
kubernetes pkg/registry/coordination/lease/strategy.go, AllowUnconditionalUpdate returns false, and
apiserver pkg/registry/rest/update.go, BeforeUpdate. The dry-run update norn sends before creating
a Lease carries no resourceVersion, so when another runner created it since the read, that 422 means
"someone else won", and norn says Busy instead of failing with the server's error.
"""

from __future__ import annotations

import pytest

from norn.errors import Busy, ClusterError
from norn.store.lease import LeaseLock

INVALID = (
    'PUT /apis/coordination.k8s.io/v1/namespaces/default/leases/norn-lock-web?dryRun=All: leases.coordination.k8s.io '
    '"norn-lock-web" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update (HTTP 422)'
)


class _Cluster:
    """The Lease is absent at the read and present (another runner's) by the dry-run update."""

    context = user = None

    def __init__(self, dry_run_error: ClusterError) -> None:
        self.dry_run_error = dry_run_error
        self.reads = 0

    def get(self, kind, namespace, name):
        self.reads += 1
        return None

    def dry_run(self, method, kind, namespace, name=None, body=None, content_type="application/json"):
        raise self.dry_run_error

    def create(self, kind, namespace, obj):  # pragma: no cover - must not be reached
        raise AssertionError("created a Lease another runner holds")


def _lock(cluster) -> LeaseLock:
    return LeaseLock(cluster, "default", "web", 30, "me@host:1", {})


def test_a_lease_created_between_read_and_dry_run_update_is_busy_not_an_error():
    with pytest.raises(Busy, match="another norn run took the lock at the same moment"):
        _lock(_Cluster(ClusterError(INVALID, status=422, reason="Invalid"))).acquire()


def test_another_422_is_still_the_servers_error():
    error = ClusterError("leases.coordination.k8s.io is invalid: metadata.labels: Invalid value (HTTP 422)", status=422)
    with pytest.raises(ClusterError, match="metadata.labels") as raised:
        _lock(_Cluster(error)).acquire()
    assert not isinstance(raised.value, Busy)
