"""create-deployment / delete-deployment, with the app's PersistentVolumeClaims."""

from __future__ import annotations

from norn.kube.kinds import DEPLOYMENT, PVC
from norn.steps import delete_owned, ensure_created, manifests
from norn.steps.pipeline import Context


class CreateDeployment:
    name = "create-deployment"

    def skip_reason(self, ctx: Context) -> str | None:
        if ctx.resources.deployment:
            return "Deployment recorded as created"
        return None

    def run(self, ctx: Context) -> str:
        spec = ctx.spec
        said = []
        claims = ctx.resources.persistent_volume_claims
        for claim in manifests.persistent_volume_claims(spec, ctx.namespace):
            said.append(ensure_created(ctx, PVC, claim))  # one that fails (another app's, say) is not recorded
            if claim["metadata"]["name"] not in claims:
                claims.append(claim["metadata"]["name"])
        ctx.resources.kept_volumes = []
        said.append(ensure_created(ctx, DEPLOYMENT, manifests.deployment(spec, ctx.settings)))
        ctx.resources.deployment = spec.app
        return "; ".join(said)


class DeleteDeployment:
    name = "delete-deployment"

    def skip_reason(self, ctx: Context) -> str | None:
        if not (ctx.resources.deployment or ctx.resources.persistent_volume_claims or ctx.resources.replaced.volumes):
            return "no Deployment recorded"
        return None

    def run(self, ctx: Context) -> str:
        said = []
        resources = ctx.resources
        if resources.deployment:
            said.append(delete_owned(ctx, DEPLOYMENT, resources.deployment))
            resources.deployment = None
        # The claims of volumes an unfinished update removed go with the others.
        resources.persistent_volume_claims += resources.replaced.volumes
        resources.replaced.volumes = []
        if ctx.delete_volumes:
            # Forget each claim only once it is deleted: a failed delete leaves it recorded for the rerun.
            for claim in list(resources.persistent_volume_claims):
                said.append(delete_owned(ctx, PVC, claim))
                resources.persistent_volume_claims.remove(claim)
        claims, resources.persistent_volume_claims = resources.persistent_volume_claims, []
        for claim in claims:
            what = PVC.describe(ctx.namespace, claim)
            ctx.tools.recorder.keep(what, "volumes are kept unless --delete-volumes is given",
                                    f"keep {what} with its data (--delete-volumes deletes it)")
        if claims:
            resources.kept_volumes = claims
            said.append(f"kept {', '.join(claims)} with its data (--delete-volumes deletes volumes)")
        return "; ".join(said)
