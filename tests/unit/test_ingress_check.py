"""norn.ingress_check: the structural rules cloudflared applies to a config's ingress list."""

from __future__ import annotations

import pytest

from norn.ingress_check import problems, service_problem
from tests.kubeapi import DEFAULT_CLOUDFLARED_CONFIG


def config(*rules: str) -> str:
    return "tunnel: norn\ningress:\n" + "".join(rules)


RULE = "  - hostname: {host}\n    service: {service}\n"
CATCH_ALL = "  - service: http_status:404\n"


def rule(host: str = "app.example.com", service: str = "http://app:80") -> str:
    return RULE.format(host=host, service=service)


def test_the_operators_config_and_norns_edits_are_valid():
    assert problems(DEFAULT_CLOUDFLARED_CONFIG) == []
    assert problems(config(rule(), rule("b.example.com"), CATCH_ALL)) == []


def test_yaml_that_does_not_parse():
    [problem] = problems("ingress:\n  - hostname: a\n   service: b\n")
    assert problem.startswith("it is not valid YAML:") and "line 3" in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "it is not a YAML mapping"),
        ("tunnel: norn\n", "it has no `ingress` rules"),
        ("ingress: {hostname: a}\n", "`ingress` is not a list of rules"),
        ("ingress: []\n", "`ingress` is not a list of rules"),
    ],
)
def test_ingress_must_be_a_non_empty_list(text, expected):
    assert problems(text) == [expected]


def test_a_rule_must_be_a_mapping():
    assert problems(config("  - just-a-string\n", CATCH_ALL)) == ["rule 1 is not a mapping"]


def test_the_last_rule_must_be_a_catch_all():
    assert problems(config(rule())) == ["the last rule (1) is not a catch-all (a rule without hostname or path)"]


def test_a_path_makes_the_last_rule_not_a_catch_all():
    text = config(rule(), "  - path: /x\n    service: http_status:404\n")
    assert problems(text) == ["the last rule (2) is not a catch-all (a rule without hostname or path)"]


@pytest.mark.parametrize("early", ["  - service: http://a:80\n", '  - hostname: "*"\n    service: http://a:80\n'])
def test_there_is_exactly_one_catch_all(early):
    assert problems(config(early, rule(), CATCH_ALL)) == [
        "rule 1 has no hostname: it matches everything, so the rules after it never match"
    ]


def test_a_rule_with_a_path_and_no_hostname_is_not_a_catch_all():
    assert problems(config("  - path: ^/api\n    service: http://api:80\n", CATCH_ALL)) == []


def test_a_star_hostname_is_a_catch_all_when_last():
    assert problems(config(rule(), '  - hostname: "*"\n    service: http_status:404\n')) == []


def test_duplicate_hostnames_ignore_case():
    assert problems(config(rule("app.example.com"), rule("App.Example.com", "http://b:80"), CATCH_ALL)) == [
        "rule 2 repeats the hostname App.Example.com of rule 1, so it never matches"
    ]


def test_the_same_hostname_with_different_paths_is_not_a_duplicate():
    with_path = "  - hostname: app.example.com\n    path: ^/api\n    service: http://api:80\n"
    assert problems(config(with_path, rule(), CATCH_ALL)) == []


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("app.example.com:8080", "hostname app.example.com:8080 has a port; cloudflared matches hostnames without one"),
        (
            "app.*.example.com",
            "hostname app.*.example.com has a `*` after its start; only a leading one works (*.example.com)",
        ),
    ],
)
def test_hostname_forms(host, expected):
    assert problems(config(rule(f'"{host}"'), CATCH_ALL)) == [f"rule 1: {expected}"]


def test_a_wildcard_first_label_is_fine():
    assert problems(config(rule('"*.example.com"'), CATCH_ALL)) == []


def test_a_hostname_must_be_a_string():
    assert problems(config("  - hostname: 42\n    service: http://a:80\n", CATCH_ALL)) == [
        "rule 1: hostname 42 is not a string"
    ]


def test_every_rule_needs_a_service():
    assert problems(config("  - hostname: a.example.com\n", CATCH_ALL)) == ["rule 1: it has no service"]


def test_bastion_mode_needs_no_service():
    text = config("  - hostname: a.example.com\n    originRequest:\n      bastionMode: true\n", CATCH_ALL)
    assert problems(text) == []


def test_every_problem_is_reported_at_once():
    text = config(rule("a.example.com", "htp://a:80"), rule("a.example.com"), rule("c.example.com"))
    assert len(problems(text)) == 3


@pytest.mark.parametrize(
    "service",
    [
        "http://app.default.svc.cluster.local:80",
        "https://localhost:8000",
        "http://[::1]:8080",
        "ws://chat:80",
        "wss://chat:443",
        "tcp://localhost:2222",
        "ssh://localhost:22",
        "rdp://localhost:3389",
        "smb://localhost:445",
        "HTTP://Upper:80",
        "unix:/home/production/echo.sock",
        "unix+tls:/home/production/echo.sock",
        "http_status:404",
        "http_status:200",
        "hello_world",
        "hello-world",
        "bastion",
        "socks-proxy",
    ],
)
def test_service_forms_cloudflared_accepts(service):
    assert service_problem(service) is None


@pytest.mark.parametrize(
    ("service", "why"),
    [
        ("http://app:80/", "has a path (/)"),
        ("http://app:80/api", "has a path (/api)"),
        ("htp://app:80", "is not a form cloudflared accepts"),
        ("app:80", "is not a form cloudflared accepts"),
        ("localhost:8080", "is not a form cloudflared accepts"),
        ("http://:80", "has no host"),
        ("http://app:99999", "is not a valid URL"),
        ("http_status:4040", "HTTP status code (100-599)"),
        ("http_status:abc", "HTTP status code (100-599)"),
        ("http_status:99", "HTTP status code (100-599)"),
        ("unix:", "names no socket path"),
        ("hello world", "is not a form cloudflared accepts"),
        ("", "it has no service"),
    ],
)
def test_service_forms_cloudflared_refuses(service, why):
    assert why in service_problem(service)


def test_a_bad_service_is_named_with_its_rule():
    assert problems(config(rule(service="http://app:80/"), CATCH_ALL)) == [
        "rule 1: service http://app:80/ has a path (/); cloudflared keeps the request's own path, so drop it"
    ]


def test_the_catch_all_service_is_checked_too():
    assert problems(config(rule(), "  - service: http_status:9999\n")) == [
        "rule 2: service http_status:9999 is not http_status: and an HTTP status code (100-599)"
    ]
