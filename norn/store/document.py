"""The stored state document, byte for byte the same in every backend."""

from __future__ import annotations

import json

from norn.state import ForgeState


def encode(state: ForgeState) -> bytes:
    """The stored document, byte for byte the same in every backend."""
    return json.dumps(state.to_json(), indent=2, sort_keys=False).encode() + b"\n"


def decode(data: bytes | str) -> ForgeState:
    """Parse a stored document; ValueError, KeyError or TypeError on a bad one."""
    return ForgeState.from_json(json.loads(data))


def describe(exc: Exception) -> str:
    """Why a document could not be decoded, in a few words."""
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}"
    return str(exc) or type(exc).__name__
