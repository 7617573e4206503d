"""Go's strconv.Atoi, net.SplitHostPort and net/url.Parse, as far as cloudflared's ingress validation calls them."""

from __future__ import annotations

import ipaddress


def go_atoi(text: str) -> int | None:
    """strconv.Atoi: an optional sign, then ASCII digits only (no spaces, no underscores)."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not all("0" <= c <= "9" for c in digits):
        return None
    return int(text)


def go_split_host_port(hostport: str) -> bool:
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


def go_url_parse(raw: str) -> tuple[str, str, str, str | None]:
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
