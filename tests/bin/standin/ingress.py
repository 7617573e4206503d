"""The stand-in cloudflared's `tunnel ingress validate`, written from cloudflared's source, not from norn's check.

cloudflared reads the file with yaml.v3 (config/configuration.go ReadConfigFile) and checks the rules in
ingress/ingress.go (ParseIngress, validateIngress, validateHostname), calling Go's net/url, net and regexp
packages. This module walks PyYAML's node tree and answers with cloudflared's own messages:
``ConfigError`` for what fails while the file is read, ``IngressError`` for what ``Validation failed`` on.
"""

from __future__ import annotations

import ipaddress
import re

import yaml


class ConfigError(Exception):
    """The file could not be decoded (cloudflared: "error parsing YAML in config file at PATH: ...")."""


class IngressError(Exception):
    """ParseIngress refused the rules (cloudflared: "Validation failed: ...")."""


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


# --- validateIngress: the service ------------------------------------------------


def check_service(service: str, bastion: bool) -> None:
    if service.startswith("unix:") or service.startswith("unix+tls:"):
        return
    if service.startswith("http_status:"):
        number = service.split(":", 1)[1]
        if not re.fullmatch(r"[+-]?[0-9]+", number):
            raise IngressError(f'invalid HTTP status code: strconv.Atoi: parsing "{number}": invalid syntax')
        if not 100 <= int(number) <= 999:
            raise IngressError(f"invalid HTTP status code: {int(number)}")
        return
    if service in ("hello_world", "hello-world", "socks-proxy", "bastion") or bastion:
        return
    scheme, hostname, path = parse_url(service)
    if not scheme or not hostname:
        raise IngressError(f"{service} is an invalid address, please make sure it has a scheme and a hostname")
    if path:
        raise IngressError(
            f"{service} is an invalid address, ingress rules don't support proxying to a different path on the "
            "origin service. The path will be the same as the eyeball request's path"
        )


URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(.*)", re.DOTALL)
BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")  # a % not followed by two hex digits
HOST_CHARS = re.compile(r"[A-Za-z0-9!$&'()*+,;=:\[\]<>\"_.~%-]|[^\x00-\x7f]")


def parse_url(raw: str) -> tuple[str, str, str]:
    """Go's url.Parse, far enough to give (scheme, Hostname(), Path); raises IngressError where it errs."""
    if re.search(r"[\x00-\x1f\x7f]", raw):
        raise IngressError(f'parse "{raw}": net/url: invalid control character in URL')
    before_fragment, _, fragment = raw.partition("#")
    if BAD_ESCAPE.search(fragment):
        raise IngressError(f'parse "{raw}": invalid URL escape')
    if before_fragment.startswith(":"):
        raise IngressError(f'parse "{raw}": missing protocol scheme')
    matched = URL_SCHEME.fullmatch(before_fragment)
    if not matched:
        return "", "", before_fragment
    scheme, rest = matched.group(1).lower(), matched.group(2).split("?", 1)[0]
    if not rest.startswith("//"):
        return scheme, "", ""
    authority, slash, after = rest[2:].partition("/")
    userinfo, at, host = authority.rpartition("@")
    hostname = parse_host(raw, host)
    if at and (re.search(r"[^A-Za-z0-9\-._:~!$&'()*+,;=%@]", userinfo) or BAD_ESCAPE.search(userinfo)):
        raise IngressError(f'parse "{raw}": net/url: invalid userinfo')
    if BAD_ESCAPE.search(after):
        raise IngressError(f'parse "{raw}": invalid URL escape')
    return scheme, hostname, slash + after


def parse_host(raw: str, host: str) -> str:
    port_ok = re.compile(r"(:[0-9]*)?")
    if host.startswith("["):
        close = host.rfind("]")
        if close == -1:
            raise IngressError(f"parse \"{raw}\": missing ']' in host")
        if not port_ok.fullmatch(host[close + 1 :]):
            raise IngressError(f'parse "{raw}": invalid port "{host[close + 1:]}" after host')
        literal = host[1:close].split("%25")[0]
        try:
            if ipaddress.ip_address(literal).version != 6:
                raise ValueError
        except ValueError:
            raise IngressError(f'parse "{raw}": invalid IP-literal') from None
        name = host[1:close]
    else:
        name, colon, port = host.rpartition(":")
        if not colon:
            name = port
        elif not re.fullmatch(r"[0-9]*", port):
            raise IngressError(f'parse "{raw}": invalid port ":{port}" after host')
    if BAD_ESCAPE.search(name) or any(int(h, 16) < 0x80 and h != "25" for h in re.findall(r"%([0-9A-Fa-f]{2})", name)):
        raise IngressError(f'parse "{raw}": invalid URL escape')
    for char in name:
        if not HOST_CHARS.fullmatch(char):
            raise IngressError(f'parse "{raw}": invalid character "{char}" in host name')
    return name


