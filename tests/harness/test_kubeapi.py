"""The stand-in API server answers the real ``kubernetes`` client as kube-apiserver does.

Every test goes over HTTP from a kubeconfig, through the generated API classes
or the raw ``ApiClient`` transport that norn's adapter uses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pydantic
import pytest
import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.kubeapi import DEFAULT_CLOUDFLARED_CONFIG, KubeAPI, seed_cloudflared

REPO = Path(__file__).resolve().parents[2]
NS = "default"


@pytest.fixture
def api(kubeapi: KubeAPI):
    with config.new_client_from_config(config_file=str(kubeapi.kubeconfig)) as api_client:
        yield api_client


@pytest.fixture
def core(api) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def apps(api) -> client.AppsV1Api:
    return client.AppsV1Api(api)


def deployment(name: str = "web", image: str = "nginx:1.27", **labels: str) -> dict:
    labels = {"app": name, **labels}
    container = {"name": name, "image": image, "ports": [{"containerPort": 80}], "env": [{"name": "A", "value": "1"}]}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def service(name: str = "web", port: int = 80) -> dict:
    return {"metadata": {"name": name}, "spec": {"selector": {"app": name}, "ports": [{"port": port}]}}


def configmap(name: str, **labels: str) -> dict:
    return {"metadata": {"name": name, "labels": labels}, "data": {"key": "value"}}


def status_of(error: ApiException) -> dict:
    return json.loads(error.body)


def raw(api, method: str, path: str, body=None, content_type: str | None = None, query=None):
    """One request through the transport norn's adapter uses; returns (status, parsed body, headers)."""
    headers = {"Accept": "application/json", **({"Content-Type": content_type} if content_type else {})}
    _, url, headers, body, _ = api.param_serialize(
        method, path, query_params=query, header_params=headers, body=body, auth_settings=["BearerToken"]
    )
    response = api.call_api(method, url, header_params=headers, body=body)
    data = response.read()
    return response.status, json.loads(data) if data else None, response.headers


# create, read, errors


def test_create_answers_201_with_server_owned_metadata(kubeapi, apps):
    created = apps.create_namespaced_deployment(NS, deployment())

    meta = created.metadata
    assert meta.namespace == NS and meta.uid and meta.generation == 1
    assert isinstance(meta.resource_version, str) and meta.resource_version.isdigit()
    assert meta.creation_timestamp is not None
    assert kubeapi.requests[-1].status == 201
    assert kubeapi.get_object("deployments", NS, "web", group="apps")["metadata"]["uid"] == meta.uid


def test_resource_versions_come_from_one_global_counter(core):
    first = core.create_namespaced_config_map(NS, configmap("a"))
    second = core.create_namespaced_secret(NS, {"metadata": {"name": "b"}, "stringData": {"pw": "x"}})

    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    assert second.data == {"pw": "eA=="}  # stringData is stored as base64 data, as the real server does


def test_creating_twice_is_409_already_exists_with_the_real_status(apps, core):
    apps.create_namespaced_deployment(NS, deployment())
    core.create_namespaced_service(NS, service())

    with pytest.raises(ApiException) as raised:
        apps.create_namespaced_deployment(NS, deployment())
    with pytest.raises(ApiException) as raised_core:
        core.create_namespaced_service(NS, service())

    assert raised.value.status == 409
    assert status_of(raised.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "web" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "web", "group": "apps", "kind": "deployments"},
        "code": 409,
    }
    assert status_of(raised_core.value)["message"] == 'services "web" already exists'
    assert status_of(raised_core.value)["details"] == {"name": "web", "kind": "services"}


def test_reading_a_missing_object_is_404_not_found(apps):
    with pytest.raises(ApiException) as raised:
        apps.read_namespaced_deployment("web", NS)

    assert raised.value.status == 404
    assert status_of(raised.value)["reason"] == "NotFound"
    assert status_of(raised.value)["message"] == 'deployments.apps "web" not found'


