"""What kube-apiserver refuses, norn refuses first (issue 14 point 2).

One row per rule the API server applies to a field norn fills from the infraspec or
the settings, each citing the real source (repository, path, function). For every row:
``norn validate`` reports the key and what would be valid, and ``norn forge`` exits 2
with one line naming the key (or the flag or variable) before any request reaches the
stand-in cluster. Sources read: kubernetes/kubernetes at the stored versions of
pkg/apis/core/validation/validation.go, pkg/apis/apps/validation/validation.go and
pkg/apis/batch/validation/validation.go; kubernetes/apimachinery (July 2026) for
pkg/util/validation, pkg/api/validation and pkg/api/resource; robfig/cron v3 parser.go.

Where norn stays stricter than the server (INFRASPEC.md's env var names, an absolute
mountPath, a probe path starting with '/', timeout > 0), the row says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from norn import settings
from norn.infraspec.loading import load
from norn.operations import validation
from norn.steps import manifests
from tests.integration.conftest import WEB_SPEC, Norn

WEB = "app: web\nrole: webserver\nport: 8080\n"
CRON = "app: nightly\nrole: cron\ncommand: run\nschedule: '0 3 * * *'\n"
VOLUME = "volumes:\n  - name: data\n    mountPath: /data\n"

CORE = "kubernetes/kubernetes pkg/apis/core/validation/validation.go"
APPS = "kubernetes/kubernetes pkg/apis/apps/validation/validation.go"
BATCH = "kubernetes/kubernetes pkg/apis/batch/validation/validation.go"
UTIL = "kubernetes/apimachinery pkg/util/validation/validation.go"
GENERIC = "kubernetes/apimachinery pkg/api/validation/generic.go"
QUANTITY = "kubernetes/apimachinery pkg/api/resource/quantity.go ParseQuantity"
ROBFIG = "robfig/cron parser.go"


@dataclass(frozen=True)
class Rule:
    source: str  # where the API server applies it
    spec: str  # an infraspec that breaks it
    key: str  # the key path the message names
    says: str  # a piece of what the message says would be valid
    forge_says: str = ""  # what forge's error names, when not the key (an invalid APP is refused as such)


RULES: dict[str, Rule] = {
    "Service name is a DNS-1035 label": Rule(
        f"{CORE} ValidateServiceName = NameIsDNS1035Label; {UTIL} IsDNS1035Label",
        WEB + "hosts:\n  internal: 1api\n", "hosts.internal", "DNS-1035 label"),
    "Service name at most 63 characters": Rule(
        f"{UTIL} IsDNS1035Label (DNS1035LabelMaxLength)",
        WEB + f"hosts:\n  internal: {'a' * 64}\n", "hosts.internal", "at most 63 characters"),
    "CronJob name at most 52 characters": Rule(
        f"{BATCH} ValidateCronJobCreate (DNS1035LabelMaxLength-11)",
        CRON.replace("nightly", "n" * 53), "app", "at most 52 characters"),
    "Deployment, container and label value: a DNS-1123 label": Rule(
        f"{APPS} ValidateDeploymentName; {CORE} validateContainers (ValidateDNS1123Label); "
        "kubernetes/apimachinery pkg/api/validate/content/kube.go IsLabelValue",
        WEB.replace("app: web", "app: Web_1"), "app", "DNS-1123 label", "'Web_1' is not a valid app name"),
    "hostPath without '..'": Rule(
        f"{CORE} validateHostPathVolumeSource -> validatePathNoBacksteps",
        WEB + VOLUME + "    hostPath: /srv/../etc\n", "volumes[0].hostPath", "'..'"),
    "replicas is an int32, not negative": Rule(
        f"{APPS} ValidateDeploymentSpec (ValidateNonnegativeField); kubernetes/api apps/v1 DeploymentSpec.Replicas *int32",
        WEB + "replicas: 2147483648\n", "replicas", "from 0 to 2147483647"),
    "activeDeadlineSeconds is an int64 (norn: > 0)": Rule(
        f"{BATCH} validateJobSpec (ValidateNonnegativeField); kubernetes/api batch/v1 JobSpec.ActiveDeadlineSeconds *int64",
        CRON + "timeout: 9223372036854775808\n", "timeout", "from 1 to 9223372036854775807"),
    "containerPort 1-65535": Rule(
        f"{CORE} validateContainerPorts; {UTIL} IsValidPortNum",
        WEB.replace("8080", "65536"), "port", "from 1 to 65535"),
    "storage is a quantity": Rule(
        f"{QUANTITY} (parseQuantityString: digits, one '.', a known suffix)",
        WEB + VOLUME + "    size: 5 Gi\n", "volumes[0].size", "Kubernetes quantity"),
    "storage exponent fits its int32": Rule(
        f"kubernetes/apimachinery pkg/api/resource/suffix.go suffixHandler.interpret (int32(parsed))",
        WEB + VOLUME + "    size: 1e2147483648\n", "volumes[0].size", "Kubernetes quantity"),
    "storage more than 0": Rule(
        f"{CORE} ValidatePersistentVolumeClaimSpec -> ValidatePositiveQuantityValue",
        WEB + VOLUME + "    size: 0Gi\n", "volumes[0].size", "more than 0"),
    "volume name is a DNS-1123 label": Rule(
        f"{CORE} ValidateVolumes (ValidateDNS1123Label)",
        WEB + VOLUME.replace("data", "Data") + "    size: 1Gi\n", "volumes[0].name", "DNS-1123 label"),
    "env name (norn: stricter than IsEnvVarName)": Rule(
        f"{CORE} ValidateEnv; {UTIL} IsEnvVarName",
        WEB + "env:\n  1X: y\n", "env.1X", "env var name"),
    "probe path required (norn: starting with '/')": Rule(
        f"{CORE} validateHTTPGetAction (path Required)",
        WEB + "healthcheck: ''\n", "healthcheck", "path starting with '/'"),
    "no TZ in a schedule": Rule(
        f"{BATCH} validateScheduleFormat (strings.Contains(schedule, \"TZ\"))",
        CRON.replace("'0 3 * * *'", "'CRON_TZ=UTC 0 3 * * *'"), "schedule", "timeZone field"),
    "schedule field ranges": Rule(
        f"{ROBFIG} getRange (end of range above maximum)",
        CRON.replace("0 3", "61 3"), "schedule", "minute takes 0-59"),
    "a macro is taken as written": Rule(
        f"{ROBFIG} Parser.Parse (HasPrefix(spec, \"@\")) and parseDescriptor (exact match)",
        CRON.replace("'0 3 * * *'", "' @daily'"), "schedule", "5-field cron expression"),
    "five fields": Rule(
        f"{ROBFIG} normalizeFields (expected exactly 5 fields)",
        CRON.replace("'0 3 * * *'", "'0 3 * * * *'"), "schedule", "5-field cron expression"),
}


@pytest.mark.parametrize("name", list(RULES))
def test_validate_names_the_key_and_what_would_be_valid(name: str, tmp_path: Path) -> None:
    rule = RULES[name]
    path = tmp_path / "infraspec.yaml"
    path.write_text(rule.spec)
    result = validation.check_file(path)
    assert len(result.problems) == 1, result.problems
    assert f": {rule.key}: " in result.problems[0] and rule.says in result.problems[0], result.problems


@pytest.fixture
def norn(tmp_path: Path, cluster) -> Norn:
    return Norn(tmp_path)


def _refused_before_any_request(run, cluster, names: str) -> None:
    assert run.code == 2, run.stderr
    first, *rest = run.stderr.splitlines()
    assert first.startswith("error: ") and names in first, run.stderr
    assert all(line.startswith("hint: ") for line in rest) and "Traceback" not in run.stderr, run.stderr
    assert cluster.count() == 0, [r.path for r in cluster.requests]


def test_forge_refuses_each_rule_before_any_request(norn: Norn, cluster) -> None:
    for name, rule in RULES.items():
        path = norn.cwd / f"{len(name)}-{abs(hash(name))}.yaml"
        path.write_text(rule.spec)
        app = rule.spec.split("app: ", 1)[1].split()[0]
        run = norn("forge", app, "--spec", str(path), "--yes")
        _refused_before_any_request(run, cluster, rule.forge_says or f": {rule.key}: ")
        assert not norn.state_dir.exists(), name


# --- the settings: namespaces and the cloudflared objects' names ----------------------------

SETTINGS = {
    # what is set: (source, environment, arguments after `forge web`, what the error names)
    "--namespace": (f"{GENERIC} ValidateNamespaceName = NameIsDNSLabel; {UTIL} IsDNS1123Label",
                    {}, ["--namespace", "Bad_NS"], "--namespace 'Bad_NS'"),
    "--namespace ''": (f"{GENERIC} NameIsDNSLabel (an empty name is no label)",
                       {}, ["--namespace", ""], "--namespace ''"),
    "NORN_NAMESPACE": (f"{GENERIC} ValidateNamespaceName", {"NORN_NAMESPACE": "Bad_NS"}, [], "NORN_NAMESPACE='Bad_NS'"),
    "NORN_STATE_NAMESPACE": (f"{GENERIC} ValidateNamespaceName (the Secrets and Leases of the state)",
                             {"NORN_STATE_NAMESPACE": "norn.state"}, [], "NORN_STATE_NAMESPACE='norn.state'"),
    "NORN_CLOUDFLARED_NAMESPACE": (f"{GENERIC} ValidateNamespaceName",
                                   {"NORN_CLOUDFLARED_NAMESPACE": "x" * 64}, [], "NORN_CLOUDFLARED_NAMESPACE="),
    "NORN_CLOUDFLARED_CONFIGMAP": (f"{CORE} ValidateConfigMapName = NameIsDNSSubdomain; {UTIL} IsDNS1123Subdomain",
                                   {"NORN_CLOUDFLARED_CONFIGMAP": "Cloudflared"}, [], "NORN_CLOUDFLARED_CONFIGMAP='Cloudflared'"),
    "NORN_CLOUDFLARED_DEPLOYMENT": (f"{APPS} ValidateDeploymentName = NameIsDNSSubdomain",
                                    {"NORN_CLOUDFLARED_DEPLOYMENT": "cloudflared_"}, [], "NORN_CLOUDFLARED_DEPLOYMENT='cloudflared_'"),
}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_a_bad_name_setting_is_refused_before_any_request(name: str, norn: Norn, cluster) -> None:
    _, env, args, names = SETTINGS[name]
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--yes", *args, **env)
    _refused_before_any_request(run, cluster, names)
    assert "must be a DNS-1123" in run.stderr


def test_teardown_checks_its_namespace_flag_before_any_request(norn: Norn, cluster) -> None:
    run = norn("teardown", "web", "--yes", "--namespace", "Bad_NS")
    _refused_before_any_request(run, cluster, "--namespace 'Bad_NS'")


def test_valid_name_settings_pass() -> None:
    loaded = settings.load({"NORN_NAMESPACE": "prod-1", "NORN_STATE_NAMESPACE": "norn",
                            "NORN_CLOUDFLARED_CONFIGMAP": "cloudflared.config", "NORN_CLOUDFLARED_DEPLOYMENT": "cf"})
    assert loaded.with_flags(namespace="staging").namespace == "staging"
    assert loaded.namespace == "prod-1" and loaded.cloudflared_configmap == "cloudflared.config"


# --- names norn derives: valid whenever the infraspec is -----------------------------------

# The formats of kubernetes/apimachinery pkg/util/validation/validation.go, written out here so
# the test does not check norn with norn's own patterns.
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")  # content/kube.go labelValueFmt


def test_derived_names_meet_the_servers_rules_at_their_longest(tmp_path: Path) -> None:
    """PVC <app>-<volume> and Secret <app>-secrets are DNS-1123 subdomains (core validation.go
    ValidatePersistentVolumeName; ValidateSecretName, through validateSecretEnvSource), the container
    name a DNS-1123 label (validateContainers), every label a label value (IsLabelValue)."""
    app, volume = "a" * 63, "v" * 63
    path = tmp_path / "infraspec.yaml"
    path.write_text(f"app: {app}\nrole: worker\nsecrets: [KEY]\nvolumes:\n  - name: {volume}\n"
                    "    mountPath: /data\n    size: 1Gi\n")
    spec = load(path)
    config = settings.load({})
    claim = manifests.persistent_volume_claims(spec, "default")[0]
    deployment = manifests.deployment(spec, config)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    for name in (claim["metadata"]["name"], container["envFrom"][0]["secretRef"]["name"]):
        assert DNS1123_SUBDOMAIN.fullmatch(name) and len(name) <= 253, name
    assert DNS1123_LABEL.fullmatch(container["name"]) and len(container["name"]) <= 63
    for value in deployment["metadata"]["labels"].values():
        assert LABEL_VALUE.fullmatch(value) and len(value) <= 63, value

