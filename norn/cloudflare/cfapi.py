"""The Cloudflare API adapter: the few v4 calls norn makes, over plain HTTP.

Plain HTTP through urllib3, not the official ``cloudflare`` SDK: norn needs three
endpoints, and the SDK (5.9) costs about 0.6 s of imports a run and 105 MB
installed, while urllib3 is already loaded for the Kubernetes client. Every
answer is Cloudflare's envelope ``{success, errors, result, result_info}``; a
failure becomes a CloudflareError carrying the API's error codes, so callers
can explain it. A 429 or 502-504 is retried after the server's Retry-After.
The token goes into the Authorization header and nowhere else.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import urllib3

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
        attempt = 1
        while True:
            try:
                response = _pool(url).request(
                    method, url, headers=headers, timeout=TIMEOUT, retries=False, redirect=False
                )
            except urllib3.exceptions.HTTPError as exc:
                raise Unreachable(f"cannot reach the Cloudflare API at {self.base_url}: {_reason(exc)}") from None
            if response.status not in RETRIED or attempt == MAX_ATTEMPTS:
                return _envelope(method, path, response)
            self.sleep(_retry_after(response.headers.get("Retry-After"), attempt))
            attempt += 1


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


def _retry_after(value: str | None, attempt: int) -> float:
    """Seconds to wait: the Retry-After header (seconds or an HTTP date), else 1, 2, 4 ..."""
    wait = float(2 ** (attempt - 1))
    if value:
        try:
            wait = float(value)
        except ValueError:
            try:
                wait = (email.utils.parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
            except (TypeError, ValueError):
                pass
    return min(max(wait, 0.0), MAX_WAIT_SECONDS)


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
