"""Reading and checking kubeconfig files, as kubectl merges them, before the client's loader sees them.

Anything that is not a kubeconfig is refused with one line naming the file;
the files are parsed once, here, and handed to the client's loader as read
(kube/connect.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from norn.errors import UsageError

KUBECONFIG_MAX_BYTES = 2 * 1024 * 1024  # all kubeconfig files together: parsed well within 2 s
KUBECONFIG_MAX_NODES = 1_000_000  # YAML nodes once aliases are expanded: an alias bomb goes no further
SECTIONS = ("clusters", "contexts", "users")


def read_kubeconfigs(config_file: str, *, explicit: bool = False) -> list[tuple[str, dict]]:
    """Each existing file of a KUBECONFIG list, parsed: (path, its mapping).

    ``explicit``: the path of --kubeconfig, one file that must exist, never split on ':'
    (client-go's ClientConfigLoadingRules.Load with an ExplicitPath). Anything that is not a
    kubeconfig is refused here with one line naming the file, before the client's loader sees it.
    """
    if explicit:
        path = str(Path(config_file).expanduser())
        if not os.path.exists(path):
            raise UsageError(f"kubeconfig {config_file} does not exist (given with --kubeconfig)", hint="check the path")
        existing = [path]
    else:
        paths = [str(Path(p).expanduser()) for p in config_file.split(os.pathsep) if p]
        existing = [p for p in paths if os.path.exists(p)]
    if not existing:
        raise UsageError(f"kubeconfig {config_file} does not exist", hint="check KUBECONFIG")
    files, total = [], 0
    for path in existing:
        data = _read(path, KUBECONFIG_MAX_BYTES - total)
        total += len(data)
        files.append((path, parse_kubeconfig(path, _decode(path, data))))
    return files


def _read(path: str, budget: int) -> bytes:
    where = f"kubeconfig {path}"
    if os.path.isdir(path):
        raise UsageError(f"{where} is a directory, not a file", hint="point KUBECONFIG at the file inside it")
    try:
        with open(path, "rb") as f:
            data = f.read(budget + 1)
    except OSError as exc:
        raise UsageError(f"{where} cannot be read: {exc.strerror or exc}", hint="check its permissions") from exc
    if len(data) > budget:
        raise UsageError(
            f"{where} is too large: kubeconfig files may hold {KUBECONFIG_MAX_BYTES // (1024 * 1024)} MiB in all",
            hint="point KUBECONFIG at the kubeconfig norn should use",
        )
    return data


def _decode(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"kubeconfig {path} is not UTF-8 text (byte {exc.start})", hint="point KUBECONFIG at a kubeconfig file"
        ) from exc


def parse_kubeconfig(path: str, text: str) -> dict:
    """One kubeconfig's YAML as a mapping, its aliases expanding to at most KUBECONFIG_MAX_NODES nodes."""
    import yaml

    where = f"kubeconfig {path}"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)  # libyaml when there: a large file parses in ms
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, {}) > KUBECONFIG_MAX_NODES:
            raise UsageError(
                f"{where}: its YAML aliases expand to more than {KUBECONFIG_MAX_NODES:,} nodes",
                hint="write the kubeconfig without anchors and aliases",
            )
        config = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise UsageError(f"{where} is not valid YAML: {_yaml_problem(exc)}", hint="fix the file or point KUBECONFIG elsewhere") from exc
    except RecursionError as exc:
        raise UsageError(f"{where} nests too deeply to be a kubeconfig", hint="point KUBECONFIG at a kubeconfig file") from exc
    finally:
        loader.dispose()
    if config is None:
        raise UsageError(f"{where} is empty", hint="point KUBECONFIG at a kubeconfig file")
    if not isinstance(config, dict):
        raise UsageError(f"{where} is not a kubeconfig: its top level is not a mapping", hint="point KUBECONFIG at a kubeconfig file")
    for section in SECTIONS:
        entries = config.get(section) or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries):
            raise UsageError(f"{where}: {section} must be a list of entries, each with a name", hint="fix the file")
    return config


def _expanded_size(node: Any, seen: dict[int, int]) -> int:
    """How many nodes ``node`` stands for once every alias is written out (shared nodes counted once each time)."""
    if id(node) in seen:
        return seen[id(node)]
    seen[id(node)] = 1  # a node reached again while being counted is a cycle: counted once
    size = 1
    if isinstance(node.value, list):
        for item in node.value:
            for child in item if isinstance(item, tuple) else (item,):
                size += _expanded_size(child, seen)
                if size > KUBECONFIG_MAX_NODES:
                    break
    seen[id(node)] = size
    return size


def _yaml_problem(exc: Exception) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem


def entries(files: list[tuple[str, dict]], section: str) -> list[tuple[str, dict]]:
    """One section of the merged kubeconfig: the first entry of each name wins, as kubectl merges."""
    found: dict[str, tuple[str, dict]] = {}
    for path, config in files:
        for entry in config.get(section) or []:
            found.setdefault(entry["name"], (path, entry))
    return list(found.values())


def pick_context(files: list[tuple[str, dict]], context: str | None) -> str:
    """The context to use: --context, else the first current-context set (kubectl's rule); it must exist."""
    names = [entry["name"] for _, entry in entries(files, "contexts")]
    where = "kubeconfig " + os.pathsep.join(path for path, _ in files)
    wanted = context or next((c["current-context"] for _, c in files if c.get("current-context")), None)
    listed = ", ".join(names) if names else "none"
    if wanted is None:
        raise UsageError(f"{where} sets no current-context; its contexts: {listed}", hint="pass --context NAME")
    if wanted not in names:
        source = "--context" if context else "its current-context"
        raise UsageError(
            f"{where} has no context {wanted!r} (from {source}); its contexts: {listed}",
            hint="pass --context with one of them" if names else "add the context to the kubeconfig",
        )
    return wanted


def context_user(files: list[tuple[str, dict]], name: str) -> str | None:
    context = next(e for _, e in entries(files, "contexts") if e["name"] == name).get("context")
    return context.get("user") if isinstance(context, dict) else None
