"""Whose rule is it: the checks that keep norn's config edits off routes that are not its app's.

cloudflared takes the first rule that matches a request (ingress/ingress.go FindMatchingRule), so a rule
norn adds, renames or removes must not take or drop a route someone else set up.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from norn.cloudflare.ingress_edit import IngressError


def dns_name(hostname: str) -> str:
    """A hostname as DNS compares it: case and a trailing dot ignored (one CNAME for all spellings)."""
    return hostname.lower().rstrip(".")


def refuse_clash(rules: list[dict[Any, Any]], hostname: str, service: str, skip: Collection[int] = ()) -> None:
    """A rule for the same DNS name (as spelled anywhere) to another service is someone else's route."""
    for i, rule in enumerate(rules[:-1]):
        spelled, other = rule.get("hostname"), rule.get("service")
        if i in skip or rule.get("path") or not isinstance(spelled, str) or other == service:
            continue
        if dns_name(spelled) == dns_name(hostname):
            written = "" if spelled == hostname else f" (its rule says {spelled})"
            raise IngressError(
                f"{hostname} is already routed to {other} in the cloudflared config{written}",
                hint="Remove that rule first, or pick another hostname.",
            )


def matches(pattern: Any, hostname: str) -> bool:
    """ingress/rule.go Matches and matchHost: no hostname, `*`, the name itself, or a `*.` suffix of it.

    cloudflared compares the strings as written; case and a trailing dot are ignored here too, so that a
    request the edge spells otherwise is counted as matched (norn refuses rather than guesses).
    """
    if pattern is None or pattern in ("", "*"):
        return True
    if not isinstance(pattern, str):
        return False
    want, name = dns_name(pattern), dns_name(hostname)
    return want == name or (want.startswith("*.") and name.endswith(want[1:]))


def refuse_shadowing(rules: list[dict[Any, Any]], first: int, old: str, new: str) -> None:
    """In place, the rule must not come to hide a path rule below it that matches the new name and not the old."""
    for n, rule in enumerate(rules[first + 1 : -1], first + 2):
        if rule.get("path") and matches(rule.get("hostname"), new) and not matches(rule.get("hostname"), old):
            raise IngressError(
                f"rule {n} of the cloudflared config routes {rule.get('hostname')} {rule['path']} to "
                f"{rule.get('service')}; norn's rule for {old}, renamed to {new} in its place above it, would take "
                "those requests",
                hint=f"Move rule {n} above the rule for {old} (cloudflared takes the first rule that matches), "
                "then retry.",
            )


def refuse_others(rules: list[dict[Any, Any]], hits: list[int], hostname: str, service: str) -> None:
    """A rule of `hostname` that routes elsewhere than `service` is someone else's: norn leaves it."""
    for i in hits:
        other = rules[i].get("service")
        if other != service:
            raise IngressError(
                f"{hostname} is routed to {other}, not {service}; norn left that rule in place",
                hint="Remove it by hand if it is really stale.",
            )
