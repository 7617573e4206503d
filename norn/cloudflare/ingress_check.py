"""Pure: would cloudflared run this config? The checks its own validation makes, no more, no fewer.

A malformed rule written into the shared ConfigMap takes down routing for every
app behind the tunnel at the next restart, so norn checks the whole new config
before writing it. The rules are cloudflared's (github.com/cloudflare/cloudflared):
config/configuration.go ReadConfigFile (yaml.v3 into Configuration: a repeated
mapping key anywhere is an error, a scalar is read as its text), then
ingress/ingress.go ParseIngress / validateIngress / validateHostname, and Go's
net/url Parse, net SplitHostPort and regexp/syntax Parse where cloudflared calls
them. cloudflared stops at its first error, so norn reports one problem.

Here: the rules (service, hostname, path). How the YAML is decoded is in
ingress_yaml.py, Go's URL and host:port parsing in gonet.py, the RE2 syntax
check in re2syntax.py.
"""

from __future__ import annotations

import yaml

from norn.cloudflare.gonet import go_atoi, go_split_host_port, go_url_parse
from norn.cloudflare.ingress import yaml_problem
from norn.cloudflare.ingress_yaml import (
    Refused,
    check_access,
    check_ip_rules,
    is_null,
    mapping_of,
    no_repeated_keys,
    origin_request,
    scalar_text,
    yaml_bool,
)
from norn.cloudflare.re2syntax import re2_problem

NULL_TAG = "tag:yaml.org,2002:null"
HELLO_WORLD = ("hello_world", "hello-world")  # ingress/origin_service.go HelloWorldService, HelloWorldFlag


def problems(config_text: str) -> list[str]:
    """What cloudflared would refuse in the config, as a list of one sentence; empty when it would run it."""
    try:
        _check(config_text)
    except Refused as refused:
        return [str(refused)]
    return []


def _check(config_text: str) -> None:
    try:
        root = next(yaml.compose_all(config_text, Loader=yaml.SafeLoader), None)  # yaml.v3 Decode reads one document
    except yaml.YAMLError as exc:
        raise Refused(f"it is not valid YAML: {yaml_problem(exc)}") from None
    except RecursionError:  # PyYAML composes recursively
        raise Refused("it nests too deeply to be read") from None
    no_repeated_keys(root)
    if root is not None and not is_null(root) and not isinstance(root, yaml.MappingNode):
        raise Refused("it is not a YAML mapping")
    top = mapping_of(root)
    defaults = origin_request(top.get("originRequest"), "originRequest")
    defaults_bastion = yaml_bool(defaults.get("bastionMode"), "originRequest.bastionMode")
    rules = top.get("ingress")
    if rules is not None and not is_null(rules) and not isinstance(rules, yaml.SequenceNode):
        raise Refused("`ingress` is not a list of rules")
    if rules is None or is_null(rules) or not rules.value:
        raise Refused("it has no `ingress` rules")  # ErrNoIngressRules
    for n, rule in enumerate(rules.value, 1):
        _check_rule(rule, n, len(rules.value), defaults_bastion)


def _check_rule(node: yaml.Node, n: int, total: int, defaults_bastion: bool) -> None:
    """validateIngress for one rule: its service, its originRequest.access, its hostname, its path."""
    if not is_null(node) and not isinstance(node, yaml.MappingNode):
        raise Refused(f"rule {n} is not a mapping of hostname, path, service")
    fields = mapping_of(node)
    hostname, path, service = (scalar_text(fields.get(key), f"rule {n}: {key}") for key in ("hostname", "path", "service"))
    origin = origin_request(fields.get("originRequest"), f"rule {n}: originRequest")
    own = origin.get("bastionMode")  # ingress/config.go setBastionMode: a rule's own value overrides the default
    bastion = defaults_bastion if own is None or is_null(own) else yaml_bool(own, f"rule {n}: bastionMode")
    problem = service_problem(service, bastion=bastion)
    if problem:
        raise Refused(f"rule {n}: {problem}")
    if service == "socks-proxy":  # validateIngress takes this branch before the bastion one
        check_ip_rules(origin.get("ipRules"), n)
    check_access(origin.get("access"), n)
    problem = hostname_problem(hostname, path, n, total)
    if problem:
        raise Refused(problem)
    if path:
        problem = re2_problem(path)
        if problem:
            raise Refused(f"rule {n}: path {path!r} is not a valid Go (RE2) regular expression: {problem}")


def service_problem(service: str, *, bastion: bool = False) -> str | None:
    """Why validateIngress refuses ``service``, or None: the prefixes and names first, then a URL."""
    if service.startswith(("unix:", "unix+tls:")):
        return None  # "No validation necessary for unix socket filepath services"
    if service.startswith("http_status:"):
        code = go_atoi(service[len("http_status:") :])
        if code is None or not 100 <= code <= 999:
            return f"service {service} is not http_status: and a status code from 100 to 999"
        return None
    if service in (*HELLO_WORLD, "socks-proxy", "bastion") or bastion:
        return None
    return _url_problem(service)


def _url_problem(service: str) -> str | None:
    valid = "SCHEME://HOST[:PORT] without a path, unix:PATH, http_status:NNN, hello_world, bastion or socks-proxy"
    scheme, host, rest, error = go_url_parse(service)
    if error:
        return f"service {service!r} is not a valid URL ({error}); cloudflared takes {valid}"
    if not scheme or not host:
        return f"service {service!r} has no scheme or no host; cloudflared takes {valid}"
    if rest:
        return f"service {service} has a path; cloudflared keeps the request's own path, so drop it"
    return None


def hostname_problem(hostname: str, path: str, n: int, total: int) -> str | None:
    """validateHostname: no port, `*` only first, the last rule and only it matches everything."""
    if go_split_host_port(hostname):
        return f"rule {n}: hostname {hostname} has a port; cloudflared matches hostnames without one"
    if hostname.rfind("*") > 0:
        return f"rule {n}: hostname {hostname} has a `*` after its start; only a leading one works (*.example.com)"
    catch_all = hostname in ("", "*") and not path
    if n == total and not catch_all:
        return f"the last rule ({n}) is not a catch-all (a rule without hostname or path, or hostname `*`)"
    if n < total and catch_all:
        return f"rule {n} matches every hostname, so the rules after it would never match"
    return None

