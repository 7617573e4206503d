"""The digest of what forge acts on, stored at forge time so `status --live` can tell the spec changed."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from norn.infraspec.checks import OTHER_PIPELINES

if TYPE_CHECKING:  # the model is pydantic: `norn teardown` imports this module and never builds one
    from norn.infraspec.model import Infraspec


def spec_digest(spec: "Infraspec") -> str:
    """A digest of what forge acts on, stored at forge time so `status --live` can tell the spec changed."""
    data = spec.model_dump(mode="json", by_alias=True, exclude=set(OTHER_PIPELINES))
    data["services"] = {"postgres": data["services"].get("postgres")}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
