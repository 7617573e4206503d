"""The manifests norn builds from an infraspec, checked field by field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from norn.infraspec.model import Infraspec
from norn.kube import ownership
from norn.settings import Settings, load
from norn.steps import manifests as m

LABELS = {
    "app": "mail-agent",
    "app.kubernetes.io/name": "mail-agent",
    "app.kubernetes.io/instance": "mail-agent",
    "app.kubernetes.io/managed-by": "norn",
}
DB_URL = "postgres://norn@pg.data:6543/mailagent_db?sslmode=disable"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return load(
        {
            "NORN_NAMESPACE": "apps",
            "NORN_PG_HOST": "pg.data",
            "NORN_PG_PORT": "6543",
            "NORN_STATE_DIR": str(tmp_path),
        }
    )


def mail_agent(**overrides: Any) -> Infraspec:
    """The typical webserver from INFRASPEC.md, with everything."""
    data: dict[str, Any] = {
        "app": "mail-agent",
        "role": "webserver",
        "port": 8080,
        "healthcheck": "/health",
        "replicas": 2,
        "hosts": {"external": "mail.example.com", "internal": "mail-agent-service"},
        "services": {"postgres": {"database": "mailagent_db"}},
        "secrets": ["SMTP_API_KEY"],
        "env": {"LOG_LEVEL": "info", "A_FIRST": "1"},
        "volumes": [
            {"name": "data", "mountPath": "/var/lib/mail", "size": "5Gi"},
            {"name": "projects", "mountPath": "/projects", "hostPath": "/srv/projects"},
        ],
    }
    data.update(overrides)
    return Infraspec.model_validate(data)


def worker() -> Infraspec:
    return Infraspec.model_validate({"app": "queue-worker", "role": "worker"})


def nightly(**overrides: Any) -> Infraspec:
    data: dict[str, Any] = {
        "app": "nightly-report",
        "role": "cron",
        "schedule": "0 3 * * *",
        "command": "python -m report --since yesterday",
        "timeout": 600,
    }
    data.update(overrides)
    return Infraspec.model_validate(data)


# labels / ownership


def test_labels() -> None:
    assert m.labels("mail-agent") == LABELS
    assert ownership.MANAGED_BY == ("app.kubernetes.io/managed-by", "norn")


@pytest.mark.parametrize(
    ("obj", "managed"),
    [
        ({"metadata": {"labels": dict(LABELS)}}, True),
        ({"metadata": {"labels": {"app.kubernetes.io/managed-by": "helm"}}}, False),
        ({"metadata": {"labels": {"app": "mail-agent"}}}, False),
        ({"metadata": {"labels": None}}, False),
        ({"metadata": {}}, False),
        ({}, False),
    ],
)
def test_is_managed(obj: dict, managed: bool) -> None:
    assert ownership.is_managed(obj) is managed


def test_every_object_is_managed(settings: Settings) -> None:
    spec = mail_agent()
    objects = [m.deployment(spec, settings), m.service(spec, settings), m.cronjob(nightly(), settings)]
    objects += m.persistent_volume_claims(spec, "apps")
    for obj in objects:
        assert ownership.is_managed(obj)
        assert ownership.owner(obj) == obj["metadata"]["labels"]["app"]


# Label keys and values norn sets follow apimachinery's rules: the key is a qualified name with a DNS-1123
# subdomain prefix (kubernetes/apimachinery pkg/util/validation/validation.go, IsQualifiedName) and the value a
# label value (IsValidLabelValue), as metav1validation.ValidateLabels (pkg/apis/meta/v1/validation) applies them.
# The instance label's value is the app name, itself a DNS-1123 label, so always a valid label value.
OWNERS = [
    ({"metadata": {"labels": dict(LABELS)}}, "mail-agent"),
    # objects created before norn set the instance label: the `app` label names the owner
    ({"metadata": {"labels": {"app": "shop", "app.kubernetes.io/managed-by": "norn"}}}, "shop"),
    # the instance label wins over the `app` label
    ({"metadata": {"labels": {"app": "a", "app.kubernetes.io/instance": "a-b",
                              "app.kubernetes.io/managed-by": "norn"}}}, "a-b"),
    # not norn's: whatever it says about apps, nobody in norn owns it
    ({"metadata": {"labels": {"app": "shop", "app.kubernetes.io/instance": "shop"}}}, None),
    ({"metadata": {"labels": {"app": "shop", "app.kubernetes.io/managed-by": "helm"}}}, None),
    # norn's label but no app named: no app owns it
    ({"metadata": {"labels": {"app.kubernetes.io/managed-by": "norn"}}}, None),
    ({"metadata": {"labels": {"app": "", "app.kubernetes.io/managed-by": "norn"}}}, None),
    ({"metadata": {"labels": None}}, None),
    ({}, None),
]


@pytest.mark.parametrize(("obj", "app"), OWNERS)
def test_owner(obj: dict, app: str | None) -> None:
    assert ownership.owner(obj) == app


@pytest.mark.parametrize(
    ("metadata", "deleting"),
    [
        # k8s.io/apiserver pkg/registry/generic/registry/store.go (Store.Delete, updateForGracefulDeletionAndFinalizers):
        # an object with finalizers is not removed by a DELETE; the server sets deletionTimestamp and keeps it.
        ({"deletionTimestamp": "2026-12-07T12:00:00Z", "finalizers": ["kubernetes.io/pvc-protection"]}, True),
        ({"deletionTimestamp": None}, False),
        ({}, False),
    ],
)
def test_deleting(metadata: dict, deleting: bool) -> None:
    assert ownership.deleting({"metadata": metadata}) is deleting


def test_the_deployment_selector_keeps_only_the_app_label(settings: Settings) -> None:
    """spec.selector is immutable in apps/v1 (kubernetes pkg/registry/apps/deployment/strategy.go,
    deploymentStrategy.ValidateUpdate: ValidateImmutableField on spec.selector for every group but
    extensions/v1beta1): the new label goes on the objects and pod templates, never into the selector."""
    deployment = m.deployment(mail_agent(), settings)
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "mail-agent"}}
    assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/instance"] == "mail-agent"
    cron = m.cronjob(nightly(), settings)
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/instance"] == (
        "nightly-report"
    )


# image and pull policy


def test_image() -> None:
    assert m.image("mail-agent") == "mail-agent:latest"


@pytest.mark.parametrize(
    ("ref", "policy"),
    [
        ("mail-agent:latest", "Never"),
        ("mail-agent", "Never"),
        ("library/nginx:1.27", "Never"),
        ("team/sub/app:v1", "Never"),
        ("ghcr.io/acme/app:v1", "IfNotPresent"),
        ("registry.local/app", "IfNotPresent"),
        ("localhost:5000/app:latest", "IfNotPresent"),
        ("localhost/app:latest", "IfNotPresent"),
        ("10.0.0.5:5000/app", "IfNotPresent"),
        ("docker.io/library/nginx", "IfNotPresent"),
    ],
)
def test_pull_policy(ref: str, policy: str) -> None:
    assert m.pull_policy(ref) == policy


# environment


def test_env_vars_keeps_order_and_injects_database_url(settings: Settings) -> None:
    assert m.env_vars(mail_agent(), settings) == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "A_FIRST", "value": "1"},
        {"name": "DATABASE_URL", "value": DB_URL},
    ]


def test_database_url_uses_default_settings(tmp_path) -> None:
    defaults = load({"NORN_STATE_DIR": str(tmp_path)})
    spec = Infraspec.model_validate(
        {"app": "w", "role": "worker", "services": {"postgres": {"database": "wdb"}}}
    )
    assert m.env_vars(spec, defaults) == [
        {"name": "DATABASE_URL", "value": "postgres://norn@postgres:5432/wdb?sslmode=disable"}
    ]


def test_env_provides_database_url(settings: Settings) -> None:
    spec = mail_agent(env={"DATABASE_URL": "postgres://own/db"})
    assert m.env_vars(spec, settings) == [{"name": "DATABASE_URL", "value": "postgres://own/db"}]


def test_secrets_provide_database_url(settings: Settings) -> None:
    spec = mail_agent(secrets=["DATABASE_URL"], env={})
    assert m.env_vars(spec, settings) == []
    assert "env" not in m.deployment(spec, settings)["spec"]["template"]["spec"]["containers"][0]


def test_no_postgres_no_database_url(settings: Settings) -> None:
    spec = mail_agent(services={})
    assert m.env_vars(spec, settings) == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "A_FIRST", "value": "1"},
    ]


def test_env_from() -> None:
    assert m.env_from(mail_agent()) == [{"secretRef": {"name": "mail-agent-secrets", "optional": True}}]
    assert m.env_from(worker()) == []


def test_no_secret_value_anywhere(settings: Settings) -> None:
    """Only the Secret's name is referenced: no secretKeyRef values, no Secret object."""
    spec = mail_agent()
    text = json.dumps([m.deployment(spec, settings), m.service(spec, settings)])
    assert "SMTP_API_KEY" not in text
    assert '"kind": "Secret"' not in text


