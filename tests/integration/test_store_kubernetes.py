"""What only the kubernetes backend does: the Secret's shape, the Lease, races and permissions.

The behaviour every backend shares is in test_store_contract.py. These tests
drive the store in-process with the real client against the stand-in server.
"""

from __future__ import annotations

import base64
import getpass
import os
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from norn.errors import AccessDenied, Busy, LostRace
from norn.kube import cluster
from norn.kube import connect as kube_connect
from norn.state import ForgeState, ForgeStatus
from norn.store.document import encode
from norn.store.kubernetes import KubernetesStore
from norn.store.lease import micro_time, parse_time

LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
SECRETS = "/api/v1/namespaces/default/secrets"


@pytest.fixture
def open_store(kubeapi):
    def open_store(lock_seconds: int = 60, namespace: str = "default", who: str | None = None) -> KubernetesStore:
        def connect() -> cluster.Cluster:  # no retries inside a request: the Lease's own loop is under test
            return kube_connect.connect(str(kubeapi.kubeconfig), None, retry_seconds=0)

        return KubernetesStore(connect, namespace, lock_seconds, who)

    return open_store


def lease_of(kubeapi, app: str = "web") -> dict | None:
    return kubeapi.get_object("leases", "default", f"norn-lock-{app}", group="coordination.k8s.io")


def seed_lease(kubeapi, holder: str, renewed: datetime, seconds: int = 60, app: str = "web") -> None:
    spec = {
        "holderIdentity": holder,
        "leaseDurationSeconds": seconds,
        "acquireTime": micro_time(renewed - timedelta(minutes=5)),
        "renewTime": micro_time(renewed),
        "leaseTransitions": 4,
    }
    metadata = {"name": f"norn-lock-{app}", "namespace": "default"}
    kubeapi.remove("leases", "default", metadata["name"], group="coordination.k8s.io")
    kubeapi.seed({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec})


def now() -> datetime:
    return datetime.now(timezone.utc)


def test_the_state_is_one_labelled_secret_holding_only_the_document(kubeapi, open_store):
    state = ForgeState("web", ForgeStatus.FORGED, resources={"namespace": "default"})
    open_store().save(state)
    secret = kubeapi.get_object("secrets", "default", "norn-state-web")
    assert secret["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "norn", "norn.dev/app": "web"}
    assert secret["type"] == "norn.dev/state.v1"
    assert list(secret["data"]) == ["state.json"]
    assert base64.b64decode(secret["data"]["state.json"]) == encode(state)
    assert "annotations" not in secret["metadata"] and "stringData" not in secret


def test_the_state_goes_to_the_namespace_given(kubeapi, open_store):
    kubeapi.add_namespace("norn")
    open_store(namespace="norn").save(ForgeState("web"))
    assert kubeapi.get_object("secrets", "norn", "norn-state-web") is not None
    assert open_store().load("web") is None


def test_every_write_is_a_replace_carrying_the_version_read(kubeapi, open_store):
    store = open_store()
    store.load("web")
    store.save(ForgeState("web"))
    version = kubeapi.get_object("secrets", "default", "norn-state-web")["metadata"]["resourceVersion"]
    kubeapi.clear_log()
    store.save(ForgeState("web", ForgeStatus.FORGING))
    (put,) = kubeapi.writes()
    assert (put.method, put.path) == ("PUT", f"{SECRETS}/norn-state-web")
    assert put.body["metadata"]["resourceVersion"] == version


def test_list_is_one_request_by_label_and_skips_other_secrets(kubeapi, open_store):
    open_store().save(ForgeState("web"))
    kubeapi.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-secrets"}, "data": {"K": "dg=="}})
    kubeapi.clear_log()
    states, problems = open_store().list()
    assert [s.app for s in states] == ["web"] and problems == []
    (request,) = kubeapi.requests
    assert (request.method, request.path) == ("GET", SECRETS)
    assert request.query == {"labelSelector": "app.kubernetes.io/managed-by=norn,norn.dev/app"}


def test_a_secret_under_norns_name_that_norn_did_not_create_is_refused(kubeapi, open_store):
    data = base64.b64encode(encode(ForgeState("web"))).decode()
    kubeapi.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "norn-state-web"}, "data": {"state.json": data}})
    store = open_store()
    with pytest.raises(Exception) as err:
        store.load("web")
    assert "not created by norn" in err.value.message and err.value.exit_code == 2
    with pytest.raises(LostRace):
        store.save(ForgeState("web"))
    assert "labels" not in kubeapi.get_object("secrets", "default", "norn-state-web")["metadata"]


