"""Pure: would cloudflared run this config? The checks its own validation makes, no more, no fewer.

A malformed rule written into the shared ConfigMap takes down routing for every
app behind the tunnel at the next restart, so norn checks the whole new config
before writing it. The rules are cloudflared's (github.com/cloudflare/cloudflared):
config/configuration.go ReadConfigFile (yaml.v3 into Configuration: a repeated
mapping key anywhere is an error, a scalar is read as its text), then
ingress/ingress.go ParseIngress / validateIngress / validateHostname, and Go's
net/url Parse, net SplitHostPort and regexp/syntax Parse where cloudflared calls
them. cloudflared stops at its first error, so norn reports one problem.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import yaml

from norn.cloudflare.ingress import yaml_problem

NULL_TAG = "tag:yaml.org,2002:null"
HELLO_WORLD = ("hello_world", "hello-world")  # ingress/origin_service.go HelloWorldService, HelloWorldFlag


class Refused(Exception):
    """What cloudflared would refuse, in one sentence."""


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
    _no_repeated_keys(root)
    if root is not None and not _is_null(root) and not isinstance(root, yaml.MappingNode):
        raise Refused("it is not a YAML mapping")
    top = _mapping(root)
    defaults = _origin_request(top.get("originRequest"), "originRequest")
    defaults_bastion = _yaml_bool(defaults.get("bastionMode"), "originRequest.bastionMode")
    rules = top.get("ingress")
    if rules is not None and not _is_null(rules) and not isinstance(rules, yaml.SequenceNode):
        raise Refused("`ingress` is not a list of rules")
    if rules is None or _is_null(rules) or not rules.value:
        raise Refused("it has no `ingress` rules")  # ErrNoIngressRules
    for n, rule in enumerate(rules.value, 1):
        _check_rule(rule, n, len(rules.value), defaults_bastion)


def _check_rule(node: yaml.Node, n: int, total: int, defaults_bastion: bool) -> None:
    """validateIngress for one rule: its service, its originRequest.access, its hostname, its path."""
    if not _is_null(node) and not isinstance(node, yaml.MappingNode):
        raise Refused(f"rule {n} is not a mapping of hostname, path, service")
    fields = _mapping(node)
    hostname, path, service = (_text(fields.get(key), f"rule {n}: {key}") for key in ("hostname", "path", "service"))
    origin = _origin_request(fields.get("originRequest"), f"rule {n}: originRequest")
    own = origin.get("bastionMode")  # ingress/config.go setBastionMode: a rule's own value overrides the default
    bastion = defaults_bastion if own is None or _is_null(own) else _yaml_bool(own, f"rule {n}: bastionMode")
    problem = service_problem(service, bastion=bastion)
    if problem:
        raise Refused(f"rule {n}: {problem}")
    if service == "socks-proxy":  # validateIngress takes this branch before the bastion one
        _check_ip_rules(origin.get("ipRules"), n)
    _check_access(origin.get("access"), n)
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
        code = _go_atoi(service[len("http_status:") :])
        if code is None or not 100 <= code <= 999:
            return f"service {service} is not http_status: and a status code from 100 to 999"
        return None
    if service in (*HELLO_WORLD, "socks-proxy", "bastion") or bastion:
        return None
    return _url_problem(service)


def _url_problem(service: str) -> str | None:
    valid = "SCHEME://HOST[:PORT] without a path, unix:PATH, http_status:NNN, hello_world, bastion or socks-proxy"
    scheme, host, rest, error = _go_url_parse(service)
    if error:
        return f"service {service!r} is not a valid URL ({error}); cloudflared takes {valid}"
    if not scheme or not host:
        return f"service {service!r} has no scheme or no host; cloudflared takes {valid}"
    if rest:
        return f"service {service} has a path; cloudflared keeps the request's own path, so drop it"
    return None


def hostname_problem(hostname: str, path: str, n: int, total: int) -> str | None:
    """validateHostname: no port, `*` only first, the last rule and only it matches everything."""
    if _go_split_host_port(hostname):
        return f"rule {n}: hostname {hostname} has a port; cloudflared matches hostnames without one"
    if hostname.rfind("*") > 0:
        return f"rule {n}: hostname {hostname} has a `*` after its start; only a leading one works (*.example.com)"
    catch_all = hostname in ("", "*") and not path
    if n == total and not catch_all:
        return f"the last rule ({n}) is not a catch-all (a rule without hostname or path, or hostname `*`)"
    if n < total and catch_all:
        return f"rule {n} matches every hostname, so the rules after it would never match"
    return None


# --- yaml.v3 as cloudflared decodes the file -----------------------------------------


def _no_repeated_keys(root: yaml.Node | None) -> None:
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


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


def _mapping(node: yaml.Node | None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}


def _text(node: yaml.Node | None, what: str) -> str:
    """A string field: yaml.v3 takes any scalar's text, null as ""; a list or mapping is an error."""
    if node is None or _is_null(node):
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


