"""Many apps in one run: `norn forge APP APP ...`, `norn forge --all`, `norn teardown APP APP ...`.

Each app runs its usual steps in its own thread; the steps that touch the shared tunnel are gathered,
so the run reads and writes the cloudflared ConfigMap once (more only on a 409 Conflict, which
re-reads and re-applies every edit) and restarts cloudflared once. Counted from the stand-in's log.

What the real API server does that this relies on: a PUT carries the resourceVersion read, and the
server refuses it with 409 Conflict when the object changed since (kubernetes/apiserver
pkg/registry/generic/registry/store.go, (*Store).Update: apierrors.NewConflict with
OptimisticLockErrorMsg), which is why a conflict re-reads and re-applies every gathered edit; one
strategic merge patch of the pod template's kubectl.kubernetes.io/restartedAt annotation, as
`kubectl rollout restart` makes it (kubernetes/kubectl pkg/polymorphichelpers/objectrestarter.go,
defaultObjectRestarter), starts one rollout however many rules changed.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from norn.cloudflare import ingress
from tests.integration.conftest import configmap_text
from tests.kubeapi.cloudflared import DEFAULT_CLOUDFLARED_CONFIG

CONFIGMAP = "/api/v1/namespaces/cloudflared/configmaps/cloudflared"
RESTART = "/apis/apps/v1/namespaces/cloudflared/deployments/cloudflared"

APP_SPEC = """\
app: {app}
role: webserver
port: 8080
healthcheck: /health
hosts:
  external: {app}.example.com
  internal: {app}-svc
"""


@pytest.fixture(autouse=True)
def _no_retry_budget(monkeypatch):
    """The faults here stand for a step that fails; retrying them for 30 s would only slow the suite."""
    monkeypatch.setenv("NORN_API_RETRY_SECONDS", "0")


def write_apps(norn, count: int, prefix: str = "app") -> list[str]:
    apps = [f"{prefix}-{n:02d}" for n in range(count)]
    for app in apps:
        norn.write_spec(APP_SPEC.format(app=app), app)
    return apps


def counts(cluster, path: str) -> dict[str, int]:
    """Requests to ``path`` by method, from the stand-in's log."""
    found: dict[str, int] = {}
    for request in cluster.requests:
        if request.path == path:
            found[request.method] = found.get(request.method, 0) + 1
    return found


def by_method(cluster) -> dict[str, int]:
    """Every request of the log, counted by method, and the discovery requests among them."""
    found: dict[str, int] = {}
    for request in cluster.requests:
        found[request.method] = found.get(request.method, 0) + 1
    found["discovery"] = sum(1 for r in cluster.requests if r.path in ("/api", "/apis") or r.path.count("/") <= 3)
    return found


def hostnames(cluster) -> list[str]:
    import yaml

    return [rule.get("hostname") for rule in yaml.safe_load(configmap_text(cluster))["ingress"]]


def test_fifty_apps_forged_in_one_run_write_the_config_once_and_restart_cloudflared_once(
        norn, cluster, cloudflared_bin):
    apps = write_apps(norn, 50)
    run = norn("forge", *apps, "--output", "json", timeout=600)
    assert run.code == 0, run.stderr
    assert counts(cluster, CONFIGMAP) == {"GET": 1, "PUT": 1}
    assert counts(cluster, RESTART) == {"PATCH": 1}
    # docs/performance.md's request-count table: each app its Deployment and Service; the Namespace checked
    # once for all (the run's one connection); one ConfigMap read and write and one restart for all (50 runs
    # of one app: 300 requests, 50 restarts)
    assert by_method(cluster) == {"GET": 2, "POST": 100, "PUT": 1, "PATCH": 1, "discovery": 0}
    assert counts(cluster, "/api/v1/namespaces/default") == {"GET": 1}
    assert sorted(hostnames(cluster)[1:-1]) == [f"{app}.example.com" for app in apps]
    for app in apps:
        assert cluster.get_object("deployments", "default", app, group="apps") is not None
        assert norn.state(app)["status"] == "forged"
        assert norn.state(app)["resources"].get("cloudflaredRestartPending") in (None, False)
    events = run.events()
    assert all(event["app"] in apps for event in events)
    for app in apps:
        own = [e for e in events if e["app"] == app]
        assert own[0]["type"] == "forge.queued" and own[-1]["type"] == "forge.completed"
        steps = {e["payload"]["step"]: e["payload"] for e in own if e["type"] == "forge.step"}
        assert [steps[name]["status"] for name in steps] == ["completed"] * 5
        assert "once for the 50 apps" in steps["restart-cloudflared"]["output"]
    calls = cloudflared_bin.calls()
    assert sum(1 for call in calls if "route" in call) == 50  # each app's route, in parallel
    assert sum(1 for call in calls if "validate" in call) == 1  # the combined config, checked once
    assert "forge of 50 apps: 50 done (exit 0)" in run.stderr  # stdout carries NDJSON only


