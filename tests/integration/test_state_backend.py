"""State a team and CI share: the kubernetes backend through the real CLI, and `norn state migrate`.

A "machine" is its own HOME and state folder and its own norn processes; all
machines reach the same stand-in cluster through the same kubeconfig.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from norn.store.lease import parse_time
from norn.store.local import LocalStore
from tests.integration.conftest import (
    CRON_SPEC,
    WEB_SPEC,
    WEB_STEPS,
    Norn,
    unreachable_kubeconfig,
)
from tests.kubeapi import KubeAPI, seed_cloudflared

KUBERNETES = {"NORN_STATE_BACKEND": "kubernetes"}
APP_OBJECTS = ("/deployments", "/services", "/persistentvolumeclaims", "/configmaps", "/cronjobs")


@dataclass
class Machine:
    norn: Norn
    home: Path

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        state_dir = self.home / ".local" / "share" / "norn" / "state"
        return {"HOME": str(self.home), "NORN_STATE_DIR": str(state_dir), **KUBERNETES, **extra}

    def __call__(self, *args: str, **extra: str):
        return self.norn(*args, **self.env(extra))

    def popen(self, *args: str, **extra: str):
        return self.norn.popen(*args, **self.env(extra))

    def files(self) -> list[Path]:
        return [p for p in self.home.rglob("*") if p.is_file()]


@pytest.fixture
def machine(norn, tmp_path):
    def make(name: str) -> Machine:
        home = tmp_path / name
        home.mkdir()
        return Machine(norn, home)

    return make


def stored(server: KubeAPI, app: str, namespace: str = "default") -> dict | None:
    secret = server.get_object("secrets", namespace, f"norn-state-{app}")
    return json.loads(base64.b64decode(secret["data"]["state.json"])) if secret else None


def lease(server: KubeAPI, app: str = "web") -> dict:
    return server.get_object("leases", "default", f"norn-lock-{app}", group="coordination.k8s.io")


def wait_for_step(server: KubeAPI, step: str, timeout: float = 20) -> None:
    """Until the state in the cluster says ``step`` is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = stored(server, "web") or {"steps": []}
        if any(s["step"] == step and s["status"] == "running" for s in state["steps"]):
            return
        time.sleep(0.05)
    pytest.fail(f"{step} never started")


def test_forge_keeps_its_state_in_the_cluster_and_no_local_file(norn, cluster, machine):
    laptop = machine("laptop")
    norn.write_spec(WEB_SPEC)
    run = laptop("forge", "web")
    assert run.code == 0, run.stderr
    assert laptop.files() == []
    state = stored(cluster, "web")
    assert state["status"] == "forged" and [s["step"] for s in state["steps"]] == WEB_STEPS
    assert "holderIdentity" not in lease(cluster)["spec"]  # released
    shown = json.loads(laptop("status", "web", "--output", "json").stdout)
    assert shown["status"] == "forged" and shown["resources"]["service"] == "web-svc"
    by_flag = norn("status", "--state-backend", "kubernetes", "--output", "json")
    assert [s["app"] for s in json.loads(by_flag.stdout)] == ["web"]
    assert json.loads(norn("status", "--output", "json").stdout) == []  # the local backend is another place


def test_a_failed_forge_resumes_on_another_machine(norn, cluster, machine):
    ci, laptop = machine("ci"), machine("laptop")
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", status=422, times=None)  # fails at once, no retries
    assert ci("forge", "web").code == 1
    assert stored(cluster, "web")["status"] == "forge_failed"
    cluster.clear_faults()
    cluster.clear_log()
    run = laptop("forge", "web", "--output", "json")
    assert run.code == 0, run.stderr
    assert run.steps()["create-deployment"] == "skipped"
    assert all(run.steps()[step] == "completed" for step in WEB_STEPS[1:])
    assert not [r for r in cluster.writes() if "/namespaces/default/deployments" in r.path]
    assert stored(cluster, "web")["status"] == "forged"
    assert ci.files() == [] and laptop.files() == []