def _origin_request(node: yaml.Node | None, what: str) -> dict[str, yaml.Node]:
    """An originRequest mapping whose fields yaml.v3 can decode into their Go types; its fields."""
    if node is None or _is_null(node):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise Refused(f"{what} is not a mapping")
    fields = _mapping(node)
    for key, value in fields.items():
        kind = _ORIGIN_FIELDS.get(key)
        where = f"{what}.{key}"
        if kind == "duration":
            _duration(value, where)
        elif kind == "bool":
            _yaml_bool(value, where)
        elif kind in ("int", "uint"):
            _integer(value, where, unsigned=kind == "uint")
        elif kind == "string":
            _text(value, where)
    _ip_rules(fields.get("ipRules"), f"{what}.ipRules")
    _access_fields(fields.get("access"), f"{what}.access")
    return fields


_INT_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_DURATION = re.compile(r"[-+]?(?:0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+)")
_UNIT_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def _duration(node: yaml.Node, what: str) -> None:
    """A time.Duration: yaml.v3 takes only a string time.ParseDuration reads ("30s", "1m30s"), never a number."""
    if _is_null(node):
        return
    number = isinstance(node, yaml.ScalarNode) and node.style is None and node.tag in _INT_TAGS
    if not isinstance(node, yaml.ScalarNode) or number or not _DURATION.fullmatch(node.value):
        raise Refused(f"{what} {getattr(node, 'value', '')!r} is not a duration such as 30s or 1m30s")
    parts = re.findall(r"([0-9.]+)(ns|us|µs|μs|ms|s|m|h)", node.value)
    if sum(float(amount) * _UNIT_NS[unit] for amount, unit in parts) > 2**63 - 1:
        raise Refused(f"{what} {node.value!r} is longer than a Go duration can be")


def _integer(node: yaml.Node, what: str, *, unsigned: bool) -> int:
    """An int64 or uint64 field: a plain YAML number in range (yaml.v3 truncates a float); a quoted one is a string."""
    if _is_null(node):
        return 0
    number = isinstance(node, yaml.ScalarNode) and node.style is None and node.tag in _INT_TAGS
    value = yaml.safe_load(node.value) if number and ":" not in node.value else None
    low, high = (0, 2**64) if unsigned else (-(2**63), 2**63)
    if not isinstance(value, (int, float)) or not low <= value < high:  # also refuses .inf and .nan
        raise Refused(f"{what} {getattr(node, 'value', '')!r} is not a{' non-negative' if unsigned else 'n'} integer")
    return int(value)


def _ip_rules(node: yaml.Node | None, what: str) -> list[tuple[str | None, list[int]]]:
    """ipRules: a list of {prefix: string, ports: [int], allow: bool}; (prefix or None, ports) of each."""
    if node is None or _is_null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise Refused(f"{what} is not a list")
    found = []
    for item in node.value:
        if not _is_null(item) and not isinstance(item, yaml.MappingNode):
            raise Refused(f"{what}: an item is not a mapping of prefix, ports, allow")
        fields = _mapping(item)
        prefix = fields.get("prefix")
        _yaml_bool(fields.get("allow"), f"{what}.allow")
        ports = fields.get("ports")
        if ports is not None and not _is_null(ports) and not isinstance(ports, yaml.SequenceNode):
            raise Refused(f"{what}.ports is not a list")
        listed = [] if ports is None or _is_null(ports) else ports.value
        numbers = [_integer(port, f"{what}.ports", unsigned=False) for port in listed]
        found.append((None if prefix is None or _is_null(prefix) else _text(prefix, f"{what}.prefix"), numbers))
    return found


def _check_ip_rules(node: yaml.Node | None, n: int) -> None:
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