def test_a_conflict_rereads_and_reapplies_every_edit(norn, cluster):
    apps = write_apps(norn, 5)
    cluster.inject(method="PUT", path_contains="/configmaps/cloudflared", status=409)
    run = norn("forge", *apps, "--output", "json")
    assert run.code == 0, run.stderr
    assert counts(cluster, CONFIGMAP) == {"GET": 2, "PUT": 2}
    assert counts(cluster, RESTART) == {"PATCH": 1}
    assert sorted(hostnames(cluster)[1:-1]) == [f"{app}.example.com" for app in apps]


def test_one_app_failing_does_not_stop_the_others_and_the_exit_code_is_the_worst(norn, cluster):
    apps = write_apps(norn, 4)
    cluster.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app-02-svc", "namespace": "default"},
                  "spec": {"ports": [{"port": 80}], "selector": {"app": "someone-else"}}})
    run = norn("forge", *apps)
    assert run.code == 1, run.stderr
    assert norn.state("app-02")["status"] == "forge_failed"
    assert [norn.state(app)["status"] for app in apps if app != "app-02"] == ["forged"] * 3
    assert counts(cluster, CONFIGMAP) == {"GET": 1, "PUT": 1}
    assert counts(cluster, RESTART) == {"PATCH": 1}
    assert "app-02.example.com" not in hostnames(cluster)
    assert "forge of 4 apps: 3 done, 1 failed (exit 1)" in run.stdout
    assert any(line.startswith("forge app-02: failed at create-service:") for line in run.stdout.splitlines())


def test_an_edit_one_app_cannot_make_fails_that_app_only(norn, cluster):
    """A hostname the config routes elsewhere (IngressError) fails its app; the others' rules are written."""
    apps = write_apps(norn, 3)
    elsewhere = "  - hostname: app-01.example.com\n    service: http://elsewhere:80\n"
    text = DEFAULT_CLOUDFLARED_CONFIG.replace("  # everything else", elsewhere + "  # everything else")
    configmap = cluster.get_object("configmaps", "cloudflared", "cloudflared")
    configmap["data"]["config.yaml"] = text
    cluster.seed(configmap)
    run = norn("forge", *apps, "--output", "json")
    assert run.code == 1
    failed = [e for e in run.events() if e["type"] == "forge.failed"]
    assert [(e["app"], e["payload"]["step"]) for e in failed] == [("app-01", "patch-cloudflared")]
    assert "app-01.example.com is already routed to http://elsewhere:80" in failed[0]["payload"]["error"]
    assert counts(cluster, CONFIGMAP) == {"GET": 1, "PUT": 1}
    assert counts(cluster, RESTART) == {"PATCH": 1}
    assert sorted(hostnames(cluster)[1:-1]) == [f"app-0{n}.example.com" for n in range(3)]
    assert ingress.find_rule(configmap_text(cluster), "app-01.example.com") == "http://elsewhere:80"


def test_a_failed_restart_fails_every_app_that_needed_it_and_a_rerun_restarts_once(norn, cluster):
    apps = write_apps(norn, 3)
    cluster.inject(method="PATCH", path_contains="/deployments/cloudflared", status=500, times=None)
    run = norn("forge", *apps, "--output", "json")
    assert run.code == 1
    assert counts(cluster, RESTART) == {"PATCH": 1}
    for app in apps:
        assert norn.state(app)["status"] == "forge_failed"
        assert norn.state(app)["steps"][-1]["step"] == "restart-cloudflared"
    cluster.clear_faults()
    cluster.clear_log()
    rerun = norn("forge", *apps, "--output", "json")
    assert rerun.code == 0, rerun.stderr
    assert counts(cluster, RESTART) == {"PATCH": 1}
    assert CONFIGMAP not in {r.path for r in cluster.requests}
    assert [norn.state(app)["status"] for app in apps] == ["forged"] * 3


def test_all_forges_every_infraspec_under_the_apps_dir_and_leaves_functions_out(norn, cluster):
    apps = write_apps(norn, 3)
    norn.write_spec("app: hook\nrole: function\n", "hook")
    run = norn("forge", "--all", "--output", "json")
    assert run.code == 0, run.stderr
    assert sorted({e["app"] for e in run.events()}) == apps
    assert "note: left out hook" in run.stderr
    assert counts(cluster, RESTART) == {"PATCH": 1}


