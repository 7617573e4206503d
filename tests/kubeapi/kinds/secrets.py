"""Secrets: type Opaque by default; ``stringData`` becomes base64 ``data``."""

from __future__ import annotations

import base64


def default_secret(obj: dict) -> None:
    obj.setdefault("type", "Opaque")
    for key, text in (obj.pop("stringData", None) or {}).items():
        obj.setdefault("data", {})[key] = base64.b64encode(str(text).encode()).decode()
