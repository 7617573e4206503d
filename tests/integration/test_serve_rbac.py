"""examples/serve: the manifests that run `norn serve` in a cluster, and the minimal RBAC rules they grant.

The rules are derived from what norn really sends: forge, an update, forge with a failing wait, plan, status
(--live too) and teardown run with the Deployment's settings and the kubernetes state backend against the
stand-in API server; each logged request is mapped to RBAC attributes and judged against the manifests' Roles
as kube-apiserver's RBAC authorizer judges it. Every request must be allowed, and every verb a rule grants
must have been needed by some request (a grant nothing used is not minimal).

The real thing, read for this (kubernetes/kubernetes):
- staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go, RequestInfoFactory.NewRequestInfo: the
  verb (POST create, GET/HEAD get, or list without a name, or watch with ?watch=true; PUT update; PATCH patch;
  DELETE delete, or deletecollection without a name), the API group, the namespace (for
  /api/v1/namespaces/NAME it is NAME itself), resource, name and subresource; paths outside /api and /apis
  are non-resource requests.
- pkg/registry/rbac/validation/rule.go, DefaultRuleResolver.VisitRulesFor: ClusterRoleBindings apply
  everywhere, RoleBindings only to requests in their own namespace (none to cluster-wide requests);
  appliesToUser: a ServiceAccount subject is system:serviceaccount:NAMESPACE:NAME.
- plugin/pkg/auth/authorizer/rbac/rbac.go, RuleAllows, with pkg/apis/rbac/v1/evaluation_helpers.go
  (VerbMatches, APIGroupMatches, ResourceMatches: "resource/subresource" or "*", ResourceNameMatches: an
  empty resourceNames matches any name, else the request's name must be listed, so a list or a create,
  which name nothing, never matches a rule with resourceNames).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from norn.names import is_dns_subdomain
from tests.integration.conftest import CRON_SPEC, WEB_SPEC
from tests.integration.test_serve_support import serve  # noqa: F401 (the fixture)
from tests.kubeapi.admission.labels import label_key_errors, label_value_errors

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "serve"


def manifests() -> list[dict]:
    """Every object of examples/serve/*.yaml, in file order (kubectl apply -f DIR's order)."""
    return [doc for path in sorted(EXAMPLES.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def one(objects: list[dict], kind: str) -> dict:
    [found] = [o for o in objects if o["kind"] == kind]
    return found


# --- kube-apiserver's side: requestinfo.go, rule.go and rbac.go, as described above -------------------------


@dataclass(frozen=True)
class Attributes:
    verb: str
    resource_request: bool = True
    group: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""


def attributes(method: str, path: str, query: dict[str, str]) -> Attributes:
    """What NewRequestInfo makes of a request (no proxy paths: norn sends none)."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 3 or parts[0] not in ("api", "apis") or (parts[0] == "apis" and len(parts) < 4):
        return Attributes(verb=method.lower(), resource_request=False, path=path)
    group, rest = ("", parts[1:]) if parts[0] == "api" else (parts[1], parts[2:])
    rest = rest[1:]  # the version
    verb = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
    if rest[0] == "watch":
        verb, rest = "watch", rest[1:]
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in ("status", "finalize"):
            rest = rest[2:]
    resource, name, subresource = (rest + ["", "", ""])[:3]
    if not name and verb == "get":
        verb = "watch" if "watch" in query and query["watch"].lower() not in ("false", "0") else "list"
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(verb, True, group, namespace, resource, subresource, name, path)


def rule_allows(request: Attributes, rule: dict) -> bool:
    """RuleAllows for a resource request (norn's manifests grant no non-resource URL)."""
    if not request.resource_request:
        return False
    combined = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
    resources = rule.get("resources", [])
    return (
        any(v in ("*", request.verb) for v in rule.get("verbs", []))
        and any(g in ("*", request.group) for g in rule.get("apiGroups", []))
        and any(r in ("*", combined) or (request.subresource and r == f"*/{request.subresource}") for r in resources)
        and (not rule.get("resourceNames") or request.name in rule["resourceNames"])
    )