def test_all_without_infraspecs_says_where_it_looked(norn, cluster):
    run = norn("forge", "--all")
    assert run.code == 2
    assert run.stderr.splitlines() == [f"error: --all: no infraspec found at {norn.apps_dir}/*/infraspec.yaml",
                                       "hint: set NORN_APPS_DIR to the folder holding the app folders"]
    assert cluster.requests == []


def test_every_bad_app_is_named_before_anything_runs(norn, cluster):
    write_apps(norn, 2)
    norn.write_spec("app: broken\nrole: webserver\nport: nope\n", "broken")
    run = norn("forge", "app-00", "nosuch", "broken", "app-01")
    assert run.code == 2
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "'nosuch'" in errors[0] and "broken" in errors[1], run.stderr
    assert cluster.requests == [] and not norn.state_dir.exists()
    twice = norn("forge", "app-00", "app-01", "app-00")
    assert twice.code == 2 and "error: app-00 is given 2 times" in twice.stderr
    assert cluster.requests == []


@pytest.mark.parametrize("args", [("--dry-run",), ("--server-dry-run",), ("--spec", "x.yaml")])
def test_one_app_flags_are_refused_with_several_apps(norn, cluster, args):
    write_apps(norn, 2)
    run = norn("forge", "app-00", "app-01", *args)
    assert run.code == 2
    assert run.stderr.startswith(f"error: {args[0]} works on one app at a time"), run.stderr
    assert cluster.requests == []


def test_norn_parallel_is_checked_like_the_other_settings(norn, cluster):
    write_apps(norn, 2)
    run = norn("forge", "app-00", "app-01", NORN_PARALLEL="0")
    assert run.code == 2
    assert run.stderr.splitlines()[0] == "error: NORN_PARALLEL='0' is not a number of apps"
    assert cluster.requests == []


def test_parallel_one_still_gathers_the_edits_and_the_restart(norn, cluster):
    """An app waiting at the shared point gives its place up, so one place is enough for one write."""
    apps = write_apps(norn, 4)
    run = norn("forge", *apps, NORN_PARALLEL="1")
    assert run.code == 0, run.stderr
    assert counts(cluster, CONFIGMAP) == {"GET": 1, "PUT": 1}
    assert counts(cluster, RESTART) == {"PATCH": 1}


def test_teardown_of_many_writes_the_config_once_and_restarts_once(norn, cluster):
    apps = write_apps(norn, 50)
    assert norn("forge", *apps, timeout=600).code == 0
    cluster.clear_log()
    run = norn("teardown", *apps, "--yes", "--output", "json", timeout=600)
    assert run.code == 0, run.stderr
    assert counts(cluster, CONFIGMAP) == {"GET": 1, "PUT": 1}
    assert counts(cluster, RESTART) == {"PATCH": 1}
    # docs/performance.md: each app's Service and Deployment deleted; one config edit and one restart for all
    assert by_method(cluster) == {"GET": 1, "PUT": 1, "PATCH": 1, "DELETE": 100, "discovery": 0}
    assert configmap_text(cluster) == DEFAULT_CLOUDFLARED_CONFIG
    assert {e["app"] for e in run.events()} == set(apps)
    assert [norn.state(app)["status"] for app in apps] == ["unforged"] * 50


def test_two_many_app_runs_sharing_an_app_exit_3_for_that_app_only(norn, cluster):
    """The first run holds its apps' locks while its config read is held; the second finds one of them taken."""
    first_apps, second_apps = write_apps(norn, 3, "one"), write_apps(norn, 2, "two")
    cluster.inject(method="GET", path_contains="/configmaps/cloudflared", delay=8)
    first = norn.popen("forge", *first_apps, "--output", "json")
    while not cluster.count("GET", "/configmaps/cloudflared") and first.poll() is None:
        time.sleep(0.05)
    second = norn("forge", "one-01", *second_apps)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert second.code == 3, second.stderr
    assert "forge of 3 apps: 2 done, 1 busy (exit 3)" in second.stdout
    assert [norn.state(app)["status"] for app in first_apps + second_apps] == ["forged"] * 5
    assert sorted(hostnames(cluster)[1:-1]) == sorted(f"{app}.example.com" for app in first_apps + second_apps)


def test_one_app_keeps_the_single_app_run(norn, cluster):
    """One app named: the run of one app, its requests and its output, unchanged (test_round_trips.py)."""
    write_apps(norn, 1)
    run = norn("forge", "app-00")
    assert run.code == 0, run.stderr
    assert "forge of" not in run.stdout
    assert counts(cluster, CONFIGMAP) == {"GET": 1, "PUT": 1}
    assert counts(cluster, RESTART) == {"PATCH": 1}


