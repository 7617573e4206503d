"""The steps of an in-place update: each object changed where it stands, never deleted and made again.

``norn forge`` on a forged app whose infraspec changed runs these instead of the
create steps. Each step patches the difference between what norn last applied
and what it would apply now (steps.update_owned), creates what the app now has
and had not, and hands what it replaced to ``remove-replaced``, which deletes it
only once the new routing is live. With ``--repair`` the difference is taken from
the live objects instead, so what was edited or deleted by hand is restored.
What a step is about to create is recorded, and the state saved, before the
request: a kill after it leaves the object known to the rerun and to teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

from norn.errors import StepError
from norn.kube import smp
from norn.kube.kinds import CRONJOB, DEPLOYMENT, PVC, SERVICE, Kind
from norn.kube.quantity import quantity_value
from norn.steps import delete_owned, ensure_created, manifests, redacted, update_owned
from norn.steps.dns import remove_unless_routed
from norn.steps.pipeline import Context, Skip
from norn.steps.routed import routed_by_others

if TYPE_CHECKING:
    from norn.infraspec.model import Infraspec
    from norn.settings import Settings
    from norn.state import ForgeState

UNCHANGED = "unchanged"


def _unchanged(ctx: Context, kind: Kind, obj: dict) -> bool:
    """Whether the object is recorded as applied exactly so: decided from the state alone, without a request."""
    key = f"{kind.name}/{obj['metadata']['name']}"
    applied = ctx.state.applied.get(key)
    return applied is not None and key in ctx.resources.created_uids and smp.two_way(applied, redacted(ctx.app, obj)) is None


class UpdateDeployment:
    name = "update-deployment"

    def skip_reason(self, ctx: Context) -> str | None:
        claims = manifests.persistent_volume_claims(ctx.spec, ctx.namespace)
        if ctx.repair or not ctx.resources.deployment:
            return None
        if [c["metadata"]["name"] for c in claims] != ctx.resources.persistent_volume_claims:
            return None
        objects = [(PVC, claim) for claim in claims] + [(DEPLOYMENT, manifests.deployment(ctx.spec, ctx.settings))]
        return UNCHANGED if all(_unchanged(ctx, kind, obj) for kind, obj in objects) else None

    def run(self, ctx: Context) -> str:
        resources, said = ctx.resources, []
        claims = manifests.persistent_volume_claims(ctx.spec, ctx.namespace)
        for claim in claims:  # first: the Deployment may mount a new one
            name = claim["metadata"]["name"]
            if name in resources.persistent_volume_claims:
                said.append(update_owned(ctx, PVC, claim, repair=ctx.repair))
            else:
                for left in (resources.kept_volumes, resources.replaced.volumes):
                    if name in left:
                        left.remove(name)
                resources.persistent_volume_claims.append(name)
                with _recorded_first(ctx, partial(resources.persistent_volume_claims.remove, name)):
                    said.append(ensure_created(ctx, PVC, claim))
        deployment = manifests.deployment(ctx.spec, ctx.settings)
        if resources.deployment:
            said.append(update_owned(ctx, DEPLOYMENT, deployment, repair=ctx.repair))
        else:
            said.append(ensure_created(ctx, DEPLOYMENT, deployment))
            resources.deployment = ctx.spec.app
        said += self._unmounted(ctx, {c["metadata"]["name"] for c in claims})
        said = [line for line in said if line]
        if not said:
            raise Skip(UNCHANGED)
        return "; ".join(said)

    @staticmethod
    def _unmounted(ctx: Context, wanted: set[str]) -> list[str]:
        """Claims of removed volumes, no longer mounted: kept with their data, or with --delete-volumes removed."""
        resources, said = ctx.resources, []
        for name in [c for c in resources.persistent_volume_claims if c not in wanted]:
            what = PVC.describe(ctx.namespace, name)
            resources.persistent_volume_claims.remove(name)
            if ctx.delete_volumes:
                resources.replaced.volumes.append(name)
                said.append(f"unmounted {what}: deleted by remove-replaced (--delete-volumes)")
            else:
                resources.kept_volumes.append(name)
                ctx.tools.recorder.keep(what, "its volume was removed from the infraspec; volumes are kept unless "
                                        "--delete-volumes is given", f"keep {what} with its data")
                said.append(f"unmounted and kept {what} with its data (--delete-volumes deletes it)")
        return said


class UpdateService:
    name = "update-service"

    def skip_reason(self, ctx: Context) -> str | None:
        wanted, recorded = ctx.spec.hosts.internal, ctx.resources.service
        if not wanted and not recorded:
            return f"{UNCHANGED} (no hosts.internal in the infraspec)"
        if not ctx.repair and wanted == recorded and _unchanged(ctx, SERVICE, manifests.service(ctx.spec, ctx.settings)):
            return UNCHANGED
        return None

    def run(self, ctx: Context) -> str:
        resources = ctx.resources
        wanted, recorded = ctx.spec.hosts.internal, resources.service
        if wanted is None:  # hosts.internal removed: the Service goes once nothing routes to it
            resources.replaced.services.append(recorded)
            resources.service = None
            return f"{SERVICE.describe(ctx.namespace, recorded)} is no longer wanted: remove-replaced deletes it"
        if wanted in resources.replaced.services:  # renamed back before the old one was removed
            resources.replaced.services.remove(wanted)
        desired = manifests.service(ctx.spec, ctx.settings)
        if recorded == wanted:
            said = update_owned(ctx, SERVICE, desired, repair=ctx.repair)
            if said is None:
                raise Skip(UNCHANGED)
            return said
        if recorded:
            resources.replaced.services.append(recorded)
        resources.service = wanted
        with _recorded_first(ctx, lambda: _unrecord_service(ctx, recorded)):
            said = ensure_created(ctx, SERVICE, desired)
        if recorded:
            said += f"; {SERVICE.describe(ctx.namespace, recorded)} is deleted by remove-replaced, once the rule points here"
        return said


def _unrecord_service(ctx: Context, recorded: str | None) -> None:
    ctx.resources.service = recorded
    if recorded:
        ctx.resources.replaced.services.remove(recorded)


@contextmanager
def _recorded_first(ctx: Context, forget: Callable[[], None]) -> Iterator[None]:
    """Around the create of an object the state already names: the state is saved first, so a kill after the
    create leaves the object known to the rerun (which finds it) and to teardown (which deletes it, or finds
    it gone). A create refused (another's object of that name) calls ``forget``: a failed create records nothing."""
    ctx.save()
    try:
        yield
    except StepError:
        forget()
        raise


class UpdateCron:
    name = "update-cron"

    def skip_reason(self, ctx: Context) -> str | None:
        if not ctx.repair and ctx.resources.cron_job and _unchanged(ctx, CRONJOB, manifests.cronjob(ctx.spec, ctx.settings)):
            return UNCHANGED
        return None

    def run(self, ctx: Context) -> str:
        cronjob = manifests.cronjob(ctx.spec, ctx.settings)
        if not ctx.resources.cron_job:
            said = ensure_created(ctx, CRONJOB, cronjob)
            ctx.resources.cron_job = ctx.spec.app
            return said
        said = update_owned(ctx, CRONJOB, cronjob, repair=ctx.repair)
        if said is None:
            raise Skip(UNCHANGED)
        return said


class RemoveReplaced:
    """What the update replaced, deleted only now that the new Service, rule and record are live."""

    name = "remove-replaced"

    def skip_reason(self, ctx: Context) -> str | None:
        return None if ctx.resources.replaced else f"{UNCHANGED} (nothing was replaced)"

    def run(self, ctx: Context) -> str:
        replaced, said = ctx.resources.replaced, []
        # norn's rule for a replaced hostname was replaced or removed: a rule of it left is someone else's
        others = routed_by_others(ctx, [route.hostname for route in replaced.dns_routes])
        while replaced.dns_routes:
            said.append(remove_unless_routed(ctx, replaced.dns_routes[0], others))
            replaced.dns_routes.pop(0)
        while replaced.services:
            said.append(delete_owned(ctx, SERVICE, replaced.services[0]))
            replaced.services.pop(0)
        while replaced.volumes:
            said.append(delete_owned(ctx, PVC, replaced.volumes[0]))
            replaced.volumes.pop(0)
        return "\n".join(said)


def refusals(state: "ForgeState", spec: "Infraspec", settings: "Settings") -> list[str]:
    """What an update cannot change in place (the API server refuses it, or it is another app altogether)."""
    resources, found = state.resources, []
    if resources.namespace and resources.namespace != settings.namespace:
        found.append(f"the namespace would change from {resources.namespace} to {settings.namespace}")
    was_cron = bool(resources.cron_job)
    if resources.has_objects() and was_cron != spec.is_cron:
        found.append(f"the role would change from {'cron' if was_cron else 'webserver or worker'} to {spec.role}")
    for claim in manifests.persistent_volume_claims(spec, resources.namespace or settings.namespace):
        applied = state.applied.get(f"{PVC.name}/{claim['metadata']['name']}")
        if applied is None:
            continue
        before = applied["spec"]["resources"]["requests"]["storage"]
        after = claim["spec"]["resources"]["requests"]["storage"]
        if quantity_value(after) < quantity_value(before):
            found.append(f"{PVC.describe(resources.namespace or settings.namespace, claim['metadata']['name'])} "
                         f"would shrink from {before} to {after} (a claim can only grow)")
    return found
