"""create-service / delete-service."""

from __future__ import annotations

from norn.kube.kinds import SERVICE
from norn.steps import delete_owned, ensure_created, manifests
from norn.steps.pipeline import Context


class CreateService:
    name = "create-service"

    def skip_reason(self, ctx: Context) -> str | None:
        if not ctx.spec.hosts.internal:
            return "no hosts.internal in the infraspec"
        if ctx.resources.service:
            return "Service recorded as created"
        return None

    def run(self, ctx: Context) -> str:
        said = ensure_created(ctx, SERVICE, manifests.service(ctx.spec, ctx.settings))
        ctx.resources.service = ctx.spec.hosts.internal
        return said


class DeleteService:
    name = "delete-service"

    def skip_reason(self, ctx: Context) -> str | None:
        return None if ctx.resources.service or ctx.resources.replaced.services else "no Service recorded"

    def run(self, ctx: Context) -> str:
        said = []
        if ctx.resources.service:
            said.append(delete_owned(ctx, SERVICE, ctx.resources.service))
            ctx.resources.service = None
        while ctx.resources.replaced.services:  # what an unfinished update replaced
            said.append(delete_owned(ctx, SERVICE, ctx.resources.replaced.services[0]))
            ctx.resources.replaced.services.pop(0)
        return "; ".join(said)
