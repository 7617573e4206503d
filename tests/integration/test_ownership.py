"""One app never takes over or deletes another app's objects (issue 14, point 1), against the stand-in.

An object is an app's when it carries app.kubernetes.io/managed-by: norn and
names the app: app.kubernetes.io/instance, or for objects of earlier versions
the `app` label. The names two apps can share are those of one namespace:
kube-apiserver keys a namespaced object by namespace and name alone
(k8s.io/apiserver pkg/registry/generic/registry/store.go, NamespaceKeyFunc),
so a second create of the name is 409 AlreadyExists (Store.Create).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.conftest import TEARDOWN_STEPS, WEB_SPEC

SHOP = "app: shop\nrole: worker\nhosts:\n  internal: shop-svc\n"
S35 = "app: s35\nrole: worker\nhosts:\n  internal: shop-svc\n"
A = "app: a\nrole: worker\nvolumes:\n  - name: b-c\n    mountPath: /data\n    size: 1Gi\n"
A_B = "app: a-b\nrole: worker\nvolumes:\n  - name: c\n    mountPath: /data\n    size: 1Gi\n"


@pytest.fixture(autouse=True)
def _no_retry_budget(monkeypatch):
    monkeypatch.setenv("NORN_API_RETRY_SECONDS", "0")


def failure(run) -> dict:
    return next(e for e in run.events() if e["type"] == "forge.failed")["payload"]


def test_a_service_of_another_app_fails_the_forge_and_survives_its_teardown(norn, cluster):
    norn.write_spec(SHOP)
    assert norn("forge", "shop").code == 0
    shop_svc = cluster.get_object("services", "default", "shop-svc")
    assert shop_svc["metadata"]["labels"]["app.kubernetes.io/instance"] == "shop"

    norn.write_spec(S35)
    run = norn("forge", "s35", "--output", "json")
    assert run.code == 1
    failed = failure(run)
    assert failed["step"] == "create-service"
    assert failed["error"].startswith("Service default/shop-svc belongs to norn app shop (hint: ")
    resources = norn.state("s35")["resources"]
    assert "service" not in resources and "Service/shop-svc" not in json.dumps(resources)

    run = norn("teardown", "s35", "--yes", "--output", "json")
    assert run.code == 0, run.stderr
    assert run.steps()["delete-service"] == "skipped"
    assert cluster.get_object("services", "default", "shop-svc")["metadata"]["uid"] == shop_svc["metadata"]["uid"]


def test_a_volume_of_another_app_is_never_deleted(norn, cluster):
    """a's volume b-c and a-b's volume c are both PVC a-b-c (manifests.pvc_name)."""
    norn.write_spec(A)
    assert norn("forge", "a").code == 0
    volume = cluster.get_object("persistentvolumeclaims", "default", "a-b-c")

    norn.write_spec(A_B)
    run = norn("forge", "a-b", "--output", "json")
    assert run.code == 1
    assert failure(run)["error"].startswith("PersistentVolumeClaim default/a-b-c belongs to norn app a (hint: ")
    assert cluster.get_object("deployments", "default", "a-b", group="apps") is None
    assert "persistentVolumeClaims" not in norn.state("a-b")["resources"]

    assert norn("teardown", "a-b", "--yes", "--delete-volumes").code == 0
    assert cluster.get_object("persistentvolumeclaims", "default", "a-b-c")["metadata"]["uid"] == volume["metadata"]["uid"]


def test_a_state_of_an_earlier_version_that_took_another_apps_objects_deletes_none_of_them(norn, cluster):
    """Earlier versions took another app's object as done and recorded its uid under `uids`."""
    for obj in (
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "shop-svc", "labels": {"app": "shop", "app.kubernetes.io/managed-by": "norn"}},
         "spec": {"ports": [{"port": 80}], "selector": {"app": "shop"}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": "a-b-c", "labels": {"app": "a", "app.kubernetes.io/managed-by": "norn"}},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
    ):
        cluster.seed(obj)
    uids = {
        "Service/shop-svc": cluster.get_object("services", "default", "shop-svc")["metadata"]["uid"],
        "PersistentVolumeClaim/a-b-c": cluster.get_object("persistentvolumeclaims", "default", "a-b-c")["metadata"]["uid"],
    }
    norn.state_dir.mkdir()
    (norn.state_dir / "s35.json").write_text(json.dumps({
        "version": 1, "app": "s35", "status": "forged", "operation": "forge", "steps": [],
        "resources": {"namespace": "default", "service": "shop-svc", "persistentVolumeClaims": ["a-b-c"],
                      "uids": uids},
    }))
    plan = norn("teardown", "s35", "--delete-volumes", "--dry-run", "--output", "json")
    assert plan.code == 0, plan.stderr
    assert json.loads(plan.stdout)["kept"][:2] == [
        "Service default/shop-svc: belongs to norn app shop", "PersistentVolumeClaim default/a-b-c: belongs to norn app a"
    ]
    run = norn("teardown", "s35", "--yes", "--delete-volumes", "--output", "json")
    assert run.code == 0, run.stderr
    outputs = {e["payload"]["step"]: e["payload"].get("output", "") for e in run.events() if e["type"] == "teardown.step"}
    assert outputs["delete-service"] == "left Service default/shop-svc in place: it belongs to norn app shop"
    assert "left PersistentVolumeClaim default/a-b-c in place: it belongs to norn app a" in outputs["delete-deployment"]
    assert cluster.get_object("services", "default", "shop-svc") is not None
    assert cluster.get_object("persistentvolumeclaims", "default", "a-b-c") is not None
    assert cluster.writes() == []


