"""What an update changes in an object, said in the infraspec's words: ``replicas 2 -> 4, env LOG_LEVEL added``.

Built from ``field_changes`` (norn/kube/smp.py) of the manifests in norn/steps/manifests.py. An env value is
never shown (it may be sensitive), only its name. What one infraspec edit changes in several places reads as
one phrase: the three probes of a healthcheck, a port (the probes follow it), a volume and its mount.
"""

from __future__ import annotations

import json
import re
from typing import Any

from norn.kube.smp import Change
from norn.steps.manifests import DATABASE_URL, SERVICE_PORT

_POD = re.compile(r"^spec\.(?:jobTemplate\.spec\.)?template\.spec\.")
_CONTAINER = re.compile(r"^containers\[name=([^\]]*)\]\.?")
_LIST = re.compile(r"^(env|ports|volumeMounts|volumes)(?:\[[^=\]]+=([^\]]*)\](.*))?$")
_PROBE = re.compile(r"^(?:startupProbe|readinessProbe|livenessProbe)(\.httpGet\.(path|port))?$")
_ITEM_KEY = {"env": "name", "ports": "containerPort", "volumes": "name", "volumeMounts": "mountPath"}
_WORDS = {  # (kind, path): the infraspec's word for a scalar it drives
    ("Deployment", "spec.replicas"): "replicas",
    ("Service", f"spec.ports[port={SERVICE_PORT}].targetPort"): "targetPort",
    ("PersistentVolumeClaim", "spec.resources.requests.storage"): "storage",
    ("CronJob", "spec.schedule"): "schedule",
    ("CronJob", "spec.jobTemplate.spec.activeDeadlineSeconds"): "timeout",
}

Event = tuple[str, Any, str, Any]  # list field, item key, verb, the item (for a mount: its volume's name)
Said = tuple[int, str]  # the phrase, after the index of the first change it says


def summary(kind: str, changes: list[Change]) -> str:
    """One short phrase per change, in the changes' order, without repeats; ``unchanged`` when there are none."""
    phrases: list[Said] = []
    events: list[tuple[int, Event]] = []
    health: list[tuple[int, Any, Any]] = []
    for n, change in enumerate(changes):
        found: list[Event] = []
        probes: list[tuple[Any, Any]] = []
        phrases += [(n, phrase) for phrase in _phrase(kind, change, found, probes)]
        events += [(n, event) for event in found]
        health += [(n, *probe) for probe in probes]
    phrases += _items(events) + _healthcheck(health)
    return ", ".join(dict.fromkeys(phrase for _, phrase in sorted(phrases, key=lambda said: said[0]))) or "unchanged"


def _phrase(kind: str, change: Change, events: list[Event], health: list[tuple[Any, Any]]) -> list[str]:
    """The phrase of a change that stands alone; list items and probes are gathered to be said together."""
    if word := _WORDS.get((kind, change.path)):
        return [f"{word} {_shown(change.from_)} -> {_shown(change.to)}"]
    inner = _POD.sub("", change.path)
    container = _CONTAINER.match(inner)
    rest = inner[container.end():] if container else inner
    if inner == change.path:
        return [f"{change.path} changed"]
    if container and not rest:
        return [f"container {container.group(1)} {_verb(change)}"]
    if rest == "envFrom":
        return [f"secrets {_verb(change)}"]
    if rest == "command":
        return ["command changed"]
    if probe := _PROBE.match(rest):
        if probe.group(2) != "port":  # the port phrase says it: probes follow the app's port
            health.append((change.from_, change.to) if probe.group(1) else (_path(change.from_), _path(change.to)))
        return []
    if listed := _LIST.match(rest):
        events += _events(listed.group(1), listed.group(2), listed.group(3), change)
        return []
    return [f"{change.path} changed"]


def _events(field: str, key: str | None, below: str | None, change: Change) -> list[Event]:
    key_name = _ITEM_KEY[field]
    if key is None:  # the whole list came or went
        verb, items = ("added", change.to) if change.to is not None else ("removed", change.from_)
        return [(field, item.get(key_name), verb, item) for item in items or []]
    item = change.to if change.to is not None else change.from_
    if below:  # a field inside the item; a mount's new volume name says which volume it belongs to
        return [(field, key, "changed", {"name": change.to} if below == ".name" else None)]
    return [(field, item.get(key_name), _verb(change), item)]


def _items(indexed: list[tuple[int, Event]]) -> list[Said]:
    """env, ports, volumes and mounts: one phrase an item; a port removed and one added is a move; a mount
    says nothing its volume's phrase says, and one moved reads ``volume data mountPath /a -> /b``."""
    phrases: list[Said] = []
    events = [event for _, event in indexed]
    volumes = {key for field, key, verb, _ in events if field == "volumes" and verb != "changed"}
    ports = [(key, verb) for field, key, verb, _ in events if field == "ports" and verb != "changed"]
    moved_port = sorted(verb for _, verb in ports) == ["added", "removed"]
    mounts: dict[Any, list[tuple[int, str, Any]]] = {}
    for n, (field, key, verb, item) in indexed:
        if field == "env":
            phrases.append((n, f"{key} {verb}" if key == DATABASE_URL else f"env {key} {verb}"))
        elif field == "ports":
            phrases.append((n, _port_move(ports) if moved_port and verb != "changed" else f"port {key} {verb}"))
        elif field == "volumes":
            phrases.append((n, f"volume {key} {verb}"))
        elif (volume := (item or {}).get("name", key)) not in volumes:
            mounts.setdefault(volume, []).append((n, verb, key))
    for volume, moves in mounts.items():
        verbs = {verb: path for _, verb, path in moves}
        if sorted(verbs) == ["added", "removed"]:
            phrases.append((moves[0][0], f"volume {volume} mountPath {verbs['removed']} -> {verbs['added']}"))
        else:
            phrases += [(n, f"volume {volume} mount {path} {verb}") for n, verb, path in moves]
    return phrases


def _port_move(ports: list[tuple[Any, str]]) -> str:
    verbs = {verb: key for key, verb in ports}
    return f"port {verbs['removed']} -> {verbs['added']}"


def _path(probe: Any) -> Any:
    return ((probe.get("httpGet") or {}).get("path")) if isinstance(probe, dict) else None


def _healthcheck(health: list[tuple[int, Any, Any]]) -> list[Said]:
    """The probes of one healthcheck edit, said once."""
    before = next((old for _, old, _ in health if old is not None), None)
    after = next((new for _, _, new in health if new is not None), None)
    first = health[0][0] if health else 0
    if before is not None and after is not None:
        return [(first, f"healthcheck {before} -> {after}")] if before != after else []
    if after is not None:
        return [(first, f"healthcheck {after} added")]
    return [(first, f"healthcheck {before} removed")] if before is not None else []


def _verb(change: Change) -> str:
    if change.from_ is None:
        return "added"
    return "removed" if change.to is None else "changed"


def _shown(value: Any) -> str:
    """A scalar as the infraspec has it; text with spaces (a schedule) quoted."""
    return json.dumps(value) if isinstance(value, str) and " " in value else str(value)
