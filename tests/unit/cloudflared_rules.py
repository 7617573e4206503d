"""What cloudflared's `tunnel ingress validate` accepts and refuses: one row per rule of its source.

Shared by tests/unit/test_ingress_check.py (norn's check) and tests/harness/test_cloudflared_standin.py (the
stand-in cloudflared), which implement the rules separately. Sources, in github.com/cloudflare/cloudflared:
  CONFIG   config/configuration.go ReadConfigFile: yaml.v3 Decoder.Decode (one document) into configFileSettings
  YAMLV3   vendor/gopkg.in/yaml.v3/decode.go: decoder.mapping refuses a repeated key; scalar() sets a string from
           any scalar's text; case reflect.Bool takes true/false and the YAML 1.1 words
  PARSE    ingress/ingress.go ParseIngress: no rules is ErrNoIngressRules
  SERVICE  ingress/ingress.go validateIngress: unix:, unix+tls:, http_status: (strconv.Atoi, 100-999),
           hello_world / hello-world (origin_service.go), socks-proxy, bastion or bastionMode, else url.Parse with
           a scheme and a hostname and no path
  ACCESS   ingress/ingress.go validateAccessConfiguration
  ORIGIN   config/configuration.go OriginRequestConfig: the Go type of each field (CustomDuration.UnmarshalYAML
           decodes a time.Duration: yaml.v3 takes only a string time.ParseDuration reads, never a number; int and
           uint take plain numbers); ipaccess/access.go NewRuleByCIDR for a socks-proxy rule's ipRules
  HOST     ingress/ingress.go validateHostname: net.SplitHostPort must fail, `*` only at index 0, only the last rule
           is a catch-all (hostname "" or "*" and no path)
  URL      Go net/url Parse: getScheme, parseAuthority, parseHost (validOptionalPort, IPv6 literal only in brackets
           since Go 1.24.8 / CVE-2025-47912), unescape, shouldEscape(encodeHost)
  REGEXP   ingress/ingress.go validateIngress: regexp.Compile(r.Path); Go src/regexp/syntax/parse.go parse,
           parsePerlFlags, parseEscape, parseClass, parseRepeat, repeat (maxRepeat 1000, repeatIsValid)
"""

from __future__ import annotations

import json

CATCH_ALL = "  - service: http_status:404\n"


class Raw(str):
    """YAML text written as is (a flow mapping, a plain scalar)."""


def rule(**fields: object) -> str:
    """One ingress rule; strings are written as JSON (a YAML double-quoted string), Raw and numbers as given."""
    lines = [f"{key}: {value if isinstance(value, (Raw, int)) else json.dumps(value)}" for key, value in fields.items()]
    return "  - " + "\n    ".join(lines) + "\n"


def config(*rules: str, head: str = "", catch_all: bool = True) -> str:
    return f"{head}ingress:\n{''.join(rules)}{CATCH_ALL if catch_all else ''}"


def service(value: object, **more: object) -> str:
    return config(rule(hostname="app.example.com", service=value, **more))


def hostname(value: object) -> str:
    return config(rule(hostname=value, service="http://app:80"))


def path(value: str) -> str:
    return config(rule(hostname="app.example.com", path=value, service="http://app:80"))


ACCEPT, REFUSE = True, False

