"""register-cron / unregister-cron: the cluster's CronJob controller is the scheduler."""

from __future__ import annotations

from norn.kube.kinds import CRONJOB
from norn.steps import delete_owned, ensure_created, manifests
from norn.steps.pipeline import Context


class RegisterCron:
    name = "register-cron"

    def skip_reason(self, ctx: Context) -> str | None:
        return "CronJob recorded as created" if ctx.resources.cron_job else None

    def run(self, ctx: Context) -> str:
        said = ensure_created(ctx, CRONJOB, manifests.cronjob(ctx.spec, ctx.settings))
        ctx.resources.cron_job = ctx.spec.app
        return f"{said} (schedule {ctx.spec.schedule})"


class UnregisterCron:
    name = "unregister-cron"

    def skip_reason(self, ctx: Context) -> str | None:
        return None if ctx.resources.cron_job else "no CronJob recorded"

    def run(self, ctx: Context) -> str:
        said = delete_owned(ctx, CRONJOB, ctx.resources.cron_job)
        ctx.resources.cron_job = None
        return said
