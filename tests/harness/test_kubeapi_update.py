"""The stand-in answers in-place updates (strategic merge patch, PUT) as kube-apiserver does.

Each test names the real source it follows. Patches go through the raw transport norn's adapter uses, so the
body and Content-Type are exactly what a test sends.
"""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.harness.test_kubeapi import NS, api, apps, core, deployment, raw, service  # noqa: F401 (fixtures)

SMP = "application/strategic-merge-patch+json"
DEPLOY = f"/apis/apps/v1/namespaces/{NS}/deployments/web"
SVC = f"/api/v1/namespaces/{NS}/services/web"
PVC = f"/api/v1/namespaces/{NS}/persistentvolumeclaims/data"
CLASS = "/apis/storage.k8s.io/v1/storageclasses/standard"


def patch(api, path: str, body, query=None):
    return raw(api, "PATCH", path, body=body, content_type=SMP, query=query)


def pod_spec(body: dict) -> dict:
    return {"spec": {"template": {"spec": body}}}


def web_container(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]["containers"][0]


def claim(size: str = "1Gi", **spec) -> dict:
    return {"metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}, **spec}}


@pytest.fixture
def web(apps):  # noqa: F811
    return apps.create_namespaced_deployment(NS, deployment())


# strategic merge patch: apimachinery pkg/util/strategicpatch/patch.go with k8s.io/api's patchMergeKey tags


def test_container_ports_merge_on_container_port_and_service_ports_on_port(api, core, web):  # noqa: F811
    """core/v1 types.go: Container.ports patchMergeKey containerPort, ServiceSpec.ports patchMergeKey port; the
    key depends on where the list is."""
    core.create_namespaced_service(NS, service())
    status, obj, _ = patch(api, DEPLOY, pod_spec({"containers": [{"name": "web", "ports": [{"containerPort": 80, "name": "http"}]}]}))
    assert status == 200 and web_container(obj)["ports"] == [{"containerPort": 80, "name": "http"}]

    status, obj, _ = patch(api, SVC, {"spec": {"ports": [{"port": 80, "targetPort": 8080}]}})
    assert status == 200 and obj["spec"]["ports"] == [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]

    status, obj, _ = patch(api, SVC, {"spec": {"ports": [{"containerPort": 80}]}})  # a Service port's key is port
    assert (status, obj["message"]) == (500, "map: map[containerPort:80] does not contain declared merge key: port")


def test_env_volume_mounts_image_pull_secrets_and_volumes_merge_on_their_keys(api, web):  # noqa: F811
    """Container.env (name), volumeMounts (mountPath), PodSpec.imagePullSecrets and volumes (name)."""
    body = pod_spec({
        "containers": [{"name": "web", "env": [{"name": "A", "value": "2"}],
                        "volumeMounts": [{"mountPath": "/data", "name": "data"}]}],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "imagePullSecrets": [{"name": "registry"}],
    })
    status, obj, _ = patch(api, DEPLOY, body)
    assert status == 200
    assert web_container(obj)["env"] == [{"name": "A", "value": "2"}]
    assert web_container(obj)["volumeMounts"] == [{"mountPath": "/data", "name": "data"}]
    status, obj, _ = patch(api, DEPLOY, pod_spec({"volumes": [{"name": "data", "emptyDir": {"medium": "Memory"}}]}))
    assert obj["spec"]["template"]["spec"]["volumes"] == [{"name": "data", "emptyDir": {"medium": "Memory"}}]
    assert obj["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "registry"}]


def test_lists_without_a_merge_strategy_are_replaced_whole(api, web):  # noqa: F811
    """Container.command, args and envFrom carry no patchStrategy: mergeSliceHandler hands the patch's list back."""
    patch(api, DEPLOY, pod_spec({"containers": [{"name": "web", "args": ["a", "b"], "envFrom": [{"secretRef": {"name": "s1"}}]}]}))
    _, obj, _ = patch(api, DEPLOY, pod_spec({"containers": [{"name": "web", "args": ["c"], "envFrom": [{"secretRef": {"name": "s2"}}]}]}))
    assert web_container(obj)["args"] == ["c"]
    assert web_container(obj)["envFrom"] == [{"secretRef": {"name": "s2"}}]


def test_patch_directives_delete_replace_and_null(api, web):  # noqa: F811
    """mergeMap/handleDirectiveInMergeMap and mergeSliceWithSpecialElements: ``$patch: delete`` on a merge-list item
    and on a map, ``$patch: replace`` on a list and a map, a null deletes its key."""
    patch(api, DEPLOY, pod_spec({"containers": [{"name": "sidecar", "image": "busybox"}]}))
    _, obj, _ = patch(api, DEPLOY, pod_spec({"containers": [{"name": "sidecar", "$patch": "delete"}]}))
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["web"]

    _, obj, _ = patch(api, DEPLOY, pod_spec({"containers": [{"name": "web", "env": [{"name": "Z", "value": "9"}, {"$patch": "replace"}]}]}))
    assert web_container(obj)["env"] == [{"name": "Z", "value": "9"}]

    _, obj, _ = patch(api, DEPLOY, {"metadata": {"labels": {"$patch": "replace", "only": "this"}}})
    assert obj["metadata"]["labels"] == {"only": "this"}

    _, obj, _ = patch(api, DEPLOY, pod_spec({"containers": [{"name": "web", "ports": None, "env": [{"name": "Z", "$patch": "delete"}]}]}))
    assert "ports" not in web_container(obj) and "env" not in web_container(obj)


def test_refused_directives_answer_what_the_real_server_answers(api, web):  # noqa: F811
    """Unknown ``$patch`` values and ``merge`` on a list are plain errors (500, no reason: interpretStrategicMergePatch
    Error's default, responsewriters.ErrorToAPIStatus); a merge-list item without its key too; a bad ``$retainKeys``
    on an item that merges into a live one is mergepatch.ErrBadPatchFormatForRetainKeys, a 400."""
    cases = [
        (pod_spec({"containers": [{"name": "web", "$patch": "merge"}]}), 500,
         "merging lists cannot yet be specified in the patch"),
        ({"metadata": {"labels": {"$patch": "keep"}}}, 500, "unknown patch type: keep in map: map[$patch:keep]"),
        (pod_spec({"containers": [{"name": "web", "env": [{"value": "x"}]}]}), 500,
         "map: map[value:x] does not contain declared merge key: name"),
        (pod_spec({"volumes": [{"name": "v", "$retainKeys": ["name"], "emptyDir": {}}]}), 400,
         "invalid patch format of retainKeys"),
    ]
    patch(api, DEPLOY, pod_spec({"volumes": [{"name": "v", "hostPath": {"path": "/srv"}}]}))  # retainKeys needs a match
    for body, code, message in cases:
        status, answer, _ = patch(api, DEPLOY, body)
        assert (status, answer["message"]) == (code, message)
        assert answer.get("reason") == ("BadRequest" if code == 400 else None)


def test_set_element_order_retain_keys_and_delete_from_primitive_list(kubeapi, api, web):  # noqa: F811
    """mergePatchIntoOriginal orders the list by ``$setElementOrder``; applyRetainKeysDirective clears what is not
    listed (volumes are patchStrategy merge,retainKeys); ``$deleteFromPrimitiveList`` removes scalars from a merge
    list of scalars (ObjectMeta.finalizers: patchStrategy merge)."""
    patch(api, DEPLOY, pod_spec({"containers": [{"name": "b", "image": "x"}, {"name": "a", "image": "y"}]}))
    order = [{"name": "a"}, {"name": "web"}, {"name": "b"}]
    _, obj, _ = patch(api, DEPLOY, pod_spec({"$setElementOrder/containers": order, "containers": [{"name": "a", "image": "z"}]}))
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["a", "web", "b"]
    # The order of a list merged with deletes and additions is the one Go's in-place slice edits leave behind
    # (the "add map and delete map from merging list" case of strategicpatch's patch_test.go): web keeps its place.
    order = [{"name": "a"}, {"name": "c"}]
    body = pod_spec({"$setElementOrder/containers": order, "containers": [{"name": "c", "image": "x"}, {"name": "b", "$patch": "delete"}]})
    _, obj, _ = patch(api, DEPLOY, body)
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["a", "web", "c"]

    patch(api, DEPLOY, pod_spec({"volumes": [{"name": "v", "hostPath": {"path": "/srv"}}]}))
    _, obj, _ = patch(api, DEPLOY, pod_spec({"volumes": [{"name": "v", "$retainKeys": ["name", "emptyDir"], "emptyDir": {}}]}))
    assert obj["spec"]["template"]["spec"]["volumes"] == [{"name": "v", "emptyDir": {}}]

    patch(api, DEPLOY, {"metadata": {"finalizers": ["example.com/a", "example.com/b"]}})
    _, obj, _ = patch(api, DEPLOY, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}})
    assert obj["metadata"]["finalizers"] == ["example.com/b"]


