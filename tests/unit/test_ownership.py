"""Ownership per app, with a fake cluster: what ensure_created takes as done, what delete_owned deletes.

The fake answers as kube-apiserver's generic registry does (k8s.io/apiserver
pkg/registry/generic/registry/store.go):
- Store.Create: a name that exists is 409 AlreadyExists, also while the object
  is being deleted (the message then starts "object is being deleted: ");
- Store.Delete: a uid precondition that does not match is 409 Conflict
  (storage.Preconditions.Check, "Precondition failed: UID in precondition ...");
- an object with finalizers is not removed by a DELETE: updateForGracefulDeletionAndFinalizers
  sets metadata.deletionTimestamp and the object stays until its finalizers are gone.
"""

from __future__ import annotations

import pytest

from norn import steps
from norn.errors import AlreadyExists, Conflict, StepError
from norn.kube import ownership
from norn.kube.kinds import PVC, SERVICE, Kind
from norn.settings import load
from norn.state import ForgeState
from norn.steps import delete_owned, ensure_created, waiting
from norn.steps.pipeline import Context


def labels(app: str, *, instance: bool = True) -> dict[str, str]:
    found = {"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": "norn"}
    if instance:
        found["app.kubernetes.io/instance"] = app
    return found


def service(name: str, app: str, **metadata) -> dict:
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default", "labels": labels(app), **metadata}}


class FakeCluster:
    """Objects by (kind, name); a log of (method, kind, name); scripted looks at an object being deleted."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict] = {}
        self.log: list[tuple[str, str, str]] = []
        self.deleting_looks: dict[tuple[str, str], int] = {}  # GETs that still see it, before it is gone
        self._uids = 0

    def add(self, kind: Kind, obj: dict) -> dict:
        self._uids += 1
        obj["metadata"].setdefault("uid", f"uid-{self._uids}")
        self.objects[(kind.name, obj["metadata"]["name"])] = obj
        return obj

    def create(self, kind: Kind, namespace: str, obj: dict) -> dict:
        name = obj["metadata"]["name"]
        self.log.append(("POST", kind.name, name))
        if (kind.name, name) in self.objects:
            raise AlreadyExists(f'{kind.name} "{name}" already exists', status=409, reason="AlreadyExists")
        return self.add(kind, {**obj, "metadata": dict(obj["metadata"])})

    def get(self, kind: Kind, namespace: str, name: str) -> dict | None:
        self.log.append(("GET", kind.name, name))
        key = (kind.name, name)
        if key in self.deleting_looks:
            if self.deleting_looks[key] == 0:  # its finalizers are done: the server removes it
                del self.deleting_looks[key]
                self.objects.pop(key, None)
            else:
                self.deleting_looks[key] -= 1
        return self.objects.get(key)

    def delete(self, kind: Kind, namespace: str, name: str, *, uid: str | None = None) -> bool:
        self.log.append(("DELETE", kind.name, name))
        existing = self.objects.get((kind.name, name))
        if existing is None:
            return False
        if uid and existing["metadata"]["uid"] != uid:
            raise Conflict("Precondition failed: UID in precondition", status=409, reason="Conflict")
        del self.objects[(kind.name, name)]
        return True


@pytest.fixture
def fake() -> FakeCluster:
    return FakeCluster()


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polling an object being deleted sleeps between looks; the tests count the looks instead."""
    monkeypatch.setattr(waiting.time, "sleep", lambda seconds: None)


def context(fake: FakeCluster, app: str = "s35", retry_seconds: str = "30", **resources) -> Context:
    settings = load({"NORN_API_RETRY_SECONDS": retry_seconds})
    return Context(app, settings, ForgeState(app, resources=dict(resources)), connect=lambda: fake)


# ensure_created


def test_creating_records_the_uid_under_created_uids(fake):
    ctx = context(fake)
    assert ensure_created(ctx, SERVICE, service("s35-svc", "s35")) == "created Service default/s35-svc"
    assert ctx.resources.to_json() == {"createdUids": {"Service/s35-svc": "uid-1"}}
    assert fake.log == [("POST", "Service", "s35-svc")]


def test_another_norn_apps_object_fails_naming_the_app_and_records_nothing(fake):
    fake.add(SERVICE, service("shop-svc", "shop"))
    ctx = context(fake)
    with pytest.raises(StepError) as failed:
        ensure_created(ctx, SERVICE, service("shop-svc", "s35"))
    assert failed.value.message == "Service default/shop-svc belongs to norn app shop"
    assert failed.value.hint
    assert ctx.resources.to_json() == {}


