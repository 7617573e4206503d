"""DNS records of a zone: list with ``type``, ``name``, ``content`` (without case, as DNS compares), delete;
and what the token may do with them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tests.cfapi.envelope import ApiError, envelope, page


@dataclass
class Permissions:
    """What the token may do; a token with neither still lists zones, as a zone-scoped token does."""

    dns_read: bool = True
    dns_edit: bool = True


def record_object(zone: dict, name: str, content: str, type: str, proxied: bool) -> dict:
    return {
        "id": uuid.uuid4().hex,
        "zone_id": zone["id"],
        "zone_name": zone["name"],
        "name": name,
        "type": type,
        "content": content,
        "proxied": proxied,
        "ttl": 1,
    }


def list_records(records: list[dict], query: dict[str, str], permissions: Permissions) -> dict:
    """``records``: the zone's."""
    if not permissions.dns_read:
        raise ApiError(403, 10000, "Authentication error")
    for key in ("type", "name", "content"):
        if key in query:
            records = [r for r in records if r[key].lower() == query[key].lower()]
    return page(records, query, default_per_page=100, most=5000)


def check_delete(zone: dict, record: dict | None, permissions: Permissions) -> None:
    """Refuse the delete of ``record`` (None: no such id) from ``zone`` as the API does."""
    if not permissions.dns_edit:
        raise ApiError(403, 9109, "Unauthorized to access requested resource")
    if record is None or record["zone_id"] != zone["id"]:
        raise ApiError(404, 81044, "Record does not exist.")


def deleted(record_id: str) -> dict:
    return envelope({"id": record_id})
