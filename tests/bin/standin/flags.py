"""Command-line flags as urfave/cli and Go's flag package read them: the flags of each command level, help
texts, and the two ways parsing stops (Incorrect Usage, help asked)."""

from __future__ import annotations

# Flags the stand-in knows, by command level: canonical name -> (aliases, takes a value)
GLOBAL_FLAGS = {
    "config": ((), True),
    "origincert": ((), True),
    "loglevel": ((), True),
    "logfile": ((), True),
    "log-directory": ((), True),
    "output": ((), True),
    "transport-loglevel": (("proto-loglevel",), True),
    "no-autoupdate": ((), False),
}


DNS_FLAGS = {"overwrite-dns": (("f",), False)}
VALIDATE_FLAGS = {"json": (("j",), True)}
INFO_FLAGS = {
    "output": (("o",), True),
    "show-recently-disconnected": (("rd",), False),
    "sort-by": ((), True),
    "invert-sort": ((), False),
}


ROUTE_DNS_HELP = """\
NAME:
   cloudflared tunnel route dns - HostnameRoute a hostname by creating a DNS CNAME record to a tunnel

USAGE:
   cloudflared tunnel route dns [TUNNEL] [HOSTNAME]

DESCRIPTION:
   Creates a DNS CNAME record hostname that points to the tunnel.

OPTIONS:
   --overwrite-dns, -f  Overwrites existing DNS records with this hostname (default: false) [$TUNNEL_FORCE_PROVISIONING_DNS]
   --help, -h           show help
"""
GENERIC_HELP = """\
NAME:
   {command} - (stand-in cloudflared: only `version`, `tunnel route dns`,
   `tunnel ingress validate` and `tunnel info` are implemented)
"""


class IncorrectUsage(Exception):
    """A flag parsing error: urfave/cli prints it with the help, and cloudflared exits 0."""

    def __init__(self, problem: str, help_text: str) -> None:
        super().__init__(problem)
        self.help_text = help_text


class HelpAsked(Exception):
    def __init__(self, help_text: str) -> None:
        super().__init__(help_text)
        self.help_text = help_text


def take_flags(args: list[str], known: dict, help_text: str) -> tuple[dict, list[str]]:
    """Parse leading flags like Go's flag package; return them and the arguments after them."""
    names = {alias: name for name, (aliases, _) in known.items() for alias in (name, *aliases)}
    flags: dict = {}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return flags, args[index + 1 :]
        if not arg.startswith("-") or arg == "-":
            break
        given, has_value, value = arg.lstrip("-").partition("=")
        if given in ("h", "help"):
            raise HelpAsked(help_text)
        if given not in names:
            raise IncorrectUsage(f"flag provided but not defined: -{given}", help_text)
        name = names[given]
        takes_value = known[name][1]
        if takes_value and not has_value:
            if index + 1 == len(args):
                raise IncorrectUsage(f"flag needs an argument: -{given}", help_text)
            index += 1
            value = args[index]
        if takes_value:
            flags[name] = value
        else:
            flags[name] = not has_value or value.lower() not in ("false", "0")
        index += 1
    return flags, args[index:]
