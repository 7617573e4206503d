"""Deployments: one replica by default, and the rollout a controller would report at once."""

from __future__ import annotations

import copy

from tests.kubeapi.objects import now


def default_deployment(obj: dict) -> None:
    obj["spec"].setdefault("replicas", 1)


def rolled_out(obj: dict, previous: dict | None = None) -> dict:
    """The status a Deployment controller reports once every replica is updated and ready.

    An unchanged rollout keeps ``previous``, so a no-op write stays a no-op.
    """
    replicas = obj.get("spec", {}).get("replicas", 1)
    generation = obj["metadata"].get("generation", 1)
    if previous and (previous.get("observedGeneration"), previous.get("replicas")) == (generation, replicas):
        return copy.deepcopy(previous)
    stamp = now()
    condition = {"lastUpdateTime": stamp, "lastTransitionTime": stamp, "status": "True"}
    return {
        "observedGeneration": generation,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {**condition, "type": "Available", "reason": "MinimumReplicasAvailable"},
            {**condition, "type": "Progressing", "reason": "NewReplicaSetAvailable"},
        ],
    }