def _yaml_bool(node: yaml.Node | None, what: str) -> bool:
    """A bool as yaml.v3 decodes it: plain true/false in three spellings, or a YAML 1.1 word (yes, on, n...)."""
    if node is None or _is_null(node):
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
    if node is None or _is_null(node):
        return
    if not isinstance(node, yaml.MappingNode):
        raise Refused(f"{what} is not a mapping")
    fields = _mapping(node)
    _yaml_bool(fields.get("required"), f"{what}.required")
    for key in ("teamName", "environment"):
        _text(fields.get(key), f"{what}.{key}")
    aud = fields.get("audTag")
    if aud is not None and not _is_null(aud):
        if not isinstance(aud, yaml.SequenceNode):
            raise Refused(f"{what}.audTag is not a list")
        for tag in aud.value:
            _text(tag, f"{what}.audTag")


def _check_access(node: yaml.Node | None, n: int) -> None:
    """validateAccessConfiguration: a required access check with an audTag needs a teamName."""
    access = _mapping(node)
    required = _yaml_bool(access.get("required"), f"rule {n}: originRequest.access.required")
    team = _text(access.get("teamName"), f"rule {n}: originRequest.access.teamName")
    aud = access.get("audTag")
    if required and not team and isinstance(aud, yaml.SequenceNode) and aud.value:
        raise Refused(f"rule {n}: originRequest.access.teamName cannot be blank when access.audTag is set")


# --- Go's strconv.Atoi, net.SplitHostPort, net/url.Parse ----------------------------------


def _go_atoi(text: str) -> int | None:
    """strconv.Atoi: an optional sign, then ASCII digits only (no spaces, no underscores)."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not all("0" <= c <= "9" for c in digits):
        return None
    return int(text)


def _go_split_host_port(hostport: str) -> bool:
    """Whether net.SplitHostPort succeeds: host:port, [v6]:port; a port may be empty, `::1` fails."""
    colon = hostport.rfind(":")
    if colon < 0:
        return False
    start, end_at = 0, 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or end + 1 != colon:
            return False
        start, end_at = 1, end + 1
    elif ":" in hostport[:colon]:
        return False
    return "[" not in hostport[start:] and "]" not in hostport[end_at:]


_USERINFO = set("-._:~!$&'()*+,;=%@")  # net/url validUserinfo, besides ASCII letters and digits
_HOST_PUNCTUATION = set("!$&'()*+,;=:[]<>\"-_.~")  # net/url shouldEscape(c, encodeHost) is false for these


def _go_url_parse(raw: str) -> tuple[str, str, str, str | None]:
    """net/url.Parse as far as validateIngress needs: (scheme, Hostname(), what follows the host, error)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        return "", "", "", "invalid control character in URL"
    raw, _, fragment = raw.partition("#")
    if _bad_escape(fragment):
        return "", "", "", "invalid URL escape"
    scheme, rest = _go_scheme(raw)
    if scheme is None:
        return "", "", "", "missing protocol scheme"
    rest = rest.partition("?")[0]
    if not scheme:
        first = rest.partition("/")[0]
        return "", "", rest, "first path segment in URL cannot contain colon" if ":" in first else None
    if not rest.startswith("//"):
        return scheme, "", rest, None  # opaque, or a path without a host
    authority, slash, path = rest[2:].partition("/")
    userinfo, at, host = authority.rpartition("@")
    if at and (not all(c in _USERINFO or c.isascii() and c.isalnum() for c in userinfo) or _bad_escape(userinfo)):
        return "", "", "", "invalid userinfo"
    hostname, error = _go_host(host)
    if error is None and _bad_escape(path):
        error = "invalid URL escape"
    return scheme, hostname, slash + path, error


def _go_scheme(raw: str) -> tuple[str | None, str]:
    """getScheme: letters, then letters, digits, + - . until `:`; None for a leading `:`."""
    for i, c in enumerate(raw):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                return "", raw
            continue
        if c == ":":
            return (None, raw) if i == 0 else (raw[:i].lower(), raw[i + 1 :])
        return "", raw
    return "", raw