def test_invalid_objects_are_422(apps, core):
    broken = deployment()
    broken["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(ApiException) as raised:
        apps.create_namespaced_deployment(NS, broken)
    assert raised.value.status == 422 and status_of(raised.value)["reason"] == "Invalid"
    assert "`selector` does not match template `labels`" in status_of(raised.value)["message"]

    with pytest.raises(ApiException) as raised:
        core.create_namespaced_service(NS, service("2web"))
    assert "DNS-1035 label" in status_of(raised.value)["message"]


def test_a_name_is_required_unless_one_is_generated(core):
    with pytest.raises(ApiException) as raised:
        core.create_namespaced_config_map(NS, {"data": {}})
    assert raised.value.status == 422
    assert status_of(raised.value)["message"] == (
        'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required'
    )

    generated = core.create_namespaced_config_map(NS, {"metadata": {"generateName": "job-"}})
    assert generated.metadata.name.startswith("job-") and len(generated.metadata.name) == len("job-") + 5


def test_a_namespace_in_the_body_must_match_the_url(core):
    with pytest.raises(ApiException) as raised:
        core.create_namespaced_config_map(NS, {"metadata": {"name": "a", "namespace": "other"}})
    assert raised.value.status == 400


def test_services_get_a_cluster_ip_that_survives_a_replace(core):
    created = core.create_namespaced_service(NS, service())
    replaced = core.replace_namespaced_service("web", NS, service(port=8080))

    assert created.spec.cluster_ip and replaced.spec.cluster_ip == created.spec.cluster_ip
    assert replaced.spec.ports[0].target_port == 8080 and replaced.spec.ports[0].protocol == "TCP"


# replace


def test_replace_bumps_the_resource_version_and_the_generation_on_spec_changes(apps):
    created = apps.create_namespaced_deployment(NS, deployment())
    body = apps.read_namespaced_deployment("web", NS)
    body.spec.replicas = 3

    replaced = apps.replace_namespaced_deployment("web", NS, body)

    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    assert replaced.metadata.generation == 2
    assert replaced.metadata.uid == created.metadata.uid


def test_replace_with_a_stale_resource_version_is_409_conflict(core):
    stale = core.create_namespaced_config_map(NS, configmap("cloudflared"))
    core.patch_namespaced_config_map("cloudflared", NS, {"data": {"key": "changed"}})
    stale.data = {"key": "mine"}

    with pytest.raises(ApiException) as raised:
        core.replace_namespaced_config_map("cloudflared", NS, stale)

    status = status_of(raised.value)
    assert raised.value.status == 409 and status["reason"] == "Conflict"
    assert status["message"] == (
        'Operation cannot be fulfilled on configmaps "cloudflared": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


def test_replacing_a_missing_object_is_404(core):
    with pytest.raises(ApiException) as raised:
        core.replace_namespaced_config_map("nope", NS, configmap("nope"))
    assert raised.value.status == 404


def test_a_write_that_changes_nothing_keeps_the_resource_version(core):
    created = core.create_namespaced_config_map(NS, configmap("a"))
    patched = core.patch_namespaced_config_map("a", NS, {"data": {"key": "value"}})
    assert patched.metadata.resource_version == created.metadata.resource_version


# patch


def test_strategic_merge_patch_restarts_like_kubectl_rollout_restart(kubeapi, apps):
    apps.create_namespaced_deployment(NS, deployment())
    stamp = "2026-11-27T10:00:00Z"

    patched = apps.patch_namespaced_deployment(
        "web", NS, {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}}
    )

    assert kubeapi.requests[-1].content_type == "application/strategic-merge-patch+json"
    assert patched.spec.template.metadata.annotations == {"kubectl.kubernetes.io/restartedAt": stamp}
    assert patched.spec.template.metadata.labels == {"app": "web"}
    assert patched.spec.template.spec.containers[0].image == "nginx:1.27"
    assert patched.metadata.generation == 2
    assert patched.status.observed_generation == 2  # auto_rollout: the rollout completes at once


def test_strategic_merge_patch_merges_containers_env_and_ports_by_key(apps):
    apps.create_namespaced_deployment(NS, deployment())
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.28",
                            "env": [{"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 443}],
                        },
                        {"name": "sidecar", "image": "busybox"},
                    ]
                }
            }
        }
    }

    containers = apps.patch_namespaced_deployment("web", NS, patch).spec.template.spec.containers

    assert [c.name for c in containers] == ["web", "sidecar"]
    assert containers[0].image == "nginx:1.28"
    # Without $setElementOrder, a new item comes before the live ones: apimachinery strategicpatch/patch.go
    # mergeSortedSlice takes the patch's item first unless both are in the live list (kustomize, which used it
    # before v3.8, prepended too: kubernetes-sigs/kustomize#2907).
    assert [e.name for e in containers[0].env] == ["B", "A"]
    assert [p.container_port for p in containers[0].ports] == [443, 80]

    delete = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    containers = apps.patch_namespaced_deployment("web", NS, delete).spec.template.spec.containers
    assert [c.name for c in containers] == ["web"]


