"""Strategic merge patch for in-place updates (issue 16), checked against the real thing.

The rules are apimachinery's pkg/util/strategicpatch/patch.go (github.com/kubernetes/apimachinery):
CreateTwoWayMergePatch -> diffMaps (a removed key is null; $retainKeys, hasAdditionalNewField), handleSliceDiff and
diffLists/diffListsOfMaps (changed items carry their merge key; deletions as {"$patch": "delete"} after the changes,
sorted by key; $setElementOrder when the patch list is non-empty or isOrderSame is false; an empty original list
is sent whole); StrategicMergePatch -> mergeMap (applyRetainKeysDirective, mergePatchIntoOriginal), mergeSlice,
normalizeElementOrder and mergeSortedSlice (the order of a merged list). The merge keys are the struct tags of
github.com/kubernetes/api core/v1/types.go (PodSpec.Containers/InitContainers/ImagePullSecrets "name", Volumes
"merge,retainKeys" "name", Container.Env "name", Ports "containerPort", VolumeMounts "mountPath",
ServiceSpec.Ports "port"; EnvFrom, Command and PersistentVolumeClaimSpec.AccessModes have none: atomic).

Every expected patch below is what kubectl v1.32 sent for the same edit (`kubectl edit --output-patch`, which
calls CreateTwoWayMergePatch in pkg/cmd/util/editor/editoptions.go), and every expected result what
`kubectl patch --local --type strategic` (StrategicMergePatch) printed.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from norn.infraspec.model import Infraspec
from norn.kube import smp
from norn.kube.smp import Change, apply, field_changes, merge_key, project, two_way, unified_diff
from norn.settings import Settings, load
from norn.steps import manifests

POD = ("spec", "template", "spec")
CRON_POD = ("spec", "jobTemplate", "spec", "template", "spec")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return load({"NORN_NAMESPACE": "apps", "NORN_STATE_DIR": str(tmp_path)})


def web(**overrides: Any) -> Infraspec:
    data: dict[str, Any] = {
        "app": "web", "role": "webserver", "port": 8080, "healthcheck": "/health", "replicas": 2,
        "hosts": {"internal": "web-svc"}, "env": {"LOG_LEVEL": "info"},
        "volumes": [{"name": "data", "mountPath": "/data", "size": "1Gi"}],
    }
    data.update(overrides)
    return Infraspec.model_validate(data)


def deployment(containers: list, volumes: list | None = None, replicas: int = 2) -> dict:
    pod: dict[str, Any] = {"containers": containers}
    if volumes is not None:
        pod["volumes"] = volumes
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "template": {"spec": pod}}}


def container(env: list[tuple[str, str]] | None = None, **fields: Any) -> dict:
    result: dict[str, Any] = {"name": "web", "image": "web:latest"}
    if env is not None:
        result["env"] = [{"name": name, "value": value} for name, value in env]
    return result | fields


def pod_patch(**fields: Any) -> dict:
    return {"spec": {"template": {"spec": fields}}}


def in_container(**fields: Any) -> dict:
    return pod_patch(**{"$setElementOrder/containers": [{"name": "web"}], "containers": [{"name": "web", **fields}]})


# merge keys: path-aware, from the struct tags


@pytest.mark.parametrize("path, key", [
    (POD + ("containers",), "name"), (POD + ("initContainers",), "name"),
    (POD + ("containers", "env"), "name"), (POD + ("containers", "ports"), "containerPort"),
    (POD + ("containers", "volumeMounts"), "mountPath"), (POD + ("volumes",), "name"),
    (POD + ("imagePullSecrets",), "name"), (CRON_POD + ("containers", "env"), "name"),
    (("spec", "ports"), "port"),  # a Service's ports: by port, not containerPort
    (POD + ("containers", "envFrom"), None), (CRON_POD + ("containers", "command"), None),
    (("spec", "accessModes"), None), (("metadata", "labels"), None), (("spec", "containers"), None),
])
def test_merge_keys_depend_on_where_the_list_is(path, key):
    assert merge_key(path) == key


# two_way: CreateTwoWayMergePatch


def test_equal_objects_need_no_patch(settings):
    desired = manifests.deployment(web(), settings)
    assert two_way(desired, copy.deepcopy(desired)) is None


def test_a_changed_scalar_is_sent_alone():
    assert two_way(deployment([container()]), deployment([container()], replicas=4)) == {"spec": {"replicas": 4}}


def test_a_removed_map_key_is_null():
    old = deployment([container(readinessProbe={"httpGet": {"path": "/a", "port": 80}, "periodSeconds": 10})])
    assert two_way(old, deployment([container()])) == in_container(readinessProbe=None)


def test_a_changed_leaf_deep_in_a_merge_item_carries_the_merge_key():
    probe = {"httpGet": {"path": "/a", "port": 80}, "periodSeconds": 10}
    new_probe = {"httpGet": {"path": "/b", "port": 80}, "periodSeconds": 10}
    assert two_way(deployment([container(readinessProbe=probe)]), deployment([container(readinessProbe=new_probe)])) \
        == in_container(readinessProbe={"httpGet": {"path": "/b"}})


ENV = [("A", "1"), ("B", "2")]


@pytest.mark.parametrize("old, new, fields", [
    (ENV, ENV + [("C", "3")], {"env": [{"name": "C", "value": "3"}],
                               "$setElementOrder/env": [{"name": "A"}, {"name": "B"}, {"name": "C"}]}),
    (ENV, [("A", "1"), ("B", "9")], {"env": [{"name": "B", "value": "9"}],
                                     "$setElementOrder/env": [{"name": "A"}, {"name": "B"}]}),
    (ENV + [("C", "3")], [("A", "1"), ("C", "3")], {"env": [{"$patch": "delete", "name": "B"}],
                                                    "$setElementOrder/env": [{"name": "A"}, {"name": "C"}]}),
    # only the order changed: $setElementOrder alone
    (ENV, [("B", "2"), ("A", "1")], {"$setElementOrder/env": [{"name": "B"}, {"name": "A"}]}),
    # additions and changes in the new order, then the deletions sorted by key
    ([("Z", "1"), ("B", "2"), ("A", "0")], [("B", "2"), ("C", "3")],
     {"env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "A"}, {"$patch": "delete", "name": "Z"}],
      "$setElementOrder/env": [{"name": "B"}, {"name": "C"}]}),
    (ENV, None, {"env": None}),  # the last env var gone: norn omits the list
    ([], ENV, {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}),  # was empty: sent whole
])
def test_env_is_merged_by_name(old, new, fields):
    assert two_way(deployment([container(old)]), deployment([container(new)])) == in_container(**fields)


def test_a_new_port_replaces_the_old_item_by_container_port():
    old = deployment([container(ports=[{"name": "http", "containerPort": 8080, "protocol": "TCP"}])])
    new = deployment([container(ports=[{"name": "http", "containerPort": 9090, "protocol": "TCP"}])])
    assert two_way(old, new) == in_container(
        ports=[{"name": "http", "containerPort": 9090, "protocol": "TCP"}, {"$patch": "delete", "containerPort": 8080}],
        **{"$setElementOrder/ports": [{"containerPort": 9090}]})


def test_volume_mounts_are_merged_by_mount_path():
    old = deployment([container(volumeMounts=[{"name": "d", "mountPath": "/a"}])])
    new = deployment([container(volumeMounts=[{"name": "d", "mountPath": "/b"}])])
    assert two_way(old, new) == in_container(
        volumeMounts=[{"name": "d", "mountPath": "/b"}, {"$patch": "delete", "mountPath": "/a"}],
        **{"$setElementOrder/volumeMounts": [{"mountPath": "/b"}]})


def test_a_volume_whose_source_changes_keeps_only_the_new_source():
    """Volumes are "merge,retainKeys": the changed item lists the keys to keep and nulls the old source."""
    old = deployment([container()], [{"name": "data", "hostPath": {"path": "/x", "type": "DirectoryOrCreate"}}])
    new = deployment([container()], [{"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}}])
    patch = two_way(old, new)
    assert patch == pod_patch(**{
        "volumes": [{"name": "data", "$retainKeys": ["name", "persistentVolumeClaim"], "hostPath": None,
                     "persistentVolumeClaim": {"claimName": "web-data"}}],
        "$setElementOrder/volumes": [{"name": "data"}]})
    assert apply(old, patch) == new


def test_a_volume_changed_within_its_source_lists_its_keys_too():
    old = deployment([container()], [{"name": "data", "hostPath": {"path": "/x", "type": "DirectoryOrCreate"}}])
    new = deployment([container()], [{"name": "data", "hostPath": {"path": "/y", "type": "DirectoryOrCreate"}}])
    assert two_way(old, new) == pod_patch(**{
        "volumes": [{"name": "data", "$retainKeys": ["hostPath", "name"], "hostPath": {"path": "/y"}}],
        "$setElementOrder/volumes": [{"name": "data"}]})


def test_lists_without_a_merge_key_are_sent_whole():
    old = deployment([container(command=["a"], envFrom=[{"secretRef": {"name": "s"}}])])
    new = deployment([container(command=["b"], envFrom=[{"secretRef": {"name": "s", "optional": True}}])])
    assert two_way(old, new) == in_container(command=["b"], envFrom=[{"secretRef": {"name": "s", "optional": True}}])


def test_a_service_port_is_merged_by_port(settings):
    old = manifests.service(web(), settings)
    new = manifests.service(web(port=9090), settings)
    assert two_way(old, new) == {"spec": {"ports": [{"port": 80, "targetPort": 9090}],
                                          "$setElementOrder/ports": [{"port": 80}]}}


def test_quantities_compare_by_value(settings):
    old = manifests.persistent_volume_claims(web(), "apps")[0]
    same = manifests.persistent_volume_claims(web(volumes=[{"name": "data", "mountPath": "/data",
                                                            "size": "1024Mi"}]), "apps")[0]
    grown = manifests.persistent_volume_claims(web(volumes=[{"name": "data", "mountPath": "/data",
                                                             "size": "2Gi"}]), "apps")[0]
    assert two_way(old, same) is None
    assert two_way(old, grown) == {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}


def test_the_image_and_pull_policy_are_never_in_a_patch(settings):
    """The deploy pipeline owns them after the create (NOT_NORNS, which drift uses too)."""
    old = manifests.deployment(web(), settings)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0].update(image="reg.example.com/web:v9", imagePullPolicy="Always")
    assert two_way(old, new) is None
    cron_old, cron_new = manifests.cronjob(nightly(), settings), manifests.cronjob(nightly(), settings)
    cron_new["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] = "other"
    assert two_way(cron_old, cron_new) is None


def nightly(**overrides: Any) -> Infraspec:
    data = {"app": "nightly", "role": "cron", "schedule": "0 3 * * *", "command": "run", "timeout": 300}
    return Infraspec.model_validate(data | overrides)


# apply: StrategicMergePatch


EDITS = [
    {"replicas": 4}, {"env": {"LOG_LEVEL": "debug", "NEW": "1"}}, {"env": {}}, {"port": 9090},
    {"healthcheck": "/ready"}, {"healthcheck": None}, {"secrets": ["TOKEN"]},
    {"services": {"postgres": {"database": "db"}}},
    {"volumes": [{"name": "data", "mountPath": "/data", "hostPath": "/srv/data"}]},
    {"volumes": [{"name": "logs", "mountPath": "/logs", "size": "1Gi"},
                 {"name": "data", "mountPath": "/data", "size": "1Gi"}]},
    {"volumes": []},
]


@pytest.mark.parametrize("edit", EDITS)
def test_the_patch_turns_the_old_manifest_into_the_new(settings, edit):
    for build in (manifests.deployment, manifests.service):
        old, new = build(web(), settings), build(web(**edit), settings)
        patch = two_way(old, new)
        assert (apply(old, patch) if patch else old) == new


@pytest.mark.parametrize("edit", [{"schedule": "0 4 * * *"}, {"command": "other"}, {"timeout": 600},
                                  {"env": {"A": "1"}}, {"secrets": ["S"]}])
def test_the_patch_turns_the_old_cronjob_into_the_new(settings, edit):
    old, new = manifests.cronjob(nightly(), settings), manifests.cronjob(nightly(**edit), settings)
    assert apply(old, two_way(old, new)) == new


def live_with_others(obj: dict) -> dict:
    """What others added: a label, a sidecar first, an env var, a volume, and the pipeline's image."""
    live = copy.deepcopy(obj)
    live["metadata"]["labels"] = {"team": "x"}
    pod = live["spec"]["template"]["spec"]
    pod["containers"].insert(0, {"name": "aaa-sidecar", "image": "proxy:1"})
    pod["containers"][-1]["image"] = "reg.example.com/web:v42"
    pod["containers"][-1].setdefault("env", []).insert(1, {"name": "OTHER", "value": "o"})
    pod.setdefault("volumes", []).insert(0, {"name": "istio", "emptyDir": {}})
    return live


