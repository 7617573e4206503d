"""connect: credentials loaded like kubectl (KUBECONFIG, else ~/.kube/config, else in-cluster) -> a Cluster."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from norn.errors import UsageError
from norn.kube import transport
from norn.kube.cluster import Cluster
from norn.kube.kubeconfig import (
    SECTIONS,
    context_user,
    entries,
    pick_context,
    read_kubeconfigs,
)


def connect(
    kubeconfig: str | None, context: str | None, *, retry_seconds: float = 30.0, request_timeout: float = 30.0,
    explicit: bool = False,
) -> Cluster:
    """Load credentials like kubectl: --kubeconfig (``explicit``), else KUBECONFIG, else ~/.kube/config, else in-cluster."""
    try:
        from norn.kube.lazyimport import import_kube_config, import_without_init

        import_without_init("kubernetes")
        import_without_init("kubernetes.utils")  # the transport needs two of its modules, not the YAML helpers
        import_without_init("kubernetes.client.models")  # the name table of 700 generated models, never used
        kube_config = import_kube_config()
        from kubernetes.client.api_client import ApiClient
        from kubernetes.client.configuration import Configuration
        from kubernetes.config import incluster_config
        from kubernetes.config.config_exception import ConfigException
    except ImportError as exc:
        raise UsageError(
            f"the kubernetes client cannot be imported: {exc}", hint="reinstall norn with its dependencies"
        ) from exc
    if not transport.supported(ApiClient):  # the client has it from 37 on
        raise UsageError(
            "the installed kubernetes client is older than norn needs (37 or newer)",
            hint="pip install --upgrade 'kubernetes>=37'",
        )

    configuration = Configuration()
    configuration.retries = False  # norn retries, counted and bounded, in Cluster._request
    options = {"retry_seconds": retry_seconds, "request_timeout": request_timeout}
    default_file = Path("~/.kube/config").expanduser()
    config_file = kubeconfig or (str(default_file) if default_file.exists() else None)
    try:
        if config_file is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            if context:
                raise UsageError(f"--context {context} was given, but norn runs in a pod with no kubeconfig")
            incluster_config.load_incluster_config(client_configuration=configuration)
            configuration.retries = False
            return Cluster(ApiClient(configuration), None, None, **options)
        if config_file is None:
            raise UsageError(
                "no Kubernetes credentials: KUBECONFIG is not set and ~/.kube/config does not exist",
                hint="point KUBECONFIG at your kubeconfig file",
            )
        files = read_kubeconfigs(config_file, explicit=explicit)
        active = pick_context(files, context)
        user = _load(kube_config, files, config_file, active, configuration)
    except ConfigException as exc:
        raise UsageError(f"kubeconfig {config_file}: {exc}", hint="check --kubeconfig or KUBECONFIG, and --context") from exc
    configuration.retries = False
    return Cluster(ApiClient(configuration), active, user, **options)


def _load(kube_config: Any, files: list[tuple[str, dict]], config_file: str, active: str, configuration: Any) -> str | None:
    """Set ``configuration`` for context ``active``; return the context's user.

    The client's loader is given the files as they were read here (parsed once,
    each entry remembering its file for relative certificate paths); a client
    laid out otherwise gets its public function, which reads the files again.
    """
    loader = getattr(kube_config, "KubeConfigLoader", None)
    try:
        if hasattr(kube_config, "ConfigNode") and hasattr(loader, "load_and_set"):
            _load_parsed(kube_config, files, active, configuration)
        else:
            kube_config.load_kube_config(config_file, active, client_configuration=configuration, persist_config=False)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:  # what the loader trips on in an odd file
        raise UsageError(
            f"kubeconfig {config_file}: the kubernetes client cannot load context {active!r}: {type(exc).__name__}: {exc}",
            hint="check that context, its cluster and its user in the kubeconfig",
        ) from exc
    return context_user(files, active)


def _load_parsed(kube_config: Any, files: list[tuple[str, dict]], active: str, configuration: Any) -> None:
    config_node = kube_config.ConfigNode
    first_path, first = files[0]
    merged = {k: v for k, v in first.items() if k not in SECTIONS}
    for section in SECTIONS:
        merged[section] = [
            config_node(f"{path}/{section}/{entry['name']}", entry, path) for path, entry in entries(files, section)
        ]
    root = config_node(first_path, merged, first_path)
    loader = kube_config.KubeConfigLoader(config_dict=root, active_context=active, config_base_path=None)
    loader.load_and_set(configuration)
