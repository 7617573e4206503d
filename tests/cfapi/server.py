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

For tests: the zones and records, the token's permissions, a request log and
fault injection (a status, a Retry-After, an HTML page, for the Nth matching request).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PREFIX = "/client/v4"
RATE_LIMITED = (971, "Please wait and consider throttling your request speed")


class ApiError(Exception):
    def __init__(
        self, status: int, code: int, message: str, headers: dict[str, str] | None = None, html: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.html = html


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    proxied: bool
    status: int = 0


@dataclass
class Fault:
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

    def fires(self, method: str, path: str) -> bool:
        if (self.method and self.method.upper() != method) or (self.path_contains and self.path_contains not in path):
            return False
        self.seen += 1
        return self.seen >= self.nth and (self.times is None or self.seen < self.nth + self.times)


@dataclass
class Permissions:
    """What the token may do; a token with neither still lists zones, as a zone-scoped token does."""

    dns_read: bool = True
    dns_edit: bool = True


class CloudflareAPI:
    """``start()``, point ``CLOUDFLARE_BASE_URL`` at ``base_url`` and the token at ``token``, ``stop()``."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(20)
        self.permissions = Permissions()
        self.zones: dict[str, dict] = {}
        self.dns: dict[str, dict] = {}  # record id -> record (with zone_id)
        self.log: list[RequestRecord] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._httpd: _Server | None = None
        self.port = 0

    # lifecycle

    def start(self) -> CloudflareAPI:
        self._httpd = _Server(("127.0.0.1", self.port), self)
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop answering: later requests are refused, as from an API that is down, kept-alive ones too."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> CloudflareAPI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    # data

    def add_zone(self, name: str, status: str = "active") -> dict:
        zone = {
            "id": uuid.uuid4().hex,
            "name": name,
            "status": status,
            "paused": False,
            "type": "full",
            "account": {"id": "0" * 32, "name": "norn tests"},
        }
        with self._lock:
            self.zones[zone["id"]] = zone
        return zone

    def add_record(self, zone: dict, name: str, content: str, type: str = "CNAME", proxied: bool = True) -> dict:
        record = {
            "id": uuid.uuid4().hex,
            "zone_id": zone["id"],
            "zone_name": zone["name"],
            "name": name,
            "type": type,
            "content": content,
            "proxied": proxied,
            "ttl": 1,
        }
        with self._lock:
            self.dns[record["id"]] = record
        return record

    def records(self, name: str | None = None) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self.dns.values() if name is None or r["name"].lower() == name.lower()]

    # the request log and faults

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self.log)

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method) and (path_contains is None or path_contains in r.path)
        )

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
        fault = Fault(
            method,
            path_contains,
            status,
            code or default_code,
            message or default_message,
            nth,
            times,
            retry_after,
            html,
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    # serving

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        target = urlsplit(handler.path)
        method = handler.command
        record = RequestRecord(
            method,
            target.path,
            dict(parse_qsl(target.query)),
            handler.headers.get("Authorization"),
            proxied=bool(target.scheme),
        )
        headers: dict[str, str] = {}
        try:
            with self._lock:
                fault = next((f for f in self.faults if f.fires(method, target.path)), None)
            if fault is not None:
                if fault.retry_after is not None:
                    headers["Retry-After"] = fault.retry_after
                raise ApiError(fault.status, fault.code, fault.message, headers, fault.html)
            self._authenticate(record.authorization)
            status, body = 200, self._route(method, target.path, record.query)
        except ApiError as error:
            status, headers = error.status, error.headers
            body = _envelope(None, success=False, errors=[{"code": error.code, "message": error.message}])
            if error.html is not None:
                body = error.html
        record.status = status
        with self._lock:
            self.log.append(record)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/html" if isinstance(body, str) else "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise ApiError(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
        if authorization != f"Bearer {self.token}":
            raise ApiError(403, 10000, "Authentication error")

    def _route(self, method: str, path: str, query: dict[str, str]) -> dict:
        parts = path.removeprefix(PREFIX).strip("/").split("/") if path.startswith(PREFIX + "/") else []
        if parts == ["zones"] and method == "GET":
            return self._list_zones(query)
        if len(parts) >= 3 and parts[0] == "zones" and parts[2] == "dns_records":
            with self._lock:
                zone = self.zones.get(parts[1])
            if zone is None:
                raise ApiError(404, 7003, f"Could not route to {path}, perhaps your object identifier is invalid?")
            if len(parts) == 3 and method == "GET":
                return self._list_records(zone, query)
            if len(parts) == 4 and method == "DELETE":
                return self._delete_record(zone, parts[3])
        raise ApiError(404, 7000, "No route for that URI")

    def _list_zones(self, query: dict[str, str]) -> dict:
        with self._lock:
            zones = [dict(z) for z in self.zones.values()]
        if "name" in query:
            zones = [z for z in zones if z["name"] == query["name"].lower()]
        if "status" in query:
            zones = [z for z in zones if z["status"] == query["status"]]
        return _page(sorted(zones, key=lambda z: z["name"]), query, default_per_page=20, most=50)

    def _list_records(self, zone: dict, query: dict[str, str]) -> dict:
        if not self.permissions.dns_read:
            raise ApiError(403, 10000, "Authentication error")
        with self._lock:
            records = [dict(r) for r in self.dns.values() if r["zone_id"] == zone["id"]]
        for key in ("type", "name", "content"):
            if key in query:
                records = [r for r in records if r[key].lower() == query[key].lower()]
        return _page(records, query, default_per_page=100, most=5000)

    def _delete_record(self, zone: dict, record_id: str) -> dict:
        if not self.permissions.dns_edit:
            raise ApiError(403, 9109, "Unauthorized to access requested resource")
        with self._lock:
            record = self.dns.get(record_id)
            if record is None or record["zone_id"] != zone["id"]:
                raise ApiError(404, 81044, "Record does not exist.")
            del self.dns[record_id]
        return _envelope({"id": record_id})


def _envelope(result: Any, *, success: bool = True, errors: list | None = None, info: dict | None = None) -> dict:
    body = {"success": success, "errors": errors or [], "messages": [], "result": result}
    if info is not None:
        body["result_info"] = info
    return body


def _page(items: list[dict], query: dict[str, str], default_per_page: int, most: int) -> dict:
    try:
        page = max(int(query.get("page", 1)), 1)
        per_page = min(max(int(query.get("per_page", default_per_page)), 1), most)
    except ValueError:
        raise ApiError(400, 1001, "Invalid page or per_page") from None
    chunk = items[(page - 1) * per_page : page * per_page]
    total_pages = (len(items) + per_page - 1) // per_page
    info = {"page": page, "per_page": per_page, "count": len(chunk), "total_count": len(items)}
    return _envelope(chunk, info={**info, "total_pages": total_pages})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # otherwise each small answer waits ~40 ms for a delayed ACK
    server_version = "cfapi-standin"

    def setup(self) -> None:
        super().setup()
        with self.server.api._lock:
            self.server.api._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.api._lock:
            self.server.api._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log records what tests need."""

    def _serve(self) -> None:
        self.server.api._serve(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: CloudflareAPI) -> None:
        self.api = api
        super().__init__(address, _Handler)
