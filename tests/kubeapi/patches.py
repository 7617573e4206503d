"""Patches, by Content-Type: JSON merge patch (RFC 7386), strategic merge patch (``smp.py``), JSON patch (RFC 6902)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from tests.kubeapi.errors import ApiError
from tests.kubeapi.smp import strategic_merge_patch


class PatchError(ValueError):
    """A patch that cannot be applied to this object (the real server answers 422)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [token.replace("~1", "/").replace("~0", "~") for token in path.split("/")[1:]]


def _index(container: list, token: str, *, for_add: bool = False) -> int:
    if for_add and token == "-":
        return len(container)
    if not token.isdigit():
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    if index > len(container) or (index == len(container) and not for_add):
        raise PatchError(f"array index {index} out of bounds")
    return index


def _resolve(doc: Any, tokens: list[str]) -> Any:
    for token in tokens:
        if isinstance(doc, dict) and token in doc:
            doc = doc[token]
        elif isinstance(doc, list):
            doc = doc[_index(doc, token)]
        else:
            raise PatchError(f"path /{'/'.join(tokens)} does not exist")
    return doc


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1])
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, tokens[-1], for_add=True), value)
    else:
        raise PatchError(f"cannot add to a {type(parent).__name__}")
    return doc


def _replace(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1])
    if isinstance(parent, dict) and tokens[-1] in parent:
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent[_index(parent, tokens[-1])] = value
    else:
        raise PatchError(f"path /{'/'.join(tokens)} does not exist")
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    """Remove and return the value at ``tokens``."""
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _resolve(doc, tokens[:-1])
    if isinstance(parent, dict) and tokens[-1] in parent:
        return parent.pop(tokens[-1])
    if isinstance(parent, list):
        return parent.pop(_index(parent, tokens[-1]))
    raise PatchError(f"path /{'/'.join(tokens)} does not exist")


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch on a copy of ``doc``."""
    if not isinstance(operations, list):
        raise ApiError(400, "json patch body must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op:
            raise PatchError(f"invalid operation {op!r}")
        kind, tokens = op["op"], _pointer(op.get("path"))
        if kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, tokens)
        elif kind == "replace":
            doc = _replace(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind == "test":
            if _resolve(doc, tokens) != op.get("value"):
                raise PatchError(f"testing value {op.get('path')} failed")
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from"))
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_resolve(doc, source))
            doc = _add(doc, tokens, value)
        else:
            raise PatchError(f"unexpected kind of operation {kind!r}")
    return doc


# Content-Type -> (stored object, patch, kind) -> the patched object.
PATCHERS: dict[str, Callable[[Any, Any, str], Any]] = {
    "application/merge-patch+json": lambda target, patch, _kind: merge_patch(target, patch),
    "application/strategic-merge-patch+json": strategic_merge_patch,
    "application/json-patch+json": lambda target, patch, _kind: json_patch(target, patch),
}

