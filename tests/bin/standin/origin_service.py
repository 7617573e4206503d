"""ingress/ingress.go validateIngress, the service of each rule: a status, a unix socket, a named service, or a
URL Go's net/url reads with a scheme, a hostname and no path; a socks-proxy's IP rules (ipaccess)."""

from __future__ import annotations

import ipaddress
import re

from standin.errors import IngressError


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
