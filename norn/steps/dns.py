"""create-dns-route / remove-dns-route: cloudflared creates the CNAME, the Cloudflare API deletes it.

remove-dns-route never fails a teardown on a record: a CNAME it cannot delete, or
that a rule not norn's still routes (steps/routed.py), is reported as a warning
naming the record, and the rest of the teardown goes on. Only a cloudflared
ConfigMap it cannot read fails it, before any record is forgotten.
"""

from __future__ import annotations

import uuid

import yaml

from norn.cloudflare import cloudflared
from norn.errors import NornError, StepError
from norn.resources import DnsRoute
from norn.steps.pipeline import Context
from norn.steps.routed import gathered_config, read_config, routed_by_others

TOKEN_HOW = (
    "set CLOUDFLARE_API_TOKEN to an API token with the Zone.DNS edit permission on the zone, "
    "and norn deletes it at teardown"
)


class CreateDnsRoute:
    name = "create-dns-route"

    def skip_reason(self, ctx: Context) -> str | None:
        if not ctx.spec.hosts.external:
            return "no hosts.external in the infraspec"
        if ctx.resources.dns_route:
            return "DNS route recorded as created"
        if ctx.tools.cloudflared.find() is None:
            return "no cloudflared on PATH; route the hostname by hand: cloudflared tunnel route dns"
        return None

    def run(self, ctx: Context) -> str:
        hostname, tunnel = ctx.spec.hosts.external, ctx.settings.tunnel_name
        tool = ctx.tools.cloudflared
        said = tool.route_dns(tool.find(), tunnel, hostname, ctx.settings.cloudflared_timeout)
        routed = cloudflared.routed_name(said)
        if routed is not None and routed.lower() != hostname.lower().rstrip("."):
            raise StepError(
                f"cloudflared routed {routed}, not {hostname}: {hostname} is not in the zone of cloudflared's "
                f"cert.pem, and cloudflared appends that zone to a name from another zone",
                hint=(
                    f"log cloudflared in to {hostname}'s zone (cloudflared tunnel login) or create the CNAME in "
                    f"Cloudflare's dashboard, then rerun norn forge; delete the stray record {routed}"
                ),
            )
        tunnel_id = cloudflared.reported_tunnel_id(said)  # what the CNAME points at, for teardown to recognise it
        ctx.resources.dns_route = DnsRoute(hostname, tunnel, tunnel_id)
        return "\n".join([said or f"routed {hostname} to tunnel {tunnel}", *_unread(hostname, routed, tunnel_id)])


def _unread(hostname: str, routed: str | None, tunnel_id: str | None) -> list[str]:
    """Warnings for what cloudflared's output did not say: a check norn could not make is never skipped silently."""
    warnings = []
    if routed is None:
        warnings.append(
            f"warning: cloudflared did not say which name it routed, so norn could not check that {hostname} "
            "is in the zone of cloudflared's cert.pem; check the CNAME in Cloudflare's dashboard"
        )
    if tunnel_id is None:
        warnings.append(
            "warning: cloudflared did not report the tunnel id; teardown will look it up "
            "(NORN_TUNNEL_ID, the cloudflared config's tunnel:, or cloudflared tunnel info)"
        )
    return warnings


class RemoveDnsRoute:
    name = "remove-dns-route"

    def skip_reason(self, ctx: Context) -> str | None:
        return None if ctx.resources.dns_route or ctx.resources.replaced.dns_routes else "no DNS route recorded"

    def run(self, ctx: Context) -> str:
        resources, said = ctx.resources, []
        hostnames = [route.hostname for route in [resources.dns_route, *resources.replaced.dns_routes] if route]
        # Without a token nothing is deleted, so whose rule routes a name need not be read.
        others = routed_by_others(ctx, hostnames, gathered_config) if ctx.settings.cloudflare_token else {}
        if resources.dns_route:  # forgotten first: a record left behind is warned about, never retried forever
            route, resources.dns_route = resources.dns_route, None
            said.append(remove_unless_routed(ctx, route, others))
        while resources.replaced.dns_routes:  # what an unfinished update replaced
            said.append(remove_unless_routed(ctx, resources.replaced.dns_routes.pop(0), others))
        return "\n".join(said)


