"""Failure is the normal case: resume, force, teardown from forge_failed, locks, kills."""

from __future__ import annotations

import json
import signal

import pytest

from norn.store.local import LocalStore
from tests.integration.conftest import (
    TEARDOWN_STEPS,
    WEB_SPEC,
    WEB_STEPS,
    app_objects,
    configmap_text,
    start_held,
)


@pytest.fixture(autouse=True)
def _no_retry_budget(monkeypatch):
    """The faults here stand for a step that fails; retrying them for 30 s would only slow the suite."""
    monkeypatch.setenv("NORN_API_RETRY_SECONDS", "0")

# The first request each step makes, to fail it there.
STEP_REQUEST = {
    "create-deployment": ("POST", "/persistentvolumeclaims"),
    "create-service": ("POST", "/services"),
    "patch-cloudflared": ("GET", "/configmaps/cloudflared"),
    "restart-cloudflared": ("PATCH", "/deployments/cloudflared"),
}


def forged_cluster(norn, cluster) -> tuple[dict, str]:
    """The objects and config of an uninterrupted forge, for comparison."""
    assert norn("forge", "web").code == 0
    return app_objects(cluster), configmap_text(cluster)


@pytest.mark.parametrize("failing", list(STEP_REQUEST) + ["create-dns-route"])
def test_a_failed_forge_resumes_from_the_failed_step(norn, cluster, cloudflared_bin, failing):
    norn.write_spec(WEB_SPEC)
    if failing == "create-dns-route":
        cloudflared_bin.set_mode("fail")
    else:
        method, path = STEP_REQUEST[failing]
        cluster.inject(method=method, path_contains=path, status=500, times=None)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 1
    assert run.steps()[failing] == "failed"
    assert [e for e in run.events() if e["type"] == "forge.failed"][0]["payload"]["step"] == failing
    state = norn.state("web")
    assert state["status"] == "forge_failed" and state["error"].startswith(failing)

    cluster.clear_faults()
    cloudflared_bin.set_mode("ok")
    cluster.clear_log()
    run = norn("forge", "web", "--output", "json")
    assert run.code == 0, run.stderr
    before = WEB_STEPS[: WEB_STEPS.index(failing)]
    assert all(run.steps()[step] == "skipped" for step in before)
    assert all(run.steps()[step] == "completed" for step in WEB_STEPS[len(before):])
    # skipped steps made no API calls: the deployment and service were not touched again
    if "create-service" in before:
        assert not [r for r in cluster.requests if "/services" in r.path]
    if "create-deployment" in before:
        assert not [r for r in cluster.requests if "/namespaces/default/deployments" in r.path]
    assert norn.state("web")["status"] == "forged"
    assert len(cloudflared_bin.routes()) == 1


def test_resumed_forge_leaves_the_same_cluster_as_an_uninterrupted_one(norn, cluster, tmp_path):
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", status=500, times=None)
    assert norn("forge", "web").code == 1
    cluster.clear_faults()
    assert norn("forge", "web").code == 0
    objects, text = app_objects(cluster), configmap_text(cluster)
    assert norn("teardown", "web", "--yes", "--delete-volumes").code == 0
    (norn.state_dir / "web.json").unlink()
    assert forged_cluster(norn, cluster) == (objects, text)


