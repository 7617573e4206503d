"""create-deployment / delete-deployment, with the app's PersistentVolumeClaims."""

from __future__ import annotations

from norn.kube.kinds import DEPLOYMENT, PVC
from norn.steps import delete_owned, ensure_created, manifests
from norn.steps.pipeline import Context


class CreateDeployment:
    name = "create-deployment"

    def skip_reason(self, ctx: Context) -> str | None:
        if ctx.resources.get("deployment"):
            return "Deployment recorded as created"
        return None

    def run(self, ctx: Context) -> str:
        spec = ctx.spec
        said = []
        claims = ctx.resources.setdefault("persistentVolumeClaims", [])
        try:
            for claim in manifests.persistent_volume_claims(spec, ctx.namespace):
                said.append(ensure_created(ctx, PVC, claim))
                if claim["metadata"]["name"] not in claims:
                    claims.append(claim["metadata"]["name"])
        finally:  # a claim that failed (another app's, say) is not recorded, not even as an empty list
            if not claims:
                del ctx.resources["persistentVolumeClaims"]
        ctx.resources.pop("keptVolumes", None)
        said.append(ensure_created(ctx, DEPLOYMENT, manifests.deployment(spec, ctx.settings)))
        ctx.resources["deployment"] = spec.app
        return "; ".join(said)


class DeleteDeployment:
    name = "delete-deployment"

    def skip_reason(self, ctx: Context) -> str | None:
        if not ctx.resources.get("deployment") and not ctx.resources.get("persistentVolumeClaims"):
            return "no Deployment recorded"
        return None

    def run(self, ctx: Context) -> str:
        said = []
        if ctx.resources.get("deployment"):
            said.append(delete_owned(ctx, DEPLOYMENT, ctx.resources["deployment"]))
            del ctx.resources["deployment"]
        if ctx.delete_volumes:
            # Forget each claim only once it is deleted: a failed delete leaves it recorded for the rerun.
            for claim in list(ctx.resources.get("persistentVolumeClaims", [])):
                said.append(delete_owned(ctx, PVC, claim))
                ctx.resources["persistentVolumeClaims"].remove(claim)
        claims = ctx.resources.pop("persistentVolumeClaims", [])
        for claim in claims:
            what = PVC.describe(ctx.namespace, claim)
            ctx.tools.recorder.keep(what, "volumes are kept unless --delete-volumes is given",
                                    f"keep {what} with its data (--delete-volumes deletes it)")
        if claims:
            ctx.resources["keptVolumes"] = claims
            said.append(f"kept {', '.join(claims)} with its data (--delete-volumes deletes volumes)")
        return "; ".join(said)