def _go_host(host: str) -> tuple[str, str | None]:
    """parseHost: a bracketed IPv6 literal or a name, an optional :digits port; (Hostname(), error)."""
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0:
            return "", "missing ']' in host"
        if not _valid_port(host[end + 1 :]):
            return "", f"invalid port {host[end + 1:]!r} after host"
        name = host[1:end]
        if not _ipv6(name.split("%25", 1)[0]):  # Go >= 1.24.8 (CVE-2025-47912): only IPv6 in brackets
            return "", f"invalid IP-literal {host[:end + 1]!r}"
    else:
        colon = host.rfind(":")
        if colon >= 0 and not _valid_port(host[colon:]):
            return "", f"invalid port {host[colon:]!r} after host"
        name = host if colon < 0 else host[:colon]
    if _bad_escape(name, host_mode=True):
        return "", f"invalid URL escape in host {host!r}"
    bad = next((c for c in name if c.isascii() and not c.isalnum() and c not in _HOST_PUNCTUATION and c != "%"), None)
    if bad is not None:
        return "", f"invalid character {bad!r} in host name"
    return name, None


def _ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 6
    except ValueError:
        return False


def _valid_port(colon_port: str) -> bool:
    return colon_port == "" or (colon_port[0] == ":" and all("0" <= c <= "9" for c in colon_port[1:]))


def _bad_escape(text: str, *, host_mode: bool = False) -> bool:
    """unescape: every % starts two hex digits; in a host only %25 or a non-ASCII byte may be escaped."""
    hexdigits = "0123456789abcdefABCDEF"
    for i, c in enumerate(text):
        if c != "%":
            continue
        pair = text[i + 1 : i + 3]
        if len(pair) < 2 or pair[0] not in hexdigits or pair[1] not in hexdigits:
            return True
        if host_mode and int(pair, 16) < 0x80 and pair != "25":
            return True
    return False


# --- Go regexp/syntax.Parse with the Perl flags regexp.Compile uses --------------------

MAX_REPEAT = 1000  # regexp/syntax maxRepeat: any count, and the product of nested counts
_POSIX_CLASSES = {
    f"[:{neg}{name}:]"
    for neg in ("", "^")
    for name in (
        "alnum alpha ascii blank cntrl digit graph lower print punct space upper word xdigit".split()
    )
}
_CATEGORIES = set(
    "C Cc Cf Cn Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs".split()
)


def re2_problem(pattern: str) -> str | None:
    """Why Go's regexp.Compile refuses ``pattern``, or None. RE2 has no lookaround, backreference,
    atomic group, possessive or stacked quantifier, \\Z, \\C or inline comment; it has \\z, \\Q..\\E,
    \\pL, [[:alpha:]], (?U) and flags anywhere, and counts up to 1000."""
    try:
        _Re2(pattern).parse()
    except Refused as refused:
        return str(refused)
    return None


