"""The forge and teardown steps, one module per concern, forge and undo side by side.

This module holds what every step shares: creating an app object without ever
adopting a foreign one, and deleting only what norn created. The uid of each
object norn creates is recorded, so a teardown deletes with a uid precondition
in one request, and an object someone replaced since is never deleted blindly.
"""

from __future__ import annotations

from norn.cluster import Kind
from norn.errors import AlreadyExists, Conflict, StepError
from norn.manifests import is_managed
from norn.pipeline import Context


def _uid_key(kind: Kind, name: str) -> str:
    return f"{kind.name}/{name}"


def _remember_uid(ctx: Context, kind: Kind, name: str, obj: dict) -> None:
    uid = obj.get("metadata", {}).get("uid")
    if uid:
        ctx.resources.setdefault("uids", {})[_uid_key(kind, name)] = uid


def _forget_uid(ctx: Context, kind: Kind, name: str) -> None:
    uids = ctx.resources.get("uids", {})
    uids.pop(_uid_key(kind, name), None)
    if not uids:
        ctx.resources.pop("uids", None)


def ensure_created(ctx: Context, kind: Kind, obj: dict) -> str:
    """Create ``obj``; one that exists already counts as done only if norn made it."""
    name = obj["metadata"]["name"]
    namespace = ctx.namespace
    try:
        created = ctx.cluster.create(kind, namespace, obj)
        _remember_uid(ctx, kind, name, created)
        return f"created {kind.describe(namespace, name)}"
    except AlreadyExists:
        existing = ctx.cluster.get(kind, namespace, name)
        if existing is None:  # deleted between our create and get: try once more
            _remember_uid(ctx, kind, name, ctx.cluster.create(kind, namespace, obj))
            return f"created {kind.describe(namespace, name)}"
        if not is_managed(existing):
            raise _foreign(kind, namespace, name) from None
        _remember_uid(ctx, kind, name, existing)
        return f"{kind.describe(namespace, name)} already exists (made by norn)"


def delete_owned(ctx: Context, kind: Kind, name: str) -> str:
    """Delete an object norn created; a 404 is done, a foreign object is never touched.

    With the uid recorded at creation this is one DELETE with a uid precondition;
    only when that fails (the object was replaced since) does norn look at it.
    """
    namespace = ctx.namespace
    uid = ctx.resources.get("uids", {}).get(_uid_key(kind, name))
    if uid:
        try:
            deleted = ctx.cluster.delete(kind, namespace, name, uid=uid)
        except Conflict:
            deleted = _delete_after_look(ctx, kind, name)
    else:
        deleted = _delete_after_look(ctx, kind, name)
    _forget_uid(ctx, kind, name)
    what = kind.describe(namespace, name)
    return f"deleted {what}" if deleted else f"{what} was already gone"


def _delete_after_look(ctx: Context, kind: Kind, name: str) -> bool:
    existing = ctx.cluster.get(kind, ctx.namespace, name)
    if existing is None:
        return False
    if not is_managed(existing):
        raise _foreign(kind, ctx.namespace, name)
    return ctx.cluster.delete(kind, ctx.namespace, name, uid=existing.get("metadata", {}).get("uid"))


def _foreign(kind: Kind, namespace: str, name: str) -> StepError:
    return StepError(
        f"{kind.describe(namespace, name)} exists but was not created by norn "
        "(no app.kubernetes.io/managed-by: norn label); norn never adopts, changes or deletes it",
        hint="rename the app or its host, or remove that object yourself",
    )
