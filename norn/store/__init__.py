"""Where forge state lives. One backend per module, all with this shape."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from norn.state import ForgeState


class StateStore(Protocol):
    def load(self, app: str) -> ForgeState | None:
        """The app's state, None when it has none; StateError when unreadable."""

    def save(self, state: ForgeState) -> None:
        """Replace the app's state atomically."""

    def list(self) -> tuple[list[ForgeState], list[str]]:
        """Every app's state, and one problem line per record that cannot be read."""

    def is_running(self, app: str) -> bool:
        """Whether a norn run holds the app right now (a hint for display, not a lock)."""

    def lock(self, app: str) -> AbstractContextManager[None]:
        """Hold the app for one run; Busy when another run holds it."""

    def where(self, app: str | None = None) -> str:
        """A human description of where the state (of one app) is kept."""
