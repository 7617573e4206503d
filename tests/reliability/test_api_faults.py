"""Scenario 2: every transient fault kind on every request of a forge and of a teardown.

Transient: each request of the run fails once with the fault; the run must
succeed, and each step's output must say how many retries it took. Persistent:
the fault stays on one request (``times=None``) with a small retry budget; the
run must fail at that request's step with a clear error. The persistent cases
run as a chain (the fault moves to the next request, the rerun resumes past the
one cleared and fails at the next) and a last rerun with no fault must complete.
After each operation the cluster must equal an uninterrupted run's.

Connection refused is not here: an API that refuses connections is caught by
the reachability check before any step (tests/integration/test_faults.py,
test_an_unreachable_api_fails_fast_before_any_step).

norn runs in-process (CliRunner) for speed, with the first backoff scaled from
0.2 s to 0.01 s: what is tested is which errors are retried, counted and given
up on, not how long the backoff sleeps (test_faults.py covers the timing).
"""

from __future__ import annotations

import re
import time

import pytest

import norn.kube.cluster
from tests.reliability import figures
from tests.reliability.harness import FORGE, TEARDOWN, assert_converged, fired, quiesce

API_TIMEOUT = 0.3  # NORN_API_TIMEOUT for the timeout kind; the server holds the request twice as long
RETRY_SECONDS = 0.1  # NORN_API_RETRY_SECONDS for the persistent faults
KINDS = {
    "connection-reset": {"drop": True},
    "timeout": {"delay": 2 * API_TIMEOUT},
    "429": {"status": 429},
    "429-retry-after": {"status": 429, "retry_after": 1},
    "500": {"status": 500},
    "502": {"status": 502},
    "503": {"status": 503},
    "504": {"status": 504},
}

# Every request of a forge and of a teardown (--delete-volumes), with the step that makes it.
REQUESTS = {
    "forge": [
        ("create-deployment", "POST", "/namespaces/default/persistentvolumeclaims"),
        ("create-deployment", "POST", "/namespaces/default/deployments"),
        ("create-service", "POST", "/namespaces/default/services"),
        ("patch-cloudflared", "GET", "/configmaps/cloudflared"),
        ("patch-cloudflared", "PUT", "/configmaps/cloudflared"),
        ("restart-cloudflared", "PATCH", "/deployments/cloudflared"),
    ],
    "teardown": [
        ("unpatch-cloudflared", "GET", "/configmaps/cloudflared"),
        ("unpatch-cloudflared", "PUT", "/configmaps/cloudflared"),
        ("restart-cloudflared", "PATCH", "/deployments/cloudflared"),
        ("delete-service", "DELETE", "/services/web-svc"),
        ("delete-deployment", "DELETE", "/deployments/web"),
        ("delete-deployment", "DELETE", "/persistentvolumeclaims/web-data"),
    ],
}
ARGS = {"forge": FORGE, "teardown": TEARDOWN}
RETRIES = re.compile(r"after (\d+) retr(?:y|ies) of transient API errors")


def clear_error(kind: str) -> str:
    """What the error of a run that gave up on this fault must say."""
    if kind == "connection-reset":
        return "cannot reach the Kubernetes API at http://127.0.0.1"
    if kind == "timeout":
        return "timed out"
    return f"HTTP {KINDS[kind]['status']}"


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(norn.kube.cluster, "BACKOFF_FIRST", 0.01)


def env_for(kind: str, *, persistent: bool = False) -> dict[str, str]:
    env = {}
    if persistent:
        env["NORN_API_RETRY_SECONDS"] = str(RETRY_SECONDS)
    if kind == "timeout":
        env["NORN_API_TIMEOUT"] = str(API_TIMEOUT)
        if persistent:  # room for one more try, should a loaded machine time out a request of its own
            env["NORN_API_RETRY_SECONDS"] = str(API_TIMEOUT + RETRY_SECONDS)
    return env


@pytest.mark.parametrize("kind", KINDS)
def test_each_request_failing_once_is_retried_and_the_run_succeeds(norn, cluster, reference, fast_backoff, kind):
    for operation in ("forge", "teardown"):
        faults = [cluster.inject(method, path, times=1, **KINDS[kind]) for _, method, path in REQUESTS[operation]]
        started = time.monotonic()
        run = norn(*ARGS[operation], **env_for(kind))
        assert run.code == 0, run.explain()
        if kind == "429-retry-after":  # each retry waited the second the server asked for
            assert time.monotonic() - started >= len(faults) * KINDS[kind]["retry_after"]
        assert [fired(fault) for fault in faults] == [1] * len(faults), "every request met its fault once"
        expected: dict[str, int] = {}
        for step, _, _ in REQUESTS[operation]:
            expected[step] = expected.get(step, 0) + 1
        for step, retries in expected.items():
            output = run.steps()[step].get("output", "")
            said = RETRIES.search(output)
            assert said, f"{step} does not say it retried: {output!r}"
            # at least one retry per faulted request; a loaded machine may add a timeout of its own
            assert int(said.group(1)) >= retries, output
            figures.count("api_retries", int(said.group(1)))
        quiesce(cluster)  # a timed-out request may still land: let it, then compare
        cluster.clear_faults()
        assert_converged(cluster, reference, operation)
        figures.count("faults_injected", sum(fired(fault) for fault in faults))
        figures.count("fault_cases_transient", len(faults))
        figures.count("scenarios", len(faults))


@pytest.mark.parametrize("kind", KINDS)
def test_a_persistent_fault_fails_at_its_step_and_a_rerun_completes(norn, cluster, reference, fast_backoff, kind):
    env = env_for(kind, persistent=True)
    for operation in ("forge", "teardown"):
        for step, method, path in REQUESTS[operation]:
            fault = cluster.inject(method, path, times=None, **KINDS[kind])
            run = norn(*ARGS[operation], **env)
            assert run.code == 1, run.explain()
            assert run.traceback is None
            failed = run.failed()
            assert failed is not None and failed["step"] == step, run.explain()
            assert clear_error(kind) in failed["error"], failed["error"]
            assert "Traceback" not in run.stderr
            assert f"rerun the same command to resume from {step}" in run.stderr
            state = norn.state()
            assert state["status"] == "forge_failed" and state["error"].startswith(f"{step}: "), state
            assert fired(fault) >= 1
            cluster.clear_faults()
            figures.count("faults_injected", fired(fault))
            figures.count("fault_cases_persistent")
            figures.count("scenarios")
        run = norn(*ARGS[operation], **env)  # the faults cleared: it completes
        assert run.code == 0, run.explain()
        quiesce(cluster)
        assert_converged(cluster, reference, operation)
