"""The stand-in Kubernetes API server the tests drive the real client against."""

from tests.kubeapi.server import (
    DEFAULT_CLOUDFLARED_CONFIG,
    Fault,
    KubeAPI,
    RequestRecord,
    seed_cloudflared,
)

__all__ = ["DEFAULT_CLOUDFLARED_CONFIG", "Fault", "KubeAPI", "RequestRecord", "seed_cloudflared"]
