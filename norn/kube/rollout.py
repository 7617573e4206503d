"""Waiting for a Deployment to roll out, as ``kubectl rollout status`` judges it, but failing fast.

kubectl waits blindly through a crash-looping or unpullable pod until its own
timeout; norn looks at the Deployment's pods on every poll and stops at once
when one is stuck in a state that will not fix itself, and reports the
Deployment's conditions, that pod's reason and its last events.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from norn.errors import StepError, UsageError
from norn.kube.kinds import DEPLOYMENT, EVENT, POD

if TYPE_CHECKING:
    from norn.kube.cluster import Cluster

POLL_SECONDS = 1.0
STUCK_REASONS = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull")
LAST_EVENTS = 5

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> float:
    """Seconds in ``5m``, ``90s``, ``1h30m`` or a bare number of seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        match = _DURATION.fullmatch(text)
        if not text or not match:
            raise UsageError(f"--timeout {text!r} is not a duration", hint="write it like 90s, 5m or 1h30m")
        hours, minutes, secs = (int(part or 0) for part in match.groups())
        seconds = float(hours * 3600 + minutes * 60 + secs)
    if seconds <= 0:
        raise UsageError(f"--timeout {text!r} must be longer than 0")
    return seconds


def format_seconds(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


@dataclass(frozen=True)
class Rollout:
    done: bool
    message: str
    deadline_exceeded: bool = False


def rollout_status(deployment: dict) -> Rollout:
    """kubectl's verdict on a Deployment: observed, updated, old replicas gone, updated ones available."""
    name = deployment["metadata"]["name"]
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    if deployment["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return Rollout(False, "waiting for the Deployment controller to observe the spec")
    progressing = _condition(status, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Rollout(False, f"deployment {name!r} exceeded its progress deadline", deadline_exceeded=True)
    desired = spec.get("replicas", 1)
    updated, replicas = status.get("updatedReplicas", 0), status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    if updated < desired:
        return Rollout(False, f"{updated} of {desired} new replicas updated")
    if replicas > updated:
        return Rollout(False, f"{replicas - updated} old replicas pending termination")
    if available < updated:
        return Rollout(False, f"{available} of {updated} updated replicas available")
    return Rollout(True, "rolled out")


def stuck_pod(pods: list[dict]) -> tuple[dict, str, str] | None:
    """The first pod with a container waiting in a state that will not fix itself: (pod, container, reason)."""
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        status = pod.get("status") or {}
        for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in STUCK_REASONS:
                return pod, container.get("name", "?"), waiting["reason"]
    return None


def _condition(status: dict, kind: str) -> dict | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def _ready(deployment: dict) -> str:
    desired = (deployment.get("spec") or {}).get("replicas", 1)
    return f"{(deployment.get('status') or {}).get('readyReplicas', 0)}/{desired} ready"


def _selector(deployment: dict) -> str:
    labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in labels.items())


class Budget:
    """One --timeout shared by the waits of a run; it starts when the first wait does."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._started: float | None = None

    def remaining(self) -> float:
        if self._started is None:
            self._started = self._clock()
        return self.seconds - (self._clock() - self._started)


def wait_for_rollout(
    cluster: "Cluster",
    namespace: str,
    name: str,
    budget: Budget,
    progress: Callable[[str], None],
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Poll until the Deployment is rolled out; StepError with the evidence when stuck or out of time."""
    what = f"Deployment {namespace}/{name}"
    started, last = clock(), None
    while True:
        deployment = cluster.get(DEPLOYMENT, namespace, name)
        if deployment is None:
            raise StepError(f"{what} does not exist")
        verdict = rollout_status(deployment)
        elapsed = clock() - started
        if verdict.done:
            return f"{what} rolled out: {_ready(deployment)} after {format_seconds(elapsed)}"
        pods = cluster.list(POD, namespace, labels=_selector(deployment))
        stuck = stuck_pod(pods)
        if stuck is not None:
            pod, container, reason = stuck
            headline = f"{what} will not become available: pod {pod['metadata']['name']} is in {reason}"
            raise StepError(_report(cluster, headline, deployment, pods, stuck) + f"\nhint: {_hint(reason)}")
        if verdict.deadline_exceeded:
            raise StepError(_report(cluster, f"{what}: {verdict.message}", deployment, pods, None))
        remaining = budget.remaining()
        if remaining <= 0:
            headline = f"{what} was not available within {format_seconds(budget.seconds)}: {verdict.message}"
            raise StepError(_report(cluster, headline, deployment, pods, None))
        text = f"{_ready(deployment)}, {verdict.message}"
        if text != last:  # news only: the printers show how long the step has run, and keep a log alive
            progress(text)
            last = text
        sleep(min(POLL_SECONDS, remaining))


def _hint(reason: str) -> str:
    if reason == "CrashLoopBackOff":
        return "the container keeps exiting: read its logs with kubectl logs --previous"
    return "the image cannot be pulled: check its name, tag and the registry's credentials"


def _report(cluster: "Cluster", headline: str, deployment: dict, pods: list[dict], stuck) -> str:
    """The headline, the Deployment's conditions, the failing pod's reason and its last events."""
    lines = [headline, "conditions:"]
    conditions = (deployment.get("status") or {}).get("conditions") or []
    lines += [
        f"  {c.get('type')}={c.get('status')} {c.get('reason', '')}: {c.get('message', '')}".rstrip(": ")
        for c in conditions
    ] or ["  none reported yet"]
    pod, reason = (stuck[0], _waiting_text(stuck)) if stuck else _first_unready(pods)
    if pod is None:
        lines.append("no pods yet")
        return "\n".join(lines)
    pod_name = pod["metadata"]["name"]
    lines.append(f"pod {pod_name}: {reason}")
    events = cluster.list(EVENT, deployment["metadata"]["namespace"], fields=f"involvedObject.name={pod_name}")
    events.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or e.get("firstTimestamp") or "")
    lines.append(f"last events of pod {pod_name}:" if events else f"no events for pod {pod_name}")
    for event in events[-LAST_EVENTS:]:
        count = f" (x{event['count']})" if event.get("count", 1) > 1 else ""
        lines.append(f"  {event.get('type', '')} {event.get('reason', '')}: {event.get('message', '')}{count}")
    return "\n".join(lines)


def _waiting_text(stuck: tuple[dict, str, str]) -> str:
    pod, container, reason = stuck
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            message = ((status.get("state") or {}).get("waiting") or {}).get("message")
            restarts = status.get("restartCount", 0)
            return f"container {container} is {reason}" + (f": {message}" if message else "") + (
                f" ({restarts} restarts)" if restarts else ""
            )
    return f"container {container} is {reason}"


def _first_unready(pods: list[dict]) -> tuple[dict | None, str]:
    """The pod to explain when nothing is stuck: the first one not ready, and why."""
    for pod in pods:
        status = pod.get("status") or {}
        ready = _condition(status, "Ready")
        if ready and ready.get("status") == "True":
            continue
        waiting = [
            (s.get("name"), (s.get("state") or {}).get("waiting") or {}) for s in status.get("containerStatuses") or []
        ]
        reasons = [f"container {n} is waiting: {w.get('reason')}" for n, w in waiting if w.get("reason")]
        return pod, "; ".join(reasons) or f"phase {status.get('phase', 'unknown')}, not ready"
    return None, ""
