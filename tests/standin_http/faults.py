"""Fault triggers: which request an injected fault hits (the Nth matching one, and ``times - 1`` after it)."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar


class Trigger:
    """Mixed into a stand-in's Fault dataclass, which has ``method``, ``path_contains``, ``nth``, ``times`` and
    ``seen`` fields (``times`` None: every matching request from the Nth on)."""

    method: str | None
    path_contains: str | None
    nth: int
    times: int | None
    seen: int

    def matches(self, method: str, target: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path_contains is None or self.path_contains in target
        )

    def fires(self) -> bool:
        """Count one more matching request; True when this one is hit."""
        self.seen += 1
        return self.seen >= self.nth and (self.times is None or self.seen < self.nth + self.times)


F = TypeVar("F", bound=Trigger)


class Faults(Generic[F]):
    """The injected faults of one server, behind a lock.

    ``every_match_counts``: every matching fault counts a request (the Kubernetes stand-in); otherwise the
    faults after the one hit do not see it (the Cloudflare stand-in).
    """

    def __init__(self, every_match_counts: bool) -> None:
        self._lock = threading.Lock()
        self._faults: list[F] = []
        self._every_match_counts = every_match_counts

    def add(self, fault: F) -> F:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def hit(self, method: str, target: str) -> F | None:
        """The first fault hit by this request."""
        hit = None
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, target) and fault.fires() and hit is None:
                    hit = fault
                    if not self._every_match_counts:
                        break
        return hit