def subject_matches(subject: dict, user: str, binding_namespace: str) -> bool:
    """appliesToUser for the ServiceAccount the server runs as (norn's bindings name no User or Group)."""
    if subject.get("kind") != "ServiceAccount":
        return False
    return user == f"system:serviceaccount:{subject.get('namespace') or binding_namespace}:{subject['name']}"


def rules_for(objects: list[dict], user: str, namespace: str) -> list[tuple[str, int, dict]]:
    """VisitRulesFor: (role, index, rule) of each rule applying to ``user`` for a request in ``namespace``."""
    roles = {}
    for o in objects:
        if o["kind"] in ("Role", "ClusterRole"):
            roles[(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])] = o
    found = []
    for binding in objects:
        if binding["kind"] == "ClusterRoleBinding":
            where = ""
        elif binding["kind"] == "RoleBinding" and namespace and binding["metadata"]["namespace"] == namespace:
            where = namespace
        else:
            continue
        if not any(subject_matches(s, user, where) for s in binding.get("subjects", [])):
            continue
        ref = binding["roleRef"]
        role = roles[(ref["kind"], where if ref["kind"] == "Role" else "", ref["name"])]
        label = f"{role['kind']} {role['metadata'].get('namespace', '')}/{role['metadata']['name']}"
        found.extend((label, i, rule) for i, rule in enumerate(role["rules"]))
    return found


def grants(rule: dict) -> set[tuple[str, str, str, str]]:
    """Each (group, resource, verb, name) a rule grants, name "" when it names none."""
    names = rule.get("resourceNames") or [""]
    return {(g, r, v, n) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"] for n in names}


# --- norn's side: what it sends, run with the Deployment's settings ------------------------------------------


def server_settings(objects: list[dict]) -> tuple[str, dict[str, str]]:
    """The server's user name and the norn settings of its Deployment (its plain NORN_* values)."""
    deployment = one(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e and e["name"].startswith("NORN_")}
    env.pop("NORN_APPS_DIR")  # a path in the container: the test's own apps folder stands for it
    user = f"system:serviceaccount:{deployment['metadata']['namespace']}:{pod['serviceAccountName']}"
    return user, env


def stuck_pod(cluster, namespace: str, app: str) -> None:
    """A pod of the app's Deployment in CrashLoopBackOff, and an event about it (as tests/integration/test_wait.py)."""
    name = f"{app}-7d4b9-x2x9k"
    waiting = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}}
    cluster.seed({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
        "status": {"phase": "Running", "containerStatuses": [{"name": app, "ready": False, "restartCount": 4, "state": waiting}]},
    })
    cluster.seed({
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{name}.backoff", "namespace": namespace},
        "involvedObject": {"kind": "Pod", "name": name, "namespace": namespace},
        "type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container", "count": 3,
        "lastTimestamp": "2026-01-01T00:00:00Z",
    })


