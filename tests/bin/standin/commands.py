"""What each implemented command says and does, in each mode: tunnel route dns, tunnel ingress validate,
tunnel info."""

from __future__ import annotations

import json
import os
import re
import sys
import time

from standin.logs import log
from standin.state import save_state
from standin.tunnels import known_tunnel, tunnel_id, unknown_tunnel

REJECTED = (
    "Validation failed: Rule #2 is matching the hostname '', but this will match every hostname, "
    "meaning the rules which follow it will never be triggered."
)


ALREADY_EXISTS = (
    "Failed to add route: code: 1003, reason: Failed to create record {hostname} with err "
    "An A, AAAA, or CNAME record with that host already exists. For more details, refer to "
    "<https://developers.cloudflare.com/dns/manage-dns-records/troubleshooting/records-with-same-name/>."
)
NO_CERT = (
    "Cannot determine default origin certificate path. No file cert.pem in [~/.cloudflared ~/.cloudflare-warp "
    "~/cloudflare-warp /etc/cloudflared /usr/local/etc/cloudflared]. You need to specify the origin certificate "
    "path by specifying the origincert option in the configuration file, or set TUNNEL_ORIGIN_CERT environment "
    "variable originCertPath="
)
NO_CONFIG = (
    "No configuration file was found. Please create one, or use the --config flag to specify its filepath. "
    "You can use the help command to learn more about configuration files"
)
HOSTNAME = re.compile(r"^[*_a-zA-Z0-9][-_.a-zA-Z0-9]*$")


def route_dns(state: dict, mode: str, tunnel: str, hostname: str, overwrite: bool) -> int:
    """What ``cloudflared tunnel route dns`` says and does, in this mode."""
    if mode == "no-cert":
        log("ERR", NO_CERT)
        print("Error locating origin cert: client didn't specify origincert path", file=sys.stderr)
        return 1
    if not known_tunnel(state, tunnel):
        return unknown_tunnel(tunnel)
    if not HOSTNAME.match(hostname):
        print(f"{hostname} is not a valid hostname", file=sys.stderr)
        return 1
    if mode == "hang":
        time.sleep(3600)
        return 1
    if mode == "fail":
        print("API call to add route failed with status 500: Internal Server Error", file=sys.stderr)
        return 1
    routes = state.setdefault("routes", {})
    owner = routes.get(hostname)
    if owner and tunnel_id(owner) == tunnel_id(tunnel):
        log("INF", f"{hostname} is already configured to route to your tunnel", tunnel)
        return 0
    if mode == "exists-elsewhere" or (owner and not overwrite):
        print(ALREADY_EXISTS.format(hostname=hostname), file=sys.stderr)
        return 1
    name = f"{hostname}.example.com" if mode == "other-zone" else hostname
    routes[name] = tunnel
    save_state(os.environ.get("CLOUDFLARED_STANDIN_STATE"), state)
    if mode != "silent-route":
        log("INF", f"Added CNAME {name} which will route to this tunnel", tunnel)
    if mode == "hang-after-route":
        time.sleep(3600)
    return 0


def validate_ingress(state: dict, mode: str, flags: dict, tunnel_flags: dict) -> int:
    """``cloudflared tunnel [--config FILE] ingress validate`` (cmd/cloudflared/tunnel/ingress_subcommands.go
    validateIngressCommand): records the file's text, then checks it with cloudflared's rules (standin/ingress.py)."""
    path = tunnel_flags.get("config")
    if "json" in flags:
        source, text = "cmdline flag --json", flags["json"]
    elif path and os.path.exists(path):
        with open(path) as file:
            source, text = path, file.read()
    else:
        source, text = None, ""
    if source:
        state.setdefault("validated", []).append(text)
        save_state(os.environ.get("CLOUDFLARED_STANDIN_STATE"), state)
    from standin import ingress  # here: only ingress validate pays for PyYAML

    try:
        empty = ingress.decode(text) is None  # an empty file is read as no configuration file at all
    except ingress.ConfigError as problem:
        print(f"error parsing YAML in config file at {source}: {problem}", file=sys.stderr)
        return 1
    if not source or empty:
        print(NO_CONFIG, file=sys.stderr)
        return 1
    print(f"Validating rules from {source}")
    if mode == "reject-ingress":
        print(REJECTED, file=sys.stderr)
        return 1
    try:
        unused = ingress.validate(text)
    except ingress.ConfigError as problem:
        print(f"error parsing YAML in config file at {source}: {problem}", file=sys.stderr)
        return 1
    except ingress.IngressError as problem:
        print(f"Validation failed: {problem}", file=sys.stderr)
        return 1
    if unused:
        print("Warning: unused keys detected in your config file. Here is a list of unused keys:")
        print("yaml: unmarshal errors:\n  " + "\n  ".join(unused))
        return 0
    print("OK")
    return 0


def tunnel_info(state: dict, mode: str, flags: dict, positional: list[str]) -> int:
    """``cloudflared tunnel info [--output json|yaml] TUNNEL``: the tunnel has no active connectors."""
    if len(positional) != 1:
        print(
            '"cloudflared tunnel info" accepts exactly one argument, the ID or name of the tunnel to get info about.',
            file=sys.stderr,
        )
        return 255
    if mode == "no-cert":
        log("ERR", NO_CERT)
        return 1
    if mode == "fail":
        print("REST request failed: 500 Internal Server Error", file=sys.stderr)
        return 1
    if not known_tunnel(state, positional[0]):
        return unknown_tunnel(positional[0])
    info = {"id": tunnel_id(positional[0]), "name": positional[0], "createdAt": "2024-08-12T12:00:00Z", "conns": []}
    output = flags.get("output")
    if output == "json":
        print(json.dumps(info, indent=2))
    elif output == "yaml":
        print("\n".join(f"{key}: {json.dumps(value)}" for key, value in info.items()))
    elif output:
        print(f"Unknown output format '{output}'", file=sys.stderr)
        return 1
    else:
        print(f"Your tunnel {info['id']} does not have any active connection.")
    return 0
