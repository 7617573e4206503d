"""norn.cloudflare.ingress.replace_rule: a renamed hostname or Service in one config edit, in place (issue 16).

The cloudflared behaviour relied on, in github.com/cloudflare/cloudflared:
  FIRST  ingress/ingress.go FindMatchingRule: the rules are tried top to bottom and the first that matches
         wins, so a rule's position is part of the routing: the renamed rule keeps its place.
  MATCH  ingress/rule.go Rule.Matches and matchHost: no hostname or `*` matches every host; otherwise the
         rule's hostname string must equal the request's host (no lowercasing, no trailing-dot trimming; the
         only other form is a leading `*.`), and a rule with `path` matches only paths its regexp matches.
  HOST   ingress/ingress.go validateHostname: the last rule and only it is the catch-all.
  CONFIG config/configuration.go: the rule's other keys (originRequest) are its own, kept as they are.
"""

from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from norn.cloudflare.ingress import IngressError, add_rule, find_rule, remove_rule, replace_rule
from norn.cloudflare.ingress_check import problems
from tests.unit.cloudflared_rules import ROWS
from tests.unit.test_ingress import HOSTNAMES, SERVICES, configs

OLD, NEW = "app.example.com", "new.example.com"
SVC = "http://web.default.svc.cluster.local:8080"
SVC2 = "http://web2.default.svc.cluster.local:8080"

CONFIG = """\
# Managed by the platform team. Rules are matched top to bottom.
tunnel: norn
ingress:
  # Grafana
  - hostname: grafana.example.com
    service: http://grafana:80
  # norn: web
  - hostname: app.example.com   # the web app
    service: http://web.default.svc.cluster.local:8080
    originRequest:
      noTLSVerify: true
      # connectTimeout: 10s
  - hostname: docs.example.com
    service: http://docs:80
  # the default
  - service: http_status:404
"""


def replaced(text: str, old: str = OLD, new: str = NEW, service: str = SVC) -> str:
    result, changed = replace_rule(text, old, new, service)
    assert changed
    assert problems(result) == []  # cloudflared would run it (tests/unit/cloudflared_rules.py)
    return result


def ingress(text: str) -> list:
    return yaml.safe_load(text)["ingress"]


def above_docs(rule: str) -> str:
    """CONFIG with `rule` inserted between norn's rule and the docs rule."""
    return CONFIG.replace("  - hostname: docs", rule + "  - hostname: docs")


# --- in place -------------------------------------------------------------------


def test_a_renamed_hostname_keeps_the_rule_s_place_keys_and_comments():
    # FIRST: the rules above and below route as before only if the rule stays where it was.
    assert replaced(CONFIG) == CONFIG.replace("  - hostname: app.example.com   #", "  - hostname: new.example.com   #")


def test_a_renamed_service_changes_only_the_service():
    # The Service was renamed (hosts.internal), the hostname stays.
    assert replaced(CONFIG, new=OLD, service=SVC2) == CONFIG.replace(f"    service: {SVC}\n", f"    service: {SVC2}\n")


def test_both_change_in_one_edit():
    new = replaced(CONFIG, service=SVC2)
    assert [r.get("hostname") for r in ingress(new)] == ["grafana.example.com", NEW, "docs.example.com", None]
    assert ingress(new)[1] == {"hostname": NEW, "service": SVC2, "originRequest": {"noTLSVerify": True}}
    assert new.count("\n") == CONFIG.count("\n")


def test_the_rule_already_replaced_is_a_no_op():
    new = replaced(CONFIG, service=SVC2)
    assert replace_rule(new, OLD, NEW, SVC2) == (new, False)  # a rerun after the write: the old rule is gone
    assert replace_rule(CONFIG, OLD, OLD, SVC) == (CONFIG, False)


