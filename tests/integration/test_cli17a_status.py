"""norn status: -n/--namespace, -o yaml (also on validate and teardown --dry-run), --live --exit-code,
and the JSON shape of --live, through the real CLI.

Where kubectl or git set the habit: `kubectl get -n NS` lists what is in NS; `kubectl diff` exits 1
when it finds differences (kubernetes/kubernetes, staging/src/k8s.io/kubectl/pkg/cmd/diff/diff.go,
DiffOptions.Run: "Exit status: 0 No differences were found. 1 Differences were found."), as
`git diff --exit-code` does; `kubectl get -o yaml` prints the object `-o json` prints.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.integration.conftest import CRON_SPEC, WEB_SPEC

SHOP_SPEC = WEB_SPEC.replace("app: web", "app: shop").replace("web-svc", "shop-svc").replace("web.example", "shop.example")


@pytest.fixture
def three(norn, cluster):
    """web and nightly forged into default, shop into staging."""
    cluster.add_namespace("staging")
    norn.write_spec(WEB_SPEC)
    norn.write_spec(CRON_SPEC)
    norn.write_spec(SHOP_SPEC, folder="shop")
    for args in (["web"], ["nightly"], ["shop", "--namespace", "staging"]):
        assert norn("forge", *args).code == 0
    return norn


def apps_of(run) -> list[str]:
    assert run.code == 0, run.stderr
    return [doc["app"] for doc in json.loads(run.stdout)]


def test_status_namespace_lists_only_the_apps_forged_into_it(three):
    assert apps_of(three("status", "-o", "json")) == ["nightly", "shop", "web"]
    assert apps_of(three("status", "-n", "staging", "-o", "json")) == ["shop"]
    assert apps_of(three("status", "--namespace", "default", "-o", "json")) == ["nightly", "web"]
    assert apps_of(three("status", "-n", "other", "-o", "json")) == []
    text = three("status", "-n", "staging").stdout
    assert "shop" in text and "web" not in text and "nightly" not in text


def test_status_live_namespace_reads_only_the_apps_forged_into_it(three, cluster):
    cluster.clear_log()
    assert apps_of(three("status", "--live", "-n", "staging", "-o", "json")) == ["shop"]
    # the one namespace the listed apps use is the one the lists ask (drift.observe)
    assert {r.path for r in cluster.requests if r.path.endswith("/deployments")} == {
        "/apis/apps/v1/namespaces/staging/deployments"}


def test_status_namespace_must_be_a_namespace_name(three):
    run = three("status", "-n", "Not_A_Namespace")
    assert run.code == 2
    assert "error: --namespace 'Not_A_Namespace' is not a valid namespace name" in run.stderr


def yaml_of(norn, *args: str) -> tuple[str, object]:
    run = norn(*args, "-o", "yaml")
    assert run.stderr == "" or run.code != 0
    return run.stdout, yaml.safe_load(run.stdout)


def keys_in_order(value) -> list:
    """Every mapping's keys, depth first, in the order they come."""
    if isinstance(value, dict):
        return [list(value)] + [k for v in value.values() for k in keys_in_order(v)]
    if isinstance(value, list):
        return [k for item in value for k in keys_in_order(item)]
    return []


@pytest.mark.parametrize("args", [
    ["status"],
    ["status", "web"],
    ["status", "--live"],
    ["status", "web", "--live"],
    ["validate"],
    ["validate", "web"],
    ["teardown", "web", "--dry-run"],
], ids=" ".join)
def test_yaml_is_the_json_document_as_yaml_in_block_style_keys_in_order(three, cluster, args):
    cluster.clear_log()
    as_json = three(*args, "-o", "json")
    text, as_yaml = yaml_of(three, *args)
    assert as_json.code == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert as_yaml == document
    assert keys_in_order(as_yaml) == keys_in_order(document)
    assert not text.lstrip().startswith(("{", "[")), text  # block style, not JSON's flow
    assert cluster.writes() == []


def test_teardown_yaml_without_dry_run_is_refused_before_anything(three, cluster):
    cluster.clear_log()
    before = three.state("web")
    run = three("teardown", "web", "--yes", "-o", "yaml")
    assert run.code == 2
    assert run.stderr.splitlines()[0] == "error: --output yaml shows the plan of a dry run"
    assert cluster.requests == []
    assert three.state("web") == before


@pytest.fixture
def forged(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    return norn


@pytest.mark.parametrize("output", ["text", "json", "yaml"])
def test_exit_code_is_1_with_drift_and_0_without_whatever_the_output(forged, cluster, output):
    for args in (["web"], []):  # one app, and every app
        run = forged("status", *args, "--live", "--exit-code", "-o", output)
        assert run.code == 0, run.stderr
    cluster.remove("services", "default", "web-svc")
    for args in (["web"], []):
        run = forged("status", *args, "--live", "--exit-code", "-o", output)
        assert run.code == 1, run.stderr
        assert "Service default/web-svc is gone" in run.stdout  # the output is printed in full first
        assert forged("status", *args, "--live", "-o", output).code == 0  # without the flag, 0 as before


def test_exit_code_without_live_is_refused(forged):
    run = forged("status", "web", "--exit-code")
    assert run.code == 2
    assert run.stderr.splitlines() == [
        "error: --exit-code reports drift, which only --live looks for", "hint: add --live"]


TWO_VOLUMES = WEB_SPEC + "  - name: cache\n    mountPath: /cache\n    size: 1Gi\n"


def test_live_json_lists_every_object_with_its_kind_name_and_namespace(norn, cluster):
    norn.write_spec(TWO_VOLUMES)
    assert norn("forge", "web").code == 0
    cluster.remove("persistentvolumeclaims", "default", "web-cache")

    data = json.loads(norn("status", "web", "--live", "-o", "json").stdout)

    identities = [(e["kind"], e["name"], e.get("namespace"), e["state"]) for e in data["live"]]
    assert identities == [
        ("Infraspec", "web", None, "unchanged"),
        ("Deployment", "web", "default", "present"),
        ("PersistentVolumeClaim", "web-data", "default", "present"),  # two claims, two entries
        ("PersistentVolumeClaim", "web-cache", "default", "gone"),
        ("Service", "web-svc", "default", "present"),
        ("IngressRule", "web.example.com", None, "present"),
        ("DNSRecord", "web.example.com", None, "unchecked"),
    ]
    assert all("namespace" not in e for e in data["live"] if e["kind"] in ("Infraspec", "IngressRule", "DNSRecord"))
    assert data["drift"] == [{
        "kind": "PersistentVolumeClaim", "name": "web-cache", "namespace": "default",
        "message": "PersistentVolumeClaim default/web-cache is gone",
        "fix": "run norn forge web --repair to create it again",
    }]
    text = norn("status", "web", "--live").stdout  # the text view is as it was
    assert "  PersistentVolumeClaim  web-data: Bound" in text
    assert "  PersistentVolumeClaim  web-cache: gone" in text


def test_status_namespace_reads_the_kubernetes_backends_state_kept_there(norn, cluster):
    """The kubernetes backend keeps an app's state in its namespace by default, as teardown finds it."""
    cluster.add_namespace("staging")
    norn.write_spec(SHOP_SPEC, folder="shop")
    backend = {"NORN_STATE_BACKEND": "kubernetes"}
    assert norn("forge", "shop", "--namespace", "staging", **backend).code == 0
    assert apps_of(norn("status", "-o", "json", **backend)) == []  # default: NORN_NAMESPACE's Secrets
    assert apps_of(norn("status", "-n", "staging", "-o", "json", **backend)) == ["shop"]
