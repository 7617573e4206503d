"""update-cloudflared / update-dns-route: the public hostname's route, changed without a gap.

A renamed Service or hostname is replaced in place in one config write (the
rule keeps its position), the new CNAME is made, and the old one is handed to
``remove-replaced``, which deletes it after cloudflared restarted. An added or
removed ``hosts.external`` adds or removes the rule and the route as forge and
teardown do.
"""

from __future__ import annotations

from norn.cloudflare import ingress
from norn.resources import DnsRoute, IngressRule
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
        wanted, recorded, cut_off = _wanted(ctx), ctx.resources.ingress_rule, ctx.resources.replaced.ingress_rules
        if wanted is None and recorded is None and not cut_off:
            return f"{UNCHANGED} (no hosts.external in the infraspec)"
        if not ctx.repair and not cut_off and recorded and (recorded.hostname, recorded.service) == wanted:
            return UNCHANGED
        return None

    def run(self, ctx: Context) -> str:
        resources = ctx.resources
        wanted, recorded = _wanted(ctx), resources.ingress_rule
        if wanted is None:
            return UnpatchCloudflared().run(ctx)
        if not resources.replaced.ingress_rules and (recorded is None or (recorded.hostname, recorded.service) == wanted):
            pending = resources.cloudflared_restart_pending  # added, or a repair
            said = PatchCloudflared().run(ctx)
            if said.startswith("already present:") and recorded is not None:
                resources.cloudflared_restart_pending = pending  # nothing written: no restart for it
                raise Skip(UNCHANGED)
            return said
        hostname, service = wanted
        where = configmap_name(ctx)
        new, olds = IngressRule(hostname, service, where), _replacing(resources.replaced.ingress_rules, recorded, wanted)
        first = olds[0]

        def replace(text: str) -> tuple[str, bool]:
            result = _in_place(text, olds, hostname, service)  # a clash is refused here, before anything is recorded
            if (resources.ingress_rule, resources.replaced.ingress_rules) != (new, olds):
                # Before the write: after a kill, teardown removes whichever rule the config holds, a rerun finishes.
                resources.ingress_rule, resources.replaced.ingress_rules = new, list(olds)
                ctx.save()
            return result

        with ctx.tools.recorder.doing(f"replace the rule {first.hostname} → {first.service} with "
                                      f"{hostname} → {service} in ConfigMap {where}, in its place"):
            edited = edit(ctx, replace)
        if edited is None:
            raise Skip(f"ConfigMap {where} not found: cloudflared is not deployed")
        if not edited.as_sent and ingress.find_rule(edited.written, hostname) != service:
            raise written_wrong(ctx, f"does not route {hostname} to {service}")
        resources.ingress_rule, resources.replaced.ingress_rules = new, []
        resources.cloudflared_restart_pending = True
        return f"replaced {first.hostname} → {first.service} with {hostname} → {service} in {where}"


def _replacing(cut_off: list[IngressRule], recorded: IngressRule | None, wanted: tuple[str, str]) -> list[IngressRule]:
    """The rules the config may hold in place of the wanted one: those a replace cut off by a kill started from
    (recorded ahead of its write), then the recorded one."""
    olds = list(cut_off)
    if recorded is not None and recorded not in olds and (recorded.hostname, recorded.service) != wanted:
        olds.append(recorded)
    return olds


def _in_place(text: str, olds: list[IngressRule], hostname: str, service: str) -> tuple[str, bool]:
    """The config with the first of ``olds`` pointed at hostname → service in its place, the others removed."""
    text, changed = ingress.replace_rule(text, olds[0].hostname, hostname, service, old_service=olds[0].service)
    for stale in olds[1:]:
        if not _same_host(stale.hostname, hostname):
            text, removed = ingress.remove_rule(text, stale.hostname, stale.service)
            changed = changed or removed
    return text, changed


class UpdateDnsRoute:
    name = "update-dns-route"

    def skip_reason(self, ctx: Context) -> str | None:
        wanted, recorded = ctx.spec.hosts.external, ctx.resources.dns_route
        if not wanted and not recorded:
            return f"{UNCHANGED} (no hosts.external in the infraspec)"
        # An old route still to remove: the new one may have been recorded ahead of a cloudflared run cut off.
        if wanted and recorded and _same_host(wanted, recorded.hostname) and not ctx.repair \
                and not ctx.resources.replaced.dns_routes:
            return UNCHANGED
        if wanted and ctx.tools.cloudflared.find() is None:
            return "no cloudflared on PATH; route the hostname by hand: cloudflared tunnel route dns"
        return None

    def run(self, ctx: Context) -> str:
        resources, wanted = ctx.resources, ctx.spec.hosts.external
        recorded, said = resources.dns_route, []
        renamed = recorded is not None and not (wanted and _same_host(recorded.hostname, wanted))
        if renamed:  # its CNAME goes once cloudflared serves the new rule
            resources.replaced.dns_routes.append(recorded)
        if wanted:
            resources.replaced.dns_routes = [r for r in resources.replaced.dns_routes if not _same_host(r.hostname, wanted)]
            if renamed:  # recorded before cloudflared runs (same tunnel, same id): teardown after a kill deletes it
                tunnel = ctx.settings.tunnel_name
                resources.dns_route = DnsRoute(wanted, tunnel, recorded.tunnel_id if recorded.tunnel == tunnel else None)
                ctx.save()
            said.append(CreateDnsRoute().run(ctx))  # records the new route
        else:
            resources.dns_route = None
        if renamed:
            said.append(f"the CNAME {recorded.hostname} is deleted by remove-replaced, after cloudflared restarts")
        return "\n".join(said)


class RestartAfterUpdate(RestartCloudflared):
    """restart-cloudflared as forge runs it; with nothing to do, it says so as every update step does."""

    def skip_reason(self, ctx: Context) -> str | None:
        reason = super().skip_reason(ctx)
        return reason if reason is None or UNCHANGED in reason else f"{UNCHANGED} ({reason})"