def test_strategic_merge_patch_directives(apps):
    apps.create_namespaced_deployment(NS, deployment(tier="front"))
    patch = {
        "metadata": {"labels": {"$patch": "replace", "app": "web"}},
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}],
                    "containers": [{"name": "web", "image": "nginx:1.28"}],
                }
            }
        },
    }

    patched = apps.patch_namespaced_deployment("web", NS, patch)

    assert patched.metadata.labels == {"app": "web"}
    assert patched.spec.template.spec.containers[0].image == "nginx:1.28"


def test_merge_patch_replaces_lists_and_null_deletes(kubeapi, apps):
    apps.create_namespaced_deployment(NS, deployment(tier="front"))
    patch = {
        "metadata": {"labels": {"tier": None}},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}},
    }

    patched = apps.patch_namespaced_deployment("web", NS, patch, _content_type="application/merge-patch+json")

    assert kubeapi.requests[-1].content_type == "application/merge-patch+json"
    assert patched.metadata.labels == {"app": "web"}
    assert patched.spec.template.spec.containers[0].env is None  # the list was replaced whole


def test_json_patch_applies_each_operation(kubeapi, core):
    core.create_namespaced_config_map(NS, {"metadata": {"name": "a"}, "data": {"one": "1", "two": "2"}})
    operations = [
        {"op": "test", "path": "/data/one", "value": "1"},
        {"op": "add", "path": "/data/three", "value": "3"},
        {"op": "replace", "path": "/data/one", "value": "uno"},
        {"op": "remove", "path": "/data/two"},
        {"op": "copy", "from": "/data/one", "path": "/data/copied"},
        {"op": "move", "from": "/data/three", "path": "/data/moved"},
        {"op": "add", "path": "/metadata/labels", "value": {"example.com/c": "x"}},
    ]

    patched = core.patch_namespaced_config_map("a", NS, operations)

    assert kubeapi.requests[-1].content_type == "application/json-patch+json"  # a list body picks JSON patch
    assert patched.data == {"one": "uno", "copied": "uno", "moved": "3"}
    assert patched.metadata.labels == {"example.com/c": "x"}

    # A label key may hold "/" (escaped ~1), never "~" (IsLabelKey), so ~0 is not exercised here.
    remove_label = [{"op": "remove", "path": "/metadata/labels/example.com~1c"}]
    assert core.patch_namespaced_config_map("a", NS, remove_label).metadata.labels in (None, {})


def test_a_failing_json_patch_test_is_422_and_changes_nothing(kubeapi, core):
    core.create_namespaced_config_map(NS, configmap("a"))
    with pytest.raises(ApiException) as raised:
        core.patch_namespaced_config_map(
            "a", NS, [{"op": "test", "path": "/data/key", "value": "other"}, {"op": "remove", "path": "/data"}]
        )
    assert raised.value.status == 422
    assert kubeapi.get_object("configmaps", NS, "a")["data"] == {"key": "value"}


def test_a_resource_version_in_a_patch_is_a_precondition(core):
    created = core.create_namespaced_config_map(NS, configmap("a"))
    core.patch_namespaced_config_map("a", NS, {"data": {"key": "changed"}})

    with pytest.raises(ApiException) as raised:
        core.patch_namespaced_config_map(
            "a", NS, {"metadata": {"resourceVersion": created.metadata.resource_version}, "data": {"key": "mine"}}
        )
    assert raised.value.status == 409 and status_of(raised.value)["reason"] == "Conflict"


