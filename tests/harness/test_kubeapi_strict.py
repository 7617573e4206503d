"""The stand-in is never more lenient than kube-apiserver: each refusal, answered as the real server answers it.

Each test names the real source it follows (kubernetes/kubernetes, path and function). Requests go over HTTP
through the transport norn's adapter uses.
"""

from __future__ import annotations

import pytest

from tests.harness.test_kubeapi import api, deployment, raw  # noqa: F401 (api is a fixture)
from tests.kubeapi import quantity

CONFIGMAPS = "/api/v1/namespaces/{ns}/configmaps"
PVCS = "/api/v1/namespaces/default/persistentvolumeclaims"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"


def configmap(name: str = "a", namespace: str | None = None, **metadata) -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {}), **metadata}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


def pvc(name: str = "data", size: str = "1Gi") -> dict:
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


def lease(name: str = "lock", **metadata) -> dict:
    spec = {"holderIdentity": "me", "leaseDurationSeconds": 30}
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name, **metadata},
            "spec": spec}


# Namespaces. apiserver pkg/admission/plugin/namespace/lifecycle/admission.go (Lifecycle.Admit): a create into a
# namespace that does not exist answers the namespace's NotFound; into a terminating one, admission.NewForbidden
# (pkg/admission/errors.go) naming the object, with a NamespaceTerminating cause on metadata.namespace.


def test_a_new_cluster_has_its_namespaces_as_objects(kubeapi, api):
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        status, body, _ = raw(api, "GET", f"/api/v1/namespaces/{name}")
        assert status == 200 and body["status"]["phase"] == "Active"
        assert body["metadata"]["labels"]["kubernetes.io/metadata.name"] == name
    assert raw(api, "GET", "/api/v1/namespaces/nowhere")[:2] == (404, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'namespaces "nowhere" not found', "reason": "NotFound", "code": 404,
        "details": {"name": "nowhere", "kind": "namespaces"}})


def test_a_create_into_a_missing_namespace_is_the_namespaces_404(kubeapi, api):
    status, body, _ = raw(api, "POST", CONFIGMAPS.format(ns="nowhere"), body=configmap())

    assert status == 404 and body["message"] == 'namespaces "nowhere" not found'
    assert body["reason"] == "NotFound" and body["details"] == {"name": "nowhere", "kind": "namespaces"}
    assert raw(api, "POST", CONFIGMAPS.format(ns="nowhere") + "?dryRun=All", body=configmap())[0] == 404
    assert kubeapi.objects("configmaps") == []


def test_reads_in_a_missing_namespace_find_nothing(api):
    # Only create is refused by the admission plugin; a read of a namespace's keys in etcd simply finds none.
    assert raw(api, "GET", CONFIGMAPS.format(ns="nowhere") + "/a")[1]["message"] == 'configmaps "a" not found'
    assert raw(api, "GET", CONFIGMAPS.format(ns="nowhere"))[1]["items"] == []


def test_a_create_into_a_terminating_namespace_is_forbidden(kubeapi, api):
    kubeapi.add_namespace("going")
    kubeapi.terminate_namespace("going")

    status, body, _ = raw(api, "POST", CONFIGMAPS.format(ns="going"), body=configmap("a"))

    assert status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        'configmaps "a" is forbidden: unable to create new content in namespace going because it is being terminated'
    )
    assert body["details"] == {"name": "a", "kind": "configmaps", "causes": [
        {"reason": "NamespaceTerminating", "message": "namespace going is being terminated",
         "field": "metadata.namespace"}]}
    assert raw(api, "GET", "/api/v1/namespaces/going")[1]["status"]["phase"] == "Terminating"


def test_a_namespace_created_through_the_api_is_active(kubeapi, api):
    status, body, _ = raw(api, "POST", "/api/v1/namespaces", body={"apiVersion": "v1", "kind": "Namespace",
                                                                   "metadata": {"name": "fresh"}})
    assert status == 201 and body["status"]["phase"] == "Active"
    assert raw(api, "POST", CONFIGMAPS.format(ns="fresh"), body=configmap())[0] == 201


# Lease updates. pkg/registry/coordination/lease/strategy.go: AllowUnconditionalUpdate false and
# AllowCreateOnUpdate true; apiserver pkg/registry/generic/registry/store.go (Store.Update): a PUT without
# resourceVersion is NewInvalid(metadata.resourceVersion, 0, "must be specified for an update") named by resource.


