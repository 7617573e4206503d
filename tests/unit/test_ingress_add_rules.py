"""ingress.add_rules: a many-app run's rules in one pass, the same as add_rule of each in turn."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from norn.cloudflare.ingress import IngressError, add_rule, add_rules
from tests.unit.test_ingress import BRIEF, HOSTNAMES, SERVICES, configs


def in_turn(text: str, routes: list[tuple[str, str]]):
    """add_rule of each route in turn, a refused one skipped: what add_rules must equal."""
    changed, refused = [], {}
    for i, (hostname, service) in enumerate(routes):
        try:
            text, did = add_rule(text, hostname, service)
        except IngressError as exc:
            did, refused[i] = False, exc.message
        changed.append(did)
    return text, changed, refused


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), st.lists(st.tuples(HOSTNAMES, SERVICES), max_size=6))
def test_property_add_rules_is_add_rule_of_each_in_turn(config, routes):
    text = config[0]
    try:
        expected = in_turn(text, routes)
    except IngressError as exc:  # the config itself cannot be edited: every route's error, raised
        with pytest.raises(IngressError) as raised:
            add_rules(text, routes)
        assert raised.value.message == exc.message
        return
    new, changed, refused = add_rules(text, routes)
    assert (new, changed, {i: exc.message for i, exc in refused.items()}) == expected


def test_a_route_refused_within_the_batch_leaves_the_others():
    routes = [("a.example.com", "http://a:80"), ("A.example.com.", "http://other:80"), ("b.example.com", "http://b:80"),
              ("a.example.com", "http://a:80"), ("", "http://c:80")]
    new, changed, refused = add_rules(BRIEF, routes)
    assert changed == [True, False, True, False, False]
    assert sorted(refused) == [1, 4] and "already routed" in refused[1].message
    assert new == add_rule(add_rule(BRIEF, *routes[0])[0], *routes[2])[0]


def test_no_route_is_the_text_unchanged():
    assert add_rules(BRIEF, []) == (BRIEF, [], {})