# update semantics: apiserver pkg/registry/rest/update.go BeforeUpdate and each kind's ValidateXUpdate


def test_a_patch_with_another_uid_is_422_immutable_and_a_put_409(api, apps, web):  # noqa: F811
    """A PATCH's DefaultUpdatedObjectInfo has no object, so no uid precondition: the patched uid reaches
    ValidateObjectMetaAccessorUpdate (field is immutable), run by validateCommonFields and by
    ValidateDeploymentUpdate (the cause twice, the message once: ToAggregate dedupes). A PUT's uid is a storage
    precondition: 409 (storage.Preconditions.Check)."""
    status, answer, _ = patch(api, DEPLOY, {"metadata": {"uid": "other"}, "spec": {"replicas": 3}})
    assert status == 422
    assert answer["message"] == 'Deployment.apps "web" is invalid: metadata.uid: Invalid value: "other": field is immutable'
    assert [c["field"] for c in answer["details"]["causes"]] == ["metadata.uid", "metadata.uid"]
    assert apps.read_namespaced_deployment("web", NS).spec.replicas == 1

    status, answer, _ = patch(api, DEPLOY, {"metadata": {"uid": web.metadata.uid}, "spec": {"replicas": 3}})
    assert (status, answer["metadata"]["uid"], answer["spec"]["replicas"]) == (200, web.metadata.uid, 3)

    body = {**deployment(), "metadata": {"name": "web", "uid": "other"}}
    status, answer, _ = raw(api, "PUT", DEPLOY, body=body, content_type="application/json")
    assert status == 409 and "Precondition failed: UID in precondition: other" in answer["message"]


