"""Pure: would cloudflared run this config? The checks it makes on its ingress rules.

A malformed rule written into the shared ConfigMap takes down routing for every
app behind the tunnel at the next restart, so norn checks the whole new config
before writing it. The rules follow cloudflared's own validation (its
``ingress validate``) and its documented service forms; where cloudflared is more
lenient than its documentation (any URL scheme is taken as raw TCP, so a typo
like ``htp://`` would silently stop serving HTTP), norn keeps to the documented
forms.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import yaml

from norn.ingress import yaml_problem

# Documented service URL schemes: HTTP(S) and websockets, then the TCP-over-websocket kinds.
SCHEMES = ("http", "https", "ws", "wss", "tcp", "ssh", "rdp", "smb")
NAMED_SERVICES = ("hello_world", "hello-world", "helloworld", "bastion", "socks-proxy")
SOCKET_PREFIXES = ("unix:", "unix+tls:")
STATUS_PREFIX = "http_status:"


def problems(config_text: str) -> list[str]:
    """What is wrong with the config's ingress rules, one sentence each; empty when nothing is."""
    try:
        data = yaml.safe_load(config_text)
    except yaml.YAMLError as exc:
        return [f"it is not valid YAML: {yaml_problem(exc)}"]
    if not isinstance(data, dict):
        return ["it is not a YAML mapping"]
    rules = data.get("ingress")
    if not isinstance(rules, list) or not rules:
        return ["`ingress` is not a list of rules" if "ingress" in data else "it has no `ingress` rules"]
    found: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    last = len(rules)
    for n, rule in enumerate(rules, 1):
        if not isinstance(rule, dict):
            found.append(f"rule {n} is not a mapping")
            continue
        hostname, path = rule.get("hostname"), rule.get("path")
        found += [f"rule {n}: {p}" for p in _rule_problems(rule, hostname, path)]
        catch_all = hostname in (None, "", "*") and not path
        if n == last and not catch_all:
            found.append(f"the last rule ({n}) is not a catch-all (a rule without hostname or path)")
        elif n < last and catch_all:
            found.append(f"rule {n} has no hostname: it matches everything, so the rules after it never match")
        if isinstance(hostname, str) and hostname and not catch_all:
            key = (hostname.lower(), str(path or ""))
            if key in seen:
                found.append(f"rule {n} repeats the hostname {hostname} of rule {seen[key]}, so it never matches")
            seen.setdefault(key, n)
    return found


def _rule_problems(rule: dict[Any, Any], hostname: Any, path: Any) -> list[str]:
    found = []
    if hostname is not None and not isinstance(hostname, str):
        found.append(f"hostname {hostname!r} is not a string")
    elif hostname:
        found += hostname_problems(hostname)
    if path is not None and not isinstance(path, str):
        found.append(f"path {path!r} is not a string")
    bastion = isinstance(rule.get("originRequest"), dict) and rule["originRequest"].get("bastionMode") is True
    problem = None if bastion else service_problem(rule.get("service"))
    return found + ([problem] if problem else [])


def hostname_problems(hostname: str) -> list[str]:
    """cloudflared's hostname rules: no port (one `:` is read as one), and `*` only first, as in *.example.com."""
    found = []
    if hostname.count(":") == 1:
        found.append(f"hostname {hostname} has a port; cloudflared matches hostnames without one")
    if "*" in hostname[1:]:
        found.append(f"hostname {hostname} has a `*` after its start; only a leading one works (*.example.com)")
    return found


def service_problem(service: Any) -> str | None:
    """Why cloudflared would not take ``service`` as a rule's origin, or None when it would."""
    if not isinstance(service, str) or not service.strip():
        return "it has no service"
    if service in NAMED_SERVICES:
        return None
    if service.startswith(SOCKET_PREFIXES):
        return None if service.split(":", 1)[1] else f"service {service} names no socket path"
    if service.startswith(STATUS_PREFIX):
        code = service[len(STATUS_PREFIX) :]
        ok = len(code) == 3 and code.isdigit() and 100 <= int(code) <= 599
        return None if ok else f"service {service} is not http_status: and an HTTP status code (100-599)"
    try:
        url = urllib.parse.urlsplit(service)
        url.port  # raises ValueError on a port that is not a number in range
    except ValueError:
        return f"service {service} is not a valid URL"
    if url.scheme not in SCHEMES:
        return (
            f"service {service} is not a form cloudflared accepts: SCHEME://host:port with SCHEME one of "
            f"{', '.join(SCHEMES)}; unix:/path; unix+tls:/path; http_status:NNN; {'; '.join(NAMED_SERVICES)}"
        )
    if not url.hostname:
        return f"service {service} has no host"
    if url.path:
        return f"service {service} has a path ({url.path}); cloudflared keeps the request's own path, so drop it"
    return None
