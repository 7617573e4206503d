"""Bugs the reliability suite found in norn, each pinned by a targeted test."""

from __future__ import annotations

import norn.steps.tunnel as tunnel
from tests.reliability.harness import FORGE, TEARDOWN, configmap_text


def test_a_failed_volume_delete_keeps_the_volume_recorded_for_the_rerun(norn, cluster):
    """teardown --delete-volumes forgot a PVC whose DELETE failed: the rerun skipped it and left it behind."""
    assert norn(*FORGE).code == 0
    cluster.inject("DELETE", "/persistentvolumeclaims/web-data", status=500, times=None)
    run = norn(*TEARDOWN, NORN_API_RETRY_SECONDS="0")
    assert run.code == 1 and run.failed()["step"] == "delete-deployment", run.explain()
    assert norn.state()["resources"]["persistentVolumeClaims"] == ["web-data"]
    cluster.clear_faults()
    run = norn(*TEARDOWN)
    assert run.code == 0, run.explain()
    assert "deleted PersistentVolumeClaim default/web-data" in run.steps()["delete-deployment"]["output"]
    assert cluster.get_object("persistentvolumeclaims", "default", "web-data") is None
    assert cluster.get_object("deployments", "default", "web", group="apps") is None


def test_conflicts_on_the_configmap_are_retried_beyond_twenty_within_the_budget(norn, cluster, monkeypatch):
    """Concurrent forges failed with "kept changing under norn (20 conflicts)": 14 of 50 in the load run.

    Conflicts are now retried after a random wait, for at least 20 and then for
    as long as NORN_API_RETRY_SECONDS allows.
    """
    monkeypatch.setattr(tunnel, "CONFLICT_BACKOFF_FIRST", 0.001, raising=False)
    monkeypatch.setattr(tunnel, "CONFLICT_BACKOFF_CAP", 0.002, raising=False)
    cluster.inject("PUT", "/configmaps/cloudflared", status=409, times=30)
    run = norn(*FORGE)
    assert run.code == 0, run.explain()
    assert cluster.count("PUT", "/configmaps/cloudflared") == 31
    assert configmap_text(cluster).count("hostname: web.example.com") == 1

    cluster.inject("PUT", "/configmaps/cloudflared", status=409, times=None)
    run = norn(*TEARDOWN, NORN_API_RETRY_SECONDS="0")
    assert run.code == 1, run.explain()
    assert "kept changing under norn (20 conflicts in" in run.failed()["error"]
