"""A many-app run's config edits in one pass: ingress.add_rules and ingress.remove_recorded do what
add_rule and remove_rule of each in turn do, with one parse of the config."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from norn.cloudflare.ingress import IngressError, add_rule, add_rules, find_rule, remove_recorded, remove_rule
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


def removed_in_turn(text: str, removals: list[list[tuple[str, list[str]]]]):
    """Each removal in turn, one hostname at a time, as teardown made them before (a refused one changes nothing)."""
    changed, refused = [], {}
    for n, removal in enumerate(removals):
        new, did = text, False
        try:
            for hostname, services in removal:
                routed = find_rule(new, hostname)
                new, gone = remove_rule(new, hostname, routed if routed in services else services[0])
                did = did or gone
        except IngressError as exc:
            new, did, refused[n] = text, False, exc.message
        text = new
        changed.append(did)
    return text, changed, refused


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), st.data())
def test_property_remove_recorded_is_remove_rule_of_each_in_turn(config, data):
    text, _, rules = config
    hosts = [rule["hostname"] for rule in rules[:-1]] + ["absent.example.com"]
    services = [rule["service"] for rule in rules[:-1]] + ["http://other:80"]
    removal = st.lists(st.tuples(st.sampled_from(hosts).map(lambda h: h.swapcase() if h[0].isalpha() else h),
                                 st.lists(st.sampled_from(services), min_size=1, max_size=2)), min_size=1, max_size=2)
    removals = data.draw(st.lists(removal, max_size=4))
    new, changed, refused = remove_recorded(text, removals)
    assert (new, changed, {n: exc.message for n, exc in refused.items()}) == removed_in_turn(text, removals)


def test_a_removal_refused_for_one_hostname_keeps_its_other_rules():
    text = add_rule(add_rule(BRIEF, "a.example.com", "http://a:80")[0], "b.example.com", "http://elsewhere:80")[0]
    new, changed, refused = remove_recorded(text, [[("a.example.com", ["http://a:80"]), ("b.example.com", ["http://b:80"])],
                                                   [("a.example.com", ["http://a:80"])]])
    assert "routed to http://elsewhere:80, not http://b:80" in refused[0].message
    assert changed == [False, True]
    assert find_rule(new, "a.example.com") is None and find_rule(new, "b.example.com") == "http://elsewhere:80"