def remove_unless_routed(ctx: Context, route: DnsRoute, others: dict[str, str]) -> str:
    """remove_route, unless ``others`` (routed_by_others) has the hostname: its CNAME is then kept for that rule."""
    service = others.get(route.hostname)
    if service is None:
        return remove_route(ctx, route)
    why = f"the cloudflared config still routes it to {service}, with a rule that is not norn's"
    ctx.tools.recorder.keep(f"DNS record {route.hostname} → tunnel {route.tunnel}", why,
                            f"keep the CNAME {route.hostname}: {why}")
    return f"warning: kept the CNAME {route.hostname}: {why} (no longer norn's to delete)"


def remove_route(ctx: Context, route: DnsRoute) -> str:
    """Delete the CNAME of ``route`` through the Cloudflare API; without a token (or the tunnel id), warn."""
    hostname, token = route.hostname, ctx.settings.cloudflare_token
    if not token:
        ctx.tools.recorder.keep(
            f"DNS record {hostname} → tunnel {route.tunnel}", "no CLOUDFLARE_API_TOKEN to delete it",
            f"warn: without CLOUDFLARE_API_TOKEN norn cannot delete DNS records; delete the CNAME {hostname} by hand",
        )
        return (
            f"warning: no CLOUDFLARE_API_TOKEN, so the CNAME {hostname} (to tunnel {route.tunnel}) is left; "
            f"delete it in Cloudflare's dashboard, or {TOKEN_HOW}"
        )
    tunnel_id, why = _tunnel_id(ctx, route)
    if tunnel_id is None:
        return (
            f"warning: left the CNAME {hostname}: norn cannot tell its tunnel's id ({why}); "
            "set NORN_TUNNEL_ID to the tunnel's UUID, or delete the record in Cloudflare's dashboard"
        )
    from norn.cloudflare import (
        dnsrecords,  # the HTTP client is loaded only when a record is to be deleted
    )
    from norn.cloudflare.cfapi import CloudflareError

    api = ctx.tools.cloudflare_api(ctx.settings.cloudflare_base_url, token)
    try:
        with ctx.tools.recorder.doing(f"delete the CNAME {hostname} → {dnsrecords.tunnel_target(tunnel_id)} "
                                      "through the Cloudflare API"):
            outcome = dnsrecords.remove_cname(api, hostname, tunnel_id)
    except CloudflareError as exc:
        return (
            f"warning: could not delete the CNAME {hostname} → {dnsrecords.tunnel_target(tunnel_id)}: "
            f"{dnsrecords.explain(exc)}; delete it in Cloudflare's dashboard"
        )
    return f"warning: {outcome.message}" if outcome.left else outcome.message


def _tunnel_id(ctx: Context, route: DnsRoute) -> tuple[str | None, str]:
    """norn's tunnel id: NORN_TUNNEL_ID, the one cloudflared reported at forge, the cloudflared
    config's ``tunnel:`` when it is a UUID, else ``cloudflared tunnel info``. (id, why not)."""
    if ctx.settings.tunnel_id:
        return ctx.settings.tunnel_id, ""
    if route.tunnel_id:
        return route.tunnel_id, ""
    configured = _configured_tunnel(ctx)
    if configured:
        return configured, ""
    executable = ctx.tools.cloudflared.find()
    if executable is None:
        return None, "no NORN_TUNNEL_ID, no tunnel UUID in the cloudflared config, no cloudflared on PATH"
    try:
        return ctx.tools.cloudflared.tunnel_id(executable, route.tunnel, ctx.settings.cloudflared_timeout), ""
    except NornError as exc:
        return None, f"cloudflared tunnel info: {exc.message}"


def _configured_tunnel(ctx: Context) -> str | None:
    """The ``tunnel:`` of the cloudflared ConfigMap's config when it is a UUID (it may be a name)."""
    try:
        config = yaml.safe_load(read_config(ctx) or "")
    except (NornError, yaml.YAMLError):
        return None
    try:
        return str(uuid.UUID(str(config.get("tunnel")))) if isinstance(config, dict) else None
    except ValueError:
        return None