def check_ip_access(rules: list) -> None:
    """ipaccess.NewRuleByCIDR: a prefix net.ParseCIDR reads, ports 1-65535."""
    for prefix, ports in rules:
        if not prefix:
            raise IngressError("unable to create ip rule for socks-proxy: no prefix provided")
        address, _, length = prefix.partition("/")
        try:
            parsed = ipaddress.ip_address(address)
            valid = re.fullmatch(r"\d+", length) is not None and int(length) <= parsed.max_prefixlen
        except ValueError:
            valid = False
        if not valid:
            raise IngressError(f"unable to create ip rule for socks-proxy: unable to parse cidr: {prefix}")
        for port in sorted(ports):
            if port < 1 or port > 65535:
                raise IngressError(
                    f"unable to create ip rule for socks-proxy: invalid port {port}, needs to be between 1 and 65535"
                )


# --- validateHostname -----------------------------------------------------------


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


# --- Go regexp syntax -------------------------------------------------------------

TOKEN = re.compile(
    r"""
    (?P<quote>\\Q.*?(?:\\E|\Z))
  | (?P<escape>\\.?)
  | (?P<class>\[)
  | (?P<open>\((?:\?[^)]?)?)
  | (?P<close>\))
  | (?P<bar>\|)
  | (?P<count>\{(?:0|[1-9][0-9]*)(?:,(?:0|[1-9][0-9]*)?)?\})
  | (?P<op>[*+?])
  | (?P<char>.)
    """,
    re.VERBOSE | re.DOTALL,
)
SIMPLE_ESCAPES = set("AbBzdDsSwWafnrtv")
POSIX_NAMES = "alnum alpha ascii blank cntrl digit graph lower print punct space upper word xdigit".split()
CATEGORIES = set(
    "C Cc Cf Cn Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs".split()
)


def go_regexp_error(pattern: str) -> str | None:
    """The error Go's regexp.Compile gives ``pattern``, or None; see regexp/syntax/parse.go."""
    try:
        GoPattern(pattern).walk()
    except ValueError as error:
        return str(error)
    return None