def test_a_rule_written_in_flow_style_stays_in_flow_style():
    text = f'ingress:\n  - {{hostname: {OLD}, service: "{SVC}"}}   # the web app\n  - service: http_status:404\n'
    new = replaced(text, service=SVC2)
    assert new == (
        f'ingress:\n  - {{hostname: {NEW}, service: "{SVC2}"}}   # the web app\n  - service: http_status:404\n'
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [("'app.example.com'", "'new.example.com'"), ('"app.example.com"', '"new.example.com"'), ("app.example.com", NEW)],
)
def test_the_operator_s_quoting_is_kept(written, expected):
    text = CONFIG.replace("hostname: app.example.com", f"hostname: {written}")
    assert f"  - hostname: {expected}   # the web app\n" in replaced(text)


def test_a_value_that_needs_quoting_in_a_flow_rule_is_quoted():
    text = "ingress:\n  - {hostname: a.com, service: http_status:404}\n  - service: http_status:404\n"
    new = replaced(text, "a.com", "b.com", "http://b:80")
    assert new == "ingress:\n  - {hostname: b.com, service: 'http://b:80'}\n  - service: http_status:404\n"


def test_a_block_scalar_value_becomes_a_plain_one_and_the_lines_after_it_stay():
    text = f"ingress:\n  - hostname: a.com\n    service: |-\n      {SVC}\n\n    # tls\n  - service: http_status:404\n"
    expected = f"ingress:\n  - hostname: {NEW}\n    service: {SVC}\n\n    # tls\n  - service: http_status:404\n"
    assert replaced(text, "a.com", NEW) == expected


def test_crlf_line_ends_are_kept():
    text = CONFIG.replace("\n", "\r\n")
    assert replaced(text) == replaced(CONFIG).replace("\n", "\r\n")


# --- the old rule, as remove_rule finds it ----------------------------------------


def test_the_old_rule_is_found_whatever_its_case_and_gets_the_exact_new_spelling():
    # MATCH: cloudflared compares the rule's hostname with the request's host as written, so the rule
    # must read exactly the name norn routes, not the operator's capitals.
    text = CONFIG.replace("hostname: app.example.com", "hostname: App.Example.COM")
    assert replaced(text, new=OLD) == CONFIG
    assert replace_rule(text, OLD.upper(), OLD, SVC)[0] == CONFIG


def test_duplicates_of_the_old_rule_go_as_remove_rule_removes_them():
    # FIRST: a second rule for the old hostname is dead today; left in place it would start routing it.
    text = CONFIG.replace("  # the default\n", f"  - hostname: APP.example.com\n    service: {SVC}\n  # the default\n")
    new = replaced(text)
    assert new == replaced(CONFIG)
    assert find_rule(new, OLD) is None


def test_the_old_rule_gone_adds_the_new_one_as_add_rule_does():
    # Removed by hand, or a rerun: the new rule goes just before the catch-all (HOST), as add_rule puts it.
    without, _ = remove_rule(CONFIG, OLD)
    assert replace_rule(without, OLD, NEW, SVC) == add_rule(without, NEW, SVC)
    assert replace_rule(add_rule(without, NEW, SVC)[0], OLD, NEW, SVC) == (add_rule(without, NEW, SVC)[0], False)


def test_a_rule_with_a_path_is_not_the_old_rule():
    # MATCH: a path rule routes part of the hostname; it is the operator's filter, not norn's rule.
    text = above_docs(f"  - hostname: {OLD}\n    path: ^/api\n    service: http://api:80\n")
    new = replaced(text)
    assert [(r.get("hostname"), r.get("path")) for r in ingress(new)][:3] == [
        ("grafana.example.com", None), (NEW, None), (OLD, "^/api")
    ]


