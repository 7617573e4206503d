"""validation.claims: the object names an infraspec takes, the ones two apps cannot share.

Names are unique per kind and namespace: kube-apiserver stores a namespaced object
under its resource prefix, namespace and name (k8s.io/apiserver
pkg/registry/generic/registry/store.go, NamespaceKeyFunc), and a create of a name
that is there is 409 AlreadyExists (Store.Create).
"""

from __future__ import annotations

from pathlib import Path

from norn.infraspec.model import Infraspec
from norn.operations import validation


def spec(**fields) -> Infraspec:
    return Infraspec.model_validate({"role": "worker", **fields})


def test_claims_name_the_app_its_service_and_its_sized_volumes():
    web = spec(app="web", hosts={"internal": "web-svc"}, volumes=[
        {"name": "data", "mountPath": "/data", "size": "1Gi"},
        {"name": "src", "mountPath": "/src", "hostPath": "/srv/src"},  # a hostPath volume has no PVC
    ])
    assert validation.claims(web) == {
        "app name web": "app",
        "Service web-svc": "hosts.internal",
        "PersistentVolumeClaim web-data": "volumes[0].name",
    }


def test_conflicts_go_to_both_results_and_name_the_other_file(tmp_path: Path):
    one = validation.Result("one.yaml", [], spec(app="a", volumes=[{"name": "b-c", "mountPath": "/d", "size": "1Gi"}]))
    two = validation.Result("two.yaml", [], spec(app="a-b", volumes=[{"name": "c", "mountPath": "/d", "size": "1Gi"}]))
    bad = validation.Result("bad.yaml", ["bad.yaml:1: app: must be a DNS-1123 label"])
    checked = validation.with_conflicts([one, two, bad], tmp_path / "no-apps-dir")
    assert [r.problems for r in checked] == [
        [f"one.yaml: volumes[0].name: PersistentVolumeClaim a-b-c is also claimed by {Path('two.yaml').resolve()}; "
         "two apps in one namespace cannot share an object name"],
        [f"two.yaml: volumes[0].name: PersistentVolumeClaim a-b-c is also claimed by {Path('one.yaml').resolve()}; "
         "two apps in one namespace cannot share an object name"],
        ["bad.yaml:1: app: must be a DNS-1123 label"],
    ]


def test_apps_with_distinct_names_have_no_conflict(tmp_path: Path):
    results = [validation.Result(f"{app}.yaml", [], spec(app=app, hosts={"internal": f"{app}-svc"})) for app in "xyz"]
    assert all(r.ok for r in validation.with_conflicts(results, tmp_path))
