"""Transient and permanent API failures, an unreachable API, signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.integration.conftest import (
    WEB_SPEC,
    app_objects,
    configmap_text,
    start_held,
    unreachable_kubeconfig,
)


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503},
        {"status": 429, "retry_after": 1},
        {"status": 500},
        {"status": 502},
        {"status": 504},
        {"drop": True},
    ],
)
def test_transient_failures_are_retried_and_counted(norn, cluster, fault):
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", times=2, **fault)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 0, run.stderr
    service = [e["payload"] for e in run.events() if e["payload"].get("step") == "create-service"][-1]
    assert service["status"] == "completed"
    assert "after 2 retries" in service["output"]
    assert cluster.count("POST", "/services") == 3


def test_retry_after_is_honoured(norn, cluster):
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", status=429, retry_after=2)
    started = time.monotonic()
    assert norn("forge", "web").code == 0
    posts = [r for r in cluster.requests if r.method == "POST" and "/services" in r.path]
    assert len(posts) == 2
    assert time.monotonic() - started >= 2


def test_a_timed_out_request_is_retried(norn, cluster):
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="PATCH", path_contains="/deployments/cloudflared", delay=3)
    run = norn("forge", "web", "--output", "json", NORN_API_TIMEOUT="1")
    assert run.code == 0, run.stderr
    restart = [e["payload"] for e in run.events() if e["payload"].get("step") == "restart-cloudflared"][-1]
    assert "after 1 retry" in restart["output"]


def test_persistent_transient_failure_gives_up_within_the_budget(norn, cluster):
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", status=503, times=None)
    started = time.monotonic()
    run = norn("forge", "web", "--output", "json", NORN_API_RETRY_SECONDS="2")
    assert run.code == 1
    assert time.monotonic() - started < 15
    failed = [e for e in run.events() if e["type"] == "forge.failed"][0]["payload"]
    assert failed["step"] == "create-service"
    assert "HTTP 503" in failed["error"] and "gave up after" in failed["error"]
    cluster.clear_faults()
    assert norn("forge", "web").code == 0


@pytest.mark.parametrize("status", [400, 422, 403, 401])
def test_permanent_failures_fail_at_once_with_the_api_message(norn, cluster, status):
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", status=status, times=None)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 1
    assert cluster.count("POST", "/services") == 1  # no retry
    error = [e for e in run.events() if e["type"] == "forge.failed"][0]["payload"]["error"]
    assert f"HTTP {status}" in error
    if status in (401, 403):
        assert "context standin" in error and "user " in error


def test_an_unreachable_api_fails_fast_before_any_step(norn, tmp_path):
    kubeconfig, port = unreachable_kubeconfig(tmp_path / "down.kubeconfig")
    norn.write_spec(WEB_SPEC)
    started = time.monotonic()
    run = norn("forge", "web", KUBECONFIG=str(kubeconfig))
    assert time.monotonic() - started < 10
    assert run.code == 1
    assert f"http://127.0.0.1:{port}" in run.stderr and "context down" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (norn.state_dir / "web.json").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_records_the_step_as_interrupted_and_the_rerun_resumes(norn, cluster, signum):
    norn.write_spec(WEB_SPEC)
    process = start_held(norn, cluster, "POST", "/services", "forge", "web", "--output", "json")
    process.send_signal(signum)
    assert process.wait(timeout=10) == 130
    state = norn.state("web")
    assert state["status"] == "forge_failed"
    assert state["steps"][-1] == {**state["steps"][-1], "step": "create-service", "status": "failed", "output": "interrupted"}
    cluster.clear_faults()
    run = norn("forge", "web", "--output", "json")  # the lock was released
    assert run.code == 0, run.stderr
    assert run.steps()["create-deployment"] == "skipped"


def test_a_second_signal_exits_at_once_even_during_cleanup():
    script = textwrap.dedent(
        """
        import os, signal, time
        from norn.cli.interrupts import interruptible
        with interruptible():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            except KeyboardInterrupt:
                print("stopping cleanly", flush=True)
                os.kill(os.getpid(), signal.SIGINT)  # a second signal while cleaning up
                time.sleep(5)
                print("not reached", flush=True)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=20)
    assert done.returncode == 130
    assert done.stdout.splitlines() == ["stopping cleanly"]


def test_a_teardown_interrupted_stays_resumable(norn, cluster):
    norn.write_spec(WEB_SPEC)
    original = configmap_text(cluster)
    assert norn("forge", "web").code == 0
    process = start_held(norn, cluster, "DELETE", "/services/", "teardown", "web", "--yes")
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 130
    assert norn.state("web")["status"] == "forge_failed"
    cluster.clear_faults()
    assert norn("teardown", "web", "--yes").code == 0
    assert configmap_text(cluster) == original
    assert not app_objects(cluster).get("services/default/web-svc")


def test_cloudflared_output_is_cut_to_a_sane_size(norn, cluster, cloudflared_bin, tmp_path):
    fake = tmp_path / "bin" / "cloudflared"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nyes 'x' | head -c 100000 >&2\nexit 1\n")
    fake.chmod(0o755)
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json", PATH=f"{fake.parent}:/usr/bin:/bin")
    assert run.code == 1
    error = [e for e in run.events() if e["type"] == "forge.failed"][0]["payload"]["error"]
    assert len(error) < 3000 and "output cut" in error
