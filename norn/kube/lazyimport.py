"""Import the parts of the ``kubernetes`` client norn uses, without the rest.

Two tricks, each worth tens of milliseconds on every command that talks to the
cluster (docs/performance.md), and each falling back to a plain import when the
client's layout is not what it expects. Worth a look on client upgrades.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from typing import Any

# kube_config imports these for one thing, refreshing an OIDC token
# (oauthlib.oauth2 for one exception class, requests_oauthlib for OAuth2Session,
# which brings in requests): about 60 ms that most users never need.
_OIDC_ONLY = ("oauthlib.oauth2", "requests_oauthlib")


def import_without_init(name: str) -> None:
    """Register package ``name`` without running its ``__init__`` yet.

    ``import kubernetes.config`` first runs ``kubernetes/__init__.py``, which also
    imports dynamic, watch, stream (websocket), informer and leaderelection, none of
    which norn uses. With the bare package registered, its submodules import as
    usual; asking the package for anything else runs the real ``__init__`` then, so
    other code in the process still sees the whole package.
    """
    if name in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return  # a parent package missing or odd: the plain import will say what is wrong
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)

    def __getattr__(attr: str) -> Any:
        if not attr.startswith("__") and importlib.util.find_spec(f"{name}.{attr}") is not None:
            return importlib.import_module(f"{name}.{attr}")
        del package.__getattr__
        spec.loader.exec_module(package)
        return getattr(package, attr)

    package.__getattr__ = __getattr__
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, package)


def import_kube_config() -> types.ModuleType:
    """``kubernetes.config.kube_config``, with imports it rarely needs deferred.

    ``oauthlib.oauth2`` is registered without its ``__init__`` (see
    import_without_init) and, while it imports, ``requests_oauthlib``,
    ``dateutil.parser`` and ``multiprocessing`` are placeholders whose functions
    import the real ones when called (see _PLACEHOLDERS). The placeholders leave ``sys.modules`` straight
    after, so any other import gets the real modules.
    """
    if "kubernetes.config.kube_config" in sys.modules or any(name in sys.modules for name in _OIDC_ONLY):
        return importlib.import_module("kubernetes.config.kube_config")
    import_without_init("oauthlib.oauth2")
    placeholders = {}
    for name, names in _PLACEHOLDERS.items():
        if name not in sys.modules:
            placeholders[name] = types.ModuleType(name)
            placeholders[name].__dict__.update(names)
    sys.modules.update(placeholders)
    try:
        return importlib.import_module("kubernetes.config.kube_config")
    except (ImportError, AttributeError):
        pass  # a client that wants more of these modules than the placeholders hold
    finally:
        for name, placeholder in placeholders.items():
            if sys.modules.get(name) is placeholder:
                del sys.modules[name]
    return importlib.import_module("kubernetes.config.kube_config")


def _oauth2_session(*args: Any, **kwargs: Any) -> Any:
    from requests_oauthlib import OAuth2Session

    return OAuth2Session(*args, **kwargs)


def _parse_date(*args: Any, **kwargs: Any) -> Any:
    from dateutil.parser import parse

    return parse(*args, **kwargs)


def _thread_pool(*args: Any, **kwargs: Any) -> Any:
    from multiprocessing.pool import ThreadPool

    return ThreadPool(*args, **kwargs)


def _cpu_count() -> int:
    """multiprocessing.cpu_count, which is os.cpu_count or NotImplementedError."""
    count = os.cpu_count()
    if count is None:
        raise NotImplementedError("cannot determine number of cpus")
    return count


# What the client's modules take from modules they need only on rare paths:
# requests_oauthlib to refresh an OIDC token (kube_config; it brings in requests),
# dateutil's parser to turn dates into the generated model classes (ApiClient's
# deserializer, which norn's plain-JSON requests never use; about 10 ms of
# dateutil.parser and dateutil.tz), multiprocessing for cpu_count (Configuration's
# default pool size) and ThreadPool (ApiClient's async_req, which norn never uses):
# multiprocessing brings in its context, reduction and pickle, about 3 ms.
_PLACEHOLDERS = {
    "requests_oauthlib": {"OAuth2Session": _oauth2_session},
    "dateutil.parser": {"parse": _parse_date},
    "multiprocessing": {"cpu_count": _cpu_count},
    "multiprocessing.pool": {"ThreadPool": _thread_pool},
}
