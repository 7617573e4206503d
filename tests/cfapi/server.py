"""A stand-in Cloudflare API (v4) for tests: stdlib only, real HTTP on 127.0.0.1.

It answers the calls norn makes the way api.cloudflare.com does:

* ``GET /client/v4/zones`` with ``name``, ``status``, ``page`` and ``per_page``;
* ``GET /client/v4/zones/{zone}/dns_records`` with ``type``, ``name``, ``content``,
  ``page`` and ``per_page`` (names compare without case, as DNS does);
* ``DELETE /client/v4/zones/{zone}/dns_records/{record}``, answering ``{"id": ...}``.

Every answer is the v4 envelope ``{"success", "errors": [{"code", "message"}],
"messages", "result", "result_info"}``, with the real error codes: 9106 for no
credentials, 10000 for a token it does not know or that may not read DNS, 9109
for a token that may not edit DNS (403 both), 7003 for an unknown zone, 81044
for an unknown record, 7000 for an unknown route, 971 for a 429 (with
Retry-After). A request in absolute form (``GET http://host/...``), as sent to an
HTTP proxy, is served too and marked ``proxied`` in the request log.

Where each part lives: ``server.py`` (``CloudflareAPI``: routing, authentication, the handles tests use),
``zones.py``, ``dns_records.py``, ``envelope.py`` (the v4 envelope, errors, pages); the HTTP scaffolding is
shared with the Kubernetes stand-in (``tests/standin_http``).

For tests: the zones and records, the token's permissions, a request log and
fault injection (a status, a Retry-After, an HTML page, for the Nth matching request).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.cfapi.dns_records import Permissions, check_delete, deleted, list_records, record_object
from tests.cfapi.envelope import RATE_LIMITED, ApiError, envelope
from tests.cfapi.zones import list_zones, zone_object
from tests.standin_http.answers import Answer, send
from tests.standin_http.faults import Faults, Trigger
from tests.standin_http.records import RequestLog, RequestRecord, read_request
from tests.standin_http.server import ServerThread

__all__ = ["CloudflareAPI", "Fault", "Permissions", "RequestRecord"]

PREFIX = "/client/v4"


@dataclass
class Fault(Trigger):
    """Answer ``status`` (with Cloudflare's error ``code``) to the Nth matching request and ``times - 1`` more."""

    method: str | None
    path_contains: str | None
    status: int
    code: int
    message: str
    nth: int = 1
    times: int | None = 1  # None: every matching request from the Nth on
    retry_after: str | None = None
    html: str | None = None  # answer this page instead of an envelope, as Cloudflare's edge does for a 5xx
    seen: int = 0


class CloudflareAPI:
    """``start()``, point ``CLOUDFLARE_BASE_URL`` at ``base_url`` and the token at ``token``, ``stop()``."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(20)
        self.permissions = Permissions()
        self.zones: dict[str, dict] = {}
        self.dns: dict[str, dict] = {}  # record id -> record (with zone_id)
        self._lock = threading.Lock()  # the zones and records
        self._log = RequestLog()
        self._faults: Faults[Fault] = Faults(every_match_counts=False)
        self._server = ServerThread(self, "cfapi-standin")
        self.port = 0

    # lifecycle

    def start(self) -> CloudflareAPI:
        self.port = self._server.start(self.port)
        return self

    def stop(self) -> None:
        """Stop answering: later requests are refused, as from an API that is down, kept-alive ones too."""
        self._server.stop()

    def __enter__(self) -> CloudflareAPI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    # data

    def add_zone(self, name: str, status: str = "active") -> dict:
        zone = zone_object(name, status)
        with self._lock:
            self.zones[zone["id"]] = zone
        return zone

    def add_record(self, zone: dict, name: str, content: str, type: str = "CNAME", proxied: bool = True) -> dict:
        record = record_object(zone, name, content, type, proxied)
        with self._lock:
            self.dns[record["id"]] = record
        return record

    def records(self, name: str | None = None) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self.dns.values() if name is None or r["name"].lower() == name.lower()]

    # the request log and faults

    @property
    def requests(self) -> list[RequestRecord]:
        return self._log.snapshot()

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        return self._log.count(method, path_contains)

    def inject(
        self,
        status: int,
        method: str | None = None,
        path_contains: str | None = None,
        *,
        nth: int = 1,
        times: int | None = 1,
        retry_after: str | None = None,
        code: int | None = None,
        message: str | None = None,
        html: str | None = None,
    ) -> Fault:
        default_code, default_message = RATE_LIMITED if status == 429 else (10000 + status, f"injected HTTP {status}")
        return self._faults.add(Fault(
            method, path_contains, status, code or default_code, message or default_message, nth, times, retry_after,
            html,
        ))

    # serving: the handler calls self._serve(handler), looked up per request (tests' Gate shadows it)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        record = read_request(handler, keep_blank_values=False)
        headers: dict[str, str] = {}
        try:
            fault = self._faults.hit(record.method, record.path)
            if fault is not None:
                if fault.retry_after is not None:
                    headers["Retry-After"] = fault.retry_after
                raise ApiError(fault.status, fault.code, fault.message, headers, fault.html)
            self._authenticate(record.authorization)
            answer = Answer(200, self._route(record.method, record.path, record.query))
        except ApiError as error:
            body = envelope(None, success=False, errors=[{"code": error.code, "message": error.message}])
            answer = Answer(error.status, body if error.html is None else error.html, error.headers)
        record.status = answer.status
        self._log.append(record)  # logged once answered
        send(handler, answer)

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise ApiError(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
        if authorization != f"Bearer {self.token}":
            raise ApiError(403, 10000, "Authentication error")

    def _route(self, method: str, path: str, query: dict[str, str]) -> dict:
        parts = path.removeprefix(PREFIX).strip("/").split("/") if path.startswith(PREFIX + "/") else []
        if parts == ["zones"] and method == "GET":
            with self._lock:
                zones = [dict(z) for z in self.zones.values()]
            return list_zones(zones, query)
        if len(parts) >= 3 and parts[0] == "zones" and parts[2] == "dns_records":
            with self._lock:
                zone = self.zones.get(parts[1])
            if zone is None:
                raise ApiError(404, 7003, f"Could not route to {path}, perhaps your object identifier is invalid?")
            if len(parts) == 3 and method == "GET":
                with self._lock:
                    records = [dict(r) for r in self.dns.values() if r["zone_id"] == zone["id"]]
                return list_records(records, query, self.permissions)
            if len(parts) == 4 and method == "DELETE":
                return self._delete_record(zone, parts[3])
        raise ApiError(404, 7000, "No route for that URI")

    def _delete_record(self, zone: dict, record_id: str) -> dict:
        with self._lock:
            check_delete(zone, self.dns.get(record_id), self.permissions)
            del self.dns[record_id]
        return deleted(record_id)
