"""yaml.v3 as cloudflared decodes its config file: repeated keys, scalars as text, Go's types of originRequest.

cloudflared's config/configuration.go ReadConfigFile decodes with yaml.v3 into
its Configuration: a repeated mapping key anywhere is an error, a scalar is
read as its text, and each originRequest field must decode as its Go type.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import yaml

NULL_TAG = "tag:yaml.org,2002:null"


class Refused(Exception):
    """What cloudflared would refuse, in one sentence."""


def no_repeated_keys(root: yaml.Node | None) -> None:
    """yaml.v3 decoder.mapping: a key repeated in any mapping (same kind, same text) is an error."""
    pending, visited = [root], set()
    while pending:
        node = pending.pop()
        if id(node) in visited:
            continue  # an alias: its node is checked once (and an alias bomb is walked once)
        visited.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, Any], int] = {}
            for key, value in node.value:
                ident = (key.id, key.value if isinstance(key, yaml.ScalarNode) else "")
                if ident in seen:
                    line = key.start_mark.line + 1
                    raise Refused(f"line {line}: mapping key {key.value!r} already defined at line {seen[ident]}")
                seen[ident] = key.start_mark.line + 1
                pending.append(value)


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


def mapping_of(node: yaml.Node | None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}


def scalar_text(node: yaml.Node | None, what: str) -> str:
    """A string field: yaml.v3 takes any scalar's text, null as ""; a list or mapping is an error."""
    if node is None or is_null(node):
        return ""
    if not isinstance(node, yaml.ScalarNode):
        raise Refused(f"{what} is a {'list' if isinstance(node, yaml.SequenceNode) else 'mapping'}, not a string")
    return node.value


_ORIGIN_FIELDS = {  # config/configuration.go OriginRequestConfig: the Go type of each field
    **dict.fromkeys(("connectTimeout", "tlsTimeout", "tcpKeepAlive", "keepAliveTimeout"), "duration"),
    **dict.fromkeys(
        ("noHappyEyeballs", "matchSNItoHost", "noTLSVerify", "disableChunkedEncoding", "bastionMode", "http2Origin"),
        "bool",
    ),
    "keepAliveConnections": "int",
    "proxyPort": "uint",
    **dict.fromkeys(("httpHostHeader", "originServerName", "caPool", "proxyAddress", "proxyType"), "string"),
}


def origin_request(node: yaml.Node | None, what: str) -> dict[str, yaml.Node]:
    """An originRequest mapping whose fields yaml.v3 can decode into their Go types; its fields."""
    if node is None or is_null(node):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise Refused(f"{what} is not a mapping")
    fields = mapping_of(node)
    for key, value in fields.items():
        kind = _ORIGIN_FIELDS.get(key)
        where = f"{what}.{key}"
        if kind == "duration":
            _duration(value, where)
        elif kind == "bool":
            yaml_bool(value, where)
        elif kind in ("int", "uint"):
            _integer(value, where, unsigned=kind == "uint")
        elif kind == "string":
            scalar_text(value, where)
    _ip_rules(fields.get("ipRules"), f"{what}.ipRules")
    _access_fields(fields.get("access"), f"{what}.access")
    return fields


_INT_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_DURATION = re.compile(r"[-+]?(?:0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+)")
_UNIT_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def _duration(node: yaml.Node, what: str) -> None:
    """A time.Duration: yaml.v3 takes only a string time.ParseDuration reads ("30s", "1m30s"), never a number."""
    if is_null(node):
        return
    number = isinstance(node, yaml.ScalarNode) and node.style is None and node.tag in _INT_TAGS
    if not isinstance(node, yaml.ScalarNode) or number or not _DURATION.fullmatch(node.value):
        raise Refused(f"{what} {getattr(node, 'value', '')!r} is not a duration such as 30s or 1m30s")
    parts = re.findall(r"([0-9.]+)(ns|us|µs|μs|ms|s|m|h)", node.value)
    if sum(float(amount) * _UNIT_NS[unit] for amount, unit in parts) > 2**63 - 1:
        raise Refused(f"{what} {node.value!r} is longer than a Go duration can be")


def _integer(node: yaml.Node, what: str, *, unsigned: bool) -> int:
    """An int64 or uint64 field: a plain YAML number in range (yaml.v3 truncates a float); a quoted one is a string."""
    if is_null(node):
        return 0
    number = isinstance(node, yaml.ScalarNode) and node.style is None and node.tag in _INT_TAGS
    value = yaml.safe_load(node.value) if number and ":" not in node.value else None
    low, high = (0, 2**64) if unsigned else (-(2**63), 2**63)
    if not isinstance(value, (int, float)) or not low <= value < high:  # also refuses .inf and .nan
        raise Refused(f"{what} {getattr(node, 'value', '')!r} is not a{' non-negative' if unsigned else 'n'} integer")
    return int(value)


