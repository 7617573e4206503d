"""norn status --live: the cluster beside the state, and every kind of drift with its fix."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import CRON_SPEC, WEB_SPEC
from tests.kubeapi import DEFAULT_CLOUDFLARED_CONFIG

FORCE_WEB = "run norn forge web --repair"


def live(norn, app: str | None = None) -> dict | list:
    run = norn("status", *([app] if app else []), "--live", "--output", "json")
    assert run.code == 0, run.stderr
    return json.loads(run.stdout)


def drift_of(norn, app: str = "web") -> list[dict]:
    return live(norn, app)["drift"]


def live_of(data: dict, kind: str) -> dict:
    """The one `live` entry of that kind."""
    [found] = [entry for entry in data["live"] if entry["kind"] == kind]
    return found


@pytest.fixture
def forged(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.clear_log()
    return norn


def test_a_fresh_forge_is_live_and_has_no_drift(forged, cluster):
    cluster.seed({"apiVersion": "v1", "kind": "Endpoints",
                  "metadata": {"name": "web-svc", "namespace": "default", "labels": {"app.kubernetes.io/name": "web"}},
                  "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "notReadyAddresses": [{"ip": "10.0.0.3"}]}]})
    data = live(forged, "web")
    assert set(data) == {"app", "status", "steps", "resources", "error", "startedAt", "finishedAt", "live", "drift"}
    assert data["drift"] == []
    assert data["live"] == [
        {"kind": "Infraspec", "name": "web", "state": "unchanged", "message": "unchanged since the forge"},
        {"kind": "Deployment", "name": "web", "namespace": "default", "state": "present",
         "message": "web: 2/2 ready, rolled out; Available=True (MinimumReplicasAvailable), "
                    "Progressing=True (NewReplicaSetAvailable)",
         "replicas": 2, "readyReplicas": 2, "rolledOut": True},
        # the stand-in binds a claim of the default class at once
        {"kind": "PersistentVolumeClaim", "name": "web-data", "namespace": "default", "state": "present",
         "message": "web-data: Bound", "phase": "Bound"},
        {"kind": "Service", "name": "web-svc", "namespace": "default", "state": "present",
         "message": "web-svc: 2 endpoints (1 not ready)", "endpoints": 2, "notReadyEndpoints": 1},
        {"kind": "IngressRule", "name": "web.example.com", "state": "present",
         "message": "web.example.com → http://web-svc.default.svc.cluster.local:80: present",
         "service": "http://web-svc.default.svc.cluster.local:80", "configMap": "cloudflared/cloudflared"},
        {"kind": "DNSRecord", "name": "web.example.com", "state": "unchecked",
         "message": "web.example.com: not checked (set CLOUDFLARE_API_TOKEN to check it)"},
    ]
    text = forged("status", "web", "--live").stdout
    assert "Live" in text and "No drift." in text
    assert not cluster.writes()


def test_a_changed_infraspec_is_drift(forged):
    forged.write_spec(WEB_SPEC.replace("replicas: 2", "replicas: 3"))
    assert drift_of(forged) == [{
        "kind": "Infraspec", "name": "web",
        "message": "the infraspec changed since the forge; run norn forge web to apply it",
        "fix": "run norn plan web to see what would change, then norn forge web",
    }]
    forged.write_spec(WEB_SPEC + "build:\n  dockerfile: Dockerfile.prod\n")  # another pipeline's key: not norn's
    assert drift_of(forged) == []


@pytest.mark.parametrize(
    "plural, group, name, what",
    [
        ("deployments", "apps", "web", "Deployment default/web"),
        ("services", "", "web-svc", "Service default/web-svc"),
        ("persistentvolumeclaims", "", "web-data", "PersistentVolumeClaim default/web-data"),
    ],
)
def test_an_object_gone_is_drift(forged, cluster, plural, group, name, what):
    cluster.remove(plural, "default", name, group=group)
    kind = what.split()[0]
    assert drift_of(forged) == [{"kind": kind, "name": name, "namespace": "default", "message": f"{what} is gone",
                                 "fix": f"{FORCE_WEB} to create it again"}]
    assert live_of(live(forged, "web"), kind)["state"] == "gone"


@pytest.mark.parametrize(
    "plural, group, name, patch, field",
    [
        ("deployments", "apps", "web", {"spec": {"replicas": 5}}, "spec.replicas was edited (norn set 2, now 5)"),
        ("deployments", "apps", "web",
         {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "LOG_LEVEL", "value": "debug"}]}]}}}},
         "spec.template.spec.containers[web].env"),
        ("services", "", "web-svc", {"spec": {"selector": {"app": "other"}}}, "spec.selector.app was edited (norn set 'web', now 'other')"),
        ("persistentvolumeclaims", "", "web-data", {"spec": {"resources": {"requests": {"storage": "2Gi"}}}},
         "spec.resources.requests.storage was edited (norn set '1Gi', now '2Gi')"),
        ("deployments", "apps", "web", {"metadata": {"labels": {"app.kubernetes.io/managed-by": "helm"}}},
         "metadata.labels.app.kubernetes.io/managed-by"),
    ],
)
def test_a_field_norn_set_edited_is_drift(forged, cluster, plural, group, name, patch, field):
    cluster.store.patch(cluster_resource(plural, group), "default", name, "application/strategic-merge-patch+json", patch)
    data = live(forged, "web")
    assert len(data["drift"]) == 1
    [found] = data["drift"]
    assert found["message"].split(": ", 1)[1].startswith(field)
    assert (found["kind"], found["name"], found["namespace"]) == (found["message"].split()[0], name, "default")
    assert f": {found['field']} was edited" in found["message"]  # the path the message names
    assert found["field"].startswith(field.split(" was edited")[0])
    assert found["fix"] == f"{FORCE_WEB} to restore it from the infraspec"


def test_fields_norn_does_not_own_are_not_drift(forged, cluster):
    patch = {"metadata": {"annotations": {"deployed-by": "ci"}},
             "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}},
                                   "spec": {"containers": [{"name": "web", "image": "registry.example.com/web:41",
                                                            "imagePullPolicy": "Always"}]}}}}
    cluster.store.patch(cluster_resource("deployments", "apps"), "default", "web", "application/strategic-merge-patch+json", patch)
    assert drift_of(forged) == []


def test_the_rule_removed_or_pointed_elsewhere_is_drift(forged, cluster):
    configmap = cluster.get_object("configmaps", "cloudflared", "cloudflared")
    configmap["data"]["config.yaml"] = DEFAULT_CLOUDFLARED_CONFIG
    cluster.store.replace(cluster_resource("configmaps", ""), "cloudflared", "cloudflared", configmap)
    assert drift_of(forged) == [{
        "kind": "IngressRule", "name": "web.example.com",
        "message": "the ingress rule for web.example.com was removed from cloudflared/cloudflared",
        "fix": f"{FORCE_WEB} to add it again",
    }]

    configmap = cluster.get_object("configmaps", "cloudflared", "cloudflared")
    configmap["data"]["config.yaml"] = DEFAULT_CLOUDFLARED_CONFIG.replace("grafana.example.com", "web.example.com")
    cluster.store.replace(cluster_resource("configmaps", ""), "cloudflared", "cloudflared", configmap)
    assert drift_of(forged) == [{
        "kind": "IngressRule", "name": "web.example.com",
        "message": "the ingress rule for web.example.com points to http://grafana.monitoring.svc.cluster.local:80, "
                 "not http://web-svc.default.svc.cluster.local:80",
        "fix": f"remove that rule from cloudflared/cloudflared, then {FORCE_WEB}",
    }]


def test_a_cronjob_shows_its_last_schedule_and_its_drift(norn, cluster):
    norn.write_spec(CRON_SPEC)
    assert norn("forge", "nightly").code == 0
    cluster.set_status("cronjobs", "default", "nightly", {"lastScheduleTime": "2026-11-27T03:00:00Z"}, group="batch")
    data = live(norn, "nightly")
    assert live_of(data, "CronJob") == {
        "kind": "CronJob", "name": "nightly", "namespace": "default", "state": "present",
        "message": "nightly: schedule 0 3 * * *, last scheduled 2026-11-27T03:00:00Z",
        "schedule": "0 3 * * *", "lastScheduleTime": "2026-11-27T03:00:00Z",
    }
    assert data["drift"] == []
    cluster.store.patch(cluster_resource("cronjobs", "batch"), "default", "nightly", "application/merge-patch+json",
                        {"spec": {"schedule": "0 4 * * *"}})
    assert drift_of(norn, "nightly")[0]["message"] == (
        "CronJob default/nightly: spec.schedule was edited (norn set '0 3 * * *', now '0 4 * * *')")
    cluster.remove("cronjobs", "default", "nightly", group="batch")
    assert drift_of(norn, "nightly") == [{"kind": "CronJob", "name": "nightly", "namespace": "default",
                                          "message": "CronJob default/nightly is gone",
                                          "fix": "run norn forge nightly --repair to create it again"}]


def test_every_app_is_read_with_one_list_call_per_kind(norn, cluster):
    norn.write_spec(WEB_SPEC)
    norn.write_spec(CRON_SPEC)
    norn.write_spec(WEB_SPEC.replace("app: web", "app: shop").replace("web-svc", "shop-svc").replace("web.example", "shop.example"),
                    folder="shop")
    for app in ("web", "nightly", "shop"):
        assert norn("forge", app).code == 0
    cluster.add_namespace("staging")
    assert norn("forge", "shop", "--force", "--yes", "--namespace", "staging").code == 0  # two namespaces
    cluster.remove("services", "default", "web-svc")
    cluster.clear_log()
    data = live(norn)
    assert [d["app"] for d in data] == ["nightly", "shop", "web"]
    assert [len(d["drift"]) for d in data] == [0, 0, 1]
    gets = [r.path for r in cluster.requests]
    assert sorted(gets) == sorted([
        "/apis/apps/v1/deployments", "/api/v1/persistentvolumeclaims", "/api/v1/services", "/api/v1/endpoints",
        "/apis/batch/v1/cronjobs", "/api/v1/namespaces/cloudflared/configmaps/cloudflared",
    ])
    assert all(r.method == "GET" for r in cluster.requests)
    text = norn("status", "--live").stdout
    assert "! Service default/web-svc is gone" in text and "fix: run norn forge web --repair to create it again" in text


def cluster_resource(plural: str, group: str):
    from tests.kubeapi.server import resource_for

    return resource_for(plural, group)


TUNNEL_ID = "6ff42ae2-765d-4adf-8112-31c55c1551ef"


def test_live_status_checks_the_dns_record_when_a_token_is_given(norn, cluster, cloudflared_bin, cfapi):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web", NORN_TUNNEL_ID=TUNNEL_ID).code == 0
    zone = next(iter(cfapi.zones.values()))
    record = cfapi.add_record(zone, "web.example.com", f"{TUNNEL_ID}.cfargotunnel.com")
    shown = json.loads(norn("status", "web", "--live", "--output", "json", NORN_TUNNEL_ID=TUNNEL_ID).stdout)
    assert live_of(shown, "DNSRecord")["message"].startswith("ok: CNAME web.example.com")
    assert live_of(shown, "DNSRecord")["state"] == "ok"
    assert shown["drift"] == []

    cfapi.dns[record["id"]]["content"] = "elsewhere.example.net"  # someone repointed it by hand
    shown = json.loads(norn("status", "web", "--live", "--output", "json", NORN_TUNNEL_ID=TUNNEL_ID).stdout)
    assert live_of(shown, "DNSRecord")["state"] == "elsewhere"
    assert [(d["kind"], d["name"]) for d in shown["drift"] if "DNS record of web.example.com" in d["message"]] == [
        ("DNSRecord", "web.example.com")]
    assert cfapi.token not in json.dumps(shown)


def test_live_status_says_the_dns_record_is_not_checked_without_a_token(forged):
    assert "not checked" in live_of(live(forged, "web"), "DNSRecord")["message"]