def test_a_second_machine_exits_3_until_a_killed_holders_lease_expires(norn, cluster, machine):
    ci, laptop = machine("ci"), machine("laptop")
    short = {"NORN_LOCK_SECONDS": "6"}
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", delay=30)
    holder = ci.popen("forge", "web", **short)
    wait_for_step(cluster, "create-service")

    busy = laptop("forge", "web", **short)
    assert busy.code == 3
    assert f":{holder.pid} since 20" in busy.stderr and "operation already in progress" in busy.stderr

    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    spec = lease(cluster)["spec"]
    assert spec["holderIdentity"].endswith(f":{holder.pid}")
    expires = parse_time(spec["renewTime"]) + timedelta(seconds=spec["leaseDurationSeconds"])
    still_busy = laptop("forge", "web", **short)
    assert time.time() < expires.timestamp(), "the check ran too late to show the lock holds until it expires"
    assert still_busy.code == 3

    time.sleep(max(0.0, expires.timestamp() - time.time()) + 0.2)
    shown = json.loads(laptop("status", "web", "--output", "json").stdout)
    assert shown["status"] == "forge_failed" and "interrupted" in shown["error"]  # its holder is gone
    cluster.clear_faults()
    run = laptop("forge", "web", "--output", "json", **short)
    assert run.code == 0, run.stderr
    assert run.steps()["create-deployment"] == "skipped" and run.steps()["create-service"] == "completed"
    assert lease(cluster)["spec"]["leaseTransitions"] == 1


def test_a_run_longer_than_its_lease_keeps_renewing_it(norn, cluster, machine):
    ci, laptop = machine("ci"), machine("laptop")
    short = {"NORN_LOCK_SECONDS": "1"}
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", delay=6)
    holder = ci.popen("forge", "web", **short)
    wait_for_step(cluster, "create-service")
    acquired = parse_time(lease(cluster)["spec"]["acquireTime"]).timestamp()
    assert json.loads(laptop("status", "web", "--output", "json").stdout)["status"] == "forging"  # live
    attempts = []
    while time.time() < acquired + 4:  # four lease durations, well before the holder is done
        attempts.append(laptop("forge", "web", **short).code)
        time.sleep(0.3)
    assert holder.poll() is None and attempts and set(attempts) == {3}
    assert holder.wait(timeout=30) == 0, holder.stderr.read()
    again = laptop("forge", "web", **short)
    assert again.code == 0 and "forged and up to date" in again.stdout


def test_status_lists_every_app_from_one_list_call(norn, cluster, machine):
    ci, laptop, teammate = machine("ci"), machine("laptop"), machine("teammate")
    norn.write_spec(WEB_SPEC)
    norn.write_spec(CRON_SPEC)
    assert ci("forge", "web").code == 0
    assert laptop("forge", "nightly").code == 0
    cluster.clear_log()
    listed = json.loads(teammate("status", "--output", "json").stdout)
    assert [(s["app"], s["status"]) for s in listed] == [("nightly", "forged"), ("web", "forged")]
    (request,) = cluster.requests
    assert (request.method, request.path) == ("GET", "/api/v1/namespaces/default/secrets")
    assert "norn.dev/app" in request.query["labelSelector"]
    text = teammate("status").stdout
    assert "nightly" in text and "web" in text


def normalized(document: dict) -> dict:
    """A state document without what differs from run to run: times, durations, uids."""
    text = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "<time>", json.dumps(document))
    document = json.loads(text)
    for step in document["steps"]:
        step["durationMs"] = None
    document["resources"]["createdUids"] = sorted(document["resources"].get("createdUids", {}))
    return document


