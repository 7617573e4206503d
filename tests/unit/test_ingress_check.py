"""norn's config check refuses exactly what cloudflared's `tunnel ingress validate` refuses (issue 14, point 6).

The table, one row per rule of cloudflared's source with the source cited, is tests/unit/cloudflared_rules.py; the
stand-in cloudflared is held to the same table in tests/harness/test_cloudflared_standin.py.
"""

from __future__ import annotations

import re

import pytest

from norn.cloudflare.ingress_check import problems, re2_problem
from tests.unit.cloudflared_rules import ROWS, config, path, rule, service


@pytest.mark.parametrize(("text", "accepted", "source"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_norn_agrees_with_cloudflared(text, accepted, source):
    found = problems(text)
    assert (not found) == accepted, f"{source}: {found}"
    assert len(found) <= 1  # cloudflared stops at its first error, and so does norn


@pytest.mark.parametrize(
    "pattern",
    ["(?=a)", "(?<!a)b", "(a)\\1", "(?P<x>a)(?P=x)", "(?>a)", "a*+", "a++", "\\Z", "[\\b]", "(?x)a", "(?#c)"],
)
def test_python_re_compiles_what_go_refuses(pattern):
    # The reason norn does not use Python's re: each of these compiles there, and Go's regexp refuses it.
    re.compile(pattern)
    assert re2_problem(pattern)


@pytest.mark.parametrize("pattern", ["a(?i)b", "\\z", "\\pL", "\\p{Greek}", "\\Qa.b\\E", "\\x{41}", "(?U)a+"])
def test_go_compiles_what_python_re_refuses(pattern):
    with pytest.raises(re.error):
        re.compile(pattern)
    assert re2_problem(pattern) is None


def test_a_problem_names_the_rule_and_what_is_valid():
    (found,) = problems(service("helloworld"))
    assert found.startswith("rule 1: service 'helloworld' has no scheme or no host; cloudflared takes ")
    assert "hello_world" in found and "http_status:NNN" in found


def test_a_path_problem_names_the_rule_and_go_s_error():
    (found,) = problems(path("^/(?=api)"))
    assert found == (
        "rule 1: path '^/(?=api)' is not a valid Go (RE2) regular expression: "
        "invalid or unsupported Perl syntax: `(?=`"
    )


def test_a_repeated_key_names_both_lines():
    text = config("  - hostname: a.example.com\n    hostname: b.example.com\n    service: http://app:80\n")
    assert problems(text) == ["line 3: mapping key 'hostname' already defined at line 2"]


def test_an_alias_bomb_is_walked_once():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
    )
    assert problems(bomb + config(rule(hostname="a.example.com", service="http://a:80"))) == []


def test_yaml_nested_beyond_what_pyyaml_composes_is_one_line_not_a_traceback():
    # A known difference: yaml.v3 reads up to 10000 levels, PyYAML's recursive composer fewer; norn refuses.
    text = "x: " + "[" * 3000 + "]" * 3000 + "\n" + service("http://app:80")
    assert problems(text) == ["it nests too deeply to be read"]