class _Re2:
    """A recognizer following regexp/syntax parse(): a stack of groups, each a list of nodes.

    A node is ``(min, max, children)`` for a counted repeat x{n,m}, else ``(None, None, children)``;
    only counted repeats matter to repeatIsValid.
    """

    def __init__(self, pattern: str) -> None:
        self.s, self.i = pattern, 0
        self.stack: list[list[tuple]] = [[]]  # the nodes of each open group; [] also marks `|` and `(`
        self.can_repeat = False  # the top of Go's stack is an expression, not `(` or `|` or nothing
        self.last_repeat = False

    def parse(self) -> None:
        while self.i < len(self.s):
            repeated = False
            c = self.s[self.i]
            if c == "(":
                self._open()
            elif c == "|":
                self.i += 1
                self.can_repeat = False
            elif c == ")":
                self._close()
            elif c in "*+?":
                self.i += 1
                self._repeat(None, None)
                repeated = True
            elif c == "{":
                repeated = self._brace()
            elif c == "[":
                self._class()
                self._push()
            elif c == "\\":
                self._backslash()
            else:
                self.i += 1
                self._push()
            self.last_repeat = repeated
        if len(self.stack) > 1:
            raise Refused("missing closing )")

    def _push(self, node: tuple = (None, None, ())) -> None:
        self.stack[-1].append(node)
        self.can_repeat = True

    def _open(self) -> None:
        s, i = self.s, self.i
        if s.startswith("(?", i):
            if s.startswith("(?P<", i) and len(s) - i > 4 or s.startswith("(?<", i) and len(s) - i > 3:
                end = s.find(">", i)
                name = s[i + (4 if s[i + 2] == "P" else 3) : end] if end >= 0 else ""
                if end < 0 or not name or not all(c == "_" or (c.isascii() and c.isalnum()) for c in name):
                    raise Refused(f"invalid named capture: `{s[i:end + 1] if end >= 0 else s[i:]}`")
                self.i = end + 1
            elif not self._flags():
                return  # (?flags) alone: no group opened
        else:
            self.i += 1
        if len(self.stack) >= MAX_REPEAT:
            raise Refused("expression nests too deeply")
        self.stack.append([])
        self.can_repeat = False

    def _flags(self) -> bool:
        """(?flags) or (?flags: with flags from imsU and at most one `-`; True when a group opens."""
        j, sign, saw = self.i + 2, 1, False
        while j < len(self.s):
            c = self.s[j]
            j += 1
            if c in "imsU":
                saw = True
            elif c == "-" and sign > 0:
                sign, saw = -1, False
            elif c in ":)" and (sign > 0 or saw):
                self.i = j
                return c == ":"
            else:
                break
        raise Refused(f"invalid or unsupported Perl syntax: `{self.s[self.i:j]}`")

    def _close(self) -> None:
        if len(self.stack) == 1:
            raise Refused("unexpected )")
        group = self.stack.pop()
        self.i += 1
        self._push((None, None, tuple(group)))

    def _brace(self) -> bool:
        """x{n}, x{n,}, x{n,m}; a `{` that does not start one is a literal."""
        counts = self._counts()
        if counts is None:
            self.i += 1
            self._push()
            return False
        low, high, end = counts
        text = self.s[self.i : end]
        if low < 0 or low > MAX_REPEAT or high > MAX_REPEAT or (high >= 0 and low > high):
            raise Refused(f"invalid repeat count: `{text}`")
        self.i = end
        self._repeat(low, high, text)
        return True

    def _counts(self) -> tuple[int, int, int] | None:
        j = self.i + 1
        low, j = self._int(j)
        if low is None or j >= len(self.s):
            return None
        high = low
        if self.s[j] == ",":
            j += 1
            if j >= len(self.s):
                return None
            if self.s[j] == "}":
                high = -1
            else:
                high, j = self._int(j)
                if high is None:
                    return None
                if high < 0:
                    low = -1
        if j >= len(self.s) or self.s[j] != "}":
            return None
        return low, high, j + 1

    def _int(self, j: int) -> tuple[int | None, int]:
        """parseInt: digits without a leading zero; -1 when too big."""
        k = j
        while k < len(self.s) and "0" <= self.s[k] <= "9":
            k += 1
        digits = self.s[j:k]
        if not digits or (len(digits) > 1 and digits[0] == "0"):
            return None, j
        return (int(digits) if len(digits) <= 8 else -1), k

    def _repeat(self, low: int | None, high: int | None, text: str = "") -> None:
        if self.s.startswith("?", self.i):
            self.i += 1  # non-greedy
        if self.last_repeat:
            raise Refused("invalid nested repetition operator")
        if not self.can_repeat:
            raise Refused("missing argument to repetition operator")
        sub = self.stack[-1].pop()
        node = (low, high, (sub,)) if low is not None else (None, None, (sub,))
        if low is not None and (low >= 2 or high >= 2) and not _repeat_is_valid(node, MAX_REPEAT):
            raise Refused(f"invalid repeat count: `{text}`")
        self.stack[-1].append(node)

    def _backslash(self) -> None:
        s, i = self.s, self.i
        nxt = s[i + 1 : i + 2]
        if nxt in ("A", "b", "B", "z"):
            self.i += 2
            self._push()
        elif nxt == "C":
            raise Refused("invalid escape sequence: `\\C`")
        elif nxt == "Q":
            end = s.find("\\E", i + 2)
            literal = s[i + 2 :] if end < 0 else s[i + 2 : end]
            self.i = len(s) if end < 0 else end + 2
            if literal:
                self._push()
        elif nxt in ("p", "P"):
            self.i = self._unicode_class(i)
            self._push()
        elif nxt and nxt in "dDsSwW":
            self.i += 2
            self._push()
        else:
            self.i = self._escape(i)
            self._push()

    def _escape(self, i: int) -> int:
        """parseEscape at s[i] == '\\'; returns the index after it."""
        s = self.s
        if i + 1 >= len(s):
            raise Refused("trailing backslash at end of expression")
        c, j = s[i + 1], i + 2
        if c.isascii() and not c.isalnum():
            return j
        if c in "1234567" and j < len(s) and "0" <= s[j] <= "7" or c == "0":
            for _ in range(2):
                if j < len(s) and "0" <= s[j] <= "7":
                    j += 1
            return j
        if c == "x" and j < len(s):
            if s[j] == "{":
                end = s.find("}", j)
                digits = s[j + 1 : end] if end >= 0 else ""
                if digits and all(d in "0123456789abcdefABCDEF" for d in digits) and int(digits, 16) <= 0x10FFFF:
                    return end + 1
            elif len(s[j : j + 2]) == 2 and all(d in "0123456789abcdefABCDEF" for d in s[j : j + 2]):
                return j + 2
        if c in "afnrtv":
            return j
        raise Refused(f"invalid escape sequence: `{s[i:j]}`")

    def _unicode_class(self, i: int) -> int:
        """\\pX, \\p{Name}, \\p{^Name}: a Unicode category, script or alias (names compared loosely)."""
        s = self.s
        if s[i + 2 : i + 3] == "{":
            end = s.find("}", i)
            if end < 0:
                raise Refused(f"invalid character class range: `{s[i:]}`")
            name, after = s[i + 3 : end], end + 1
        else:
            name, after = s[i + 2 : i + 3], i + 3
        name = name[1:] if name.startswith("^") else name
        if not _unicode_name(name):
            raise Refused(f"invalid character class range: `{s[i:after]}`")
        return after

    def _class(self) -> None:
        """parseClass: `]` first is literal, [:name:] POSIX classes, \\p and \\d classes, ranges lo <= hi."""
        s, start = self.s, self.i
        j = start + 1
        if s.startswith("^", j):
            j += 1
        first = True
        while first or j >= len(s) or s[j] != "]":
            first = False
            if j >= len(s):
                raise Refused(f"missing closing ]: `{s[start:]}`")
            if s.startswith("[:", j) and len(s) - j > 2:
                end = s.find(":]", j + 2)
                if end >= 0:
                    if s[j : end + 2] not in _POSIX_CLASSES:
                        raise Refused(f"invalid character class range: `{s[j:end + 2]}`")
                    j = end + 2
                    continue
            if s.startswith(("\\p", "\\P"), j):
                j = self._unicode_class(j)
                continue
            if s[j] == "\\" and s[j + 1 : j + 2] in tuple("dDsSwW"):
                j += 2
                continue
            low, j = self._class_char(j, start)
            if s[j : j + 1] == "-" and j + 1 < len(s) and s[j + 1] != "]":
                high, j = self._class_char(j + 1, start)
                if high < low:
                    raise Refused("invalid character class range")
        self.i = j + 1

    def _class_char(self, j: int, start: int) -> tuple[int, int]:
        """One character of a class (an escape counts as one); its code point and the index after it."""
        s = self.s
        if j >= len(s):
            raise Refused(f"missing closing ]: `{s[start:]}`")
        if s[j] != "\\":
            return ord(s[j]), j + 1
        end = self._escape(j)
        return _escaped_code(s[j:end]), end


