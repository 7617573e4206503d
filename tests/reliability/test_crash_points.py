"""Scenario 1: kill -9 norn at every point of a forge and of a teardown; a plain rerun repairs it.

Every request a forge or a teardown makes (to the Kubernetes API, and in
teardown's remove-dns-route to the Cloudflare API), and the cloudflared call,
is a crash point at three moments:

* before: the state records the step as running, the request has not reached
  the server (a Gate holds it before the server reads it: never logged, never
  applied; for cloudflared, the kill comes once the state records the step,
  with the stand-in in a mode that does nothing);
* held: the server holds the request (an injected delay) and never applies it;
* applied: the server applied the request but holds the answer (``hold``), so
  norn never records it (for cloudflared: the route is added, then it hangs).

A GET applies nothing, so it has the first two moments only; the stand-in
Cloudflare API applies a request as it reads it, so its requests have no
"held" moment (its "applied" holds the answer at a Gate). After each kill,
the same command is run again, plainly: it must exit 0 and leave the cluster
equal to an uninterrupted run's (same objects, same ConfigMap text, one rule),
and a teardown must leave config.yaml byte-identical to the start and have
deleted the app's CNAME, and only it.

The killed run is a real process (in its own session: the kill takes a hung
cloudflared child too); the setup forge of a teardown and the rerun run
in-process, which is the same code without the interpreter start-up.

With the local state backend in ``make test``; with the kubernetes backend (the
state in a Secret, the lock in a Lease) in ``make test-load``, where the rerun
comes once the killed run's Lease has expired, as its holder line says.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from norn.cloudflare.dnsrecords import tunnel_target
from norn.events import now
from norn.store.lease import holder, lease_name
from tests.kubeapi import KubeAPI
from tests.reliability import figures
from tests.reliability.harness import (
    FORGE,
    TEARDOWN,
    Point,
    age_restart,
    assert_converged,
    configmap_text,
    kill_at_cloudflare_api,
    kill_at_cloudflared,
    kill_at_request,
    restart_stamp,
    wait_until,
)

HOLD = 600.0  # seconds the server holds a request; the kill comes long before


def exists(plural: str, namespace: str, name: str, group: str = "") -> Callable[[KubeAPI], bool]:
    return lambda server: server.get_object(plural, namespace, name, group) is not None


def gone(plural: str, namespace: str, name: str, group: str = "") -> Callable[[KubeAPI], bool]:
    return lambda server: server.get_object(plural, namespace, name, group) is None


def rule_present(present: bool) -> Callable[[KubeAPI], bool]:
    return lambda server: ("hostname: web.example.com" in configmap_text(server)) == present


def restarted(since: str | None) -> Callable[[KubeAPI], bool]:
    return lambda server: restart_stamp(server) != since


def at(operation: str, *fields, **more) -> Point:
    """A crash point of ``operation`` (forge | teardown)."""
    return Point(*fields, **more, operation=operation)


OLD_STAMP = "2000-01-01T00:00:00Z"  # cloudflared's restartedAt before a teardown (see age_restart)

POINTS = [
    at("forge", "create-deployment", "POST pvc", "POST", "/persistentvolumeclaims",
          exists("persistentvolumeclaims", "default", "web-data")),
    at("forge", "create-deployment", "POST deployment", "POST", "/namespaces/default/deployments",
          exists("deployments", "default", "web", "apps")),
    at("forge", "create-service", "POST service", "POST", "/namespaces/default/services",
          exists("services", "default", "web-svc")),
    at("forge", "patch-cloudflared", "GET configmap", "GET", "/configmaps/cloudflared"),
    at("forge", "patch-cloudflared", "PUT configmap", "PUT", "/configmaps/cloudflared", rule_present(True)),
    at("forge", "create-dns-route", "cloudflared route dns"),
    at("forge", "restart-cloudflared", "PATCH cloudflared deployment", "PATCH", "/deployments/cloudflared",
          restarted(None)),
    # remove-dns-route reads the config first (whose rule routes the name, steps/routed.py); unpatch-cloudflared's
    # GET comes second, and a kill at it is the kill before its PUT
    at("teardown", "remove-dns-route", "GET configmap", "GET", "/configmaps/cloudflared"),
    at("teardown", "remove-dns-route", "GET Cloudflare zones", "GET", "/client/v4/zones?", api="cloudflare"),
    at("teardown", "remove-dns-route", "GET Cloudflare DNS records", "GET", "/dns_records?", api="cloudflare"),
    at("teardown", "remove-dns-route", "DELETE Cloudflare DNS record", "DELETE", "/dns_records/",
          api="cloudflare"),
    at("teardown", "unpatch-cloudflared", "PUT configmap", "PUT", "/configmaps/cloudflared", rule_present(False)),
    at("teardown", "restart-cloudflared", "PATCH cloudflared deployment", "PATCH", "/deployments/cloudflared",
          restarted(OLD_STAMP)),
    at("teardown", "delete-service", "DELETE service", "DELETE", "/services/web-svc",
          gone("services", "default", "web-svc")),
    at("teardown", "delete-deployment", "DELETE deployment", "DELETE", "/deployments/web",
          gone("deployments", "default", "web", "apps")),
    at("teardown", "delete-deployment", "DELETE pvc", "DELETE", "/persistentvolumeclaims/web-data",
          gone("persistentvolumeclaims", "default", "web-data")),
]
CASES = [(point, moment) for point in POINTS for moment in point.moments]


def _id(case: tuple[Point, str]) -> str:
    point, moment = case
    return f"{point.operation}-{point.request.replace(' ', '-')}-{moment}"


LOCK_SECONDS = 2  # NORN_LOCK_SECONDS with the kubernetes backend: how long a killed run's Lease outlives it

# The local backend in make test; the kubernetes one (state in a Secret, lock in a Lease) in make test-load.
BACKENDS = [pytest.param("local"), pytest.param("kubernetes", marks=pytest.mark.load)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[_id(case) for case in CASES])
def test_a_kill_at_any_point_is_repaired_by_a_plain_rerun(
    norn, cluster, cloudflared_bin, cfapi, reference, case, backend, monkeypatch
):
    point, moment = case
    args = FORGE if point.operation == "forge" else TEARDOWN
    if backend == "kubernetes":
        monkeypatch.setenv("NORN_STATE_BACKEND", "kubernetes")
        monkeypatch.setenv("NORN_LOCK_SECONDS", str(LOCK_SECONDS))
        norn.state_cluster = cluster
    if point.operation == "teardown":
        setup = norn(*FORGE)
        assert setup.code == 0, setup.explain()
        age_restart(cluster, OLD_STAMP)
        # the CNAME cloudflared made at forge, which teardown deletes through the Cloudflare API, and another
        target = tunnel_target(norn.state()["resources"]["dnsRoute"]["tunnelId"])
        zone = next(z for z in cfapi.zones.values() if z["name"] == "example.com")
        cfapi.add_record(zone, "web.example.com", target)
        kept = cfapi.add_record(zone, "grafana.example.com", target)
    cluster.clear_log()

    if point.method is None:
        kill_at_cloudflared(norn, cloudflared_bin, moment, FORGE, "create-dns-route", "web.example.com")
        if moment != "applied":
            assert cloudflared_bin.routes() == {}
    elif point.api == "cloudflare":
        kill_at_cloudflare_api(norn, cfapi, point, moment, TEARDOWN, "web.example.com")
    else:
        kill_at_request(norn, cluster, point, moment, args)

    state = norn.state()
    assert state["status"] == ("forging" if point.operation == "forge" else "tearing_down"), state
    assert (state["steps"][-1]["step"], state["steps"][-1]["status"]) == (point.step, "running"), state["steps"]
    if backend == "kubernetes":  # as its holder said, the killed run's lock frees when its Lease expires
        lease = lambda: cluster.get_object("leases", "default", lease_name("web"), group="coordination.k8s.io")  # noqa: E731
        wait_until(lambda: holder(lease(), now()) is None, "the killed run's Lease to expire", timeout=4 * LOCK_SECONDS)

    run = norn(*args)  # the same command, plainly
    assert run.code == 0, run.explain()
    assert run.traceback is None
    try:
        status = norn.state()["status"]
    except FileNotFoundError:
        status = "unforged"
    assert status == ("forged" if point.operation == "forge" else "unforged")
    assert_converged(cluster, reference, point.operation)
    if point.operation == "forge":
        assert cloudflared_bin.routes() == {"web.example.com": "norn"}
    else:
        assert [record["id"] for record in cfapi.records()] == [kept["id"]]  # the CNAME deleted, only it

    figures.count("scenarios")
    figures.count("crash_points")
    figures.count(f"crash_points_{point.operation}")
    if backend == "kubernetes":
        figures.count("crash_points_kubernetes")
