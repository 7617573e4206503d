"""The records of norn/resources.py are plain slotted classes (cheaper to define than dataclasses, on every
command's import), and keep what ``@dataclass`` gave them: keyword or positional construction, defaults
made fresh for each instance, equality by fields and by class, mutability, no hash, a readable repr."""

from __future__ import annotations

import pytest

from norn.resources import DnsRoute, IngressRule, Replaced, Resources


def test_equality_is_by_fields_and_class():
    assert IngressRule("a.example.com", "http://a:80", "cloudflared/cloudflared") == IngressRule(
        hostname="a.example.com", service="http://a:80", config_map="cloudflared/cloudflared")
    assert DnsRoute("a.example.com", "norn") != DnsRoute("a.example.com", "norn", "id-1")
    assert DnsRoute("a", "b") != ("a", "b", None)
    assert Resources(deployment="web") == Resources(deployment="web")
    assert Resources(deployment="web") != Resources(deployment="web", replaced=Replaced(services=["old"]))


def test_defaults_are_fresh_for_each_instance():
    one, two = Resources(), Resources()
    one.kept_volumes.append("web-data")
    one.created_uids["Deployment/web"] = "uid"
    one.replaced.services.append("old-svc")
    assert two == Resources() and two.kept_volumes == [] and not two.replaced
    assert (two.namespace, two.cloudflared_restart_pending, two.unverified_uids) == (None, False, {})


def test_records_are_mutable_and_unhashable():
    resources = Resources()
    resources.namespace = "staging"  # the steps set fields as they go
    assert resources.namespace == "staging"
    with pytest.raises(TypeError):
        hash(resources)
    with pytest.raises(AttributeError):
        resources.not_a_field = 1  # a typo is an error, not a silent new attribute


def test_repr_names_the_fields():
    route = DnsRoute("a.example.com", "norn")
    assert repr(route) == "DnsRoute(hostname='a.example.com', tunnel='norn', tunnel_id=None)"
