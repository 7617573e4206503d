"""The Kubernetes objects norn creates for an app, built from its infraspec.

Pure functions returning plain dicts (the JSON the API server takes), so the
steps that apply them, and the tests, need neither a cluster nor the
kubernetes client's model classes. Only Secret *names* appear here: the
deploy pipeline owns secret values, and norn never reads or writes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from norn.kube.ownership import INSTANCE, MANAGED_BY
from norn.settings import Settings

if TYPE_CHECKING:  # annotations only: teardown builds no infraspec models
    from norn.infraspec.model import Infraspec, Volume

Manifest = dict[str, Any]


SERVICE_PORT = 80
DATABASE_URL = "DATABASE_URL"

# Probe timing: the startup probe gives a slow boot up to 30 x 5s = 150s before
# the liveness probe may restart the container; readiness is checked often so
# traffic follows the pod's state quickly; liveness is slower and tolerant so a
# brief stall does not cause a restart.
STARTUP_PERIOD_SECONDS = 5
STARTUP_FAILURE_THRESHOLD = 30
READINESS_PERIOD_SECONDS = 10
LIVENESS_PERIOD_SECONDS = 20
LIVENESS_FAILURE_THRESHOLD = 3


def labels(app: str) -> dict[str, str]:
    """Labels on every object norn creates: `app` selects pods, managed-by and instance mark ownership."""
    return {"app": app, "app.kubernetes.io/name": app, INSTANCE: app, MANAGED_BY[0]: MANAGED_BY[1]}


def image(app: str) -> str:
    """The placeholder image; the deploy pipeline sets the real one later."""
    return f"{app}:latest"


def pull_policy(image_ref: str) -> str:
    """`Never` for a bare local image (pulling it would fail), else `IfNotPresent`.

    Like Docker, the first path component names a registry only when it holds
    a '.' or ':' or is 'localhost'.
    """
    first, slash, _ = image_ref.partition("/")
    has_registry = bool(slash) and ("." in first or ":" in first or first == "localhost")
    return "IfNotPresent" if has_registry else "Never"


def database_url(spec: Infraspec, settings: Settings) -> str | None:
    """The injected postgres URL, or None when there is no database or the app brings its own."""
    postgres = spec.services.postgres
    if postgres is None or DATABASE_URL in spec.env or DATABASE_URL in spec.secrets:
        return None
    return (
        f"postgres://{settings.pg_user}@{settings.pg_host}:{settings.pg_port}"
        f"/{postgres.database}?sslmode=disable"
    )


def env_vars(spec: Infraspec, settings: Settings) -> list[dict[str, str]]:
    """The container's static env, in the spec's order, plus DATABASE_URL when norn provides it."""
    result = [{"name": name, "value": value} for name, value in spec.env.items()]
    url = database_url(spec, settings)
    if url is not None:
        result.append({"name": DATABASE_URL, "value": url})
    return result


def secret_name(app: str) -> str:
    """The Secret the deploy pipeline creates for the app's `secrets`."""
    return f"{app}-secrets"


def env_from(spec: Infraspec) -> list[Manifest]:
    """Reference the app's Secret; optional, since it may not exist yet at forge time."""
    if not spec.secrets:
        return []
    return [{"secretRef": {"name": secret_name(spec.app), "optional": True}}]


def pvc_name(spec: Infraspec, volume: Volume) -> str:
    """PVC names are prefixed with the app so apps in one namespace do not collide."""
    return f"{spec.app}-{volume.name}"


def persistent_volume_claims(spec: Infraspec, namespace: str) -> list[Manifest]:
    """One ReadWriteOnce PVC per sized volume (hostPath volumes need none)."""
    return [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": pvc_name(spec, v), "namespace": namespace, "labels": labels(spec.app)},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": v.size}},
            },
        }
        for v in spec.volumes
        if v.host_path is None
    ]


def _pod_volumes(spec: Infraspec) -> list[Manifest]:
    """Pod volumes: a host folder (created if missing) or the app's PVC."""
    result: list[Manifest] = []
    for v in spec.volumes:
        if v.host_path is not None:
            source: Manifest = {"hostPath": {"path": v.host_path, "type": "DirectoryOrCreate"}}
        else:
            source = {"persistentVolumeClaim": {"claimName": pvc_name(spec, v)}}
        result.append({"name": v.name, **source})
    return result