def test_immutable_fields_of_deployments_and_services(api, core, web):  # noqa: F811
    """pkg/registry/apps/deployment/strategy.go ValidateUpdate: spec.selector (apps/v1); core validation
    validateUpgradeDowngradeClusterIPs: an allocated clusterIP (NormalizeClusterIPs carries a new clusterIP
    into clusterIPs[0]); a patch that leaves it out keeps it (patchAllocatedValues)."""
    other = {"selector": {"matchLabels": {"app": "other"}}, "template": {"metadata": {"labels": {"app": "other"}}}}
    status, answer, _ = patch(api, DEPLOY, {"spec": other})
    assert status == 422
    assert answer["message"] == (
        'Deployment.apps "web" is invalid: spec.selector: Invalid value: {"matchLabels":{"app":"other"}}: field is immutable')

    ip = core.create_namespaced_service(NS, service()).spec.cluster_ip
    status, answer, _ = patch(api, SVC, {"spec": {"clusterIP": "10.96.99.99"}})
    assert status == 422
    assert answer["message"] == 'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.99.99"]: may not change once set'
    status, answer, _ = patch(api, SVC, {"spec": {"ports": [{"port": 80, "targetPort": 8080}]}})
    assert (status, answer["spec"]["clusterIP"], answer["spec"]["clusterIPs"]) == (200, ip, [ip])


