"""An answer and how it goes on the wire: JSON, or a text page (Cloudflare's edge answers HTML for some 5xx)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any


@dataclass
class Answer:
    status: int
    body: Any  # a JSON value, or a str sent as text/html
    headers: dict[str, str] = field(default_factory=dict)


def send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
    html = isinstance(answer.body, str)
    payload = answer.body.encode() if html else json.dumps(answer.body).encode()
    handler.send_response(answer.status)
    handler.send_header("Content-Type", "text/html" if html else "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    for name, value in answer.headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(payload)