def run_everything(norn, cluster, env: dict[str, str]) -> list:
    """Every kind of run the server makes, each checked to have done what it is here for; the request log."""
    apps_ns, cloudflared_ns = env["NORN_NAMESPACE"], env["NORN_CLOUDFLARED_NAMESPACE"]

    def ok(*args: str, code: int = 0) -> None:
        run = norn(*args, **env)
        assert run.code == code, f"norn {' '.join(args)}: {run.code}\n{run.stdout}{run.stderr}"

    norn.write_spec(WEB_SPEC)
    norn.write_spec(CRON_SPEC)
    cluster.clear_log()
    ok("forge", "web")
    ok("forge", "nightly")
    ok("status")  # GET /v1/apps
    ok("status", "web", "--output", "json")  # GET /v1/apps/web
    ok("status", "--live")
    # An update of every object kind: the Deployment and Service (port), the claim (size), the CronJob (schedule).
    norn.write_spec(WEB_SPEC.replace("port: 8080", "port: 8081").replace("size: 1Gi", "size: 2Gi"))
    norn.write_spec(CRON_SPEC.replace("0 3 * * *", "0 4 * * *"))
    ok("plan", "web")  # GET /v1/apps/web/plan
    ok("plan", "nightly")
    ok("forge", "web")
    ok("forge", "nightly")
    # POST forge with "wait": a stuck pod fails wait-rollout, then wait-cloudflared, each naming the pod's events.
    cluster.auto_rollout = False
    stuck_pod(cluster, apps_ns, "web")
    norn.write_spec(WEB_SPEC.replace("port: 8080", "port: 8081").replace("size: 1Gi", "size: 2Gi").replace("replicas: 2", "replicas: 3"))
    ok("forge", "web", "--wait", "--timeout", "30s", code=1)
    cluster.remove("pods", apps_ns, "web-7d4b9-x2x9k")
    deployment = cluster.get_object("deployments", apps_ns, "web", group="apps")
    ready = {"observedGeneration": deployment["metadata"]["generation"], "replicas": 3, "updatedReplicas": 3,
             "readyReplicas": 3, "availableReplicas": 3}
    cluster.set_status("deployments", apps_ns, "web", ready, group="apps")
    cluster.set_status("deployments", cloudflared_ns, "cloudflared", {"observedGeneration": 0}, group="apps")
    stuck_pod(cluster, cloudflared_ns, "cloudflared")
    ok("forge", "web", "--wait", "--timeout", "30s", code=1)
    cluster.auto_rollout = True
    ok("plan", "web", "--force")  # GET /v1/apps/web/plan?force=true
    ok("forge", "web", "--force", "--yes")  # POST forge {"force": true}
    ok("teardown", "web", "--yes", "--delete-volumes")  # DELETE forge {"deleteVolumes": true}
    ok("teardown", "nightly", "--yes")
    return cluster.requests


@pytest.fixture
def sent(norn, cluster) -> tuple[list[dict], str, list]:
    objects = manifests()
    user, env = server_settings(objects)
    for namespace in {env["NORN_NAMESPACE"], env["NORN_STATE_NAMESPACE"], env["NORN_CLOUDFLARED_NAMESPACE"]}:
        if cluster.get_object("namespaces", None, namespace) is None:
            cluster.add_namespace(namespace)
    return objects, user, run_everything(norn, cluster, env)


def judge(objects: list[dict], user: str, requests: list) -> tuple[list[str], set[tuple[str, int, tuple]]]:
    """The requests no rule allows, and each (role, rule, grant) some request used."""
    used: set[tuple[str, int, tuple]] = set()
    denied = []
    for record in requests:
        request = attributes(record.method, record.path, record.query)
        allowing = [(label, i, rule) for label, i, rule in rules_for(objects, user, request.namespace)
                    if rule_allows(request, rule)]
        if not allowing:
            denied.append(f"{request.verb} {request.group}/{request.resource} {request.name!r} in "
                          f"{request.namespace or 'the cluster'} ({record.method} {record.path})")
        assert len(allowing) <= 1, f"{record.method} {record.path} is allowed by several rules: {allowing}"
        for label, i, rule in allowing:
            name = request.name if rule.get("resourceNames") else ""
            used.add((label, i, (request.group, request.resource, request.verb, name)))
    return sorted(set(denied)), used


def test_every_request_norn_sends_is_allowed_and_every_granted_verb_is_needed(sent):
    objects, user, requests = sent
    denied, used = judge(objects, user, requests)
    assert denied == []
    unused = [f"{label} rule {i}: {grant}" for label, i, rule in _all_rules(objects) for grant in sorted(grants(rule))
              if (label, i, grant) not in used]
    assert unused == [], "granted but never needed"