def test_an_object_of_an_earlier_norn_names_its_owner_by_the_app_label(fake):
    fake.add(PVC, {"metadata": {"name": "a-b-c", "labels": labels("a", instance=False)}})
    ctx = context(fake, app="a-b")
    with pytest.raises(StepError, match="^PersistentVolumeClaim default/a-b-c belongs to norn app a$"):
        ensure_created(ctx, PVC, {"metadata": {"name": "a-b-c", "labels": labels("a-b")}})
    assert ctx.resources.to_json() == {}


def test_this_apps_own_object_counts_as_done_but_its_uid_is_not_taken_as_created(fake):
    fake.add(SERVICE, service("s35-svc", "s35"))
    ctx = context(fake)
    assert ensure_created(ctx, SERVICE, service("s35-svc", "s35")) == (
        "Service default/s35-svc already exists (made by norn for s35)"
    )
    assert ctx.resources.to_json() == {}  # teardown looks at it and checks the owner label before deleting it


def test_a_foreign_object_keeps_failing_as_not_created_by_norn(fake):
    fake.add(SERVICE, {"metadata": {"name": "s35-svc", "labels": {"app": "s35"}}})
    with pytest.raises(StepError, match="exists but was not created by norn"):
        ensure_created(context(fake), SERVICE, service("s35-svc", "s35"))


def test_an_object_being_deleted_is_waited_for_then_created_afresh(fake):
    old = fake.add(SERVICE, service("s35-svc", "s35", deletionTimestamp="2026-12-07T12:00:00Z", finalizers=["x/y"]))
    fake.deleting_looks[("Service", "s35-svc")] = 2
    ctx = context(fake)
    said = ensure_created(ctx, SERVICE, service("s35-svc", "s35"))
    assert said == "created Service default/s35-svc"
    assert fake.log == [("POST", "Service", "s35-svc")] + [("GET", "Service", "s35-svc")] * 3 + [
        ("POST", "Service", "s35-svc")
    ]
    assert ctx.resources.created_uids["Service/s35-svc"] != old["metadata"]["uid"]


def test_an_object_still_being_deleted_fails_naming_it_and_its_finalizers(fake):
    fake.add(PVC, {"metadata": {"name": "web-data", "labels": labels("web"), "deletionTimestamp": "2026-12-07T12:00:00Z",
                                "finalizers": ["kubernetes.io/pvc-protection"]}})
    ctx = context(fake, app="web", retry_seconds="0")
    with pytest.raises(StepError) as failed:
        ensure_created(ctx, PVC, {"metadata": {"name": "web-data", "labels": labels("web")}})
    assert failed.value.message == (
        "PersistentVolumeClaim default/web-data is still being deleted "
        "(deletionTimestamp set; its finalizers hold it: kubernetes.io/pvc-protection)"
    )
    assert "NORN_API_RETRY_SECONDS" in failed.value.hint
    assert fake.log == [("POST", "PersistentVolumeClaim", "web-data"), ("GET", "PersistentVolumeClaim", "web-data")]
    assert ctx.resources.to_json() == {}


def test_an_object_being_deleted_is_never_taken_as_done_even_when_it_is_this_apps(fake):
    fake.add(SERVICE, service("s35-svc", "s35", deletionTimestamp="2026-12-07T12:00:00Z"))
    with pytest.raises(StepError, match="still being deleted"):
        ensure_created(context(fake, retry_seconds="0"), SERVICE, service("s35-svc", "s35"))


# delete_owned


def test_a_uid_recorded_on_create_deletes_in_one_request(fake):
    fake.add(SERVICE, service("s35-svc", "s35"))
    ctx = context(fake, service="s35-svc", createdUids={"Service/s35-svc": "uid-1"})
    assert delete_owned(ctx, SERVICE, "s35-svc") == "deleted Service default/s35-svc"
    assert fake.log == [("DELETE", "Service", "s35-svc")]
    assert "createdUids" not in ctx.resources.to_json()


def test_an_old_uids_record_of_another_apps_object_never_deletes_it(fake):
    """A state file of an earlier version recorded shop's Service uid for s35 (it took it as done)."""
    fake.add(SERVICE, service("shop-svc", "shop"))
    ctx = context(fake, service="shop-svc", uids={"Service/shop-svc": "uid-1"})
    said = delete_owned(ctx, SERVICE, "shop-svc")
    assert said == "left Service default/shop-svc in place: it belongs to norn app shop"
    assert ("Service", "shop-svc") in fake.objects
    assert fake.log == [("GET", "Service", "shop-svc")]
    assert "uids" not in ctx.resources.to_json()