def test_generation_resource_version_and_identity_across_updates(kubeapi, api, apps, web):  # noqa: F811
    """PrepareForUpdate (deployment, cronjob strategy.go): generation counts spec changes, and for a Deployment
    annotation changes; labels alone do not. A write that changes nothing keeps the resourceVersion (etcd3 store's
    no-op); uid and creationTimestamp never change; the rollout follows the generation."""
    first = web.metadata
    _, obj, _ = patch(api, DEPLOY, {"metadata": {"labels": {"extra": "1"}}})
    assert obj["metadata"]["generation"] == 1 and obj["metadata"]["resourceVersion"] != first.resource_version
    _, obj, _ = patch(api, DEPLOY, {"metadata": {"annotations": {"note": "x"}}})
    assert obj["metadata"]["generation"] == 2
    _, obj, _ = patch(api, DEPLOY, {"spec": {"replicas": 4}})
    assert obj["metadata"]["generation"] == 3 and obj["status"]["observedGeneration"] == 3
    version = obj["metadata"]["resourceVersion"]
    _, again, _ = patch(api, DEPLOY, {"spec": {"replicas": 4}})
    assert again["metadata"]["resourceVersion"] == version
    assert (again["metadata"]["uid"], again["metadata"]["creationTimestamp"]) == (first.uid, obj["metadata"]["creationTimestamp"])

    batch = client.BatchV1Api(api)
    job = {"template": {"spec": {"containers": [{"name": "c", "image": "x"}], "restartPolicy": "Never"}}}
    batch.create_namespaced_cron_job(NS, {"metadata": {"name": "nightly"}, "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": job}}})
    cron = f"/apis/batch/v1/namespaces/{NS}/cronjobs/nightly"
    assert patch(api, cron, {"metadata": {"annotations": {"note": "x"}}})[1]["metadata"]["generation"] == 1
    assert patch(api, cron, {"spec": {"schedule": "0 4 * * *"}})[1]["metadata"]["generation"] == 2
    # batch/v1 CronJobSpec.jobTemplate -> JobSpec.template -> PodSpec: the same merge keys down there.
    env = {"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": "1"}]}]}}}}}}
    _, obj, _ = patch(api, cron, env)
    assert obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"] == [
        {"name": "c", "image": "x", "env": [{"name": "A", "value": "1"}]}]


def test_dry_run_patch_answers_the_would_be_object_and_stores_nothing(kubeapi, api, apps, web):  # noqa: F811
    status, obj, _ = patch(api, DEPLOY, {"spec": {"replicas": 5}}, query={"dryRun": "All"})
    assert (status, obj["spec"]["replicas"], obj["metadata"]["generation"]) == (200, 5, 2)
    stored = apps.read_namespaced_deployment("web", NS)
    assert (stored.spec.replicas, stored.metadata.resource_version) == (1, web.metadata.resource_version)


def test_a_patch_never_creates(api):  # noqa: F811
    """smpPatcher.createNewObject: NotFound."""
    status, answer, _ = patch(api, SVC, {"spec": {"ports": [{"port": 80}]}})
    assert (status, answer["message"]) == (404, 'services "web" not found')


