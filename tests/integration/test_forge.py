"""forge of a webserver against the stand-in cluster: every step, skip rule and output."""

from __future__ import annotations

import yaml

from tests.integration.conftest import CRON_SPEC, WEB_SPEC, WEB_STEPS, configmap_text
from tests.kubeapi import DEFAULT_CLOUDFLARED_CONFIG

MANAGED = {"app": "web", "app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "web", "app.kubernetes.io/managed-by": "norn"}


def test_forge_creates_every_object_and_routes_the_host(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web")
    assert run.code == 0, run.stderr

    deployment = cluster.get_object("deployments", "default", "web", group="apps")
    assert deployment["metadata"]["labels"] == MANAGED
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "web:latest" and container["imagePullPolicy"] == "Never"
    assert deployment["spec"]["replicas"] == 2
    assert {"name": "DATABASE_URL", "value": "postgres://norn@postgres:5432/web_db?sslmode=disable"} in container["env"]
    assert container["envFrom"] == [{"secretRef": {"name": "web-secrets", "optional": True}}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"

    pvc = cluster.get_object("persistentvolumeclaims", "default", "web-data")
    assert pvc["metadata"]["labels"] == MANAGED
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"

    service = cluster.get_object("services", "default", "web-svc")
    assert service["metadata"]["labels"] == MANAGED
    assert service["spec"]["selector"] == {"app": "web"}
    assert service["spec"]["ports"][0]["port"] == 80 and service["spec"]["ports"][0]["targetPort"] == 8080

    rules = yaml.safe_load(configmap_text(cluster))["ingress"]
    assert rules[-2] == {"hostname": "web.example.com", "service": "http://web-svc.default.svc.cluster.local:80"}
    assert rules[-1] == {"service": "http_status:404"}

    validate, route = cloudflared_bin.calls()
    assert validate[:2] == ["tunnel", "--config"] and validate[3:] == ["ingress", "validate"]
    assert route == ["tunnel", "--loglevel", "info", "route", "dns", "norn", "web.example.com"]
    assert cloudflared_bin.validated() == [configmap_text(cluster)]  # what cloudflared checked is what was written
    restarted = cluster.get_object("deployments", "cloudflared", "cloudflared", group="apps")
    assert "kubectl.kubernetes.io/restartedAt" in restarted["spec"]["template"]["metadata"]["annotations"]

    state = norn.state("web")
    assert state["status"] == "forged"
    assert [s["step"] for s in state["steps"]] == WEB_STEPS
    assert all(s["status"] == "completed" for s in state["steps"])
    assert state["resources"]["deployment"] == "web" and state["resources"]["service"] == "web-svc"


def test_json_output_is_ndjson_events_in_the_seed_shapes(norn):
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 0, run.stderr
    events = run.events()
    assert all(set(e) == {"type", "app", "time", "payload"} for e in events)
    assert all(e["app"] == "web" and e["time"].endswith("Z") for e in events)
    assert events[0]["type"] == "forge.queued" and events[0]["payload"] == {"app": "web"}
    assert events[-1]["type"] == "forge.completed" and events[-1]["payload"] == {}
    steps = [(e["payload"]["step"], e["payload"]["status"]) for e in events if e["type"] == "forge.step"]
    expected = []
    for step in WEB_STEPS:
        expected += [(step, "running"), (step, "completed")]
    assert steps == expected
    done = [e for e in events if e["type"] == "forge.step" and e["payload"]["status"] == "completed"]
    assert all(isinstance(e["payload"]["durationMs"], int) for e in done)


def test_plain_output_when_not_on_a_terminal(norn):
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web")
    lines = run.stdout.splitlines()
    assert "forge web: create-service running" in lines
    assert any(line.startswith("forge web: create-service completed in ") for line in lines)
    assert "\x1b[" not in run.stdout


def test_a_forged_app_is_not_forged_again(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.clear_log()
    run = norn("forge", "web")
    assert run.code == 0
    assert run.stdout == "web is forged and up to date\n"
    assert cluster.requests == []


def test_existing_objects_made_by_norn_count_as_done(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    (norn.state_dir / "web.json").unlink()  # the state is lost, the objects remain
    run = norn("forge", "web", "--output", "json")
    assert run.code == 0, run.stderr
    assert set(run.steps().values()) == {"completed"}
    assert "already exists" in run.stdout
    rules = yaml.safe_load(configmap_text(cluster))["ingress"]
    assert [r.get("hostname") for r in rules].count("web.example.com") == 1


def test_an_object_norn_did_not_create_is_never_adopted(norn, cluster):
    foreign = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web-svc", "namespace": "default", "labels": {"team": "other"}},
        "spec": {"ports": [{"port": 80}], "selector": {"app": "other"}},
    }
    cluster.seed(foreign)
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 1
    assert run.steps()["create-service"] == "failed"
    failed = [e for e in run.events() if e["type"] == "forge.failed"][0]["payload"]
    assert failed["step"] == "create-service" and "not created by norn" in failed["error"]
    assert cluster.get_object("services", "default", "web-svc")["spec"]["selector"] == {"app": "other"}
    assert norn.state("web")["status"] == "forge_failed"


def test_skips_without_hosts(norn, cluster, cloudflared_bin):
    norn.write_spec("app: worker\nrole: worker\n")
    run = norn("forge", "worker", "--output", "json")
    assert run.code == 0, run.stderr
    assert run.steps() == {
        "create-deployment": "completed",
        "create-service": "skipped",
        "patch-cloudflared": "skipped",
        "create-dns-route": "skipped",
        "restart-cloudflared": "skipped",
    }
    assert cluster.objects("services") == []
    assert configmap_text(cluster) == DEFAULT_CLOUDFLARED_CONFIG
    assert cloudflared_bin.calls() == []


def test_skips_when_cloudflared_is_not_deployed_or_not_installed(norn, cluster, cloudflared_bin, monkeypatch):
    cluster.remove("configmaps", "cloudflared", "cloudflared")
    cluster.remove("deployments", "cloudflared", "cloudflared", group="apps")
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json", PATH="/usr/bin:/bin")
    assert run.code == 0, run.stderr
    steps = run.steps()
    assert steps["patch-cloudflared"] == "skipped"
    assert steps["create-dns-route"] == "skipped"
    assert steps["restart-cloudflared"] == "skipped"
    outputs = {e["payload"]["step"]: e["payload"].get("output", "") for e in run.events() if e["type"] == "forge.step"}
    assert "not found" in outputs["patch-cloudflared"]
    assert "no cloudflared on PATH" in outputs["create-dns-route"]
    assert cloudflared_bin.calls() == []


def test_restart_is_skipped_without_a_cloudflared_deployment(norn, cluster):
    cluster.remove("deployments", "cloudflared", "cloudflared", group="apps")
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 0, run.stderr
    assert run.steps()["restart-cloudflared"] == "skipped"
    assert norn.state("web")["status"] == "forged"


def test_restart_patches_the_pod_template_like_kubectl(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    patches = [r for r in cluster.requests if r.method == "PATCH"]
    assert len(patches) == 1
    assert patches[0].path == "/apis/apps/v1/namespaces/cloudflared/deployments/cloudflared"
    assert patches[0].content_type.startswith("application/strategic-merge-patch+json")
    annotations = patches[0].body["spec"]["template"]["metadata"]["annotations"]
    assert list(annotations) == ["kubectl.kubernetes.io/restartedAt"]
    assert annotations["kubectl.kubernetes.io/restartedAt"].endswith("Z")


def test_configmap_write_carries_the_resource_version_read(norn, cluster):
    norn.write_spec(WEB_SPEC)
    before = cluster.get_object("configmaps", "cloudflared", "cloudflared")["metadata"]["resourceVersion"]
    assert norn("forge", "web").code == 0
    puts = [r for r in cluster.requests if r.method == "PUT"]
    assert len(puts) == 1 and puts[0].body["metadata"]["resourceVersion"] == before


def test_a_conflicting_configmap_write_is_reapplied(norn, cluster):
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="PUT", path_contains="/configmaps/cloudflared", status=409)
    run = norn("forge", "web")
    assert run.code == 0, run.stderr
    rules = yaml.safe_load(configmap_text(cluster))["ingress"]
    assert [r.get("hostname") for r in rules].count("web.example.com") == 1


def test_a_host_routed_elsewhere_fails_and_leaves_the_config(norn, cluster):
    taken = DEFAULT_CLOUDFLARED_CONFIG.replace("grafana.example.com", "web.example.com")
    cluster.remove("configmaps", "cloudflared", "cloudflared")
    from tests.kubeapi import seed_cloudflared

    cluster.remove("deployments", "cloudflared", "cloudflared", group="apps")
    seed_cloudflared(cluster, config_text=taken)
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 1
    failed = [e for e in run.events() if e["type"] == "forge.failed"][0]["payload"]
    assert failed["step"] == "patch-cloudflared"
    assert "grafana.monitoring.svc.cluster.local" in failed["error"]
    assert configmap_text(cluster) == taken


def test_a_config_without_catch_all_is_not_written(norn, cluster):
    broken = "tunnel: norn\ningress:\n  - hostname: a.example.com\n    service: http://a:80\n"
    cluster.remove("configmaps", "cloudflared", "cloudflared")
    cluster.remove("deployments", "cloudflared", "cloudflared", group="apps")
    from tests.kubeapi import seed_cloudflared

    seed_cloudflared(cluster, config_text=broken)
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 1
    assert run.steps()["patch-cloudflared"] == "failed"
    assert configmap_text(cluster) == broken
    assert not [r for r in cluster.requests if r.method == "PUT"]


def test_cron_app_registers_a_cronjob(norn, cluster, cloudflared_bin):
    norn.write_spec(CRON_SPEC)
    run = norn("forge", "nightly", "--output", "json")
    assert run.code == 0, run.stderr
    assert run.steps() == {"register-cron": "completed"}
    cronjob = cluster.get_object("cronjobs", "default", "nightly", group="batch")
    assert cronjob["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "norn"
    assert cronjob["spec"]["schedule"] == "0 3 * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    job = cronjob["spec"]["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] == 600
    assert job["template"]["spec"]["containers"][0]["command"] == ["/bin/sh", "-c", "python -m report"]
    assert cluster.objects("deployments", "apps") == [cluster.get_object("deployments", "cloudflared", "cloudflared", group="apps")]
    assert cloudflared_bin.calls() == []


def test_namespace_flag_and_environment(norn, cluster):
    cluster.add_namespace("staging")
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web", "--namespace", "staging", NORN_NAMESPACE="prod").code == 0
    assert cluster.get_object("deployments", "staging", "web", group="apps") is not None
    rules = yaml.safe_load(configmap_text(cluster))["ingress"]
    assert rules[-2]["service"] == "http://web-svc.staging.svc.cluster.local:80"


def test_the_spec_flag_names_the_file(norn, cluster, tmp_path):
    path = tmp_path / "elsewhere.yaml"
    path.write_text(WEB_SPEC)
    assert norn("forge", "web", "--spec", str(path)).code == 0
    assert cluster.get_object("deployments", "default", "web", group="apps") is not None
