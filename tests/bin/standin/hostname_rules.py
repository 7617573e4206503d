"""ingress/ingress.go validateHostname: no port, one leading wildcard, and a last rule that matches everything."""

from __future__ import annotations

import re

from standin.errors import IngressError


def check_hostname(hostname: str, path: str, index: int, total: int) -> None:
    if splits_into_host_and_port(hostname):
        raise IngressError("Hostname cannot contain a port")
    if "*" in hostname[1:]:
        raise IngressError(
            'Hostname patterns can have at most one wildcard character ("*") and it can only be used for '
            'subdomains, e.g. "*.example.com"'
        )
    everything = hostname in ("", "*") and path == ""
    if index == total - 1 and not everything:
        raise IngressError(
            "The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)"
        )
    if index < total - 1 and everything:
        raise IngressError(
            f"Rule #{index + 1} is matching the hostname '{hostname}', but this will match every hostname, "
            "meaning the rules which follow it will never be triggered."
        )


def splits_into_host_and_port(text: str) -> bool:
    """net.SplitHostPort succeeds for host:port (host without `:`) and [anything]:port, brackets used once."""
    bracketed = re.fullmatch(r"\[([^\[\]]*)\]:([^\[\]:]*)", text)
    if bracketed:
        return True
    if text.startswith("["):
        return False
    plain = re.fullmatch(r"([^:\[\]]*):([^:\[\]]*)", text)
    return plain is not None
