"""norn's one retry policy: the loop, the backoff with jitter, the Retry-After header.

The Kubernetes adapter (kube/cluster.py), the Cloudflare API adapter
(cloudflare/cfapi.py) and the cloudflared ConfigMap's conflict loop
(steps/tunnel.py) each say only what is retried, how long to wait and when to
give up; the loop, the counting and the clock are here.

Not tenacity nor stamina: importing tenacity costs about 5 ms on top of what a
forge already loads (it brings concurrent.futures), 1% of a forge whose ratio to
the kubectl script is 0.99x against a bar of 1.0x (docs/performance.md); stamina
imports tenacity and more. What norn needs is this one short loop.
"""

from __future__ import annotations

import email.utils
import random
import time
from typing import Callable, NoReturn, TypeVar

T = TypeVar("T")


def run(
    attempt: Callable[[int], T],
    *,
    retryable: Callable[[Exception], bool],
    wait: Callable[[int, Exception], float],
    give_up: Callable[[int, float, float], bool],
    gave_up: Callable[[Exception, int, float], T | NoReturn] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """Call ``attempt(n)`` (n = 0, 1, ...) until it returns, raises what is not ``retryable``, or norn gives up.

    After the n-th failure (n from 1) it waits ``wait(n, error)`` seconds, unless
    ``give_up(n, elapsed, wait)`` says the wait would not be worth it: then
    ``gave_up(error, n, elapsed)`` decides what happens (by default the error is
    raised). ``on_retry`` is called after each wait, so callers can count retries.
    """
    started = time.monotonic()
    failures = 0
    while True:
        try:
            return attempt(failures)
        except Exception as error:
            if not retryable(error):
                raise
            failures += 1
            delay = wait(failures, error)
            elapsed = time.monotonic() - started
            if give_up(failures, elapsed, delay):
                if gave_up is None:
                    raise
                return gave_up(error, failures, elapsed)
            sleep(delay)
            if on_retry is not None:
                on_retry()


def exponential(retry: int, first: float, cap: float) -> float:
    """The ceiling of the wait before retry number ``retry`` (from 0): ``first``, doubling, at most ``cap``."""
    return min(cap, first * 2 ** min(retry, 30))


def jittered(retry: int, first: float, cap: float, *, floor: float = 0.5) -> float:
    """A random wait between ``floor`` times the ceiling and the ceiling, so that clients that failed together spread out."""
    ceiling = exponential(retry, first, cap)
    return random.uniform(ceiling * floor, ceiling)


def retry_after(value: str | None) -> float | None:
    """The Retry-After header as seconds (never negative): a number, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
