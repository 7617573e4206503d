"""Tunnels by name or UUID, as subcommand_context.go findID resolves them."""

from __future__ import annotations

import sys


def tunnel_id(tunnel: str) -> str:
    """A tunnel's UUID: itself if it is one, else a stable one derived from its name."""
    import uuid  # here: the commands that print no tunnel id start sooner (norn's tests run many)

    try:
        return str(uuid.UUID(tunnel))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{tunnel}.cfargotunnel.com"))


def known_tunnel(state: dict, tunnel: str) -> bool:
    """A UUID is taken as is (findID); a name must be one of the account's tunnels."""
    import uuid

    try:
        uuid.UUID(tunnel)
        return True
    except ValueError:
        return tunnel in state.get("tunnels", ["norn"])


def unknown_tunnel(tunnel: str) -> int:
    print(f"{tunnel} is neither the ID nor the name of any of your tunnels", file=sys.stderr)
    return 1