def test_what_norn_serve_itself_sends_is_allowed(norn, cluster, serve):
    # The same engine as the CLI's, driven through the API with the Deployment's settings.
    objects = manifests()
    user, env = server_settings(objects)
    cluster.add_namespace(env["NORN_STATE_NAMESPACE"])
    norn.write_spec(WEB_SPEC)
    norn.write_spec(CRON_SPEC)
    cluster.clear_log()
    server = serve(**env)
    for method, path, body in [("POST", "/v1/apps/web/forge", {"wait": True, "timeout": "30s"}),
                               ("POST", "/v1/apps/nightly/forge", None), ("DELETE", "/v1/apps/nightly/forge", {}),
                               ("DELETE", "/v1/apps/web/forge", {"deleteVolumes": True})]:
        status, accepted = server.request(method, path, body)
        assert status == 202, accepted
        assert server.finished(accepted["run"])["status"] == "completed"
    for path in ["/v1/apps", "/v1/apps/web", "/v1/apps/web/plan", "/v1/apps/web/plan?force=true"]:
        assert server.request("GET", path)[0] == 200, path
    assert server.stop() == 0
    assert cluster.count("DELETE", "/persistentvolumeclaims/web-data") == 1  # it did run what it was asked
    assert judge(objects, user, cluster.requests)[0] == []


def _all_rules(objects: list[dict]) -> list[tuple[str, int, dict]]:
    found = []
    for role in objects:
        if role["kind"] in ("Role", "ClusterRole"):
            label = f"{role['kind']} {role['metadata'].get('namespace', '')}/{role['metadata']['name']}"
            found.extend((label, i, rule) for i, rule in enumerate(role["rules"]))
    return found


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        # The forms NewRequestInfo's comment lists, and the verbs its switch and its list/watch/deletecollection
        # rules give.
        ("GET", "/api/v1/namespaces/apps/services/web", {}, Attributes("get", True, "", "apps", "services", "", "web")),
        ("GET", "/apis/apps/v1/namespaces/apps/deployments", {"labelSelector": "a=b"},
         Attributes("list", True, "apps", "apps", "deployments")),
        ("GET", "/apis/apps/v1/namespaces/apps/deployments", {"watch": "true"},
         Attributes("watch", True, "apps", "apps", "deployments")),
        ("GET", "/api/v1/watch/namespaces/apps/pods", {}, Attributes("watch", True, "", "apps", "pods")),
        ("DELETE", "/api/v1/namespaces/apps/pods", {}, Attributes("deletecollection", True, "", "apps", "pods")),
        ("PUT", "/apis/apps/v1/namespaces/apps/deployments/web/status", {},
         Attributes("update", True, "apps", "apps", "deployments", "status", "web")),
        # A namespace is a request in that namespace: a Role there can grant reading it.
        ("GET", "/api/v1/namespaces/apps", {}, Attributes("get", True, "", "apps", "namespaces", "", "apps")),
        ("PUT", "/api/v1/namespaces/apps/finalize", {}, Attributes("update", True, "", "apps", "namespaces", "finalize", "apps")),
        ("GET", "/api/v1/namespaces", {}, Attributes("list", True, "", "", "namespaces")),
        ("POST", "/apis/coordination.k8s.io/v1/namespaces/norn/leases", {"dryRun": "All"},
         Attributes("create", True, "coordination.k8s.io", "norn", "leases")),
        ("GET", "/apis/apps/v1", {}, Attributes("get", False, path="/apis/apps/v1")),
        ("GET", "/version", {}, Attributes("get", False, path="/version")),
    ],
)
def test_requests_map_to_rbac_attributes_as_kube_apiserver_maps_them(method, path, query, expected):
    got = attributes(method, path, query)
    assert got == Attributes(**{**expected.__dict__, "path": path if expected.resource_request else expected.path})