def test_patch_content_types_outside_the_three_are_415(api, core):
    core.create_namespaced_config_map(NS, configmap("a"))
    path = f"/api/v1/namespaces/{NS}/configmaps/a"

    status, body, _ = raw(api, "PATCH", path, body={"data": {}}, content_type="application/apply-patch+yaml")

    assert status == 415 and body["reason"] == "UnsupportedMediaType"


def test_patching_a_missing_object_is_404(apps):
    with pytest.raises(ApiException) as raised:
        apps.patch_namespaced_deployment("web", NS, {"spec": {"replicas": 2}})
    assert raised.value.status == 404


def test_the_status_subresource_is_written_apart_from_the_spec(kubeapi, apps):
    kubeapi.auto_rollout = False
    apps.create_namespaced_deployment(NS, deployment())

    apps.patch_namespaced_deployment_status("web", NS, {"status": {"readyReplicas": 1}})
    ignored = apps.patch_namespaced_deployment("web", NS, {"status": {"readyReplicas": 7}})

    assert ignored.status.ready_replicas == 1


def test_cronjobs_through_the_generated_batch_v1_api(api):
    batch = client.BatchV1Api(api)
    container = {"name": "backup", "image": "postgres:16", "command": ["pg_dump"]}
    body = {
        "metadata": {"name": "backup"},
        "spec": {
            "schedule": "0 3 * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [container], "restartPolicy": "Never"}}}},
        },
    }

    created = batch.create_namespaced_cron_job(NS, body)
    read = batch.read_namespaced_cron_job("backup", NS)
    read.spec.schedule = "0 4 * * *"
    replaced = batch.replace_namespaced_cron_job("backup", NS, read)
    patched = batch.patch_namespaced_cron_job("backup", NS, {"spec": {"suspend": True}})
    deleted = batch.delete_namespaced_cron_job("backup", NS)

    assert created.metadata.generation == 1 and replaced.metadata.generation == 2
    assert (patched.spec.schedule, patched.spec.suspend, patched.metadata.generation) == ("0 4 * * *", True, 3)
    assert deleted["status"] == "Success"

    empty = {"metadata": {"name": "nothing"}, "spec": {}}
    with pytest.raises(pydantic.ValidationError):  # v37 validates even dict bodies before sending
        batch.create_namespaced_cron_job(NS, empty)
    status, answer, _ = raw(api, "POST", f"/apis/batch/v1/namespaces/{NS}/cronjobs", body=empty)
    assert status == 422 and answer["message"] == (
        'CronJob.batch "nothing" is invalid: [spec.schedule: Required value, spec.jobTemplate: Required value]'
    )


def test_namespaces_are_cluster_scoped(core):
    core.create_namespace({"metadata": {"name": "apps"}})

    assert core.read_namespace("apps").metadata.name == "apps"
    assert "apps" in [n.metadata.name for n in core.list_namespace().items]
    core.delete_namespace("apps")
    with pytest.raises(ApiException) as raised:
        core.read_namespace("apps")
    assert status_of(raised.value)["message"] == 'namespaces "apps" not found'


def test_malformed_requests_are_400(api, core):
    created = core.create_namespaced_config_map(NS, configmap("a"))
    path = f"/api/v1/namespaces/{NS}/configmaps"

    assert raw(api, "GET", path, query=[("watch", "true")])[0] == 400
    assert raw(api, "POST", path, body=configmap("b"), query=[("dryRun", "Yes")])[0] == 400
    status, answer, _ = raw(api, "PUT", f"{path}/a", body=configmap("b"))
    assert status == 400 and answer["message"] == "the name of the object (b) does not match the name on the URL (a)"

    look_alike = {**configmap("a"), "metadata": {"name": "a", "uid": "not-" + created.metadata.uid}}
    status, answer, _ = raw(api, "PUT", f"{path}/a", body=look_alike)
    assert status == 409 and "Precondition failed: UID in precondition" in answer["message"]


# delete


def test_deleting_services_and_claims_answers_the_typed_object(core):
    core.create_namespaced_service(NS, service())
    claim = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    core.create_namespaced_persistent_volume_claim(NS, claim)

    deleted_service = core.delete_namespaced_service("web", NS)
    deleted_claim = core.delete_namespaced_persistent_volume_claim(
        "data", NS, body=client.V1DeleteOptions(propagation_policy="Background")
    )

    assert isinstance(deleted_service, client.V1Service) and deleted_service.metadata.name == "web"
    assert isinstance(deleted_claim, client.V1PersistentVolumeClaim)


