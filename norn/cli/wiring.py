"""What a command builds from its flags: settings, the state store, the cluster connector, the
folder it runs in. Each imports its module when called, so `norn --help` loads none of them."""

from __future__ import annotations

from pathlib import Path

from norn.errors import UsageError


def settings_for(namespace: str | None, context: str | None, state_backend=None, kubeconfig: str | None = None):
    from norn import settings

    backend = state_backend.value if state_backend else None
    return settings.load().with_flags(namespace=namespace, context=context, state_backend=backend, kubeconfig=kubeconfig)


def store_for(settings):
    from norn.store import open_store

    return open_store(settings)


def connector(settings):
    """Connects only when called: a command that never reaches the cluster never imports its client."""

    def connect():
        from norn.kube.connect import connect as connect_cluster

        return connect_cluster(
            settings.kubeconfig,
            settings.context,
            retry_seconds=settings.api_retry_seconds,
            request_timeout=settings.api_timeout,
            explicit=settings.kubeconfig_flag,
        )

    return connect


def wait_seconds(timeout: str) -> float:
    from norn.kube.rollout import parse_duration

    return parse_duration(timeout)


def cwd() -> Path:
    try:
        return Path.cwd()
    except OSError as exc:  # the shell's folder was deleted or moved away
        raise UsageError(
            f"the current folder cannot be used: {exc.strerror}", hint="cd to a folder that exists, then rerun"
        ) from exc