def test_force_tears_down_then_forges_afresh(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    run = norn("forge", "web", "--force", "--yes", "--output", "json")
    assert run.code == 0, run.stderr
    types = [e["type"] for e in run.events()]
    assert types[0] == "teardown.queued" and "teardown.completed" in types
    assert types.index("teardown.completed") < types.index("forge.queued")
    assert types[-1] == "forge.completed"
    assert norn.state("web")["status"] == "forged"
    assert [r.get("hostname") for r in __import__("yaml").safe_load(configmap_text(cluster))["ingress"]].count(
        "web.example.com"
    ) == 1


def test_force_needs_yes_without_a_terminal(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.clear_log()
    run = norn("forge", "web", "--force")
    assert run.code == 2
    assert "--yes" in run.stderr
    assert cluster.requests == []
    assert norn.state("web")["status"] == "forged"


def test_force_stops_at_forge_failed_when_teardown_fails(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.inject(method="DELETE", path_contains="/services/", status=500, times=None)
    run = norn("forge", "web", "--force", "--yes", "--output", "json")
    assert run.code == 1
    assert [e["type"] for e in run.events()][-1] == "teardown.failed"
    assert not any(e["type"] == "forge.queued" for e in run.events())
    assert norn.state("web")["status"] == "forge_failed"


def test_teardown_removes_everything_and_keeps_volumes(norn, cluster):
    norn.write_spec(WEB_SPEC)
    original = configmap_text(cluster)
    assert norn("forge", "web").code == 0
    run = norn("teardown", "web", "--yes", "--output", "json")
    assert run.code == 0, run.stderr
    assert list(run.steps()) == TEARDOWN_STEPS
    assert set(run.steps().values()) == {"completed"}
    outputs = " ".join(e["payload"].get("output", "") for e in run.events() if e["type"] == "teardown.step")
    assert "web.example.com" in outputs and "kept web-data" in outputs
    assert configmap_text(cluster) == original  # byte-identical
    assert cluster.get_object("deployments", "default", "web", group="apps") is None
    assert cluster.get_object("services", "default", "web-svc") is None
    assert cluster.get_object("persistentvolumeclaims", "default", "web-data") is not None
    assert norn.state("web")["status"] == "unforged"


def test_teardown_with_delete_volumes_deletes_the_claims(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    assert norn("teardown", "web", "--yes", "--delete-volumes").code == 0
    assert cluster.get_object("persistentvolumeclaims", "default", "web-data") is None


def test_teardown_acts_on_the_recorded_resources_not_the_current_spec(norn, cluster):
    path = norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    path.write_text(WEB_SPEC.replace("web-svc", "renamed-svc"))
    assert norn("teardown", "web", "--yes").code == 0
    assert cluster.get_object("services", "default", "web-svc") is None


def test_teardown_never_deletes_a_foreign_object(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    service = cluster.get_object("services", "default", "web-svc")
    service["metadata"]["labels"] = {"team": "other"}
    service["metadata"].pop("uid")  # someone else's Service under the same name
    cluster.remove("services", "default", "web-svc")
    cluster.seed(service)
    run = norn("teardown", "web", "--yes", "--output", "json")
    assert run.code == 1
    assert run.steps()["delete-service"] == "failed"
    assert cluster.get_object("services", "default", "web-svc") is not None
    assert norn.state("web")["status"] == "forge_failed"


def test_teardown_counts_an_object_already_gone_as_done(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.remove("services", "default", "web-svc")
    run = norn("teardown", "web", "--yes", "--output", "json")
    assert run.code == 0, run.stderr
    assert run.steps()["delete-service"] == "completed"


def test_teardown_of_an_unforged_app_has_nothing_to_do(norn, cluster):
    norn.write_spec(WEB_SPEC)  # an app norn knows, never forged (an unknown one exits 1: test_cli_conventions)
    run = norn("teardown", "web")
    assert run.code == 0
    assert "nothing to tear down" in run.stdout
    assert cluster.requests == []


def test_teardown_needs_yes_without_a_terminal(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.clear_log()
    run = norn("teardown", "web")
    assert run.code == 2 and "--yes" in run.stderr
    assert cluster.requests == []


def test_teardown_from_forge_failed_then_forge_recreates(norn, cluster):
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="PATCH", path_contains="/deployments/cloudflared", status=500, times=None)
    assert norn("forge", "web").code == 1
    cluster.clear_faults()
    assert norn("teardown", "web", "--yes").code == 0
    assert cluster.get_object("deployments", "default", "web", group="apps") is None
    assert norn.state("web")["status"] == "unforged"


def test_after_a_failed_teardown_forge_recreates_what_it_removed(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.inject(method="DELETE", path_contains="/deployments/web", status=500, times=None)
    assert norn("teardown", "web", "--yes").code == 1  # service, rule and route are gone by now
    assert cluster.get_object("services", "default", "web-svc") is None
    cluster.clear_faults()
    run = norn("forge", "web", "--output", "json")
    assert run.code == 0, run.stderr
    assert run.steps() == {
        "create-deployment": "skipped",
        "create-service": "completed",
        "patch-cloudflared": "completed",
        "create-dns-route": "completed",
        "restart-cloudflared": "completed",
    }
    assert cluster.get_object("services", "default", "web-svc") is not None
    assert "web.example.com" in configmap_text(cluster)


def test_a_second_run_on_the_same_app_exits_3(norn, cluster):
    norn.write_spec(WEB_SPEC)
    with LocalStore(norn.state_dir).lock("web"):
        run = norn("forge", "web")
        teardown = norn("teardown", "web", "--yes")
    assert run.code == 3 and teardown.code == 3
    assert "operation already in progress (pid " in run.stderr
    assert cluster.requests == []


def test_a_killed_forge_resumes(norn, cluster):
    norn.write_spec(WEB_SPEC)
    process = start_held(norn, cluster, "POST", "/services", "forge", "web", "--output", "json")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert norn.state("web")["status"] == "forging"  # left mid-run
    cluster.clear_faults()
    run = norn("forge", "web", "--output", "json")
    assert run.code == 0, run.stderr
    assert run.steps()["create-deployment"] == "skipped"
    assert run.steps()["create-service"] == "completed"
    assert norn.state("web")["status"] == "forged"


def test_an_unreadable_state_file_exits_2_and_is_kept(norn, cluster):
    norn.write_spec(WEB_SPEC)
    norn.state_dir.mkdir()
    path = norn.state_dir / "web.json"
    path.write_text("{broken")
    for args in (["forge", "web"], ["teardown", "web", "--yes"], ["status", "web"]):
        run = norn(*args)
        assert run.code == 2, args
        assert str(path) in run.stderr
        assert "Traceback" not in run.stderr
    assert path.read_text() == "{broken"
    assert cluster.requests == []


def test_state_file_is_written_0600(norn):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    assert (norn.state_dir / "web.json").stat().st_mode & 0o777 == 0o600


def test_namespace_change_on_resume_is_refused(norn, cluster):
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", status=500, times=None)
    assert norn("forge", "web").code == 1
    cluster.clear_faults()
    run = norn("forge", "web", "--namespace", "other")
    assert run.code == 2 and "default" in run.stderr


def test_concurrent_forges_of_two_apps_keep_both_rules(norn, cluster):
    norn.write_spec(WEB_SPEC)
    norn.write_spec(WEB_SPEC.replace("app: web", "app: api").replace("web.example", "api.example").replace("web-svc", "api-svc"))
    cluster.latency = 0.02
    first, second = norn.popen("forge", "web"), norn.popen("forge", "api")
    assert first.wait(timeout=60) == 0, first.stderr.read()
    assert second.wait(timeout=60) == 0, second.stderr.read()
    text = configmap_text(cluster)
    assert text.count("hostname: web.example.com") == 1 and text.count("hostname: api.example.com") == 1
    assert norn("teardown", "web", "--yes").code == 0
    assert norn("teardown", "api", "--yes").code == 0
    from tests.kubeapi import DEFAULT_CLOUDFLARED_CONFIG

    assert configmap_text(cluster) == DEFAULT_CLOUDFLARED_CONFIG


def test_teardown_deletes_each_object_in_one_guarded_request(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.clear_log()
    assert norn("teardown", "web", "--yes", "--delete-volumes").code == 0
    app_requests = [(r.method, r.path.rsplit("/", 2)[-2]) for r in cluster.requests if "/namespaces/default/" in r.path]
    assert sorted(app_requests) == [
        ("DELETE", "deployments"),
        ("DELETE", "persistentvolumeclaims"),
        ("DELETE", "services"),
    ]
    deletes = [r for r in cluster.requests if r.method == "DELETE"]
    assert all(r.body["preconditions"]["uid"] for r in deletes)


def test_an_object_recreated_by_norn_since_is_still_deleted(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    service = cluster.get_object("services", "default", "web-svc")
    cluster.remove("services", "default", "web-svc")
    service["metadata"].pop("uid")
    cluster.seed(service)  # same name and labels, new uid
    assert norn("teardown", "web", "--yes").code == 0
    assert cluster.get_object("services", "default", "web-svc") is None


def test_status_shows_a_killed_run_as_failed_and_a_live_one_as_running(norn, cluster):
    norn.write_spec(WEB_SPEC)
    process = start_held(norn, cluster, "POST", "/services", "forge", "web", "--output", "json")
    assert json.loads(norn("status", "web", "--output", "json").stdout)["status"] == "forging"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    shown = json.loads(norn("status", "web", "--output", "json").stdout)
    assert shown["status"] == "forge_failed" and "interrupted" in shown["error"]
    assert json.loads(norn("status", "--output", "json").stdout)[0]["status"] == "forge_failed"