def _volume_mounts(spec: Infraspec) -> list[Manifest]:
    return [{"name": v.name, "mountPath": v.mount_path} for v in spec.volumes]


def _probes(spec: Infraspec) -> Manifest:
    """Startup, readiness and liveness probes on the healthcheck path; none without one.

    A probe needs a port too; a spec with a healthcheck but no port gets none
    (validation is where that mistake is reported).
    """
    if spec.healthcheck is None or spec.port is None:
        return {}
    http_get = {"path": spec.healthcheck, "port": spec.port}
    return {
        "startupProbe": {
            "httpGet": dict(http_get),
            "periodSeconds": STARTUP_PERIOD_SECONDS,
            "failureThreshold": STARTUP_FAILURE_THRESHOLD,
        },
        "readinessProbe": {"httpGet": dict(http_get), "periodSeconds": READINESS_PERIOD_SECONDS},
        "livenessProbe": {
            "httpGet": dict(http_get),
            "periodSeconds": LIVENESS_PERIOD_SECONDS,
            "failureThreshold": LIVENESS_FAILURE_THRESHOLD,
        },
    }


def _container(spec: Infraspec, settings: Settings) -> Manifest:
    """The fields the Deployment's and the CronJob's container share."""
    ref = image(spec.app)
    container: Manifest = {"name": spec.app, "image": ref, "imagePullPolicy": pull_policy(ref)}
    if env := env_vars(spec, settings):
        container["env"] = env
    if sources := env_from(spec):
        container["envFrom"] = sources
    if mounts := _volume_mounts(spec):
        container["volumeMounts"] = mounts
    return container


def _pod_spec(spec: Infraspec, container: Manifest) -> Manifest:
    pod: Manifest = {"containers": [container]}
    if volumes := _pod_volumes(spec):
        pod["volumes"] = volumes
    return pod


def _metadata(spec: Infraspec, name: str, namespace: str) -> Manifest:
    return {"name": name, "namespace": namespace, "labels": labels(spec.app)}


def deployment(spec: Infraspec, settings: Settings) -> Manifest:
    """The apps/v1 Deployment of a webserver or worker."""
    container = _container(spec, settings)
    if spec.port is not None:
        container["ports"] = [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}]
    container.update(_probes(spec))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(spec, spec.app, settings.namespace),
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": {"app": spec.app}},
            "template": {
                "metadata": {"labels": labels(spec.app)},
                "spec": _pod_spec(spec, container),
            },
        },
    }


def service(spec: Infraspec, settings: Settings) -> Manifest | None:
    """The ClusterIP Service named `hosts.internal` (port 80 to the app's port), or None."""
    name = spec.hosts.internal
    if name is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(spec, name, settings.namespace),
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": spec.app},
            "ports": [
                {
                    "name": "http",
                    "port": SERVICE_PORT,
                    # Without a port Kubernetes would default targetPort to `port`.
                    "targetPort": spec.port if spec.port is not None else SERVICE_PORT,
                    "protocol": "TCP",
                }
            ],
        },
    }


def service_url(spec: Infraspec, namespace: str) -> str:
    """Where the tunnel's ingress rule sends the external hostname's traffic."""
    if spec.hosts.internal is None:
        raise ValueError(f"app {spec.app!r} has no hosts.internal, so no Service URL")
    return f"http://{spec.hosts.internal}.{namespace}.svc.cluster.local:{SERVICE_PORT}"


def cronjob(spec: Infraspec, settings: Settings) -> Manifest:
    """The batch/v1 CronJob of a cron app."""
    if spec.schedule is None or spec.command is None:
        raise ValueError(f"cron app {spec.app!r} needs a schedule and a command")
    container = _container(spec, settings)
    container["command"] = ["/bin/sh", "-c", spec.command]
    pod = _pod_spec(spec, container)
    pod["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _metadata(spec, spec.app, settings.namespace),
        "spec": {
            "schedule": spec.schedule,
            # A run still going when the next is due is not doubled up.
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {
                "metadata": {"labels": labels(spec.app)},
                "spec": {
                    # `timeout` bounds the whole Job, retries included.
                    "activeDeadlineSeconds": spec.timeout,
                    # No retries: a command that failed halfway may not be safe
                    # to run again (a report mailed twice), and the next
                    # scheduled run is the natural retry.
                    "backoffLimit": 0,
                    "template": {"metadata": {"labels": labels(spec.app)}, "spec": pod},
                },
            },
        },
    }