def test_deleting_other_kinds_answers_a_success_status(kubeapi, apps, api):
    created = apps.create_namespaced_deployment(NS, deployment())

    answer = apps.delete_namespaced_deployment("web", NS, propagation_policy="Foreground")

    assert answer["status"] == "Success"
    assert answer["details"] == {"name": "web", "group": "apps", "kind": "deployments", "uid": created.metadata.uid}
    assert kubeapi.get_object("deployments", NS, "web", group="apps") is None
    assert kubeapi.requests[-1].query["propagationPolicy"] == "Foreground"
    with pytest.raises(ApiException) as raised:
        apps.delete_namespaced_deployment("web", NS)
    assert raised.value.status == 404 and status_of(raised.value)["reason"] == "NotFound"


def test_delete_preconditions_are_honoured(api, core):
    created = core.create_namespaced_config_map(NS, configmap("a"))
    path = f"/api/v1/namespaces/{NS}/configmaps/a"

    status, body, _ = raw(
        api, "DELETE", path, body={"preconditions": {"uid": "someone-else"}}, content_type="application/json"
    )
    assert status == 409 and "Precondition failed: UID in precondition: someone-else" in body["message"]

    status, _, _ = raw(
        api, "DELETE", path, body={"preconditions": {"uid": created.metadata.uid}}, content_type="application/json"
    )
    assert status == 200


# list


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["web-a", "web-b"]),
        ("app==web,tier=front", ["web-a"]),
        ("app!=web", ["db", "plain"]),
        ("tier in (front, back)", ["db", "web-a"]),
        ("tier notin (front)", ["db", "plain", "web-b"]),
        ("tier", ["db", "web-a"]),
        ("!tier", ["plain", "web-b"]),
        ("app=web,!tier", ["web-b"]),
        ("", ["db", "plain", "web-a", "web-b"]),
    ],
)
def test_label_selectors(core, selector, expected):
    core.create_namespaced_config_map(NS, configmap("web-a", app="web", tier="front"))
    core.create_namespaced_config_map(NS, configmap("web-b", app="web"))
    core.create_namespaced_config_map(NS, configmap("db", app="db", tier="back"))
    core.create_namespaced_config_map(NS, configmap("plain"))

    listed = core.list_namespaced_config_map(NS, label_selector=selector)

    assert [item.metadata.name for item in listed.items] == expected


def test_lists_look_like_the_real_servers(kubeapi, api, core):
    kubeapi.add_namespace("other")
    core.create_namespaced_config_map(NS, configmap("a"))
    core.create_namespaced_config_map("other", configmap("b"))

    status, body, _ = raw(
        api, "GET", f"/api/v1/namespaces/{NS}/configmaps", query=[("fieldSelector", "metadata.name=a")]
    )

    assert status == 200 and body["kind"] == "ConfigMapList" and body["apiVersion"] == "v1"
    assert body["metadata"]["resourceVersion"].isdigit()
    assert [item["metadata"]["name"] for item in body["items"]] == ["a"]
    assert "kind" not in body["items"][0]  # items come without kind and apiVersion
    assert raw(api, "GET", f"/api/v1/namespaces/{NS}/configmaps", query=[("labelSelector", "a in b")])[0] == 400


def test_cluster_wide_lists(kubeapi, apps):
    kubeapi.add_namespace("one")
    kubeapi.add_namespace("two")
    apps.create_namespaced_deployment("one", deployment("web"))
    apps.create_namespaced_deployment("two", deployment("api"))

    listed = apps.list_deployment_for_all_namespaces(label_selector="app")

    assert [(d.metadata.namespace, d.metadata.name) for d in listed.items] == [("one", "web"), ("two", "api")]


# the raw transport, discovery, unknown paths