def test_the_secret_holds_what_the_local_file_holds_and_no_value_of_the_app(norn, cluster, machine, tmp_path):
    values = ["verbose-8c1f", "https://key-5d2e@sentry.example/1", "api-key-93b7", "postgres://norn@postgres"]
    spec = WEB_SPEC.replace("LOG_LEVEL: info", f"LOG_LEVEL: {values[0]}\n  SENTRY_DSN: {values[1]}")
    norn.write_spec(spec)
    api_key = base64.b64encode(values[2].encode()).decode()
    for server in (cluster,):
        server.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-secrets"}, "data": {"API_KEY": api_key}})
    assert machine("ci")("forge", "web").code == 0

    with KubeAPI() as elsewhere:  # the same forge with local state, on a cluster of its own
        seed_cloudflared(elsewhere)
        elsewhere.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-secrets"}, "data": {"API_KEY": api_key}})
        kubeconfig = elsewhere.write_kubeconfig(tmp_path / "elsewhere" / "kubeconfig")
        run = norn("forge", "web", KUBECONFIG=str(kubeconfig), CLOUDFLARED_STANDIN_STATE=str(tmp_path / "elsewhere" / "cf.json"))
        assert run.code == 0, run.stderr
    local = json.loads((norn.state_dir / "web.json").read_text())

    secret = cluster.get_object("secrets", "default", "norn-state-web")
    assert list(secret["data"]) == ["state.json"]
    assert normalized(stored(cluster, "web")) == normalized(local)
    everything = json.dumps(secret) + base64.b64decode(secret["data"]["state.json"]).decode()
    for value in values + [api_key]:
        assert value not in everything


@pytest.mark.parametrize(
    "method, path, says",
    [
        ("GET", "/secrets/norn-state-web", "get secrets"),
        ("POST", "/secrets", "create secrets"),
        ("PUT", "/secrets/norn-state-web", "update secrets"),
        ("POST", "/leases", "create leases.coordination.k8s.io"),
    ],
)
def test_a_missing_permission_fails_before_any_step_naming_what_to_grant(norn, cluster, machine, method, path, says):
    norn.write_spec(WEB_SPEC)
    cluster.inject(method=method, path_contains=path, status=403, times=None)
    run = machine("ci")("forge", "web", "--output", "json")
    assert run.code == 2
    assert f"error: not allowed to {says} in namespace default" in run.stderr
    assert "user standin" in run.stderr and "hint: grant the verb" in run.stderr and "Traceback" not in run.stderr
    assert not [e for e in run.events() if e["type"] == "forge.step"]
    assert not [r for r in cluster.requests if any(kind in r.path for kind in APP_OBJECTS)]
    assert stored(cluster, "web") is None


def test_a_stopped_run_frees_its_lease_at_once(norn, cluster, machine):
    ci, laptop = machine("ci"), machine("laptop")
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", delay=30)
    holder = ci.popen("forge", "web")  # a Lease of the default 60 s
    wait_for_step(cluster, "create-service")
    holder.send_signal(signal.SIGTERM)
    assert holder.wait(timeout=20) == 130
    assert "holderIdentity" not in lease(cluster)["spec"]
    assert stored(cluster, "web")["steps"][-1]["output"] == "interrupted"
    run = laptop("forge", "web", "--output", "json")
    assert run.code == 0, run.stderr
    assert run.steps()["create-deployment"] == "skipped"


def test_an_unreachable_api_fails_fast_naming_it(norn, machine, tmp_path):
    kubeconfig, port = unreachable_kubeconfig(tmp_path / "down.kubeconfig")
    norn.write_spec(WEB_SPEC)
    for args in (["forge", "web"], ["status"]):
        started = time.monotonic()
        run = machine(args[0])(*args, KUBECONFIG=str(kubeconfig))
        assert time.monotonic() - started < 10
        assert run.code == 1 and f"cannot reach the Kubernetes API at http://127.0.0.1:{port}" in run.stderr


def test_teardown_finds_the_state_in_the_namespace_of_the_app(norn, cluster, machine):
    ci = machine("ci")
    cluster.add_namespace("staging")
    norn.write_spec(WEB_SPEC)
    assert ci("forge", "web", "--namespace", "staging").code == 0
    assert stored(cluster, "web", "staging")["status"] == "forged" and stored(cluster, "web") is None
    assert ci("teardown", "web", "--namespace", "staging", "--yes").code == 0
    assert stored(cluster, "web", "staging")["status"] == "unforged"