def test_a_lease_update_without_resource_version_is_invalid(kubeapi, api):
    created = raw(api, "POST", LEASES, body=lease())[1]

    status, body, _ = raw(api, "PUT", f"{LEASES}/lock", body=lease())

    assert status == 422 and body["reason"] == "Invalid"
    assert body["message"] == (
        'leases.coordination.k8s.io "lock" is invalid: metadata.resourceVersion: Invalid value: 0x0: '
        "must be specified for an update"
    )
    assert body["details"] == {"name": "lock", "group": "coordination.k8s.io", "kind": "leases", "causes": [
        {"reason": "FieldValueInvalid", "message": "Invalid value: 0x0: must be specified for an update",
         "field": "metadata.resourceVersion"}]}
    version = created["metadata"]["resourceVersion"]
    assert raw(api, "PUT", f"{LEASES}/lock", body=lease(resourceVersion=version))[0] == 200


def test_a_configmap_update_may_omit_resource_version(kubeapi, api):
    # pkg/registry/core/configmap/strategy.go: AllowUnconditionalUpdate true.
    raw(api, "POST", CONFIGMAPS.format(ns="default"), body=configmap())
    assert raw(api, "PUT", CONFIGMAPS.format(ns="default") + "/a", body=configmap())[0] == 200


def test_a_put_of_a_missing_lease_creates_it_unless_it_names_a_uid(kubeapi, api):
    assert raw(api, "PUT", f"{LEASES}/lock?dryRun=All", body=lease())[0] == 201
    assert kubeapi.get_object("leases", "default", "lock", "coordination.k8s.io") is None

    status, body, _ = raw(api, "PUT", f"{LEASES}/gone", body=lease("gone", uid="1234"))
    assert status == 409 and body["message"] == (
        'Operation cannot be fulfilled on leases.coordination.k8s.io "gone": '
        "Precondition failed: UID in precondition: 1234, UID in object meta: "
    )
    assert raw(api, "PUT", f"{LEASES}/lock", body=lease())[0] == 201
    assert raw(api, "PUT", "/apis/coordination.k8s.io/v1/namespaces/nowhere/leases/lock", body=lease())[0] == 404


# The body's type. apiserver pkg/endpoints/handlers/create.go (createHandler) and update.go: "the API version in
# the data (...) does not match the expected API version (...)"; rest.go transformDecodeError: "<Kind> in version
# "<v>" cannot be handled as a <Kind>: ...", the scheme answering "converting (v1.X) to (core.Y): unknown conversion".


@pytest.mark.parametrize("method, path", [("POST", CONFIGMAPS.format(ns="default")),
                                          ("PUT", CONFIGMAPS.format(ns="default") + "/a")])
def test_a_body_of_another_kind_is_a_bad_request(kubeapi, api, method, path):
    raw(api, "POST", CONFIGMAPS.format(ns="default"), body=configmap())
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}}

    status, body, _ = raw(api, method, path, body=secret)

    assert (status, body["reason"]) == (400, "BadRequest")
    assert body["message"] == (
        'Secret in version "v1" cannot be handled as a ConfigMap: converting (v1.Secret) to (core.ConfigMap): '
        "unknown conversion"
    )
    moved = {**configmap(), "apiVersion": "v2"}
    assert raw(api, method, path, body=moved)[1]["message"] == (
        "the API version in the data (v2) does not match the expected API version (v1)"
    )
    unknown = {**configmap(), "kind": "Gadget"}
    assert raw(api, method, path, body=unknown)[1]["message"].startswith(
        'Gadget in version "v1" cannot be handled as a ConfigMap: no kind "Gadget" is registered for version "v1"'
    )
    assert kubeapi.get_object("configmaps", "default", "a")["data"] == {"k": "v"}


# Labels. apimachinery pkg/apis/meta/v1/validation ValidateLabels, with pkg/api/validate/content/kube.go
# IsLabelKey and IsLabelValue (errors.go MaxLenError, RegexError).


