"""Scenario 1b: kill -9 norn at every point of an in-place update; a plain rerun finishes it, a teardown undoes it.

The app is forged (the web app: a volume, a Service, a public hostname), then its
infraspec is edited once so that every update step has work: replicas 2 -> 3, an
env var added, a volume added (a new claim), ``hosts.internal`` renamed (a new
Service, the old one deleted) and ``hosts.external`` renamed (the rule replaced in
place, a new route, the old CNAME deleted through the Cloudflare API). Every request
of that update is a crash point, at the moments of test_crash_points.py (before,
held, applied). After each kill, either:

* ``rerun``: a plain ``norn forge web`` must exit 0 and leave the cluster equal to an
  uninterrupted update's (the ``updated`` fixture), with the Deployment's and the
  claim's uids of the forge, one rule for the new hostname where the old one stood,
  the old CNAME deleted and the new one routed, the state ``forged`` with the new
  digest, and a further forge "up to date" with no request at all; or
* ``teardown``: ``norn teardown web --yes --delete-volumes`` must exit 0 and leave the
  cluster as an uninterrupted teardown does (``reference.torn_down``): both Services
  gone when both existed, the rule gone (config.yaml byte-identical to before the
  forge), both CNAMEs deleted, the operator's objects and records untouched.

The rules these rely on, as the real things apply them: a strategic merge patch sent
again is the same patch (apimachinery strategicpatch, StrategicMergePatch), a POST of
a name that exists answers 409 AlreadyExists (apiserver
staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go, Store.Create), a
DELETE with a uid precondition of a deleted object answers 404 (same file,
Store.Delete), ``cloudflared tunnel route dns`` of a name routed to the same tunnel
says it is already configured (cloudflared cfapi/hostname.go,
DNSRouteResult.SuccessSummary), and Cloudflare's list of a deleted record is empty
(api.cloudflare.com v4, dns_records list).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from norn.cloudflare.dnsrecords import tunnel_target
from norn.events import now
from norn.store.lease import holder, lease_name
from tests.integration.conftest import WEB_SPEC
from tests.kubeapi import DEFAULT_CLOUDFLARED_CONFIG, KubeAPI
from tests.reliability import figures
from tests.reliability.harness import (
    FORGE,
    TEARDOWN,
    Point,
    age_restart,
    app_requests,
    assert_same_objects,
    configmap_text,
    ingress_rules,
    kill_at_cloudflare_api,
    kill_at_cloudflared,
    kill_at_request,
    restart_stamp,
    undisturbed,
    wait_until,
)

OLD_HOST, NEW_HOST = "web.example.com", "www.example.com"
UPDATED_SPEC = (
    WEB_SPEC.replace("replicas: 2", "replicas: 3")
    .replace("  LOG_LEVEL: info\n", "  LOG_LEVEL: info\n  MODE: fast\n")
    .replace("internal: web-svc", "internal: web-api")
    .replace(f"external: {OLD_HOST}", f"external: {NEW_HOST}")
    + "  - name: cache\n    mountPath: /cache\n    size: 2Gi\n"
)
OLD_STAMP = "2000-01-01T00:00:00Z"  # cloudflared's restartedAt before the update (see age_restart)


def exists(plural: str, name: str, group: str = "") -> Callable[[KubeAPI], bool]:
    return lambda server: server.get_object(plural, "default", name, group) is not None


def gone(plural: str, name: str, group: str = "") -> Callable[[KubeAPI], bool]:
    return lambda server: server.get_object(plural, "default", name, group) is None


def replicas(n: int) -> Callable[[KubeAPI], bool]:
    return lambda server: server.get_object("deployments", "default", "web", "apps")["spec"]["replicas"] == n


POINTS = [
    Point("update-deployment", "POST pvc", "POST", "/persistentvolumeclaims", exists("persistentvolumeclaims", "web-cache")),
    Point("update-deployment", "PATCH deployment", "PATCH", "/deployments/web", replicas(3)),
    Point("update-service", "POST service", "POST", "/namespaces/default/services", exists("services", "web-api")),
    Point("update-cloudflared", "GET configmap", "GET", "/configmaps/cloudflared"),
    Point("update-cloudflared", "PUT configmap", "PUT", "/configmaps/cloudflared",
          lambda server: f"hostname: {NEW_HOST}" in configmap_text(server)),
    Point("update-dns-route", "cloudflared route dns"),
    Point("restart-cloudflared", "PATCH cloudflared deployment", "PATCH", "/deployments/cloudflared",
          lambda server: restart_stamp(server) != OLD_STAMP),
    Point("remove-replaced", "GET Cloudflare zones", "GET", "/client/v4/zones?", api="cloudflare"),
    Point("remove-replaced", "GET Cloudflare DNS records", "GET", "/dns_records?", api="cloudflare"),
    Point("remove-replaced", "DELETE Cloudflare DNS record", "DELETE", "/dns_records/", api="cloudflare"),
    Point("remove-replaced", "DELETE service", "DELETE", "/services/web-svc", gone("services", "web-svc")),
]
CASES = [(point, moment) for point in POINTS for moment in point.moments]
LOCK_SECONDS = 2  # NORN_LOCK_SECONDS with the kubernetes backend: how long a killed run's Lease outlives it
BACKENDS = [pytest.param("local"), pytest.param("kubernetes", marks=pytest.mark.load)]
KEPT = [("deployments", "default", "web", "apps"), ("persistentvolumeclaims", "default", "web-data")]  # same uid


def _id(case: tuple[Point, str]) -> str:
    point, moment = case
    return f"{point.step}-{point.request.replace(' ', '-')}-{moment}"


@pytest.fixture(scope="module")
def updated(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, dict]:
    """The cluster, the config text and the state after an undisturbed forge and update, by real processes."""
    runs = undisturbed(tmp_path_factory.mktemp("updated"), [(WEB_SPEC, FORGE), (UPDATED_SPEC, FORGE)])
    (_, forged_text, _), after = runs
    hosts = [rule.get("hostname") for rule in ingress_rules(after[1])]
    assert hosts.index(NEW_HOST) == [rule.get("hostname") for rule in ingress_rules(forged_text)].index(OLD_HOST)
    assert OLD_HOST not in hosts and after[2]["status"] == "forged"
    return after


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("then", ["rerun", "teardown"])
@pytest.mark.parametrize("case", CASES, ids=[_id(case) for case in CASES])
def test_a_killed_update_is_finished_by_a_rerun_or_undone_by_a_teardown(
    norn, cluster, cloudflared_bin, cfapi, reference, updated, case, then, backend, monkeypatch
):
    point, moment = case
    if backend == "kubernetes":
        monkeypatch.setenv("NORN_STATE_BACKEND", "kubernetes")
        monkeypatch.setenv("NORN_LOCK_SECONDS", str(LOCK_SECONDS))
        norn.state_cluster = cluster
    assert (setup := norn(*FORGE)).code == 0, setup.explain()
    age_restart(cluster, OLD_STAMP)
    uids = {key: cluster.get_object(*key)["metadata"]["uid"] for key in KEPT}
    # The CNAME cloudflared made at forge (the stand-ins are not linked: the test adds it), and another one.
    target = tunnel_target(norn.state()["resources"]["dnsRoute"]["tunnelId"])
    zone = next(z for z in cfapi.zones.values() if z["name"] == "example.com")
    cfapi.add_record(zone, OLD_HOST, target)
    other = cfapi.add_record(zone, "grafana.example.com", target)
    norn.write_spec(UPDATED_SPEC)
    cluster.clear_log()

    if point.method is None:
        kill_at_cloudflared(norn, cloudflared_bin, moment, FORGE, point.step, NEW_HOST)
    elif point.api == "cloudflare":
        kill_at_cloudflare_api(norn, cfapi, point, moment, FORGE, OLD_HOST)
    else:
        kill_at_request(norn, cluster, point, moment, FORGE)
    state = norn.state()
    assert state["status"] == "forging", state
    assert (state["steps"][-1]["step"], state["steps"][-1]["status"]) == (point.step, "running"), state["steps"]
    _mirror_new_route(cloudflared_bin, cfapi, zone, target)
    if backend == "kubernetes":  # as its holder said, the killed run's lock frees when its Lease expires
        lease = lambda: cluster.get_object("leases", "default", lease_name("web"), group="coordination.k8s.io")  # noqa: E731
        wait_until(lambda: holder(lease(), now()) is None, "the killed run's Lease to expire", timeout=4 * LOCK_SECONDS)

    if then == "rerun":
        _rerun_converges(norn, cluster, cloudflared_bin, cfapi, updated, uids, other, zone, target)
    else:
        _teardown_removes_all(norn, cluster, cfapi, reference, other)
    figures.count("scenarios")
    figures.count("crash_points" if then == "rerun" else "update_kills_torn_down")
    if then == "rerun":
        figures.count("crash_points_update")
    if backend == "kubernetes":
        figures.count("crash_points_kubernetes" if then == "rerun" else "update_kills_torn_down_kubernetes")


def _mirror_new_route(cloudflared_bin, cfapi, zone: dict, target: str) -> None:
    """The new hostname's CNAME in the Cloudflare stand-in once cloudflared routed it, as Cloudflare would hold it."""
    if NEW_HOST in cloudflared_bin.routes() and not cfapi.records(NEW_HOST):
        cfapi.add_record(zone, NEW_HOST, target)


