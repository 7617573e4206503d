"""The request log: one record per request, as the stand-in saw it and what it answered."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class RequestRecord:
    """One request as the server saw it, and what it answered (None when dropped)."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str | None = None
    body: Any = None  # parsed JSON; None when empty or not JSON
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    status: int | None = None
    dropped: bool = False
    proxied: bool = False  # sent in absolute form (GET http://host/...), as to an HTTP proxy

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


def read_request(handler: BaseHTTPRequestHandler, keep_blank_values: bool = True) -> RequestRecord:
    """Read the whole request (even one to be dropped: the connection stays usable) into a record."""
    raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    parts = urlsplit(handler.path)
    headers = {k.lower(): v for k, v in handler.headers.items()}
    return RequestRecord(
        method=handler.command,
        path=parts.path,
        query=dict(parse_qsl(parts.query, keep_blank_values=keep_blank_values)),
        content_type=headers.get("content-type"),
        body=_parse_json(raw),
        headers=headers,
        proxied=bool(parts.scheme),
    )


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class RequestLog:
    """The records, oldest first, behind a lock: handlers append from their threads while tests read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        return sum(
            1
            for r in self.snapshot()
            if (method is None or r.method == method.upper()) and (path_contains is None or path_contains in r.path)
        )