@pytest.mark.parametrize("labels, detail", [
    ({"app": "x" * 64}, f'Invalid value: "{"x" * 64}": must be no more than 63 bytes'),
    ({"app": "-web"}, 'Invalid value: "-web": a valid label must be an empty string or consist of alphanumeric '
                      "characters, '-', '_' or '.', and must start and end with an alphanumeric character "
                      "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                      "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
    ({"k" * 64: "v"}, f'Invalid value: "{"k" * 64}": name part must be no more than 63 bytes'),
    ({"Example.com/a": "v"}, 'Invalid value: "Example.com/a": prefix part a lowercase RFC 1123 subdomain'),
    ({"a/b/c": "v"}, 'Invalid value: "a/b/c": a valid label key must consist of alphanumeric characters'),
    ({"/a": "v"}, 'Invalid value: "/a": prefix part must be non-empty'),
])
def test_bad_label_keys_and_values_are_invalid(api, labels, detail):
    status, body, _ = raw(api, "POST", CONFIGMAPS.format(ns="default"), body=configmap(labels=labels))

    assert status == 422 and body["reason"] == "Invalid"
    [cause] = [c for c in body["details"]["causes"] if c["message"].startswith(detail)]
    assert cause["field"] == "metadata.labels"
    assert body["message"].startswith('ConfigMap "a" is invalid: ')


def test_label_values_of_63_characters_and_empty_values_are_valid(api):
    labels = {"app": "x" * 63, "example.com/empty": "", "a.b_c-d": "A.b_c-9"}
    assert raw(api, "POST", CONFIGMAPS.format(ns="default"), body=configmap(labels=labels))[0] == 201


def test_pod_template_labels_are_validated_too(api):
    # pkg/apis/apps/validation ValidateDeploymentSpec -> ValidatePodTemplateSpec -> ValidateLabels.
    body = {"apiVersion": "apps/v1", "kind": "Deployment", **deployment("web")}
    body["spec"]["template"]["metadata"]["labels"] = {"app": "web", "tier": "y" * 70}
    status, answer, _ = raw(api, "POST", "/apis/apps/v1/namespaces/default/deployments", body=body)
    assert status == 422 and answer["details"]["causes"][0]["field"] == "spec.template.metadata.labels"


# Fields norn sets that the real validation refuses beyond names and labels.


def cronjob(name: str) -> dict:
    pod = {"restartPolicy": "Never", "containers": [{"name": "job", "image": "busybox"}]}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": pod}}}}}


def test_a_cronjob_name_over_52_characters_is_invalid(api):
    # pkg/apis/batch/validation ValidateCronJobCreate: the Job names <cronjob>-<11 characters> must fit in 63.
    path = "/apis/batch/v1/namespaces/default/cronjobs"
    status, body, _ = raw(api, "POST", path, body=cronjob("c" * 53))
    assert status == 422 and body["message"] == (
        f'CronJob.batch "{"c" * 53}" is invalid: metadata.name: Invalid value: "{"c" * 53}": '
        "must be no more than 52 characters"
    )
    assert raw(api, "POST", path, body=cronjob("c" * 52))[0] == 201


def test_a_host_path_with_a_backstep_is_invalid(api):
    # pkg/apis/core/validation validateHostPathVolumeSource -> validatePathNoBacksteps.
    web = {"apiVersion": "apps/v1", "kind": "Deployment", **deployment("web")}
    web["spec"]["template"]["spec"]["volumes"] = [{"name": "v", "hostPath": {"path": "/srv/../etc"}}]
    status, body, _ = raw(api, "POST", "/apis/apps/v1/namespaces/default/deployments", body=web)
    assert status == 422 and body["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "message": "Invalid value: \"/srv/../etc\": must not contain '..'",
        "field": "spec.template.spec.volumes[0].hostPath.path"}]
    web["spec"]["template"]["spec"]["volumes"][0]["hostPath"]["path"] = "/srv/..data"
    assert raw(api, "POST", "/apis/apps/v1/namespaces/default/deployments", body=web)[0] == 201


