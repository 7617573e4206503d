"""norn forge on an edited infraspec: an in-place update (issue 16), through the real norn and the stand-ins.

What a real cluster must see: one PATCH per changed object (the recorded uid in the body as a precondition,
no GET before), uids unchanged, nothing deleted but what the update replaced, and that only once the new
routing is live.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import (
    CRON_SPEC,
    TEARDOWN_STEPS,
    WEB_SPEC,
    configmap_text,
)

UPDATE_STEPS = ["update-deployment", "update-service", "update-cloudflared", "update-dns-route",
                "restart-cloudflared", "remove-replaced"]


def forged(norn, spec: str = WEB_SPEC, app: str = "web"):
    norn.write_spec(spec)
    run = norn("forge", app)
    assert run.code == 0, run.stdout + run.stderr
    return run


def update(norn, cluster, spec: str, *args: str, app: str = "web", code: int = 0, **env: str):
    norn.write_spec(spec)
    cluster.clear_log()
    run = norn("forge", app, "--output", "json", *args, **env)
    assert run.code == code, run.stdout + run.stderr
    return run


def outputs(run) -> dict[str, tuple[str, str]]:
    return {e["payload"]["step"]: (e["payload"]["status"], e["payload"].get("output", ""))
            for e in run.events() if e["type"] == "forge.step" and e["payload"]["status"] != "running"}


def uid(cluster, plural: str, name: str, group: str = "") -> str:
    return cluster.get_object(plural, "default", name, group)["metadata"]["uid"]


def deployment(cluster) -> dict:
    return cluster.get_object("deployments", "default", "web", "apps")


def container(cluster) -> dict:
    return deployment(cluster)["spec"]["template"]["spec"]["containers"][0]


def writes(cluster) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in cluster.writes()]


def test_a_replicas_change_is_one_patch_of_the_deployment_and_nothing_else(norn, cluster):
    forged(norn)
    before = uid(cluster, "deployments", "web", "apps")
    run = update(norn, cluster, WEB_SPEC.replace("replicas: 2", "replicas: 4"))
    steps = outputs(run)
    assert list(steps) == UPDATE_STEPS
    assert steps["update-deployment"] == ("completed", "updated Deployment default/web: replicas 2 -> 4")
    assert {name: status for name, (status, _) in steps.items() if name != "update-deployment"} == {
        name: "skipped" for name in UPDATE_STEPS[1:]}
    assert steps["update-service"][1] == "unchanged"
    # One request in all: the patch, with the uid as its precondition; no read before it.
    assert [(r.method, r.path) for r in cluster.requests] == [("PATCH", "/apis/apps/v1/namespaces/default/deployments/web")]
    sent = cluster.requests[0]
    assert sent.content_type.startswith("application/strategic-merge-patch+json")
    assert sent.body == {"metadata": {"uid": before}, "spec": {"replicas": 4}}
    assert deployment(cluster)["spec"]["replicas"] == 4 and uid(cluster, "deployments", "web", "apps") == before
    state = norn.state("web")
    assert state["status"] == "forged"
    cluster.clear_log()
    again = norn("forge", "web")
    assert (again.code, again.stdout) == (0, "web is forged and up to date\n")
    assert cluster.requests == []


def test_the_events_are_the_forge_set(norn, cluster):
    forged(norn)
    run = update(norn, cluster, WEB_SPEC.replace("LOG_LEVEL: info", "LOG_LEVEL: debug"))
    assert {e["type"] for e in run.events()} == {"forge.queued", "forge.step", "forge.completed"}


def test_the_deploy_pipelines_image_survives_an_env_change(norn, cluster):
    forged(norn)
    live = deployment(cluster)
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/web:abc123"
    cluster.seed(live)  # as `kubectl set image` leaves it
    run = update(norn, cluster, WEB_SPEC.replace("  LOG_LEVEL: info\n", "  LOG_LEVEL: info\n  MODE: fast\n"))
    assert outputs(run)["update-deployment"][1] == "updated Deployment default/web: env MODE added"
    assert container(cluster)["image"] == "registry.example.com/web:abc123"
    assert {"name": "MODE", "value": "fast"} in container(cluster)["env"]
    assert "image" not in json.dumps(cluster.requests[0].body)


def test_a_port_change_moves_the_container_port_the_probes_and_the_services_target_port(norn, cluster):
    forged(norn)
    service_uid = uid(cluster, "services", "web-svc")
    run = update(norn, cluster, WEB_SPEC.replace("port: 8080", "port: 9090"))
    steps = outputs(run)
    assert steps["update-deployment"][0] == "completed" and "port 8080 -> 9090" in steps["update-deployment"][1]
    assert steps["update-service"] == ("completed", "updated Service default/web-svc: targetPort 8080 -> 9090")
    assert container(cluster)["ports"][0]["containerPort"] == 9090
    assert container(cluster)["readinessProbe"]["httpGet"]["port"] == 9090
    svc = cluster.get_object("services", "default", "web-svc")
    assert svc["spec"]["ports"][0]["targetPort"] == 9090 and svc["metadata"]["uid"] == service_uid
    assert not [w for w in cluster.writes() if w.method == "DELETE"]


def test_a_renamed_service_is_created_routed_then_the_old_one_deleted(norn, cluster):
    forged(norn)
    deployment_uid = uid(cluster, "deployments", "web", "apps")
    run = update(norn, cluster, WEB_SPEC.replace("internal: web-svc", "internal: web-api"))
    steps = outputs(run)
    assert [name for name, (status, _) in steps.items() if status == "completed"] == [
        "update-service", "update-cloudflared", "restart-cloudflared", "remove-replaced"]
    assert writes(cluster) == [
        ("POST", "/api/v1/namespaces/default/services"),
        ("PUT", "/api/v1/namespaces/cloudflared/configmaps/cloudflared"),
        ("PATCH", "/apis/apps/v1/namespaces/cloudflared/deployments/cloudflared"),
        ("DELETE", "/api/v1/namespaces/default/services/web-svc"),
    ]
    assert "web.example.com" in configmap_text(cluster)
    assert "http://web-api.default.svc.cluster.local:80" in configmap_text(cluster)
    assert "web-svc.default" not in configmap_text(cluster)
    assert cluster.get_object("services", "default", "web-svc") is None
    assert uid(cluster, "deployments", "web", "apps") == deployment_uid
    resources = norn.state("web")["resources"]
    assert resources["service"] == "web-api" and "replaced" not in resources
    # A teardown now removes the new Service.
    assert norn("teardown", "web", "--yes").code == 0
    assert cluster.get_object("services", "default", "web-api") is None


def test_a_renamed_hostname_keeps_the_rules_place_routes_the_new_name_and_removes_the_old_record(
    norn, cluster, cloudflared_bin, cfapi
):
    forged(norn)
    zone = next(z for z in cfapi.zones.values() if z["name"] == "example.com")
    tunnel = norn.state("web")["resources"]["dnsRoute"]["tunnelId"]
    old = cfapi.add_record(zone, "web.example.com", f"{tunnel}.cfargotunnel.com")
    text = configmap_text(cluster)
    position = [line for line in text.splitlines() if "hostname:" in line].index("  - hostname: web.example.com")
    run = update(norn, cluster, WEB_SPEC.replace("external: web.example.com", "external: www.example.com"))
    steps = outputs(run)
    assert steps["update-cloudflared"][0] == "completed" and steps["update-dns-route"][0] == "completed"
    hosts = [line for line in configmap_text(cluster).splitlines() if "hostname:" in line]
    assert hosts[position] == "  - hostname: www.example.com" and "web.example.com" not in configmap_text(cluster)
    assert [c for c in cloudflared_bin.calls() if "route" in c][-1][-1] == "www.example.com"
    assert [r.method for r in cluster.writes()].count("PATCH") == 1  # one restart
    assert old["id"] not in {r["id"] for r in cfapi.records()}
    assert steps["remove-replaced"][0] == "completed"
    assert norn.state("web")["resources"]["dnsRoute"]["hostname"] == "www.example.com"


def test_without_a_token_the_old_record_is_named_in_a_warning(norn, cluster, cloudflared_bin):
    forged(norn)
    run = update(norn, cluster, WEB_SPEC.replace("external: web.example.com", "external: www.example.com"))
    said = outputs(run)["remove-replaced"]
    assert said[0] == "completed" and "warning: no CLOUDFLARE_API_TOKEN, so the CNAME web.example.com" in said[1]


def test_an_added_volume_gets_its_claim_before_the_deployment_mounts_it(norn, cluster):
    forged(norn)
    spec = WEB_SPEC + "  - name: cache\n    mountPath: /cache\n    size: 2Gi\n"
    run = update(norn, cluster, spec)
    assert writes(cluster) == [
        ("POST", "/api/v1/namespaces/default/persistentvolumeclaims"),
        ("PATCH", "/apis/apps/v1/namespaces/default/deployments/web"),
    ]
    said = outputs(run)["update-deployment"][1]
    assert said.startswith("created PersistentVolumeClaim default/web-cache; updated Deployment default/web: ")
    assert "volume cache added" in said
    assert norn.state("web")["resources"]["persistentVolumeClaims"] == ["web-data", "web-cache"]


def test_a_removed_volume_is_unmounted_and_its_claim_kept(norn, cluster):
    forged(norn)
    spec = WEB_SPEC.split("volumes:")[0]
    run = update(norn, cluster, spec)
    assert "volume data removed" in outputs(run)["update-deployment"][1]
    assert "kept PersistentVolumeClaim default/web-data" in outputs(run)["update-deployment"][1]
    assert "volumes" not in deployment(cluster)["spec"]["template"]["spec"]
    assert cluster.get_object("persistentvolumeclaims", "default", "web-data") is not None
    resources = norn.state("web")["resources"]
    assert resources["keptVolumes"] == ["web-data"] and "persistentVolumeClaims" not in resources
    assert not [w for w in cluster.writes() if w.method == "DELETE"]


def test_with_delete_volumes_a_removed_volumes_claim_is_deleted_after_the_unmount(norn, cluster):
    forged(norn)
    update(norn, cluster, WEB_SPEC.split("volumes:")[0], "--delete-volumes")
    assert writes(cluster) == [
        ("PATCH", "/apis/apps/v1/namespaces/default/deployments/web"),
        ("DELETE", "/api/v1/namespaces/default/persistentvolumeclaims/web-data"),
    ]


def test_a_grown_claim_is_patched_in_place(norn, cluster):
    forged(norn)
    claim_uid = uid(cluster, "persistentvolumeclaims", "web-data")
    run = update(norn, cluster, WEB_SPEC.replace("size: 1Gi", "size: 2Gi"))
    assert outputs(run)["update-deployment"][1] == "updated PersistentVolumeClaim default/web-data: storage 1Gi -> 2Gi"
    claim = cluster.get_object("persistentvolumeclaims", "default", "web-data")
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi" and claim["metadata"]["uid"] == claim_uid


@pytest.mark.parametrize("edit, words", [
    (lambda s: s.replace("size: 1Gi", "size: 512Mi"), "would shrink from 1Gi to 512Mi"),
    (lambda s: CRON_SPEC.replace("nightly", "web"), "the role would change from webserver or worker to cron"),
])
def test_what_cannot_change_in_place_is_refused_before_any_request(norn, cluster, edit, words):
    forged(norn)
    before = json.dumps(norn.state("web"))
    run = update(norn, cluster, edit(WEB_SPEC), code=2)
    assert words in run.stderr and "norn forge web --force" in run.stderr
    assert cluster.requests == [] and json.dumps(norn.state("web")) == before


def test_a_namespace_change_is_refused(norn, cluster):
    forged(norn)
    run = update(norn, cluster, WEB_SPEC.replace("replicas: 2", "replicas: 3"), "--namespace", "staging", code=2)
    assert "the namespace would change from default to staging" in run.stderr and "--force" in run.stderr
    assert cluster.requests == []


def test_a_failed_update_is_finished_by_the_next_forge(norn, cluster):
    forged(norn)
    cluster.inject(method="PATCH", path_contains="/deployments/web", status=422)
    update(norn, cluster, WEB_SPEC.replace("replicas: 2", "replicas: 5"), code=1)
    assert norn.state("web")["status"] == "forge_failed"
    rerun = norn("forge", "web", "--output", "json")
    assert rerun.code == 0, rerun.stdout + rerun.stderr
    assert outputs(rerun)["update-deployment"] == ("completed", "updated Deployment default/web: replicas 2 -> 5")
    assert deployment(cluster)["spec"]["replicas"] == 5 and norn.state("web")["status"] == "forged"
    assert norn("forge", "web").stdout == "web is forged and up to date\n"


def test_a_teardown_after_a_failed_rename_removes_the_new_and_the_old_service(norn, cluster):
    forged(norn)
    cluster.inject(method="PATCH", path_contains="/deployments/cloudflared", status=422)
    update(norn, cluster, WEB_SPEC.replace("internal: web-svc", "internal: web-api"), code=1)
    assert norn.state("web")["resources"]["replaced"] == {"services": ["web-svc"]}
    run = norn("teardown", "web", "--yes", "--output", "json")
    assert run.code == 0, run.stdout + run.stderr
    assert {e["payload"]["step"] for e in run.events() if e["type"] == "teardown.step"} == set(TEARDOWN_STEPS)
    for name in ("web-svc", "web-api"):
        assert cluster.get_object("services", "default", name) is None


def test_a_cron_apps_schedule_changes_in_place(norn, cluster):
    forged(norn, CRON_SPEC, "nightly")
    before = uid(cluster, "cronjobs", "nightly", "batch")
    run = update(norn, cluster, CRON_SPEC.replace("0 3 * * *", "30 4 * * *"), app="nightly")
    assert list(outputs(run)) == ["update-cron"]
    assert outputs(run)["update-cron"] == ("completed", 'updated CronJob default/nightly: schedule "0 3 * * *" -> "30 4 * * *"')
    job = cluster.get_object("cronjobs", "default", "nightly", "batch")
    assert job["spec"]["schedule"] == "30 4 * * *" and job["metadata"]["uid"] == before


def test_repair_restores_what_was_edited_and_deleted_by_hand(norn, cluster):
    forged(norn)
    live = deployment(cluster)
    live["spec"]["replicas"] = 7
    cluster.seed(live)
    cluster.remove("services", "default", "web-svc")
    deployment_uid = uid(cluster, "deployments", "web", "apps")
    cluster.clear_log()
    run = norn("forge", "web", "--repair", "--output", "json")
    assert run.code == 0, run.stdout + run.stderr
    steps = outputs(run)
    assert steps["update-deployment"] == ("completed", "updated Deployment default/web: replicas 7 -> 2")
    assert steps["update-service"] == ("completed", "created Service default/web-svc")
    assert deployment(cluster)["spec"]["replicas"] == 2 and uid(cluster, "deployments", "web", "apps") == deployment_uid
    assert not [w for w in cluster.writes() if w.method == "DELETE"]


def test_plan_shows_an_update_field_by_field_and_changes_nothing(norn, cluster):
    forged(norn)
    norn.write_spec(WEB_SPEC.replace("replicas: 2", "replicas: 4"))
    cluster.clear_log()
    text = norn("plan", "web")
    assert text.code == 0, text.stdout + text.stderr
    assert "~ update-deployment" in text.stdout and "update: the infraspec changed since the forge" in text.stdout
    assert "= update-service" in text.stdout and "skip: unchanged" in text.stdout
    assert "-  replicas: 2" in text.stdout and "+  replicas: 4" in text.stdout
    as_json = json.loads(norn("plan", "web", "-o", "json").stdout)
    [updated] = as_json["updates"]
    assert (updated["kind"], updated["name"]) == ("Deployment", "web")
    assert updated["changes"] == [{"path": "spec.replicas", "from": 2, "to": 4}]
    assert cluster.writes() == []


def test_status_live_says_to_forge_to_apply_an_edit(norn, cluster):
    forged(norn)
    norn.write_spec(WEB_SPEC.replace("replicas: 2", "replicas: 3"))
    live = json.loads(norn("status", "web", "--live", "-o", "json").stdout)
    assert live["drift"][0]["message"] == "the infraspec changed since the forge; run norn forge web to apply it"


def test_a_removed_external_hostname_takes_its_rule_and_record_with_it(norn, cluster, cloudflared_bin, cfapi):
    forged(norn)
    zone = next(z for z in cfapi.zones.values() if z["name"] == "example.com")
    tunnel = norn.state("web")["resources"]["dnsRoute"]["tunnelId"]
    cfapi.add_record(zone, "web.example.com", f"{tunnel}.cfargotunnel.com")
    run = update(norn, cluster, WEB_SPEC.replace("  external: web.example.com\n", ""))
    steps = outputs(run)
    assert [name for name, (status, _) in steps.items() if status == "completed"] == [
        "update-cloudflared", "update-dns-route", "restart-cloudflared", "remove-replaced"]
    assert "web.example.com" not in configmap_text(cluster) and cfapi.records() == []
    resources = norn.state("web")["resources"]
    assert "ingressRule" not in resources and "dnsRoute" not in resources and "replaced" not in resources
    assert cluster.get_object("services", "default", "web-svc") is not None


def test_an_added_external_hostname_is_routed_as_forge_routes_it(norn, cluster, cloudflared_bin):
    forged(norn, WEB_SPEC.replace("  external: web.example.com\n", ""))
    run = update(norn, cluster, WEB_SPEC)
    steps = outputs(run)
    assert steps["update-cloudflared"][0] == steps["update-dns-route"][0] == "completed"
    assert "web.example.com" in configmap_text(cluster)
    assert norn.state("web")["resources"]["dnsRoute"]["hostname"] == "web.example.com"


def test_repair_adds_a_rule_removed_by_hand_and_restarts_once(norn, cluster, cloudflared_bin):
    forged(norn)
    from tests.kubeapi import DEFAULT_CLOUDFLARED_CONFIG
    configmap = cluster.get_object("configmaps", "cloudflared", "cloudflared")
    configmap["data"]["config.yaml"] = DEFAULT_CLOUDFLARED_CONFIG
    cluster.seed(configmap)
    cluster.clear_log()
    run = norn("forge", "web", "--repair", "--output", "json")
    assert run.code == 0, run.stdout + run.stderr
    assert outputs(run)["update-cloudflared"][0] == "completed" and "web.example.com" in configmap_text(cluster)
    assert [r.method for r in cluster.writes()] == ["PUT", "PATCH"]


@pytest.mark.parametrize("edit, phrase", [
    (lambda s: s.replace("healthcheck: /health", "healthcheck: /ready"), "healthcheck /health -> /ready"),
    (lambda s: s.replace("  - API_KEY\n", "  - API_KEY\n  - OTHER\n"), None),
    (lambda s: s.replace("database: web_db", "database: web2_db"), "DATABASE_URL changed"),
    (lambda s: s + "  - name: logs\n    mountPath: /logs\n    hostPath: /srv/logs\n", "volume logs added"),
])
def test_other_fields_change_the_deployment_in_place(norn, cluster, edit, phrase):
    forged(norn)
    before = uid(cluster, "deployments", "web", "apps")
    run = update(norn, cluster, edit(WEB_SPEC))
    said = outputs(run)["update-deployment"]
    if phrase is None:  # the secret names live in the Secret: the Deployment's envFrom does not change
        assert said == ("skipped", "unchanged") and cluster.writes() == []
    else:
        assert said[0] == "completed" and phrase in said[1], said
        assert [r.method for r in cluster.writes()] == ["PATCH"]
    assert uid(cluster, "deployments", "web", "apps") == before
    assert norn.state("web")["status"] == "forged"


def test_no_env_value_is_kept_in_the_state_and_an_unchanged_one_is_not_sent_again(norn, cluster):
    spec = WEB_SPEC.replace("LOG_LEVEL: info", "LOG_LEVEL: info\n  SENTRY_DSN: https://key-5d2e@sentry.example/1")
    forged(norn, spec)
    stored = (norn.state_dir / "web.json").read_text()
    assert "key-5d2e" not in stored and "postgres://" not in stored and "info" not in stored.replace("infraspec", "")
    run = update(norn, cluster, spec.replace("LOG_LEVEL: info", "LOG_LEVEL: debug"))
    assert outputs(run)["update-deployment"][1] == "updated Deployment default/web: env LOG_LEVEL changed"
    body = json.dumps(cluster.requests[0].body)
    assert '"value": "debug"' in body and "key-5d2e" not in body and "postgres://" not in body
    assert "debug" not in (norn.state_dir / "web.json").read_text()


def test_an_app_forged_before_norn_kept_what_it_applied_is_updated_from_the_live_objects(norn, cluster):
    forged(norn)
    path = norn.state_dir / "web.json"
    state = json.loads(path.read_text())
    del state["applied"]  # as main at 62853c9 wrote it (tests/fixtures/states-62853c9)
    path.write_text(json.dumps(state))
    before = uid(cluster, "deployments", "web", "apps")
    run = update(norn, cluster, WEB_SPEC.replace("replicas: 2", "replicas: 3"))
    assert outputs(run)["update-deployment"] == ("completed", "updated Deployment default/web: replicas 2 -> 3")
    # Without a record of what was applied, each object is read once and only norn's fields are compared.
    assert [(r.method, r.path.rsplit("/", 2)[-2]) for r in cluster.requests] == [
        ("GET", "persistentvolumeclaims"), ("GET", "deployments"), ("PATCH", "deployments"), ("GET", "services")]
    assert uid(cluster, "deployments", "web", "apps") == before
    assert "applied" in norn.state("web")


def test_a_first_forge_that_failed_is_finished_by_an_edited_infraspec(norn, cluster):
    cluster.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-svc", "namespace": "default"},
                  "spec": {"ports": [{"port": 80}]}})  # someone else's
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 1
    run = update(norn, cluster, WEB_SPEC.replace("internal: web-svc", "internal: web-api"))
    steps = outputs(run)
    assert steps["update-deployment"] == ("skipped", "unchanged")
    assert steps["update-service"] == ("completed", "created Service default/web-api")
    assert "web-api.default" in configmap_text(cluster)
    assert cluster.get_object("services", "default", "web-svc")["metadata"].get("labels") is None  # untouched
    assert norn.state("web")["status"] == "forged"


def test_status_lists_what_an_unfinished_update_still_has_to_remove(norn, cluster):
    forged(norn)
    cluster.inject(method="PATCH", path_contains="/deployments/cloudflared", status=422)
    update(norn, cluster, WEB_SPEC.replace("internal: web-svc", "internal: web-api"), code=1)
    text = norn("status", "web").stdout
    assert "Replaced" in text and "web-svc (removed when the update finishes)" in text


def test_a_claim_whose_class_does_not_allow_expansion_fails_the_step_with_the_servers_words(norn, cluster):
    from tests.kubeapi import storage_class
    cluster.seed(storage_class("standard", default=True, expandable=False))
    forged(norn)
    run = update(norn, cluster, WEB_SPEC.replace("size: 1Gi", "size: 2Gi"), code=1)
    failed = next(e for e in run.events() if e["type"] == "forge.failed")["payload"]
    assert failed["step"] == "update-deployment" and "only dynamically provisioned pvc can be resized" in failed["error"]
    assert norn.state("web")["status"] == "forge_failed"
    assert not [w for w in cluster.writes() if w.method == "DELETE"]


def test_an_unchanged_app_asked_into_another_namespace_is_refused_not_up_to_date(norn, cluster):
    forged(norn)
    cluster.clear_log()
    run = norn("forge", "web", "--namespace", "staging")
    assert run.code == 2 and "the namespace would change from default to staging" in run.stderr
    assert cluster.requests == []


def test_every_step_with_nothing_to_do_says_unchanged(norn, cluster):
    forged(norn, WEB_SPEC.replace("  external: web.example.com\n", ""))
    run = update(norn, cluster, WEB_SPEC.replace("  external: web.example.com\n", "").replace("replicas: 2", "replicas: 1"))
    skipped = {name: why for name, (status, why) in outputs(run).items() if status == "skipped"}
    assert set(skipped) == set(UPDATE_STEPS) - {"update-deployment"}
    assert all("unchanged" in why for why in skipped.values()), skipped
