"""Label and field selectors -> object matchers, as the real server parses them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.kubeapi.errors import ApiError

_LABEL_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_LABEL_VALUE = r"[-A-Za-z0-9_.]*"
_EXISTS = re.compile(rf"^(!?)\s*({_LABEL_KEY})$")
_SET = re.compile(rf"^({_LABEL_KEY})\s+(in|notin)\s*\(([^()]*)\)$")
_EQUALITY = re.compile(rf"^({_LABEL_KEY})\s*(==|=|!=)\s*({_LABEL_VALUE})$")

Matcher = Callable[[dict], bool]


def _split_terms(text: str) -> list[str]:
    """Split a selector on the commas that are not inside ``in (...)`` sets."""
    terms, depth, current = [], 0, []
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term.strip() for term in terms if term.strip()]


def _label_requirement(term: str) -> Callable[[dict], bool]:
    if match := _EXISTS.match(term):
        negate, key = match.group(1) == "!", match.group(2)
        return lambda labels: (key in labels) != negate
    if match := _SET.match(term):
        key, operator = match.group(1), match.group(2)
        values = {value.strip() for value in match.group(3).split(",") if value.strip()}
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: key not in labels or labels[key] not in values
    if match := _EQUALITY.match(term):
        key, operator, value = match.groups()
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    raise ApiError(400, f"unable to parse requirement: {term!r}")


def label_matcher(selector: str) -> Matcher:
    """An object matcher for a ``labelSelector`` (equality, set and existence terms)."""
    requirements = [_label_requirement(term) for term in _split_terms(selector)]
    return lambda obj: all(req(obj.get("metadata", {}).get("labels") or {}) for req in requirements)


# Field selectors the stand-in answers: every kind's metadata, and what Events add.
SELECTABLE_FIELDS = ("metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.name",
                     "involvedObject.namespace", "involvedObject.uid", "reason", "type")


def _field_value(obj: dict, path: str) -> Any:
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def field_matcher(selector: str) -> Matcher:
    """An object matcher for a ``fieldSelector`` on one of ``SELECTABLE_FIELDS``."""
    requirements = []
    for term in _split_terms(selector):
        match = re.match(r"^([\w.]+)\s*(==|=|!=)\s*(.*)$", term)
        if not match:
            raise ApiError(400, f"invalid selector: {term!r}; can't understand {term!r}")
        path, operator, value = match.groups()
        if path not in SELECTABLE_FIELDS:
            raise ApiError(400, f"field label not supported: {path}")
        wanted = operator != "!="
        requirements.append(lambda obj, p=path, v=value, w=wanted: (_field_value(obj, p) == v) == w)
    return lambda obj: all(req(obj) for req in requirements)