def test_ports_outside_1_to_65535_are_invalid(api):
    # apimachinery IsValidPortNum via pkg/apis/core/validation validateContainerPorts and ValidateService.
    web = {"apiVersion": "apps/v1", "kind": "Deployment", **deployment("web")}
    web["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 70000}]
    answer = raw(api, "POST", "/apis/apps/v1/namespaces/default/deployments", body=web)[1]
    assert answer["code"] == 422 and answer["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "message": "Invalid value: 70000: must be between 1 and 65535, inclusive",
        "field": "spec.template.spec.containers[0].ports[0].containerPort"}]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 0}]}}
    answer = raw(api, "POST", "/api/v1/namespaces/default/services", body=service)[1]
    assert answer["code"] == 422 and answer["details"]["causes"][0]["field"] == "spec.ports[0].port"


def test_a_job_template_must_not_restart_always(api):
    # pkg/apis/batch/validation validateJobSpec; an unset policy is defaulted to Always first.
    body = cronjob("nightly")
    del body["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"]
    answer = raw(api, "POST", "/apis/batch/v1/namespaces/default/cronjobs", body=body)[1]
    assert answer["code"] == 422 and answer["details"]["causes"] == [{
        "reason": "FieldValueNotSupported", "message": 'Unsupported value: "Always": supported values: "OnFailure", "Never"',
        "field": "spec.jobTemplate.spec.template.spec.restartPolicy"}]


# resourceVersion on create. apiserver pkg/storage/etcd3/store.go (store.Create): storage.ErrResourceVersionSetOnCreate,
# a plain error, which responsewriters.ErrorToAPIStatus answers as a 500 with StatusReasonUnknown (empty).


def test_a_resource_version_on_create_is_refused(kubeapi, api):
    status, body, _ = raw(api, "POST", CONFIGMAPS.format(ns="default"), body=configmap(resourceVersion="7"))

    assert status == 500 and "reason" not in body
    assert body["message"] == "resourceVersion should not be set on objects to be created"
    assert kubeapi.objects("configmaps") == []


# Quantities. apimachinery pkg/api/resource/quantity.go: ParseQuantity and CanonicalizeBytes, checked against
# quantity_test.go (TestQuantityParseEmit, the alternates of TestQuantityString, TestQuantityParse).


@pytest.mark.parametrize("given, stored", [
    # TestQuantityParseEmit
    ("1Ki", "1Ki"), ("1Mi", "1Mi"), ("1Gi", "1Gi"), ("1024Mi", "1Gi"), ("1000M", "1G"), (".001Ki", "1024m"),
    (".000001Ki", "1024u"), (".000000001Ki", "1024n"), (".000000000001Ki", "2n"),
    # TestQuantityString: alternate -> expect
    ("307200Ki", "300Mi"), ("1025024Mi", "1001Gi"), ("1024Gi", "1Ti"), ("5000m", "5"), ("0.5", "500m"),
    ("0.001T", "1G"), ("1000u", "1m"), ("1.08", "1080m"), ("1080000000n", "1080m"), ("1000E", "1e21"),
    ("5000E", "5e21"), ("1000000E", "1e24"), (".001e12", "1e9"), ("0.001e0", "1e-3"), ("1000e-12", "1e-9"),
    ("00", "0"), ("1025", "1025"), ("6Ki", "6Ki"), ("300e6", "300e6"), ("1080n", "1080n"),
    # TestQuantityParse values, written canonically
    ("3.001n", "4n"), ("0.00000012345", "124n"), ("100.035k", "100035"), ("0.5Mi", "512Ki"),
    ("9Ei", "9223372036854775807"), ("1.G", "1G"), ("-1024Mi", "-1Gi"), ("+1Gi", "1Gi"),
    # the examples
    ("0.5Gi", "512Mi"),
])
def test_quantities_are_stored_in_canonical_form(given, stored):
    assert quantity.canonical(given) == stored


@pytest.mark.parametrize("text", ["1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-",
                                  "1e4294967297", " 1", "1 ", ""])
def test_what_parse_quantity_refuses(text):
    # TestQuantityParse's invalid list.
    with pytest.raises(quantity.QuantityError):
        quantity.canonical(text)