def test_migrate_copies_state_both_ways_and_never_over_a_newer_record(norn, cluster, machine):
    norn.write_spec(WEB_SPEC)
    norn.write_spec(CRON_SPEC)
    assert norn("forge", "web").code == 0 and norn("forge", "nightly").code == 0

    run = norn("state", "migrate", "--to", "kubernetes")
    assert run.code == 0, run.stderr
    web_file = norn.state_dir / "web.json"
    assert run.stdout.splitlines() == [
        f"copied nightly: {norn.state_dir / 'nightly.json'} -> Secret default/norn-state-nightly (forged)",
        f"copied web: {web_file} -> Secret default/norn-state-web (forged)",
        "copied 2 of 2 apps",
    ]
    # The copy is the record as it was; the local file now only says where the app went.
    moved = json.loads(web_file.read_text())
    assert (moved["status"], moved.pop("movedTo")) == ("moved", "kubernetes")
    assert stored(cluster, "web") == {**moved, "status": "forged"}
    again = norn("state", "migrate", "--to", "kubernetes")
    assert again.code == 0 and f"up to date web: {web_file} says it moved to the kubernetes backend" in again.stdout

    teammate = machine("teammate")
    assert teammate("teardown", "web", "--yes").code == 0
    assert norn("state", "migrate", "--to", "kubernetes", "web").code == 0  # moved: nothing to copy over it
    assert stored(cluster, "web")["status"] == "unforged"
    # A newer record is never overwritten: test_cli_conventions::test_migrate_still_refuses_to_overwrite_a_newer_record

    back = norn("state", "migrate", "--to", "local", "web", "--output", "json")
    assert back.code == 0, back.stderr
    assert json.loads(back.stdout) == [
        {"app": "web", "result": "copied", "detail": f"Secret default/norn-state-web -> {web_file} (unforged)"}
    ]
    assert json.loads(web_file.read_text())["status"] == "unforged"

    missing = norn("state", "migrate", "--to", "local", "ghost")
    assert missing.code == 1 and "missing ghost: no state in Secret default/norn-state-ghost" in missing.stdout


def test_migrate_puts_each_record_where_forge_will_look_for_it(norn, cluster, machine):
    cluster.add_namespace("staging")
    cluster.add_namespace("norn")
    norn.write_spec(WEB_SPEC)
    norn.write_spec(CRON_SPEC)
    assert norn("forge", "web", "--namespace", "staging").code == 0
    assert norn("forge", "nightly").code == 0
    assert norn("state", "migrate", "--to", "kubernetes", "web").code == 0
    assert stored(cluster, "web", "staging")["status"] == "forged" and stored(cluster, "web") is None
    resumed = machine("laptop")("forge", "web", "--namespace", "staging")
    assert resumed.code == 0 and "forged and up to date" in resumed.stdout

    assert norn("state", "migrate", "--to", "kubernetes", "nightly", NORN_STATE_NAMESPACE="norn").code == 0
    assert stored(cluster, "nightly", "norn")["status"] == "forged" and stored(cluster, "nightly") is None


def test_migrate_skips_an_app_a_run_holds(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    with LocalStore(norn.state_dir).lock("web"):
        run = norn("state", "migrate", "--to", "kubernetes")
    assert run.code == 1
    assert run.stdout.startswith("failed web: web: operation already in progress (pid ")
    assert stored(cluster, "web") is None


def test_migrate_with_nothing_to_copy(norn, cluster):
    run = norn("state", "migrate", "--to", "kubernetes")
    assert run.code == 0 and run.stdout.startswith("nothing to migrate: no state in ")


@pytest.mark.parametrize(
    "args, env, says",
    [
        (["status"], {"NORN_STATE_BACKEND": "s3"}, "NORN_STATE_BACKEND='s3'"),
        (["status"], {"NORN_LOCK_SECONDS": "0"}, "NORN_LOCK_SECONDS='0'"),
        (["status", "--state-backend", "s3"], {}, "s3"),
        (["state", "migrate"], {}, "--to"),
    ],
)
def test_bad_backend_settings_exit_2(norn, args, env, says):
    run = norn(*args, **env)
    assert run.code == 2 and says in run.stderr
