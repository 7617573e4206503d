"""The forge and teardown steps, one module per concern, forge and undo side by side.

This module holds what every step shares: creating an app object without ever
adopting another's, and deleting only what is this app's. An object is this
app's when norn created it for this app (``kube.ownership.owner``). The uid of each
object a forge creates itself is recorded under ``createdUids``, so a teardown
deletes it with a uid precondition in one request. Anything else (a uid of the
``uids`` key earlier versions wrote, which could be another app's object they
had taken as done) is looked at first and deleted only if its labels name this
app.
"""

from __future__ import annotations

import time

from norn.errors import AlreadyExists, Conflict, StepError
from norn.kube.kinds import Kind
from norn.kube.ownership import owner
from norn.steps.pipeline import Context

CREATE_TRIES = 3  # an object that keeps coming back between our create and our look is someone else's race


def _uid_key(kind: Kind, name: str) -> str:
    return f"{kind.name}/{name}"


def _remember_uid(ctx: Context, kind: Kind, name: str, obj: dict) -> None:
    uid = obj.get("metadata", {}).get("uid")
    if uid:
        ctx.resources.created_uids[_uid_key(kind, name)] = uid


def _forget_uid(ctx: Context, kind: Kind, name: str) -> None:
    ctx.resources.created_uids.pop(_uid_key(kind, name), None)
    ctx.resources.unverified_uids.pop(_uid_key(kind, name), None)


def ensure_created(ctx: Context, kind: Kind, obj: dict) -> str:
    """Create ``obj``; one that exists already counts as done only if it is this app's.

    One the server is deleting is waited for (up to NORN_API_RETRY_SECONDS) and
    then created afresh: taking it as done would leave the app without it.
    """
    name = obj["metadata"]["name"]
    what = kind.describe(ctx.namespace, name)
    deadline = time.monotonic() + ctx.settings.api_retry_seconds
    for _ in range(CREATE_TRIES):
        try:
            created = ctx.cluster.create(kind, ctx.namespace, obj)
        except AlreadyExists:
            # One the server is deleting is waited out (a dry run only says it would).
            existing = ctx.tools.waiting.until_gone(
                ctx.cluster, kind, ctx.namespace, name, deadline, ctx.progress, then="create it afresh"
            )
            if existing is None:  # deleted since our create: create it again
                continue
            claimed_by = owner(existing)
            if claimed_by is None:
                raise _foreign(kind, ctx.namespace, name) from None
            if claimed_by != ctx.app:
                raise _of_other_app(what, claimed_by) from None
            return f"{what} already exists (made by norn for {ctx.app})"
        _remember_uid(ctx, kind, name, created)
        return f"created {what}"
    raise StepError(f"{what} was deleted and created again by someone else while norn created it",
                    hint="find out what else manages that name, then run the forge again")


def delete_owned(ctx: Context, kind: Kind, name: str) -> str:
    """Delete an object of this app; a 404 is done, another's object is never touched.

    With the uid recorded when the forge created it this is one DELETE with a
    uid precondition; otherwise, or when that fails (the object was replaced
    since), norn looks at the object first.
    """
    namespace = ctx.namespace
    what = kind.describe(namespace, name)
    uid = ctx.resources.created_uids.get(_uid_key(kind, name))
    if uid:
        try:
            deleted = ctx.cluster.delete(kind, namespace, name, uid=uid)
        except Conflict:
            said = _delete_after_look(ctx, kind, name)
        else:
            said = f"deleted {what}" if deleted else f"{what} was already gone"
    else:
        said = _delete_after_look(ctx, kind, name)
    _forget_uid(ctx, kind, name)
    return said


def _delete_after_look(ctx: Context, kind: Kind, name: str) -> str:
    what = kind.describe(ctx.namespace, name)
    existing = ctx.cluster.get(kind, ctx.namespace, name)
    if existing is None:
        return f"{what} was already gone"
    claimed_by = owner(existing)
    if claimed_by is None:
        ctx.tools.recorder.keep(what, "not created by norn")
        raise _foreign(kind, ctx.namespace, name)
    if claimed_by != ctx.app:  # recorded by an earlier norn that took it as done: drop the record only
        ctx.tools.recorder.keep(what, f"belongs to norn app {claimed_by}",
                                f"leave {what} in place: it belongs to norn app {claimed_by}")
        return f"left {what} in place: it belongs to norn app {claimed_by}"
    deleted = ctx.cluster.delete(kind, ctx.namespace, name, uid=existing.get("metadata", {}).get("uid"))
    return f"deleted {what}" if deleted else f"{what} was already gone"


def _of_other_app(what: str, app: str) -> StepError:
    return StepError(
        f"{what} belongs to norn app {app}",
        hint="give this app another name for it in its infraspec; norn never takes over another app's objects",
    )


def _foreign(kind: Kind, namespace: str, name: str) -> StepError:
    return StepError(
        f"{kind.describe(namespace, name)} exists but was not created by norn "
        "(no app.kubernetes.io/managed-by: norn label); norn never adopts, changes or deletes it",
        hint="rename the app or its host, or remove that object yourself",
    )
