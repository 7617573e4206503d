"""The cloudflared operator's objects, as a cluster running a tunnel has them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.kubeapi.kinds.deployments import rolled_out

if TYPE_CHECKING:
    from tests.kubeapi.server import KubeAPI

DEFAULT_CLOUDFLARED_CONFIG = """\
# cloudflared, run by the cluster operator; norn adds and removes app rules.
tunnel: norn
credentials-file: /etc/cloudflared/creds/credentials.json
metrics: 0.0.0.0:2000
no-autoupdate: true
ingress:
  - hostname: grafana.example.com
    service: http://grafana.monitoring.svc.cluster.local:80
  # everything else: 404
  - service: http_status:404
"""


def seed_cloudflared(
    server: KubeAPI,
    namespace: str = "cloudflared",
    name: str = "cloudflared",
    config_text: str = DEFAULT_CLOUDFLARED_CONFIG,
) -> tuple[dict, dict]:
    """Seed the operator's cloudflared ConfigMap (key ``config.yaml``) and Deployment."""
    labels = {"app": name}
    configmap = server.seed(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "data": {"config.yaml": config_text},
        }
    )
    container = {
        "name": "cloudflared",
        "image": "cloudflare/cloudflared:2024.8.2",
        "args": ["tunnel", "--config", "/etc/cloudflared/config/config.yaml", "run"],
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/cloudflared/config", "readOnly": True},
            {"name": "creds", "mountPath": "/etc/cloudflared/creds", "readOnly": True},
        ],
    }
    volumes = [
        {"name": "config", "configMap": {"name": name}},
        {"name": "creds", "secret": {"secretName": "tunnel-credentials"}},
    ]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container], "volumes": volumes}},
        },
    }
    deployment["status"] = rolled_out(deployment)
    return configmap, server.seed(deployment)
