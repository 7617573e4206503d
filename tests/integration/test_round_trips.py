"""API round trips, counted exactly from the stand-in's request log.

Every request costs a round trip in CI, so forge and teardown make only those
the work needs: one create per object, one read and one write of the
cloudflared ConfigMap, one restart patch; no discovery, no read before a
create, only one of the app's Namespace before any step (it must exist and not
be terminating). A forge with nothing to do, and a step a resume skips, make none.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import WEB_SPEC, WEB_STEPS


@pytest.fixture(autouse=True)
def _no_retry_budget(monkeypatch):
    """The faults here stand for a step that fails; retrying them for 30 s would only slow the suite."""
    monkeypatch.setenv("NORN_API_RETRY_SECONDS", "0")

APP = "/namespaces/default"
CONFIGMAP = "/api/v1/namespaces/cloudflared/configmaps/cloudflared"
RESTART = ("PATCH", "/apis/apps/v1/namespaces/cloudflared/deployments/cloudflared")
NAMESPACE_CHECK = ("GET", "/api/v1/namespaces/default")

FRESH_FORGE = [
    NAMESPACE_CHECK,
    ("POST", f"/api/v1{APP}/persistentvolumeclaims"),
    ("POST", f"/apis/apps/v1{APP}/deployments"),
    ("POST", f"/api/v1{APP}/services"),
    ("GET", CONFIGMAP),
    ("PUT", CONFIGMAP),
    RESTART,
]


def requests(cluster) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in cluster.requests]


def test_a_fresh_forge_makes_one_request_per_object_and_no_discovery(norn, cluster):
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web")
    assert run.code == 0, run.stderr
    assert requests(cluster) == FRESH_FORGE


def test_forging_a_forged_app_makes_no_request(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.clear_log()
    run = norn("forge", "web")
    assert run.code == 0 and "forged and up to date" in run.stdout
    assert requests(cluster) == []


# The step that fails, how to make it fail, and what its resume must send:
# the failed step's requests and those after it, none for the steps before.
RESUMES = {
    "patch-cloudflared": (("GET", "/configmaps/cloudflared"),
                          [NAMESPACE_CHECK, ("GET", CONFIGMAP), ("PUT", CONFIGMAP), RESTART]),
    "create-dns-route": (None, [NAMESPACE_CHECK, RESTART]),
    "restart-cloudflared": (("PATCH", "/deployments/cloudflared"), [NAMESPACE_CHECK, RESTART]),
}


@pytest.mark.parametrize("failing", list(RESUMES))
def test_a_resume_makes_no_request_for_the_steps_it_skips(norn, cluster, cloudflared_bin, failing):
    norn.write_spec(WEB_SPEC)
    fault, expected = RESUMES[failing]
    if fault is None:
        cloudflared_bin.set_mode("fail")
    else:
        cluster.inject(method=fault[0], path_contains=fault[1], status=500, times=None)
    assert norn("forge", "web").code == 1
    cluster.clear_faults()
    cloudflared_bin.set_mode("ok")
    cluster.clear_log()

    run = norn("forge", "web", "--output", "json")
    assert run.code == 0, run.stderr
    skipped = WEB_STEPS[: WEB_STEPS.index(failing)]
    assert [step for step, status in run.steps().items() if status == "skipped"] == skipped
    assert requests(cluster) == expected


def test_teardown_deletes_each_object_once_and_edits_the_config_once(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.clear_log()
    run = norn("teardown", "web", "--yes", "--delete-volumes")
    assert run.code == 0, run.stderr
    assert requests(cluster) == [
        ("GET", CONFIGMAP),
        ("PUT", CONFIGMAP),
        RESTART,
        ("DELETE", f"/api/v1{APP}/services/web-svc"),
        ("DELETE", f"/apis/apps/v1{APP}/deployments/web"),
        ("DELETE", f"/api/v1{APP}/persistentvolumeclaims/web-data"),
    ]