def test_a_state_of_an_earlier_version_still_tears_down_its_own_app(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    path = norn.state_dir / "web.json"
    state = json.loads(path.read_text())
    state["resources"]["uids"] = state["resources"].pop("createdUids")  # as today's main writes it
    path.write_text(json.dumps(state))
    cluster.clear_log()

    run = norn("teardown", "web", "--yes", "--delete-volumes", "--output", "json")
    assert run.code == 0, run.stderr
    assert list(run.steps()) == TEARDOWN_STEPS
    for plural, name, group in (("services", "web-svc", ""), ("deployments", "web", "apps"),
                                ("persistentvolumeclaims", "web-data", "")):
        assert cluster.get_object(plural, "default", name, group=group) is None
    # each unverified uid costs one look before its delete
    assert cluster.count("GET", "/services/web-svc") == 1 and cluster.count("DELETE", "/services/web-svc") == 1
    assert "uids" not in norn.state("web")["resources"]


def test_plan_says_whose_the_object_is(norn, cluster):
    norn.write_spec(SHOP)
    assert norn("forge", "shop").code == 0
    norn.write_spec(S35)
    run = norn("plan", "s35")
    assert run.code == 1
    assert "create-service       fail: Service default/shop-svc belongs to norn app shop" in run.stdout


def test_an_object_being_deleted_is_not_taken_as_done(norn, cluster):
    """A PVC in use is deleted only when the pvc-protection finalizer lets it go
    (kubernetes pkg/controller/volume/pvcprotection); until then it has deletionTimestamp set and a
    create of its name is 409 AlreadyExists "object is being deleted" (apiserver store.go, Store.Create)."""
    norn.write_spec(WEB_SPEC)
    cluster.seed({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "web-data", "labels": {"app": "web", "app.kubernetes.io/instance": "web",
                                                    "app.kubernetes.io/managed-by": "norn"},
                     "deletionTimestamp": "2026-12-07T12:00:00Z", "finalizers": ["kubernetes.io/pvc-protection"]},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    })
    plan = norn("plan", "web")
    assert "wait for PersistentVolumeClaim default/web-data to finish being deleted, then create it afresh" in plan.stdout
    run = norn("forge", "web", "--output", "json")
    assert run.code == 1
    failed = failure(run)
    assert failed["step"] == "create-deployment"
    assert failed["error"].startswith(
        "PersistentVolumeClaim default/web-data is still being deleted "
        "(deletionTimestamp set; its finalizers hold it: kubernetes.io/pvc-protection)"
    )
    assert cluster.get_object("deployments", "default", "web", group="apps") is None
    assert "persistentVolumeClaims" not in norn.state("web")["resources"]


