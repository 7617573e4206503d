"""A namespace that is missing or being deleted: norn says so before any step, in the server's words, with a hint,
and never as a missing permission.

The stand-in answers as kube-apiserver's NamespaceLifecycle admission plugin does (apiserver
pkg/admission/plugin/namespace/lifecycle/admission.go, Lifecycle.Admit): a create into a missing namespace is the
namespace's 404, into a terminating one a 403 with a NamespaceTerminating cause.
"""

from __future__ import annotations

import json

from tests.integration.conftest import WEB_SPEC

SMALL = """\
app: small
role: webserver
port: 8080
hosts:
  external: small.example.com
  internal: small-svc
"""

KUBERNETES_STATE = {"NORN_STATE_BACKEND": "kubernetes"}


def test_a_forge_into_a_missing_namespace_fails_before_any_step(norn, cluster):
    norn.write_spec(WEB_SPEC)

    run = norn("forge", "web", "--namespace", "staging")

    assert run.code == 2, run.stderr
    assert 'namespace staging does not exist (the API server: namespaces "staging" not found)' in run.stderr
    assert "kubectl create namespace staging" in run.stderr and "--namespace" in run.stderr
    assert "grant" not in run.stderr and "not allowed" not in run.stderr
    assert cluster.writes() == [] and not (norn.state_dir / "web.json").exists()


def test_a_forge_into_a_terminating_namespace_fails_before_any_step(norn, cluster):
    cluster.add_namespace("staging")
    cluster.terminate_namespace("staging")
    norn.write_spec(WEB_SPEC)

    run = norn("forge", "web", "--namespace", "staging")

    assert run.code == 2, run.stderr
    assert "namespace staging is being deleted" in run.stderr and "wait until namespace staging is gone" in run.stderr
    assert cluster.writes() == [] and not (norn.state_dir / "web.json").exists()


def test_a_forge_into_a_namespace_that_exists_works(norn, cluster):
    cluster.add_namespace("staging")
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web", "--namespace", "staging").code == 0
    assert cluster.get_object("deployments", "staging", "web", "apps") is not None


def test_when_the_role_cannot_read_namespaces_a_refused_create_says_the_same(norn, cluster):
    # A Role bound in the namespace usually may not GET Namespaces: the check goes on, the first create tells.
    cluster.inject(method="GET", path_contains="/api/v1/namespaces/staging", status=403)
    norn.write_spec(WEB_SPEC)

    run = norn("forge", "web", "--namespace", "staging", "--output", "json")

    assert run.code == 1
    [failed] = [e["payload"] for e in run.events() if e["type"] == "forge.failed"]
    assert failed["step"] == "create-deployment"
    assert 'namespace staging does not exist (the API server: namespaces "staging" not found)' in failed["error"]
    assert "kubectl create namespace staging" in failed["error"] and "grant" not in failed["error"]


def test_a_404_that_does_not_name_the_namespace_tells_nothing_and_the_forge_goes_on(norn, cluster):
    # A proxy or server that does not serve the namespaces resource answers 404 without details naming
    # the namespace (apimachinery's NewNotFound always sets details.kind): the check cannot tell, the forge goes on.
    cluster.inject(method="GET", path_contains="/api/v1/namespaces/default", status=404)
    norn.write_spec(WEB_SPEC)

    run = norn("forge", "web")

    assert run.code == 0, run.stderr
    assert cluster.get_object("deployments", "default", "web", group="apps") is not None


def test_the_kubernetes_state_backend_in_a_missing_namespace(norn, cluster):
    norn.write_spec(WEB_SPEC)

    run = norn("forge", "web", NORN_STATE_NAMESPACE="norn", **KUBERNETES_STATE)

    assert run.code == 2, run.stderr
    assert 'namespace norn does not exist (the API server: namespaces "norn" not found)' in run.stderr
    assert "NORN_STATE_NAMESPACE" in run.stderr and "not allowed" not in run.stderr
    assert [r for r in cluster.writes() if "dryRun" not in r.query] == []


def test_the_kubernetes_state_backend_in_a_terminating_namespace_is_not_a_permission_problem(norn, cluster):
    cluster.add_namespace("norn")
    cluster.terminate_namespace("norn")
    norn.write_spec(WEB_SPEC)

    run = norn("forge", "web", NORN_STATE_NAMESPACE="norn", **KUBERNETES_STATE)

    assert run.code == 2, run.stderr
    assert "namespace norn is being deleted (the API server: " in run.stderr
    assert "because it is being terminated" in run.stderr
    assert "not allowed" not in run.stderr and "grant" not in run.stderr
    assert [r for r in cluster.writes() if "dryRun" not in r.query] == []


def test_a_teardown_in_a_terminating_namespace_completes(norn, cluster):
    # Deletes are allowed in a terminating namespace (Lifecycle.Admit lets every delete through).
    cluster.add_namespace("staging")
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web", "--namespace", "staging").code == 0
    cluster.terminate_namespace("staging")

    run = norn("teardown", "web", "--yes")

    assert run.code == 0, run.stderr
    assert cluster.get_object("deployments", "staging", "web", "apps") is None


def test_a_fresh_forge_checks_the_namespace_with_one_get(norn, cluster):
    norn.write_spec(SMALL)
    cluster.clear_log()

    assert norn("forge", "small").code == 0

    assert [(r.method, r.path) for r in cluster.requests] == [
        ("GET", "/api/v1/namespaces/default"),
        ("POST", "/apis/apps/v1/namespaces/default/deployments"),
        ("POST", "/api/v1/namespaces/default/services"),
        ("GET", "/api/v1/namespaces/cloudflared/configmaps/cloudflared"),
        ("PUT", "/api/v1/namespaces/cloudflared/configmaps/cloudflared"),
        ("PATCH", "/apis/apps/v1/namespaces/cloudflared/deployments/cloudflared"),
    ]


def test_a_volume_size_the_server_stores_canonically_is_not_drift(norn, cluster):
    # apimachinery resource.Quantity: the server answers 1024Mi as 1Gi.
    norn.write_spec(WEB_SPEC.replace("size: 1Gi", "size: 1024Mi"))
    assert norn("forge", "web").code == 0
    stored = cluster.get_object("persistentvolumeclaims", "default", "web-data")
    assert stored["spec"]["resources"]["requests"]["storage"] == "1Gi"

    run = norn("status", "web", "--live", "--output", "json")

    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["drift"] == []
