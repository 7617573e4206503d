"""create-dns-route / remove-dns-route, through the cloudflared binary."""

from __future__ import annotations

from norn import cloudflared
from norn.pipeline import Context


class CreateDnsRoute:
    name = "create-dns-route"

    def skip_reason(self, ctx: Context) -> str | None:
        if not ctx.spec.hosts.external:
            return "no hosts.external in the infraspec"
        if ctx.resources.get("dnsRoute"):
            return "DNS route recorded as created"
        if cloudflared.find() is None:
            return "no cloudflared on PATH; route the hostname by hand: cloudflared tunnel route dns"
        return None

    def run(self, ctx: Context) -> str:
        hostname, tunnel = ctx.spec.hosts.external, ctx.settings.tunnel_name
        said = cloudflared.route_dns(cloudflared.find(), tunnel, hostname, ctx.settings.cloudflared_timeout)
        ctx.resources["dnsRoute"] = {"hostname": hostname, "tunnel": tunnel}
        return said or f"routed {hostname} to tunnel {tunnel}"


class RemoveDnsRoute:
    name = "remove-dns-route"

    def skip_reason(self, ctx: Context) -> str | None:
        return None if ctx.resources.get("dnsRoute") else "no DNS route recorded"

    def run(self, ctx: Context) -> str:
        route = ctx.resources.pop("dnsRoute")
        return (
            f"warning: cloudflared cannot delete DNS records; delete the CNAME {route['hostname']} "
            f"(pointing at tunnel {route['tunnel']}) in Cloudflare's dashboard"
        )