def test_a_forced_reforge_waits_for_its_volume_in_use_to_go_and_creates_it_afresh(norn, cluster):
    """The real sequence: teardown --delete-volumes while a pod still mounts the claim leaves the PVC
    terminating under kubernetes.io/pvc-protection (pkg/controller/volume/pvcprotection removes the
    finalizer only once no pod uses it); a forge right after must wait for it to go, not take it as done."""
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    old_uid = cluster.get_object("persistentvolumeclaims", "default", "web-data")["metadata"]["uid"]
    cluster.mount_claim("default", "web-data")  # a pod of the old rollout, still terminating
    assert norn("teardown", "web", "--yes", "--delete-volumes").code == 0
    assert cluster.get_object("persistentvolumeclaims", "default", "web-data")["metadata"]["deletionTimestamp"]

    cluster.clear_log()
    forge = norn.popen("forge", "web", "--output", "json", NORN_API_RETRY_SECONDS="60")
    pvc_path = "/persistentvolumeclaims/web-data"
    deadline = time.monotonic() + 30
    while cluster.count("GET", pvc_path) < 2 and time.monotonic() < deadline:  # norn is polling it
        time.sleep(0.05)
    assert cluster.count("GET", pvc_path) >= 2
    assert cluster.get_object("deployments", "default", "web", group="apps") is None  # still waiting
    cluster.remove("pods", "default", "claim-user")  # the pod goes: the finalizer lets the claim go
    out, err = forge.communicate(timeout=60)
    assert forge.returncode == 0, err
    fresh = cluster.get_object("persistentvolumeclaims", "default", "web-data")
    assert not fresh["metadata"].get("deletionTimestamp") and fresh["metadata"]["uid"] != old_uid
    assert cluster.get_object("deployments", "default", "web", group="apps") is not None
    assert norn.state("web")["resources"]["createdUids"]["PersistentVolumeClaim/web-data"] == fresh["metadata"]["uid"]


# norn validate: infraspecs that would claim the same object name (no cluster needed)


def test_validate_reports_a_shared_name_as_an_error_of_both_files(norn, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    shop, s35 = norn.write_spec(SHOP), norn.write_spec(S35)
    a, a_b = norn.write_spec(A), norn.write_spec(A_B)
    run = norn("validate")
    assert run.code == 2, run.stderr
    assert sorted(run.stdout.splitlines()) == sorted([
        f"{shop}: hosts.internal: Service shop-svc is also claimed by {s35}; "
        "two apps in one namespace cannot share an object name",
        f"{s35}: hosts.internal: Service shop-svc is also claimed by {shop}; "
        "two apps in one namespace cannot share an object name",
        f"{a}: volumes[0].name: PersistentVolumeClaim a-b-c is also claimed by {a_b}; "
        "two apps in one namespace cannot share an object name",
        f"{a_b}: volumes[0].name: PersistentVolumeClaim a-b-c is also claimed by {a}; "
        "two apps in one namespace cannot share an object name",
    ])


def test_validate_compares_a_given_file_with_the_apps_under_norn_apps_dir(norn, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    shop = norn.write_spec(SHOP)
    copy = tmp_path / "copy.yaml"
    copy.write_text(SHOP)  # the same app twice: its name and its Service
    run = norn("validate", str(copy), "--output", "json")
    assert run.code == 2
    (result,) = json.loads(run.stdout)
    assert result["problems"] == [
        f"{copy}: app: app name shop is also claimed by {shop}; two apps in one namespace cannot share an object name",
        f"{copy}: hosts.internal: Service shop-svc is also claimed by {shop}; "
        "two apps in one namespace cannot share an object name",
    ]
    assert norn("validate", str(shop)).code == 0  # one file given twice (or found again) is no conflict