# volumes


def test_pvc_name() -> None:
    spec = mail_agent()
    assert m.pvc_name(spec, spec.volumes[0]) == "mail-agent-data"


def test_persistent_volume_claims_only_for_sized_volumes() -> None:
    assert m.persistent_volume_claims(mail_agent(), "apps") == [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "mail-agent-data", "namespace": "apps", "labels": LABELS},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}},
        }
    ]
    assert m.persistent_volume_claims(worker(), "apps") == []


# deployment


def test_deployment_webserver_with_everything(settings: Settings) -> None:
    assert m.deployment(mail_agent(), settings) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "mail-agent", "namespace": "apps", "labels": LABELS},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "mail-agent"}},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "containers": [
                        {
                            "name": "mail-agent",
                            "image": "mail-agent:latest",
                            "imagePullPolicy": "Never",
                            "env": [
                                {"name": "LOG_LEVEL", "value": "info"},
                                {"name": "A_FIRST", "value": "1"},
                                {"name": "DATABASE_URL", "value": DB_URL},
                            ],
                            "envFrom": [{"secretRef": {"name": "mail-agent-secrets", "optional": True}}],
                            "volumeMounts": [
                                {"name": "data", "mountPath": "/var/lib/mail"},
                                {"name": "projects", "mountPath": "/projects"},
                            ],
                            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                            "startupProbe": {
                                "httpGet": {"path": "/health", "port": 8080},
                                "periodSeconds": 5,
                                "failureThreshold": 30,
                            },
                            "readinessProbe": {
                                "httpGet": {"path": "/health", "port": 8080},
                                "periodSeconds": 10,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/health", "port": 8080},
                                "periodSeconds": 20,
                                "failureThreshold": 3,
                            },
                        }
                    ],
                    "volumes": [
                        {"name": "data", "persistentVolumeClaim": {"claimName": "mail-agent-data"}},
                        {"name": "projects", "hostPath": {"path": "/srv/projects", "type": "DirectoryOrCreate"}},
                    ],
                },
            },
        },
    }


