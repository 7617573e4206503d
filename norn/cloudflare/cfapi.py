"""The Cloudflare API adapter: the few v4 calls norn makes, over plain HTTP.

Plain HTTP through urllib3, not the official ``cloudflare`` SDK: norn needs three
endpoints, and the SDK (5.9) costs about 0.6 s of imports a run and 105 MB
installed, while urllib3 is already loaded for the Kubernetes client. Every
answer is Cloudflare's envelope ``{success, errors, result, result_info}``; a
failure becomes a CloudflareError carrying the API's error codes, so callers
can explain it. A 429 or 502-504 is retried after the server's Retry-After (norn/retry.py).
The token goes into the Authorization header and nowhere else.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

import urllib3

from norn import retry
from norn.errors import NornError

TIMEOUT = urllib3.Timeout(connect=10, read=30)
MAX_ATTEMPTS = 4
MAX_WAIT_SECONDS = 30.0  # a longer Retry-After is cut to this: a teardown should not hang
RETRIED = (429, 502, 503, 504)


class CloudflareError(NornError):
    """The API refused or failed a request; ``codes`` are Cloudflare's error codes."""

    def __init__(self, message: str, *, status: int | None = None, codes: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.codes = codes


class Unreachable(CloudflareError):
    """No answer at all: the connection failed or timed out."""


@dataclass
class Api:
    """One API base and token. ``sleep`` is the wait between retries (a parameter for unit tests)."""

    base_url: str
    token: str = field(repr=False)
    sleep: Callable[[float], None] = time.sleep

    def get(self, path: str, **params: str) -> tuple[Any, dict]:
        """GET ``path`` with query ``params``; returns (result, result_info)."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        envelope = self._request("GET", path + query)
        return envelope.get("result"), envelope.get("result_info") or {}

    def delete(self, path: str) -> Any:
        return self._request("DELETE", path).get("result")

    def _request(self, method: str, path: str) -> dict:
        url = self.base_url.rstrip("/") + path
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

        def attempt(_: int) -> urllib3.BaseHTTPResponse:
            try:
                response = _pool(url).request(
                    method, url, headers=headers, timeout=TIMEOUT, retries=False, redirect=False
                )
            except urllib3.exceptions.HTTPError as exc:
                raise Unreachable(f"cannot reach the Cloudflare API at {self.base_url}: {_reason(exc)}") from None
            if response.status in RETRIED:
                raise _Busy(response)
            return response

        response = retry.run(
            attempt,
            retryable=lambda error: isinstance(error, _Busy),
            wait=lambda failures, busy: wait_before_retry(busy.response.headers.get("Retry-After"), failures),
            give_up=lambda failures, elapsed, wait: failures >= MAX_ATTEMPTS,
            gave_up=lambda busy, failures, elapsed: busy.response,  # the last answer says why
            sleep=self.sleep,
        )
        return _envelope(method, path, response)


class _Busy(Exception):
    """An answer worth asking again for (RETRIED): it is retried, and the last one is explained."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _envelope(method: str, path: str, response: urllib3.BaseHTTPResponse) -> dict:
    """The decoded envelope of a successful answer, else a CloudflareError naming the API's errors."""
    try:
        envelope = json.loads(response.data or b"null")
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict):
        raise CloudflareError(
            f"{method} {path.split('?')[0]}: HTTP {response.status} without a Cloudflare API answer",
            status=response.status,
        )
    errors = [e for e in envelope.get("errors") or [] if isinstance(e, dict)]
    if response.status < 300 and envelope.get("success", True) and not errors:
        return envelope
    said = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or "no error given"
    codes = tuple(e["code"] for e in errors if isinstance(e.get("code"), int))
    raise CloudflareError(f"HTTP {response.status} ({said})", status=response.status, codes=codes)


def wait_before_retry(value: str | None, attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (from 1): the Retry-After header, else 1, 2, 4 ...; at most MAX_WAIT_SECONDS."""
    asked = retry.retry_after(value)
    wait = retry.exponential(attempt - 1, 1.0, MAX_WAIT_SECONDS) if asked is None else asked
    return min(wait, MAX_WAIT_SECONDS)


_POOLS: dict[str | None, urllib3.PoolManager] = {}


def _pool(url: str) -> urllib3.PoolManager:
    """A pool through the proxy the environment names for ``url`` (HTTPS_PROXY, NO_PROXY ...), if any."""
    parts = urllib.parse.urlsplit(url)
    proxy = None if urllib.request.proxy_bypass(parts.hostname or "") else urllib.request.getproxies().get(parts.scheme)
    if proxy not in _POOLS:
        _POOLS[proxy] = urllib3.ProxyManager(proxy) if proxy else urllib3.PoolManager()
    return _POOLS[proxy]


_OBJECT_PREFIX = re.compile(r"^(?:<[^>]*>|\w+\([^)]*\)): ")


def _reason(exc: urllib3.exceptions.HTTPError) -> str:
    """The innermost reason, without urllib3's ``HTTPConnection(host=..., port=...): `` prefix."""
    reason = exc
    while isinstance(getattr(reason, "reason", None), Exception):
        reason = reason.reason
    return _OBJECT_PREFIX.sub("", str(reason))
