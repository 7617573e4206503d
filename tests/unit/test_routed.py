"""steps/routed.py: which rules of the cloudflared config still need a hostname's CNAME once norn's rule goes.

cloudflared sends a request to the first rule that matches it (cloudflare/cloudflared ingress/ingress.go
FindMatchingRule): the rule's hostname equal to the request's, or a `*.` suffix of it (ingress/ingress.go
matchHost), and its `path` regex matching (ingress/rule.go Matches). The request gets there only through the
hostname's DNS record, a CNAME to <tunnel id>.cfargotunnel.com (cmd/cloudflared/tunnel/subcommands.go
routeDnsCommand). So a rule of the exact hostname, path rule or not, needs that CNAME; a wildcard or
host-less rule routes whatever names reach the tunnel and needs no one name's record. norn's own rule is the
one unpatch-cloudflared removes (ingress.remove_recorded: path-less, a recorded service).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from norn.errors import NornError
from norn.resources import IngressRule, Replaced, Resources
from norn.steps.routed import UNPARSED, routed_by_others

MINE = "http://web-svc.default.svc.cluster.local:80"
THEIRS = "http://blog.other.svc.cluster.local:80"


def config(*rules: str) -> str:
    return "tunnel: norn\ningress:\n" + "".join(rules) + "  - service: http_status:404\n"


def rule(hostname: str, service: str, path: str | None = None) -> str:
    return f"  - hostname: {hostname}\n" + (f"    path: {path}\n" if path else "") + f"    service: {service}\n"


def ctx(ingress_rule: IngressRule | None = IngressRule("web.example.com", MINE, "cloudflared/cloudflared"),
        replaced: list[IngressRule] | None = None):
    return SimpleNamespace(resources=Resources(ingress_rule=ingress_rule, replaced=Replaced(ingress_rules=replaced)))


def others(text: str | None, context=None, hostnames=("web.example.com",)) -> dict[str, str]:
    return routed_by_others(context or ctx(), list(hostnames), lambda _: text)


@pytest.mark.parametrize("text", [
    config(rule("web.example.com", MINE)),
    config(rule("Web.Example.COM", MINE)),  # DNS names ignore case; unpatch removes it as norn's
    config(rule("grafana.example.com", THEIRS)),  # another name
    config(rule("web.example.com", MINE), rule('"*.example.com"', THEIRS)),  # a wildcard: no one name's record
    config(rule("web.example.com", MINE), "  - path: ^/api\n    service: http://api:80\n"),  # any host
    config(),  # nothing routes it: unpatch has nothing to remove either
    None,  # no ConfigMap, or no config.yaml in it
])
def test_norns_own_rule_or_none_leaves_the_cname_norns_to_delete(text):
    assert others(text) == {}


@pytest.mark.parametrize("text", [
    config(rule("web.example.com", THEIRS)),  # pointed elsewhere
    config(rule("web.example.com", MINE), rule("web.example.com", THEIRS, "^/blog")),  # a path rule of theirs
    config(rule("web.example.com", THEIRS), rule("web.example.com", MINE)),  # theirs first, unpatch refuses
    config(rule("web.example.com.", THEIRS)),  # the same DNS name, spelled with the root's dot
    config(rule("web.example.com", MINE, "^/")),  # a path rule: norn never writes one
])
def test_a_rule_not_norns_keeps_the_cname_naming_its_service(text):
    service = THEIRS if THEIRS in text else MINE
    assert others(text) == {"web.example.com": service}


def test_without_a_recorded_rule_any_rule_of_the_hostname_is_anothers():
    # remove-replaced: the update replaced norn's rule for the old name, so what routes it now is not norn's
    assert others(config(rule("web.example.com", MINE)), ctx(ingress_rule=None)) == {"web.example.com": MINE}


def test_a_rule_an_unfinished_update_was_replacing_is_norns():
    old = IngressRule("old.example.com", MINE, "cloudflared/cloudflared")
    text = config(rule("old.example.com", MINE), rule("web.example.com", THEIRS))
    found = others(text, ctx(replaced=[old]), ("web.example.com", "old.example.com"))
    assert found == {"web.example.com": THEIRS}


def test_a_config_that_does_not_parse_keeps_every_record():
    found = others("ingress: [", hostnames=("web.example.com", "old.example.com"))
    assert found == {"web.example.com": UNPARSED, "old.example.com": UNPARSED}


def test_a_read_that_fails_raises_and_no_hostnames_read_nothing():
    def fails(_):
        raise NornError("forbidden")

    with pytest.raises(NornError):
        routed_by_others(ctx(), ["web.example.com"], fails)
    assert routed_by_others(ctx(), [], fails) == {}
