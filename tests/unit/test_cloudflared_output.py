"""norn reads what `cloudflared tunnel route dns` routed in either log format (issue 14, point 5).

The line is cloudflared's cmd/cloudflared/tunnel/subcommands.go routeCommand:
sc.log.Info().Str(LogFieldTunnelID, id).Msg(res.SuccessSummary()), with cfapi/hostname.go
DNSRouteResult.SuccessSummary's three forms; logger/create.go writes it through zerolog's ConsoleWriter
("TIME INF message key=value") or, with --output json, logger/console.go consoleWriter (one JSON object, keys sorted).
"""

from __future__ import annotations

import json

import pytest

from norn.cloudflare.cloudflared import (
    _strip_log_prefixes,
    reported_tunnel_id,
    routed_name,
)

TUNNEL = "6ff42ae2-765d-4adf-8112-31c55c1551ef"


@pytest.mark.parametrize(
    ("message", "name"),
    [
        ("Added CNAME app.example.com which will route to this tunnel", "app.example.com"),
        ("app.example.com updated to route to your tunnel", "app.example.com"),
        ("app.example.com is already configured to route to your tunnel", "app.example.com"),
    ],
)
@pytest.mark.parametrize("form", ["console", "json"])
def test_the_routed_name_and_tunnel_id_are_read_in_both_formats(message, name, form):
    if form == "console":
        line = f"2026-12-07T12:00:00Z INF {message} tunnelID={TUNNEL}"
    else:
        line = json.dumps({"level": "info", "message": message, "time": "2026-12-07T12:00:00Z", "tunnelID": TUNNEL})
    said = _strip_log_prefixes(line)
    assert said == f"{message} tunnelID={TUNNEL}"
    assert routed_name(said) == name and reported_tunnel_id(said) == TUNNEL


def test_lines_that_are_not_log_events_are_kept_as_they_are():
    text = '{"not": "an event"}\nFailed to add route: code: 1003'
    assert _strip_log_prefixes(text) == text
    assert routed_name(text) is None and reported_tunnel_id(text) is None
