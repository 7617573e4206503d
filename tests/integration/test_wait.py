"""norn forge --wait: waits for the rollout as kubectl judges it, fails fast on a stuck pod, reports why."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.conftest import CRON_SPEC, WEB_SPEC, WEB_STEPS

WAITS = ["wait-rollout", "wait-cloudflared"]


def rolled(replicas: int, ready: int, generation: int = 1, conditions: list | None = None) -> dict:
    """A Deployment status as its controller reports it."""
    return {
        "observedGeneration": generation,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": conditions or [],
    }


def condition(kind: str, status: str, reason: str, message: str) -> dict:
    return {"type": kind, "status": status, "reason": reason, "message": message}


def seed_pod(cluster, waiting: dict | None, name: str = "web-7d4b9-x2x9k") -> None:
    state = {"waiting": waiting} if waiting else {"running": {}}
    cluster.seed({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
        "status": {"phase": "Pending" if waiting else "Running",
                   "containerStatuses": [{"name": "web", "ready": False, "restartCount": 4, "state": state}]},
    })


def seed_event(cluster, pod: str, reason: str, message: str, when: str, count: int = 1) -> None:
    cluster.seed({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{pod}.{reason.lower()}{count}", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": "default"},
        "type": "Warning", "reason": reason, "message": message, "count": count, "lastTimestamp": when,
    })


def failure(run) -> dict:
    return [e for e in run.events() if e["type"] == "forge.failed"][0]["payload"]


def test_waits_through_a_rollout_with_progress_then_succeeds(norn, cluster):
    cluster.auto_rollout = False
    norn.write_spec(WEB_SPEC)
    process = norn.popen("forge", "web", "--wait", "--timeout", "90s", "--output", "json")
    events = []
    for line in process.stdout:
        event = json.loads(line)
        events.append(event)
        payload = event["payload"]
        if event["type"] != "forge.step" or payload["status"] != "running":
            continue
        if payload["step"] == "wait-rollout" and "output" not in payload:
            cluster.set_status("deployments", "default", "web", rolled(2, 1), group="apps")
        elif payload["step"] == "wait-rollout" and payload["output"].startswith("1/2 ready"):
            cluster.set_status("deployments", "default", "web", rolled(2, 2), group="apps")
        elif payload["step"] == "wait-cloudflared" and "output" not in payload:
            cluster.set_status("deployments", "cloudflared", "cloudflared", rolled(1, 1, generation=2), group="apps")
    assert process.wait(timeout=90) == 0, process.stderr.read()

    progress = [e["payload"]["output"] for e in events if e["payload"].get("status") == "running" and "output" in e["payload"]]
    assert "1/2 ready, 1 of 2 updated replicas available" in progress  # the printers add the time, ticking
    done = {e["payload"]["step"]: e["payload"] for e in events if e["payload"].get("status") == "completed"}
    assert list(done) == WEB_STEPS + WAITS
    assert done["wait-rollout"]["output"].startswith("Deployment default/web rolled out: 2/2 ready after ")
    assert done["wait-cloudflared"]["output"].startswith("Deployment cloudflared/cloudflared rolled out: 1/1 ready")
    assert norn.state("web")["status"] == "forged"


def test_a_timeout_fails_with_the_conditions_the_pod_and_its_events(norn, cluster):
    cluster.auto_rollout = False
    seed_pod(cluster, {"reason": "ContainerCreating"})
    seed_event(cluster, "web-7d4b9-x2x9k", "FailedMount", "MountVolume.SetUp failed for volume data", "2026-01-01T00:00:02Z")
    seed_event(cluster, "other-pod", "Killing", "not about this pod", "2026-01-01T00:00:03Z")
    norn.write_spec(WEB_SPEC)
    started = time.monotonic()
    run = norn("forge", "web", "--wait", "--timeout", "2s", "--output", "json")
    assert run.code == 1
    assert time.monotonic() - started < 60
    error = failure(run)
    assert error["step"] == "wait-rollout"
    assert error["error"].splitlines() == [
        "Deployment default/web was not available within 2s: waiting for the Deployment controller to observe the spec",
        "conditions:",
        "  none reported yet",
        "pod web-7d4b9-x2x9k: container web is waiting: ContainerCreating",
        "last events of pod web-7d4b9-x2x9k:",
        "  Warning FailedMount: MountVolume.SetUp failed for volume data",
    ]
    state = norn.state("web")
    assert state["status"] == "forge_failed" and state["error"].startswith("wait-rollout: Deployment default/web was not")
    assert [s["status"] for s in state["steps"]] == ["completed"] * 5 + ["failed"]


def forge_with_status_once_waiting(norn, cluster, status: dict) -> tuple[str, float]:
    """Forge with --wait 5m once the Deployment controller reports ``status``.

    A first forge leaves the app failed at its wait, so the second one goes
    straight to waiting on the status set in between. Returns the second
    run's error and how long it took.
    """
    cluster.auto_rollout = False
    assert norn("forge", "web", "--wait", "--timeout", "1s").code == 1
    cluster.set_status("deployments", "default", "web", status, group="apps")
    started = time.monotonic()
    run = norn("forge", "web", "--wait", "--timeout", "5m", "--output", "json", timeout=90)
    took = time.monotonic() - started
    assert run.code == 1, run.stderr
    assert run.steps() == {**{step: "skipped" for step in WEB_STEPS}, "wait-rollout": "failed"}
    assert norn.state("web")["error"].startswith("wait-rollout: ")
    return failure(run)["error"], took


@pytest.mark.parametrize("reason", ["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull"])
def test_a_stuck_pod_fails_fast_with_its_reason_and_last_events(norn, cluster, reason):
    seed_pod(cluster, {"reason": reason, "message": "back-off 40s restarting failed container"})
    for n in range(7):
        seed_event(cluster, "web-7d4b9-x2x9k", "BackOff", f"back-off {n}", f"2026-01-01T00:00:0{n}Z", count=n + 1)
    norn.write_spec(WEB_SPEC)
    unavailable = condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    error, took = forge_with_status_once_waiting(norn, cluster, rolled(2, 0, conditions=[unavailable]))
    assert took < 60  # not the 5 minutes
    lines = error.splitlines()
    assert lines[0] == f"Deployment default/web will not become available: pod web-7d4b9-x2x9k is in {reason}"
    assert lines[1:3] == ["conditions:", "  Available=False MinimumReplicasUnavailable: Deployment does not have minimum availability."]
    assert lines[3] == f"pod web-7d4b9-x2x9k: container web is {reason}: back-off 40s restarting failed container (4 restarts)"
    assert lines[4] == "last events of pod web-7d4b9-x2x9k:"
    assert lines[5:-1] == [f"  Warning BackOff: back-off {n} (x{n + 1})" for n in range(2, 7)]
    assert lines[-1].startswith("hint: ")


def test_progress_deadline_exceeded_fails_fast(norn, cluster):
    norn.write_spec(WEB_SPEC)
    stuck = condition("Progressing", "False", "ProgressDeadlineExceeded", 'ReplicaSet "web-7d4b9" has timed out progressing.')
    error, took = forge_with_status_once_waiting(norn, cluster, {**rolled(2, 1), "updatedReplicas": 1, "conditions": [stuck]})
    assert took < 60
    assert error.splitlines()[:3] == [
        "Deployment default/web: deployment 'web' exceeded its progress deadline",
        "conditions:",
        '  Progressing=False ProgressDeadlineExceeded: ReplicaSet "web-7d4b9" has timed out progressing.',
    ]


def test_a_failed_wait_resumes_with_the_wait(norn, cluster):
    cluster.auto_rollout = False
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web", "--wait", "--timeout", "1s").code == 1
    cluster.set_status("deployments", "default", "web", rolled(2, 2), group="apps")
    cluster.set_status("deployments", "cloudflared", "cloudflared", rolled(1, 1, generation=2), group="apps")
    run = norn("forge", "web", "--wait", "--output", "json")
    assert run.code == 0, run.stderr
    assert run.steps() == {**{step: "skipped" for step in WEB_STEPS}, "wait-rollout": "completed", "wait-cloudflared": "completed"}
    assert norn.state("web")["status"] == "forged"


def test_a_cron_app_has_nothing_to_wait_for(norn, cluster):
    norn.write_spec(CRON_SPEC)
    run = norn("forge", "nightly", "--wait", "--output", "json")
    assert run.code == 0
    skipped = {e["payload"]["step"]: e["payload"]["output"] for e in run.events() if e["payload"].get("status") == "skipped"}
    assert skipped["wait-rollout"] == "a CronJob has nothing to wait for: its Jobs start on schedule"


def test_a_bad_timeout_is_a_usage_error(norn, cluster):
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--wait", "--timeout", "soon")
    assert run.code == 2 and "--timeout 'soon' is not a duration" in run.stderr
    assert cluster.requests == []
