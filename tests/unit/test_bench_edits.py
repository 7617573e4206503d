"""bench/edits.py: the replicas edit the update row times, flipped before every run so each run of
`norn forge APP` and of `kubectl apply -f` really changes the Deployment. No kubectl, no hyperfine.

Why a run that changes nothing would not count: norn says "forged and up to date" with no request
for an unchanged infraspec (norn/operations/lifecycle.py, is_update), and kubectl apply sends no
PATCH when its three-way patch is empty: kubernetes, staging/src/k8s.io/kubectl/pkg/cmd/apply/patcher.go,
Patcher.patchSimple (`if string(patch) == "{}" { return patch, obj, nil }`).
"""

from __future__ import annotations

import json

import pytest

from bench.edits import VALUES, flip_manifest, flip_spec, manifest_replicas, other, spec_replicas

SPEC = """\
app: web
role: webserver
port: 8080
replicas: 2
env:
  replicas: "1"   # a value named like the key, not the key
"""


def test_other_alternates_between_the_two_values():
    assert other(VALUES[0]) == VALUES[1]
    assert other(VALUES[1]) == VALUES[0]
    with pytest.raises(ValueError, match="not one of"):
        other(7)


def test_flip_spec_changes_only_the_top_level_replicas():
    flipped = flip_spec(SPEC)
    assert spec_replicas(flipped) == 3
    changed = [(a, b) for a, b in zip(SPEC.splitlines(), flipped.splitlines(), strict=True) if a != b]
    assert changed == [("replicas: 2", "replicas: 3")]
    assert flip_spec(flipped) == SPEC  # two flips: back where it started


def test_spec_replicas_needs_exactly_one_top_level_line():
    with pytest.raises(ValueError, match="0 top-level"):
        spec_replicas("app: web\n  replicas: 2\n")
    with pytest.raises(ValueError, match="2 top-level"):
        spec_replicas("replicas: 2\nreplicas: 3\n")


def test_flip_manifest_changes_only_spec_replicas():
    manifest = {"kind": "Deployment", "metadata": {"name": "web-apply"},
                "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web"}]}}}}
    flipped = json.loads(flip_manifest(json.dumps(manifest)))
    assert flipped == {**manifest, "spec": {**manifest["spec"], "replicas": 3}}
    assert manifest_replicas(flip_manifest(json.dumps(flipped))) == 2
