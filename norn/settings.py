"""NORN_* environment and command-line flags, resolved once into Settings.

Flags override the environment; the environment overrides the defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, NamedTuple

from norn.errors import UsageError
from norn.names import DNS_LABEL, DNS_SUBDOMAIN, is_dns_label, is_dns_subdomain

DEFAULTS = {
    "NORN_APPS_DIR": "~/projects",
    "NORN_NAMESPACE": "default",
    "NORN_TUNNEL_NAME": "norn",
    "NORN_CLOUDFLARED_NAMESPACE": "cloudflared",
    "NORN_CLOUDFLARED_DEPLOYMENT": "cloudflared",
    "NORN_CLOUDFLARED_CONFIGMAP": "cloudflared",
    "NORN_PG_HOST": "postgres",
    "NORN_PG_PORT": "5432",
    "NORN_PG_USER": "norn",
    "NORN_STATE_BACKEND": "local",
    "NORN_LOCK_SECONDS": "60",
    "NORN_PARALLEL": "8",
}

CLOUDFLARED_CONFIG_KEY = "config.yaml"
CLOUDFLARE_BASE_URL = "https://api.cloudflare.com/client/v4"  # CLOUDFLARE_BASE_URL, as the official SDK reads it
CLOUDFLARED_TIMEOUT_SECONDS = 60.0
API_RETRY_SECONDS = 30.0  # the longest norn keeps retrying one transient API failure
API_TIMEOUT_SECONDS = 30.0  # one API request


class Settings(NamedTuple):
    """Resolved once per command and never changed. A NamedTuple, as immutable as a frozen
    dataclass, and about 1 ms less on every command: a frozen dataclass of 21 fields compiles
    its methods at import (docs/performance.md)."""

    apps_dir: Path
    state_dir: Path
    namespace: str
    tunnel_name: str
    cloudflared_namespace: str
    cloudflared_deployment: str
    cloudflared_configmap: str
    pg_host: str
    pg_port: int
    pg_user: str
    kubeconfig: str | None = None  # None: the client's default (KUBECONFIG, ~/.kube/config, in-cluster)
    kubeconfig_flag: bool = False  # kubeconfig came from --kubeconfig: one file, KUBECONFIG ignored
    context: str | None = None
    cloudflared_timeout: float = CLOUDFLARED_TIMEOUT_SECONDS
    api_retry_seconds: float = API_RETRY_SECONDS
    api_timeout: float = API_TIMEOUT_SECONDS
    tunnel_id: str | None = None  # NORN_TUNNEL_ID: the tunnel's UUID, when cloudflared cannot tell it
    cloudflare_base_url: str = CLOUDFLARE_BASE_URL
    cloudflare_token: str | None = None  # CLOUDFLARE_API_TOKEN: a secret, never shown (__repr__)
    state_backend: str = "local"  # local | kubernetes
    state_namespace: str | None = None  # NORN_STATE_NAMESPACE; None: the app namespace
    lock_seconds: int = 60  # the kubernetes backend's Lease duration
    parallel: int = 8  # NORN_PARALLEL: apps of a many-app run at work at once (and cloudflared processes)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self) if name != "cloudflare_token")
        return f"Settings({shown})"

    @property
    def store_namespace(self) -> str:
        """Where the kubernetes backend keeps state and locks."""
        return self.state_namespace or self.namespace

    def with_flags(
        self,
        *,
        namespace: str | None = None,
        context: str | None = None,
        state_backend: str | None = None,
        kubeconfig: str | None = None,
    ) -> "Settings":
        changes: dict = {}
        if kubeconfig:  # as kubectl's --kubeconfig: it wins over KUBECONFIG
            changes.update(kubeconfig=kubeconfig, kubeconfig_flag=True)
        if namespace is not None:
            changes["namespace"] = _checked_name("--namespace", namespace, NAMESPACE)
        if context:
            changes["context"] = context
        if state_backend:
            changes["state_backend"] = state_backend
        return self._replace(**changes) if changes else self


def default_state_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("norn", appauthor=False)) / "state"


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ

    def get(name: str) -> str:
        value = env.get(name, "").strip()
        return value or DEFAULTS[name]

    port_text = get("NORN_PG_PORT")
    try:
        pg_port = int(port_text)
        if not 1 <= pg_port <= 65535:
            raise ValueError
    except ValueError:
        raise UsageError(
            f"NORN_PG_PORT={port_text!r} is not a port number",
            hint="set it to a whole number from 1 to 65535",
        ) from None

    tunnel_id = env.get("NORN_TUNNEL_ID", "").strip() or None
    if tunnel_id:
        import uuid  # here: uuid loads platform, about 2.5 ms of every `norn status` without a tunnel id set

        try:
            tunnel_id = str(uuid.UUID(tunnel_id))
        except ValueError:
            raise UsageError(
                f"NORN_TUNNEL_ID={tunnel_id!r} is not a tunnel id",
                hint="set it to the tunnel's UUID, as `cloudflared tunnel list` shows it",
            ) from None
    base_url = env.get("CLOUDFLARE_BASE_URL", "").strip().rstrip("/") or CLOUDFLARE_BASE_URL
    if not base_url.startswith(("https://", "http://")):
        raise UsageError(
            f"CLOUDFLARE_BASE_URL={base_url!r} is not an http(s) URL",
            hint=f"unset it, or set it to an API base such as {CLOUDFLARE_BASE_URL}",
        )
    backend = get("NORN_STATE_BACKEND")
    if backend not in ("local", "kubernetes"):
        raise UsageError(f"NORN_STATE_BACKEND={backend!r} is not a state backend", hint="set it to local or kubernetes")

    lock_text = get("NORN_LOCK_SECONDS")
    try:
        lock_seconds = int(lock_text)
        if lock_seconds < 1:
            raise ValueError
    except ValueError:
        raise UsageError(
            f"NORN_LOCK_SECONDS={lock_text!r} is not a whole number of seconds",
            hint="set it to a whole number of 1 or more, such as 60",
        ) from None

    parallel_text = get("NORN_PARALLEL")
    try:
        parallel = int(parallel_text)
        if parallel < 1:
            raise ValueError
    except ValueError:
        raise UsageError(
            f"NORN_PARALLEL={parallel_text!r} is not a number of apps",
            hint="set it to a whole number of 1 or more, such as 8",
        ) from None

    for name, rule in _NAMED_SETTINGS.items():
        _checked_name(f"{name}=", env.get(name, "").strip() or None, rule)  # unset: the default, valid

    state_dir = env.get("NORN_STATE_DIR", "").strip()
    return Settings(
        apps_dir=Path(get("NORN_APPS_DIR")).expanduser(),
        state_dir=Path(state_dir).expanduser() if state_dir else default_state_dir(),
        namespace=get("NORN_NAMESPACE"),
        tunnel_name=get("NORN_TUNNEL_NAME"),
        cloudflared_namespace=get("NORN_CLOUDFLARED_NAMESPACE"),
        cloudflared_deployment=get("NORN_CLOUDFLARED_DEPLOYMENT"),
        cloudflared_configmap=get("NORN_CLOUDFLARED_CONFIGMAP"),
        pg_host=get("NORN_PG_HOST"),
        pg_port=pg_port,
        pg_user=get("NORN_PG_USER"),
        kubeconfig=env.get("KUBECONFIG") or None,
        cloudflared_timeout=_seconds(env, "NORN_CLOUDFLARED_TIMEOUT", CLOUDFLARED_TIMEOUT_SECONDS),
        api_retry_seconds=_seconds(env, "NORN_API_RETRY_SECONDS", API_RETRY_SECONDS, allow_zero=True),
        api_timeout=_seconds(env, "NORN_API_TIMEOUT", API_TIMEOUT_SECONDS),
        tunnel_id=tunnel_id,
        cloudflare_base_url=base_url,
        cloudflare_token=env.get("CLOUDFLARE_API_TOKEN", "").strip() or None,
        state_backend=backend,
        state_namespace=env.get("NORN_STATE_NAMESPACE", "").strip() or None,
        lock_seconds=lock_seconds,
        parallel=parallel,
    )


# Each name setting and the rule kube-apiserver applies to the object it names: a namespace's
# name is a DNS-1123 label, a ConfigMap's and a Deployment's a DNS-1123 subdomain.
NAMESPACE = (is_dns_label, "namespace name", DNS_LABEL)
_NAMED_SETTINGS = {
    "NORN_NAMESPACE": NAMESPACE,
    "NORN_STATE_NAMESPACE": NAMESPACE,
    "NORN_CLOUDFLARED_NAMESPACE": NAMESPACE,
    "NORN_CLOUDFLARED_CONFIGMAP": (is_dns_subdomain, "ConfigMap name", DNS_SUBDOMAIN),
    "NORN_CLOUDFLARED_DEPLOYMENT": (is_dns_subdomain, "Deployment name", DNS_SUBDOMAIN),
}


def _checked_name(where: str, value: str | None, rule: tuple) -> str | None:
    """The value, or UsageError naming the flag or variable (`where`) and what the API server takes."""
    valid, noun, wants = rule
    if value is None or valid(value):
        return value
    shown = f"{where}{value!r}" if where.endswith("=") else f"{where} {value!r}"
    raise UsageError(
        f"{shown} is not a valid {noun}: it must be {wants}",
        hint="the Kubernetes API server refuses any other name",
    )


def _seconds(env: Mapping[str, str], name: str, default: float, *, allow_zero: bool = False) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0 or (value == 0 and not allow_zero) or value != value or value == float("inf"):
        raise UsageError(f"{name}={text!r} is not a number of seconds", hint=f"set it to a positive number, such as {default:g}")
    return value