def test_a_trailing_dot_spelling_is_not_norn_s_rule():
    # MATCH: cloudflared does not trim a trailing dot, so `app.example.com.` is another rule than norn's.
    text = CONFIG.replace("hostname: app.example.com", "hostname: app.example.com.")
    new = replaced(text)
    hosts = ["grafana.example.com", "app.example.com.", "docs.example.com", NEW]
    assert [r["hostname"] for r in ingress(new)[:-1]] == hosts  # not renamed; the new rule added as add_rule adds it
    # ...but it is the same DNS name: routed elsewhere, taking it is refused
    with pytest.raises(IngressError, match=r"app\.example\.com is already routed to http://x:80 .*says app\.example\.com\.\)"):
        replace_rule(text.replace(f"service: {SVC}", "service: http://x:80"), OLD, OLD, SVC2)


# --- the new hostname routed by another rule ----------------------------------------


@pytest.mark.parametrize("spelled", ["docs.example.com", "DOCS.example.com", "docs.example.com."])
def test_a_new_hostname_routed_elsewhere_is_refused_in_any_spelling_of_the_name(spelled):
    # One DNS name, one CNAME (case and the trailing dot are not part of it): taking it would steal the
    # operator's route, as add_rule refuses to.
    text = CONFIG.replace("hostname: docs.example.com", f"hostname: {spelled}")
    with pytest.raises(IngressError) as err:
        replace_rule(text, OLD, "docs.example.com", SVC)
    assert err.value.message.startswith(
        "docs.example.com is already routed to http://docs:80 in the cloudflared config"
    )


def test_add_rule_refuses_the_trailing_dot_spelling_too():
    text = CONFIG.replace("hostname: docs.example.com", "hostname: docs.example.com.")
    with pytest.raises(IngressError, match="already routed to http://docs:80"):
        add_rule(text, "docs.example.com", SVC)


def test_a_new_hostname_already_routed_to_the_new_service_keeps_that_rule_and_drops_the_old():
    text = CONFIG.replace("http://docs:80", SVC)
    assert replace_rule(text, OLD, "docs.example.com", SVC) == (remove_rule(text, OLD)[0], True)


def test_a_path_rule_below_that_the_new_name_would_hide_is_refused():
    # FIRST + MATCH: in place, norn's path-less rule for the new name comes before the path rule and takes
    # its requests; appended by add_rule it would have come after.
    for host in (NEW, "*.example.com"):
        text = above_docs(f"  - hostname: '{host}'\n    path: ^/api\n    service: http://api:80\n")
        if host.startswith("*"):
            text = text.replace(OLD, "app.example.org")
        with pytest.raises(IngressError, match=r"^rule 3 of the cloudflared config routes .* \^/api to http://api:80"):
            replace_rule(text, "app.example.org" if host.startswith("*") else OLD, NEW, SVC)


def test_a_path_rule_below_that_matched_the_old_name_too_does_not_stop_the_rename():
    # MATCH: a rule without hostname (or with a wildcard both names match) was already behind norn's rule.
    for host in ("", "'*.example.com'"):
        text = above_docs(f"  - hostname: {host}\n    path: ^/health\n    service: http://h:80\n")
        assert ingress(replaced(text))[2]["path"] == "^/health"


# --- what norn cannot edit safely ----------------------------------------------------


def test_a_flow_list_is_read_but_not_edited():
    text = f"ingress: [{{hostname: {OLD}, service: '{SVC}'}}, {{service: http_status:404}}]\n"
    with pytest.raises(IngressError, match="flow list"):
        replace_rule(text, OLD, NEW, SVC)
    assert replace_rule(text, OLD, OLD, SVC) == (text, False)


@pytest.mark.parametrize(
    "text",
    [
        f"base: &b {{service: '{SVC}'}}\ningress:\n  - <<: *b\n    hostname: {OLD}\n  - service: http_status:404\n",
        f"svc: &s '{SVC}'\ningress:\n  - hostname: {OLD}\n    service: *s\n  - service: http_status:404\n",
        f"ingress:\n  - hostname: &h {OLD}\n    service: *h\n  - service: http_status:404\n",
    ],
    ids=["service-from-a-merge-key", "service-from-an-alias", "hostname-and-service-one-node"],
)
def test_values_that_live_elsewhere_are_refused_rather_than_mangled(text):
    with pytest.raises(IngressError, match="cannot edit"):
        replace_rule(text, OLD, NEW, SVC2)