def test_deployment_minimal_worker(settings: Settings) -> None:
    worker_labels = {
        "app": "queue-worker",
        "app.kubernetes.io/name": "queue-worker",
        "app.kubernetes.io/instance": "queue-worker",
        "app.kubernetes.io/managed-by": "norn",
    }
    assert m.deployment(worker(), settings) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "queue-worker", "namespace": "apps", "labels": worker_labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "queue-worker"}},
            "template": {
                "metadata": {"labels": worker_labels},
                "spec": {
                    "containers": [
                        {"name": "queue-worker", "image": "queue-worker:latest", "imagePullPolicy": "Never"}
                    ]
                },
            },
        },
    }


def test_no_healthcheck_no_probes(settings: Settings) -> None:
    container = m.deployment(mail_agent(healthcheck=None), settings)["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert not {"startupProbe", "readinessProbe", "livenessProbe"} & container.keys()


def test_replicas_zero_is_kept(settings: Settings) -> None:
    assert m.deployment(mail_agent(replicas=0), settings)["spec"]["replicas"] == 0


# service


def test_service(settings: Settings) -> None:
    assert m.service(mail_agent(), settings) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "mail-agent-service", "namespace": "apps", "labels": LABELS},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": "mail-agent"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
        },
    }


def test_no_internal_host_no_service(settings: Settings) -> None:
    assert m.service(mail_agent(hosts={}), settings) is None
    assert m.service(worker(), settings) is None


def test_service_url() -> None:
    assert m.service_url(mail_agent(), "apps") == "http://mail-agent-service.apps.svc.cluster.local:80"
    with pytest.raises(ValueError):
        m.service_url(worker(), "apps")


# cronjob


def test_cronjob(settings: Settings) -> None:
    cron_labels = {
        "app": "nightly-report",
        "app.kubernetes.io/name": "nightly-report",
        "app.kubernetes.io/instance": "nightly-report",
        "app.kubernetes.io/managed-by": "norn",
    }
    assert m.cronjob(nightly(), settings) == {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly-report", "namespace": "apps", "labels": cron_labels},
        "spec": {
            "schedule": "0 3 * * *",
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {
                "metadata": {"labels": cron_labels},
                "spec": {
                    "activeDeadlineSeconds": 600,
                    "backoffLimit": 0,
                    "template": {
                        "metadata": {"labels": cron_labels},
                        "spec": {
                            "containers": [
                                {
                                    "name": "nightly-report",
                                    "image": "nightly-report:latest",
                                    "imagePullPolicy": "Never",
                                    "command": ["/bin/sh", "-c", "python -m report --since yesterday"],
                                }
                            ],
                            "restartPolicy": "Never",
                        },
                    },
                },
            },
        },
    }


def test_cronjob_default_timeout(settings: Settings) -> None:
    spec = Infraspec.model_validate({"app": "r", "role": "cron", "schedule": "* * * * *", "command": "true"})
    assert m.cronjob(spec, settings)["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 300


def test_cronjob_env_secrets_and_volumes(settings: Settings) -> None:
    spec = nightly(
        env={"TZ": "UTC"},
        secrets=["SMTP_API_KEY"],
        services={"postgres": {"database": "reports"}},
        volumes=[
            {"name": "out", "mountPath": "/out", "size": "1Gi"},
            {"name": "src", "mountPath": "/src", "hostPath": "/srv/src"},
        ],
    )
    pod = m.cronjob(spec, settings)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["env"] == [
        {"name": "TZ", "value": "UTC"},
        {"name": "DATABASE_URL", "value": "postgres://norn@pg.data:6543/reports?sslmode=disable"},
    ]
    assert container["envFrom"] == [{"secretRef": {"name": "nightly-report-secrets", "optional": True}}]
    assert container["volumeMounts"] == [{"name": "out", "mountPath": "/out"}, {"name": "src", "mountPath": "/src"}]
    assert pod["volumes"] == [
        {"name": "out", "persistentVolumeClaim": {"claimName": "nightly-report-out"}},
        {"name": "src", "hostPath": {"path": "/srv/src", "type": "DirectoryOrCreate"}},
    ]
    assert pod["restartPolicy"] == "Never"
