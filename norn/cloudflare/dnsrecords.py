"""The tunnel's DNS record through the Cloudflare API: find its zone, check it, delete it.

cloudflared can create a route's CNAME but has no command to delete one. norn
deletes only what is certainly its own: the CNAME at the hostname whose target is
its tunnel, ``<tunnel-id>.cfargotunnel.com``. Anything else is left and reported.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from norn.cloudflare.cfapi import Api, CloudflareError, Unreachable

TUNNEL_DOMAIN = "cfargotunnel.com"
PERMISSION = "Zone.DNS edit"
REFUSED_CODES = (9109, 10000)  # "Unauthorized to access requested resource", "Authentication error"


@dataclass(frozen=True)
class Zone:
    id: str
    name: str


@dataclass(frozen=True)
class Outcome:
    """What happened to the record; ``left`` when it is still there and a person should look."""

    message: str
    left: bool = False


def tunnel_target(tunnel_id: str) -> str:
    return f"{tunnel_id.lower()}.{TUNNEL_DOMAIN}"


def find_zone(api: Api, hostname: str) -> Zone | None:
    """The zone holding ``hostname``: the longest zone name that is a suffix of it.

    Asks for each candidate name from the hostname itself down to its last two
    labels, so the first zone found is the longest and a token that sees only
    its own zones works the same as an account-wide one.
    """
    labels = _name(hostname).split(".")
    for start in range(len(labels) - 1):
        candidate = ".".join(labels[start:])
        zones, _ = api.get("/zones", name=candidate)
        matches = [z for z in zones or [] if isinstance(z, dict) and _name(z.get("name")) == candidate]
        if matches:
            zone = next((z for z in matches if z.get("status") == "active"), matches[0])
            return Zone(str(zone["id"]), candidate)
    return None


def find_cname(api: Api, zone: Zone, hostname: str) -> dict | None:
    """The CNAME record at ``hostname`` in ``zone`` (a name has at most one), or None."""
    records, _ = api.get(f"/zones/{_segment(zone.id)}/dns_records", type="CNAME", name=_name(hostname))
    wanted = _name(hostname)
    for record in records or []:
        if isinstance(record, dict) and record.get("type") == "CNAME" and _name(record.get("name")) == wanted:
            return record
    return None


def remove_cname(api: Api, hostname: str, tunnel_id: str) -> Outcome:
    """Delete the CNAME ``hostname`` → the tunnel, if that is what is there. Raises CloudflareError."""
    hostname, target = _name(hostname), tunnel_target(tunnel_id)
    zone = find_zone(api, hostname)
    if zone is None:
        return Outcome(
            f"no Cloudflare zone the token can see holds {hostname}; delete its CNAME to {target} by hand", left=True
        )
    record = find_cname(api, zone, hostname)
    if record is None:
        return Outcome(f"no CNAME {hostname} in zone {zone.name}; nothing to delete")
    content = _name(record.get("content"))
    if content != target:
        return Outcome(
            f"left the CNAME {hostname} in zone {zone.name} alone: "
            f"it points at {content}, not at norn's tunnel ({target})",
            left=True,
        )
    try:
        api.delete(f"/zones/{_segment(zone.id)}/dns_records/{_segment(str(record['id']))}")
    except CloudflareError as exc:
        if exc.status != 404:  # 404: gone since we looked, which is what we wanted
            raise
    return Outcome(f"deleted the CNAME {hostname} → {target} in zone {zone.name}")


def dns_record_status(hostname: str, tunnel_id: str | None, token: str, base_url: str) -> str:
    """One line on whether ``hostname``'s DNS record exists and points at the tunnel (for ``norn status --live``).

    Never raises for what the API says: a refusal or an unreachable API is the answer.
    """
    api = Api(base_url, token)
    try:
        zone = find_zone(api, hostname)
        if zone is None:
            return f"unknown: no Cloudflare zone the token can see holds {_name(hostname)}"
        record = find_cname(api, zone, hostname)
    except CloudflareError as exc:
        return f"unknown: {explain(exc)}"
    if record is None:
        return f"missing: no CNAME {_name(hostname)} in zone {zone.name}"
    content = _name(record.get("content"))
    if tunnel_id is None:
        return f"present: CNAME {_name(hostname)} → {content} (the tunnel id is unknown, so not compared)"
    if content != tunnel_target(tunnel_id):
        return f"elsewhere: CNAME {_name(hostname)} → {content}, not the tunnel ({tunnel_target(tunnel_id)})"
    return f"ok: CNAME {_name(hostname)} → {content}"


def explain(exc: CloudflareError) -> str:
    """One sentence for a person: what went wrong and, for a refusal, which permission is missing."""
    if isinstance(exc, Unreachable):
        return exc.message
    if exc.status == 403 or set(exc.codes) & set(REFUSED_CODES):
        return (
            f"Cloudflare refused the token with {exc.message}: it needs the {PERMISSION} permission on the zone "
            "(and Zone.Zone read to find it)"
        )
    if exc.status == 429:
        return f"Cloudflare kept rate-limiting norn: {exc.message}"
    return f"the Cloudflare API failed: {exc.message}"


def _name(value: object) -> str:
    """A DNS name as compared: lower case, no trailing dot."""
    return str(value or "").strip().rstrip(".").lower()


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")