def test_the_raw_transport_round_trips(api):
    status, created, _ = raw(
        api,
        "POST",
        f"/apis/batch/v1/namespaces/{NS}/cronjobs",
        body={
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "backup"},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {"spec": {"template": {"spec": {"containers": [], "restartPolicy": "Never"}}}},
            },
        },
        content_type="application/json",
    )
    assert status == 201 and created["metadata"]["generation"] == 1

    method, url, headers, _, _ = api.param_serialize(
        "GET",
        f"/apis/batch/v1/namespaces/{NS}/cronjobs/backup",
        auth_settings=["BearerToken"],
        header_params={"Accept": "application/json"},
    )
    response = api.call_api(method, url, header_params=headers)
    response.read()
    cronjob = api.response_deserialize(response, {"200": "V1CronJob"}).data
    assert cronjob.spec.schedule == "0 3 * * *"

    response = api.call_api("GET", url.replace("backup", "nope"), header_params=headers)
    response.read()
    with pytest.raises(ApiException) as raised:
        api.response_deserialize(response, {"200": "V1CronJob"})
    assert raised.value.status == 404


def test_discovery_and_unknown_paths(api):
    assert client.VersionApi(api).get_code().git_version == "v1.31.0"
    groups = {g["name"] for g in raw(api, "GET", "/apis")[1]["groups"]}
    assert {"apps", "batch", "coordination.k8s.io"} <= groups
    assert raw(api, "GET", "/api")[1]["versions"] == ["v1"]
    names = [r["name"] for r in raw(api, "GET", "/apis/apps/v1")[1]["resources"]]
    assert names == ["deployments", "deployments/status"]
    assert raw(api, "GET", f"/api/v1/namespaces/{NS}/widgets")[1]["reason"] == "NotFound"
    assert raw(api, "GET", "/apis/example.com/v1/things")[0] == 404


# the request log, auth, dry run, helpers


def test_the_request_log_records_what_was_asked_and_answered(kubeapi, core):
    core.create_namespaced_config_map(NS, configmap("a"))
    core.read_namespaced_config_map("a", NS)
    core.patch_namespaced_config_map("a", NS, {"data": {"key": "new"}})

    post = kubeapi.requests[0]
    assert (post.method, post.path, post.status, post.body["metadata"]["name"]) == (
        "POST",
        f"/api/v1/namespaces/{NS}/configmaps",
        201,
        "a",
    )
    assert kubeapi.count() == 3 and kubeapi.count("GET") == 1 and kubeapi.count(path_contains="/configmaps/a") == 2
    assert [r.method for r in kubeapi.writes()] == ["POST", "PATCH"]
    kubeapi.clear_log()
    assert kubeapi.requests == []


def test_the_kubeconfig_carries_a_bearer_token(kubeapi, core):
    core.list_namespaced_config_map(NS)
    assert kubeapi.requests[-1].authorization == f"Bearer {kubeapi.token}"


def test_require_token_rejects_a_wrong_token_with_401(kubeapi, core):
    kubeapi.require_token = True
    core.list_namespaced_config_map(NS)

    kubeapi.token = "rotated"  # the kubeconfig still holds the old one
    with pytest.raises(ApiException) as raised:
        core.list_namespaced_config_map(NS)

    assert raised.value.status == 401 and status_of(raised.value)["reason"] == "Unauthorized"


def test_write_kubeconfig_names_a_context_and_a_namespace(kubeapi, tmp_path):
    path = kubeapi.write_kubeconfig(tmp_path / "other", context="demo", namespace="apps")

    _, active = config.list_kube_config_contexts(str(path))
    assert active == {"name": "demo", "context": {"cluster": "demo", "user": "demo", "namespace": "apps"}}
    assert kubeapi.kubeconfig == path


def test_dry_run_answers_without_storing(kubeapi, core):
    answer = core.create_namespaced_config_map(NS, configmap("a"), dry_run="All")
    assert answer.metadata.name == "a" and kubeapi.get_object("configmaps", NS, "a") is None
    assert kubeapi.requests[-1].query == {"dryRun": "All"}

    core.create_namespaced_config_map(NS, configmap("a"))
    core.patch_namespaced_config_map("a", NS, {"data": {"key": "dry"}}, dry_run="All")
    core.delete_namespaced_config_map("a", NS, dry_run="All")
    assert kubeapi.get_object("configmaps", NS, "a")["data"] == {"key": "value"}


def lease(name: str = "lock", **spec) -> dict:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name}, "spec": spec}