def test_the_server_stores_and_answers_canonical_quantities(kubeapi, api):
    status, body, _ = raw(api, "POST", PVCS, body=pvc(size="1024Mi"))

    assert status == 201 and body["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert kubeapi.get_object("persistentvolumeclaims", "default", "data")["spec"]["resources"]["requests"] == {
        "storage": "1Gi"}
    web = {"apiVersion": "apps/v1", "kind": "Deployment", **deployment("web")}
    web["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"memory": "1000M", "cpu": "0.5"}}
    created = raw(api, "POST", "/apis/apps/v1/namespaces/default/deployments", body=web)[1]
    assert created["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"memory": "1G",
                                                                                          "cpu": "500m"}


def test_an_unreadable_quantity_is_a_bad_request(kubeapi, api):
    status, body, _ = raw(api, "POST", PVCS, body=pvc(size="5 GB"))

    assert status == 400 and body["message"] == (
        'PersistentVolumeClaim in version "v1" cannot be handled as a PersistentVolumeClaim: quantities must match '
        "the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )
    assert kubeapi.objects("persistentvolumeclaims") == []


# Finalizers. plugin/pkg/admission/storage/storageobjectinuseprotection (admitPVC) adds kubernetes.io/pvc-protection
# on create; store.go (Store.Delete) marks an object with finalizers with deletionTimestamp and answers it;
# pkg/controller/volume/pvcprotection removes the finalizer once no pod uses the claim; ShouldDeleteDuringUpdate
# removes an object being deleted once its last finalizer goes; store.go (create) says "object is being deleted".


def mounting(claim: str) -> dict:
    web = {"apiVersion": "apps/v1", "kind": "Deployment", **deployment("web")}
    web["spec"]["template"]["spec"]["volumes"] = [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]
    return web


def test_a_pvc_in_use_stays_being_deleted_until_its_user_goes(kubeapi, api):
    created = raw(api, "POST", PVCS, body=pvc())[1]
    assert created["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    raw(api, "POST", "/apis/apps/v1/namespaces/default/deployments", body=mounting("data"))

    status, answer, _ = raw(api, "DELETE", f"{PVCS}/data", body={"kind": "DeleteOptions", "apiVersion": "v1"})

    assert status == 200 and answer["kind"] == "PersistentVolumeClaim" and answer["metadata"]["deletionTimestamp"]
    stored = kubeapi.get_object("persistentvolumeclaims", "default", "data")
    assert stored["metadata"]["deletionTimestamp"] and stored["metadata"]["finalizers"] == [
        "kubernetes.io/pvc-protection"]
    again = raw(api, "POST", PVCS, body=pvc())[1]
    assert again["reason"] == "AlreadyExists" and again["message"] == (
        'object is being deleted: persistentvolumeclaims "data" already exists')

    raw(api, "DELETE", "/apis/apps/v1/namespaces/default/deployments/web")

    assert kubeapi.get_object("persistentvolumeclaims", "default", "data") is None
    assert raw(api, "POST", PVCS, body=pvc())[0] == 201


def test_a_pvc_nothing_uses_goes_at_once_but_the_answer_shows_it_being_deleted(kubeapi, api):
    raw(api, "POST", PVCS, body=pvc())

    status, answer, _ = raw(api, "DELETE", f"{PVCS}/data")

    assert status == 200 and answer["metadata"]["deletionTimestamp"]
    assert kubeapi.get_object("persistentvolumeclaims", "default", "data") is None


def test_an_object_with_a_finalizer_goes_when_the_finalizer_is_removed(kubeapi, api):
    path = CONFIGMAPS.format(ns="default")
    raw(api, "POST", path, body=configmap(finalizers=["example.com/hold"]))
    deleted = raw(api, "DELETE", f"{path}/a")[1]
    assert deleted["kind"] == "ConfigMap" and deleted["metadata"]["deletionTimestamp"]
    assert kubeapi.get_object("configmaps", "default", "a")["metadata"]["deletionTimestamp"]

    patch = {"metadata": {"finalizers": None}}
    assert raw(api, "PATCH", f"{path}/a", body=patch, content_type="application/merge-patch+json")[0] == 200

    assert kubeapi.get_object("configmaps", "default", "a") is None


def test_a_test_can_hold_a_claim_with_a_pod_and_let_it_go(kubeapi, api):
    raw(api, "POST", PVCS, body=pvc())
    kubeapi.mount_claim("default", "data")
    raw(api, "DELETE", f"{PVCS}/data")
    assert kubeapi.get_object("persistentvolumeclaims", "default", "data")["metadata"]["deletionTimestamp"]

    kubeapi.remove("pods", "default", "claim-user")

    assert kubeapi.get_object("persistentvolumeclaims", "default", "data") is None