def test_an_object_being_deleted_can_be_patched_but_gains_no_finalizer(api, apps, web):  # noqa: F811
    """ValidateObjectMetaAccessorUpdate: ValidateNoNewFinalizers once deletionTimestamp is set; other changes pass."""
    patch(api, DEPLOY, {"metadata": {"finalizers": ["example.com/keep"]}})
    apps.delete_namespaced_deployment("web", NS)
    assert patch(api, DEPLOY, {"metadata": {"labels": {"x": "y"}}})[0] == 200
    status, answer, _ = patch(api, DEPLOY, {"metadata": {"finalizers": ["example.com/new"]}})
    assert status == 422
    assert answer["message"] == ('Deployment.apps "web" is invalid: metadata.finalizers: Forbidden: no new finalizers can be '
                                 'added if the object is being deleted, found new finalizers []string{"example.com/new"}')
    assert patch(api, DEPLOY, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/keep"]}})[0] == 200
    assert apps.list_namespaced_deployment(NS).items == []  # the last finalizer gone: deleted


def test_the_request_log_keeps_each_patch(kubeapi, api, web):  # noqa: F811
    body = {"metadata": {"uid": web.metadata.uid}, "spec": {"replicas": 2}}
    patch(api, DEPLOY, body)
    record = kubeapi.requests[-1]
    assert (record.method, record.path, record.content_type, record.body) == ("PATCH", DEPLOY, SMP, body)


# PersistentVolumeClaims: ValidatePersistentVolumeClaimUpdate, DefaultStorageClass and PersistentVolumeClaimResize


def test_a_claim_gets_the_default_class_and_is_bound(api, core):  # noqa: F811
    """plugin/pkg/admission/storage/storageclass/setdefault: no storageClassName, the default class's; the
    provisioner and binder play at once; storage.k8s.io/v1 StorageClasses are served and listed."""
    created = core.create_namespaced_persistent_volume_claim(NS, claim())
    assert (created.spec.storage_class_name, created.spec.volume_mode) == ("standard", "Filesystem")  # + its default
    assert (created.status.phase, created.status.capacity) == ("Bound", {"storage": "1Gi"})
    classes = client.StorageV1Api(api).list_storage_class().items
    assert [(c.metadata.name, c.allow_volume_expansion) for c in classes] == [("standard", True)]


def test_a_bound_claim_grows_but_never_shrinks_and_its_other_fields_stay(api, core):  # noqa: F811
    """ValidatePersistentVolumeClaimUpdate: a bound claim's storage request may change, not shrink (the
    RecoverVolumeExpansionFailure gate off, as in 1.31); the rest of the spec is immutable."""
    core.create_namespaced_persistent_volume_claim(NS, claim())
    status, obj, _ = patch(api, PVC, {"spec": {"resources": {"requests": {"storage": "2Gi"}}}})
    assert (status, obj["spec"]["resources"]["requests"]["storage"], obj["status"]["capacity"]) == (200, "2Gi", {"storage": "2Gi"})

    status, answer, _ = patch(api, PVC, {"spec": {"resources": {"requests": {"storage": "1Gi"}}}})
    assert status == 422
    assert answer["message"] == ('PersistentVolumeClaim "data" is invalid: spec.resources.requests.storage: Forbidden: '
                                 "field can not be less than previous value")
    status, answer, _ = patch(api, PVC, {"spec": {"accessModes": ["ReadWriteMany"]}})
    assert status == 422
    assert answer["message"].splitlines()[0] == (
        'PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except '
        "resources.requests and volumeAttributesClassName for bound claims")


def test_growing_needs_a_bound_claim_whose_class_allows_expansion(api, core):  # noqa: F811
    """resize admission (Validate, after validation): a class without allowVolumeExpansion is a 403 naming the claim;
    an unbound claim's request is part of its immutable spec (validation's 422 comes first)."""
    core.create_namespaced_persistent_volume_claim(NS, claim())
    status, sc, _ = raw(api, "GET", CLASS)
    status, answer, _ = raw(api, "PUT", CLASS, body={**sc, "provisioner": "other.io/x"}, content_type="application/json")
    assert (status, answer["message"]) == (  # ValidateStorageClassUpdate
        422, 'StorageClass.storage.k8s.io "standard" is invalid: provisioner: Forbidden: updates to provisioner are forbidden.')
    assert raw(api, "PUT", CLASS, body={**sc, "allowVolumeExpansion": False}, content_type="application/json")[0] == 200
    status, answer, _ = patch(api, PVC, {"spec": {"resources": {"requests": {"storage": "2Gi"}}}})
    assert status == 403
    assert answer["message"] == ('persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be '
                                 "resized and the storageclass that provisions the pvc must support resize")
    assert core.read_namespaced_persistent_volume_claim("data", NS).spec.resources.requests == {"storage": "1Gi"}

    pending = f"/api/v1/namespaces/{NS}/persistentvolumeclaims/pending"
    core.create_namespaced_persistent_volume_claim(NS, {**claim(storageClassName=""), "metadata": {"name": "pending"}})
    status, answer, _ = patch(api, pending, {"spec": {"resources": {"requests": {"storage": "2Gi"}}}})
    assert status == 422 and "spec is immutable after creation" in answer["message"]
