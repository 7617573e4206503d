"""The app lock on a cluster: a coordination.k8s.io/v1 Lease ``norn-lock-<app>``.

A run takes the Lease (holderIdentity ``user@host:pid``, acquireTime,
renewTime, leaseDurationSeconds) and renews it from a background thread while
it works. A holder that stops renewing, such as a CI job that was killed,
loses the Lease once renewTime + leaseDurationSeconds has passed, so nobody is
blocked for long. Every write carries the resourceVersion just read: when two
runners race for a free Lease the server lets one write through and answers
the other 409, so two runners never both hold it.

Expiry compares the holder's renewTime with this machine's clock; clocks that
disagree by a few seconds make a takeover that much early or late.
"""

from __future__ import annotations

import copy
import getpass
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from norn.errors import (
    AlreadyExists,
    Busy,
    ClusterError,
    Conflict,
    LostRace,
    NornError,
    NotFound,
)
from norn.events import now, rfc3339
from norn.kube.apierrors import needs
from norn.kube.kinds import LEASE

if TYPE_CHECKING:
    from norn.kube.cluster import Cluster

RENEWALS_PER_DURATION = 3


def lease_name(app: str) -> str:
    return f"norn-lock-{app}"


def identity() -> str:
    """Who holds a lock, for the person who finds it held: ``user@host:pid``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}:{os.getpid()}"


def micro_time(moment: datetime) -> str:
    """A MicroTime as the API server parses it: RFC 3339 with exactly six fraction digits."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Holder:
    identity: str
    since: datetime | None  # acquireTime
    expires: datetime


def holder(lease: dict | None, moment: datetime) -> Holder | None:
    """Who holds the Lease at ``moment``; None when it is absent, released or expired."""
    spec = (lease or {}).get("spec") or {}
    who = spec.get("holderIdentity")
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    duration = spec.get("leaseDurationSeconds")
    if not who or renewed is None or not isinstance(duration, int) or duration <= 0:
        return None
    expires = renewed + timedelta(seconds=duration)
    if expires <= moment:
        return None
    return Holder(who, parse_time(spec.get("acquireTime")), expires)


class LeaseLock:
    """One run's hold on one app: ``with LeaseLock(...):`` takes, renews and releases the Lease."""

    def __init__(
        self, cluster: "Cluster", namespace: str, app: str, seconds: int, who: str, labels: dict[str, str]
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.app = app
        self.name = lease_name(app)
        self.seconds = seconds
        self.identity = who
        self.labels = labels
        self.lost: str | None = None  # why the Lease slipped away while this run held it
        self._lease: dict | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "LeaseLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def where(self) -> str:
        return LEASE.describe(self.namespace, self.name)

    def acquire(self) -> None:
        """Take the Lease if it is free or expired; Busy naming the holder otherwise."""
        with needs(self.cluster, "get", LEASE, self.namespace):
            current = self.cluster.get(LEASE, self.namespace, self.name)
        moment = now()
        held = holder(current, moment)
        if held:
            raise self._busy(held)
        try:
            if current is None:
                self._check_update()
                with needs(self.cluster, "create", LEASE, self.namespace):
                    self._lease = self.cluster.create(LEASE, self.namespace, self._taken(None, moment))
            else:
                with needs(self.cluster, "update", LEASE, self.namespace):
                    self._lease = self.cluster.replace(LEASE, self.namespace, self.name, self._taken(current, moment))
        except (AlreadyExists, Conflict):
            # Another runner wrote the Lease between our read and our write: it won.
            raise self._busy(holder(self.cluster.get(LEASE, self.namespace, self.name), now())) from None
        self._thread = threading.Thread(target=self._keep, name=f"lease:{self.name}", daemon=True)
        self._thread.start()

    def check(self) -> None:
        """LostRace when the Lease slipped away: this run must not write any more."""
        if self.lost:
            raise LostRace(
                f"{self.app}: this run lost its lock ({self.lost}); nothing more was written",
                hint=f"another norn run may hold the app now; see norn status {self.app}, then rerun",
            )

    def release(self) -> None:
        """Stop renewing and free the Lease; one norn cannot free expires on its own."""
        self._stop.set()
        if self._thread:
            self._thread.join()
        if self.lost or self._lease is None:
            return
        released = copy.deepcopy(self._lease)
        released["spec"].pop("holderIdentity", None)
        released["spec"]["renewTime"] = micro_time(now())
        try:
            self.cluster.replace(LEASE, self.namespace, self.name, released)
        except NornError:
            pass  # the run's outcome stands; the Lease frees itself after leaseDurationSeconds
        self._lease = None

    def _check_update(self) -> None:
        """Renew and release are updates: a dry-run one, before creating a Lease this run could not free.

        The server authorizes before it looks the object up, so a 404 means allowed.
        """
        with needs(self.cluster, "update", LEASE, self.namespace):
            try:
                self.cluster.dry_run("PUT", LEASE, self.namespace, self.name, self._taken(None, now()))
            except NotFound:
                pass
            except ClusterError as exc:
                if exc.status != 422 or "resourceVersion" not in exc.message:
                    raise
                # The Lease appeared since our read: an update of an existing Lease must carry its
                # resourceVersion (kubernetes pkg/registry/coordination/lease/strategy.go,
                # AllowUnconditionalUpdate is false), so another runner created it and won.
                raise Conflict(exc.message, status=409, reason="Conflict") from exc

    def _taken(self, current: dict | None, moment: datetime) -> dict:
        metadata: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": dict(self.labels),
        }
        transitions = 0
        if current is not None:
            metadata["resourceVersion"] = current["metadata"]["resourceVersion"]
            transitions = ((current.get("spec") or {}).get("leaseTransitions") or 0) + 1
        spec = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.seconds,
            "acquireTime": micro_time(moment),
            "renewTime": micro_time(moment),
            "leaseTransitions": transitions,
        }
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec}

    def _keep(self) -> None:
        """Renew until released; give up when the Lease was taken, or could not be renewed before it expired."""
        valid_until = time.monotonic() + self.seconds
        while not self._stop.wait(self.seconds / RENEWALS_PER_DURATION):
            renewed = copy.deepcopy(self._lease)
            renewed["spec"]["renewTime"] = micro_time(now())
            try:
                self._lease = self.cluster.replace(LEASE, self.namespace, self.name, renewed)
                valid_until = time.monotonic() + self.seconds
            except (Conflict, NotFound):
                self.lost = f"{self.where()} was changed by someone else"
                return
            except NornError as exc:
                if time.monotonic() >= valid_until:
                    self.lost = f"{self.where()} could not be renewed: {exc.message}"
                    return

    def _busy(self, held: Holder | None) -> Busy:
        if held is None:
            return Busy(
                f"{self.app}: another norn run took the lock at the same moment",
                hint="wait for it to finish, then rerun",
            )
        since = rfc3339(held.since) if held.since else "an unknown time"
        return Busy(
            f"{self.app}: operation already in progress ({held.identity} since {since})",
            hint=f"that run renews {self.where()} while it works; if it has died, the lock frees at {rfc3339(held.expires)}",
        )
