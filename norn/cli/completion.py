"""Shell completion of app names (`norn --install-completion`): what the state records and what
the infraspecs under NORN_APPS_DIR declare. Cheap, as a shell waits on it at every TAB: no
kubernetes client, no pydantic, no YAML parser; the kubernetes backend's records are not listed
(that would be a request to the cluster)."""

from __future__ import annotations

import re
from pathlib import Path

SPEC_NAME = "infraspec.yaml"  # as infraspec/discovery.py, which this module must not import (pydantic)
_APP_KEY = re.compile(r"^app:[ \t]*['\"]?([a-z0-9][a-z0-9-]*)['\"]?[ \t]*(?:#.*)?$", re.MULTILINE)
_HEAD_BYTES = 4096  # the app key is near the top; a huge file costs no more than this


def complete_app(incomplete: str) -> list[str]:
    """App names that start with what was typed; none when the settings or folders cannot be read."""
    from norn import settings
    from norn.errors import NornError
    from norn.names import is_dns_label

    try:
        found = settings.load()
    except NornError:
        return []
    names = recorded_apps(found.state_dir) if found.state_backend == "local" else set()
    names |= declared_apps(found.apps_dir)
    return sorted(name for name in names if name.startswith(incomplete) and is_dns_label(name))


def recorded_apps(state_dir: Path) -> set[str]:
    """The local backend's records: one `<app>.json` per app."""
    try:
        return {path.stem for path in state_dir.glob("*.json") if not path.name.startswith(".")}
    except OSError:
        return set()


def declared_apps(apps_dir: Path) -> set[str]:
    """The app key of each `*/infraspec.yaml`, read from the top of the file (its folder's name when
    the key is not found there: forge looks for `<apps_dir>/<app>/infraspec.yaml` first)."""
    names = set()
    try:
        paths = list(apps_dir.expanduser().glob(f"*/{SPEC_NAME}"))
    except OSError:
        return names
    for path in paths:
        names.add(app_key(_head(path)) or path.parent.name)
    return names


def app_key(text: str) -> str | None:
    """The top-level `app:` value of an infraspec's text, when it is written plainly."""
    match = _APP_KEY.search(text)
    return match.group(1) if match else None


def _head(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(_HEAD_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""