@pytest.mark.parametrize("when", ["2026-11-27T10:00:00.000001Z", "2026-11-27T10:00:00.123456+02:00"])
def test_lease_micro_times_with_six_fraction_digits_are_stored(api, when):
    status, created, _ = raw(api, "POST", f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases", lease(renewTime=when))
    assert status == 201 and created["spec"]["renewTime"] == when


@pytest.mark.parametrize("when", ["2026-11-27T10:00:00.123Z", "2026-11-27T10:00:00Z", "yesterday"])
def test_lease_micro_times_in_another_format_are_400(api, when):
    status, body, _ = raw(api, "POST", f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases", lease(acquireTime=when))
    assert status == 400 and body["reason"] == "BadRequest"
    assert "cannot be handled as a Lease" in body["message"] and when in body["message"]


def test_a_lease_duration_must_be_positive(api):
    status, body, _ = raw(api, "POST", f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases", lease(leaseDurationSeconds=0))
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.leaseDurationSeconds"


def test_secret_data_must_be_base64(core):
    body = {"metadata": {"name": "s"}, "data": {"ok": "aGk=", "bad": "{not base64}"}}
    with pytest.raises(ApiException) as error:
        core.create_namespaced_secret(NS, body)
    assert error.value.status == 400 and "illegal base64 data" in status_of(error.value)["message"]
    body["data"].pop("bad")
    assert core.create_namespaced_secret(NS, body).data == {"ok": "aGk="}


def test_seed_and_direct_access(kubeapi, core):
    seeded = kubeapi.seed({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "x"}})
    assert core.read_namespaced_config_map("a", "x").metadata.uid == seeded["metadata"]["uid"]
    assert [o["metadata"]["name"] for o in kubeapi.objects("configmaps")] == ["a"]
    assert kubeapi.remove("configmaps", "x", "a") and kubeapi.get_object("configmaps", "x", "a") is None


def test_seed_cloudflared_puts_the_operators_objects_in_place(kubeapi, apps, core):
    seed_cloudflared(kubeapi)

    data = core.read_namespaced_config_map("cloudflared", "cloudflared").data
    deployed = apps.read_namespaced_deployment("cloudflared", "cloudflared")
    assert data == {"config.yaml": DEFAULT_CLOUDFLARED_CONFIG}
    assert (
        "- hostname: grafana.example.com" in DEFAULT_CLOUDFLARED_CONFIG
        and "http_status:404" in DEFAULT_CLOUDFLARED_CONFIG
    )
    assert deployed.spec.replicas == 1 and deployed.status.ready_replicas == 1


def test_the_cluster_fixture_seeds_cloudflared(cluster):
    assert cluster.get_object("configmaps", "cloudflared", "cloudflared") is not None
    assert os.environ["KUBECONFIG"] == str(cluster.kubeconfig)


# faults


def test_an_injected_status_fails_the_nth_matching_request_only(kubeapi, core):
    kubeapi.inject(method="POST", path_contains="/configmaps", status=500, nth=2)
    core.create_namespaced_config_map(NS, configmap("a"))

    with pytest.raises(ApiException) as raised:
        core.create_namespaced_config_map(NS, configmap("b"))
    core.create_namespaced_config_map(NS, configmap("c"))

    assert raised.value.status == 500 and status_of(raised.value)["reason"] == "InternalError"
    assert kubeapi.get_object("configmaps", NS, "b") is None
    assert [r.status for r in kubeapi.requests] == [201, 500, 201]


def test_a_fault_with_times_none_fails_every_request_from_the_nth(kubeapi, core):
    kubeapi.inject(method="PATCH", status=403, times=None)
    core.create_namespaced_config_map(NS, configmap("a"))
    for _ in range(2):
        with pytest.raises(ApiException) as raised:
            core.patch_namespaced_config_map("a", NS, {"data": {}})
        assert raised.value.status == 403 and status_of(raised.value)["reason"] == "Forbidden"
    kubeapi.clear_faults()
    core.patch_namespaced_config_map("a", NS, {"data": {"key": "ok"}})


def test_retry_after_reaches_the_caller_of_a_post(kubeapi, core):
    kubeapi.inject(method="POST", status=429, retry_after=7)

    with pytest.raises(ApiException) as raised:
        core.create_namespaced_config_map(NS, configmap("a"))

    assert raised.value.status == 429 and raised.value.headers["Retry-After"] == "7"
    assert status_of(raised.value)["details"] == {"retryAfterSeconds": 7}
    assert kubeapi.count("POST") == 1  # the client never retries a POST


def test_the_client_retries_a_get_answered_429_with_retry_after(kubeapi, core):
    core.create_namespaced_config_map(NS, configmap("a"))
    kubeapi.clear_log()
    kubeapi.inject(method="GET", status=429, retry_after=0)

    assert core.read_namespaced_config_map("a", NS).metadata.name == "a"
    assert [r.status for r in kubeapi.requests] == [429, 200]


def test_the_client_gives_up_on_a_get_after_three_retries(kubeapi, core):
    kubeapi.inject(method="GET", status=503, retry_after=0, times=None)

    with pytest.raises(ApiException) as raised:
        core.read_namespaced_config_map("a", NS)

    assert raised.value.status == 503 and kubeapi.count("GET") == 4


def test_a_delay_slows_a_request_and_a_client_timeout_fires(kubeapi, core):
    kubeapi.inject(method="POST", delay=0.3)
    started = time.monotonic()

    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        core.create_namespaced_config_map(NS, configmap("a"), _request_timeout=0.1)

    time.sleep(0.3)  # the server goes on and stores it: the client never heard
    assert time.monotonic() - started < 1
    assert kubeapi.get_object("configmaps", NS, "a") is not None


def test_a_dropped_post_raises_and_stores_nothing(kubeapi, core):
    kubeapi.inject(method="POST", drop=True)

    with pytest.raises(urllib3.exceptions.ProtocolError):
        core.create_namespaced_config_map(NS, configmap("a"))

    assert kubeapi.get_object("configmaps", NS, "a") is None
    assert kubeapi.requests[-1].dropped and kubeapi.requests[-1].status is None


def test_the_client_retries_a_dropped_get(kubeapi, core):
    core.create_namespaced_config_map(NS, configmap("a"))
    kubeapi.clear_log()
    kubeapi.inject(method="GET", drop=True)

    assert core.read_namespaced_config_map("a", NS).metadata.name == "a"
    assert [r.dropped for r in kubeapi.requests] == [True, False]


@pytest.mark.parametrize("fault", [{"status": 504}, {"drop": True}])
def test_after_applies_the_request_before_failing(kubeapi, core, fault):
    kubeapi.inject(method="POST", after=True, **fault)

    with pytest.raises((ApiException, urllib3.exceptions.ProtocolError)):
        core.create_namespaced_config_map(NS, configmap("a"))

    assert kubeapi.get_object("configmaps", NS, "a") is not None
    with pytest.raises(ApiException) as raised:
        core.create_namespaced_config_map(NS, configmap("a"))
    assert status_of(raised.value)["reason"] == "AlreadyExists"


def test_latency_applies_to_every_request(kubeapi, core):
    kubeapi.latency = 0.05
    started = time.monotonic()
    core.list_namespaced_config_map(NS)
    core.list_namespaced_config_map(NS)
    assert time.monotonic() - started >= 0.1


def test_stop_closes_kept_alive_connections(kubeapi, core):
    core.list_namespaced_config_map(NS)
    kubeapi.stop()
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        core.list_namespaced_config_map(NS, _request_timeout=1)


# running it on its own


def test_python_m_tests_kubeapi_serves_until_sigterm(tmp_path):
    kubeconfig, ready = tmp_path / "kubeconfig", tmp_path / "ready"
    command = [
        sys.executable,
        "-m",
        "tests.kubeapi",
        "--kubeconfig",
        str(kubeconfig),
        "--seed-cloudflared",
        "--ready-file",
        str(ready),
    ]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        url = ready.read_text().strip()
        with config.new_client_from_config(config_file=str(kubeconfig)) as api:
            assert api.configuration.host == url
            assert client.CoreV1Api(api).read_namespaced_config_map("cloudflared", "cloudflared").data
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert stdout == f"stand-in Kubernetes API at {url}\n" and stderr == ""
