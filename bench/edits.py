"""The one-field edit the update row times: replicas flipped between two values, in an infraspec
(norn's side) and in a manifest (kubectl apply's side). Pure: text in, text out.

Each timed run must really change something (an unchanged infraspec is "forged and up to date",
an unchanged manifest a "configured" with no PATCH), so the bench flips the value before every
run, as hyperfine's --prepare would, and checks that the previous run reached the cluster.
"""

from __future__ import annotations

import json
import re

VALUES = (2, 3)
_SPEC_REPLICAS = re.compile(r"^replicas: *(\d+) *$", re.MULTILINE)


def other(value: int) -> int:
    """The value the next run sets: the other one of VALUES."""
    if value not in VALUES:
        raise ValueError(f"replicas {value} is not one of {VALUES}")
    return VALUES[1] if value == VALUES[0] else VALUES[0]


def spec_replicas(text: str) -> int:
    """The top-level replicas of an infraspec's text."""
    found = _SPEC_REPLICAS.findall(text)
    if len(found) != 1:
        raise ValueError(f"the infraspec has {len(found)} top-level replicas lines, not one")
    return int(found[0])


def flip_spec(text: str) -> str:
    """The infraspec with its replicas set to the other value, every other byte the same."""
    value = other(spec_replicas(text))
    return _SPEC_REPLICAS.sub(f"replicas: {value}", text, count=1)


def manifest_replicas(text: str) -> int:
    return json.loads(text)["spec"]["replicas"]


def flip_manifest(text: str) -> str:
    """The Deployment manifest (JSON) with spec.replicas set to the other value."""
    manifest = json.loads(text)
    manifest["spec"]["replicas"] = other(manifest["spec"]["replicas"])
    return json.dumps(manifest)