def test_a_rule_with_resource_names_never_allows_a_list_or_a_create():
    rule = {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cloudflared"], "verbs": ["get", "list", "create"]}
    assert rule_allows(attributes("GET", "/api/v1/namespaces/cloudflared/configmaps/cloudflared", {}), rule)
    assert not rule_allows(attributes("GET", "/api/v1/namespaces/cloudflared/configmaps", {}), rule)
    assert not rule_allows(attributes("POST", "/api/v1/namespaces/cloudflared/configmaps", {}), rule)
    assert not rule_allows(attributes("GET", "/api/v1/namespaces/cloudflared/configmaps/other", {}), rule)


# --- the manifests themselves ----------------------------------------------------------------------------------


def post(server, obj: dict) -> tuple[int, str]:
    """Create ``obj`` through the stand-in's HTTP API (its admission: names, labels, specs, decoding)."""
    namespace = obj["metadata"].get("namespace")
    prefix = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
    plural = {"Namespace": "namespaces", "Secret": "secrets", "ConfigMap": "configmaps", "Deployment": "deployments",
              "Service": "services"}[obj["kind"]]
    path = f"{prefix}/namespaces/{namespace}/{plural}" if namespace else f"{prefix}/{plural}"
    request = urllib.request.Request(f"{server.url}{path}",
                                     data=json.dumps(obj).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, ""
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_the_stand_in_admits_every_object_it_serves(kubeapi):
    served = ("Namespace", "Secret", "ConfigMap", "Deployment", "Service")
    objects = manifests()
    for namespace in {o["metadata"].get("namespace") for o in objects} - {None, "norn"}:
        kubeapi.add_namespace(namespace)
    assert [o["kind"] for o in objects if o["kind"] in served] == ["Namespace", "Secret", "ConfigMap", "Deployment", "Service"]
    for obj in objects:
        if obj["kind"] in served:
            assert post(kubeapi, obj) == (201, ""), obj["metadata"]["name"]


def test_the_objects_it_does_not_serve_have_valid_names_and_labels():
    # ServiceAccount names: ValidateServiceAccountName (a DNS subdomain); Role and binding names are checked by
    # path.ValidatePathSegmentName only, a DNS subdomain passes both (pkg/apis/core/validation, pkg/apis/rbac/validation).
    for obj in manifests():
        meta = obj["metadata"]
        assert is_dns_subdomain(meta["name"]), meta["name"]
        for key, value in (meta.get("labels") or {}).items():
            assert label_key_errors(key) == [] and label_value_errors(value) == [], (key, value)


def test_the_objects_fit_together():
    objects = manifests()
    user, env = server_settings(objects)
    deployment, service, secret = one(objects, "Deployment"), one(objects, "Service"), one(objects, "Secret")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    account = one(objects, "ServiceAccount")
    assert user == f"system:serviceaccount:{account['metadata']['namespace']}:{account['metadata']['name']}"
    assert container["args"][:3] == ["serve", "--host", "0.0.0.0"] and env["NORN_STATE_BACKEND"] == "kubernetes"
    # The token comes from the Secret, and its placeholder is one norn serve refuses (under 32 characters).
    [token] = [e for e in container["env"] if e["name"] == "NORN_SERVE_TOKEN"]
    ref = token["valueFrom"]["secretKeyRef"]
    assert (ref["name"], secret["metadata"]["namespace"]) == (secret["metadata"]["name"], deployment["metadata"]["namespace"])
    assert len(secret["stringData"][ref["key"]]) < 32
    # The probes, the Service and the port.
    port = container["ports"][0]
    assert port["containerPort"] == 8808 and container["args"][container["args"].index("--port") + 1] == "8808"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert service["spec"]["type"] == "ClusterIP" and service["spec"]["ports"][0]["port"] == 8808
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    # Locked down: not root, nothing written but the emptyDir at /tmp, limits set.
    assert pod["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    volumes = {v["name"]: v for v in pod["volumes"]}
    writable = [m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")]
    assert writable == ["/tmp"] and all("emptyDir" in volumes[m["name"]] for m in container["volumeMounts"]
                                        if m["mountPath"] == "/tmp")
    assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["cpu"]
    # Each Role sits in a namespace the server works in, and the namespace rule names the app namespace only.
    roles = {o["metadata"]["namespace"] for o in objects if o["kind"] == "Role"}
    assert roles == {env["NORN_NAMESPACE"], env["NORN_STATE_NAMESPACE"], env["NORN_CLOUDFLARED_NAMESPACE"]}
    [namespaces] = [r for _, _, r in _all_rules(objects) if "namespaces" in r["resources"]]
    assert namespaces["resourceNames"] == [env["NORN_NAMESPACE"]]
    assert not [o for o in objects if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
