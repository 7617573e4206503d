"""What kube-apiserver answers for a namespace that is missing or terminating becomes one clear error.

The answers are those of the NamespaceLifecycle admission plugin (apiserver
pkg/admission/plugin/namespace/lifecycle/admission.go, Lifecycle.Admit; pkg/admission/errors.go NewForbidden).
"""

from norn.kube.apierrors import NamespaceUnusable, namespace_refusal

MISSING = {"kind": "Status", "status": "Failure", "message": 'namespaces "staging" not found', "reason": "NotFound",
           "code": 404, "details": {"name": "staging", "kind": "namespaces"}}
TERMINATING = {"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403,
               "message": 'services "web" is forbidden: unable to create new content in namespace staging because it '
                          "is being terminated",
               "details": {"name": "web", "kind": "services", "causes": [
                   {"reason": "NamespaceTerminating", "message": "namespace staging is being terminated",
                    "field": "metadata.namespace"}]}}


def test_a_missing_namespace():
    error = namespace_refusal(404, MISSING, "/api/v1/namespaces/staging/services")
    assert isinstance(error, NamespaceUnusable) and error.exit_code == 2
    assert error.message == 'namespace staging does not exist (the API server: namespaces "staging" not found)'
    assert "kubectl create namespace staging" in error.hint and "--namespace" in error.hint


def test_a_terminating_namespace():
    error = namespace_refusal(403, TERMINATING, "/api/v1/namespaces/staging/services")
    assert error.message.startswith("namespace staging is being deleted (the API server: services \"web\" is forbidden")
    assert "wait until namespace staging is gone" in error.hint


def test_other_refusals_are_not_about_the_namespace():
    forbidden = {"message": 'services is forbidden: User "x" cannot create resource "services"', "reason": "Forbidden",
                 "details": {"kind": "services"}}
    gone = {"message": 'services "web" not found', "details": {"name": "web", "kind": "services"}}
    assert namespace_refusal(403, forbidden, "/api/v1/namespaces/staging/services") is None
    assert namespace_refusal(404, gone, "/api/v1/namespaces/staging/services/web") is None
    assert namespace_refusal(404, {}, "/api/v1/namespaces/staging/services/web") is None