def test_an_old_uids_record_of_this_apps_object_deletes_it_after_a_look(fake):
    fake.add(SERVICE, service("s35-svc", "s35"))
    ctx = context(fake, service="s35-svc", uids={"Service/s35-svc": "uid-1"})
    assert delete_owned(ctx, SERVICE, "s35-svc") == "deleted Service default/s35-svc"
    assert fake.log == [("GET", "Service", "s35-svc"), ("DELETE", "Service", "s35-svc")]


def test_an_object_of_an_earlier_norn_is_deleted_by_its_app_label(fake):
    fake.add(PVC, {"metadata": {"name": "a-b-c", "labels": labels("a", instance=False)}})
    assert delete_owned(context(fake, app="a"), PVC, "a-b-c") == "deleted PersistentVolumeClaim default/a-b-c"
    fake.add(PVC, {"metadata": {"name": "a-b-c", "labels": labels("a", instance=False)}})
    assert "belongs to norn app a" in delete_owned(context(fake, app="a-b"), PVC, "a-b-c")
    assert ("PersistentVolumeClaim", "a-b-c") in fake.objects


def test_a_replaced_object_is_looked_at_and_left_when_it_is_another_apps(fake):
    fake.add(SERVICE, service("s35-svc", "other"))
    ctx = context(fake, createdUids={"Service/s35-svc": "uid-gone"})
    assert "belongs to norn app other" in delete_owned(ctx, SERVICE, "s35-svc")
    assert fake.log == [("DELETE", "Service", "s35-svc"), ("GET", "Service", "s35-svc")]
    assert ("Service", "s35-svc") in fake.objects


def test_a_foreign_object_under_a_recorded_name_fails_the_teardown(fake):
    fake.add(SERVICE, {"metadata": {"name": "s35-svc", "labels": {"team": "other"}}})
    with pytest.raises(StepError, match="not created by norn"):
        delete_owned(context(fake, uids={"Service/s35-svc": "uid-1"}), SERVICE, "s35-svc")
    assert ("Service", "s35-svc") in fake.objects


# status --live: the instance label an earlier norn did not set is no drift


def _live(obj: dict):
    from norn.infraspec.digest import spec_digest
    from norn.infraspec.model import Infraspec
    from norn.operations import drift
    from norn.steps import manifests

    spec = Infraspec.model_validate({"app": "web", "role": "worker"})
    settings = load({})
    state = ForgeState("web", resources={"deployment": "web"}, spec_digest=spec_digest(spec))
    observed = drift.Observed(objects={("Deployment", "default", "web"): obj})
    assert obj["metadata"]["labels"] != manifests.deployment(spec, settings)["metadata"]["labels"]
    return drift.assess(state, spec, None, observed, settings)


def _deployment_of_instance(instance: str | None) -> dict:
    """web's Deployment as norn builds it, with the instance label (object and pod template) changed or gone."""
    from norn.infraspec.model import Infraspec
    from norn.steps import manifests

    obj = manifests.deployment(Infraspec.model_validate({"app": "web", "role": "worker"}), load({}))
    for labels in (obj["metadata"]["labels"], obj["spec"]["template"]["metadata"]["labels"]):
        del labels[ownership.INSTANCE]
        if instance is not None:
            labels[ownership.INSTANCE] = instance
    return obj


def test_an_object_made_before_the_instance_label_has_no_drift():
    assert _live(_deployment_of_instance(None)).drift == []


def test_an_instance_label_naming_another_app_is_drift():
    live = _live(_deployment_of_instance("shop"))
    assert [d.what for d in live.drift] == [
        "Deployment default/web: metadata.labels.app.kubernetes.io/instance was edited (norn set 'web', now 'shop')",
        "Deployment default/web: spec.template.metadata.labels.app.kubernetes.io/instance was edited "
        "(norn set 'web', now 'shop')",
    ]


def test_a_name_that_keeps_coming_and_going_fails_after_a_few_tries(fake):
    """Each create says AlreadyExists and each look finds nothing: someone else creates and deletes it."""

    def exists(kind, namespace, obj):
        fake.log.append(("POST", kind.name, obj["metadata"]["name"]))
        raise AlreadyExists("already exists", status=409, reason="AlreadyExists")

    fake.create = exists
    ctx = context(fake)
    with pytest.raises(StepError, match="was deleted and created again by someone else"):
        ensure_created(ctx, SERVICE, service("s35-svc", "s35"))
    assert fake.log == [("POST", "Service", "s35-svc"), ("GET", "Service", "s35-svc")] * steps.CREATE_TRIES
    assert ctx.resources.to_json() == {}
