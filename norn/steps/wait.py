"""wait-rollout / wait-cloudflared: with --wait, forge ends when the app is actually up.

Waits are steps so the state records which one failed, and a rerun of the
same command resumes with them.
"""

from __future__ import annotations

from norn.kube import rollout
from norn.kube.kinds import DEPLOYMENT
from norn.steps.pipeline import Context, Skip


class WaitRollout:
    name = "wait-rollout"

    def __init__(self, budget: rollout.Budget) -> None:
        self.budget = budget

    def skip_reason(self, ctx: Context) -> str | None:
        if ctx.spec.is_cron:
            return "a CronJob has nothing to wait for: its Jobs start on schedule"
        return None

    def run(self, ctx: Context) -> str:
        return ctx.tools.waiting.rollout(ctx.cluster, ctx.namespace, ctx.spec.app, self.budget, ctx.progress)


class WaitCloudflared:
    name = "wait-cloudflared"

    def __init__(self, budget: rollout.Budget) -> None:
        self.budget = budget

    def skip_reason(self, ctx: Context) -> str | None:
        return None if ctx.spec.hosts.external else "no hosts.external in the infraspec"

    def run(self, ctx: Context) -> str:
        namespace, name = ctx.settings.cloudflared_namespace, ctx.settings.cloudflared_deployment
        if ctx.cluster.get(DEPLOYMENT, namespace, name) is None:
            raise Skip(f"no cloudflared Deployment {namespace}/{name}")
        return ctx.tools.waiting.rollout(ctx.cluster, namespace, name, self.budget, ctx.progress)


def wait_steps(seconds: float) -> list:
    """The waits after a forge's steps, sharing one timeout."""
    budget = rollout.Budget(seconds)
    return [WaitRollout(budget), WaitCloudflared(budget)]
