"""Bugs the reliability suite found in norn, each pinned by a targeted test."""

from __future__ import annotations

from tests.reliability.harness import FORGE, TEARDOWN


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
