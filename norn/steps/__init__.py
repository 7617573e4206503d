"""The forge and teardown steps, one module per concern, forge and undo side by side.

This module holds what every step shares: creating an app object without ever
adopting a foreign one, and deleting only what norn created.
"""

from __future__ import annotations

from norn.cluster import Kind
from norn.errors import AlreadyExists, StepError
from norn.manifests import is_managed
from norn.pipeline import Context


def ensure_created(ctx: Context, kind: Kind, obj: dict) -> str:
    """Create ``obj``; one that exists already counts as done only if norn made it."""
    name = obj["metadata"]["name"]
    namespace = ctx.namespace
    try:
        ctx.cluster.create(kind, namespace, obj)
        return f"created {kind.describe(namespace, name)}"
    except AlreadyExists:
        existing = ctx.cluster.get(kind, namespace, name)
        if existing is None:  # deleted between our create and get: try once more
            ctx.cluster.create(kind, namespace, obj)
            return f"created {kind.describe(namespace, name)}"
        if not is_managed(existing):
            raise _foreign(kind, namespace, name) from None
        return f"{kind.describe(namespace, name)} already exists (made by norn)"


def delete_owned(ctx: Context, kind: Kind, name: str) -> str:
    """Delete an object norn created; a 404 is done, a foreign object is never touched."""
    namespace = ctx.namespace
    existing = ctx.cluster.get(kind, namespace, name)
    if existing is None:
        return f"{kind.describe(namespace, name)} was already gone"
    if not is_managed(existing):
        raise _foreign(kind, namespace, name)
    uid = existing.get("metadata", {}).get("uid")
    if not ctx.cluster.delete(kind, namespace, name, uid=uid):
        return f"{kind.describe(namespace, name)} was already gone"
    return f"deleted {kind.describe(namespace, name)}"


def _foreign(kind: Kind, namespace: str, name: str) -> StepError:
    return StepError(
        f"{kind.describe(namespace, name)} exists but was not created by norn "
        "(no app.kubernetes.io/managed-by: norn label); norn never adopts, changes or deletes it",
        hint="rename the app or its host, or remove that object yourself",
    )
