"""The stand-in cloudflared's `tunnel ingress validate`, written from cloudflared's source, not from norn's check.

cloudflared reads the file with yaml.v3 (config/configuration.go ReadConfigFile) and checks the rules in
ingress/ingress.go (ParseIngress, validateIngress, validateHostname), calling Go's net/url, net and regexp
packages. This module walks PyYAML's node tree and answers with cloudflared's own messages:
``ConfigError`` for what fails while the file is read, ``IngressError`` for what ``Validation failed`` on.

The parts, by cloudflared package: ``config.py`` (reading the file), ``origin_service.py`` (each rule's
service), ``hostname_rules.py`` (validateHostname), ``go_regexp.py`` (a path's regexp syntax).
"""

from __future__ import annotations

from standin.config import decode, read_config
from standin.errors import ConfigError, IngressError
from standin.go_regexp import go_regexp_error
from standin.hostname_rules import check_hostname
from standin.origin_service import check_ip_access, check_service

__all__ = ["ConfigError", "IngressError", "decode", "validate"]


def validate(text: str) -> list[str]:
    """Raises ConfigError or IngressError as cloudflared would; returns the unused-key warnings."""
    rules, unused = read_config(text)
    if not rules:
        raise IngressError("The config file doesn't contain any ingress rules")
    for index, (hostname, path, service, bastion, access, ip_access) in enumerate(rules):
        check_service(service, bastion)
        if service == "socks-proxy":
            check_ip_access(ip_access)
        required, team, has_aud = access
        if required and team == "" and has_aud:
            raise IngressError("access.TeamName cannot be blank when access.audTags are present")
        check_hostname(hostname, path, index, len(rules))
        if path:
            problem = go_regexp_error(path)
            if problem:
                raise IngressError(f"Rule #{index + 1} has an invalid regex: error parsing regexp: {problem}")
    return unused
