"""cloudflared's config package: the file read with yaml.v3 (config/configuration.go ReadConfigFile) into
config.UnvalidatedIngressRule and config.OriginRequestConfig, decoded field by field into their Go types.

It walks PyYAML's node tree; what fails here is a ``ConfigError`` ("error parsing YAML in config file").
"""

from __future__ import annotations

import re

import yaml

from standin.errors import ConfigError

RULE_FIELDS = ("hostname", "path", "service", "originRequest")
TRUE_WORDS = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON"}
FALSE_WORDS = {"n", "N", "no", "No", "NO", "off", "Off", "OFF"}


def decode(text: str):
    """The first YAML document as nodes, refusing any mapping that repeats a key's text (yaml.v3 uniqueKeys)."""
    try:
        documents = yaml.compose_all(text, Loader=yaml.SafeLoader)
        root = next(documents, None)
    except yaml.YAMLError as exc:
        raise ConfigError(f"yaml: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise ConfigError("yaml: nested too deeply") from None
    pending, done = [root], set()
    while pending:
        node = pending.pop()
        if node is None or id(node) in done:
            continue
        done.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            first_line: dict = {}
            for key, value in node.value:
                text_of_key = (type(key).__name__, key.value if isinstance(key, yaml.ScalarNode) else "")
                if text_of_key in first_line:
                    raise ConfigError(
                        f"yaml: unmarshal errors:\n  line {key.start_mark.line + 1}: mapping key "
                        f'"{key.value}" already defined at line {first_line[text_of_key]}'
                    )
                first_line[text_of_key] = key.start_mark.line + 1
                pending.append(value)
    return root


def null(node) -> bool:
    return node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"))


def fields(node, into: str) -> dict:
    if null(node):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"yaml: unmarshal errors:\n  cannot unmarshal {kind(node)} into {into}")
    return {key.value: value for key, value in node.value}


def kind(node) -> str:
    return {"ScalarNode": "!!str", "SequenceNode": "!!seq", "MappingNode": "!!map"}[type(node).__name__]


def string(node) -> str:
    if null(node):
        return ""
    if not isinstance(node, yaml.ScalarNode):
        raise ConfigError(f"yaml: unmarshal errors:\n  cannot unmarshal {kind(node)} into string")
    return node.value


def boolean(node) -> bool:
    if null(node):
        return False
    if isinstance(node, yaml.ScalarNode):
        if node.style is None and node.value in ("true", "True", "TRUE", "false", "False", "FALSE"):
            return node.value.lower() == "true"
        if node.value in TRUE_WORDS | FALSE_WORDS:
            return node.value in TRUE_WORDS
    raise ConfigError(f"yaml: unmarshal errors:\n  cannot unmarshal `{getattr(node, 'value', '')}` into bool")


def read_config(text: str) -> tuple[list, list[str]]:
    """(rules as (hostname, path, service, bastion, access, ip rules), unused keys)."""
    root = decode(text)
    top = fields(root, "config.configFileSettings")
    global_origin = origin_request(top.get("originRequest"))
    global_bastion = boolean(global_origin.get("bastionMode"))
    listed = top.get("ingress")
    if not null(listed) and not isinstance(listed, yaml.SequenceNode):
        into = "[]config.UnvalidatedIngressRule"
        raise ConfigError(f"yaml: unmarshal errors:\n  cannot unmarshal {kind(listed)} into {into}")
    rules, unused = [], []
    for item in [] if null(listed) else listed.value:
        rule = fields(item, "config.UnvalidatedIngressRule")
        unknown = [name for name in rule if name not in RULE_FIELDS]
        unused += [f"field {name} not found in type config.UnvalidatedIngressRule" for name in unknown]
        origin = origin_request(rule.get("originRequest"))
        access = fields(origin.get("access"), "config.AccessConfig")
        aud = access.get("audTag")
        access_rule = (boolean(access.get("required")), string(access.get("teamName")),
                       isinstance(aud, yaml.SequenceNode) and len(aud.value) > 0)
        own = origin.get("bastionMode")  # a rule's own bastionMode, when set, overrides the global one
        bastion = global_bastion if null(own) else boolean(own)
        rules.append((string(rule.get("hostname")), string(rule.get("path")), string(rule.get("service")),
                      bastion, access_rule, ip_rules(origin.get("ipRules"))))
    return rules, unused

