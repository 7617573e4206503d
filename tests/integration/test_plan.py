"""norn plan / forge --dry-run / teardown --dry-run: no writes, and what it shows is what forge then does."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.integration.conftest import CRON_SPEC, WEB_SPEC, WEB_STEPS, configmap_text
from tests.integration.test_dns_route import NORN_TUNNEL, OTHER_TUNNEL
from tests.kubeapi import DEFAULT_CLOUDFLARED_CONFIG

FAILED_DNS = "failed last time: cloudflared exited 1"


def routes(cloudflared_bin) -> list[list[str]]:
    """The cloudflared runs that change something: a dry run runs ingress validate and tunnel info, which only read."""
    return [call for call in cloudflared_bin.calls() if "route" in call]


def assert_changed_nothing(norn, cluster, cloudflared_bin, state_before=None):
    assert cluster.writes() == []
    assert routes(cloudflared_bin) == []
    if state_before is None:
        assert not norn.state_dir.exists()
    else:
        assert norn.state("web") == state_before


def posted(cluster) -> list[dict]:
    """The bodies of every create the cluster stored, in order."""
    return [r.body for r in cluster.requests if r.method == "POST" and r.status == 201]


@pytest.mark.parametrize("spec, app", [(WEB_SPEC, "web"), (CRON_SPEC, "nightly")])
def test_dry_run_writes_nothing_and_its_manifests_are_what_forge_creates(norn, cluster, cloudflared_bin, spec, app):
    norn.write_spec(spec)
    run = norn("forge", app, "--dry-run", "-o", "yaml")
    assert run.code == 0, run.stderr
    assert_changed_nothing(norn, cluster, cloudflared_bin)
    printed = list(yaml.safe_load_all(run.stdout))

    assert norn("forge", app).code == 0
    assert printed == posted(cluster) and printed


def test_plan_text_says_what_each_step_would_do_and_the_exact_config_diff(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    run = norn("plan", "web")
    assert run.code == 0, run.stderr
    assert_changed_nothing(norn, cluster, cloudflared_bin)
    assert run.stdout == (
        "Plan: a fresh forge of web into namespace default\n"
        "  + create-deployment    run: not done yet\n"
        "      create PersistentVolumeClaim default/web-data\n"
        "      create Deployment default/web\n"
        "  + create-service       run: not done yet\n"
        "      create Service default/web-svc\n"
        "  + patch-cloudflared    run: not done yet\n"
        "      add the rule web.example.com → http://web-svc.default.svc.cluster.local:80 to ConfigMap cloudflared/cloudflared\n"
        "  + create-dns-route     run: not done yet\n"
        "      run cloudflared tunnel route dns norn web.example.com\n"
        "  + restart-cloudflared  run: not done yet\n"
        "      restart Deployment cloudflared/cloudflared: set the pod template annotation kubectl.kubernetes.io/restartedAt\n"
        "Would create 3 objects: PersistentVolumeClaim default/web-data, Deployment default/web, Service default/web-svc"
        " (-o yaml shows them)\n"
        "cloudflared config:\n"
        "--- a/cloudflared/cloudflared/config.yaml\n"
        "+++ b/cloudflared/cloudflared/config.yaml\n"
        "@@ -6,5 +6,7 @@\n"
        " ingress:\n"
        "   - hostname: grafana.example.com\n"
        "     service: http://grafana.monitoring.svc.cluster.local:80\n"
        "+  - hostname: web.example.com\n"
        "+    service: http://web-svc.default.svc.cluster.local:80\n"
        "   # everything else: 404\n"
        "   - service: http_status:404\n"
        "Nothing was changed (dry run).\n"
    )


def test_the_json_plan_has_the_steps_objects_and_the_diff_forge_then_makes(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    plan = json.loads(norn("plan", "web", "-o", "json").stdout)
    assert [(s["step"], s["action"]) for s in plan["steps"]] == [(step, "run") for step in WEB_STEPS]
    assert [o["kind"] for o in plan["objects"]] == ["PersistentVolumeClaim", "Deployment", "Service"]
    assert plan["configDiff"].startswith("--- a/cloudflared/cloudflared/config.yaml\n")
    assert_changed_nothing(norn, cluster, cloudflared_bin)

    assert norn("forge", "web").code == 0
    after = [line[1:] for line in plan["configDiff"].splitlines()[3:] if not line.startswith("-")]
    assert "".join(line + "\n" for line in after) in configmap_text(cluster)  # the hunk as forge wrote it


def test_a_resumed_forge_is_planned_as_it_then_runs(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    cloudflared_bin.set_mode("fail")
    assert norn("forge", "web").code == 1
    cloudflared_bin.set_mode("ok")
    state, calls = norn.state("web"), routes(cloudflared_bin)
    cluster.clear_log()

    plan = json.loads(norn("forge", "web", "--dry-run", "-o", "json").stdout)
    assert cluster.writes() == [] and routes(cloudflared_bin) == calls and norn.state("web") == state
    actions = {s["step"]: s["action"] for s in plan["steps"]}
    assert actions == {
        "create-deployment": "skip",
        "create-service": "skip",
        "patch-cloudflared": "skip",
        "create-dns-route": "resume",
        "restart-cloudflared": "resume",
    }
    why = {s["step"]: s["why"] for s in plan["steps"]}
    assert why["create-deployment"] == "Deployment recorded as created"
    assert why["create-dns-route"].startswith(FAILED_DNS)
    assert why["restart-cloudflared"] == "not recorded as done by the failed run"
    assert plan["summary"].startswith("a resumed forge of web")

    run = norn("forge", "web", "--output", "json")
    real = {"skipped": "skip", "completed": "resume"}
    assert {step: real[status] for step, status in run.steps().items()} == actions


def test_an_already_forged_app_plans_nothing_and_reads_nothing(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.clear_log()
    run = norn("plan", "web")
    assert run.code == 0
    assert run.stdout.startswith("Plan: web is forged and up to date: nothing would run")
    assert cluster.requests == []


def test_a_forced_replan_tears_down_then_forges_and_matches_the_real_force(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    state = norn.state("web")
    cluster.clear_log()
    plan = json.loads(norn("plan", "web", "--force", "-o", "json").stdout)
    assert cluster.writes() == [] and norn.state("web") == state
    assert [(s["operation"], s["action"]) for s in plan["steps"]] == [("teardown", "run")] * 5 + [("forge", "run")] * 5
    assert plan["configDiff"] == ""  # the rule is removed, then added back
    assert any("PersistentVolumeClaim default/web-data" in k for k in plan["kept"])

    assert norn("forge", "web", "--force", "--yes").code == 0
    assert plan["objects"] == posted(cluster)


def test_a_foreign_object_makes_the_plan_fail_and_blocks_the_rest(norn, cluster, cloudflared_bin):
    cluster.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-svc", "namespace": "default"},
                  "spec": {"ports": [{"port": 80}]}})
    norn.write_spec(WEB_SPEC)
    run = norn("plan", "web")
    assert run.code == 1
    assert "  ! create-service       fail: Service default/web-svc exists but was not created by norn" in run.stdout
    assert "  · patch-cloudflared    blocked: not reached: create-service would fail" in run.stdout
    assert run.stdout.splitlines()[-1] == "This forge would fail at create-service. Nothing was changed."
    assert_changed_nothing(norn, cluster, cloudflared_bin)


def test_without_cloudflared_the_plan_skips_as_forge_does(norn, cluster, cloudflared_bin):
    cluster.remove("configmaps", "cloudflared", "cloudflared")
    norn.write_spec(WEB_SPEC)
    plan = json.loads(norn("plan", "web", "-o", "json", PATH="/usr/bin:/bin").stdout)
    skipped = {s["step"]: s["why"] for s in plan["steps"] if s["action"] == "skip"}
    assert skipped["patch-cloudflared"] == "ConfigMap cloudflared/cloudflared not found: cloudflared is not deployed"
    assert skipped["create-dns-route"].startswith("no cloudflared on PATH")
    assert skipped["restart-cloudflared"] == "tunnel config unchanged"
    assert plan["configDiff"] == ""


def test_server_dry_run_sends_every_write_with_dry_run_all_and_stores_nothing(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    run = norn("plan", "web", "--server-dry-run")
    assert run.code == 0, run.stdout + run.stderr
    writes = cluster.writes()
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in writes] == [
        ("POST", "persistentvolumeclaims"), ("POST", "deployments"), ("POST", "services"),
        ("PUT", "cloudflared"), ("PATCH", "cloudflared"),
    ]
    assert all(r.query == {"dryRun": "All"} and r.status in (200, 201) for r in writes)
    assert cluster.objects("services") == [] and configmap_text(cluster) == DEFAULT_CLOUDFLARED_CONFIG
    assert not norn.state_dir.exists()


def test_server_dry_run_surfaces_what_the_server_would_refuse(norn, cluster, cloudflared_bin):
    # What only the server knows: here an admission policy that forbids the Service. norn's own checks
    # pass (plan without --server-dry-run says run); the dry-run request brings the refusal back.
    norn.write_spec(WEB_SPEC)
    assert norn("plan", "web").code == 0
    cluster.inject("POST", "/services?dryRun=All", status=403)
    run = norn("plan", "web", "--server-dry-run")
    assert run.code == 1
    assert "  ! create-service       fail: the server refused Service default/web-svc:" in run.stdout
    assert "cannot perform this action" in run.stdout
    assert cluster.objects("services") == []


def test_teardown_dry_run_lists_what_goes_and_what_stays(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    state, calls = norn.state("web"), routes(cloudflared_bin)
    cluster.clear_log()
    run = norn("teardown", "web", "--dry-run")
    assert run.code == 0, run.stderr
    assert cluster.writes() == [] and norn.state("web") == state and routes(cloudflared_bin) == calls
    text = run.stdout
    for line in (
        "      delete Service default/web-svc",
        "      delete Deployment default/web",
        "      keep PersistentVolumeClaim default/web-data with its data (--delete-volumes deletes it)",
        "-  - hostname: web.example.com",
        "-    service: http://web-svc.default.svc.cluster.local:80",
        "Kept:",
        "  DNS record web.example.com → tunnel norn: no CLOUDFLARE_API_TOKEN to delete it",
    ):
        assert line in text.splitlines(), line

    with_volumes = norn("teardown", "web", "--dry-run", "--delete-volumes").stdout
    assert "      delete PersistentVolumeClaim default/web-data" in with_volumes.splitlines()

    # an object replaced by someone else's is kept, and the teardown would fail there
    cluster.remove("services", "default", "web-svc")
    cluster.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-svc", "namespace": "default"},
                  "spec": {"ports": [{"port": 80}]}})
    run = norn("teardown", "web", "--dry-run", "-o", "json")
    assert run.code == 1
    plan = json.loads(run.stdout)
    assert {s["step"]: s["action"] for s in plan["steps"]}["delete-service"] == "fail"
    assert "Service default/web-svc: not created by norn" in plan["kept"]
    assert cluster.writes() == []


def test_teardown_dry_run_with_a_token_reads_the_cname_and_records_its_delete(norn, cluster, cloudflared_bin, cfapi):
    """The Cloudflare API's GETs are sent (the plan knows whether the CNAME is the tunnel's), its DELETE is not."""
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    zone = next(z for z in cfapi.zones.values() if z["name"] == "example.com")
    record = cfapi.add_record(zone, "web.example.com", f"{NORN_TUNNEL}.cfargotunnel.com")
    run = norn("teardown", "web", "--dry-run")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert f"      delete the CNAME web.example.com → {NORN_TUNNEL}.cfargotunnel.com through the Cloudflare API" in lines
    assert "DNS record web.example.com" not in run.stdout and cfapi.token not in run.stdout
    assert cfapi.count("DELETE") == 0 and record["id"] in {r["id"] for r in cfapi.records()}

    elsewhere = norn("teardown", "web", "--dry-run", NORN_TUNNEL_ID=OTHER_TUNNEL).stdout
    assert "left the CNAME web.example.com in zone example.com alone" in elsewhere  # the real step's own words


def test_yaml_output_needs_a_dry_run(norn, cluster):
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "-o", "yaml")
    assert run.code == 2 and "--dry-run" in run.stderr
    assert cluster.requests == []
