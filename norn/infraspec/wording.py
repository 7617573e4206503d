"""How a problem shows the value it got, and the suggestion for a likely typo. Pure."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any


def show(value: Any) -> str:
    """A value as the user wrote it, on one short line."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:60] + "...")
    return str(value)


def is_whole(value: Any) -> bool:
    """Strict int: YAML `true` and `"80"` are not numbers."""
    return isinstance(value, int) and not isinstance(value, bool)


def got_number(value: Any) -> str:
    """`got ...` for a field that wants a number, telling how to fix quoted numbers."""
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", value):
        return f"got the string {value!r}; write the number without quotes"
    return f"got {show(value)}"


def got_text(value: Any) -> str:
    """`got ...` for a field that wants text."""
    if isinstance(value, (bool, int, float)):
        return f"got {show(value)}, which is not a string"
    return f"got {show(value)}"


def closest(word: Any, choices: tuple[str, ...] | list[str]) -> str | None:
    """The choice `word` is most likely a typo of (case-insensitive), if one is close."""
    if not isinstance(word, str):
        return None
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def did_you_mean(word: Any, choices: tuple[str, ...] | list[str]) -> str:
    meant = closest(word, choices)
    return f"; did you mean {meant!r}?" if meant else ""