def _rerun_converges(norn, cluster, cloudflared_bin, cfapi, updated, uids, other, zone, target) -> None:
    run = norn(*FORGE)
    assert run.code == 0 and run.traceback is None, run.explain()
    _mirror_new_route(cloudflared_bin, cfapi, zone, target)
    objects, text, state = updated
    assert_same_objects(cluster, objects, "update")
    assert configmap_text(cluster) == text  # the new rule once, where the old one stood; the old one gone
    assert {key: cluster.get_object(*key)["metadata"]["uid"] for key in KEPT} == uids  # changed in place
    assert NEW_HOST in cloudflared_bin.routes()
    assert sorted(r["name"] for r in cfapi.records()) == sorted([NEW_HOST, other["name"]])  # the old CNAME deleted
    now_state = norn.state()
    assert (now_state["status"], now_state["specDigest"]) == ("forged", state["specDigest"])
    deleted = {r.path for r in app_requests(cluster) if r.method == "DELETE"}  # by the killed run and the rerun
    assert deleted <= {"/api/v1/namespaces/default/services/web-svc"}, deleted  # only what the update replaced
    cluster.clear_log()
    asked = len(cfapi.requests)
    again = norn("forge", "web")
    assert (again.code, again.stdout) == (0, "web is forged and up to date\n"), again.explain()
    assert app_requests(cluster) == [] and len(cfapi.requests) == asked  # with the kubernetes backend: the state's


