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

import copy
import hashlib
import time
from typing import Any

from norn.errors import AlreadyExists, ClusterError, Conflict, NotFound, StepError
from norn.kube import smp
from norn.kube.kinds import Kind
from norn.kube.ownership import deleting, owner
from norn.steps import changes
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
    ctx.state.applied.pop(_uid_key(kind, name), None)


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
        ctx.state.applied[_uid_key(kind, name)] = redacted(ctx.app, obj)
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


def update_owned(ctx: Context, kind: Kind, obj: dict, *, repair: bool = False) -> str | None:
    """Bring this app's object in line with ``obj`` in place: one PATCH of what changed; None when nothing did.

    What changed is the difference between what norn last applied (the state's ``applied``) and ``obj``, so
    no read is needed; with ``repair``, or when nothing is recorded (a state of an earlier version), it is the
    difference between the live object's norn fields and ``obj``. The recorded uid rides in the patch as a
    precondition: the server refuses the patch when the object was replaced by another of the same name.
    An object that is gone is created again.
    """
    name = obj["metadata"]["name"]
    what = kind.describe(ctx.namespace, name)
    key = _uid_key(kind, name)
    uid = ctx.resources.created_uids.get(key)
    old = None if repair else ctx.state.applied.get(key)
    if old is None or uid is None:
        live = _owned_live(ctx, kind, name)
        if live is None:
            return ensure_created(ctx, kind, obj)
        old, uid = redacted(ctx.app, smp.project(live, obj)), live["metadata"]["uid"]
    new = redacted(ctx.app, obj)
    patch = smp.two_way(old, new)
    if patch is None:
        ctx.state.applied[key] = new
        return None
    patch = _revealed(patch, obj)
    body = {**patch, "metadata": {**(patch.get("metadata") or {}), "uid": uid}}
    try:
        ctx.cluster.patch(kind, ctx.namespace, name, body)
    except NotFound:
        return ensure_created(ctx, kind, obj)
    except ClusterError as exc:
        if isinstance(exc, Conflict) or (exc.status == 422 and "uid" in exc.message):
            raise StepError(f"{what} is not the one norn created for {ctx.app} (its uid changed): {exc.message}",
                            hint="find out what replaced it; norn never changes another's object") from exc
        raise
    ctx.resources.created_uids[key] = uid
    ctx.state.applied[key] = new
    return f"updated {what}: {changes.summary(kind.name, smp.field_changes(old, new))}"


# An env value may be sensitive (a DSN with a key in it), and the state is not the place for it: what norn
# applied is kept with each env value replaced by a digest, enough to tell whether it changed.
_DIGEST = "sha256:"


def redacted(app: str, manifest: dict) -> dict:
    """``manifest`` with each env value replaced by a digest of the app, the variable's name and its value."""
    result = copy.deepcopy(manifest)
    for env in _env_lists(result):
        for item in env:
            if isinstance(item.get("value"), str) and not item["value"].startswith(_DIGEST):
                seen = f"{app}\0{item.get('name')}\0{item['value']}".encode()
                item["value"] = _DIGEST + hashlib.sha256(seen).hexdigest()
    return result


def _revealed(patch: dict, manifest: dict) -> dict:
    """The patch with the env values it sends taken back from ``manifest``, the real object."""
    values = {item.get("name"): item.get("value") for env in _env_lists(manifest) for item in env}
    patch = copy.deepcopy(patch)
    for env in _env_lists(patch):
        for item in env:
            if isinstance(item.get("value"), str) and item["value"].startswith(_DIGEST):
                item["value"] = values[item.get("name")]
    return patch


def _env_lists(value: Any) -> list[list[dict]]:
    """Every ``env`` list of dicts in a manifest or a patch."""
    found: list[list[dict]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "env" and isinstance(item, list):
                found.append([entry for entry in item if isinstance(entry, dict)])
            else:
                found += _env_lists(item)
    elif isinstance(value, list):
        for item in value:
            found += _env_lists(item)
    return found


def _owned_live(ctx: Context, kind: Kind, name: str) -> dict | None:
    """The live object when it is this app's; None when it is gone. Another's, or one being deleted, fails."""
    live = ctx.cluster.get(kind, ctx.namespace, name)
    if live is None:
        return None
    claimed_by = owner(live)
    if claimed_by is None:
        raise _foreign(kind, ctx.namespace, name)
    if claimed_by != ctx.app:
        raise _of_other_app(kind.describe(ctx.namespace, name), claimed_by)
    if deleting(live):
        raise StepError(f"{kind.describe(ctx.namespace, name)} is being deleted; norn does not change it",
                        hint=f"wait for it to go, then run norn forge {ctx.app} again to create it afresh")
    return live
