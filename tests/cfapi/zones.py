"""Zones: ``GET /zones`` with ``name``, ``status``, ``page`` and ``per_page``."""

from __future__ import annotations

import uuid

from tests.cfapi.envelope import page


def zone_object(name: str, status: str) -> dict:
    return {
        "id": uuid.uuid4().hex,
        "name": name,
        "status": status,
        "paused": False,
        "type": "full",
        "account": {"id": "0" * 32, "name": "norn tests"},
    }


def list_zones(zones: list[dict], query: dict[str, str]) -> dict:
    if "name" in query:
        zones = [z for z in zones if z["name"] == query["name"].lower()]
    if "status" in query:
        zones = [z for z in zones if z["status"] == query["status"]]
    return page(sorted(zones, key=lambda z: z["name"]), query, default_per_page=20, most=50)
