"""Whose an object is: the labels norn puts on what it creates, read back.

Below the steps and the stores alike: the kubernetes state backend marks its
Secrets and Leases the same way the steps mark an app's objects.
"""

from __future__ import annotations

from typing import Any

MANAGED_BY = ("app.kubernetes.io/managed-by", "norn")
INSTANCE = "app.kubernetes.io/instance"  # names the app an object belongs to

Manifest = dict[str, Any]


def is_managed(obj: Manifest) -> bool:
    """Whether some norn app created this object (which one: ``owner``)."""
    metadata = obj.get("metadata") or {}
    object_labels = metadata.get("labels") or {}
    return object_labels.get(MANAGED_BY[0]) == MANAGED_BY[1]


def owner(obj: Manifest) -> str | None:
    """The norn app this object belongs to, or None when norn did not create it.

    The instance label names it; objects made before norn set that label name
    it by their `app` label. An app's objects are only those of which it is
    the owner: the managed-by label alone says "some norn app", not which.
    """
    if not is_managed(obj):
        return None
    object_labels = (obj.get("metadata") or {}).get("labels") or {}
    return object_labels.get(INSTANCE) or object_labels.get("app") or None


def deleting(obj: Manifest) -> bool:
    """Whether the object is being deleted: the server set deletionTimestamp and waits for its finalizers."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))
