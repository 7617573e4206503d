"""Events and consoles the output tests share: a forge that completes, one that fails."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

from rich.console import Console

from norn.events import Event

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def ev(type_: str, ms: int, app: str = "myapp", **payload) -> Event:
    return Event(type_, app, payload, T0 + timedelta(milliseconds=ms))


FORGE = [
    ev("forge.queued", 0, app="myapp"),
    ev("forge.step", 10, step="create-namespace", status="running"),
    ev("forge.step", 130, step="create-namespace", status="completed", output="created Namespace default", durationMs=120),
    ev("forge.step", 140, step="create-deployment", status="running"),
    ev(
        "forge.step",
        1540,
        step="create-deployment",
        status="completed",
        output="created Deployment default/myapp\ncreated PVC default/myapp-data",
        durationMs=1400,
    ),
    ev("forge.step", 1550, step="add-ingress-rule", status="skipped", output="no hosts.internal", durationMs=2),
    ev("forge.completed", 1600),
]

FAILED_FORGE = [
    ev("forge.queued", 0, app="myapp"),
    ev("forge.step", 10, step="create-service", status="running"),
    ev("forge.step", 40, step="create-service", status="failed", output="409 Conflict\nretry later", durationMs=30),
    ev("forge.failed", 50, step="create-service", error="409 Conflict\nretry later"),
]

SGR = re.compile(r"\x1b\[([0-9;]*)m")
SPINNER_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def colour_codes(text: str) -> list[str]:
    """SGR parameters that set a foreground or background colour (not bold/dim)."""
    codes = []
    for match in SGR.finditer(text):
        for code in filter(None, match.group(1).split(";")):
            n = int(code)
            if 30 <= n <= 49 or 90 <= n <= 107:
                codes.append(code)
    return codes


def make_console(*, terminal: bool, colour: bool = False) -> Console:
    return Console(
        file=io.StringIO(), force_terminal=terminal, width=100, color_system="standard" if colour else None
    )


def run(sink, events) -> None:
    try:
        for event in events:
            sink.emit(event)
    finally:
        sink.close()
