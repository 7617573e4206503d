"""Whose route a CNAME serves: the rules of the live cloudflared config that are not norn's app's.

A request reaches the tunnel through its hostname's CNAME, then goes to the first rule whose hostname
matches (cloudflared ingress/ingress.go FindMatchingRule, ingress/rule.go Matches), path rules too. So
while a rule someone else set up routes the hostname, its CNAME is theirs to keep: remove-dns-route and
remove-replaced leave it. A rule for any name (none, ``*``, ``*.zone``) needs no one name's CNAME.
"""

from __future__ import annotations

from typing import Callable

from norn.cloudflare import ingress
from norn.cloudflare.ingress import IngressError
from norn.cloudflare.ingress_owners import dns_name
from norn.errors import NornError
from norn.kube.kinds import CONFIGMAP
from norn.settings import CLOUDFLARED_CONFIG_KEY
from norn.steps.pipeline import Context
from norn.steps.tunnel import READ

UNPARSED = "a service norn cannot tell (the config does not parse)"


def read_config(ctx: Context) -> str | None:
    """The cloudflared config's text; None when there is no ConfigMap or no config in it."""
    settings = ctx.settings
    configmap = ctx.cluster.get(CONFIGMAP, settings.cloudflared_namespace, settings.cloudflared_configmap)
    return ((configmap or {}).get("data") or {}).get(CLOUDFLARED_CONFIG_KEY)


def gathered_config(ctx: Context) -> str | None:
    """read_config, made once for every app of a many-app run that reads it (the READ point)."""
    return ctx.tools.tunnel.gather(READ, ctx, None, _read_once)


def _read_once(batch: list[tuple[Context, None]]) -> list:
    try:
        result: object = read_config(batch[0][0])
    except NornError as exc:
        result = exc
    return [result] * len(batch)


def routed_by_others(ctx: Context, hostnames: list[str],
                     read: Callable[[Context], str | None] = read_config) -> dict[str, str]:
    """The hostnames of ``hostnames`` that a rule not norn's routes, with that rule's service.

    norn's rules are the app's recorded ones (the rule, and those an update was replacing): a path-less
    rule of the hostname to a recorded service, which unpatch-cloudflared removes. One read of the config
    (``read``), only when there are hostnames to ask about; a config that does not parse counts every
    hostname as routed (a record is kept rather than a route broken); a read that fails raises, before
    anything is forgotten.
    """
    if not hostnames:
        return {}
    text = read(ctx)
    if text is None:
        return {}  # no cloudflared config: nothing routes through the tunnel
    mine = [rule for rule in [ctx.resources.ingress_rule, *ctx.resources.replaced.ingress_rules] if rule]
    try:
        found = {hostname: ingress.routed_elsewhere(text, hostname, _services(mine, hostname)) for hostname in hostnames}
    except IngressError:
        return dict.fromkeys(hostnames, UNPARSED)
    return {hostname: service for hostname, service in found.items() if service is not None}


def _services(mine: list, hostname: str) -> list[str]:
    """The services norn recorded for ``hostname`` (as DNS compares names)."""
    return [rule.service for rule in mine if dns_name(rule.hostname) == dns_name(hostname)]