DURATIONS = ("connectTimeout", "tlsTimeout", "tcpKeepAlive", "keepAliveTimeout")
BOOLS = ("noHappyEyeballs", "matchSNItoHost", "noTLSVerify", "disableChunkedEncoding", "bastionMode", "http2Origin")
STRINGS = ("httpHostHeader", "originServerName", "caPool", "proxyAddress", "proxyType")
GO_DURATION = re.compile(r"[-+]?(0|((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)")


def origin_request(node) -> dict:
    """config.OriginRequestConfig decoded field by field into its Go types."""
    origin = fields(node, "config.OriginRequestConfig")
    for name, value in origin.items():
        if name in DURATIONS:
            duration(value)
        elif name in BOOLS:
            boolean(value)
        elif name == "keepAliveConnections":
            whole_number(value, signed=True)
        elif name == "proxyPort":
            whole_number(value, signed=False)
        elif name in STRINGS:
            string(value)
    access = fields(origin.get("access"), "config.AccessConfig")
    boolean(access.get("required"))
    string(access.get("teamName"))
    string(access.get("environment"))
    aud = access.get("audTag")
    if not null(aud):
        if not isinstance(aud, yaml.SequenceNode):
            raise ConfigError(f"yaml: unmarshal errors:\n  cannot unmarshal {kind(aud)} into []string")
        for tag in aud.value:
            string(tag)
    ip_rules(origin.get("ipRules"))
    return origin


def number_node(node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.style is None and node.tag.rsplit(":", 1)[-1] in ("int", "float")


def duration(node) -> None:
    """CustomDuration.UnmarshalYAML into time.Duration: a string for time.ParseDuration, not a number."""
    if null(node):
        return
    if number_node(node) or not isinstance(node, yaml.ScalarNode) or not GO_DURATION.fullmatch(node.value):
        raise ConfigError(f"yaml: unmarshal errors:\n  cannot unmarshal `{getattr(node, 'value', '')}` into time.Duration")


def whole_number(node, signed: bool) -> int:
    """A Go int or uint (64 bits) from a plain YAML int or float scalar; a float is truncated, as yaml.v3 does."""
    if null(node):
        return 0
    try:
        value = yaml.safe_load(node.value) if number_node(node) and ":" not in node.value else None
        value = int(value) if isinstance(value, (int, float)) else None
    except (OverflowError, ValueError):  # .inf, .nan
        value = None
    fits = value is not None and (-(2**63) <= value < 2**63 if signed else 0 <= value < 2**64)
    if not fits:
        into = "int" if signed else "uint"
        raise ConfigError(f"yaml: unmarshal errors:\n  cannot unmarshal `{getattr(node, 'value', '')}` into {into}")
    return value


def ip_rules(node) -> list:
    """[]config.IngressIPRule as (prefix or None, ports)."""
    if null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise ConfigError(f"yaml: unmarshal errors:\n  cannot unmarshal {kind(node)} into []config.IngressIPRule")
    found = []
    for item in node.value:
        rule = fields(item, "config.IngressIPRule")
        boolean(rule.get("allow"))
        ports = rule.get("ports")
        if not null(ports) and not isinstance(ports, yaml.SequenceNode):
            raise ConfigError(f"yaml: unmarshal errors:\n  cannot unmarshal {kind(ports)} into []int")
        numbers = [whole_number(port, signed=True) for port in ([] if null(ports) else ports.value)]
        prefix = None if null(rule.get("prefix")) else string(rule.get("prefix"))
        found.append((prefix, numbers))
    return found
