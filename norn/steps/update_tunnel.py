"""update-cloudflared / update-dns-route: the public hostname's route, changed without a gap.

A renamed Service or hostname is replaced in place in one config write (the
rule keeps its position), the new CNAME is made, and the old one is handed to
``remove-replaced``, which deletes it after cloudflared restarted. An added or
removed ``hosts.external`` adds or removes the rule and the route as forge and
teardown do.
"""

from __future__ import annotations

from norn.cloudflare import ingress
from norn.resources import IngressRule
from norn.steps import manifests
from norn.steps.dns import CreateDnsRoute
from norn.steps.pipeline import Context, Skip
from norn.steps.tunnel import (
    PatchCloudflared,
    RestartCloudflared,
    UnpatchCloudflared,
    configmap_name,
    edit,
    written_wrong,
)
from norn.steps.update import UNCHANGED


def _wanted(ctx: Context) -> tuple[str, str] | None:
    """(hostname, service URL) the infraspec asks the tunnel to route, or None."""
    if not ctx.spec.hosts.external:
        return None
    return ctx.spec.hosts.external, manifests.service_url(ctx.spec, ctx.namespace)


def _same_host(first: str, second: str) -> bool:
    return first.lower().rstrip(".") == second.lower().rstrip(".")


class UpdateCloudflared:
    name = "update-cloudflared"

    def skip_reason(self, ctx: Context) -> str | None:
        wanted, recorded = _wanted(ctx), ctx.resources.ingress_rule
        if wanted is None and recorded is None:
            return f"{UNCHANGED} (no hosts.external in the infraspec)"
        if not ctx.repair and recorded and (recorded.hostname, recorded.service) == wanted:
            return UNCHANGED
        return None

    def run(self, ctx: Context) -> str:
        wanted, recorded = _wanted(ctx), ctx.resources.ingress_rule
        if wanted is None:
            return UnpatchCloudflared().run(ctx)
        if recorded is None or (recorded.hostname, recorded.service) == wanted:  # added, or a repair
            pending = ctx.resources.cloudflared_restart_pending
            said = PatchCloudflared().run(ctx)
            if said.startswith("already present:") and recorded is not None:
                ctx.resources.cloudflared_restart_pending = pending  # nothing written: no restart for it
                raise Skip(UNCHANGED)
            return said
        hostname, service = wanted
        where = configmap_name(ctx)
        with ctx.tools.recorder.doing(f"replace the rule {recorded.hostname} → {recorded.service} with "
                                      f"{hostname} → {service} in ConfigMap {where}, in its place"):
            edited = edit(ctx, lambda text: ingress.replace_rule(text, recorded.hostname, hostname, service))
        if edited is None:
            raise Skip(f"ConfigMap {where} not found: cloudflared is not deployed")
        if not edited.as_sent and ingress.find_rule(edited.written, hostname) != service:
            raise written_wrong(ctx, f"does not route {hostname} to {service}")
        ctx.resources.ingress_rule = IngressRule(hostname, service, where)
        ctx.resources.cloudflared_restart_pending = True
        return f"replaced {recorded.hostname} → {recorded.service} with {hostname} → {service} in {where}"


class UpdateDnsRoute:
    name = "update-dns-route"

    def skip_reason(self, ctx: Context) -> str | None:
        wanted, recorded = ctx.spec.hosts.external, ctx.resources.dns_route
        if not wanted and not recorded:
            return f"{UNCHANGED} (no hosts.external in the infraspec)"
        if wanted and recorded and _same_host(wanted, recorded.hostname) and not ctx.repair:
            return UNCHANGED
        if wanted and ctx.tools.cloudflared.find() is None:
            return "no cloudflared on PATH; route the hostname by hand: cloudflared tunnel route dns"
        return None

    def run(self, ctx: Context) -> str:
        recorded, said = ctx.resources.dns_route, []
        if ctx.spec.hosts.external:
            said.append(CreateDnsRoute().run(ctx))  # records the new route
        else:
            ctx.resources.dns_route = None
        if recorded and ctx.spec.hosts.external and _same_host(recorded.hostname, ctx.spec.hosts.external):
            return "\n".join(said)  # a repair routed the same name again
        if recorded:  # its CNAME goes once cloudflared serves the new rule
            ctx.resources.replaced.dns_routes.append(recorded)
            said.append(f"the CNAME {recorded.hostname} is deleted by remove-replaced, after cloudflared restarts")
        return "\n".join(said)


class RestartAfterUpdate(RestartCloudflared):
    """restart-cloudflared as forge runs it; with nothing to do, it says so as every update step does."""

    def skip_reason(self, ctx: Context) -> str | None:
        reason = super().skip_reason(ctx)
        return reason if reason is None or UNCHANGED in reason else f"{UNCHANGED} ({reason})"
