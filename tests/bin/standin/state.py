"""The stand-in's memory between runs: the state file (mode, routes, validated configs) and the call log."""

from __future__ import annotations

import json
import os

MODES = (
    "ok",
    "exists-elsewhere",
    "fail",
    "hang",
    "other-zone",
    "no-cert",
    "reject-ingress",
    "hang-after-route",
    "silent-route",
)


def load_state(path: str | None) -> dict:
    if path and os.path.exists(path):
        with open(path) as file:
            return json.load(file)
    return {"mode": "ok", "routes": {}}


def save_state(path: str | None, state: dict) -> None:
    """Write atomically: a test reading the state never sees half of it."""
    if not path:
        return
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as file:
        json.dump(state, file, indent=2)
    os.replace(temporary, path)


def record_call(args: list[str]) -> None:
    path = os.environ.get("CLOUDFLARED_STANDIN_LOG")
    if path:
        with open(path, "a") as file:
            file.write(json.dumps(args) + "\n")