# --- the Lease ----------------------------------------------------------------


def test_the_lease_names_its_holder_and_is_released_on_exit(kubeapi, open_store):
    started = now()
    with open_store(lock_seconds=45).lock("web"):
        spec = lease_of(kubeapi)["spec"]
        assert spec["holderIdentity"] == f"{getpass.getuser()}@{socket.gethostname()}:{os.getpid()}"
        assert spec["leaseDurationSeconds"] == 45
        assert started - timedelta(seconds=1) <= parse_time(spec["acquireTime"]) <= now()
        assert spec["renewTime"] == spec["acquireTime"]
    released = lease_of(kubeapi)
    assert "holderIdentity" not in released["spec"]
    assert released["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "norn", "norn.dev/app": "web"}


def test_the_lease_is_renewed_while_the_run_works(kubeapi, open_store):
    with open_store(lock_seconds=1).lock("web"):
        acquired = lease_of(kubeapi)["spec"]["acquireTime"]
        time.sleep(1.5)  # longer than the Lease lasts
        spec = lease_of(kubeapi)["spec"]
        assert spec["acquireTime"] == acquired
        assert parse_time(spec["renewTime"]) > now() - timedelta(seconds=1)
        with pytest.raises(Busy):
            with open_store().lock("web"):
                pass
    puts = [r for r in kubeapi.requests if r.method == "PUT" and r.path == f"{LEASES}/norn-lock-web"]
    renewals = [r for r in puts if "dryRun" not in r.query]
    assert all(r.body["metadata"]["resourceVersion"] for r in renewals) and len(renewals) >= 3


def test_a_held_lease_is_busy_naming_holder_since_and_when_it_frees(kubeapi, open_store):
    renewed = now()
    seed_lease(kubeapi, "ci@runner-7:42", renewed, seconds=60)
    with pytest.raises(Busy) as err:
        with open_store().lock("web"):
            pass
    since = micro_time(renewed - timedelta(minutes=5))[:23]
    assert f"operation already in progress (ci@runner-7:42 since {since}" in err.value.message
    assert micro_time(renewed + timedelta(seconds=60))[:19] in err.value.hint
    assert lease_of(kubeapi)["spec"]["holderIdentity"] == "ci@runner-7:42"


def test_an_expired_lease_is_taken_over(kubeapi, open_store):
    seed_lease(kubeapi, "ci@runner-7:42", now() - timedelta(seconds=61), seconds=60)
    store = open_store(who="me@laptop:1")
    with store.lock("web"):
        spec = lease_of(kubeapi)["spec"]
        assert spec["holderIdentity"] == "me@laptop:1" and spec["leaseTransitions"] == 5
        store.save(ForgeState("web"))


def test_a_holder_counts_as_running_until_its_lease_expires(kubeapi, open_store):
    seed_lease(kubeapi, "ci@runner-7:42", now() - timedelta(seconds=50), seconds=60)
    assert open_store().is_running("web")
    seed_lease(kubeapi, "ci@runner-7:42", now() - timedelta(seconds=61), seconds=60)
    assert not open_store().is_running("web")


@pytest.mark.parametrize("present", ["absent", "expired"])
def test_of_runners_racing_for_a_free_lease_exactly_one_wins(kubeapi, open_store, present):
    if present == "expired":
        seed_lease(kubeapi, "gone@host:1", now() - timedelta(hours=1))
    kubeapi.latency = 0.005  # widen the window between read and write
    runners = 8
    stores = [open_store(who=f"runner-{n}@host:{n}") for n in range(runners)]
    for store in stores:
        store.cluster  # connect before the start line
    start, done = threading.Barrier(runners), threading.Barrier(runners)
    won, busy = [], []

    def run(store: KubernetesStore) -> None:
        start.wait()
        try:
            with store.lock("web"):
                won.append(store.identity)
                done.wait()  # hold the lock until every runner has tried
                return
        except Busy:
            busy.append(store.identity)
        done.wait()

    threads = [threading.Thread(target=run, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(won) == 1 and len(busy) == runners - 1
    writes = [r for r in kubeapi.writes() if "/leases" in r.path and "dryRun" not in r.query]
    assert all(r.body["metadata"].get("resourceVersion") for r in writes if r.method == "PUT")


def test_a_run_whose_lease_was_taken_writes_nothing_more(kubeapi, open_store):
    store = open_store(lock_seconds=1)
    with store.lock("web"):
        store.save(ForgeState("web", ForgeStatus.FORGING))
        seed_lease(kubeapi, "thief@host:9", now())  # someone took it, as after an expiry
        time.sleep(0.8)  # a renewal runs into the new resourceVersion
        with pytest.raises(LostRace) as err:
            store.save(ForgeState("web", ForgeStatus.FORGED))
        assert "lost its lock" in err.value.message
    assert lease_of(kubeapi)["spec"]["holderIdentity"] == "thief@host:9"  # not released: not ours
    assert open_store().load("web").status == ForgeStatus.FORGING


def test_a_renewal_that_fails_once_keeps_the_lock(kubeapi, open_store):
    kubeapi.inject(method="PUT", path_contains="/leases/norn-lock-web", status=500, nth=2)  # the first renewal
    store = open_store(lock_seconds=1)
    with store.lock("web"):
        time.sleep(1.2)
        store.save(ForgeState("web"))
    assert kubeapi.count("PUT", "/leases/norn-lock-web") >= 3


# --- permissions --------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, verb, resource",
    [
        ("GET", "/leases/norn-lock-web", "get", "leases.coordination.k8s.io"),
        ("PUT", "/leases/norn-lock-web", "update", "leases.coordination.k8s.io"),
        ("POST", "/leases", "create", "leases.coordination.k8s.io"),
        ("POST", "/secrets", "create", "secrets"),
        ("PUT", "/secrets/norn-state-web", "update", "secrets"),
    ],
)
def test_a_missing_permission_fails_the_lock_naming_what_to_grant(kubeapi, open_store, method, path, verb, resource):
    kubeapi.inject(method=method, path_contains=path, status=403, times=None)
    with pytest.raises(AccessDenied) as err:
        with open_store(namespace="default").lock("web"):
            pytest.fail("the lock was taken")
    assert err.value.message == (
        f"not allowed to {verb} {resource} in namespace default (HTTP 403; kubeconfig context standin, user standin)"
    )
    assert f"verb {verb} on {resource} in namespace default" in err.value.hint and err.value.exit_code == 2
    lease = lease_of(kubeapi)
    assert lease is None or "holderIdentity" not in lease["spec"]  # never left held
    assert kubeapi.get_object("secrets", "default", "norn-state-web") is None


@pytest.mark.parametrize("call, verb", [(lambda s: s.load("web"), "get"), (lambda s: s.list(), "list")])
def test_a_missing_permission_to_read_names_the_verb(kubeapi, open_store, call, verb):
    kubeapi.inject(method="GET", path_contains="/secrets", status=403, times=None)
    with pytest.raises(AccessDenied) as err:
        call(open_store())
    assert f"{verb} secrets in namespace default" in err.value.message