def _ip_rules(node: yaml.Node | None, what: str) -> list[tuple[str | None, list[int]]]:
    """ipRules: a list of {prefix: string, ports: [int], allow: bool}; (prefix or None, ports) of each."""
    if node is None or is_null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise Refused(f"{what} is not a list")
    found = []
    for item in node.value:
        if not is_null(item) and not isinstance(item, yaml.MappingNode):
            raise Refused(f"{what}: an item is not a mapping of prefix, ports, allow")
        fields = mapping_of(item)
        prefix = fields.get("prefix")
        yaml_bool(fields.get("allow"), f"{what}.allow")
        ports = fields.get("ports")
        if ports is not None and not is_null(ports) and not isinstance(ports, yaml.SequenceNode):
            raise Refused(f"{what}.ports is not a list")
        listed = [] if ports is None or is_null(ports) else ports.value
        numbers = [_integer(port, f"{what}.ports", unsigned=False) for port in listed]
        found.append((None if prefix is None or is_null(prefix) else scalar_text(prefix, f"{what}.prefix"), numbers))
    return found


def check_ip_rules(node: yaml.Node | None, n: int) -> None:
    """ipaccess.NewRuleByCIDR for a socks-proxy rule: a CIDR prefix, ports from 1 to 65535."""
    for prefix, ports in _ip_rules(node, f"rule {n}: originRequest.ipRules"):
        if not prefix:
            raise Refused(f"rule {n}: unable to create ip rule for socks-proxy: no prefix provided")
        if not _go_cidr(prefix):
            raise Refused(f"rule {n}: unable to create ip rule for socks-proxy: unable to parse cidr: {prefix}")
        bad = next((port for port in ports if not 1 <= port <= 65535), None)
        if bad is not None:
            raise Refused(f"rule {n}: unable to create ip rule for socks-proxy: invalid port {bad}, 1 to 65535")


def _go_cidr(text: str) -> bool:
    """net.ParseCIDR: an IPv4 or IPv6 address, `/`, a decimal prefix length that fits."""
    address, slash, length = text.partition("/")
    if not slash or not re.fullmatch(r"[0-9]+", length):
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return int(length) <= ip.max_prefixlen


def yaml_bool(node: yaml.Node | None, what: str) -> bool:
    """A bool as yaml.v3 decodes it: plain true/false in three spellings, or a YAML 1.1 word (yes, on, n...)."""
    if node is None or is_null(node):
        return False
    if isinstance(node, yaml.ScalarNode):
        if node.style is None and node.value in _PLAIN_BOOLS:
            return _PLAIN_BOOLS[node.value]
        if node.value in _WORDS:
            return _WORDS[node.value]
    raise Refused(f"{what} {getattr(node, 'value', '')!r} is not true or false")


_PLAIN_BOOLS = {**dict.fromkeys(("true", "True", "TRUE"), True), **dict.fromkeys(("false", "False", "FALSE"), False)}
_WORDS = {  # yaml.v3 decode.go scalar(), case reflect.Bool: "compatibility with the 1.1 spec"
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "off", "Off", "OFF"), False),
}


def _access_fields(node: yaml.Node | None, what: str) -> None:
    """AccessConfig: required bool, teamName and environment strings, audTag a list of strings."""
    if node is None or is_null(node):
        return
    if not isinstance(node, yaml.MappingNode):
        raise Refused(f"{what} is not a mapping")
    fields = mapping_of(node)
    yaml_bool(fields.get("required"), f"{what}.required")
    for key in ("teamName", "environment"):
        scalar_text(fields.get(key), f"{what}.{key}")
    aud = fields.get("audTag")
    if aud is not None and not is_null(aud):
        if not isinstance(aud, yaml.SequenceNode):
            raise Refused(f"{what}.audTag is not a list")
        for tag in aud.value:
            scalar_text(tag, f"{what}.audTag")


def check_access(node: yaml.Node | None, n: int) -> None:
    """validateAccessConfiguration: a required access check with an audTag needs a teamName."""
    access = mapping_of(node)
    required = yaml_bool(access.get("required"), f"rule {n}: originRequest.access.required")
    team = scalar_text(access.get("teamName"), f"rule {n}: originRequest.access.teamName")
    aud = access.get("audTag")
    if required and not team and isinstance(aud, yaml.SequenceNode) and aud.value:
        raise Refused(f"rule {n}: originRequest.access.teamName cannot be blank when access.audTag is set")