@pytest.mark.parametrize(("hostname", "service"), [("", SVC), ("*", SVC), (NEW, " ")])
def test_blank_arguments_are_refused(hostname, service):
    with pytest.raises(IngressError):
        replace_rule(CONFIG, OLD, hostname, service)


# --- cloudflared's rules and any layout ------------------------------------------------


ACCEPTED = [(row[0], row[1]) for row in ROWS if row[2] and "app.example.com" in row[1]]


@pytest.mark.parametrize("text", [text for _, text in ACCEPTED], ids=[name for name, _ in ACCEPTED])
def test_what_cloudflared_accepts_it_still_accepts_after_the_replace(text):
    # Each accepted row of the cited table, its rule for app.example.com renamed: still a config cloudflared runs.
    try:
        new, _ = replace_rule(text, OLD, NEW, SVC)
    except IngressError as err:  # refused, never written: a config norn does not edit at all, or a rule in the way
        if "routes" not in err.message and "already routed" not in err.message:
            with pytest.raises(IngressError, match=re.escape(err.message)):
                add_rule(text, NEW, SVC)
        return
    assert problems(new) == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), st.data(), HOSTNAMES, SERVICES)
def test_property_only_the_rule_s_values_change(config, data, hostname, service):
    text, pieces, rules = config
    if len(rules) == 1 or any(r["hostname"].lower() == hostname.lower() for r in rules[:-1]):
        return
    i = data.draw(st.integers(0, len(rules) - 2))
    old = rules[i]["hostname"]
    new, changed = replace_rule(text, old.swapcase(), hostname, service)
    assert changed
    assert ingress(new) == [*rules[:i], {**rules[i], "hostname": hostname, "service": service}, *rules[i + 1 :]]
    assert {k: v for k, v in yaml.safe_load(new).items() if k != "ingress"} == {
        k: v for k, v in yaml.safe_load(text).items() if k != "ingress"
    }
    at = next(n for n, (_, host) in enumerate(pieces) if host == old)
    before, after = "".join(p for p, _ in pieces[:at]), "".join(p for p, _ in pieces[at + 1 :])
    assert new.startswith(before) and new.endswith(after)  # every other line, comment and rule as it was
    assert replace_rule(new, old, hostname, service) == (new, False)
    assert find_rule(new, hostname) == service and find_rule(new, old) is None


def test_a_replace_reads_the_config_once_and_checks_its_result_once(monkeypatch):
    parses = []
    real = yaml.composer.Composer.get_single_node  # what safe_load and compose both parse with
    monkeypatch.setattr(yaml.composer.Composer, "get_single_node", lambda self: parses.append(1) or real(self))
    replace_rule(CONFIG, OLD, NEW, SVC2)
    assert len(parses) == 2


def test_with_the_old_service_a_rule_pointed_elsewhere_is_not_the_old_rule():
    # Someone pointed the old hostname at their own service: theirs now. It stays, the new rule is added as
    # add_rule adds it (FIRST: before the catch-all, HOST), and a duplicate that still routes to norn's goes.
    theirs = CONFIG.replace(f"    service: {SVC}\n", "    service: http://blog:80\n")
    new, changed = replace_rule(theirs, OLD, NEW, SVC2, old_service=SVC)
    assert changed and new == add_rule(theirs, NEW, SVC2)[0]
    assert replace_rule(CONFIG, OLD, NEW, SVC2, old_service=SVC) == replace_rule(CONFIG, OLD, NEW, SVC2)
    with pytest.raises(IngressError, match="already routed"):  # the same hostname, a service renamed: theirs
        replace_rule(theirs, OLD, OLD, SVC2, old_service=SVC)