# (id, config text, accepted, source)
ROWS = [
    # --- the file and its structure
    ("plain", service("http://app:80"), ACCEPT, "SERVICE"),
    ("empty-file", "", REFUSE, "CONFIG: io.EOF is an empty config; PARSE: no rules"),
    ("no-ingress", "tunnel: norn\n", REFUSE, "PARSE ErrNoIngressRules"),
    ("empty-ingress", "ingress: []\n", REFUSE, "PARSE ErrNoIngressRules"),
    ("not-yaml", "ingress: [\n", REFUSE, "CONFIG error parsing YAML"),
    ("root-a-list", "- ingress\n", REFUSE, "YAMLV3 cannot unmarshal !!seq into configFileSettings"),
    ("ingress-a-mapping", "ingress:\n  service: http_status:404\n", REFUSE, "YAMLV3 !!map into []UnvalidatedIngressRule"),
    ("rule-a-string", config("  - http://app:80\n"), REFUSE, "YAMLV3 !!str into UnvalidatedIngressRule"),
    ("hostname-a-list", config("  - hostname: [a]\n    service: http://app:80\n"), REFUSE, "YAMLV3 !!seq into string"),
    ("hostname-a-number", hostname(123), ACCEPT, "YAMLV3 scalar(): a string takes any scalar's text"),
    ("repeated-key-in-rule", config("  - hostname: a.example.com\n    hostname: b.example.com\n    service: http://app:80\n"),
     REFUSE, "YAMLV3 decoder.mapping: mapping key already defined"),
    ("repeated-top-key", "tunnel: a\ntunnel: b\n" + service("http://app:80"), REFUSE, "YAMLV3 decoder.mapping"),
    ("repeated-key-same-text", "x:\n  1: a\n  '1': b\n" + service("http://app:80"), REFUSE,
     "YAMLV3 decoder.mapping compares kind and text"),
    ("second-document-ignored", service("http://app:80") + "---\nnot: [valid\n", ACCEPT, "CONFIG Decode reads one document"),
    ("same-hostname-twice", config(rule(hostname="a.example.com", service="http://a:80"),
                                   rule(hostname="a.example.com", service="http://b:80")), ACCEPT,
     "SERVICE/HOST: nothing refuses a repeated hostname"),
    # --- catch-all (validateHostname)
    ("last-not-catch-all", config(rule(hostname="a.example.com", service="http://a:80"), catch_all=False), REFUSE,
     "HOST errLastRuleNotCatchAll"),
    ("catch-all-first", config(rule(service="http://a:80"), rule(hostname="a.example.com", service="http://a:80")),
     REFUSE, "HOST ruleShouldNotBeCatchAllError"),
    ("star-is-catch-all", config(rule(hostname="a.example.com", service="http://a:80"), rule(hostname="*",
                                 service="http_status:404"), catch_all=False), ACCEPT, "HOST isCatchAllRule"),
    ("star-with-path-last", config(rule(hostname="*", path="^/x", service="http_status:404"), catch_all=False),
     REFUSE, "HOST: a path makes it not a catch-all"),
    ("path-only-rule", config(rule(path="^/api", service="http://a:80")), ACCEPT, "HOST: a path is a filter"),
    # --- hostnames (validateHostname)
    ("host-port", hostname("app.example.com:443"), REFUSE, "HOST errHostnameContainsPort"),
    ("host-empty-port", hostname("app.example.com:"), REFUSE, "HOST: SplitHostPort takes an empty port"),
    ("host-ipv6-port", hostname("[::1]:443"), REFUSE, "HOST errHostnameContainsPort, bracketed form"),
    ("host-ipv6-bare", hostname("::1"), ACCEPT, "HOST: SplitHostPort fails, too many colons"),
    ("host-ipv6-brackets", hostname("[::1]"), ACCEPT, "HOST: SplitHostPort fails, missing port"),
    ("host-wildcard", hostname("*.example.com"), ACCEPT, "HOST: `*` at index 0"),
    ("host-star-prefix", hostname("*example.com"), ACCEPT, "HOST: strings.LastIndex(\"*\") == 0"),
    ("host-wildcard-inside", hostname("a.*.example.com"), REFUSE, "HOST errBadWildcard"),
    ("host-two-stars", hostname("**.example.com"), REFUSE, "HOST errBadWildcard"),
    ("host-not-a-dns-name", hostname("not a name"), ACCEPT, "HOST: no other hostname check"),
    # --- services (validateIngress)
    ("https", service("https://app:443"), ACCEPT, "SERVICE isHTTPService"),
    ("ws", service("ws://app:80"), ACCEPT, "SERVICE isHTTPService"),
    ("tcp", service("tcp://db:5432"), ACCEPT, "SERVICE newTCPOverWSService"),
    ("ssh", service("ssh://host:22"), ACCEPT, "SERVICE newTCPOverWSService"),
    ("rdp", service("rdp://host:3389"), ACCEPT, "SERVICE newTCPOverWSService"),
    ("any-scheme", service("htp://app:80"), ACCEPT, "SERVICE: any scheme with a host is TCP over websocket"),
    ("upper-scheme", service("HTTP://app:80"), ACCEPT, "URL getScheme lowercases"),
    ("no-port", service("http://app"), ACCEPT, "SERVICE: a port is not required"),
    ("path-slash", service("http://app:80/"), REFUSE, "SERVICE u.Path != \"\""),
    ("path-api", service("http://app:80/api"), REFUSE, "SERVICE u.Path != \"\""),
    ("query", service("http://app:80?x=1"), ACCEPT, "URL: a query is not the path"),
    ("fragment", service("http://app:80#x"), ACCEPT, "URL: a fragment is not the path"),
    ("port-out-of-range", service("http://app:99999"), ACCEPT, "URL validOptionalPort checks digits only"),
    ("port-not-digits", service("http://app:8o"), REFUSE, "URL parseHost invalid port"),
    ("no-host", service("http://:80"), REFUSE, "SERVICE u.Hostname() == \"\""),
    ("no-scheme", service("app:80"), REFUSE, "URL: scheme app, opaque 80, no host"),
    ("no-scheme-localhost", service("localhost:8080"), REFUSE, "URL: opaque, no host"),
    ("leading-colon", service(":80"), REFUSE, "URL missing protocol scheme"),
    ("ipv6-host", service("http://[::1]:8080"), ACCEPT, "URL parseHost IP-literal"),
    ("ipv4-in-brackets", service("http://[127.0.0.1]:80"), REFUSE, "URL parseHost: only IPv6 in brackets"),
    ("space-in-host", service("http://a b:80"), REFUSE, "URL shouldEscape(' ', encodeHost)"),
    ("bad-escape-in-host", service("http://a%2x:80"), REFUSE, "URL unescape invalid escape"),
    ("userinfo", service("http://user:pw@app:80"), ACCEPT, "URL parseAuthority validUserinfo"),
    ("control-character", service("http://app:80\u0007"), REFUSE, "URL invalid control character"),
    ("no-service", config(rule(hostname="app.example.com")), REFUSE, "SERVICE: url.Parse(\"\") has no scheme"),
    ("hello_world", service("hello_world"), ACCEPT, "SERVICE HelloWorldService"),
    ("hello-world", service("hello-world"), ACCEPT, "SERVICE HelloWorldFlag"),
    ("helloworld", service("helloworld"), REFUSE, "SERVICE: neither name, and no scheme"),
    ("bastion", service("bastion"), ACCEPT, "SERVICE ServiceBastion"),
    ("socks-proxy", service("socks-proxy"), ACCEPT, "SERVICE ServiceSocksProxy"),
    ("bastion-mode-any-service", service("whatever", originRequest=Raw("{bastionMode: true}")), ACCEPT,
     "SERVICE cfg.BastionMode"),
    ("bastion-mode-global", "originRequest:\n  bastionMode: true\n" + service("whatever"), ACCEPT,
     "SERVICE setConfig(defaults, ...)"),
    ("bastion-mode-rule-false-beats-global", "originRequest:\n  bastionMode: true\n"
     + service("whatever", originRequest=Raw("{bastionMode: false}")), REFUSE, "ingress/config.go setBastionMode"),
    ("socks-proxy-checked-in-bastion-mode", service("socks-proxy", originRequest=Raw("{bastionMode: true, ipRules: [{}]}")),
     REFUSE, "SERVICE: the socks-proxy branch comes before the bastion one"),
    ("bastion-mode-yes", service("whatever", originRequest=Raw("{bastionMode: yes}")), ACCEPT, "YAMLV3 bool words"),
    ("bastion-mode-quoted-true", service("whatever", originRequest=Raw("{bastionMode: 'true'}")), REFUSE,
     "YAMLV3: a quoted 'true' is a string, not a word"),
    ("bastion-mode-number", service("http://app:80", originRequest=Raw("{bastionMode: 1}")), REFUSE,
     "YAMLV3 !!int into bool"),
    ("status-404", service("http_status:404"), ACCEPT, "SERVICE http_status"),
    ("status-100", service("http_status:100"), ACCEPT, "SERVICE statusCode >= 100"),
    ("status-999", service("http_status:999"), ACCEPT, "SERVICE statusCode <= 999"),
    ("status-600", service("http_status:600"), ACCEPT, "SERVICE statusCode <= 999"),
    ("status-99", service("http_status:99"), REFUSE, "SERVICE invalid HTTP status code"),
    ("status-1000", service("http_status:1000"), REFUSE, "SERVICE invalid HTTP status code"),
    ("status-plus", service("http_status:+404"), ACCEPT, "SERVICE strconv.Atoi takes a sign"),
    ("status-leading-zero", service("http_status:0404"), ACCEPT, "SERVICE strconv.Atoi"),
    ("status-space", service("http_status: 404"), REFUSE, "SERVICE strconv.Atoi refuses a space"),
    ("status-underscore", service("http_status:4_04"), REFUSE, "SERVICE strconv.Atoi refuses `_`"),
    ("status-word", service("http_status:abc"), REFUSE, "SERVICE strconv.Atoi"),
    ("status-empty", service("http_status:"), REFUSE, "SERVICE strconv.Atoi(\"\")"),
    ("unix", service("unix:/run/app.sock"), ACCEPT, "SERVICE unix:"),
    ("unix-empty", service("unix:"), ACCEPT, "SERVICE: no validation for unix socket paths"),
    ("unix-tls", service("unix+tls:/run/app.sock"), ACCEPT, "SERVICE unix+tls:"),
    ("access-aud-without-team", service("http://app:80", originRequest=Raw("{access: {required: true, audTag: [x]}}")),
     REFUSE, "ACCESS teamName cannot be blank"),
    ("access-aud-with-team", service("http://app:80",
                                     originRequest=Raw("{access: {required: true, teamName: t, audTag: [x]}}")), ACCEPT,
     "ACCESS"),
    ("access-not-required", service("http://app:80", originRequest=Raw("{access: {audTag: [x]}}")), ACCEPT, "ACCESS"),
    # --- originRequest field types (ORIGIN), per rule and global
    ("origin-duration", service("http://app:80", originRequest=Raw("{connectTimeout: 30s}")), ACCEPT, "ORIGIN"),
    ("origin-duration-compound", service("http://app:80", originRequest=Raw("{tlsTimeout: 1m30.5s}")), ACCEPT, "ORIGIN"),
    ("origin-duration-number", service("http://app:80", originRequest=Raw("{connectTimeout: 30}")), REFUSE,
     "ORIGIN: yaml.v3 refuses a number for a time.Duration"),
    ("origin-duration-no-unit", service("http://app:80", originRequest=Raw("{connectTimeout: '30'}")), REFUSE,
     "ORIGIN time.ParseDuration: missing unit"),
    ("origin-duration-quoted-zero", service("http://app:80", originRequest=Raw("{connectTimeout: '0'}")), ACCEPT,
     "ORIGIN time.ParseDuration(\"0\")"),
    ("origin-duration-words", service("http://app:80", originRequest=Raw("{keepAliveTimeout: 30 seconds}")), REFUSE,
     "ORIGIN time.ParseDuration: unknown unit"),
    ("origin-global-duration-number", "originRequest:\n  connectTimeout: 10\n" + service("http://app:80"), REFUSE,
     "ORIGIN, global originRequest"),
    ("origin-int", service("http://app:80", originRequest=Raw("{keepAliveConnections: 100}")), ACCEPT, "ORIGIN"),
    ("origin-int-quoted", service("http://app:80", originRequest=Raw("{keepAliveConnections: '100'}")), REFUSE,
     "ORIGIN: a quoted number is a string"),
    ("origin-int-hex", service("http://app:80", originRequest=Raw("{keepAliveConnections: 0x10}")), ACCEPT,
     "YAMLV3 resolve: strconv.ParseInt(s, 0, 64)"),
    ("origin-int-infinite", service("http://app:80", originRequest=Raw("{keepAliveConnections: .inf}")), REFUSE,
     "YAMLV3 float64 into int: must be <= MaxInt64"),
    ("socks-ip-rule-hex-port", service("socks-proxy", originRequest=Raw("{ipRules: [{prefix: '::/0', ports: [0x50]}]}")),
     ACCEPT, "YAMLV3 int forms; port 80"),
    ("origin-uint-negative", service("http://app:80", originRequest=Raw("{proxyPort: -1}")), REFUSE, "ORIGIN uint"),
    ("origin-bool-word", service("http://app:80", originRequest=Raw("{noTLSVerify: yes}")), ACCEPT, "YAMLV3 bool words"),
    ("origin-bool-other", service("http://app:80", originRequest=Raw("{noTLSVerify: maybe}")), REFUSE, "YAMLV3 bool"),
    ("origin-string-a-list", service("http://app:80", originRequest=Raw("{httpHostHeader: [a]}")), REFUSE,
     "YAMLV3 !!seq into string"),
    ("origin-not-a-mapping", service("http://app:80", originRequest=Raw("[a]")), REFUSE,
     "YAMLV3 !!seq into OriginRequestConfig"),
    ("socks-ip-rule", service("socks-proxy", originRequest=Raw("{ipRules: [{prefix: 10.0.0.0/8, ports: [80], allow: true}]}")),
     ACCEPT, "SERVICE socks-proxy, NewRuleByCIDR"),
    ("socks-ip-rule-no-prefix", service("socks-proxy", originRequest=Raw("{ipRules: [{ports: [80]}]}")), REFUSE,
     "NewRuleByCIDR: no prefix provided"),
    ("socks-ip-rule-not-cidr", service("socks-proxy", originRequest=Raw("{ipRules: [{prefix: 10.0.0.1}]}")), REFUSE,
     "NewRuleByCIDR: net.ParseCIDR needs a length"),
    ("socks-ip-rule-bad-port", service("socks-proxy", originRequest=Raw("{ipRules: [{prefix: '::/0', ports: [70000]}]}")),
     REFUSE, "ipaccess Rule.Validate: ports 1-65535"),
    ("ip-rule-checked-only-for-socks", service("http://app:80", originRequest=Raw("{ipRules: [{prefix: nope}]}")),
     ACCEPT, "SERVICE: only the socks-proxy branch builds ip rules"),
    # --- paths: Go's RE2 syntax, not Python's
    ("path-plain", path("^/api/.*$"), ACCEPT, "REGEXP"),
    ("path-lookahead", path("^/(?=api)"), REFUSE, "REGEXP parsePerlFlags: `(?=` invalid Perl syntax"),
    ("path-negative-lookahead", path("^/(?!api)"), REFUSE, "REGEXP parsePerlFlags"),
    ("path-lookbehind", path("(?<=/)api"), REFUSE, "REGEXP parsePerlFlags: invalid named capture"),
    ("path-backreference", path("^/(a)\\1"), REFUSE, "REGEXP parseEscape: a single digit is a backreference"),
    ("path-octal", path("^/\\12"), ACCEPT, "REGEXP parseEscape: two digits are octal"),
    ("path-named-backreference", path("(?P<x>a)(?P=x)"), REFUSE, "REGEXP parsePerlFlags"),
    ("path-atomic-group", path("(?>a)"), REFUSE, "REGEXP parsePerlFlags"),
    ("path-comment", path("a(?#note)"), REFUSE, "REGEXP parsePerlFlags"),
    ("path-possessive", path("a*+"), REFUSE, "REGEXP repeat: invalid nested repetition operator"),
    ("path-double-star", path("a**"), REFUSE, "REGEXP repeat: invalid nested repetition operator"),
    ("path-nested-counts", path("a{2}{3}"), REFUSE, "REGEXP repeat: invalid nested repetition operator"),
    ("path-lazy", path("a*?"), ACCEPT, "REGEXP repeat: a trailing ? is non-greedy"),
    ("path-backslash-Z", path("api\\Z"), REFUSE, "REGEXP parseEscape: no \\Z"),
    ("path-backslash-z", path("api\\z"), ACCEPT, "REGEXP parse: \\z"),
    ("path-backslash-C", path("\\C"), REFUSE, "REGEXP parse: \\C not supported"),
    ("path-class-backspace", path("[\\b]"), REFUSE, "REGEXP parseEscape: no \\b in a class"),
    ("path-unclosed-class", path("[a-z"), REFUSE, "REGEXP parseClass: missing closing ]"),
    ("path-reversed-range", path("[z-a]"), REFUSE, "REGEXP parseClass: invalid character class range"),
    ("path-unclosed-group", path("(api"), REFUSE, "REGEXP parse: missing closing )"),
    ("path-unopened-group", path("api)"), REFUSE, "REGEXP parseRightParen: unexpected )"),
    ("path-nothing-to-repeat", path("*api"), REFUSE, "REGEXP repeat: missing argument"),
    ("path-count-1000", path("a{1000}"), ACCEPT, "REGEXP maxRepeat"),
    ("path-count-1001", path("a{1001}"), REFUSE, "REGEXP invalid repeat count"),
    ("path-count-product", path("(a{100}){11}"), REFUSE, "REGEXP repeatIsValid"),
    ("path-count-reversed", path("a{3,2}"), REFUSE, "REGEXP invalid repeat count"),
    ("path-brace-literal", path("a{,5}"), ACCEPT, "REGEXP parseRepeat fails: `{` is a literal"),
    ("path-unicode-class", path("^/\\pL+"), ACCEPT, "REGEXP parseUnicodeClass"),
    ("path-unicode-script", path("^/\\p{Greek}"), ACCEPT, "REGEXP unicodeTable: scripts"),
    ("path-posix-class", path("^/[[:alpha:]]+"), ACCEPT, "REGEXP parseNamedClass"),
    ("path-unknown-posix-class", path("[[:alfa:]]"), REFUSE, "REGEXP parseNamedClass"),
    ("path-flag-later", path("^/api(?i)/x"), ACCEPT, "REGEXP parsePerlFlags: flags anywhere"),
    ("path-flag-U", path("(?U)a+"), ACCEPT, "REGEXP parsePerlFlags: U"),
    ("path-flag-x", path("(?x)a"), REFUSE, "REGEXP parsePerlFlags: no x"),
    ("path-flag-dangling-minus", path("(?i-)a"), REFUSE, "REGEXP parsePerlFlags"),
    ("path-quoted", path("\\Q/a.b\\E"), ACCEPT, "REGEXP parse: \\Q...\\E"),
    ("path-hex-braces", path("\\x{41}"), ACCEPT, "REGEXP parseEscape"),
    ("path-named-group-P", path("(?P<v>v1)"), ACCEPT, "REGEXP parsePerlFlags"),
    ("path-named-group", path("(?<v>v1)"), ACCEPT, "REGEXP parsePerlFlags"),
    ("path-bad-group-name", path("(?P<a-b>x)"), REFUSE, "REGEXP isValidCaptureName"),
    ("path-groups-999-deep", path("(" * 999 + "a" + ")" * 999), ACCEPT, "REGEXP checkHeight: maxHeight 1000"),
    ("path-groups-1000-deep", path("(" * 1000 + "a" + ")" * 1000), REFUSE, "REGEXP checkHeight: nests too deeply"),
    ("path-deep-count", path("(" * 999 + "a" + ")" * 999 + "{2}"), ACCEPT, "REGEXP repeatIsValid over a deep tree"),
    ("path-trailing-backslash", path("api\\"), REFUSE, "REGEXP parseEscape: trailing backslash"),
]
