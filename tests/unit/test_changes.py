"""The step output of an in-place update (issue 16): what changed in each object, in the infraspec's words.

Each infraspec setting is edited on its own, the manifests of norn/steps/manifests.py built before and after,
and the phrase read from their field changes (norn/kube/smp.py). Env values are never shown.
"""

from __future__ import annotations

from typing import Any

import pytest

from norn.infraspec.model import Infraspec
from norn.kube.smp import Change, field_changes
from norn.settings import Settings, load
from norn.steps import manifests
from norn.steps.changes import summary


@pytest.fixture
def settings(tmp_path) -> Settings:
    return load({"NORN_NAMESPACE": "apps", "NORN_STATE_DIR": str(tmp_path)})


BASE: dict[str, Any] = {
    "app": "web", "role": "webserver", "port": 8080, "healthcheck": "/health", "replicas": 2,
    "hosts": {"internal": "web-svc"}, "env": {"LOG_LEVEL": "info", "MODE": "a"},
    "volumes": [{"name": "data", "mountPath": "/data", "size": "1Gi"}],
}
CRON: dict[str, Any] = {"app": "nightly", "role": "cron", "schedule": "0 3 * * *", "command": "run", "timeout": 300}


def spec(base: dict, **edit: Any) -> Infraspec:
    return Infraspec.model_validate(base | edit)


def said(settings: Settings, build, edit: dict, base: dict = BASE) -> str:
    old, new = build(spec(base), settings), build(spec(base, **edit), settings)
    return summary(new["kind"], field_changes(old, new))


@pytest.mark.parametrize("edit, phrase", [
    ({"replicas": 4}, "replicas 2 -> 4"),
    ({"env": {"LOG_LEVEL": "info", "MODE": "a", "NEW": "x"}}, "env NEW added"),
    ({"env": {"LOG_LEVEL": "debug", "MODE": "a"}}, "env LOG_LEVEL changed"),
    ({"env": {"MODE": "a"}}, "env LOG_LEVEL removed"),
    ({"env": {}}, "env LOG_LEVEL removed, env MODE removed"),
    ({"services": {"postgres": {"database": "shop"}}}, "DATABASE_URL added"),
    ({"secrets": ["TOKEN"]}, "secrets added"),
    # the probes follow the port: one phrase
    ({"port": 9090}, "port 8080 -> 9090"),
    ({"healthcheck": "/ready"}, "healthcheck /health -> /ready"),
    ({"healthcheck": None}, "healthcheck /health removed"),
    ({"volumes": [{"name": "data", "mountPath": "/data", "size": "1Gi"},
                  {"name": "logs", "mountPath": "/logs", "hostPath": "/srv/logs"}]}, "volume logs added"),
    ({"volumes": []}, "volume data removed"),
    ({"volumes": [{"name": "data", "mountPath": "/data", "hostPath": "/srv/data"}]}, "volume data changed"),
    ({"volumes": [{"name": "data", "mountPath": "/var/data", "size": "1Gi"}]}, "volume data mountPath /data -> /var/data"),
    ({"volumes": [{"name": "data", "mountPath": "/data", "size": "2Gi"}]}, "unchanged"),  # the PVC's, not the Deployment's
    ({"replicas": 3, "env": {"LOG_LEVEL": "info", "MODE": "b"}}, "replicas 2 -> 3, env MODE changed"),
])
def test_deployment_phrases(settings, edit, phrase):
    assert said(settings, manifests.deployment, edit) == phrase


def test_database_url_changes_and_goes(settings):
    base = BASE | {"services": {"postgres": {"database": "shop"}}}
    assert said(settings, manifests.deployment, {"services": {"postgres": {"database": "other"}}}, base) \
        == "DATABASE_URL changed"
    assert said(settings, manifests.deployment, {"services": {}}, base) == "DATABASE_URL removed"
    assert said(settings, manifests.deployment, {"secrets": ["DATABASE_URL"]}, base) == "DATABASE_URL removed, secrets added"


def test_secrets_removed_and_healthcheck_or_port_added(settings):
    assert said(settings, manifests.deployment, {"secrets": []}, BASE | {"secrets": ["TOKEN"]}) == "secrets removed"
    assert said(settings, manifests.deployment, {"healthcheck": "/up"}, BASE | {"healthcheck": None}) \
        == "healthcheck /up added"
    assert said(settings, manifests.deployment, {"port": 8080}, {**BASE, "role": "worker", "port": None,
                                                                 "hosts": {}}) == "port 8080 added, healthcheck /health added"


def test_no_env_value_is_ever_shown(settings):
    text = said(settings, manifests.deployment, {"env": {"LOG_LEVEL": "s3cr3t-value", "PASSWORD": "hunter2"},
                                                 "services": {"postgres": {"database": "db"}}})
    assert text == "env LOG_LEVEL changed, env PASSWORD added, DATABASE_URL added, env MODE removed"
    assert "s3cr3t" not in text and "hunter2" not in text and "postgres://" not in text


def test_service_claim_and_cronjob_phrases(settings):
    assert said(settings, manifests.service, {"port": 9090}) == "targetPort 8080 -> 9090"

    def claim(infraspec: Infraspec, settings: Settings) -> dict:
        return manifests.persistent_volume_claims(infraspec, settings.namespace)[0]

    assert said(settings, claim, {"volumes": [{"name": "data", "mountPath": "/data", "size": "2Gi"}]}) \
        == "storage 1Gi -> 2Gi"
    assert said(settings, claim, {"volumes": [{"name": "data", "mountPath": "/data", "size": "1024Mi"}]}) \
        == "unchanged"
    assert said(settings, manifests.cronjob, {"schedule": "0 4 * * *"}, CRON) == 'schedule "0 3 * * *" -> "0 4 * * *"'
    assert said(settings, manifests.cronjob, {"command": "other"}, CRON) == "command changed"
    assert said(settings, manifests.cronjob, {"timeout": 600}, CRON) == "timeout 300 -> 600"
    assert said(settings, manifests.cronjob, {"env": {"A": "1"}, "secrets": ["S"]}, CRON) == "env A added, secrets added"


def test_anything_else_reads_as_its_path():
    assert summary("Service", [Change("spec.type", "ClusterIP", "NodePort")]) == "spec.type changed"
    assert summary("Deployment", [Change("spec.template.spec.containers[name=web].resources", None, {})]) \
        == "spec.template.spec.containers[name=web].resources changed"
    assert summary("Deployment", [Change("spec.template.spec.containers[name=side]", {"name": "side"}, None)]) \
        == "container side removed"
    assert summary("Deployment", []) == "unchanged"
