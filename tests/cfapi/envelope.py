"""Cloudflare's v4 answers: the envelope, its errors (an HTTP status and Cloudflare's own code), pages."""

from __future__ import annotations

from typing import Any

RATE_LIMITED = (971, "Please wait and consider throttling your request speed")


class ApiError(Exception):
    def __init__(
        self, status: int, code: int, message: str, headers: dict[str, str] | None = None, html: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.html = html


def envelope(result: Any, *, success: bool = True, errors: list | None = None, info: dict | None = None) -> dict:
    body = {"success": success, "errors": errors or [], "messages": [], "result": result}
    if info is not None:
        body["result_info"] = info
    return body


def page(items: list[dict], query: dict[str, str], default_per_page: int, most: int) -> dict:
    try:
        number = max(int(query.get("page", 1)), 1)
        per_page = min(max(int(query.get("per_page", default_per_page)), 1), most)
    except ValueError:
        raise ApiError(400, 1001, "Invalid page or per_page") from None
    chunk = items[(number - 1) * per_page : number * per_page]
    total_pages = (len(items) + per_page - 1) // per_page
    info = {"page": number, "per_page": per_page, "count": len(chunk), "total_count": len(items)}
    return envelope(chunk, info={**info, "total_pages": total_pages})