def _teardown_removes_all(norn, cluster, cfapi, reference, other) -> None:
    run = norn(*TEARDOWN)
    assert run.code == 0 and run.traceback is None, run.explain()
    assert_same_objects(cluster, reference.torn_down, "teardown")  # both Services, both claims, all of the app's
    assert configmap_text(cluster) == DEFAULT_CLOUDFLARED_CONFIG  # byte-identical to before the forge
    assert [r["id"] for r in cfapi.records()] == [other["id"]]  # both CNAMEs deleted (the new one if routed), only they
    try:
        status = norn.state()["status"]
    except FileNotFoundError:
        status = "unforged"
    assert status == "unforged"


# --- what the crash points found, pinned ------------------------------------------------------------------


def test_a_teardown_after_a_kill_once_a_retargeted_rule_was_written_removes_it(norn, cluster, cloudflared_bin, cfapi):
    """A hosts.internal rename retargets the rule in place; killed once the PUT landed, the state named the old
    Service's URL and teardown refused the rule ("routed to ..., not ..."), leaving it in the config.

    Both URLs are recorded before the write, and teardown removes the hostname routed to either (cloudflared
    ingress/ingress.go FindMatchingRule: one rule per hostname serves it, the first)."""
    assert (setup := norn(*FORGE)).code == 0, setup.explain()
    norn.write_spec(WEB_SPEC.replace("internal: web-svc", "internal: web-api"))
    point = Point("update-cloudflared", "PUT configmap", "PUT", "/configmaps/cloudflared",
                  lambda server: "web-api.default.svc" in configmap_text(server))
    kill_at_request(norn, cluster, point, "applied", FORGE)
    run = norn(*TEARDOWN)
    assert run.code == 0, run.explain()
    assert configmap_text(cluster) == DEFAULT_CLOUDFLARED_CONFIG
    assert cluster.objects("services") == []


def test_an_update_refused_a_foreign_service_records_nothing_for_teardown_to_trip_on(norn, cluster, cloudflared_bin):
    """The new Service is recorded before its create; a create refused (a Service of that name norn did not
    make) takes the record back, so teardown does not fail on an object that is not the app's."""
    assert (setup := norn(*FORGE)).code == 0, setup.explain()
    foreign = cluster.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-api", "namespace": "default"},
                            "spec": {"ports": [{"port": 80}]}})
    norn.write_spec(WEB_SPEC.replace("internal: web-svc", "internal: web-api"))
    run = norn(*FORGE)
    assert run.code == 1 and run.failed()["step"] == "update-service", run.explain()
    resources = norn.state()["resources"]
    assert resources["service"] == "web-svc" and "replaced" not in resources
    assert (teardown := norn(*TEARDOWN)).code == 0, teardown.explain()
    assert cluster.get_object("services", "default", "web-api")["metadata"]["uid"] == foreign["metadata"]["uid"]
    assert cluster.get_object("services", "default", "web-svc") is None