def test_applying_keeps_what_others_added_in_their_places():
    old = deployment([container([("Z", "1"), ("B", "2"), ("A", "0")])],
                     [{"name": "data", "hostPath": {"path": "/x"}}])
    new = deployment([container([("B", "2"), ("C", "3")])], [{"name": "data", "persistentVolumeClaim": {"claimName": "c"}}])
    result = apply(live_with_others(old), two_way(old, new))
    assert result["metadata"]["labels"] == {"team": "x"}
    pod = result["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["aaa-sidecar", "web"]
    assert pod["containers"][1]["image"] == "reg.example.com/web:v42"
    assert pod["containers"][1]["env"] == [{"name": "OTHER", "value": "o"}, {"name": "B", "value": "2"},
                                           {"name": "C", "value": "3"}]
    assert pod["volumes"] == [{"name": "istio", "emptyDir": {}}, {"name": "data", "persistentVolumeClaim": {"claimName": "c"}}]


@pytest.mark.parametrize("old, new, live, merged", [
    ("AB", "BA", "XAYB", "XYBA"), ("AB", "BA", "AXBY", "XBAY"), ("AB", "ABC", "BXA", "XABC"),
    ("ABC", "CB", "CYAXB", "CYXB"),
    # Go deletes and appends in place, so $setElementOrder orders by the shifted array: Y before C.
    ("ZBA", "BC", "XZBYA", "XBYC"),
])
def test_the_order_of_a_merged_list_is_the_servers(old, new, live, merged):
    """What `kubectl patch --local` printed for each: the patch's items in $setElementOrder's order, others'
    items kept where they were relative to them (normalizeElementOrder, mergeSortedSlice)."""
    def env_of(names: str) -> dict:
        return deployment([container([(name, "v") for name in names])])
    result = apply(env_of(live), two_way(env_of(old), env_of(new)))
    assert "".join(e["name"] for e in result["spec"]["template"]["spec"]["containers"][0]["env"]) == merged


# project: the live object in the shape of the desired one


def test_project_keeps_the_shape_of_the_desired(settings):
    desired = manifests.deployment(web(), settings)
    live = copy.deepcopy(desired)
    live["metadata"] |= {"uid": "u1", "resourceVersion": "7"}
    live["spec"]["strategy"] = {"type": "RollingUpdate"}
    probe = live["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    probe["httpGet"]["scheme"], probe["timeoutSeconds"] = "HTTP", 1
    assert project(live, desired) == desired


def test_project_matches_merge_items_by_key_and_keeps_atomic_lists_whole():
    shape = deployment([container([("A", "1"), ("B", "2")], envFrom=[{"secretRef": {"name": "s"}}])])
    live = deployment([container([("X", "9"), ("B", "3")], envFrom=[{"secretRef": {"name": "s"}}, {"prefix": "P"}]),
                       {"name": "sidecar", "image": "proxy"}])
    projected = project(live, shape)
    assert projected["spec"]["template"]["spec"]["containers"] == [
        container([("B", "3")], envFrom=[{"secretRef": {"name": "s"}}, {"prefix": "P"}])]


def test_repair_restores_norns_fields_and_touches_nothing_else(settings):
    desired = manifests.deployment(web(), settings)
    live = copy.deepcopy(desired)
    live["spec"]["replicas"] = 5
    live["spec"]["strategy"] = {"type": "RollingUpdate"}
    pod = live["spec"]["template"]["spec"]
    ours = pod["containers"][0]
    ours.update(image="reg.example.com/web:v42", imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/x")
    ours["env"] = [{"name": "LOG_LEVEL", "value": "debug"}, {"name": "X", "value": "theirs"}]
    del ours["volumeMounts"], pod["volumes"]
    pod["containers"].append({"name": "sidecar", "image": "envoy"})

    patch = two_way(project(live, desired), desired)
    assert "image" not in str(patch) and "sidecar" not in str(patch) and "strategy" not in str(patch)
    repaired = apply(live, patch)
    assert field_changes(project(repaired, desired), desired) == []  # norn's fields are back
    pod = repaired["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "reg.example.com/web:v42" and pod["containers"][1]["name"] == "sidecar"
    assert {"name": "X", "value": "theirs"} in pod["containers"][0]["env"] and repaired["spec"]["strategy"]
    assert two_way(project(repaired, desired), desired) is None


# field_changes


def test_field_changes_name_each_leaf_with_readable_paths(settings):
    old = manifests.deployment(web(), settings)
    new = manifests.deployment(web(replicas=4, env={"LOG_LEVEL": "debug", "NEW": "1"}, port=9090), settings)
    web_container = "spec.template.spec.containers[name=web]"
    changes = field_changes(old, new)
    assert Change("spec.replicas", 2, 4) in changes
    assert Change(f"{web_container}.env[name=LOG_LEVEL].value", "info", "debug") in changes
    assert Change(f"{web_container}.env[name=NEW]", None, {"name": "NEW", "value": "1"}) in changes
    assert Change(f"{web_container}.ports[containerPort=9090]", None,
                  {"name": "http", "containerPort": 9090, "protocol": "TCP"}) in changes
    assert Change(f"{web_container}.ports[containerPort=8080]",
                  {"name": "http", "containerPort": 8080, "protocol": "TCP"}, None) in changes
    assert Change(f"{web_container}.readinessProbe.httpGet.port", 8080, 9090) in changes


def test_field_changes_of_a_service_a_claim_and_labels(settings):
    assert field_changes(manifests.service(web(), settings), manifests.service(web(port=9090), settings)) == [
        Change("spec.ports[port=80].targetPort", 8080, 9090)]
    claim = manifests.persistent_volume_claims(web(), "apps")[0]
    bigger = copy.deepcopy(claim)
    bigger["spec"]["resources"]["requests"]["storage"] = "1024Mi"
    assert field_changes(claim, bigger) == []
    bigger["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert field_changes(claim, bigger) == [Change("spec.resources.requests.storage", "1Gi", "2Gi")]
    relabelled = copy.deepcopy(claim)
    relabelled["metadata"]["labels"]["app.kubernetes.io/name"] = "x"
    assert field_changes(claim, relabelled)[0].path == 'metadata.labels["app.kubernetes.io/name"]'


def test_field_changes_skip_the_image_and_replace_atomic_lists(settings):
    old, new = manifests.cronjob(nightly(), settings), manifests.cronjob(nightly(command="other"), settings)
    new["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] = "reg/x:1"
    assert field_changes(old, new) == [Change(
        "spec.jobTemplate.spec.template.spec.containers[name=nightly].command",
        ["/bin/sh", "-c", "run"], ["/bin/sh", "-c", "other"])]
    assert field_changes(old, old) == []


def test_a_change_as_json():
    assert Change("spec.replicas", 2, 4).to_json() == {"path": "spec.replicas", "from": 2, "to": 4}


# unified_diff: as kubectl diff shows it


def test_unified_diff_names_files_as_kubectl_diff_and_drops_managed_fields(settings):
    """kubectl pkg/cmd/diff/diff.go: InfoObject.Name is [group.]version.Kind.namespace.name; Differ.Diff omits
    managedFields (omitManagedFields); Printer prints YAML."""
    live = manifests.deployment(web(), settings)
    live["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    merged = apply(live, {"spec": {"replicas": 4}})
    diff = unified_diff(live, merged)
    assert diff.splitlines()[:2] == ["--- LIVE/apps.v1.Deployment.apps.web", "+++ MERGED/apps.v1.Deployment.apps.web"]
    assert "-  replicas: 2\n+  replicas: 4\n" in diff and "managedFields" not in diff
    assert unified_diff(live, live) == ""


def test_diff_names_of_core_and_grouped_kinds(settings):
    assert smp.diff_name(manifests.service(web(), settings)) == "v1.Service.apps.web-svc"
    assert smp.diff_name(manifests.cronjob(nightly(), settings)) == "batch.v1.CronJob.apps.nightly"


def test_the_yaml_quotes_and_indents_as_kubectl_prints_it():
    """What `kubectl create configmap x --from-literal=... --dry-run=client -o yaml` printed (sigs.k8s.io/yaml):
    strings that would read as another type, or empty, in double quotes; list items at their key's indent."""
    data = {"a": "7", "b": "0 3 * * *", "c": "true", "d": "*x", "e": "a: b", "f": "", "g": "1.5"}
    before = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "d"},
              "data": data, "list": [{"k": "v"}]}
    diff = unified_diff(before, {k: v for k, v in before.items() if k not in ("data", "list")})
    assert '\n-  a: "7"\n-  b: 0 3 * * *\n-  c: "true"\n-  d: \'*x\'\n-  e: \'a: b\'\n-  f: ""\n-  g: "1.5"\n' in diff
    assert "\n-list:\n-- k: v\n" in diff


def test_a_changed_volume_the_live_list_lacks_is_stored_without_directives():
    """`kubectl patch --local` appends the item as sent ($retainKeys, hostPath: null); the server's decoding into
    a Volume (applyPatchToObject, FromUnstructuredWithValidation) keeps neither."""
    old = deployment([container()], [{"name": "data", "hostPath": {"path": "/x"}}])
    new = deployment([container()], [{"name": "data", "persistentVolumeClaim": {"claimName": "c"}}])
    live = deployment([container()], [{"name": "other", "emptyDir": {}}])
    assert apply(live, two_way(old, new))["spec"]["template"]["spec"]["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "c"}}, {"name": "other", "emptyDir": {}}]
    assert apply(live, None) == live