class GoPattern:
    def __init__(self, text: str) -> None:
        self.text = text
        self.groups: list[list] = [[]]  # per open group: its items, each (count or None, inner items)
        self.operand = False  # something a quantifier could apply to is last
        self.quantified = False  # the last token was a quantifier

    def walk(self) -> None:
        at = 0
        while at < len(self.text):
            token = TOKEN.match(self.text, at)
            kind, value = token.lastgroup, token.group()
            at = token.end()
            quantifier = False
            if kind == "quote":
                if len(value) > 2 + (2 if value.endswith("\\E") else 0):
                    self.add()
            elif kind == "escape":
                at = self.escape(at - len(value))
            elif kind == "class":
                at = self.char_class(at - 1)
                self.add()
            elif kind == "open":
                at = self.group(at - len(value))
            elif kind == "close":
                if len(self.groups) == 1:
                    raise ValueError(f"unexpected ): `{self.text}`")
                inner = self.groups.pop()
                self.add((None, inner))
            elif kind == "bar":
                self.operand = False
            elif kind in ("op", "count"):
                if self.text.startswith("?", at):
                    at += 1
                if self.quantified:
                    raise ValueError("invalid nested repetition operator")
                if not self.operand:
                    raise ValueError(f"missing argument to repetition operator: `{value}`")
                self.quantify(value)
                quantifier = True
            else:
                self.add()
            self.quantified = quantifier
        if len(self.groups) > 1:
            raise ValueError(f"missing closing ): `{self.text}`")

    def add(self, item=(None, [])) -> None:
        self.groups[-1].append(item)
        self.operand = True

    def quantify(self, value: str) -> None:
        if value.startswith("{"):
            numbers = value[1:-1].split(",")
            low = int(numbers[0])
            high = low if len(numbers) == 1 else (int(numbers[1]) if numbers[1] else -1)
            if low > 1000 or high > 1000 or (high != -1 and low > high):
                raise ValueError(f"invalid repeat count: `{value}`")
            item = ((low, high), [self.groups[-1].pop()])
            if (low >= 2 or high >= 2) and copies(item) > 1000:
                raise ValueError(f"invalid repeat count: `{value}`")
        else:
            item = (None, [self.groups[-1].pop()])
        self.groups[-1].append(item)

    def group(self, at: int) -> int:
        text = self.text
        if len(self.groups) >= 1000:  # regexp/syntax maxHeight: a group inside 999 others is 1000 deep
            raise ValueError(f"expression nests too deeply: `{text}`")
        named = re.compile(r"\(\?P?<([^>]*)>").match(text, at)
        capture = text.startswith("(?P<", at) and len(text) - at > 4 or text.startswith("(?<", at) and len(text) - at > 3
        if named and capture:
            if not re.fullmatch(r"[A-Za-z0-9_]+", named.group(1)):
                raise ValueError(f"invalid named capture: `{named.group()}`")
            self.groups.append([])
            self.operand = False
            return named.end()
        if capture:
            raise ValueError(f"invalid named capture: `{text[at:]}`")
        if not text.startswith("(?", at):
            self.groups.append([])
            self.operand = False
            return at + 1
        flags = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?([:)])").match(text, at)
        if not flags or (flags.group(2) is not None and flags.group(2) == ""):
            raise ValueError("invalid or unsupported Perl syntax")
        if flags.group(3) == ":":
            self.groups.append([])
            self.operand = False
        return flags.end()

    def escape(self, at: int) -> int:
        text = self.text
        if at + 1 >= len(text):
            raise ValueError("trailing backslash at end of expression: ``")
        letter = text[at + 1]
        if letter in "pP":
            end = self.unicode_name(at)
            self.add()
            return end
        if letter in SIMPLE_ESCAPES:
            self.add()
            return at + 2
        end = self.plain_escape(at)
        self.add()
        return end

    def plain_escape(self, at: int) -> int:
        """One escaped character (octal, \\xHH, \\x{H..}, C escape, punctuation); the index after it."""
        text = self.text
        if at + 1 >= len(text):
            raise ValueError("trailing backslash at end of expression: ``")
        rest = text[at + 1 :]
        for form in (r"0[0-7]{0,2}", r"[1-7][0-7]{1,2}", r"x[0-9A-Fa-f]{2}", r"x\{[0-9A-Fa-f]+\}", r"[afnrtv]"):
            found = re.match(form, rest)
            if found:
                if form.startswith(r"x\{") and int(found.group()[2:-1], 16) > 0x10FFFF:
                    break
                return at + 1 + found.end()
        if rest[0].isascii() and not rest[0].isalnum():
            return at + 2
        raise ValueError(f"invalid escape sequence: `\\{rest[0]}`")

    def unicode_name(self, at: int) -> int:
        text = self.text
        if text.startswith("{", at + 2):
            close = text.find("}", at)
            if close == -1:
                raise ValueError(f"invalid character class range: `{text[at:]}`")
            name, end = text[at + 3 : close], close + 1
        else:
            name, end = text[at + 2 : at + 3], at + 3
        name = name.removeprefix("^")
        loose = re.sub(r"[-_ ]", "", name).capitalize()
        known = loose in ("Any", "Assigned", "Ascii", "Lc") or loose in CATEGORIES
        if not known and not (len(loose) > 2 and loose.isascii() and loose.isalpha()):
            raise ValueError(f"invalid character class range: `{text[at:end]}`")
        return end

    def char_class(self, start: int) -> int:
        """A [...] class; returns the index after its `]`."""
        text, at = self.text, start + 1
        if text.startswith("^", at):
            at += 1
        members = 0
        while members == 0 or at >= len(text) or text[at] != "]":
            if at >= len(text):
                raise ValueError(f"missing closing ]: `{text[start:]}`")
            members += 1
            posix = re.compile(r"\[:(.*?):\]", re.DOTALL).match(text, at)
            if posix:
                if posix.group(1).removeprefix("^") not in POSIX_NAMES:
                    raise ValueError(f"invalid character class range: `{posix.group()}`")
                at = posix.end()
                continue
            if text.startswith("\\", at) and text[at + 1 : at + 2] in ("p", "P"):
                at = self.unicode_name(at)
                continue
            if text.startswith("\\", at) and text[at + 1 : at + 2] in ("d", "D", "s", "S", "w", "W"):
                at += 2
                continue
            low, at = self.class_char(at, start)
            if text.startswith("-", at) and at + 1 < len(text) and text[at + 1] != "]":
                high, at = self.class_char(at + 1, start)
                if high < low:
                    raise ValueError("invalid character class range")
        return at + 1

    def class_char(self, at: int, start: int) -> tuple[int, int]:
        text = self.text
        if at >= len(text):
            raise ValueError(f"missing closing ]: `{text[start:]}`")
        if text[at] != "\\":
            return ord(text[at]), at + 1
        end = self.plain_escape(at)
        body = text[at + 1 : end]
        if body[0] == "x":
            return int(body.strip("x{}"), 16), end
        if body[0] in "01234567":
            return int(body, 8), end
        return ord({"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}.get(body, body)), end


def copies(item) -> int:
    """The most copies of an innermost part that nested counted repeats make (walked without recursion)."""
    most, pending = 1, [(item, 1)]
    while pending:
        (count, inner), product = pending.pop()
        if count is not None:
            low, high = count
            times = low if high == -1 else high
            if times == 0:
                continue
            product *= times
        most = max(most, product)
        pending.extend((child, product) for child in inner)
    return most