def _escaped_code(escape: str) -> int:
    """The code point of an escape _escape accepted: \\x.., \\x{..}, octal, C escapes, punctuation."""
    body = escape[1:]
    if body[0] == "x":
        return int(body[1:].strip("{}"), 16)
    if body[0].isdigit():
        return int(body, 8)
    return {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}.get(body, ord(body[0]))


def _unicode_name(name: str) -> bool:
    """unicodeTable after canonicalName: Any, Assigned, ASCII, LC, a category, or a script / category
    alias. norn has no copy of Go's script tables, so any other name of letters, `_`, `-` and spaces passes."""
    canonical = "".join(c for c in name if c not in "_- ")
    canonical = canonical[:1].upper() + canonical[1:].lower()
    if canonical in ("Any", "Assigned", "Ascii", "Lc") or canonical in _CATEGORIES:
        return True
    return len(canonical) > 2 and all(c.isascii() and c.isalpha() for c in canonical)


def _repeat_is_valid(node: tuple, n: int) -> bool:
    """repeatIsValid: no more than n copies of the innermost thing, counting nested x{n,m} (a loop: no recursion
    limit for deeply nested groups)."""
    pending = [(node, n)]
    while pending:
        (low, high, children), budget = pending.pop()
        if low is not None:
            m = low if high == -1 else high
            if m == 0:
                continue
            if m > budget:
                return False
            budget //= m
        pending.extend((child, budget) for child in children)
    return True