def test_an_interrupted_run_stops_each_app_at_its_next_shared_point_and_a_rerun_resumes(norn, cluster):
    """SIGINT while the gathered config write is in flight: the write is kept, then every app stops before
    the restart, recorded as interrupted with its lock freed; the rerun sends only the restart."""
    apps = write_apps(norn, 3)
    cluster.inject(method="PUT", path_contains="/configmaps/cloudflared", delay=3)
    process = norn.popen("forge", *apps, "--output", "json")
    while not cluster.count("PUT", "/configmaps/cloudflared") and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "forge of 3 apps: 3 interrupted (exit 130)" in err
    assert counts(cluster, RESTART) == {}
    for app in apps:
        state = norn.state(app)
        assert state["status"] == "forge_failed"
        assert state["steps"][-1] == {**state["steps"][-1], "step": "restart-cloudflared", "output": "interrupted"}
    cluster.clear_faults()
    cluster.clear_log()
    rerun = norn("forge", *apps)
    assert rerun.code == 0, rerun.stderr
    assert counts(cluster, RESTART) == {"PATCH": 1} and counts(cluster, CONFIGMAP) == {}


def test_many_apps_with_the_state_in_the_cluster(norn, cluster):
    """The kubernetes backend: each app's own Lease and state Secret, taken and written from its own thread."""
    apps = write_apps(norn, 5)
    run = norn("forge", *apps, "--output", "json", NORN_STATE_BACKEND="kubernetes")
    assert run.code == 0, run.stderr
    assert counts(cluster, RESTART) == {"PATCH": 1} and counts(cluster, CONFIGMAP) == {"GET": 1, "PUT": 1}
    status = norn("status", "--output", "json", NORN_STATE_BACKEND="kubernetes")
    assert sorted((row["app"], row["status"]) for row in json.loads(status.stdout)) == [(app, "forged") for app in apps]
    down = norn("teardown", *apps, "--yes", NORN_STATE_BACKEND="kubernetes")
    assert down.code == 0, down.stderr
    assert configmap_text(cluster) == DEFAULT_CLOUDFLARED_CONFIG


def test_updates_of_many_apps_replace_their_rules_in_one_write(norn, cluster):
    """An in-place update's update-cloudflared is gathered like a forge's patch-cloudflared."""
    apps = write_apps(norn, 3)
    assert norn("forge", *apps).code == 0
    for app in apps[:2]:
        norn.write_spec(APP_SPEC.format(app=app).replace(f"{app}.example.com", f"{app}-new.example.com"), app)
    cluster.clear_log()
    run = norn("forge", *apps, "--output", "json")
    assert run.code == 0, run.stderr
    # One read and one write for the edit; then each renamed app's remove-replaced reads the config once more,
    # to keep an old CNAME that a rule not norn's still routes (test_update_foreign_rules.py).
    assert counts(cluster, CONFIGMAP) == {"GET": 3, "PUT": 1}
    assert counts(cluster, RESTART) == {"PATCH": 1}
    assert sorted(hostnames(cluster)[1:-1]) == ["app-00-new.example.com", "app-01-new.example.com", "app-02.example.com"]
    assert "app-02 is forged and up to date" in run.stderr


@pytest.mark.parametrize("args, words", [
    (("teardown", "app-00", "app-01", "--dry-run"), "error: --dry-run works on one app at a time"),
    (("teardown", "app-00", "app-01", "app-00", "--yes"), "error: app-00 is given 2 times"),
    (("forge", "app-00", "--all"), "error: name the apps to forge, or pass --all, not both"),
])
def test_many_app_usage_errors_exit_2_and_change_nothing(norn, cluster, args, words):
    write_apps(norn, 2)
    run = norn(*args)
    assert run.code == 2
    assert run.stderr.startswith(words), run.stderr
    assert cluster.requests == [] and not norn.state_dir.exists()


def test_a_force_reforge_of_many_gathers_its_teardown_and_its_forge(norn, cluster):
    """Each app's teardown then forge, in one locked run: one write and one restart for each half, for all apps."""
    apps = write_apps(norn, 4)
    assert norn("forge", *apps).code == 0
    cluster.clear_log()
    cluster.inject(method="DELETE", path_contains="/deployments/app-03", delay=2)  # app-03 comes last to its forge
    run = norn("forge", *apps, "--force", "--yes", "--output", "json")
    assert run.code == 0, run.stderr
    assert counts(cluster, CONFIGMAP) == {"GET": 2, "PUT": 2}
    assert counts(cluster, RESTART) == {"PATCH": 2}
    assert sorted(hostnames(cluster)[1:-1]) == [f"{app}.example.com" for app in apps]
